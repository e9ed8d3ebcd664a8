/* client.h - the CLI's side of lanraged's local API: options, token, one request at a time. */
#ifndef LANRAGE_CLI_CLIENT_H
#define LANRAGE_CLI_CLIENT_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>

#include "daemon/api_token.h"
#include "util/addr.h"
#include "util/compiler.h"

/* Exit codes every API command keeps (lanrage --help, docs/LOCAL_API.md). */
enum client_exit {
	EXIT_OK = 0,
	EXIT_REFUSED = 1,     /* the daemon answered with an error (printed) */
	EXIT_USAGE = 2,       /* bad command line */
	EXIT_UNREACHABLE = 3, /* no answer from the daemon (is lanraged running?) */
	EXIT_TOKEN = 4,       /* the token file cannot be read */
};

enum {
	CLIENT_TIMEOUT_MS = 10000,       /* reads */
	CLIENT_PARTY_TIMEOUT_MS = 30000, /* create/join/leave reach the control plane */
	CLIENT_REPLY_MAX = 4 << 20,
};

/* What the global options say, and the last answer.  Owner: main. */
struct client {
	struct addr api;               /* --api, default 127.0.0.1:8666 */
	char token_path[PATH_MAX];     /* --token-file, default <state_dir>/api.token */
	bool json;                     /* --json: print the API's JSON as it came */
	char token[API_TOKEN_HEX + 1]; /* zeroed by client_clear */
	char *raw;                     /* the last answer's body, as text */
};

void client_init(struct client *c);
void client_clear(struct client *c);

/*
 * Takes the global options (--api ADDR:PORT, --token-file PATH, --json) out
 * of argv wherever they stand before a `--' (which goes too), shifting the
 * rest down.
 * Returns EXIT_OK or EXIT_USAGE (printed).
 */
int client_options(struct client *c, int *argc, char **argv) WARN_UNUSED;

/*
 * One request: method, path, an optional JSON body.  On a 2xx answer returns
 * EXIT_OK with *reply the parsed body (the caller decrefs; with --json the
 * caller prints c->raw instead).  Otherwise prints why and returns
 * EXIT_REFUSED (the daemon's error), EXIT_UNREACHABLE or EXIT_TOKEN.
 */
int client_call(struct client *c, const char *method, const char *path, const json_t *body,
                int timeout_ms, json_t **reply) WARN_UNUSED;

/*
 * "HTTP/1.x 200 ...\r\nheaders\r\n\r\nbody" (len bytes, NUL-terminated): the
 * status (100-599) and where the body starts.  false for anything else.
 */
bool client_parse_response(char *resp, size_t len, int *status, char **body) WARN_UNUSED;

/* With --json: prints c->raw and returns true. */
bool client_print_raw(const struct client *c);

#endif
