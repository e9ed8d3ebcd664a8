/* ctl.h - the control plane as the daemon sees it: one interface, a remote and a local
 * implementation. */
#ifndef LANRAGE_CONTROL_CTL_H
#define LANRAGE_CONTROL_CTL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "control/party.h"
#include "control/peer.h"
#include "crypto/key.h"
#include "util/addr.h"
#include "util/compiler.h"

struct event_base;

/*
 * The daemon's party manager talks to a control plane through this ops table
 * and never learns which one it has:
 *
 *   ctl_remote  lanrage-control over HTTP (control_client): proof-of-key
 *               registration, create/join/leave, a heartbeat every 30 s, the
 *               event stream with polling as the fallback, retries with
 *               backoff; a server that goes away is reconnected to while the
 *               party carries on (tunnels never depend on it).
 *   ctl_local   no server: the seeds' file discovery.  Daemons that share a
 *               directory find each other's parties in its discovery.json
 *               (flock'd, replaced atomically), allocate virtual IPs there,
 *               heartbeat there, and drop members not seen for the stale
 *               timeout.
 *
 * Everything runs on the caller's event_base thread; calls never block.
 * Ownership: the daemon owns the ctl; callbacks borrow what they are given.
 */
struct ctl;

/* Connection to the control plane, for status output. */
enum ctl_link {
	CTL_LINK_DOWN,       /* not reachable (remote: retrying with backoff) */
	CTL_LINK_CONNECTING, /* registering or (re)opening the stream */
	CTL_LINK_UP,         /* registered; events flowing (or the file readable) */
};

const char *ctl_link_name(enum ctl_link link);

/*
 * Whether two records of one party differ in anything the daemon acts on:
 * id, name, host, and each member's description (name, key, NAT type,
 * endpoints, virtual IP).  Heartbeat times (last_seen) are ignored.
 */
bool ctl_party_same(const struct party_info *a, const struct party_info *b);
/* The same for one member. */
bool ctl_party_same_member(const struct peer_info *a, const struct peer_info *b);

/*
 * The outcome of create, join and leave.  status: 0 on success, else an
 * HTTP-like class the local API passes on: 400 bad input (error says which),
 * 404 no such party, 409 party full / network exhausted, 503 the control
 * plane is unreachable (error says why).  party: the party as it now is
 * (create/join), NULL otherwise.
 */
typedef void ctl_done_fn(void *arg, int status, const char *error, const struct party_info *party);

/* A relay the control plane knows (GET /relays). */
struct ctl_relay {
	char id[65];
	char region[33];
	struct addr addr; /* public ip and port */
	unsigned capacity;
};

/* The relays known now (n may be 0), or status/error as above. */
typedef void ctl_relays_fn(void *arg, int status, const char *error, const struct ctl_relay *relays,
                           size_t n);

/* A peer the party's host removed (GET /parties/{id}/bans). */
struct ctl_ban {
	char peer_id[PEER_ID_MAX + 1];
	char name[PEER_NAME_MAX + 1]; /* "" when the server did not keep it */
	int64_t banned_at_ms;
};

enum { CTL_BANS_MAX = 256 };

typedef void ctl_bans_fn(void *arg, int status, const char *error, const struct ctl_ban *bans,
                         size_t n);

/*
 * The server's "bans" array into out (max entries at most); an entry that does
 * not validate (peer id, name, time) is skipped.  Returns how many.
 */
size_t ctl_bans_from_json(const json_t *list, struct ctl_ban *out, size_t max);

/*
 * A relay token for the current party (docs/PROTOCOL.md "Relay frames"):
 * token (raw bytes) and its session key; expires_ms is wall clock.
 */
typedef void ctl_relay_token_fn(void *arg, int status, const char *error, const uint8_t *token,
                                size_t token_len, const uint8_t session_key[32],
                                int64_t expires_ms);

/* What the control plane tells the daemon, unasked. */
struct ctl_events {
	/*
	 * The whole party as the control plane now sees it: after create/join,
	 * on every membership or member change (join, leave, expiry, endpoint
	 * or NAT update), and after a reconnect (a fresh snapshot).  The party
	 * manager diffs it against what it has configured.
	 */
	void (*on_party)(void *ctx, const struct party_info *party);
	/* The daemon is no longer a member (removed as stale, party closed); why is for the log. */
	void (*on_party_gone)(void *ctx, const char *why);
	/* A signal from another member (remote only): its data, borrowed. */
	void (*on_signal)(void *ctx, const char *from_peer_id, const json_t *data);
	/* The link changed; detail says why (for status and the log). */
	void (*on_link)(void *ctx, enum ctl_link link, const char *detail);
	void *ctx;
};

/* Times, in ms; tests shorten them. */
struct ctl_timing {
	uint32_t heartbeat_ms; /* 30000 */
	uint32_t stale_ms;     /* local: members unseen this long are dropped; 300000 */
	uint32_t poll_ms; /* remote: polling while the stream is down; local: file check; 1000 */
	uint32_t retry_min_ms; /* backoff after a failure, doubling ...  500 */
	uint32_t retry_max_ms; /* ... up to 30000 */
};

void ctl_timing_default(struct ctl_timing *t);

/*
 * The calls below return 0 when under way (done is called exactly once,
 * never from inside the call), or at once: -EBUSY while another create, join
 * or leave is under way, -EISCONN for create/join while in a party (leave
 * first), -ENOTCONN for leave, signal and relay_token outside a party,
 * -ENOTSUP where an implementation has no such thing (local: signal),
 * -EINVAL for a description that does not validate (update_self, signal).
 * update_self outside a party only keeps the description for the next join.
 * Callbacks may make calls, but never destroy the ctl.
 */
struct ctl_ops {
	/* Creates a party with self as host and first member. */
	int (*create)(struct ctl *c, const char *name, const struct peer_info *self,
	              ctl_done_fn *done, void *arg);
	/* Joins (or rejoins, keeping the virtual IP) a party by id (any typed form). */
	int (*join)(struct ctl *c, const char *party_id, const struct peer_info *self,
	            ctl_done_fn *done, void *arg);
	/* Leaves the current party. */
	int (*leave)(struct ctl *c, ctl_done_fn *done, void *arg);
	/* Publishes a change of self's description (endpoints, NAT type) to the party. */
	int (*update_self)(struct ctl *c, const struct peer_info *self);
	/*
	 * The host removes another member, who may not join again (remote; the
	 * server checks that we are the host); -ENOTSUP locally, where every
	 * member may edit the shared file.  done gets no party.
	 */
	int (*kick)(struct ctl *c, const char *peer_id, ctl_done_fn *done, void *arg);
	/* The host lets a removed peer (by id) join again; -ENOTSUP locally. */
	int (*unban)(struct ctl *c, const char *peer_id, ctl_done_fn *done, void *arg);
	/* The peers the host removed, oldest first (the host only); -ENOTSUP locally. */
	int (*bans)(struct ctl *c, ctl_bans_fn *done, void *arg);
	/* Sends data to one member (remote); -ENOTSUP locally. */
	int (*signal)(struct ctl *c, const char *to_peer_id, const json_t *data);
	int (*relays)(struct ctl *c, ctl_relays_fn *done, void *arg);
	int (*relay_token)(struct ctl *c, ctl_relay_token_fn *done, void *arg);
	enum ctl_link (*link)(const struct ctl *c);
	/* "remote http://..." or "local /path/discovery.json", for status. */
	const char *(*describe)(const struct ctl *c);
	/* Ends timers, streams and requests without calling back; zeroes secrets. */
	void (*destroy)(struct ctl *c);
};

/* Implementations embed this first. */
struct ctl {
	const struct ctl_ops *ops;
	struct ctl_events ev;
};

/*
 * url: "http://host:port" of lanrage-control; private_key: the daemon's
 * identity (copied; zeroed on destroy).
 */
struct ctl *ctl_remote_create(struct event_base *base, const char *url, const wg_key private_key,
                              const struct ctl_timing *timing, const struct ctl_events *ev,
                              char *err) WARN_UNUSED;
/* dir: the shared discovery directory (created if missing); its discovery.json holds the parties.
 */
struct ctl *ctl_local_create(struct event_base *base, const char *dir, const wg_key public_key,
                             const struct ctl_timing *timing, const struct ctl_events *ev,
                             char *err) WARN_UNUSED;
/*
 * Local only: the virtual network of parties this daemon creates (default
 * 10.66.0.0/16, IPv4 /8 to /30).  A party keeps the network its creator
 * gave it; joiners take theirs from the file.  false (err) for a bad prefix
 * or a remote ctl.
 */
bool ctl_local_set_network(struct ctl *c, const char *cidr, char *err) WARN_UNUSED;

static inline void ctl_destroy(struct ctl *c)
{
	if (c)
		c->ops->destroy(c);
}

#endif
