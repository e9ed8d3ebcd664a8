/* apierr.c - API errors. */
#include "server/apierr.h"

#include <stdarg.h>
#include <stdio.h>

#include "util/log.h"

void api_error_set(struct api_error *e, enum api_status status, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return;
	e->status = status;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}

void api_error_store(struct api_error *e, int rc, const char *detail)
{
	log_ratelimited(LL_ERROR, "store: %s (%d)", detail, rc);
	api_error_set(e, API_UNAVAILABLE, "storage is unavailable, try again");
}

void api_error_prefix(struct api_error *e, const char *prefix)
{
	if (e)
		err_prefix(e->msg, "%s", prefix);
}
