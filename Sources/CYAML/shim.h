// Umbrella header for the CYAML system module; static inline shims for macros and variadics go here.
#pragma once
#include <yaml.h>
