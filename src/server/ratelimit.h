/* ratelimit.h - token buckets keyed by client address, for the expensive routes. */
#ifndef LANRAGE_SERVER_RATELIMIT_H
#define LANRAGE_SERVER_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Registration costs an X25519 operation and a durable commit, so it is
 * limited per client address: `rate` requests per second with bursts of
 * 2 x rate.  Addresses hash (keyed SipHash, a key per process) into a fixed
 * table; a slot taken by another address starts full again, so memory never
 * grows and nobody can aim collisions at a chosen victim.
 */
enum { RATELIMIT_SLOTS = 4096 };

struct rl_slot {
	uint64_t tag;
	double tokens;
	uint64_t last_ms;
};

/* Owned by the server; loop thread only.  rate 0 disables it. */
struct ratelimit {
	double rate, burst;
	uint8_t key[16];
	struct rl_slot slots[RATELIMIT_SLOTS];
	uint64_t refused;
};

void ratelimit_init(struct ratelimit *rl, double rate_per_sec);
/* Whether a request from addr (any text form) may go ahead now. */
bool ratelimit_allow(struct ratelimit *rl, const char *addr, uint64_t now_ms);

#endif
