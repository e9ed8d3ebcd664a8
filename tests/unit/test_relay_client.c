/* test_relay_client.c - the member's relay sessions: binds, acks, RTT, loss, errors, tokens. */
#include "test.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crypto/rand.h"
#include "nat/relay_client.h"
#include "nat/relay_token.h"
#include "util/err.h"
#include "util/now.h"

#define MS  ((uint64_t)NS_PER_MS)
#define SEC ((uint64_t)NS_PER_SEC)

enum { MAX_SENT = 64 };

static const int64_t WALL0 = 1700000000000;

/* What the client sent, in order. */
static struct sent {
	struct addr to;
	uint8_t buf[128];
	size_t len;
} sent[MAX_SENT];
static size_t n_sent;

/* What it reported. */
static struct relay_event events[32];
static struct addr event_observed[32];
static size_t n_events;

static int capture(void *ctx, const struct endpoint *to, const uint8_t *buf, size_t len)
{
	assert_true(n_sent < MAX_SENT && len <= sizeof(sent[0].buf));
	/* Control frames go to the relay itself, never through a relay. */
	assert_false(endpoint_is_relayed(to));
	sent[n_sent].to = to->addr;
	memcpy(sent[n_sent].buf, buf, len);
	sent[n_sent++].len = len;
	return 0;
}

static void on_event(void *ctx, const struct relay_event *ev)
{
	assert_true(n_events < 32);
	events[n_events] = *ev;
	if (ev->observed)
		event_observed[n_events] = *ev->observed;
	n_events++;
}

struct fixture {
	struct relay_client c;
	struct addr relay, relay2, me;
	uint8_t token_key[MAC_KEY_LEN];
	uint8_t token[RELAY_TOKEN_LEN], key[MAC_KEY_LEN];
};

static void make_token(struct fixture *f, uint32_t expiry, uint8_t token[RELAY_TOKEN_LEN],
                       uint8_t key[MAC_KEY_LEN])
{
	struct relay_token_info info;

	assert_true(relay_token_info_set(&info, expiry, "30470dcd2fe2a03b", "HEN3-G1R2-37JD-VJ6R"));
	relay_token_create(token, f->token_key, &info);
	relay_session_key(key, f->token_key, token);
}

static int setup(void **state)
{
	static struct fixture f;
	struct send_ops ops = { .send = capture };
	errmsg err;

	memset(&f, 0, sizeof(f));
	n_sent = n_events = 0;
	assert_true(addr_parse(&f.relay, "198.51.100.50:51820", err));
	assert_true(addr_parse(&f.relay2, "[2001:db8::50]:51820", err));
	assert_true(addr_parse(&f.me, "203.0.113.9:40001", err));
	assert_true(relay_token_key(f.token_key, "the operator's relay secret", 27, err));
	make_token(&f, 2000000000u, f.token, f.key);
	assert_int_equal(relay_client_init(&f.c, 4, NULL, &ops, on_event, NULL), 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	relay_client_clear(&f->c);
	return 0;
}

/* The relay's side of the last bind sent: its timestamp (checked against the key). */
static uint64_t last_bind_ts(const uint8_t key[MAC_KEY_LEN])
{
	uint64_t ts;

	assert_true(n_sent > 0);
	assert_int_equal(sent[n_sent - 1].len, RELAY_BIND_LEN);
	assert_int_equal(relay_consume_bind(sent[n_sent - 1].buf, RELAY_BIND_LEN, key, &ts),
	                 RELAY_OK);
	return ts;
}

static enum relay_verdict ack(struct fixture *f, const struct addr *from, uint64_t ts,
                              const uint8_t key[MAC_KEY_LEN], uint64_t now)
{
	uint8_t buf[RELAY_ACK_LEN];

	relay_create_bind_ack(buf, ts, &f->me, key);
	return relay_client_input(&f->c, buf, sizeof(buf), from, now, WALL0);
}

static enum relay_verdict error(struct fixture *f, const struct addr *from, uint8_t code,
                                uint32_t tag, uint64_t now)
{
	uint8_t buf[RELAY_ERROR_LEN];

	relay_create_error(buf, code, tag);
	return relay_client_input(&f->c, buf, sizeof(buf), from, now, WALL0 + (int64_t)(now / MS));
}

static void test_bind_rtt_rebind(void **state)
{
	struct fixture *f = *state;
	const struct relay_link *l;
	uint64_t next, ts;
	int idx;

	idx = relay_client_add(&f->c, &f->relay, 0);
	assert_int_equal(idx, 0);
	assert_int_equal(relay_client_add(&f->c, &f->relay, 0), 0);
	/* No token yet: nothing to say to anyone. */
	assert_true(relay_client_timer(&f->c, 0, WALL0) == UINT64_MAX);
	assert_int_equal(n_sent, 0);
	assert_int_equal(relay_client_link(&f->c, 0)->state, RELAY_LINK_IDLE);

	assert_false(relay_client_set_token(&f->c, f->token, RELAY_TOKEN_LEN - 1, f->key, 0));
	assert_true(relay_client_set_token(&f->c, f->token, RELAY_TOKEN_LEN, f->key, 0));
	next = relay_client_timer(&f->c, 0, WALL0);
	assert_int_equal(n_sent, 1);
	assert_true(addr_equal(&sent[0].to, &f->relay));
	ts = last_bind_ts(f->key);
	assert_true(ts == (uint64_t)WALL0);
	assert_true(next == 1 * SEC); /* the retransmission, unless acked */

	/* The ack 10 ms later: bound, RTT measured, our address learnt. */
	assert_int_equal(ack(f, &f->relay, ts, f->key, 10 * MS), RELAY_OK);
	assert_int_equal(n_events, 1);
	assert_int_equal(events[0].type, RELAY_EV_BOUND);
	assert_true(events[0].first);
	assert_true(events[0].rtt_ns == 10 * MS);
	assert_true(addr_equal(&event_observed[0], &f->me));
	l = relay_client_link(&f->c, 0);
	assert_int_equal(l->state, RELAY_LINK_BOUND);
	/* The same ack again is not news. */
	assert_int_equal(ack(f, &f->relay, ts, f->key, 11 * MS), RELAY_DROP_UNEXPECTED);

	/* Nothing until the re-bind 20 s after the ack. */
	assert_true(relay_client_timer(&f->c, 5 * SEC, WALL0 + 5000) == 20 * SEC + 10 * MS);
	assert_int_equal(n_sent, 1);
	relay_client_timer(&f->c, 20 * SEC + 10 * MS, WALL0 + 20010);
	assert_int_equal(n_sent, 2);
	ts = last_bind_ts(f->key);
	assert_int_equal(ack(f, &f->relay, ts, f->key, 20 * SEC + 40 * MS), RELAY_OK);
	/* Smoothed: 7/8 of 10 ms + 1/8 of 30 ms. */
	assert_true(l->srtt_ns == (7 * 10 * MS + 30 * MS) / 8);
	assert_true(l->last_rtt_ns == 30 * MS);
	assert_false(events[1].first);
}

static void test_retransmit_then_lost(void **state)
{
	struct fixture *f = *state;
	uint64_t ts;

	assert_true(relay_client_set_token(&f->c, f->token, RELAY_TOKEN_LEN, f->key, 0));
	assert_int_equal(relay_client_add(&f->c, &f->relay, 0), 0);
	/* Three binds a second apart, then lost at 3 s. */
	for (int s = 0; s < 3; s++) {
		assert_true(relay_client_timer(&f->c, (uint64_t)s * SEC, WALL0 + s * 1000) ==
		            (uint64_t)(s + 1) * SEC);
		assert_int_equal(n_sent, (size_t)s + 1);
		assert_int_equal(n_events, 0);
	}
	assert_true(relay_client_timer(&f->c, 3 * SEC, WALL0 + 3000) == 23 * SEC);
	assert_int_equal(n_events, 1);
	assert_int_equal(events[0].type, RELAY_EV_LOST);
	assert_int_equal(relay_client_link(&f->c, 0)->state, RELAY_LINK_LOST);
	/* While lost it is still bound now and then; the first ack brings it back. */
	assert_int_equal(n_sent, 4);
	relay_client_timer(&f->c, 10 * SEC, WALL0 + 10000);
	assert_int_equal(n_sent, 4);
	relay_client_timer(&f->c, 23 * SEC, WALL0 + 23000);
	assert_int_equal(n_sent, 5);
	ts = last_bind_ts(f->key);
	assert_int_equal(ack(f, &f->relay, ts, f->key, 23 * SEC + 5 * MS), RELAY_OK);
	assert_int_equal(n_events, 2);
	assert_int_equal(events[1].type, RELAY_EV_BOUND);
	assert_true(events[1].first);
	assert_int_equal(n_events, 2); /* lost was reported once */
}

static void test_timestamps_increase(void **state)
{
	struct fixture *f = *state;
	uint64_t prev = 0;

	assert_true(relay_client_set_token(&f->c, f->token, RELAY_TOKEN_LEN, f->key, 0));
	assert_int_equal(relay_client_add(&f->c, &f->relay, 0), 0);
	assert_int_equal(relay_client_add(&f->c, &f->relay2, 0), 1);
	/* The wall clock steps back: the binds' timestamps still grow. */
	for (int i = 0; i < 6; i++) {
		size_t before = n_sent;

		relay_client_timer(&f->c, (uint64_t)i * SEC, WALL0 - i * 5000);
		assert_int_equal(n_sent, before + 2);
		for (size_t k = before; k < n_sent; k++) {
			uint64_t ts;

			assert_int_equal(relay_consume_bind(sent[k].buf, sent[k].len, f->key, &ts),
			                 RELAY_OK);
			assert_true(ts > prev);
			prev = ts;
		}
		if (i == 2)
			break; /* the fourth round would be the lost one */
	}
}

static void test_errors_are_hints(void **state)
{
	struct fixture *f = *state;
	struct addr stranger;
	uint64_t ts;
	errmsg err;

	assert_true(addr_parse(&stranger, "198.51.100.66:51820", err));
	assert_true(relay_client_set_token(&f->c, f->token, RELAY_TOKEN_LEN, f->key, 0));
	assert_int_equal(relay_client_add(&f->c, &f->relay, 0), 0);
	relay_client_timer(&f->c, 0, WALL0);
	ts = last_bind_ts(f->key);
	assert_int_equal(ack(f, &f->relay, ts, f->key, 1 * MS), RELAY_OK);
	n_events = 0;

	/* From someone who is not our relay: ignored. */
	assert_int_equal(error(f, &stranger, RELAY_ERR_NOT_BOUND, 0, 2 * MS),
	                 RELAY_DROP_UNEXPECTED);
	assert_int_equal(n_sent, 1);
	/* `refused' with no bind outstanding: not an answer to anything. */
	assert_int_equal(error(f, &f->relay, RELAY_ERR_REFUSED, 0, 3 * MS), RELAY_DROP_UNEXPECTED);
	assert_int_equal(n_events, 0);
	assert_int_equal(relay_client_link(&f->c, 0)->state, RELAY_LINK_BOUND);
	/* `not here' names the tag. */
	assert_int_equal(error(f, &f->relay, RELAY_ERR_NOT_HERE, 0xabcdef01, 4 * MS), RELAY_OK);
	assert_int_equal(n_events, 1);
	assert_int_equal(events[0].type, RELAY_EV_NOT_HERE);
	assert_int_equal(events[0].tag, 0xabcdef01);
	/* Unknown codes are dropped. */
	assert_int_equal(error(f, &f->relay, 99, 0, 5 * MS), RELAY_DROP_UNEXPECTED);

	/* `not bound' (the relay restarted, or our NAT moved): a bind at once, at most 1/s. */
	assert_int_equal(error(f, &f->relay, RELAY_ERR_NOT_BOUND, 0, 10 * MS), RELAY_OK);
	assert_int_equal(n_sent, 2);
	assert_int_equal(relay_client_link(&f->c, 0)->state, RELAY_LINK_BINDING);
	assert_int_equal(error(f, &f->relay, RELAY_ERR_NOT_BOUND, 0, 500 * MS), RELAY_DROP_RATE);
	assert_int_equal(n_sent, 2);
	/* Now a bind is outstanding: `full' is an answer to it. */
	assert_int_equal(error(f, &f->relay, RELAY_ERR_FULL, 0, 600 * MS), RELAY_OK);
	assert_int_equal(events[1].type, RELAY_EV_REFUSED);
	assert_int_equal(events[1].code, RELAY_ERR_FULL);
	assert_int_equal(error(f, &f->relay, RELAY_ERR_NOT_BOUND, 0, 1010 * MS), RELAY_OK);
	assert_int_equal(n_sent, 3);
	/* Malformed errors. */
	{
		uint8_t buf[RELAY_ERROR_LEN + 1] = { RELAY_ERROR, RELAY_ERR_NOT_BOUND };

		assert_int_equal(
		    relay_client_input(&f->c, buf, sizeof(buf), &f->relay, 2 * SEC, WALL0),
		    RELAY_DROP_MALFORMED);
		buf[0] = RELAY_BIND;
		assert_int_equal(relay_client_input(&f->c, buf, 8, &f->relay, 2 * SEC, WALL0),
		                 RELAY_DROP_TYPE);
		buf[0] = RELAY_DATA;
		assert_int_equal(relay_client_input(&f->c, buf, 8, &f->relay, 2 * SEC, WALL0),
		                 RELAY_DROP_TYPE);
		assert_true(f->c.dropped[RELAY_DROP_TYPE] == 2);
	}
}

static void test_ack_checks(void **state)
{
	struct fixture *f = *state;
	uint8_t wrong[MAC_KEY_LEN];
	uint64_t ts;

	rand_bytes(wrong, sizeof(wrong));
	assert_true(relay_client_set_token(&f->c, f->token, RELAY_TOKEN_LEN, f->key, 0));
	assert_int_equal(relay_client_add(&f->c, &f->relay, 0), 0);
	assert_int_equal(relay_client_add(&f->c, &f->relay2, 0), 1);
	relay_client_timer(&f->c, 0, WALL0);
	ts = last_bind_ts(f->key); /* the bind to relay2 */
	assert_int_equal(ack(f, &f->relay2, ts, wrong, 1 * MS), RELAY_DROP_MAC);
	/* relay2's bind answered by relay 1: relay 1 never had that timestamp. */
	assert_int_equal(ack(f, &f->relay, ts, f->key, 1 * MS), RELAY_DROP_UNEXPECTED);
	assert_int_equal(ack(f, &f->relay2, ts + 1000, f->key, 1 * MS), RELAY_DROP_UNEXPECTED);
	assert_int_equal(n_events, 0);
	assert_int_equal(ack(f, &f->relay2, ts, f->key, 1 * MS), RELAY_OK);
	assert_int_equal(events[0].relay, 1);
	assert_int_equal(relay_client_link(&f->c, 0)->state, RELAY_LINK_BINDING);
}

static void test_token_replacement_and_unbind(void **state)
{
	struct fixture *f = *state;
	uint8_t token2[RELAY_TOKEN_LEN], key2[MAC_KEY_LEN];
	const uint8_t *tok;
	uint64_t old_ts, ts;

	assert_true(relay_client_set_token(&f->c, f->token, RELAY_TOKEN_LEN, f->key, 0));
	assert_int_equal(relay_client_add(&f->c, &f->relay, 0), 0);
	relay_client_timer(&f->c, 0, WALL0);
	old_ts = last_bind_ts(f->key);

	/* A fresh token before the old expires: every relay is bound with it at once. */
	make_token(f, 2000003600u, token2, key2);
	assert_true(relay_client_set_token(&f->c, token2, RELAY_TOKEN_LEN, key2, 100 * MS));
	relay_client_timer(&f->c, 100 * MS, WALL0 + 100);
	assert_int_equal(n_sent, 2);
	ts = last_bind_ts(key2);
	assert_int_equal(relay_peek_bind(sent[1].buf, sent[1].len, &tok), RELAY_OK);
	assert_memory_equal(tok, token2, RELAY_TOKEN_LEN);
	/* The old bind's ack, made with the old key, still counts. */
	assert_int_equal(ack(f, &f->relay, old_ts, f->key, 150 * MS), RELAY_OK);
	assert_int_equal(n_events, 1);

	/* Unbind: a 28-byte frame under the current key, and the relay is forgotten. */
	relay_client_remove(&f->c, 0, true, WALL0 + 200);
	assert_int_equal(n_sent, 3);
	assert_int_equal(sent[2].len, RELAY_UNBIND_LEN);
	{
		uint64_t uts;

		assert_int_equal(relay_consume_unbind(sent[2].buf, RELAY_UNBIND_LEN, key2, &uts),
		                 RELAY_OK);
		assert_true(uts > ts);
	}
	assert_null(relay_client_link(&f->c, 0));
	assert_int_equal(ack(f, &f->relay, ts, key2, 300 * MS), RELAY_DROP_UNEXPECTED);
	assert_true(relay_client_timer(&f->c, 10 * SEC, WALL0 + 10000) == UINT64_MAX);
	/* The slot is reused. */
	assert_int_equal(relay_client_add(&f->c, &f->relay2, 11 * SEC), 0);
}

static void test_capacity(void **state)
{
	struct fixture *f = *state;
	struct addr a;
	char text[64];
	errmsg err;

	for (int i = 0; i < 4; i++) {
		snprintf(text, sizeof(text), "198.51.100.%d:1", i + 1);
		assert_true(addr_parse(&a, text, err));
		assert_int_equal(relay_client_add(&f->c, &a, 0), i);
	}
	assert_int_equal(relay_client_add(&f->c, &f->relay, 0), -ENOSPC);
	assert_int_equal(relay_client_find(&f->c, &a), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bind_rtt_rebind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retransmit_then_lost, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timestamps_increase, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors_are_hints, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ack_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_replacement_and_unbind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capacity, setup, teardown),
	};

	if (!rand_init())
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
