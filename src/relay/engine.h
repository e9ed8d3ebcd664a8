/* engine.h - the relay's packet core: binds, forwarding, errors, expiry: bytes in, verdicts out. */
#ifndef LANRAGE_RELAY_ENGINE_H
#define LANRAGE_RELAY_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/mac.h"
#include "nat/relay_frame.h"
#include "relay/blocklist.h"
#include "relay/limiter.h"
#include "relay/sessions.h"
#include "util/addr.h"
#include "util/compiler.h"

/*
 * Pure: no system calls, no clock reads, no allocation after init.  The
 * program hands it each relay frame with its source and the time (monotonic
 * for timers, wall clock for tokens and bind timestamps) and sends what it
 * says.  docs/PROTOCOL.md "Relay frames" is the contract; the order of
 * checks on every datagram:
 *
 *   1. a source with a session skips the block list (checked when it bound);
 *      one without is checked against it                          (blocked)
 *   2. the per-source packet budget                              (rate limited)
 *   3. the frame: data, bind or unbind; anything else is dropped; a bind
 *      that parses spends a second, smaller budget before its crypto
 *
 * and data from a session goes only to a session of the same party, found
 * by tag, with the tag rewritten to the sender's: never flooded, never read
 * beyond the 5-byte header.  Errors are sent at most once a second per
 * source address and ENGINE_ERRORS_PER_SEC in all, and are never larger
 * than the datagram that drew them.
 */
enum {
	ENGINE_ERRORS_PER_SEC = 1000,
	ENGINE_BINDS_PER_SEC =
	    50, /* per source IP, bursts of twice that; members bind every 20 s */
	ENGINE_LIMITER_SLOTS = 16384,
	ENGINE_ERROR_SLOTS = 4096,
	ENGINE_DEFAULT_MAX_CLIENTS = 100,
	ENGINE_DEFAULT_STALE_SEC = 300,
	/* Default per-IP budget: well above a gigabit TCP flow in 1400-byte datagrams (~90 kpps).
	 */
	ENGINE_DEFAULT_RATE_PPS = 200000,
};

struct engine_config {
	size_t max_clients;
	uint64_t stale_ns; /* no bind or data this long ends a session */
	uint32_t rate_pps; /* per source IP; 0: no limit */
	uint32_t rate_burst;
	uint8_t token_key[MAC_KEY_LEN]; /* secret: the engine keeps a copy, zeroed on clear */
};

/* Counters: one list makes the struct, the metrics and the log line. */
#define RELAY_STATS(X)                                                                             \
	X(packets_in, "datagrams received")                                                        \
	X(bytes_in, "bytes received")                                                              \
	X(packets_out, "datagrams sent")                                                           \
	X(bytes_out, "bytes sent")                                                                 \
	X(forwarded_packets, "data frames forwarded")                                              \
	X(forwarded_bytes, "bytes of data frames forwarded")                                       \
	X(priority_packets, "datagrams taken in first (small, marked EF)")                         \
	X(binds, "binds accepted")                                                                 \
	X(sessions_created, "sessions created")                                                    \
	X(sessions_moved, "sessions moved to a new address (NAT rebinding)")                       \
	X(sessions_replaced, "sessions ended by another member's bind from their address")         \
	X(unbinds, "sessions ended by an unbind")                                                  \
	X(sessions_stale, "sessions ended after no bind or data for the stale timeout")            \
	X(sessions_expired, "sessions ended when their token expired")                             \
	X(sessions_blocked, "sessions ended by a block list reload")                               \
	X(errors_sent, "error frames sent")                                                        \
	X(errors_suppressed, "error frames not sent (rate limit)")                                 \
	X(stun_requests, "STUN requests answered")                                                 \
	X(stun_dropped, "STUN datagrams dropped")

struct relay_stats {
#define RELAY_STAT_FIELD(name, help) uint64_t name;
	RELAY_STATS(RELAY_STAT_FIELD)
#undef RELAY_STAT_FIELD
	uint64_t dropped[RELAY_VERDICT_COUNT];
};

enum engine_action {
	ENGINE_DROP,    /* nothing to send */
	ENGINE_FORWARD, /* send the (rewritten) input datagram to out->to */
	ENGINE_REPLY,   /* send out->reply[0..reply_len) to the source */
};

/*
 * What to do with one datagram.  reply holds an ack (48 bytes) or an error
 * (8).  local is the relay's address to send from (unset: the routing
 * table's choice): for a reply the one the datagram came to, for a forward
 * the one the receiving member last reached; a member behind a NAT or a
 * stateful firewall hears only from the address it sent to.
 */
struct engine_out {
	enum engine_action action;
	struct addr to, local;
	uint8_t reply[RELAY_ACK_LEN];
	size_t reply_len;
};

/*
 * A session that ended by an unbind, or was taken over at its address,
 * leaves its last timestamp behind for the clock window: without it, a bind
 * captured in the last 120 s could bring the session back at the capturer's
 * address.  (Sessions that went stale or expired need none: their binds are
 * older than the window, or their token is dead.)
 */
struct engine_tomb {
	char party[RELAY_TOKEN_PARTY_LEN];
	uint8_t peer_id[RELAY_TOKEN_PEER_LEN];
	uint64_t ts_ms;
};

/* Owned by the relay program; loop thread only. */
struct engine {
	struct engine_config cfg;
	struct sessions sessions;
	struct limiter rate;   /* packets per source IP */
	struct limiter binds;  /* binds per source IP */
	struct limiter errors; /* errors per source address */
	struct limiter_bucket errors_global;
	struct engine_tomb *tombs; /* a ring of max_clients */
	size_t next_tomb;
	const struct blocklist *blocked; /* borrowed; NULL: none */
	struct relay_stats stats;
};

/* Allocates the pool and tables.  0 or -errno. */
int engine_init(struct engine *e, const struct engine_config *cfg,
                const struct blocklist *blocked) WARN_UNUSED;
void engine_clear(struct engine *e);

/*
 * One datagram that relay_is() accepted, from `from` to the relay's address
 * `local` (NULL or unset: not known).  Data is rewritten in place; the
 * verdict says why it was dropped (an error may still be due: out->action).
 * Counted in stats.dropped; forwards are counted by the caller once sent.
 */
enum relay_verdict engine_input(struct engine *e, uint8_t *pkt, size_t len, const struct addr *from,
                                const struct addr *local, uint64_t now_ns, int64_t wall_ms,
                                struct engine_out *out);

/* Ends sessions that went stale or whose token expired; returns how many. */
size_t engine_sweep(struct engine *e, uint64_t now_ns, int64_t wall_ms);
/* After the block list changed: ends the sessions it now covers; returns how many. */
size_t engine_reblock(struct engine *e);

size_t engine_sessions(const struct engine *e);

#endif
