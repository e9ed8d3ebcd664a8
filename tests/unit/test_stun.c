/* test_stun.c - the STUN codec: RFC 5769 vectors, round trips, malformed input. */
#include "test.h"

#include <arpa/inet.h>
#include <string.h>

#include "crypto/rand.h"
#include "nat/stun.h"
#include "util/addr.h"
#include "util/err.h"

/* RFC 5769 2.1: sample request (SOFTWARE, PRIORITY, ICE-CONTROLLED, USERNAME, MI, FINGERPRINT). */
static const uint8_t rfc5769_request[] = {
	0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
	0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e,
	0x20, 0x74, 0x65, 0x73, 0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x00, 0x24,
	0x00, 0x04, 0x6e, 0x00, 0x01, 0xff, 0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1,
	0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09, 0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68,
	0x36, 0x76, 0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14, 0x9a, 0xea, 0xa7, 0x0c,
	0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49, 0xc1, 0xb5,
	0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf,
};

/* RFC 5769 2.2: sample IPv4 response, 192.0.2.1:32853. */
static const uint8_t rfc5769_response4[] = {
	0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
	0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74,
	0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x08, 0x00, 0x01,
	0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43, 0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99,
	0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9, 0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b,
	0xe7, 0xd7, 0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96,
};

/* RFC 5769 2.3: sample IPv6 response, [2001:db8:1234:5678:11:2233:4455:6677]:32853. */
static const uint8_t rfc5769_response6[] = {
	0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
	0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74,
	0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x14, 0x00, 0x02,
	0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa, 0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5,
	0xbe, 0xd2, 0xb9, 0xd9, 0x00, 0x08, 0x00, 0x14, 0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6,
	0x7b, 0xf1, 0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75, 0xbf, 0xe3, 0xed, 0x41,
	0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c,
};

static struct addr parse(const char *s)
{
	struct addr a;
	errmsg err;

	assert_true(addr_parse(&a, s, err));
	return a;
}

static void assert_addr(const struct addr *a, const char *want)
{
	char buf[ADDR_STRLEN];

	assert_string_equal(addr_format(a, buf), want);
}

static void test_rfc5769_request(void **state)
{
	struct stun_msg m;

	assert_true(stun_is(rfc5769_request, sizeof(rfc5769_request)));
	assert_int_equal(stun_consume(&m, rfc5769_request, sizeof(rfc5769_request), false),
	                 STUN_OK);
	assert_int_equal(m.type, STUN_BINDING_REQUEST);
	assert_int_equal(stun_type_class(m.type), STUN_CLASS_REQUEST);
	assert_int_equal(stun_type_method(m.type), 1);
	assert_false(m.classic);
	assert_true(m.has & STUN_HAS_FINGERPRINT);
	assert_true(m.has & STUN_HAS_INTEGRITY);
	assert_true(m.has & STUN_HAS_SOFTWARE);
	assert_int_equal(m.software_len, 16);
	assert_memory_equal(m.software, "STUN test client", 16);
	/* PRIORITY (0x0024) is comprehension-required and unknown to a STUN-only agent;
	 * ICE-CONTROLLED (0x8029) is optional and silently skipped. */
	assert_int_equal(m.n_unknown, 1);
	assert_int_equal(m.unknown[0], 0x0024);
	assert_memory_equal(m.txid + 4, rfc5769_request + 8, 12);
}

static void test_rfc5769_responses(void **state)
{
	struct stun_msg m;

	assert_int_equal(stun_consume(&m, rfc5769_response4, sizeof(rfc5769_response4), false),
	                 STUN_OK);
	assert_int_equal(m.type, STUN_BINDING_SUCCESS);
	assert_int_equal(stun_type_class(m.type), STUN_CLASS_SUCCESS);
	assert_true(m.has & STUN_HAS_XOR_MAPPED);
	assert_addr(&m.xor_mapped, "192.0.2.1:32853");
	assert_int_equal(m.software_len, 11);
	assert_memory_equal(m.software, "test vector", 11);
	assert_int_equal(m.n_unknown, 0);

	assert_int_equal(stun_consume(&m, rfc5769_response6, sizeof(rfc5769_response6), false),
	                 STUN_OK);
	assert_addr(&m.xor_mapped, "[2001:db8:1234:5678:11:2233:4455:6677]:32853");
}

/* Our encoder writes XOR-MAPPED-ADDRESS exactly as the vectors do. */
static void test_encode_vectors(void **state)
{
	uint8_t buf[STUN_MAX_LEN];
	struct stun_writer w;
	struct addr a4 = parse("192.0.2.1:32853");
	struct addr a6 = parse("[2001:db8:1234:5678:11:2233:4455:6677]:32853");
	size_t n;

	stun_writer_init(&w, buf, sizeof(buf), STUN_BINDING_SUCCESS, rfc5769_response4 + 4);
	stun_put_addr(&w, STUN_ATTR_XOR_MAPPED_ADDRESS, &a4);
	stun_put_addr(&w, STUN_ATTR_XOR_MAPPED_ADDRESS, &a6);
	n = stun_writer_finish(&w, false);
	assert_int_equal(n, 20 + 12 + 24);
	assert_memory_equal(buf + 20, rfc5769_response4 + 36, 12);
	assert_memory_equal(buf + 32, rfc5769_response6 + 36, 24);
	assert_int_equal(buf[2] << 8 | buf[3], 36);
}

static void test_round_trip(void **state)
{
	uint8_t buf[STUN_MAX_LEN], txid[STUN_TXID_LEN];
	struct addr mapped = parse("203.0.113.7:40000"), origin = parse("198.51.100.1:3478");
	struct addr other = parse("[2001:db8::2]:3479");
	static const uint16_t unknown[] = { 0x0024, 0x7777, 0x0003 };
	struct stun_writer w;
	struct stun_msg m;
	size_t n;

	stun_txid_new(txid);
	stun_writer_init(&w, buf, sizeof(buf), STUN_BINDING_ERROR, txid);
	stun_put_addr(&w, STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped);
	stun_put_addr(&w, STUN_ATTR_MAPPED_ADDRESS, &mapped);
	stun_put_addr(&w, STUN_ATTR_RESPONSE_ORIGIN, &origin);
	stun_put_addr(&w, STUN_ATTR_OTHER_ADDRESS, &other);
	stun_put_error(&w, 420, "Unknown Attribute");
	stun_put_unknown_attributes(&w, unknown, 3);
	stun_put_bytes(&w, STUN_ATTR_SOFTWARE, "LANrage", 7);
	n = stun_writer_finish(&w, true);
	assert_true(n > 0 && n % 4 == 0);
	assert_true(stun_is(buf, n));

	assert_int_equal(stun_consume(&m, buf, n, false), STUN_OK);
	assert_int_equal(m.type, STUN_BINDING_ERROR);
	assert_int_equal(stun_type_class(m.type), STUN_CLASS_ERROR);
	assert_memory_equal(m.txid, txid, STUN_TXID_LEN);
	assert_addr(&m.xor_mapped, "203.0.113.7:40000");
	assert_addr(&m.mapped, "203.0.113.7:40000");
	assert_addr(&m.origin, "198.51.100.1:3478");
	assert_addr(&m.other, "[2001:db8::2]:3479");
	assert_int_equal(m.error_code, 420);
	assert_int_equal(m.error_reason_len, 17);
	assert_memory_equal(m.error_reason, "Unknown Attribute", 17);
	assert_int_equal(m.n_unknown_listed, 3);
	assert_int_equal(m.unknown_listed[1], 0x7777);
	assert_int_equal(m.software_len, 7);
	assert_true(m.has & STUN_HAS_FINGERPRINT);

	/* A Binding request with CHANGE-REQUEST. */
	n = stun_create_binding_request(buf, sizeof(buf), txid, STUN_CHANGE_IP | STUN_CHANGE_PORT);
	assert_int_equal(n, 20 + 8 + 8);
	assert_int_equal(stun_consume(&m, buf, n, false), STUN_OK);
	assert_int_equal(m.type, STUN_BINDING_REQUEST);
	assert_true(m.has & STUN_HAS_CHANGE);
	assert_int_equal(m.change, STUN_CHANGE_IP | STUN_CHANGE_PORT);
}

static void test_overflow(void **state)
{
	uint8_t buf[STUN_MAX_LEN], txid[STUN_TXID_LEN] = { 0 };
	struct addr a = parse("[2001:db8::1]:1");
	struct stun_writer w;

	/* Each capacity short of the full message fails cleanly, never writing past it. */
	for (size_t cap = 0; cap < 20 + 24 + 8; cap++) {
		uint8_t small[64];

		memset(small, 0xAA, sizeof(small));
		stun_writer_init(&w, small, cap, STUN_BINDING_SUCCESS, txid);
		stun_put_addr(&w, STUN_ATTR_XOR_MAPPED_ADDRESS, &a);
		assert_int_equal(stun_writer_finish(&w, true), 0);
		for (size_t i = cap; i < sizeof(small); i++)
			assert_int_equal(small[i], 0xAA);
	}
	stun_writer_init(&w, buf, 20 + 24 + 8, STUN_BINDING_SUCCESS, txid);
	stun_put_addr(&w, STUN_ATTR_XOR_MAPPED_ADDRESS, &a);
	assert_int_equal(stun_writer_finish(&w, true), 52);
}

/* A message of the given attributes after a valid header, to break on purpose. */
static size_t build(uint8_t *buf, const uint8_t *attrs, size_t alen)
{
	static const uint8_t hdr[] = { 0x01, 0x01, 0, 0, 0x21, 0x12, 0xa4, 0x42, 1,  2,
		                       3,    4,    5, 6, 7,    8,    9,    10,   11, 12 };

	memcpy(buf, hdr, 20);
	memcpy(buf + 20, attrs, alen);
	buf[2] = (uint8_t)(alen >> 8);
	buf[3] = (uint8_t)alen;
	return 20 + alen;
}

static void test_malformed(void **state)
{
	static const struct {
		const char *what;
		uint8_t attrs[32];
		size_t len;
		enum stun_verdict want;
	} cases[] = {
		{ "attribute header cut", { 0x00, 0x20 }, 2, STUN_DROP_LENGTH },
		{ "value past the end",
		  { 0x00, 0x20, 0x00, 0x08, 0, 1, 0, 0 },
		  8,
		  STUN_DROP_TRUNCATED },
		{ "padding past the end",
		  { 0x80, 0x22, 0x00, 0x05, 'a', 'b', 'c', 'd' },
		  8,
		  STUN_DROP_TRUNCATED },
		{ "IPv4 address too long",
		  { 0x00, 0x20, 0x00, 0x0c, 0, 1, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8 },
		  16,
		  STUN_DROP_BAD_ATTR },
		{ "IPv6 address too short",
		  { 0x00, 0x01, 0x00, 0x08, 0, 2, 0, 0, 1, 2, 3, 4 },
		  12,
		  STUN_DROP_BAD_ATTR },
		{ "unknown family",
		  { 0x00, 0x01, 0x00, 0x08, 0, 3, 0, 0, 1, 2, 3, 4 },
		  12,
		  STUN_DROP_BAD_ATTR },
		{ "address with no body", { 0x00, 0x01, 0x00, 0x00 }, 4, STUN_DROP_BAD_ATTR },
		{ "CHANGE-REQUEST too short",
		  { 0x00, 0x03, 0x00, 0x02, 0, 0, 0, 0 },
		  8,
		  STUN_DROP_BAD_ATTR },
		{ "error class 7", { 0x00, 0x09, 0x00, 0x04, 0, 0, 7, 0 }, 8, STUN_DROP_BAD_ATTR },
		{ "error number 100",
		  { 0x00, 0x09, 0x00, 0x04, 0, 0, 4, 100 },
		  8,
		  STUN_DROP_BAD_ATTR },
		{ "odd UNKNOWN-ATTRIBUTES",
		  { 0x00, 0x0a, 0x00, 0x03, 0, 1, 0, 0 },
		  8,
		  STUN_DROP_BAD_ATTR },
		{ "MESSAGE-INTEGRITY not 20",
		  { 0x00, 0x08, 0x00, 0x04, 0, 0, 0, 0 },
		  8,
		  STUN_DROP_BAD_ATTR },
		{ "FINGERPRINT not last",
		  { 0x80, 0x28, 0x00, 0x04, 0, 0, 0, 0, 0x80, 0x22, 0x00, 0x00 },
		  12,
		  STUN_DROP_FINGERPRINT },
		{ "FINGERPRINT wrong",
		  { 0x80, 0x28, 0x00, 0x04, 0, 0, 0, 0 },
		  8,
		  STUN_DROP_FINGERPRINT },
	};
	uint8_t buf[64];
	struct stun_msg m;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t n = build(buf, cases[i].attrs, cases[i].len);

		if (cases[i].want == STUN_DROP_LENGTH) {
			/* The header claims whole words; the datagram disagrees. */
			buf[3] = 4;
		}
		print_message("case: %s\n", cases[i].what);
		assert_int_equal(stun_consume(&m, buf, n, false), cases[i].want);
	}
}

static void test_header(void **state)
{
	uint8_t buf[64], txid[STUN_TXID_LEN];
	struct stun_msg m;
	size_t n;

	stun_txid_new(txid);
	n = stun_create_binding_request(buf, sizeof(buf), txid, 0);
	assert_int_equal(n, 28);
	/* Every truncation is refused. */
	for (size_t len = 0; len < n; len++)
		assert_int_not_equal(stun_consume(&m, buf, len, true), STUN_OK);
	/* Trailing garbage: the length field no longer matches. */
	buf[n] = 0;
	assert_int_equal(stun_consume(&m, buf, n + 4, false), STUN_DROP_LENGTH);
	/* Top bits set: not STUN (WireGuard, probes and relay frames never are). */
	buf[0] |= 0x40;
	assert_false(stun_is(buf, n));
	assert_int_equal(stun_consume(&m, buf, n, true), STUN_DROP_NOT_STUN);
	buf[0] &= 0x3F;
	/* Without the cookie only a classic-aware caller accepts it. */
	buf[4] ^= 1;
	assert_false(stun_is(buf, n));
	assert_int_equal(stun_consume(&m, buf, n, false), STUN_DROP_NOT_STUN);
	/* The FINGERPRINT covers the cookie, so it must go too for a classic message. */
	n = build(buf, txid, 0);
	buf[4] ^= 1;
	assert_int_equal(stun_consume(&m, buf, n, true), STUN_OK);
	assert_true(m.classic);
	/* A WireGuard handshake initiation is never STUN. */
	memset(buf, 0, sizeof(buf));
	buf[0] = 1;
	assert_false(stun_is(buf, sizeof(buf)));
}

static void test_first_instance_wins(void **state)
{
	static const uint8_t
	    attrs
	        [] = {
		        0x00, 0x01, 0x00, 0x08, 0, 1, 0x00, 0x50, 192, 0, 2, 1, /* MAPPED
		                                                                   192.0.2.1:80 */
		        0x00, 0x01, 0x00, 0x08, 0, 1, 0x00, 0x51, 192, 0, 2, 2, /* MAPPED
		                                                                   192.0.2.2:81 */
		        0x00, 0x08, 0x00, 0x14, 0, 0, 0,    0,    0,   0, 0, 0,    0,
		        0,    0,    0,    0,    0, 0, 0,    0,    0,   0, 0, 0x00, 0x03,
		        0x00, 0x04, 0,    0,    0, 6, /* after MESSAGE-INTEGRITY: ignored */
	        };
	uint8_t buf[128];
	struct stun_msg m;

	assert_int_equal(stun_consume(&m, buf, build(buf, attrs, sizeof(attrs)), false), STUN_OK);
	assert_addr(&m.mapped, "192.0.2.1:80");
	assert_false(m.has & STUN_HAS_CHANGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc5769_request), cmocka_unit_test(test_rfc5769_responses),
		cmocka_unit_test(test_encode_vectors),  cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_overflow),        cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_header),          cmocka_unit_test(test_first_instance_wins),
	};

	if (!rand_init())
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
