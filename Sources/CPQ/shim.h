// Umbrella header for the CPQ system module; static inline shims for macros and variadics go here.
#pragma once
#include <libpq-fe.h>
