/* test_stun_server.c - the STUN server core: CHANGE-REQUEST sockets, 420, 3489 clients, rate limit.
 */
#include "test.h"

#include <stdio.h>
#include <string.h>

#include "crypto/rand.h"
#include "nat/stun.h"
#include "nat/stun_server.h"
#include "util/err.h"
#include "util/now.h"

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

static struct stun_server *make_server(bool alternate)
{
	static struct stun_server s;
	struct stun_server_config cfg = { .software = "LANrage test" };
	errmsg err;

	cfg.primary = parse("198.51.100.1:3478");
	if (alternate)
		cfg.alternate = parse("198.51.100.2:3479");
	else
		addr_clear(&cfg.alternate);
	assert_true(stun_server_init(&s, &cfg, err));
	return &s;
}

/* Sends a request in on sock and decodes the answer; returns the verdict. */
static enum stun_server_verdict ask(struct stun_server *s, unsigned sock, const char *from,
                                    uint32_t change, uint64_t now, struct stun_msg *m,
                                    unsigned *out_sock, uint8_t *resp)
{
	uint8_t req[64], txid[STUN_TXID_LEN];
	struct addr src = parse(from);
	enum stun_server_verdict v;
	size_t n, out_len;

	stun_txid_new(txid);
	n = stun_create_binding_request(req, sizeof(req), txid, change);
	assert_true(n > 0);
	v = stun_server_handle(s, sock, &src, req, n, now, resp, STUN_MAX_LEN, &out_len, out_sock);
	if (v == STUN_SERVER_REPLY) {
		assert_int_equal(stun_consume(m, resp, out_len, false), STUN_OK);
		assert_memory_equal(m->txid, txid, STUN_TXID_LEN);
		assert_true(m->has & STUN_HAS_FINGERPRINT);
	}
	return v;
}

static void test_config(void **state)
{
	struct stun_server_config cfg = { 0 };
	static struct stun_server s;
	errmsg err;

	addr_clear(&cfg.primary);
	addr_clear(&cfg.alternate);
	assert_false(stun_server_init(&s, &cfg, err));
	cfg.primary = parse("0.0.0.0:3478");
	assert_true(stun_server_init(&s, &cfg, err));
	assert_false(stun_server_rfc5780(&s));
	/* An alternate needs a specific primary, another IP and another port. */
	cfg.alternate = parse("198.51.100.2:3479");
	assert_false(stun_server_init(&s, &cfg, err));
	assert_non_null(strstr(err, "198.51.100.2:3479"));
	cfg.primary = parse("198.51.100.1:3479");
	assert_false(stun_server_init(&s, &cfg, err));
	cfg.primary = parse("198.51.100.2:3478");
	assert_false(stun_server_init(&s, &cfg, err));
	cfg.primary = parse("[2001:db8::1]:3478");
	assert_false(stun_server_init(&s, &cfg, err));
	cfg.primary = parse("198.51.100.1:3478");
	assert_true(stun_server_init(&s, &cfg, err));
	assert_true(stun_server_rfc5780(&s));
	assert_addr(&s.local[STUN_SOCK_ALT_PORT], "198.51.100.1:3479");
	assert_addr(&s.local[STUN_SOCK_ALT_IP], "198.51.100.2:3478");
	assert_addr(&s.local[STUN_SOCK_ALT_BOTH], "198.51.100.2:3479");
}

static void test_change_request(void **state)
{
	static const struct {
		unsigned in;
		uint32_t change;
		unsigned out;
		const char *origin, *other;
	} cases[] = {
		{ 0, 0, 0, "198.51.100.1:3478", "198.51.100.2:3479" },
		{ 0, STUN_CHANGE_IP, 2, "198.51.100.2:3478", "198.51.100.2:3479" },
		{ 0, STUN_CHANGE_PORT, 1, "198.51.100.1:3479", "198.51.100.2:3479" },
		{ 0, STUN_CHANGE_IP | STUN_CHANGE_PORT, 3, "198.51.100.2:3479",
		  "198.51.100.2:3479" },
		/* Requests to the alternates: OTHER-ADDRESS is relative to where they came in. */
		{ 2, 0, 2, "198.51.100.2:3478", "198.51.100.1:3479" },
		{ 3, 0, 3, "198.51.100.2:3479", "198.51.100.1:3478" },
		{ 3, STUN_CHANGE_IP, 1, "198.51.100.1:3479", "198.51.100.1:3478" },
	};
	struct stun_server *s = make_server(true);
	uint8_t resp[STUN_MAX_LEN];
	struct stun_msg m;
	unsigned out;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_int_equal(
		    ask(s, cases[i].in, "203.0.113.9:40000", cases[i].change, 0, &m, &out, resp),
		    STUN_SERVER_REPLY);
		assert_int_equal(m.type, STUN_BINDING_SUCCESS);
		assert_int_equal(out, cases[i].out);
		assert_addr(&m.xor_mapped, "203.0.113.9:40000");
		assert_addr(&m.mapped, "203.0.113.9:40000");
		assert_addr(&m.origin, cases[i].origin);
		assert_addr(&m.other, cases[i].other);
		assert_int_equal(m.software_len, 12);
	}
}

static void test_no_alternate(void **state)
{
	struct stun_server *s = make_server(false);
	uint8_t resp[STUN_MAX_LEN];
	struct stun_msg m;
	unsigned out;

	/* A plain binding works, without OTHER-ADDRESS. */
	assert_int_equal(ask(s, 0, "203.0.113.9:1", 0, 0, &m, &out, resp), STUN_SERVER_REPLY);
	assert_int_equal(m.type, STUN_BINDING_SUCCESS);
	assert_false(m.has & STUN_HAS_OTHER);
	assert_addr(&m.origin, "198.51.100.1:3478");
	/* Any change asked for: 420 naming CHANGE-REQUEST (RFC 5780 6.1). */
	assert_int_equal(ask(s, 0, "203.0.113.9:1", STUN_CHANGE_PORT, 0, &m, &out, resp),
	                 STUN_SERVER_REPLY);
	assert_int_equal(m.type, STUN_BINDING_ERROR);
	assert_int_equal(m.error_code, 420);
	assert_int_equal(m.n_unknown_listed, 1);
	assert_int_equal(m.unknown_listed[0], STUN_ATTR_CHANGE_REQUEST);
	assert_int_equal(out, 0);
	assert_false(m.has & STUN_HAS_OTHER);
}

static void test_classic_request(void **state)
{
	/* RFC 3489: 128-bit transaction id, no cookie; CHANGE-REQUEST change IP. */
	uint8_t req[] = { 0x00, 0x01, 0x00, 0x08, 0x01, 0xa0, 0x09, 0x42, 0x8e, 0x19,
		          0x36, 0x78, 0xc8, 0x96, 0xed, 0x2e, 0xa8, 0xa1, 0xa1, 0x3d,
		          0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x00, 0x04 };
	struct stun_server *s = make_server(true);
	struct addr from = parse("203.0.113.2:31044");
	uint8_t resp[STUN_MAX_LEN];
	struct stun_msg m;
	size_t len;
	unsigned out;

	assert_int_equal(
	    stun_server_handle(s, 0, &from, req, sizeof(req), 0, resp, sizeof(resp), &len, &out),
	    STUN_SERVER_REPLY);
	assert_int_equal(out, STUN_SOCK_ALT_IP);
	assert_int_equal(stun_consume(&m, resp, len, true), STUN_OK);
	assert_true(m.classic);
	assert_memory_equal(m.txid, req + 4, STUN_TXID_LEN);
	/* What an RFC 3489 client reads; no XOR-MAPPED-ADDRESS, no FINGERPRINT. */
	assert_addr(&m.mapped, "203.0.113.2:31044");
	assert_addr(&m.source, "198.51.100.2:3478");
	assert_addr(&m.changed, "198.51.100.2:3479");
	assert_false(m.has & (STUN_HAS_XOR_MAPPED | STUN_HAS_FINGERPRINT | STUN_HAS_OTHER));
}

static void test_errors_and_ignored(void **state)
{
	struct stun_server *s = make_server(true);
	struct addr from = parse("203.0.113.2:5");
	uint8_t buf[64], resp[STUN_MAX_LEN], txid[STUN_TXID_LEN];
	struct stun_writer w;
	struct stun_msg m;
	size_t n, len;
	unsigned out;

	/* An unknown comprehension-required attribute: 420 listing it. */
	stun_txid_new(txid);
	stun_writer_init(&w, buf, sizeof(buf), STUN_BINDING_REQUEST, txid);
	stun_put_u32(&w, 0x0024, 1);
	stun_put_u32(&w, 0x8029, 1); /* optional: ignored */
	n = stun_writer_finish(&w, true);
	assert_int_equal(stun_server_handle(s, 0, &from, buf, n, 0, resp, sizeof(resp), &len, &out),
	                 STUN_SERVER_REPLY);
	assert_int_equal(stun_consume(&m, resp, len, false), STUN_OK);
	assert_int_equal(m.type, STUN_BINDING_ERROR);
	assert_int_equal(m.error_code, 420);
	assert_int_equal(m.n_unknown_listed, 1);
	assert_int_equal(m.unknown_listed[0], 0x0024);

	/* Another method (a TURN Allocate, 0x0003): 400, with the method's error type. */
	stun_writer_init(&w, buf, sizeof(buf), 0x0003, txid);
	n = stun_writer_finish(&w, true);
	assert_int_equal(stun_server_handle(s, 0, &from, buf, n, 0, resp, sizeof(resp), &len, &out),
	                 STUN_SERVER_REPLY);
	assert_int_equal(stun_consume(&m, resp, len, false), STUN_OK);
	assert_int_equal(m.type, 0x0113);
	assert_int_equal(m.error_code, 400);

	/* Indications and responses: no answer. */
	stun_writer_init(&w, buf, sizeof(buf), STUN_BINDING_INDICATION, txid);
	n = stun_writer_finish(&w, true);
	assert_int_equal(stun_server_handle(s, 0, &from, buf, n, 0, resp, sizeof(resp), &len, &out),
	                 STUN_SERVER_DROP_NOT_REQUEST);
	stun_writer_init(&w, buf, sizeof(buf), STUN_BINDING_SUCCESS, txid);
	n = stun_writer_finish(&w, true);
	assert_int_equal(stun_server_handle(s, 0, &from, buf, n, 0, resp, sizeof(resp), &len, &out),
	                 STUN_SERVER_DROP_NOT_REQUEST);

	/* Garbage is dropped and counted by reason. */
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(
	    stun_server_handle(s, 0, &from, buf, 40, 0, resp, sizeof(resp), &len, &out),
	    STUN_SERVER_DROP_MALFORMED);
	assert_int_equal(s->stats.malformed[STUN_DROP_NOT_STUN], 1);
	assert_int_equal(len, 0);
}

static void test_rate_limit(void **state)
{
	struct stun_server *s = make_server(true);
	uint8_t resp[STUN_MAX_LEN];
	struct stun_msg m;
	unsigned out;
	uint64_t now = 1000 * (uint64_t)NS_PER_SEC;
	int answered = 0;

	/* A burst from one address (any port) is cut at STUN_RATE_BURST... */
	for (int i = 0; i < 2 * STUN_RATE_BURST; i++) {
		char from[32];

		snprintf(from, sizeof(from), "203.0.113.50:%d", 1000 + i);
		answered += ask(s, 0, from, 0, now, &m, &out, resp) == STUN_SERVER_REPLY;
	}
	assert_int_equal(answered, STUN_RATE_BURST);
	assert_int_equal(s->stats.ratelimited, STUN_RATE_BURST);
	/* ...while another address is served... */
	assert_int_equal(ask(s, 0, "203.0.113.51:1", 0, now, &m, &out, resp), STUN_SERVER_REPLY);
	/* ...and the first one gets STUN_RATE_PER_SEC more a second later. */
	now += NS_PER_SEC;
	answered = 0;
	for (int i = 0; i < 2 * STUN_RATE_PER_SEC; i++)
		answered +=
		    ask(s, 0, "203.0.113.50:1", 0, now, &m, &out, resp) == STUN_SERVER_REPLY;
	assert_int_equal(answered, STUN_RATE_PER_SEC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_change_request),
		cmocka_unit_test(test_no_alternate),
		cmocka_unit_test(test_classic_request),
		cmocka_unit_test(test_errors_and_ignored),
		cmocka_unit_test(test_rate_limit),
	};

	if (!rand_init())
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
