/* apierr.h - an API error: the HTTP status it maps to and a message naming the problem. */
#ifndef LANRAGE_SERVER_APIERR_H
#define LANRAGE_SERVER_APIERR_H

#include "util/compiler.h"
#include "util/err.h"

/* The statuses the API answers with.  Storage trouble is 503, never 500. */
enum api_status {
	API_OK = 200,
	API_CREATED = 201,
	API_BAD_REQUEST = 400,
	API_UNAUTHORIZED = 401,
	API_FORBIDDEN = 403,
	API_NOT_FOUND = 404,
	API_METHOD_NOT_ALLOWED = 405,
	API_CONFLICT = 409,
	API_PAYLOAD_TOO_LARGE = 413,
	API_UNSUPPORTED_MEDIA_TYPE = 415,
	API_TOO_MANY_REQUESTS = 429,
	API_UNAVAILABLE = 503,
};

struct api_error {
	enum api_status status;
	errmsg msg;
};

void api_error_set(struct api_error *e, enum api_status status, const char *fmt, ...)
    PRINTF_FMT(3, 4);
/* Prepends "prefix: " to the message. */
void api_error_prefix(struct api_error *e, const char *prefix);
/* A storage failure: logged with its detail, answered 503 without it. */
void api_error_store(struct api_error *e, int rc, const char *detail);

#endif
