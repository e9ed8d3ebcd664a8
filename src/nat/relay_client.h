/* relay_client.h - a member's sessions on relays: bind, keep bound, measure, unbind: a pure core.
 */
#ifndef LANRAGE_NAT_RELAY_CLIENT_H
#define LANRAGE_NAT_RELAY_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/mac.h"
#include "nat/relay_frame.h"
#include "nat/relay_wire.h"
#include "nat/send_ops.h"
#include "util/addr.h"
#include "util/compiler.h"

/*
 * Timers (relay_client_timer is the only place that decides what to send when):
 *   rebind_ms         a bound relay is bound again this often: the session
 *                     and the NAT mapping toward the relay stay fresh, and the
 *                     ack measures the round trip
 *   retransmit_ms     a bind unacked this long is sent again ...
 *   lost_after        ... and after this many binds in a row without an ack
 *                     the relay is reported lost; it is then bound every
 *                     lost_retry_ms until it answers (reported bound again)
 *   not_bound_min_ms  a `not bound' error draws a bind at once, at most this often
 * Binds carry the member's wall clock in milliseconds, made strictly
 * increasing here, so the relay's "above the last timestamp" rule holds even
 * when the clock steps back while we run.
 */
struct relay_client_config {
	uint32_t rebind_ms;
	uint32_t retransmit_ms;
	uint32_t lost_after;
	uint32_t lost_retry_ms;
	uint32_t not_bound_min_ms;
};

/* 20 s / 1 s / 3 / 20 s / 1 s. */
extern const struct relay_client_config relay_client_config_default;

enum {
	RELAY_CLIENT_OUTSTANDING = 4, /* binds awaiting an ack, per relay */
};

enum relay_link_state {
	RELAY_LINK_IDLE,    /* no token yet: nothing is sent */
	RELAY_LINK_BINDING, /* binds sent, no ack yet */
	RELAY_LINK_BOUND,   /* acked; re-bound every rebind_ms */
	RELAY_LINK_LOST,    /* lost_after binds in a row unacked */
};

const char *relay_link_state_name(enum relay_link_state s);

/* One relay the member is (or wants to be) bound to. */
struct relay_link {
	bool active;
	struct addr addr;
	enum relay_link_state state;
	uint64_t next_bind_ns; /* UINT64_MAX: nothing due */
	uint64_t last_bind_ns;
	uint64_t last_not_bound_ns; /* the last bind a `not bound' drew */
	struct {
		uint64_t ts_ms; /* 0: empty */
		uint64_t sent_ns;
	} out[RELAY_CLIENT_OUTSTANDING];
	uint32_t unacked; /* binds sent since the last ack */
	uint64_t srtt_ns, last_rtt_ns;
	struct addr observed; /* our address as the relay saw the last acked bind */
	uint64_t bound_ns;    /* when it last became bound */
	uint64_t binds_tx, acks_rx, errors_rx;
};

enum relay_event_type {
	RELAY_EV_BOUND,    /* an ack: rtt_ns (smoothed), observed; first says "newly bound" */
	RELAY_EV_LOST,     /* lost_after binds unacked */
	RELAY_EV_REFUSED,  /* code: refused, full, tag taken or clock, after a bind */
	RELAY_EV_NOT_HERE, /* tag: that member has no session on this relay (yet) */
};

struct relay_event {
	enum relay_event_type type;
	size_t relay;
	const struct addr *addr;
	uint64_t rtt_ns;
	const struct addr *observed;
	bool first; /* bound: it was not bound before, or the observed address changed */
	uint8_t code;
	uint32_t tag;
};

typedef void relay_event_fn(void *ctx, const struct relay_event *ev);

/* Owned by whoever runs the member's socket (the daemon; tests/relay/relayc). */
struct relay_client {
	struct relay_link *links;
	size_t n_links, max_links;
	bool has_token;
	uint8_t token[RELAY_TOKEN_LEN];
	uint8_t key[MAC_KEY_LEN];      /* the session key: secret, zeroed on clear */
	uint8_t prev_key[MAC_KEY_LEN]; /* the previous token's, for acks in flight */
	bool has_prev_key;
	uint32_t self_tag;
	uint64_t last_ts_ms;
	struct relay_client_config cfg;
	struct send_ops ops;
	relay_event_fn *on_event;
	void *ctx;
	uint64_t dropped[RELAY_VERDICT_COUNT];
	uint64_t send_fails;
};

/* Links are allocated once, here.  0 or -ENOMEM. */
int relay_client_init(struct relay_client *c, size_t max_relays,
                      const struct relay_client_config *cfg, const struct send_ops *ops,
                      relay_event_fn *on_event, void *ctx) WARN_UNUSED;
void relay_client_clear(struct relay_client *c);

/*
 * The token and session key from the control server (for the member's
 * party).  Every relay is bound with it at the next relay_client_timer, so a
 * replacement token reaches every relay at once.  false for a token that is
 * not RELAY_TOKEN_LEN bytes of version 1.
 */
bool relay_client_set_token(struct relay_client *c, const uint8_t *token, size_t len,
                            const uint8_t session_key[MAC_KEY_LEN], uint64_t now_ns) WARN_UNUSED;

/* A relay to bind to (at the next timer); its index, or -EEXIST's index, or -ENOSPC. */
int relay_client_add(struct relay_client *c, const struct addr *relay, uint64_t now_ns) WARN_UNUSED;
int relay_client_find(const struct relay_client *c, const struct addr *relay);
/* Forgets a relay; with unbind, tells it first (the session ends at once). */
void relay_client_remove(struct relay_client *c, size_t relay, bool unbind, int64_t wall_ms);
const struct relay_link *relay_client_link(const struct relay_client *c, size_t relay);

/*
 * A datagram the demultiplexer took for a relay control frame (0xE1-0xEF)
 * from `from`.  Data frames (0xE0) are the data plane's: RELAY_DROP_TYPE.
 */
enum relay_verdict relay_client_input(struct relay_client *c, const uint8_t *pkt, size_t len,
                                      const struct addr *from, uint64_t now_ns, int64_t wall_ms);

/* Sends what is due; returns the next deadline (UINT64_MAX: none). */
uint64_t relay_client_timer(struct relay_client *c, uint64_t now_ns, int64_t wall_ms);

#endif
