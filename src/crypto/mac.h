/* mac.h - keyed message authentication and key derivation (BLAKE2b). */
#ifndef LANRAGE_CRYPTO_MAC_H
#define LANRAGE_CRYPTO_MAC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/compiler.h"

enum { MAC_KEY_LEN = 32, MAC_TAG_LEN = 16 };

/* tag = BLAKE2b-128(key, data): a short authenticator for small control messages. */
void mac_compute(uint8_t tag[MAC_TAG_LEN], const uint8_t key[MAC_KEY_LEN], const void *data,
                 size_t len);
/* Recomputes the tag and compares in constant time. */
bool mac_verify(const uint8_t tag[MAC_TAG_LEN], const uint8_t key[MAC_KEY_LEN], const void *data,
                size_t len) WARN_UNUSED;

/*
 * out = BLAKE2b-256(label || a || b || c): a key for one purpose, derived from
 * secret input material and public context.  The label names the purpose and
 * version ("lanrage probe v1"), so keys for different purposes never collide.
 * Any part may be NULL with length 0.
 */
void mac_derive_key(uint8_t out[MAC_KEY_LEN], const char *label, const void *a, size_t alen,
                    const void *b, size_t blen, const void *c, size_t clen);

#endif
