/* limiter.h - token buckets by source, in a fixed table: packets per IP, errors per address. */
#ifndef LANRAGE_RELAY_LIMITER_H
#define LANRAGE_RELAY_LIMITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/addr.h"
#include "util/compiler.h"

/*
 * A bucket holds up to `burst` packets' worth of credit and refills at
 * `rate` a second; each packet spends one.  Credit is kept in nanoseconds
 * of refill time, so everything is integer.  A source is an IPv4 address or
 * an IPv6 /64 (with_port: the whole address and port).  The table is 4-way
 * set associative with least-recently-used replacement: a flood of new
 * sources evicts idle ones, never allocates.  A source met for the first
 * time (or again after eviction) starts with a full bucket.
 */
enum { LIMITER_WAYS = 4 };

struct limiter_bucket {
	uint64_t credit_ns;
	uint64_t last_ns;
};

struct limiter_slot {
	uint64_t key[3]; /* key[0] == 0: free */
	struct limiter_bucket b;
};

/* Owned by the engine; one thread. */
struct limiter {
	struct limiter_slot *slots;
	size_t set_mask;
	uint64_t cost_ns, cap_ns; /* 0: no limit */
	bool with_port;
	uint64_t seed;
};

/* rate 0 disables the limit (limiter_allow says yes, cheaply).  0 or -ENOMEM/-EINVAL. */
int limiter_init(struct limiter *l, uint32_t rate_per_sec, uint32_t burst, size_t slots,
                 bool with_port) WARN_UNUSED;
void limiter_clear(struct limiter *l);
bool limiter_allow(struct limiter *l, const struct addr *src, uint64_t now_ns);

/* One bucket alone (a global cap): the same arithmetic. */
void limiter_bucket_fill(struct limiter_bucket *b, uint64_t cap_ns, uint64_t now_ns);
bool limiter_bucket_take(struct limiter_bucket *b, uint64_t cost_ns, uint64_t cap_ns,
                         uint64_t now_ns);

#endif
