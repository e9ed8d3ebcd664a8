/* secret.h - handling secrets: zeroing and constant-time comparison. */
#ifndef LANRAGE_CRYPTO_SECRET_H
#define LANRAGE_CRYPTO_SECRET_H

#include <stdbool.h>
#include <stddef.h>

/* Zeroes memory in a way the compiler may not elide. */
void secret_zero(void *p, size_t len);
/* Equality in time that depends only on len, never on the content. */
bool secret_equal(const void *a, const void *b, size_t len);
/* Whether all len bytes are zero, in constant time. */
bool secret_is_zero(const void *p, size_t len);

#endif
