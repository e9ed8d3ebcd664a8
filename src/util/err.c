/* err.c - fixed-size error messages. */
#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void err_set(char *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(err, ERR_MAX, fmt, ap);
	va_end(ap);
}

void err_format(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (!out || size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(out, size, fmt, ap);
	va_end(ap);
}

void err_prefix(char *err, const char *fmt, ...)
{
	char joined[2 * ERR_MAX + 2];
	va_list ap;
	int n;

	if (!err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(joined, ERR_MAX, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if (n > ERR_MAX - 1)
		n = ERR_MAX - 1;
	/* The message may be cut at ERR_MAX; the prefix always survives. */
	snprintf(joined + n, sizeof(joined) - (size_t)n, ": %.*s", ERR_MAX - 1, err);
	memcpy(err, joined, ERR_MAX - 1);
	err[ERR_MAX - 1] = '\0';
}
