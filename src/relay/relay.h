/* relay.h - lanrage-relay: the socket, the packet loop, timers, metrics and registration. */
#ifndef LANRAGE_RELAY_RELAY_H
#define LANRAGE_RELAY_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nat/stun_server.h"
#include "relay/announce.h"
#include "relay/blocklist.h"
#include "relay/config.h"
#include "relay/engine.h"
#include "relay/metrics.h"
#include "udp/udp.h"
#include "util/compiler.h"

struct event_base;
struct event;

enum {
	RELAY_BATCH = 64,         /* datagrams per recvmmsg/sendmmsg */
	RELAY_ROUNDS = 16,        /* batches per wake-up before timers and HTTP get a turn */
	RELAY_SLOT = 65536 + 128, /* a datagram slot; the odd stride spreads cache sets */
	RELAY_SWEEP_MS = 1000,    /* stale and expired sessions are looked for this often */
	/*
	 * The priority socket's frames: marked EF, and small (a member's lane
	 * takes up to 544 bytes of WireGuard message, src/wg/steer.h).
	 */
	RELAY_PRIO_DSCP = 46,
	RELAY_PRIO_MAX = 600,
	/* Both sockets' batches while marked frames came in the last RELAY_PRIO_RECENT_MS. */
	RELAY_PRIO_BULK_BATCH = 16,
	RELAY_PRIO_RECENT_MS = 1000,
};

/*
 * One libevent loop thread owns everything: the UDP sockets (relay frames
 * and STUN on one port; small marked frames come in on a second socket of
 * its group, served first), the engine, the metrics server, registration and
 * the timers.  Buffers are allocated once at start.
 */
struct relay {
	struct relay_config cfg;
	struct event_base *base;
	struct udp_socket sock, prio; /* prio.fd -1: no priority socket */
	struct event *rx, *rx_prio, *sweep, *stats_timer, *sighup;
	struct engine engine;
	struct blocklist *block; /* flags + file; reloaded on SIGHUP */
	struct stun_server stun;
	struct metrics_http metrics;
	struct announce announce;
	bool announcing;
	uint8_t *bufs;
	struct udp_pkt rx_pkts[RELAY_BATCH], tx_pkts[RELAY_BATCH];
	struct udp_rx rx_batch; /* descriptors for rx_pkts, set up once */
	struct engine_out outs[RELAY_BATCH];
	bool tx_failed[RELAY_BATCH];
	bool tx_forward[RELAY_BATCH];
	uint64_t prio_seen_ns;     /* the last marked frame's batch */
	struct relay_stats logged; /* at the last stats line */
	uint64_t started_ns;
};

/*
 * Loads the secret, binds the socket (and the metrics port), starts the
 * timers and registration.  0 or -errno with err.
 */
int relay_start(struct relay *r, const struct relay_config *cfg, struct event_base *base,
                char *err) WARN_UNUSED;
void relay_stop(struct relay *r);

#endif
