/* announce.h - the relay registers with the control server (POST /relays), again and again. */
#ifndef LANRAGE_RELAY_ANNOUNCE_H
#define LANRAGE_RELAY_ANNOUNCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/compiler.h"

struct event_base;
struct event;
struct control_client;

/*
 * Timers: the first announcement at start, then every interval_ms (the
 * control server forgets relays after 10 minutes without one).  A failure
 * (no answer, a 5xx) is retried after 1 s, doubling up to interval_ms, and
 * logged once per outage with what went wrong; the return is logged too.
 * The relay forwards regardless: members bound to it never notice.
 */
struct announce_config {
	const char *url;
	const char *relay_id, *region;
	const char *public_ip;
	uint16_t port;
	uint32_t capacity;
	uint64_t interval_ms;
};

/* Owned by the relay; loop thread only. */
struct announce {
	struct control_client *client;
	struct event *timer;
	char *secret; /* the relay secret, the bearer: zeroed on stop */
	char url[512], relay_id[65], region[33], public_ip[64];
	uint16_t port;
	uint32_t capacity;
	uint64_t interval_ms, backoff_ms;
	bool in_flight;
	int state; /* 1 registered, 0 not yet, -1 failing */
	uint64_t sent, ok, failed;
};

/* Takes a copy of the secret (trimmed text); 0 or -errno with err. */
int announce_start(struct announce *a, struct event_base *base, const struct announce_config *cfg,
                   const char *secret, size_t secret_len, char *err) WARN_UNUSED;
void announce_stop(struct announce *a);
/* Whether the last announcement succeeded. */
bool announce_registered(const struct announce *a);

#endif
