/* server.h - the control server: its modules, wired to one libevent loop. */
#ifndef LANRAGE_SERVER_SERVER_H
#define LANRAGE_SERVER_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "server/auth.h"
#include "server/config.h"
#include "server/events.h"
#include "server/heartbeat.h"
#include "server/metrics.h"
#include "server/ratelimit.h"
#include "server/registry.h"
#include "server/store.h"
#include "util/compiler.h"

struct event_base;
struct evhttp;
struct event;

/*
 * Everything below is owned by the server and touched only on the loop
 * thread, except the heartbeat writer, which owns its own connection.
 */
struct server {
	struct server_config cfg;
	struct event_base *base;
	struct evhttp *http;
	struct store store;
	struct heartbeat heartbeat;
	struct events events;
	struct auth auth;
	struct registry registry;
	struct metrics metrics;
	struct ratelimit auth_limit; /* the auth routes, per client address */
	struct event *cleanup_timer;
	struct event *sigterm, *sigint;
	char relay_secret_hash[32];  /* BLAKE2b of the relay secret; all zero: none */
	uint8_t relay_token_key[32]; /* derived from the relay secret: secret, zeroed on stop */
	bool has_relay_secret;
	uint64_t relay_tokens_issued;
	uint16_t port; /* bound */
};

/* Opens the store, binds, starts timers and threads; 0 or -errno with err. */
int server_start(struct server *srv, const struct server_config *cfg, struct event_base *base,
                 char *err) WARN_UNUSED;
void server_stop(struct server *srv);

#endif
