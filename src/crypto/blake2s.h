/* blake2s.h - BLAKE2s hash, keyed MAC and HMAC (OpenSSL libcrypto), as WireGuard uses them. */
#ifndef LANRAGE_CRYPTO_BLAKE2S_H
#define LANRAGE_CRYPTO_BLAKE2S_H

#include <stddef.h>
#include <stdint.h>

enum { BLAKE2S_HASH_LEN = 32, BLAKE2S_MAC_LEN = 16 };

/* HASH(a || b), 32 bytes; b may be NULL with blen 0. */
void blake2s_hash(uint8_t out[BLAKE2S_HASH_LEN], const uint8_t *a, size_t alen, const uint8_t *b,
                  size_t blen);
/* MAC(key, in): keyed BLAKE2s with a 16-byte output (WireGuard's mac1, mac2, cookie). */
void blake2s_mac(uint8_t out[BLAKE2S_MAC_LEN], const uint8_t *key, size_t keylen, const uint8_t *in,
                 size_t len);
/* HMAC-BLAKE2s(key, in), 32 bytes (the KDF's building block). */
void blake2s_hmac(uint8_t out[BLAKE2S_HASH_LEN], const uint8_t *key, size_t keylen,
                  const uint8_t *in, size_t len);

#endif
