// Fixed-signature wrappers for the OpenSSL macros CryptoCore needs (Swift imports none of these).
// Included at the end of shim.h, so every OpenSSL header is already visible here.
#pragma once
#include <openssl/rsa.h>

/// EVP_PKEY_PUBLIC_KEY is an OR of other macros, which Swift does not import.
static inline int ccrypto_selection_public_key(void) { return EVP_PKEY_PUBLIC_KEY; }

/// MBSTRING_UTF8 is an alias of MBSTRING_FLAG and does not import.
static inline int ccrypto_mbstring_utf8(void) { return MBSTRING_UTF8; }

/// BN_num_bytes is a function-like macro over BN_num_bits.
static inline int ccrypto_bn_num_bytes(const BIGNUM *bn) { return BN_num_bytes(bn); }

/// OPENSSL_free is a macro that passes __FILE__/__LINE__ to CRYPTO_free.
static inline void ccrypto_free(void *pointer) { OPENSSL_free(pointer); }

/// X509V3_set_ctx_nodb is a macro that clears the config database of an extension context.
static inline void ccrypto_x509v3_set_ctx_nodb(X509V3_CTX *context) { X509V3_set_ctx_nodb(context); }

/// BIO_get_mem_data is a macro over BIO_ctrl.
static inline long ccrypto_bio_get_mem_data(BIO *bio, char **data) { return BIO_get_mem_data(bio, data); }
