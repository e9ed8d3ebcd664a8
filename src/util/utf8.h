/* utf8.h - validation of user-visible text (names). */
#ifndef LANRAGE_UTIL_UTF8_H
#define LANRAGE_UTIL_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Whether s holds len bytes of well-formed UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF) with no control characters (C0, DEL, C1).
 */
bool utf8_is_printable(const char *s, size_t len);

#endif
