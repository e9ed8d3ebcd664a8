/* aead.h - ChaCha20-Poly1305 (WireGuard's nonce form) and XChaCha20-Poly1305. */
#ifndef LANRAGE_CRYPTO_AEAD_H
#define LANRAGE_CRYPTO_AEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/compiler.h"

enum { AEAD_KEY_LEN = 32, AEAD_TAG_LEN = 16, XAEAD_NONCE_LEN = 24 };

/*
 * Seals len bytes of src into dst (len + AEAD_TAG_LEN bytes); dst may equal
 * or overlap src.  The 96-bit nonce is 32 zero bits then the 64-bit counter,
 * little-endian, as WireGuard specifies.  libgcrypt does the work, with one
 * handle per thread: measured here it beat libsodium on small messages and
 * OpenSSL on full-size ones (docs/ARCHITECTURE.md).
 */
void aead_seal(uint8_t *dst, const uint8_t *src, size_t len, uint64_t counter, const uint8_t *ad,
               size_t adlen, const uint8_t key[AEAD_KEY_LEN]);
/* Opens len bytes (ciphertext and tag) of src into dst (len - tag); false (dst zeroed) when
 * forged. */
bool aead_open(uint8_t *dst, const uint8_t *src, size_t len, uint64_t counter, const uint8_t *ad,
               size_t adlen, const uint8_t key[AEAD_KEY_LEN]) WARN_UNUSED;

/*
 * Seals a message of zeros with a zero key, thrown away: after a sleep the
 * first real message cost ~10 us more here (caches gone cold, on this VM
 * 13-21 us against 3-5), so a worker that wakes just before an expected
 * packet pays that beforehand.
 */
void aead_warm(void);

void xaead_seal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t nonce[XAEAD_NONCE_LEN],
                const uint8_t *ad, size_t adlen, const uint8_t key[AEAD_KEY_LEN]);
bool xaead_open(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t nonce[XAEAD_NONCE_LEN],
                const uint8_t *ad, size_t adlen, const uint8_t key[AEAD_KEY_LEN]) WARN_UNUSED;

#endif
