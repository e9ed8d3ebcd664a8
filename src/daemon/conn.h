/* conn.h - the connection manager: every other party member, reached directly or through a relay.
 */
#ifndef LANRAGE_DAEMON_CONN_H
#define LANRAGE_DAEMON_CONN_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "control/peer.h"
#include "daemon/config.h"
#include "nat/traversal.h"
#include "util/compiler.h"
#include "util/endpoint.h"

struct event_base;
struct event;
struct wg_device;
struct wg_peer;
struct relays;

/*
 * One connection per member (seed 001's states):
 *
 *   connecting  no path yet, or a path but no WireGuard session yet
 *   connected   a path (direct or relayed) and a session; RTT within bounds
 *   degraded    the path's RTT is above degraded_rtt_ms, or it is missing pongs
 *   failed      no path at all for failed_after_ms
 *   (cleanup)   failed for cleanup_after_ms: the member's WireGuard peer and
 *               probing state are torn down, and a new attempt starts after
 *               a backoff (5 s, doubling up to retry_max_ms) while the member
 *               stays in the party
 *
 * Paths come from path probing (nat/path.c) over the data plane's socket:
 * every candidate of the member at once, the fastest that answers wins, RTT
 * measured all the time.  No direct path within relay_after_ms (or at once
 * when the NAT types say none can exist, or always with relay = always): the
 * pair meets on a relay (daemon/relays.c) whose endpoint joins the
 * candidates; probing goes on and a direct path that opens later takes over.
 * The current path is WireGuard's endpoint for the member.
 */
enum conn_state { CONN_CONNECTING, CONN_CONNECTED, CONN_DEGRADED, CONN_FAILED };

const char *conn_state_name(enum conn_state s);

struct conn_config {
	uint32_t degraded_rtt_ms;  /* 200 */
	uint32_t relay_after_ms;   /* 3000 */
	uint32_t failed_after_ms;  /* 20000 */
	uint32_t cleanup_after_ms; /* 60000 */
	uint32_t retry_max_ms;     /* 300000 */
	uint16_t keepalive_sec;    /* 25: WireGuard persistent keepalive */
	enum relay_mode relay;
	struct path_config path;
};

void conn_config_default(struct conn_config *cfg);

struct conn {
	bool active;
	char peer_id[PEER_ID_MAX + 1];
	char name[PEER_NAME_MAX + 1];
	wg_key pub;
	struct addr vip;
	enum nat_type nat;
	/* The member's candidates, as the control plane says. */
	struct addr public_ep, local_ep, global_ep;
	int path;           /* index in the path table; -1 while torn down */
	struct wg_peer *wg; /* NULL while torn down */
	enum conn_state state;
	uint64_t state_since_ns;
	uint64_t attempt_ns;       /* when the current attempt started */
	uint64_t no_path_since_ns; /* 0 while there is a path */
	struct endpoint applied;   /* what WireGuard was last told */
	unsigned cleanups;         /* attempts torn down so far (the backoff) */
	uint64_t retry_at_ns;      /* torn down: when to try again */
	bool wants_relay;
	uint64_t rx_bytes_seen, tx_bytes_seen;
};

/* The daemon owns it; it owns the traversal (STUN, discovery, probing) on the device's socket. */
struct conn_manager {
	struct event_base *base;
	struct wg_device *dev;
	struct conn_config cfg;
	struct traversal trav;
	struct event *trav_timer;
	struct event *tick;
	struct conn *conns;
	size_t max_conns;
	struct relays *relays; /* may be NULL: no relays (local mode) */
	enum nat_type self_nat;
	struct addr self_global; /* our IPv6 global endpoint, if any */
	uint64_t next_trav_ns;
};

/* max_members bounds the party; 0 or -errno. */
int conn_manager_init(struct conn_manager *cm, struct event_base *base, struct wg_device *dev,
                      const wg_key self_priv, size_t max_members,
                      const struct conn_config *cfg) WARN_UNUSED;
void conn_manager_clear(struct conn_manager *cm);
void conn_manager_set_relays(struct conn_manager *cm, struct relays *relays);

/*
 * Adds a member, or takes in what changed (name, endpoints, NAT type, virtual
 * IP); configures its WireGuard peer (allowed IP = its virtual IP) and starts
 * probing.  false (logged) when the member cannot be added.
 */
bool conn_upsert(struct conn_manager *cm, const struct peer_info *member);
/* The member left: its WireGuard peer and probing state go. */
void conn_remove(struct conn_manager *cm, struct conn *c);
void conn_remove_all(struct conn_manager *cm);
struct conn *conn_find(struct conn_manager *cm, const char *peer_id);
/* By peer id, name or virtual IP. */
struct conn *conn_lookup(struct conn_manager *cm, const char *what);
size_t conn_count(const struct conn_manager *cm, bool connected_only);

/* Our own NAT type, for the relay decision. */
void conn_set_self_nat(struct conn_manager *cm, enum nat_type nat);
/* Our IPv6 global endpoint (unset: none): members' IPv6 candidates are probed only with one. */
void conn_set_self_global(struct conn_manager *cm, const struct addr *global);

/* A datagram the data plane handed over (STUN, probes, relay control); control thread. */
void conn_input(struct conn_manager *cm, const uint8_t *data, size_t len,
                const struct endpoint *from);
/* Re-arms the traversal timer after something was started (discovery, a STUN request). */
void conn_kick(struct conn_manager *cm);

/* The current path, or NULL; its RTT in ns. */
const struct path_candidate *conn_path(const struct conn_manager *cm, const struct conn *c);

/* The member as GET /api/peers shows it (docs/LOCAL_API.md). */
json_t *conn_to_json(const struct conn_manager *cm, const struct conn *c);

#endif
