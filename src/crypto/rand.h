/* rand.h - cryptographically secure randomness (libsodium). */
#ifndef LANRAGE_CRYPTO_RAND_H
#define LANRAGE_CRYPTO_RAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/compiler.h"

/*
 * Initialises the crypto libraries.  Every program calls it once at start,
 * before any thread; it is idempotent and also run lazily by rand_bytes.
 */
bool rand_init(void) WARN_UNUSED;
void rand_bytes(void *buf, size_t len);
uint64_t rand_u64(void);
/* Uniform in [0, upper) without modulo bias; upper > 0. */
uint32_t rand_uniform(uint32_t upper);

#endif
