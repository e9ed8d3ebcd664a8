/* api_token.h - the local API's bearer token: its file, and checking a request's header. */
#ifndef LANRAGE_DAEMON_API_TOKEN_H
#define LANRAGE_DAEMON_API_TOKEN_H

#include <stdbool.h>

#include "util/compiler.h"

enum { API_TOKEN_BYTES = 32, API_TOKEN_HEX = 2 * API_TOKEN_BYTES };

/*
 * The token file (<state_dir>/api.token) holds 64 lowercase hex digits (32
 * random bytes) and a newline.  Whoever can read it may drive the daemon, so
 * it is mode 0600 and owned by the daemon's user.  The token is never logged
 * and never quoted in an error.
 */

/*
 * The daemon's side: reads the file, or creates it (atomically, 0600) with a
 * new random token when it does not exist.  Refuses a file that is not a
 * regular file, is readable by group or others, or holds no token (err says
 * what to do).  0 or -errno.
 */
int api_token_load_or_create(const char *path, char out[API_TOKEN_HEX + 1], char *err) WARN_UNUSED;

/* The CLI's side: reads the file, whatever its mode.  0 or -errno with err. */
int api_token_read(const char *path, char out[API_TOKEN_HEX + 1], char *err) WARN_UNUSED;

/* Whether an Authorization header value is "Bearer <token>"; constant time in the token. */
bool api_token_check(const char *header, const char token[API_TOKEN_HEX + 1]);

#endif
