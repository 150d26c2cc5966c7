// Umbrella header for the CLDAP system module; static inline shims for macros and variadics go here.
#pragma once
#include <ldap.h>
#include <lber.h>
