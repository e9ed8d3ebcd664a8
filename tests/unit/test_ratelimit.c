/* test_ratelimit.c - handshake token buckets per source. */
#include "test.h"

#include "wg/ratelimit.h"

static void test_bucket(void **state)
{
	struct ratelimit rl;
	struct addr a, b, a6, a6_same64;
	const uint64_t sec = 1000000000ull;
	int allowed = 0;

	assert_true(ratelimit_init(&rl));
	assert_true(addr_parse(&a, "198.51.100.1:1", NULL));
	assert_true(addr_parse(&b, "198.51.100.2:1", NULL));
	assert_true(addr_parse(&a6, "[2001:db8:1:2::1]:1", NULL));
	assert_true(addr_parse(&a6_same64, "[2001:db8:1:2::ffff]:9", NULL));
	/* A burst of 5, then nothing at the same instant. */
	for (int i = 0; i < 20; i++)
		allowed += ratelimit_allow(&rl, &a, 10 * sec);
	assert_int_equal(allowed, RATELIMIT_BURST);
	/* Others are not affected. */
	assert_true(ratelimit_allow(&rl, &b, 10 * sec));
	/* 20 per second over time. */
	allowed = 0;
	for (int i = 1; i <= 1000; i++)
		allowed += ratelimit_allow(&rl, &a, 10 * sec + (uint64_t)i * sec / 1000);
	assert_true(allowed >= RATELIMIT_PER_SEC - 1 && allowed <= RATELIMIT_PER_SEC + 1);
	/* IPv6 sources share a bucket per /64. */
	allowed = 0;
	for (int i = 0; i < 10; i++) {
		allowed += ratelimit_allow(&rl, &a6, 50 * sec);
		allowed += ratelimit_allow(&rl, &a6_same64, 50 * sec);
	}
	assert_int_equal(allowed, RATELIMIT_BURST);
	ratelimit_clear(&rl);
}

static void test_table_bound(void **state)
{
	struct ratelimit rl;
	const uint64_t sec = 1000000000ull;
	int refused = 0;

	assert_true(ratelimit_init(&rl));
	/* Many sources within one second fill the table; then new sources are refused. */
	for (uint32_t i = 0; i < RATELIMIT_TABLE; i++) {
		struct addr s;

		addr_from_in4(&s, (struct in_addr){ .s_addr = htonl(0xc6336400 + i) }, 1);
		refused += !ratelimit_allow(&rl, &s, sec);
	}
	assert_true(refused > 0);
	/* A second later they have expired and room is made again. */
	{
		struct addr s;

		addr_from_in4(&s, (struct in_addr){ .s_addr = htonl(0x0a000001) }, 1);
		assert_true(ratelimit_allow(&rl, &s, 3 * sec));
	}
	ratelimit_clear(&rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_table_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
