/* limiter.c - token buckets by source, in a fixed table: packets per IP, errors per address. */
#include "relay/limiter.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/rand.h"
#include "util/now.h"

int limiter_init(struct limiter *l, uint32_t rate_per_sec, uint32_t burst, size_t slots,
                 bool with_port)
{
	size_t sets = 1;

	memset(l, 0, sizeof(*l));
	l->with_port = with_port;
	if (rate_per_sec == 0)
		return 0;
	if (burst == 0 || slots < LIMITER_WAYS)
		return -EINVAL;
	while (sets * LIMITER_WAYS < slots)
		sets <<= 1;
	l->slots = calloc(sets * LIMITER_WAYS, sizeof(*l->slots));
	if (!l->slots)
		return -ENOMEM;
	l->set_mask = sets - 1;
	l->cost_ns = NS_PER_SEC / rate_per_sec;
	if (l->cost_ns == 0)
		l->cost_ns = 1;
	l->cap_ns = l->cost_ns * burst;
	l->seed = rand_u64();
	return 0;
}

void limiter_clear(struct limiter *l)
{
	free(l->slots);
	memset(l, 0, sizeof(*l));
}

void limiter_bucket_fill(struct limiter_bucket *b, uint64_t cap_ns, uint64_t now_ns)
{
	if (now_ns > b->last_ns) {
		uint64_t add = now_ns - b->last_ns;

		b->credit_ns = add >= cap_ns - b->credit_ns ? cap_ns : b->credit_ns + add;
	}
	b->last_ns = now_ns;
}

bool limiter_bucket_take(struct limiter_bucket *b, uint64_t cost_ns, uint64_t cap_ns,
                         uint64_t now_ns)
{
	limiter_bucket_fill(b, cap_ns, now_ns);
	if (b->credit_ns < cost_ns)
		return false;
	b->credit_ns -= cost_ns;
	return true;
}

static void make_key(const struct limiter *l, const struct addr *a, uint64_t key[3])
{
	uint16_t port = l->with_port ? addr_port(a) : 0;

	key[0] = (uint64_t)a->sa.sa_family << 32 | (uint64_t)port << 8 | 1;
	key[1] = key[2] = 0;
	if (a->sa.sa_family == AF_INET) {
		uint32_t ip;

		memcpy(&ip, &a->in4.sin_addr, 4);
		key[1] = ip;
	} else if (a->sa.sa_family == AF_INET6) {
		memcpy(&key[1], a->in6.sin6_addr.s6_addr, 8);
		/* One IPv6 host usually has a whole /64: per-IP limits take the /64. */
		if (l->with_port)
			memcpy(&key[2], a->in6.sin6_addr.s6_addr + 8, 8);
	}
}

static size_t set_of(const struct limiter *l, const uint64_t key[3])
{
	uint64_t h = l->seed ^ key[0];

	h = (h ^ key[1]) * 0x9e3779b97f4a7c15ull;
	h = (h ^ (h >> 29) ^ key[2]) * 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	return (size_t)(h & l->set_mask);
}

bool limiter_allow(struct limiter *l, const struct addr *src, uint64_t now_ns)
{
	struct limiter_slot *set, *victim = NULL;
	uint64_t key[3];

	if (!l->cost_ns)
		return true;
	make_key(l, src, key);
	set = &l->slots[set_of(l, key) * LIMITER_WAYS];
	for (int w = 0; w < LIMITER_WAYS; w++) {
		struct limiter_slot *s = &set[w];

		if (s->key[0] == key[0] && s->key[1] == key[1] && s->key[2] == key[2])
			return limiter_bucket_take(&s->b, l->cost_ns, l->cap_ns, now_ns);
		if (!victim || s->key[0] == 0 ||
		    (victim->key[0] && s->b.last_ns < victim->b.last_ns))
			victim = s;
	}
	/* New here: a full bucket, in the least recently used way of the set. */
	memcpy(victim->key, key, sizeof(key));
	victim->b.credit_ns = l->cap_ns - l->cost_ns;
	victim->b.last_ns = now_ns;
	return true;
}
