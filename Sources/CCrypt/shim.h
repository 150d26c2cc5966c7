// Umbrella header for the CCrypt system module; static inline shims for macros and variadics go here.
#pragma once
#include <crypt.h>

/// The size of `struct crypt_data` (about 32 KiB), so Swift can heap-allocate it as raw bytes
/// without importing the struct's huge fixed arrays.
static inline int ccrypt_data_size(void) { return (int)sizeof(struct crypt_data); }

/// crypt_rn over an untyped, caller-allocated and zeroed `struct crypt_data`.
static inline char *ccrypt_rn(const char *phrase, const char *setting, void *data, int size) {
    return crypt_rn(phrase, setting, (struct crypt_data *)data, size);
}

/// The output buffer size crypt_gensalt_rn needs.
static inline int ccrypt_gensalt_output_size(void) { return CRYPT_GENSALT_OUTPUT_SIZE; }
