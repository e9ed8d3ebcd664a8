/* test_relay_frame.c - relay frames and tokens: byte layouts and keys against known answers. */
#include "test.h"

#include <stdio.h>
#include <string.h>

#include "crypto/rand.h"
#include "nat/relay_frame.h"
#include "nat/relay_token.h"
#include "util/err.h"

/*
 * Known answers computed with Python's hashlib.blake2b (an implementation
 * independent of libsodium) from docs/PROTOCOL.md's formulas:
 *   secret "correct horse battery staple", token version 1, expiry
 *   2000000000, peer 30470dcd2fe2a03b, party HEN3-G1R2-37JD-VJ6R; a bind
 *   at 1700000000123 ms, its ack observing 203.0.113.7:40000, an unbind
 *   at 1700000000124 ms.
 */
static const char secret[] = "correct horse battery staple\r\n \n";
static const char kat_token_key[] =
    "a004b271d9544f03373f26020dcd6f67fd957ff81db23b4b719e5a8efc0a51bb";
static const char kat_token[] = "017735940030470dcd2fe2a03b48454e334731523233374a44564a3652"
                                "1f8cd7db6662b7abf8824bcc76f97fd8";
static const char kat_session[] =
    "52324887499b63c8c155bbb756eae7d1f9681941e460d31854787f218350ff5d";
static const char kat_bind[] =
    "e1012d017735940030470dcd2fe2a03b48454e334731523233374a44564a36521f8cd7db6662b7abf8824bcc"
    "76f97fd80000018bcfe5687bec48408f742b9cc8f693c98a476e60ac";
static const char kat_ack[] = "e20100000000018bcfe5687b00000000000000000000ffffcb0071079c400000"
                              "96686a902ad9a040051fca2f5a988e58";
static const char kat_unbind[] = "e40100000000018bcfe5687cf9fc8161a289fb824dd220a4a5bdd680";

static size_t unhex(uint8_t *out, size_t cap, const char *hex)
{
	size_t n = strlen(hex) / 2;

	assert_true(n <= cap);
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

static void kat_keys(uint8_t token_key[MAC_KEY_LEN], uint8_t token[RELAY_TOKEN_LEN],
                     uint8_t session[MAC_KEY_LEN])
{
	struct relay_token_info info;
	uint8_t want[MAC_KEY_LEN];
	errmsg err;

	/* Trailing spaces, CRs and LFs are not part of the secret. */
	assert_true(relay_token_key(token_key, secret, strlen(secret), err));
	unhex(want, sizeof(want), kat_token_key);
	assert_memory_equal(token_key, want, MAC_KEY_LEN);
	assert_true(
	    relay_token_info_set(&info, 2000000000u, "30470dcd2fe2a03b", "HEN3-G1R2-37JD-VJ6R"));
	relay_token_create(token, token_key, &info);
	{
		uint8_t want_token[RELAY_TOKEN_LEN];

		assert_int_equal(unhex(want_token, sizeof(want_token), kat_token), RELAY_TOKEN_LEN);
		assert_memory_equal(token, want_token, RELAY_TOKEN_LEN);
	}
	relay_session_key(session, token_key, token);
	unhex(want, sizeof(want), kat_session);
	assert_memory_equal(session, want, MAC_KEY_LEN);
}

static void test_known_answers(void **state)
{
	uint8_t tk[MAC_KEY_LEN], token[RELAY_TOKEN_LEN], sk[MAC_KEY_LEN];
	uint8_t buf[RELAY_BIND_LEN], want[RELAY_BIND_LEN];
	struct addr obs, got;
	uint64_t ts;
	errmsg err;

	kat_keys(tk, token, sk);
	relay_create_bind(buf, token, 1700000000123ull, sk);
	assert_int_equal(unhex(want, sizeof(want), kat_bind), RELAY_BIND_LEN);
	assert_memory_equal(buf, want, RELAY_BIND_LEN);
	assert_int_equal(relay_consume_bind(want, RELAY_BIND_LEN, sk, &ts), RELAY_OK);
	assert_true(ts == 1700000000123ull);

	assert_true(addr_parse(&obs, "203.0.113.7:40000", err));
	relay_create_bind_ack(buf, 1700000000123ull, &obs, sk);
	assert_int_equal(unhex(want, sizeof(want), kat_ack), RELAY_ACK_LEN);
	assert_memory_equal(buf, want, RELAY_ACK_LEN);
	assert_int_equal(relay_consume_bind_ack(want, RELAY_ACK_LEN, sk, &ts, &got), RELAY_OK);
	assert_true(addr_equal(&got, &obs));

	relay_create_unbind(buf, 1700000000124ull, sk);
	assert_int_equal(unhex(want, sizeof(want), kat_unbind), RELAY_UNBIND_LEN);
	assert_memory_equal(buf, want, RELAY_UNBIND_LEN);
	assert_int_equal(relay_consume_unbind(want, RELAY_UNBIND_LEN, sk, &ts), RELAY_OK);
	assert_true(ts == 1700000000124ull);
}

static void test_layouts(void **state)
{
	uint8_t hdr[RELAY_DATA_HDR_LEN], err_frame[RELAY_ERROR_LEN], pkt[64] = { 0 };
	uint8_t code;
	uint32_t tag;

	/* The names the data plane relies on. */
	assert_int_equal(RELAY_DATA, 0xE0);
	assert_int_equal(RELAY_DATA_HDR_LEN, 5);
	assert_int_equal(RELAY_BIND_LEN, 72);
	relay_create_data_header(hdr, 0x30470dcd);
	assert_memory_equal(hdr, "\xE0\x30\x47\x0d\xcd", 5);
	relay_create_error(err_frame, RELAY_ERR_NOT_HERE, 0x01020304);
	assert_memory_equal(err_frame, "\xE3\x02\x00\x00\x01\x02\x03\x04", 8);
	assert_int_equal(relay_consume_error(err_frame, 8, &code, &tag), RELAY_OK);
	assert_int_equal(code, RELAY_ERR_NOT_HERE);
	assert_int_equal(tag, 0x01020304);
	assert_int_equal(relay_consume_error(err_frame, 7, &code, &tag), RELAY_DROP_MALFORMED);
	err_frame[3] = 1;
	assert_int_equal(relay_consume_error(err_frame, 8, &code, &tag), RELAY_DROP_VERSION);

	/* Data: 8 to 65000 bytes of payload behind the header. */
	memcpy(pkt, hdr, sizeof(hdr));
	assert_int_equal(relay_check_data(pkt, 5 + 7), RELAY_DROP_MALFORMED);
	assert_int_equal(relay_check_data(pkt, 5 + 8), RELAY_OK);
	assert_int_equal(relay_check_data(pkt, 5 + 65001), RELAY_DROP_MALFORMED);
	assert_int_equal(relay_data_tag(pkt), 0x30470dcd);
	relay_data_set_tag(pkt, 0xdeadbeef);
	assert_int_equal(relay_data_tag(pkt), 0xdeadbeef);
	assert_true(relay_is(pkt, 1));
	pkt[0] = 0xDF;
	assert_false(relay_is(pkt, 1));
	assert_int_equal(relay_check_data(pkt, 13), RELAY_DROP_TYPE);
	pkt[0] = 0xF0;
	assert_false(relay_is(pkt, 1));
	assert_false(relay_is(pkt, 0));

	/* Tags are the peer id's first 4 bytes. */
	assert_true(relay_tag_from_peer_id("30470dcd2fe2a03b", &tag));
	assert_int_equal(tag, 0x30470dcd);
	assert_false(relay_tag_from_peer_id("30470dcd2fe2a03", &tag));
	assert_false(relay_tag_from_peer_id("30470dcd2fe2a03x", &tag));
	assert_false(relay_tag_from_peer_id("30470dcd2fe2a03b0", &tag));
	assert_string_equal(relay_error_name(RELAY_ERR_TAG_TAKEN), "tag taken");
	assert_string_equal(relay_verdict_label(RELAY_DROP_NOT_HERE), "not_here");
	assert_string_equal(relay_verdict_name(RELAY_VERDICT_COUNT), "?");
}

static void test_token_rules(void **state)
{
	uint8_t tk[MAC_KEY_LEN], other[MAC_KEY_LEN], token[RELAY_TOKEN_LEN];
	uint8_t sk[MAC_KEY_LEN];
	struct relay_token_info info;
	errmsg err;

	kat_keys(tk, token, sk);
	assert_int_equal(relay_token_verify(token, RELAY_TOKEN_LEN, tk, 1999999999, &info),
	                 RELAY_OK);
	assert_int_equal(info.expiry, 2000000000u);
	assert_string_equal(info.party, "HEN3G1R237JDVJ6R");
	assert_memory_equal(info.peer_id, "\x30\x47\x0d\xcd\x2f\xe2\xa0\x3b", 8);
	/* Expired at its expiry second. */
	assert_int_equal(relay_token_verify(token, RELAY_TOKEN_LEN, tk, 2000000000, &info),
	                 RELAY_DROP_EXPIRED);
	/* Another operator's secret: a bad token. */
	assert_true(relay_token_key(other, "another secret of 16+", 21, err));
	assert_int_equal(relay_token_verify(token, RELAY_TOKEN_LEN, other, 0, &info),
	                 RELAY_DROP_BAD_TOKEN);
	/* Any flipped bit (a longer expiry, another peer or party) breaks the MAC. */
	for (size_t bit = 0; bit < RELAY_TOKEN_LEN * 8; bit++) {
		token[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(relay_token_verify(token, RELAY_TOKEN_LEN, tk, 0, &info),
		                 RELAY_DROP_BAD_TOKEN);
		token[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	assert_int_equal(relay_token_verify(token, RELAY_TOKEN_LEN - 1, tk, 0, &info),
	                 RELAY_DROP_BAD_TOKEN);

	/* Secrets: at least 16 characters once trimmed. */
	assert_false(relay_token_key(other, "fifteen chars..\n\n", 17, err));
	assert_non_null(strstr(err, "16"));
	assert_true(relay_token_key(other, "sixteen chars...", 16, err));
	assert_int_equal(relay_secret_trim("abc \r\n", 6), 3);
	assert_int_equal(relay_secret_trim("  abc", 5), 5);

	/* Party ids: canonical symbols only, dashes optional. */
	assert_true(relay_token_info_set(&info, 1, "30470dcd2fe2a03b", "HEN3G1R237JDVJ6R"));
	assert_false(relay_token_info_set(&info, 1, "30470dcd2fe2a03b", "hen3-g1r2-37jd-vj6r"));
	assert_false(relay_token_info_set(&info, 1, "30470dcd2fe2a03b", "HEN3-G1R2-37JD-VJ6"));
	assert_false(relay_token_info_set(&info, 1, "30470dcd2fe2a03b", "HEN3-G1R2-37JD-VJ6RX"));
	assert_false(relay_token_info_set(&info, 1, "30470dcd2fe2a03b", "HEN3-G1R2-37JD-VJ6O"));
	assert_false(relay_token_info_set(&info, 1, "not-a-peer-id!!!", "HEN3-G1R2-37JD-VJ6R"));
}

static void test_frames_refused(void **state)
{
	uint8_t tk[MAC_KEY_LEN], token[RELAY_TOKEN_LEN], sk[MAC_KEY_LEN], other[MAC_KEY_LEN];
	uint8_t bind[RELAY_BIND_LEN + 1], ack[RELAY_ACK_LEN], unbind[RELAY_UNBIND_LEN];
	const uint8_t *tok;
	struct addr obs;
	uint64_t ts;
	errmsg err;

	kat_keys(tk, token, sk);
	rand_bytes(other, sizeof(other));
	relay_create_bind(bind, token, 42, sk);
	assert_int_equal(relay_peek_bind(bind, RELAY_BIND_LEN, &tok), RELAY_OK);
	assert_ptr_equal(tok, bind + 3);
	/* The length must match T; then version and T itself. */
	assert_int_equal(relay_peek_bind(bind, RELAY_BIND_LEN - 1, &tok), RELAY_DROP_MALFORMED);
	assert_int_equal(relay_peek_bind(bind, RELAY_BIND_LEN + 1, &tok), RELAY_DROP_MALFORMED);
	assert_null(tok);
	assert_int_equal(relay_peek_bind(bind, 2, &tok), RELAY_DROP_MALFORMED);
	bind[1] = 2;
	assert_int_equal(relay_peek_bind(bind, RELAY_BIND_LEN, &tok), RELAY_DROP_VERSION);
	bind[1] = 1;
	bind[2] = 46;
	assert_int_equal(relay_peek_bind(bind, RELAY_BIND_LEN + 1, &tok), RELAY_DROP_VERSION);
	bind[2] = 45;
	/* Every bit of the bind is under its MAC (or in the checks before it). */
	for (size_t bit = 0; bit < RELAY_BIND_LEN * 8; bit++) {
		bind[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_not_equal(relay_consume_bind(bind, RELAY_BIND_LEN, sk, &ts), RELAY_OK);
		bind[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	assert_int_equal(relay_consume_bind(bind, RELAY_BIND_LEN, other, &ts), RELAY_DROP_MAC);

	assert_true(addr_parse(&obs, "[2001:db8::7]:1", err));
	relay_create_bind_ack(ack, 42, &obs, sk);
	for (size_t bit = 0; bit < RELAY_ACK_LEN * 8; bit++) {
		ack[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_not_equal(relay_consume_bind_ack(ack, RELAY_ACK_LEN, sk, &ts, &obs),
		                     RELAY_OK);
		ack[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	assert_int_equal(relay_consume_bind_ack(ack, RELAY_ACK_LEN, sk, &ts, &obs), RELAY_OK);
	assert_int_equal(relay_consume_bind_ack(ack, RELAY_ACK_LEN - 1, sk, &ts, &obs),
	                 RELAY_DROP_MALFORMED);
	/* An ack observing no address is refused even with a good MAC. */
	addr_clear(&obs);
	relay_create_bind_ack(ack, 42, &obs, sk);
	assert_int_equal(relay_consume_bind_ack(ack, RELAY_ACK_LEN, sk, &ts, &obs),
	                 RELAY_DROP_MALFORMED);

	relay_create_unbind(unbind, 43, sk);
	for (size_t bit = 0; bit < RELAY_UNBIND_LEN * 8; bit++) {
		unbind[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_not_equal(relay_consume_unbind(unbind, RELAY_UNBIND_LEN, sk, &ts),
		                     RELAY_OK);
		unbind[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	assert_int_equal(relay_peek_unbind(unbind, RELAY_UNBIND_LEN + 1), RELAY_DROP_MALFORMED);
	assert_int_equal(relay_consume_unbind(unbind, RELAY_UNBIND_LEN, other, &ts),
	                 RELAY_DROP_MAC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answers),
		cmocka_unit_test(test_layouts),
		cmocka_unit_test(test_token_rules),
		cmocka_unit_test(test_frames_refused),
	};

	if (!rand_init())
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
