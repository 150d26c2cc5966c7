// Umbrella header for the CCrypt system module; static inline shims for macros and variadics go here.
#pragma once
#include <crypt.h>
