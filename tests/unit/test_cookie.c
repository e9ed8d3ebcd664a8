/* test_cookie.c - mac1, mac2 and cookie replies between a maker and a checker. */
#include "test.h"

#include <string.h>

#include "crypto/rand.h"
#include "crypto/x25519.h"
#include "wg/cookie.h"

static const uint64_t sec = 1000000000ull;

static void setup_pair(struct cookie_checker *checker, struct cookie_maker *maker)
{
	uint8_t priv[32], pub[32];

	x25519_generate(priv);
	x25519_base(pub, priv);
	cookie_checker_init(checker, pub);
	cookie_maker_init(maker, pub);
}

static void make_msg(struct msg_initiation *m, uint32_t sender)
{
	rand_bytes(m, sizeof(*m));
	m->header.type = MSG_INITIATION;
	memset(m->header.reserved, 0, 3);
	le32_store(m->sender_index, sender);
}

static void test_mac1(void **state)
{
	struct cookie_checker checker;
	struct cookie_maker maker, stranger;
	struct msg_initiation m;
	struct addr src;
	uint8_t other[32];

	setup_pair(&checker, &maker);
	assert_true(addr_parse(&src, "198.51.100.7:40000", NULL));
	make_msg(&m, 7);
	assert_int_equal(cookie_validate(&checker, (uint8_t *)&m, sizeof(m), &src, false, sec),
	                 COOKIE_MAC_INVALID);
	cookie_add_macs(&maker, (uint8_t *)&m, sizeof(m), sec);
	assert_int_equal(cookie_validate(&checker, (uint8_t *)&m, sizeof(m), &src, false, sec),
	                 COOKIE_MAC_VALID_NO_COOKIE);
	/* No cookie held: mac2 is zero and fails a cookie check. */
	assert_int_equal(cookie_validate(&checker, (uint8_t *)&m, sizeof(m), &src, true, sec),
	                 COOKIE_MAC_VALID_NO_COOKIE);
	/* mac1 for another responder's key is invalid here. */
	rand_bytes(other, 32);
	cookie_maker_init(&stranger, other);
	cookie_add_macs(&stranger, (uint8_t *)&m, sizeof(m), sec);
	assert_int_equal(cookie_validate(&checker, (uint8_t *)&m, sizeof(m), &src, false, sec),
	                 COOKIE_MAC_INVALID);
}

static void test_cookie_round_trip(void **state)
{
	struct cookie_checker checker;
	struct cookie_maker maker;
	struct msg_initiation m;
	struct msg_cookie_reply reply, forged;
	struct addr src, other_src;

	setup_pair(&checker, &maker);
	assert_true(addr_parse(&src, "198.51.100.7:40000", NULL));
	assert_true(addr_parse(&other_src, "198.51.100.7:40001", NULL));
	make_msg(&m, 0xabcdef01);
	cookie_add_macs(&maker, (uint8_t *)&m, sizeof(m), sec);
	/* Under load, the responder answers with a cookie reply to the sender index. */
	cookie_create_reply(&checker, &reply, (uint8_t *)&m, sizeof(m), &src, sec);
	assert_int_equal(reply.header.type, MSG_COOKIE_REPLY);
	assert_int_equal(le32_load(reply.receiver_index), 0xabcdef01);
	forged = reply;
	forged.encrypted_cookie[3] ^= 1;
	assert_false(cookie_consume_reply(&maker, &forged, sec));
	assert_true(cookie_consume_reply(&maker, &reply, sec));
	/* A reply is good once: the maker wants a reply to its latest mac1. */
	assert_false(cookie_consume_reply(&maker, &reply, sec));

	/* The retry carries mac2, valid from the same source address and port only. */
	make_msg(&m, 0xabcdef02);
	cookie_add_macs(&maker, (uint8_t *)&m, sizeof(m), 2 * sec);
	assert_int_equal(cookie_validate(&checker, (uint8_t *)&m, sizeof(m), &src, true, 2 * sec),
	                 COOKIE_MAC_VALID_WITH_COOKIE);
	assert_int_equal(
	    cookie_validate(&checker, (uint8_t *)&m, sizeof(m), &other_src, true, 2 * sec),
	    COOKIE_MAC_VALID_NO_COOKIE);

	/* The maker stops using a cookie after 115 s; the checker's secret rotates at 120 s. */
	make_msg(&m, 3);
	cookie_add_macs(&maker, (uint8_t *)&m, sizeof(m), 117 * sec);
	assert_memory_equal(m.macs.mac2, (uint8_t[16]){ 0 }, 16);
	make_msg(&m, 4);
	cookie_add_macs(&maker, (uint8_t *)&m, sizeof(m), 100 * sec);
	assert_int_equal(cookie_validate(&checker, (uint8_t *)&m, sizeof(m), &src, true, 125 * sec),
	                 COOKIE_MAC_VALID_NO_COOKIE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mac1),
		cmocka_unit_test(test_cookie_round_trip),
	};

	if (!rand_init())
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
