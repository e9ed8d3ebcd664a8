/* sessions.h - the relay's sessions: a fixed pool, found by source address and by (party, tag). */
#ifndef LANRAGE_RELAY_SESSIONS_H
#define LANRAGE_RELAY_SESSIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/mac.h"
#include "nat/relay_wire.h"
#include "util/addr.h"
#include "util/compiler.h"

/*
 * One session per bound member: where it is now (its source address) and
 * who it is (party, peer id, tag).  The invariants the engine keeps:
 * an address holds at most one session, and a (party, tag) at most one.
 * Sessions come from a pool allocated once (the client limit); both tables
 * are chained hash tables of pool indices, so nothing is allocated per
 * packet or per bind.  Hashes are keyed with a random seed.
 */
struct session {
	int32_t next_by_addr, next_by_tag; /* chains; -1 ends */
	bool used;
	struct addr addr;
	struct addr local; /* the relay's address this member reaches (unset: not known) */
	char party[RELAY_TOKEN_PARTY_LEN];
	uint8_t peer_id[RELAY_TOKEN_PEER_LEN];
	uint32_t tag;
	uint8_t key[MAC_KEY_LEN]; /* the session key: secret, zeroed on removal */
	uint64_t last_ts_ms;      /* of the last accepted bind */
	uint32_t expiry;          /* the token's, Unix seconds */
	uint64_t last_seen_ns;    /* last bind or data */
	uint64_t created_ns;
};

/* Owned by the engine. */
struct sessions {
	struct session *pool;
	size_t max, used;
	int32_t free_head; /* through next_by_addr */
	int32_t *by_addr, *by_tag;
	size_t mask; /* buckets - 1 */
	uint64_t seed;
};

/* Allocates the pool and tables for max sessions.  0 or -ENOMEM. */
int sessions_init(struct sessions *s, size_t max) WARN_UNUSED;
void sessions_clear(struct sessions *s);

struct session *sessions_by_addr(const struct sessions *s, const struct addr *a);
struct session *sessions_by_tag(const struct sessions *s, const char party[RELAY_TOKEN_PARTY_LEN],
                                uint32_t tag);

/* A new session (party, peer id, tag, address set; the rest zero); NULL when full. */
struct session *sessions_add(struct sessions *s, const struct addr *a,
                             const char party[RELAY_TOKEN_PARTY_LEN],
                             const uint8_t peer_id[RELAY_TOKEN_PEER_LEN], uint32_t tag);
/* Moves a session to another address (NAT rebinding); the address must be free. */
void sessions_move(struct sessions *s, struct session *x, const struct addr *a);
void sessions_remove(struct sessions *s, struct session *x);

bool sessions_full(const struct sessions *s);
size_t sessions_count(const struct sessions *s);
/* Pool slot i (used or not), for sweeps: i < s->max. */
struct session *sessions_slot(struct sessions *s, size_t i);

#endif
