/* secret.c - handling secrets: zeroing and constant-time comparison. */
#include "crypto/secret.h"

#include <sodium.h>

void secret_zero(void *p, size_t len)
{
	sodium_memzero(p, len);
}

bool secret_equal(const void *a, const void *b, size_t len)
{
	return sodium_memcmp(a, b, len) == 0;
}

bool secret_is_zero(const void *p, size_t len)
{
	return sodium_is_zero(p, len) == 1;
}
