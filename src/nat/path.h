/* path.h - path probing and hole punching: candidates, ping/pong, RTT, the best path: a pure core.
 */
#ifndef LANRAGE_NAT_PATH_H
#define LANRAGE_NAT_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/key.h"
#include "crypto/mac.h"
#include "nat/probe.h"
#include "nat/send_ops.h"
#include "util/addr.h"
#include "util/compiler.h"
#include "util/endpoint.h"

/*
 * Timers (path_timer is the only place that decides what to send when):
 *   search_ms        no path yet: ping every candidate this often, both sides at
 *                    once, which is what opens the NATs (hole punching)
 *   search_fast_sec  ...for this long; then every search_slow_ms
 *   keepalive_ms     the current path: RTT, and the NAT mapping kept open
 *   upgrade_ms       the other candidates while a path exists: a better one wins
 *   pong_timeout_ms  a ping unanswered this long is a miss; the current path is
 *                    pinged every search_ms while it misses, and dropped after
 *                    dead_misses misses in a row
 * and one event: a ping from the peer at an address that has not answered us
 * yet triggers a ping back at once (as ICE's triggered checks): the peer's
 * ping just came through its NAT and ours, so ours will too.
 *
 * Candidates are endpoints: direct addresses, or a relay and the peer's tag
 * there (CAND_RELAY), probed alike through the relay.  Direct paths are
 * preferred: a direct candidate replaces a relayed path unless its RTT is
 * more than direct_bias_percent and direct_bias_ms above the relay's, and a
 * relayed candidate replaces a direct path only when it is relay_switch_percent
 * and direct_bias_ms faster (or the direct path dies).  Which relays to offer
 * is the caller's business (path_set_candidates, path_forget_relay).
 */
struct path_config {
	uint32_t search_ms;
	uint32_t search_fast_sec;
	uint32_t search_slow_ms;
	uint32_t keepalive_ms;
	uint32_t upgrade_ms;
	uint32_t pong_timeout_ms;
	uint32_t dead_misses;
	/* A candidate replaces the current path of its kind when its RTT is this much lower. */
	uint32_t switch_percent;
	/* Direct over relayed unless this much slower; relayed over direct only when this much
	 * faster. */
	uint32_t direct_bias_percent;
	uint32_t relay_switch_percent;
	/* ...and, both ways, by at least this much: small RTTs jitter by multiples of themselves.
	 */
	uint32_t direct_bias_ms;
	/* Pongs per peer and second, at most (an authenticated member can still flood). */
	uint32_t pongs_per_sec;
};

/* 200 ms / 10 s / 2 s / 5 s / 10 s / 1 s / 3 / 10 % / 50 % / 30 % / 10 ms / 50. */
extern const struct path_config path_config_default;

enum {
	PATH_MAX_CANDIDATES = 16,
	PATH_OUTSTANDING = 4, /* pings per candidate awaiting a pong */
};

enum cand_kind {
	CAND_LOCAL,          /* an address of the peer's own interfaces */
	CAND_REFLEXIVE,      /* the peer's STUN-mapped address */
	CAND_PEER_REFLEXIVE, /* where the peer's pings came from (learned here) */
	CAND_RELAY,          /* a relay both are bound to, and the peer's tag there */
	CAND_GLOBAL,         /* an IPv6 global address of the peer's own: no NAT between */
};

const char *cand_kind_name(enum cand_kind k);

struct path_candidate {
	struct endpoint ep;
	enum cand_kind kind;
	uint64_t next_ping_ns;
	struct {
		uint64_t txid; /* 0: empty */
		uint64_t sent_ns;
	} out[PATH_OUTSTANDING];
	uint64_t last_ping_ns;
	uint64_t srtt_ns, last_rtt_ns, last_pong_ns;
	uint32_t pings, pongs, misses;
};

/* One party member: its key, candidates, replay window and current path. */
struct path_peer {
	bool active;
	wg_key pub;
	uint8_t key[MAC_KEY_LEN]; /* the pair's probe key: secret, zeroed on removal */
	struct path_candidate cand[PATH_MAX_CANDIDATES];
	size_t n_cand;
	int current; /* index into cand, or -1: no direct path */
	uint64_t rx_max_counter, rx_window;
	bool peer_has_path;   /* the peer's last authenticated probe said so */
	struct addr observed; /* our address as the peer last saw it (direct pongs only) */
	uint64_t started_ns, search_started_ns;
	uint64_t first_ping_ns; /* 0 until we ping it */
	uint64_t first_pong_ns; /* 0 until a pong arrives */
	uint64_t pong_window_ns;
	uint32_t pongs_in_window;
	uint64_t pings_rx, pongs_rx, pings_tx, pongs_tx;
};

/* Called when a peer's current path changes (to a path, another one, or none). */
typedef void path_event_fn(void *ctx, const struct path_peer *peer);

/* Owned by whoever runs the traversal; peers are allocated once, at init. */
struct path_table {
	wg_key self_pub;
	wg_key self_priv; /* secret: zeroed by path_table_clear */
	struct path_peer *peers;
	size_t n_peers, max_peers;
	uint64_t tx_counter;
	struct path_config cfg;
	struct send_ops ops;
	path_event_fn *on_event;
	void *ctx;
	uint64_t dropped[PROBE_VERDICT_COUNT];
	uint64_t send_fails;
};

/*
 * counter_start makes counters grow across restarts: the daemon passes
 * wall-clock milliseconds << 20 (a million probes per millisecond of uptime
 * before a restart could repeat one).  Returns 0 or -ENOMEM.
 */
int path_table_init(struct path_table *t, const wg_key self_priv, size_t max_peers,
                    uint64_t counter_start, const struct path_config *cfg,
                    const struct send_ops *ops, path_event_fn *on_event, void *ctx) WARN_UNUSED;
void path_table_clear(struct path_table *t);

/* Adds a party member; returns its index, -EINVAL for a low-order key, -ENOSPC when full. */
int path_add_peer(struct path_table *t, const wg_key peer_pub, uint64_t now_ns) WARN_UNUSED;
void path_remove_peer(struct path_table *t, size_t peer);
int path_find_peer(const struct path_table *t, const wg_key pub);

/* Learned and relayed candidates: path_set_candidates keeps them when its list leaves them out. */
bool path_candidate_kept(const struct path_candidate *c);

/*
 * Replaces a peer's candidates (its local and STUN-mapped addresses, from the
 * control plane); peer-reflexive ones learned here stay.  New candidates are
 * pinged at once.  Duplicates are merged; at most PATH_MAX_CANDIDATES.
 */
void path_set_candidates(struct path_table *t, size_t peer, const struct endpoint *eps,
                         const enum cand_kind *kinds, size_t n, uint64_t now_ns);
/* Drops every candidate through this relay (it is gone or no longer wanted), for every peer. */
void path_forget_relay(struct path_table *t, const struct addr *relay, uint64_t now_ns);

/* A datagram the demultiplexer took for a probe (probe_is).  Never reads past len. */
enum probe_verdict path_input(struct path_table *t, const uint8_t *pkt, size_t len,
                              const struct endpoint *from, uint64_t now_ns);

/* Sends what is due; returns the next deadline (UINT64_MAX: none). */
uint64_t path_timer(struct path_table *t, uint64_t now_ns);

/* Whether candidate c (measured) should replace the current path cur, by the rules above. */
bool path_prefers(const struct path_config *cfg, const struct path_candidate *c,
                  const struct path_candidate *cur);

/* The current path of a peer (direct, or through a relay), or NULL. */
const struct path_candidate *path_current(const struct path_table *t, size_t peer);

#endif
