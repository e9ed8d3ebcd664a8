/* sessions.c - the relay's sessions: a fixed pool, found by source address and by (party, tag). */
#include "relay/sessions.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/rand.h"
#include "crypto/secret.h"

/* A 64-bit finaliser (MurmurHash3's); the seed makes bucket positions unpredictable. */
static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

static size_t hash_addr(const struct sessions *s, const struct addr *a)
{
	uint64_t h = s->seed, x, y;

	if (a->sa.sa_family == AF_INET) {
		uint32_t ip;

		memcpy(&ip, &a->in4.sin_addr, 4);
		h = mix(h ^ ((uint64_t)ip << 16 | a->in4.sin_port));
	} else {
		memcpy(&x, a->in6.sin6_addr.s6_addr, 8);
		memcpy(&y, a->in6.sin6_addr.s6_addr + 8, 8);
		h = mix(mix(h ^ x) ^ y ^ a->in6.sin6_port);
	}
	return (size_t)(h & s->mask);
}

static size_t hash_tag(const struct sessions *s, const char party[RELAY_TOKEN_PARTY_LEN],
                       uint32_t tag)
{
	uint64_t x, y;

	memcpy(&x, party, 8);
	memcpy(&y, party + 8, 8);
	return (size_t)(mix(mix(s->seed ^ x) ^ y ^ tag) & s->mask);
}

int sessions_init(struct sessions *s, size_t max)
{
	size_t buckets = 16;

	memset(s, 0, sizeof(*s));
	if (max == 0 || max > INT32_MAX / 4)
		return -EINVAL;
	/* At least twice the sessions: chains stay short. */
	while (buckets < 2 * max)
		buckets <<= 1;
	s->pool = calloc(max, sizeof(*s->pool));
	s->by_addr = malloc(buckets * sizeof(*s->by_addr));
	s->by_tag = malloc(buckets * sizeof(*s->by_tag));
	if (!s->pool || !s->by_addr || !s->by_tag) {
		sessions_clear(s);
		return -ENOMEM;
	}
	for (size_t i = 0; i < buckets; i++)
		s->by_addr[i] = s->by_tag[i] = -1;
	for (size_t i = 0; i < max; i++)
		s->pool[i].next_by_addr = i + 1 < max ? (int32_t)(i + 1) : -1;
	s->free_head = 0;
	s->max = max;
	s->mask = buckets - 1;
	s->seed = rand_u64();
	return 0;
}

void sessions_clear(struct sessions *s)
{
	if (s->pool)
		secret_zero(s->pool, s->max * sizeof(*s->pool));
	free(s->pool);
	free(s->by_addr);
	free(s->by_tag);
	memset(s, 0, sizeof(*s));
}

struct session *sessions_by_addr(const struct sessions *s, const struct addr *a)
{
	for (int32_t i = s->by_addr[hash_addr(s, a)]; i >= 0; i = s->pool[i].next_by_addr) {
		if (addr_equal(&s->pool[i].addr, a))
			return &s->pool[i];
	}
	return NULL;
}

struct session *sessions_by_tag(const struct sessions *s, const char party[RELAY_TOKEN_PARTY_LEN],
                                uint32_t tag)
{
	for (int32_t i = s->by_tag[hash_tag(s, party, tag)]; i >= 0; i = s->pool[i].next_by_tag) {
		const struct session *x = &s->pool[i];

		if (x->tag == tag && memcmp(x->party, party, RELAY_TOKEN_PARTY_LEN) == 0)
			return &s->pool[i];
	}
	return NULL;
}

static void link_addr(struct sessions *s, struct session *x)
{
	size_t b = hash_addr(s, &x->addr);

	x->next_by_addr = s->by_addr[b];
	s->by_addr[b] = (int32_t)(x - s->pool);
}

static void unlink_addr(struct sessions *s, struct session *x)
{
	int32_t *p = &s->by_addr[hash_addr(s, &x->addr)], self = (int32_t)(x - s->pool);

	while (*p >= 0 && *p != self)
		p = &s->pool[*p].next_by_addr;
	if (*p == self)
		*p = x->next_by_addr;
}

static void unlink_tag(struct sessions *s, struct session *x)
{
	int32_t *p = &s->by_tag[hash_tag(s, x->party, x->tag)], self = (int32_t)(x - s->pool);

	while (*p >= 0 && *p != self)
		p = &s->pool[*p].next_by_tag;
	if (*p == self)
		*p = x->next_by_tag;
}

struct session *sessions_add(struct sessions *s, const struct addr *a,
                             const char party[RELAY_TOKEN_PARTY_LEN],
                             const uint8_t peer_id[RELAY_TOKEN_PEER_LEN], uint32_t tag)
{
	struct session *x;
	size_t b;

	if (s->free_head < 0)
		return NULL;
	x = &s->pool[s->free_head];
	s->free_head = x->next_by_addr;
	memset(x, 0, sizeof(*x));
	x->used = true;
	x->addr = *a;
	memcpy(x->party, party, RELAY_TOKEN_PARTY_LEN);
	memcpy(x->peer_id, peer_id, RELAY_TOKEN_PEER_LEN);
	x->tag = tag;
	link_addr(s, x);
	b = hash_tag(s, party, tag);
	x->next_by_tag = s->by_tag[b];
	s->by_tag[b] = (int32_t)(x - s->pool);
	s->used++;
	return x;
}

void sessions_move(struct sessions *s, struct session *x, const struct addr *a)
{
	unlink_addr(s, x);
	x->addr = *a;
	link_addr(s, x);
}

void sessions_remove(struct sessions *s, struct session *x)
{
	if (!x->used)
		return;
	unlink_addr(s, x);
	unlink_tag(s, x);
	secret_zero(x, sizeof(*x));
	x->next_by_addr = s->free_head;
	x->next_by_tag = -1;
	s->free_head = (int32_t)(x - s->pool);
	s->used--;
}

bool sessions_full(const struct sessions *s)
{
	return s->free_head < 0;
}

size_t sessions_count(const struct sessions *s)
{
	return s->used;
}

struct session *sessions_slot(struct sessions *s, size_t i)
{
	return &s->pool[i];
}
