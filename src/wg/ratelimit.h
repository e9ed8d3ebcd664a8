/* ratelimit.h - token buckets by source address, for handshakes under load. */
#ifndef LANRAGE_WG_RATELIMIT_H
#define LANRAGE_WG_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/addr.h"

/*
 * Each source (an IPv4 address, or an IPv6 /64) may start RATELIMIT_PER_SEC
 * handshakes a second with a burst of RATELIMIT_BURST.  The table is bounded:
 * when it is full of sources seen within the last second, new ones are refused.
 * Owned by the control thread.
 */
enum {
	RATELIMIT_PER_SEC = 20,
	RATELIMIT_BURST = 5,
	RATELIMIT_TABLE = 8192, /* power of two */
};

struct ratelimit_entry {
	uint8_t key[9]; /* family byte + 8 address bytes; key[0] == 0 marks a free slot */
	uint64_t tokens_ns;
	uint64_t last_ns;
};

struct ratelimit {
	struct ratelimit_entry *table;
	size_t used;
	uint64_t last_expire_ns;
};

bool ratelimit_init(struct ratelimit *rl);
void ratelimit_clear(struct ratelimit *rl);
bool ratelimit_allow(struct ratelimit *rl, const struct addr *src, uint64_t now_ns);

#endif
