/* rand.c - cryptographically secure randomness (libsodium). */
#include "crypto/rand.h"

#include <sodium.h>
#include <stdlib.h>

bool rand_init(void)
{
	return sodium_init() >= 0;
}

void rand_bytes(void *buf, size_t len)
{
	if (sodium_init() < 0)
		abort();
	randombytes_buf(buf, len);
}

uint64_t rand_u64(void)
{
	uint64_t v;

	rand_bytes(&v, sizeof(v));
	return v;
}

uint32_t rand_uniform(uint32_t upper)
{
	if (sodium_init() < 0)
		abort();
	return randombytes_uniform(upper);
}
