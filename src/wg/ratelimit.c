/* ratelimit.c - token buckets by source address, for handshakes under load. */
#include "wg/ratelimit.h"

#include <stdlib.h>
#include <string.h>

enum { NS = 1000000000 };

static const uint64_t cost_ns = NS / RATELIMIT_PER_SEC;
static const uint64_t max_tokens_ns = (uint64_t)NS / RATELIMIT_PER_SEC * RATELIMIT_BURST;

bool ratelimit_init(struct ratelimit *rl)
{
	rl->table = calloc(RATELIMIT_TABLE, sizeof(*rl->table));
	rl->used = 0;
	rl->last_expire_ns = 0;
	return rl->table != NULL;
}

void ratelimit_clear(struct ratelimit *rl)
{
	free(rl->table);
	rl->table = NULL;
	rl->used = 0;
}

static void make_key(uint8_t key[9], const struct addr *src)
{
	memset(key, 0, 9);
	if (src->sa.sa_family == AF_INET6) {
		key[0] = 6;
		memcpy(key + 1, &src->in6.sin6_addr, 8); /* the /64 */
	} else {
		key[0] = 4;
		memcpy(key + 1, &src->in4.sin_addr, 4);
	}
}

static size_t hash_key(const uint8_t key[9])
{
	uint64_t h = 1469598103934665603ull;

	for (int i = 0; i < 9; i++)
		h = (h ^ key[i]) * 1099511628211ull;
	return (size_t)(h ^ (h >> 29));
}

/* Drops sources idle for a second (their bucket is full again anyway). */
static void expire(struct ratelimit *rl, uint64_t now_ns)
{
	struct ratelimit_entry *old = rl->table;

	rl->table = calloc(RATELIMIT_TABLE, sizeof(*rl->table));
	if (!rl->table) {
		rl->table = old;
		return;
	}
	rl->used = 0;
	for (size_t i = 0; i < RATELIMIT_TABLE; i++) {
		size_t j;

		if (!old[i].key[0] || now_ns - old[i].last_ns >= NS)
			continue;
		for (j = hash_key(old[i].key) & (RATELIMIT_TABLE - 1); rl->table[j].key[0];
		     j = (j + 1) & (RATELIMIT_TABLE - 1))
			;
		rl->table[j] = old[i];
		rl->used++;
	}
	free(old);
}

bool ratelimit_allow(struct ratelimit *rl, const struct addr *src, uint64_t now_ns)
{
	uint8_t key[9];
	size_t i;

	make_key(key, src);
	/*
	 * Keep the table at most three quarters full so probes stay short.  Sweeping
	 * costs a pass over the table, so a flood of new sources gets at most one a
	 * second (entries live a second anyway).
	 */
	if (rl->used >= RATELIMIT_TABLE / 4 * 3) {
		if (now_ns - rl->last_expire_ns < NS)
			return false;
		rl->last_expire_ns = now_ns;
		expire(rl, now_ns);
		if (rl->used >= RATELIMIT_TABLE / 4 * 3)
			return false;
	}
	for (i = hash_key(key) & (RATELIMIT_TABLE - 1); rl->table[i].key[0];
	     i = (i + 1) & (RATELIMIT_TABLE - 1)) {
		struct ratelimit_entry *e = &rl->table[i];
		uint64_t tokens;

		if (memcmp(e->key, key, sizeof(key)) != 0)
			continue;
		tokens = e->tokens_ns + (now_ns - e->last_ns);
		if (tokens > max_tokens_ns)
			tokens = max_tokens_ns;
		e->last_ns = now_ns;
		if (tokens < cost_ns) {
			e->tokens_ns = tokens;
			return false;
		}
		e->tokens_ns = tokens - cost_ns;
		return true;
	}
	memcpy(rl->table[i].key, key, sizeof(key));
	rl->table[i].tokens_ns = max_tokens_ns - cost_ns;
	rl->table[i].last_ns = now_ns;
	rl->used++;
	return true;
}
