/* api.h - the daemon's local HTTP JSON API (127.0.0.1:8666) and what it asks of the daemon. */
#ifndef LANRAGE_DAEMON_API_H
#define LANRAGE_DAEMON_API_H

#include <jansson.h>
#include <stdbool.h>

#include "util/addr.h"
#include "util/compiler.h"

struct event_base;
struct settings;
struct daemon_config;

/*
 * docs/LOCAL_API.md is the contract.  Every route but GET /api/health needs
 * `Authorization: Bearer <token>` (the token file, 0600, in the state
 * directory), a Host header naming the API's own address (127.0.0.1:PORT,
 * localhost:PORT, [::1]:PORT: no DNS rebinding), and no Origin header other
 * than the API's own origin.  A web page the user visits can do none of
 * this.  Errors are 4xx/503 with {"error": "..."}.
 *
 * The API owns the HTTP side; the daemon answers through this table.  All on
 * the daemon's event_base thread.  The program ignores SIGPIPE (a client may
 * close its connection before the answer is written).
 */
struct api_req;

struct api_backend {
	/* Reads: a new JSON object each (the API takes the reference). */
	json_t *(*status)(void *ctx);
	json_t *(*peers)(void *ctx);
	json_t *(*nat)(void *ctx);
	/*
	 * Actions: each ends with exactly one api_finish (or api_fail) on req,
	 * now or later; req stays valid until then even if the client went away.
	 */
	void (*party_create)(void *ctx, struct api_req *req, const char *name);
	void (*party_join)(void *ctx, struct api_req *req, const char *party_id);
	void (*party_leave)(void *ctx, struct api_req *req);
	/* The host removes a member for good; peer as for ping. */
	void (*party_kick)(void *ctx, struct api_req *req, const char *peer);
	/* The host lets a removed peer (by id) join again. */
	void (*party_unban)(void *ctx, struct api_req *req, const char *peer_id);
	/* The peers the host removed (an action: the control server is asked). */
	void (*party_bans)(void *ctx, struct api_req *req);
	/* peer: a peer id, a member name or a virtual IP; count 1-100 probes. */
	void (*ping)(void *ctx, struct api_req *req, const char *peer, unsigned count);
	/* A setting was stored through the API; the daemon applies what it can at once. */
	void (*setting_changed)(void *ctx, const char *key);
	/*
	 * The configuration in effect (borrowed), for GET /api/settings: each
	 * key's value and source.  May be NULL (then only stored values show,
	 * and PATCH checks values against the defaults).
	 */
	const struct daemon_config *(*config)(void *ctx);
	void *ctx;
};

/* Answers req with status and body (stolen; NULL: {}); frees req. */
void api_finish(struct api_req *req, int status, json_t *body);
/* Answers req with status and {"error": <formatted message>}; frees req. */
void api_fail(struct api_req *req, int status, const char *fmt, ...) PRINTF_FMT(3, 4);

struct api;

/*
 * Listens on addr (127.0.0.1:8666 by default; port 0 takes a free port; a
 * non-loopback address is refused), reading or creating token_path
 * (api_token.h).  settings may be NULL (then the settings, favourites and
 * game-profile routes answer 503).  The backend table is copied; settings
 * is borrowed and must outlive the API.
 */
struct api *api_create(struct event_base *base, const struct addr *addr, const char *token_path,
                       struct settings *settings, const struct api_backend *backend,
                       char *err) WARN_UNUSED;
/* The address it listens on (with the port it got). */
void api_get_addr(const struct api *api, struct addr *out);
/*
 * Stops listening and closes every connection.  Requests still in the
 * backend's hands are detached: their api_finish/api_fail only frees them,
 * so the backend finishes them as usual (or the daemon is exiting anyway).
 */
void api_destroy(struct api *api);

#endif
