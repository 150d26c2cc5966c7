// Umbrella header for the CCurl system module; static inline shims for macros and variadics go here.
#pragma once
#include <curl/curl.h>
