// Umbrella header for the CSQLite3 system module; static inline shims for macros and variadics go here.
#pragma once
#include <sqlite3.h>
