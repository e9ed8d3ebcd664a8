/* err.h - fixed-size error messages that parsers and validators fill in. */
#ifndef LANRAGE_UTIL_ERR_H
#define LANRAGE_UTIL_ERR_H

#include <stddef.h>

#include "util/compiler.h"

enum { ERR_MAX = 256 };

/*
 * An error message buffer.  Functions that can reject input take a `char *err`
 * (an errmsg, or NULL when the caller does not want the text) and describe what
 * was wrong, naming the field or quoting the input - but never a secret.
 */
typedef char errmsg[ERR_MAX];

void err_set(char *err, const char *fmt, ...) PRINTF_FMT(2, 3);

/* The same for a message buffer of another size; the text is cut to fit. */
void err_format(char *out, size_t size, const char *fmt, ...) PRINTF_FMT(3, 4);

/* Prepends "prefix: " to a message already in err (field context). */
void err_prefix(char *err, const char *fmt, ...) PRINTF_FMT(2, 3);

#endif
