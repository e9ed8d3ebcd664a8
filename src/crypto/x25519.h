/* x25519.h - Curve25519 Diffie-Hellman (libsodium). */
#ifndef LANRAGE_CRYPTO_X25519_H
#define LANRAGE_CRYPTO_X25519_H

#include <stdbool.h>
#include <stdint.h>

#include "util/compiler.h"

enum { X25519_LEN = 32 };

/* out = scalar * point; false when the result is all zero (a low-order point). */
bool x25519(uint8_t out[X25519_LEN], const uint8_t scalar[X25519_LEN],
            const uint8_t point[X25519_LEN]) WARN_UNUSED;
/* pub = scalar * basepoint. */
void x25519_base(uint8_t pub[X25519_LEN], const uint8_t scalar[X25519_LEN]);
/* A fresh random private key, clamped as in RFC 7748 (and `wg genkey`). */
void x25519_generate(uint8_t priv[X25519_LEN]);

#endif
