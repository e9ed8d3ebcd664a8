/* ratelimit.c - token buckets keyed by client address. */
#include "server/ratelimit.h"

#include <sodium.h>
#include <string.h>

#include "crypto/rand.h"

void ratelimit_init(struct ratelimit *rl, double rate_per_sec)
{
	memset(rl, 0, sizeof(*rl));
	rl->rate = rate_per_sec;
	rl->burst = 2 * rate_per_sec;
	rand_bytes(rl->key, sizeof(rl->key));
}

bool ratelimit_allow(struct ratelimit *rl, const char *addr, uint64_t now_ms)
{
	uint8_t h[crypto_shorthash_BYTES];
	struct rl_slot *slot;
	uint64_t tag;

	if (rl->rate <= 0)
		return true;
	crypto_shorthash(h, (const uint8_t *)addr, strlen(addr), rl->key);
	memcpy(&tag, h, sizeof(tag));
	tag |= 1; /* 0 marks an empty slot */
	slot = &rl->slots[tag % RATELIMIT_SLOTS];
	if (slot->tag != tag) {
		slot->tag = tag;
		slot->tokens = rl->burst;
		slot->last_ms = now_ms;
	}
	slot->tokens += (double)(now_ms - slot->last_ms) * rl->rate / 1000.0;
	if (slot->tokens > rl->burst)
		slot->tokens = rl->burst;
	slot->last_ms = now_ms;
	if (slot->tokens < 1.0) {
		rl->refused++;
		return false;
	}
	slot->tokens -= 1.0;
	return true;
}
