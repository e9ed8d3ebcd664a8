/* traversal.h - NAT traversal on one UDP socket: STUN, discovery and path probes behind one door.
 */
#ifndef LANRAGE_NAT_TRAVERSAL_H
#define LANRAGE_NAT_TRAVERSAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/key.h"
#include "nat/discovery.h"
#include "nat/path.h"
#include "nat/send_ops.h"
#include "nat/stun_client.h"
#include "util/compiler.h"

/*
 * What the owner of the socket (the data plane's shared UDP socket, or
 * natsock) does with it:
 *   - every datagram that is not WireGuard goes to traversal_input, which
 *     takes STUN (stun_is) and probes (probe_is) and says NOT_OURS for the rest;
 *   - after traversal_input, and whenever the deadline it last returned from
 *     traversal_timer passes, it calls traversal_timer and re-arms its timer;
 *   - everything runs on one thread (the control thread); nothing here blocks,
 *     reads a clock, or allocates per packet.
 */
enum traversal_rx {
	TRAVERSAL_STUN,     /* a STUN datagram: consumed (answered, or dropped and counted) */
	TRAVERSAL_PROBE,    /* a path probe: consumed */
	TRAVERSAL_NOT_OURS, /* neither: relay frames, garbage; the caller decides */
};

/* Owned by the daemon (or lanrage-punch); embeds everything by value. */
struct traversal {
	struct send_ops ops;
	struct stun_client stun;
	struct discovery disc;
	struct path_table paths;
	uint64_t rx_stun, rx_probe, rx_not_ours;
};

int traversal_init(struct traversal *t, const struct send_ops *ops, const wg_key self_priv,
                   size_t max_peers, uint64_t counter_start, const struct path_config *cfg,
                   path_event_fn *on_path, void *ctx) WARN_UNUSED;
/* Zeroes keys and frees the peer table. */
void traversal_clear(struct traversal *t);

/* RFC 5780 discovery (or, with cfg->binding_only, the reflexive address) on this socket. */
int traversal_discover(struct traversal *t, const struct discovery_config *cfg, uint64_t now_ns,
                       discovery_done_fn *done, void *ctx) WARN_UNUSED;

/* from: relayed when the datagram came inside a relay Data frame. */
enum traversal_rx traversal_input(struct traversal *t, const uint8_t *pkt, size_t len,
                                  const struct endpoint *from, uint64_t now_ns);
/* Runs what is due; returns the next deadline (UINT64_MAX: none). */
uint64_t traversal_timer(struct traversal *t, uint64_t now_ns);

#endif
