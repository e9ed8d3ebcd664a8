/* test_allowedips.c - the trie against a naive list of (prefix, peer), IPv4 and IPv6. */
#include "test.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "wg/allowedips.h"

/* The reference: a list, searched linearly for the longest matching prefix. */
enum { NAIVE_CAP = 4096 };
struct naive_entry {
	struct prefix p;
	void *peer;
};
static struct naive_entry naive[NAIVE_CAP];
static size_t naive_n;

static bool prefix_match(const struct prefix *p, int family, const uint8_t *addr)
{
	const uint8_t *key = family == AF_INET ? (const uint8_t *)&p->v4 : p->v6.s6_addr;

	if (p->family != family)
		return false;
	for (unsigned i = 0; i < p->len; i++) {
		if (((key[i / 8] ^ addr[i / 8]) >> (7 - i % 8)) & 1)
			return false;
	}
	return true;
}

static bool same_prefix(const struct prefix *a, const struct prefix *b)
{
	return a->family == b->family && a->len == b->len &&
	       (a->family == AF_INET ? memcmp(&a->v4, &b->v4, 4) == 0
	                             : memcmp(&a->v6, &b->v6, 16) == 0);
}

static void naive_insert(const struct prefix *p, void *peer)
{
	for (size_t i = 0; i < naive_n; i++) {
		if (same_prefix(&naive[i].p, p)) {
			naive[i].peer = peer;
			return;
		}
	}
	naive[naive_n++] = (struct naive_entry){ *p, peer };
}

static void naive_remove_peer(void *peer)
{
	for (size_t i = 0; i < naive_n;) {
		if (naive[i].peer == peer)
			naive[i] = naive[--naive_n];
		else
			i++;
	}
}

static bool naive_remove(const struct prefix *p, void *peer)
{
	for (size_t i = 0; i < naive_n; i++) {
		if (same_prefix(&naive[i].p, p) && naive[i].peer == peer) {
			naive[i] = naive[--naive_n];
			return true;
		}
	}
	return false;
}

static void *naive_lookup(int family, const uint8_t *addr)
{
	void *best = NULL;
	int best_len = -1;

	for (size_t i = 0; i < naive_n; i++) {
		if (prefix_match(&naive[i].p, family, addr) && naive[i].p.len > best_len) {
			best = naive[i].peer;
			best_len = naive[i].p.len;
		}
	}
	return best;
}

/* Random prefixes clustered so that they nest and share paths. */
static void random_prefix(struct prefix *p, int family)
{
	uint8_t key[16] = { 10, (uint8_t)(rand() % 4), (uint8_t)(rand() % 8) };
	unsigned bits = family == AF_INET ? 32 : 128, len = (unsigned)rand() % (bits + 1);

	for (int i = 3; i < 16; i++)
		key[i] = (uint8_t)rand();
	if (family == AF_INET6)
		key[0] = 0xfd;
	memset(p, 0, sizeof(*p));
	p->family = family;
	p->len = (uint8_t)len;
	for (unsigned i = len; i < bits; i++)
		key[i / 8] &= (uint8_t) ~(0x80 >> (i % 8));
	if (family == AF_INET)
		memcpy(&p->v4, key, 4);
	else
		memcpy(&p->v6, key, 16);
}

static void random_addr(uint8_t addr[16], int family)
{
	addr[0] = family == AF_INET ? 10 : 0xfd;
	addr[1] = (uint8_t)(rand() % 4);
	addr[2] = (uint8_t)(rand() % 8);
	for (int i = 3; i < 16; i++)
		addr[i] = (uint8_t)rand();
}

static void check_lookups(const struct allowedips *t, int rounds)
{
	for (int i = 0; i < rounds; i++) {
		int family = rand() % 2 ? AF_INET : AF_INET6;
		uint8_t addr[16];

		random_addr(addr, family);
		assert_ptr_equal(allowedips_lookup(t, family, addr), naive_lookup(family, addr));
	}
	/* Also probe exactly at each stored prefix. */
	for (size_t i = 0; i < naive_n; i++) {
		const uint8_t *key = naive[i].p.family == AF_INET ? (const uint8_t *)&naive[i].p.v4
		                                                  : naive[i].p.v6.s6_addr;

		assert_ptr_equal(allowedips_lookup(t, naive[i].p.family, key),
		                 naive_lookup(naive[i].p.family, key));
	}
}

static void test_differential(void **state)
{
	char peers[16];
	struct allowedips t;
	struct allowedips *clone;

	allowedips_init(&t);
	naive_n = 0;
	srand(777);
	for (int step = 0; step < 6000; step++) {
		struct prefix p;
		int op = rand() % 10;
		void *peer = &peers[rand() % 16];

		random_prefix(&p, rand() % 2 ? AF_INET : AF_INET6);
		if (op < 6 && naive_n < NAIVE_CAP) {
			assert_true(allowedips_insert(&t, &p, peer));
			naive_insert(&p, peer);
		} else if (op < 8 && naive_n > 0) {
			/* Remove a stored prefix, sometimes naming the wrong peer. */
			struct naive_entry e = naive[(size_t)rand() % naive_n];
			void *who = rand() % 4 ? e.peer : &peers[rand() % 16];

			assert_int_equal(allowedips_remove(&t, &e.p, who), naive_remove(&e.p, who));
		} else if (op == 8) {
			allowedips_remove_by_peer(&t, peer);
			naive_remove_peer(peer);
		}
		if (step % 50 == 0)
			check_lookups(&t, 200);
	}
	check_lookups(&t, 5000);
	clone = allowedips_clone(&t);
	assert_non_null(clone);
	check_lookups(clone, 5000);
	/* Its peer list (for broadcast): each peer holding a prefix, once. */
	for (int i = 0; i < 16; i++) {
		bool holds = false;
		size_t listed = 0;

		for (size_t j = 0; j < naive_n; j++)
			holds |= naive[j].peer == &peers[i];
		for (size_t j = 0; j < clone->n_peers; j++)
			listed += clone->peers[j] == &peers[i];
		assert_int_equal(listed, holds ? 1 : 0);
	}
	allowedips_free_clone(clone);
	allowedips_clear(&t);
}

static void collect(const struct prefix *p, void *ctx)
{
	char buf[PREFIX_STRLEN], *out = ctx;

	strcat(out, prefix_format(p, buf));
	strcat(out, " ");
}

static void test_walk_and_edges(void **state)
{
	struct allowedips t;
	struct prefix p;
	int a, b;
	char list[512] = "";
	uint8_t addr[16];

	allowedips_init(&t);
	assert_true(prefix_parse(&p, "0.0.0.0/0", false, NULL));
	assert_true(allowedips_insert(&t, &p, &a));
	assert_true(prefix_parse(&p, "10.66.0.0/16", false, NULL));
	assert_true(allowedips_insert(&t, &p, &b));
	assert_true(prefix_parse(&p, "10.66.0.7/32", false, NULL));
	assert_true(allowedips_insert(&t, &p, &a));
	assert_true(prefix_parse(&p, "::/0", false, NULL));
	assert_true(allowedips_insert(&t, &p, &b));

	inet_pton(AF_INET, "10.66.0.7", addr);
	assert_ptr_equal(allowedips_lookup(&t, AF_INET, addr), &a);
	inet_pton(AF_INET, "10.66.0.8", addr);
	assert_ptr_equal(allowedips_lookup(&t, AF_INET, addr), &b);
	inet_pton(AF_INET, "192.0.2.1", addr);
	assert_ptr_equal(allowedips_lookup(&t, AF_INET, addr), &a);
	inet_pton(AF_INET6, "2001:db8::1", addr);
	assert_ptr_equal(allowedips_lookup(&t, AF_INET6, addr), &b);

	allowedips_walk_peer(&t, &a, collect, list);
	assert_string_equal(list, "0.0.0.0/0 10.66.0.7/32 ");
	/* Reassigning a prefix moves it. */
	assert_true(prefix_parse(&p, "10.66.0.7/32", false, NULL));
	assert_true(allowedips_insert(&t, &p, &b));
	list[0] = '\0';
	allowedips_walk_peer(&t, &a, collect, list);
	assert_string_equal(list, "0.0.0.0/0 ");
	allowedips_remove_by_peer(&t, &b);
	inet_pton(AF_INET, "10.66.0.7", addr);
	assert_ptr_equal(allowedips_lookup(&t, AF_INET, addr), &a);
	inet_pton(AF_INET6, "2001:db8::1", addr);
	assert_null(allowedips_lookup(&t, AF_INET6, addr));
	allowedips_clear(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_differential),
		cmocka_unit_test(test_walk_and_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
