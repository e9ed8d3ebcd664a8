/* test_ipam.c - virtual IP allocation, checked against a naive reference model. */
#include "test.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/ipam.h"
#include "util/err.h"

static const char *ip_str(struct in_addr a)
{
	static char buf[4][INET_ADDRSTRLEN];
	static int i;

	i = (i + 1) % 4;
	return inet_ntop(AF_INET, &a, buf[i], sizeof(buf[i]));
}

static void test_reserved_addresses(void **state)
{
	struct ipam ipam;
	struct in_addr a;
	char id[16];
	errmsg err;

	/* 10.66.7.0/29: .0 network, .1 gateway, .7 broadcast; .2-.6 assignable. */
	assert_true(ipam_init(&ipam, "10.66.7.0/29", err));
	assert_string_equal(ip_str(ipam_gateway(&ipam)), "10.66.7.1");
	for (int i = 0; i < 5; i++) {
		uint32_t h;

		snprintf(id, sizeof(id), "peer%d", i);
		assert_true(ipam_alloc(&ipam, id, &a, err));
		h = ntohl(a.s_addr);
		assert_true(h >= 0x0a420702 && h <= 0x0a420706);
	}
	/* Exhaustion is a clear error. */
	assert_false(ipam_alloc(&ipam, "peer5", &a, err));
	assert_string_equal(err,
	                    "virtual network 10.66.7.0/29 is full: all 5 addresses are in use");
	ipam_clear(&ipam);
}

static void test_stable_and_release(void **state)
{
	struct ipam ipam, other;
	struct in_addr a, b, c;
	errmsg err;

	assert_true(ipam_init(&ipam, IPAM_DEFAULT_NETWORK, err));
	assert_true(ipam_alloc(&ipam, "alice", &a, err));
	assert_true(ipam_alloc(&ipam, "alice", &b, err));
	assert_int_equal(a.s_addr, b.s_addr);
	assert_true(ipam_lookup(&ipam, "alice", &b));
	assert_int_equal(a.s_addr, b.s_addr);
	/* Released and rejoined: the same address. */
	assert_true(ipam_release(&ipam, "alice"));
	assert_false(ipam_release(&ipam, "alice"));
	assert_false(ipam_lookup(&ipam, "alice", &b));
	assert_true(ipam_alloc(&ipam, "alice", &b, err));
	assert_int_equal(a.s_addr, b.s_addr);
	/* Another process starting empty gives alice the same address too. */
	assert_true(ipam_init(&other, IPAM_DEFAULT_NETWORK, err));
	assert_true(ipam_alloc(&other, "alice", &c, err));
	assert_int_equal(a.s_addr, c.s_addr);
	ipam_clear(&other);
	ipam_clear(&ipam);
}

static void test_remembered_not_given_away(void **state)
{
	struct ipam ipam;
	struct in_addr a, b, mine;
	char id[16];
	errmsg err;

	/* A /29 has 5 addresses; peer0 leaves, four others fill the rest. */
	assert_true(ipam_init(&ipam, "10.66.7.0/29", err));
	assert_true(ipam_alloc(&ipam, "peer0", &mine, err));
	assert_true(ipam_release(&ipam, "peer0"));
	for (int i = 1; i <= 4; i++) {
		snprintf(id, sizeof(id), "peer%d", i);
		assert_true(ipam_alloc(&ipam, id, &a, err));
		assert_int_not_equal(a.s_addr, mine.s_addr);
	}
	/* Only when nothing else is left does a newcomer take it. */
	assert_true(ipam_alloc(&ipam, "newcomer", &b, err));
	assert_int_equal(b.s_addr, mine.s_addr);
	/* And the departed peer finds the network full. */
	assert_false(ipam_alloc(&ipam, "peer0", &a, err));
	assert_true(ipam_release(&ipam, "newcomer"));
	assert_true(ipam_alloc(&ipam, "peer0", &a, err));
	assert_int_equal(a.s_addr, mine.s_addr);
	ipam_clear(&ipam);
}

static void test_reserve(void **state)
{
	struct ipam ipam;
	struct in_addr a;
	errmsg err;

	assert_true(ipam_init(&ipam, IPAM_DEFAULT_NETWORK, err));
	inet_pton(AF_INET, "10.66.3.4", &a);
	assert_true(ipam_reserve(&ipam, "bob", a, err));
	assert_true(ipam_reserve(&ipam, "bob", a, err));
	assert_false(ipam_reserve(&ipam, "carol", a, err));
	assert_string_equal(err, "10.66.3.4 is already assigned to another peer");
	inet_pton(AF_INET, "10.66.0.1", &a);
	assert_false(ipam_reserve(&ipam, "carol", a, err));
	assert_string_equal(err, "10.66.0.1 is not an assignable address of 10.66.0.0/16");
	inet_pton(AF_INET, "10.66.0.0", &a);
	assert_false(ipam_reserve(&ipam, "carol", a, err));
	inet_pton(AF_INET, "10.66.255.255", &a);
	assert_false(ipam_reserve(&ipam, "carol", a, err));
	inet_pton(AF_INET, "10.67.0.5", &a);
	assert_false(ipam_reserve(&ipam, "carol", a, err));
	ipam_clear(&ipam);
}

static void test_bad_networks(void **state)
{
	static const char *const bad[] = { "10.66.0.0/31", "10.66.0.0/32", "fd00::/64",
		                           "10.66.0.1/16", "10.0.0.0/7",   "nonsense" };
	struct ipam ipam;
	errmsg err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(ipam_init(&ipam, bad[i], err));
		assert_non_null(strstr(err, bad[i]));
	}
	assert_true(ipam_init(&ipam, "10.66.0.0/30", err));
	ipam_clear(&ipam);
}

/*
 * The reference: a plain array of (owner, ip, in_use) records, searched
 * linearly.  Random operations on both must agree on every answer and never
 * assign one address twice.
 */
enum { MODEL_PEERS = 40 };
struct model_entry {
	bool known, in_use;
	uint32_t ip;
};

static void test_differential(void **state)
{
	struct model_entry model[MODEL_PEERS] = { { 0 } };
	struct ipam ipam;
	errmsg err;

	srand(12345);
	/* 29 assignable addresses for 40 peers, so the pool runs full and churns. */
	assert_true(ipam_init(&ipam, "10.66.9.0/27", err));
	for (int step = 0; step < 20000; step++) {
		int p = rand() % MODEL_PEERS, op = rand() % 3;
		char id[16];
		struct in_addr a;
		int in_use = 0;

		snprintf(id, sizeof(id), "peer-%d", p);
		for (int i = 0; i < MODEL_PEERS; i++)
			in_use += model[i].in_use;
		if (op == 0) {
			bool ok = ipam_alloc(&ipam, id, &a, err);

			if (model[p].in_use) {
				assert_true(ok);
				assert_int_equal(ntohl(a.s_addr), model[p].ip);
				continue;
			}
			assert_int_equal(ok, in_use < 29);
			if (!ok)
				continue;
			/* A remembered address comes back to its owner. */
			if (model[p].known)
				assert_int_equal(ntohl(a.s_addr), model[p].ip);
			for (int i = 0; i < MODEL_PEERS; i++) {
				assert_false(model[i].in_use && model[i].ip == ntohl(a.s_addr));
				/* Taking another's remembered address makes it forget. */
				if (i != p && model[i].known && model[i].ip == ntohl(a.s_addr))
					model[i].known = false;
			}
			model[p] = (struct model_entry){ true, true, ntohl(a.s_addr) };
			assert_true(ntohl(a.s_addr) >= 0x0a420902 && ntohl(a.s_addr) <= 0x0a42091e);
		} else if (op == 1) {
			assert_int_equal(ipam_release(&ipam, id), model[p].in_use);
			model[p].in_use = false;
		} else {
			bool ok = ipam_lookup(&ipam, id, &a);

			assert_int_equal(ok, model[p].in_use);
			if (ok)
				assert_int_equal(ntohl(a.s_addr), model[p].ip);
		}
	}
	ipam_clear(&ipam);
}

/* A whole /16 fills up to 65533 and not one more. */
static void test_fill_slash16(void **state)
{
	struct ipam ipam;
	struct in_addr a;
	char id[16];
	errmsg err;
	uint8_t *seen = calloc(65536, 1);

	assert_true(ipam_init(&ipam, IPAM_DEFAULT_NETWORK, err));
	for (int i = 0; i < 65533; i++) {
		uint32_t h;

		snprintf(id, sizeof(id), "p%d", i);
		assert_true(ipam_alloc(&ipam, id, &a, err));
		h = ntohl(a.s_addr) & 0xffff;
		assert_true(h >= 2 && h <= 0xfffe);
		assert_false(seen[h]);
		seen[h] = 1;
	}
	assert_false(ipam_alloc(&ipam, "last", &a, err));
	assert_non_null(strstr(err, "is full"));
	free(seen);
	ipam_clear(&ipam);
}

/* The IPv6 addresses every member derives for every other: fixed forms, documented. */
static void test_v6_of(void **state)
{
	struct in_addr v4;
	struct in6_addr v6;
	char text[INET6_ADDRSTRLEN];

	(void)state;
	assert_int_equal(inet_pton(AF_INET, "10.66.191.3", &v4), 1);
	ipam_v6_of(v4, false, &v6);
	assert_string_equal(inet_ntop(AF_INET6, &v6, text, sizeof(text)),
	                    "fd4c:5247:6c61::a42:bf03");
	ipam_v6_of(v4, true, &v6);
	assert_string_equal(inet_ntop(AF_INET6, &v6, text, sizeof(text)), "fe80::a42:bf03");
	/* Inside the subnet IPAM_V6_SUBNET names. */
	struct in6_addr subnet;
	char sub[64];

	snprintf(sub, sizeof(sub), "%s", IPAM_V6_SUBNET);
	*strchr(sub, '/') = '\0';
	assert_int_equal(inet_pton(AF_INET6, sub, &subnet), 1);
	ipam_v6_of(v4, false, &v6);
	assert_memory_equal(v6.s6_addr, subnet.s6_addr, 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reserved_addresses),
		cmocka_unit_test(test_stable_and_release),
		cmocka_unit_test(test_remembered_not_given_away),
		cmocka_unit_test(test_reserve),
		cmocka_unit_test(test_bad_networks),
		cmocka_unit_test(test_differential),
		cmocka_unit_test(test_fill_slash16),
		cmocka_unit_test(test_v6_of),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
