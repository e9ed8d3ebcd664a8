/* test_relay_engine.c - the relay's core: binding rules, forwarding, errors, limits, expiry. */
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/rand.h"
#include "nat/relay_client.h"
#include "nat/relay_token.h"
#include "netsim.h"
#include "relay/engine.h"
#include "relay/limiter.h"
#include "relay/sessions.h"
#include "util/err.h"
#include "util/now.h"

#define MS  ((uint64_t)NS_PER_MS)
#define SEC ((uint64_t)NS_PER_SEC)

static const int64_t WALL0 = 1700000000000;
static const uint64_t T0 = 1000ull * SEC; /* monotonic start */
static const char PARTY_P[] = "HEN3-G1R2-37JD-VJ6R", PARTY_Q[] = "7KQ2-M9XD-4HTB-PW3R";

struct member {
	struct addr addr;
	uint8_t token[RELAY_TOKEN_LEN], key[MAC_KEY_LEN];
	uint32_t tag;
	uint64_t ts;
};

struct fx {
	struct engine e;
	struct blocklist block;
	uint8_t token_key[MAC_KEY_LEN];
	struct engine_out out;
	struct addr local; /* the relay's address the helpers' datagrams come to (unset: unknown) */
};

static struct fx *fx_new(size_t max_clients, uint32_t rate_pps)
{
	static struct fx f;
	struct engine_config cfg = { .max_clients = max_clients,
		                     .stale_ns = 300ull * SEC,
		                     .rate_pps = rate_pps };
	errmsg err;

	memset(&f, 0, sizeof(f));
	assert_true(relay_token_key(f.token_key, "relay secret for unit tests", 27, err));
	memcpy(cfg.token_key, f.token_key, MAC_KEY_LEN);
	assert_int_equal(engine_init(&f.e, &cfg, &f.block), 0);
	return &f;
}

static void member_init(struct fx *f, struct member *m, const char *addr, const char *peer_id,
                        const char *party, uint32_t expiry)
{
	struct relay_token_info info;
	errmsg err;

	memset(m, 0, sizeof(*m));
	assert_true(addr_parse(&m->addr, addr, err));
	assert_true(relay_token_info_set(&info, expiry, peer_id, party));
	relay_token_create(m->token, f->token_key, &info);
	relay_session_key(m->key, f->token_key, m->token);
	m->tag = relay_tag(info.peer_id);
	m->ts = (uint64_t)WALL0;
}

/* A bind from m, now (an offset from T0; the wall clock is WALL0 plus the same offset). */
static enum relay_verdict bind_at(struct fx *f, struct member *m, const struct addr *from,
                                  uint64_t ts, uint64_t now)
{
	uint8_t pkt[RELAY_BIND_LEN];

	relay_create_bind(pkt, m->token, ts, m->key);
	return engine_input(&f->e, pkt, sizeof(pkt), from, &f->local, T0 + now,
	                    WALL0 + (int64_t)(now / MS), &f->out);
}

static enum relay_verdict do_bind(struct fx *f, struct member *m, uint64_t now)
{
	uint64_t wall = (uint64_t)WALL0 + now / MS;

	/* The member's clock, strictly increasing, as the client core makes it. */
	m->ts = m->ts + 1 > wall ? m->ts + 1 : wall;
	return bind_at(f, m, &m->addr, m->ts, now);
}

static void expect_ack(struct fx *f, const struct member *m, const struct addr *from)
{
	struct addr observed;
	uint64_t ts;

	assert_int_equal(f->out.action, ENGINE_REPLY);
	assert_int_equal(f->out.reply_len, RELAY_ACK_LEN);
	assert_true(addr_equal(&f->out.to, from));
	assert_int_equal(
	    relay_consume_bind_ack(f->out.reply, RELAY_ACK_LEN, m->key, &ts, &observed), RELAY_OK);
	assert_true(ts == m->ts);
	assert_true(addr_equal(&observed, from));
}

static void expect_error(struct fx *f, uint8_t code, uint32_t tag, const struct addr *to)
{
	uint8_t got_code;
	uint32_t got_tag;

	assert_int_equal(f->out.action, ENGINE_REPLY);
	assert_int_equal(f->out.reply_len, RELAY_ERROR_LEN);
	assert_true(addr_equal(&f->out.to, to));
	assert_int_equal(relay_consume_error(f->out.reply, RELAY_ERROR_LEN, &got_code, &got_tag),
	                 RELAY_OK);
	assert_int_equal(got_code, code);
	assert_int_equal(got_tag, tag);
}

/* A data frame from `from` to tag with a recognisable payload; pkt keeps it for checks. */
static enum relay_verdict data(struct fx *f, const struct addr *from, uint32_t tag, uint8_t fill,
                               uint8_t pkt[64], uint64_t now)
{
	relay_create_data_header(pkt, tag);
	memset(pkt + RELAY_DATA_HDR_LEN, fill, 64 - RELAY_DATA_HDR_LEN);
	return engine_input(&f->e, pkt, 64, from, &f->local, T0 + now, WALL0 + (int64_t)(now / MS),
	                    &f->out);
}

static void test_bind_and_forward(void **state)
{
	struct fx *f = fx_new(10, 0);
	struct member a, b;
	uint8_t pkt[64];

	member_init(f, &a, "203.0.113.1:40000", "30470dcd2fe2a03b", PARTY_P, 2000000000u);
	member_init(f, &b, "[2001:db8::2]:40001", "71a72dbae518894a", PARTY_P, 2000000000u);
	assert_int_equal(do_bind(f, &a, 0), RELAY_OK);
	expect_ack(f, &a, &a.addr);
	assert_int_equal(do_bind(f, &b, 1 * MS), RELAY_OK);
	expect_ack(f, &b, &b.addr);
	assert_int_equal(engine_sessions(&f->e), 2);

	/* A to B: out to B's address, the tag now A's, the payload untouched. */
	assert_int_equal(data(f, &a.addr, b.tag, 0xAA, pkt, 2 * MS), RELAY_OK);
	assert_int_equal(f->out.action, ENGINE_FORWARD);
	assert_true(addr_equal(&f->out.to, &b.addr));
	assert_int_equal(relay_data_tag(pkt), a.tag);
	for (size_t i = RELAY_DATA_HDR_LEN; i < sizeof(pkt); i++)
		assert_int_equal(pkt[i], 0xAA);
	/* And back, across address families. */
	assert_int_equal(data(f, &b.addr, a.tag, 0xBB, pkt, 3 * MS), RELAY_OK);
	assert_true(addr_equal(&f->out.to, &a.addr));
	assert_int_equal(relay_data_tag(pkt), b.tag);
	/* A refresh keeps the session; a bind from the same member is no new session. */
	assert_int_equal(do_bind(f, &a, 20 * SEC), RELAY_OK);
	expect_ack(f, &a, &a.addr);
	assert_int_equal(engine_sessions(&f->e), 2);
	assert_true(f->e.stats.sessions_created == 2 && f->e.stats.binds == 3);
	engine_clear(&f->e);
}

/*
 * A relay with two addresses: A reaches it on one, B on the other.  Each
 * hears from the one it sent to: its ack, and what the other member sends
 * it; a member that moves to the other address is answered from there.
 */
static void test_source_addresses(void **state)
{
	struct fx *f = fx_new(10, 0);
	struct addr first, second;
	struct member a, b;
	uint8_t pkt[64];

	(void)state;
	assert_true(addr_parse_ip(&first, "198.51.100.1", NULL));
	assert_true(addr_parse_ip(&second, "198.51.100.2", NULL));
	member_init(f, &a, "203.0.113.1:40000", "30470dcd2fe2a03b", PARTY_P, 2000000000u);
	member_init(f, &b, "203.0.113.2:40001", "71a72dbae518894a", PARTY_P, 2000000000u);
	f->local = first;
	assert_int_equal(do_bind(f, &a, 0), RELAY_OK);
	assert_true(addr_equal_ip(&f->out.local, &first));
	f->local = second;
	assert_int_equal(do_bind(f, &b, 1 * MS), RELAY_OK);
	assert_true(addr_equal_ip(&f->out.local, &second));

	/* Forwards leave from the receiver's address, not the one they came to. */
	f->local = first;
	assert_int_equal(data(f, &a.addr, b.tag, 0xAA, pkt, 2 * MS), RELAY_OK);
	assert_true(addr_equal(&f->out.to, &b.addr) && addr_equal_ip(&f->out.local, &second));
	f->local = second;
	assert_int_equal(data(f, &b.addr, a.tag, 0xBB, pkt, 3 * MS), RELAY_OK);
	assert_true(addr_equal(&f->out.to, &a.addr) && addr_equal_ip(&f->out.local, &first));
	/* A's data now comes to the second address: B's forwards to A follow. */
	assert_int_equal(data(f, &a.addr, b.tag, 0xAA, pkt, 4 * MS), RELAY_OK);
	assert_int_equal(data(f, &b.addr, a.tag, 0xBB, pkt, 5 * MS), RELAY_OK);
	assert_true(addr_equal_ip(&f->out.local, &second));
	/* An error goes back from where the datagram came. */
	f->local = first;
	assert_int_equal(data(f, &a.addr, 0x12345678, 0xCC, pkt, 6 * MS), RELAY_DROP_NOT_HERE);
	assert_int_equal(f->out.action, ENGINE_REPLY);
	assert_true(addr_equal_ip(&f->out.local, &first));
	engine_clear(&f->e);
}

static void test_party_isolation_and_strangers(void **state)
{
	struct fx *f = fx_new(10, 0);
	struct member a, b, c;
	struct addr stranger;
	uint8_t pkt[64];
	errmsg err;

	member_init(f, &a, "203.0.113.1:40000", "30470dcd2fe2a03b", PARTY_P, 2000000000u);
	member_init(f, &b, "203.0.113.2:40000", "71a72dbae518894a", PARTY_P, 2000000000u);
	member_init(f, &c, "203.0.113.3:40000", "0123456789abcdef", PARTY_Q, 2000000000u);
	assert_int_equal(do_bind(f, &a, 0), RELAY_OK);
	assert_int_equal(do_bind(f, &b, 0), RELAY_OK);
	assert_int_equal(do_bind(f, &c, 0), RELAY_OK);

	/* Another party's member cannot reach B: not here, and told so. */
	assert_int_equal(data(f, &c.addr, b.tag, 0xCC, pkt, 1 * MS), RELAY_DROP_NOT_HERE);
	expect_error(f, RELAY_ERR_NOT_HERE, b.tag, &c.addr);
	/* Nor can B reach C. */
	assert_int_equal(data(f, &b.addr, c.tag, 0xCC, pkt, 2 * MS), RELAY_DROP_NOT_HERE);
	/* Sending to oneself is not forwarding. */
	assert_int_equal(data(f, &a.addr, a.tag, 0xCC, pkt, 3 * MS), RELAY_DROP_NOT_HERE);

	/* A stranger (no session) gets `not bound', at most once a second. */
	assert_true(addr_parse(&stranger, "198.51.100.99:5555", err));
	assert_int_equal(data(f, &stranger, b.tag, 0xDD, pkt, 10 * MS), RELAY_DROP_UNKNOWN_SOURCE);
	expect_error(f, RELAY_ERR_NOT_BOUND, 0, &stranger);
	assert_int_equal(data(f, &stranger, b.tag, 0xDD, pkt, 500 * MS), RELAY_DROP_UNKNOWN_SOURCE);
	assert_int_equal(f->out.action, ENGINE_DROP);
	assert_int_equal(data(f, &stranger, b.tag, 0xDD, pkt, 1100 * MS),
	                 RELAY_DROP_UNKNOWN_SOURCE);
	assert_int_equal(f->out.action, ENGINE_REPLY);
	/* Same source as a session's IP, another port: still a stranger. */
	addr_set_port(&stranger, 40001);
	stranger.in4.sin_addr = a.addr.in4.sin_addr;
	assert_int_equal(data(f, &stranger, b.tag, 0xDD, pkt, 1200 * MS),
	                 RELAY_DROP_UNKNOWN_SOURCE);

	assert_true(f->e.stats.dropped[RELAY_DROP_NOT_HERE] == 3);
	assert_true(f->e.stats.dropped[RELAY_DROP_UNKNOWN_SOURCE] == 4);
	assert_true(f->e.stats.errors_suppressed >= 1);
	/* Frames the relay never takes. */
	pkt[0] = RELAY_BIND_ACK;
	assert_int_equal(engine_input(&f->e, pkt, 48, &a.addr, NULL, T0, WALL0, &f->out),
	                 RELAY_DROP_TYPE);
	pkt[0] = 0xE9;
	assert_int_equal(engine_input(&f->e, pkt, 48, &a.addr, NULL, T0, WALL0, &f->out),
	                 RELAY_DROP_TYPE);
	pkt[0] = RELAY_DATA;
	assert_int_equal(engine_input(&f->e, pkt, 12, &a.addr, NULL, T0, WALL0, &f->out),
	                 RELAY_DROP_MALFORMED);
	assert_int_equal(f->out.action, ENGINE_DROP);
	engine_clear(&f->e);
}

static void test_bind_refusals(void **state)
{
	struct fx *f = fx_new(10, 0);
	struct member a, old;
	uint8_t pkt[RELAY_BIND_LEN + 1];
	uint64_t now = 0;

	member_init(f, &a, "203.0.113.1:40000", "30470dcd2fe2a03b", PARTY_P, 2000000000u);
	/* Expired an hour ago by the relay's clock. */
	member_init(f, &old, "203.0.113.5:40000", "30470dcd2fe2a03b", PARTY_P,
	            (uint32_t)(WALL0 / 1000 - 3600));
	assert_int_equal(do_bind(f, &old, now), RELAY_DROP_EXPIRED);
	expect_error(f, RELAY_ERR_REFUSED, 0, &old.addr);

	/* A forged token: one byte changed (a later expiry), the bind MACed to match. */
	{
		struct member forged = a;

		forged.token[RELAY_TOKEN_EXPIRY_OFFSET] ^= 0x01;
		relay_session_key(forged.key, f->token_key, forged.token);
		assert_int_equal(do_bind(f, &forged, now += SEC), RELAY_DROP_BAD_TOKEN);
		expect_error(f, RELAY_ERR_REFUSED, 0, &a.addr);
	}
	/* The right token, a bind MACed with another key (no session key, no bind). */
	{
		struct member thief = a;

		rand_bytes(thief.key, sizeof(thief.key));
		assert_int_equal(do_bind(f, &thief, now += SEC), RELAY_DROP_MAC);
		expect_error(f, RELAY_ERR_REFUSED, 0, &a.addr);
	}
	/* Clock: 120 s either way is fine, 121 s is not. */
	now += SEC;
	assert_int_equal(bind_at(f, &a, &a.addr, (uint64_t)WALL0 + now / MS - 121000, now),
	                 RELAY_DROP_CLOCK);
	expect_error(f, RELAY_ERR_CLOCK, 0, &a.addr);
	now += SEC;
	assert_int_equal(bind_at(f, &a, &a.addr, (uint64_t)WALL0 + now / MS + 121000, now),
	                 RELAY_DROP_CLOCK);
	now += SEC;
	a.ts = (uint64_t)WALL0 + now / MS + 120000;
	assert_int_equal(bind_at(f, &a, &a.addr, a.ts, now), RELAY_OK);
	expect_ack(f, &a, &a.addr);
	assert_int_equal(engine_sessions(&f->e), 1);

	/* Malformed and other versions: dropped without a word. */
	relay_create_bind(pkt, a.token, a.ts + 1, a.key);
	assert_int_equal(engine_input(&f->e, pkt, RELAY_BIND_LEN - 1, &old.addr, NULL,
	                              T0 + (now += SEC), WALL0, &f->out),
	                 RELAY_DROP_MALFORMED);
	assert_int_equal(f->out.action, ENGINE_DROP);
	pkt[1] = 2;
	assert_int_equal(engine_input(&f->e, pkt, RELAY_BIND_LEN, &old.addr, NULL,
	                              T0 + (now += SEC), WALL0, &f->out),
	                 RELAY_DROP_VERSION);
	assert_int_equal(f->out.action, ENGINE_DROP);
	assert_true(f->e.stats.dropped[RELAY_DROP_BAD_TOKEN] == 1 &&
	            f->e.stats.dropped[RELAY_DROP_EXPIRED] == 1 &&
	            f->e.stats.dropped[RELAY_DROP_MAC] == 1 &&
	            f->e.stats.dropped[RELAY_DROP_CLOCK] == 2);
	engine_clear(&f->e);
}

static void test_replay_and_nat_rebinding(void **state)
{
	struct fx *f = fx_new(10, 0);
	struct member a, b;
	struct addr moved;
	uint8_t pkt[64], captured[RELAY_BIND_LEN];
	errmsg err;

	member_init(f, &a, "203.0.113.1:40000", "30470dcd2fe2a03b", PARTY_P, 2000000000u);
	member_init(f, &b, "203.0.113.2:40000", "71a72dbae518894a", PARTY_P, 2000000000u);
	a.ts += 1000;
	relay_create_bind(captured, a.token, a.ts, a.key);
	assert_int_equal(
	    engine_input(&f->e, captured, sizeof(captured), &a.addr, NULL, T0, WALL0, &f->out),
	    RELAY_OK);
	assert_int_equal(do_bind(f, &b, 0), RELAY_OK);

	/* The captured bind replayed from elsewhere moves nothing, and draws no answer. */
	assert_true(addr_parse(&moved, "198.51.100.200:6666", err));
	assert_int_equal(engine_input(&f->e, captured, sizeof(captured), &moved, NULL, T0 + SEC,
	                              WALL0 + 1000, &f->out),
	                 RELAY_DROP_STALE_TS);
	assert_int_equal(f->out.action, ENGINE_DROP);
	assert_int_equal(data(f, &b.addr, a.tag, 1, pkt, 2 * SEC), RELAY_OK);
	assert_true(addr_equal(&f->out.to, &a.addr));

	/* A's NAT gives it a new port: one authenticated bind and the session follows. */
	addr_set_port(&moved, 40999);
	moved.in4.sin_addr = a.addr.in4.sin_addr;
	assert_int_equal(data(f, &moved, b.tag, 1, pkt, 3 * SEC), RELAY_DROP_UNKNOWN_SOURCE);
	expect_error(f, RELAY_ERR_NOT_BOUND, 0, &moved);
	a.ts += 1000;
	assert_int_equal(bind_at(f, &a, &moved, a.ts, 3 * SEC + MS), RELAY_OK);
	expect_ack(f, &a, &moved);
	assert_int_equal(engine_sessions(&f->e), 2);
	assert_true(f->e.stats.sessions_moved == 1);
	assert_int_equal(data(f, &moved, b.tag, 1, pkt, 4 * SEC), RELAY_OK);
	assert_int_equal(data(f, &b.addr, a.tag, 1, pkt, 4 * SEC), RELAY_OK);
	assert_true(addr_equal(&f->out.to, &moved));
	/* The old address is nobody now. */
	assert_int_equal(data(f, &a.addr, b.tag, 1, pkt, 5 * SEC), RELAY_DROP_UNKNOWN_SOURCE);

	/* B's old address taken over by another member (the NAT reused the port). */
	{
		struct member c;

		member_init(f, &c, "203.0.113.2:40000", "0123456789abcdef", PARTY_P, 2000000000u);
		assert_int_equal(do_bind(f, &c, 6 * SEC), RELAY_OK);
		assert_int_equal(engine_sessions(&f->e), 2);
		assert_true(f->e.stats.sessions_replaced == 1);
		/* B's last bind replayed from elsewhere: B's ended session stays ended. */
		assert_int_equal(bind_at(f, &b, &moved, b.ts, 6 * SEC + MS), RELAY_DROP_STALE_TS);
		assert_int_equal(engine_sessions(&f->e), 2);
		assert_int_equal(data(f, &moved, b.tag, 1, pkt, 7 * SEC), RELAY_DROP_NOT_HERE);
		assert_int_equal(data(f, &moved, c.tag, 1, pkt, 7 * SEC), RELAY_OK);
	}
	engine_clear(&f->e);
}

static void test_limits(void **state)
{
	struct fx *f = fx_new(3, 0);
	struct member a, b, c, d, e;

	member_init(f, &a, "203.0.113.1:1", "30470dcd2fe2a03b", PARTY_P, 2000000000u);
	member_init(f, &b, "203.0.113.2:1", "71a72dbae518894a", PARTY_P, 2000000000u);
	/* D's peer id starts like A's: the same tag in the same party. */
	member_init(f, &d, "203.0.113.4:1", "30470dcdffffffff", PARTY_P, 2000000000u);
	member_init(f, &c, "203.0.113.3:1", "0123456789abcdef", PARTY_Q, 2000000000u);
	member_init(f, &e, "203.0.113.5:1", "fedcba9876543210", PARTY_Q, 2000000000u);
	assert_int_equal(do_bind(f, &a, 0), RELAY_OK);
	assert_int_equal(do_bind(f, &d, 0), RELAY_DROP_TAG_TAKEN);
	expect_error(f, RELAY_ERR_TAG_TAKEN, 0, &d.addr);
	/* The same tag in another party is no collision. */
	member_init(f, &c, "203.0.113.3:1", "30470dcd2fe2a03b", PARTY_Q, 2000000000u);
	assert_int_equal(do_bind(f, &c, 0), RELAY_OK);
	assert_int_equal(do_bind(f, &b, 0), RELAY_OK);
	assert_int_equal(engine_sessions(&f->e), 3);
	/* Full: a new session is refused, a bound member still refreshes. */
	assert_int_equal(do_bind(f, &e, SEC), RELAY_DROP_FULL);
	expect_error(f, RELAY_ERR_FULL, 0, &e.addr);
	assert_int_equal(do_bind(f, &a, 2 * SEC), RELAY_OK);
	expect_ack(f, &a, &a.addr);
	engine_clear(&f->e);
}

static void test_expiry_and_unbind(void **state)
{
	struct fx *f = fx_new(10, 0);
	struct member a, b, c;
	uint8_t pkt[64], ub[RELAY_UNBIND_LEN];

	member_init(f, &a, "203.0.113.1:1", "30470dcd2fe2a03b", PARTY_P, 2000000000u);
	member_init(f, &b, "203.0.113.2:1", "71a72dbae518894a", PARTY_P, 2000000000u);
	/* C's token runs out 400 s from now. */
	member_init(f, &c, "203.0.113.3:1", "0123456789abcdef", PARTY_P,
	            (uint32_t)(WALL0 / 1000 + 400));
	assert_int_equal(do_bind(f, &a, 0), RELAY_OK);
	assert_int_equal(do_bind(f, &b, 0), RELAY_OK);
	assert_int_equal(do_bind(f, &c, 0), RELAY_OK);
	/* A sends data now and then; B and C say nothing; C binds once more. */
	for (uint64_t t = 60; t <= 280; t += 60)
		assert_int_equal(data(f, &a.addr, b.tag, 0, pkt, t * SEC), RELAY_OK);
	assert_int_equal(do_bind(f, &c, 200 * SEC), RELAY_OK);
	assert_int_equal(engine_sweep(&f->e, T0 + 299 * SEC, WALL0 + 299000), 0);
	/* 5 minutes without a bind or data: B goes; A and C stay. */
	assert_int_equal(engine_sweep(&f->e, T0 + 300 * SEC, WALL0 + 300000), 1);
	assert_true(f->e.stats.sessions_stale == 1);
	assert_int_equal(data(f, &a.addr, b.tag, 0, pkt, 301 * SEC), RELAY_DROP_NOT_HERE);
	/* C's token expires although C is fresh. */
	assert_int_equal(engine_sweep(&f->e, T0 + 399 * SEC, WALL0 + 399000), 0);
	assert_int_equal(engine_sweep(&f->e, T0 + 400 * SEC, WALL0 + 400000), 1);
	assert_true(f->e.stats.sessions_expired == 1);
	assert_int_equal(engine_sessions(&f->e), 1);

	/* Unbind: one not above the last bind does nothing, a fresh one ends the session. */
	a.ts = (uint64_t)WALL0 + 401000;
	assert_int_equal(bind_at(f, &a, &a.addr, a.ts, 401 * SEC), RELAY_OK);
	relay_create_unbind(ub, a.ts, a.key);
	assert_int_equal(engine_input(&f->e, ub, sizeof(ub), &a.addr, NULL, T0 + 401 * SEC,
	                              WALL0 + 401000, &f->out),
	                 RELAY_DROP_STALE_TS);
	relay_create_unbind(ub, a.ts + 1, b.key);
	assert_int_equal(engine_input(&f->e, ub, sizeof(ub), &a.addr, NULL, T0 + 401 * SEC,
	                              WALL0 + 401000, &f->out),
	                 RELAY_DROP_MAC);
	assert_int_equal(engine_sessions(&f->e), 1);
	relay_create_unbind(ub, a.ts + 1, a.key);
	assert_int_equal(engine_input(&f->e, ub, sizeof(ub), &a.addr, NULL, T0 + 401 * SEC,
	                              WALL0 + 401000, &f->out),
	                 RELAY_OK);
	assert_int_equal(engine_sessions(&f->e), 0);
	/* An unbind from nobody: `not bound'. */
	assert_int_equal(engine_input(&f->e, ub, sizeof(ub), &a.addr, NULL, T0 + 402 * SEC,
	                              WALL0 + 402000, &f->out),
	                 RELAY_DROP_UNKNOWN_SOURCE);
	expect_error(f, RELAY_ERR_NOT_BOUND, 0, &a.addr);
	/* A's last bind, captured and replayed within the clock window, does not bring it back. */
	{
		struct addr thief;
		errmsg err;

		assert_true(addr_parse(&thief, "198.51.100.66:6666", err));
		assert_int_equal(bind_at(f, &a, &thief, a.ts, 403 * SEC), RELAY_DROP_STALE_TS);
		assert_int_equal(f->out.action, ENGINE_DROP);
		assert_int_equal(engine_sessions(&f->e), 0);
	}
	/* A itself binds again, with a fresh timestamp. */
	assert_int_equal(do_bind(f, &a, 404 * SEC), RELAY_OK);
	assert_int_equal(engine_sessions(&f->e), 1);
	engine_clear(&f->e);
}

static void test_rate_and_block(void **state)
{
	struct fx *f = fx_new(10, 10);
	struct member a, b, x;
	uint8_t pkt[64];
	errmsg err;
	int passed = 0;

	member_init(f, &a, "203.0.113.1:1", "30470dcd2fe2a03b", PARTY_P, 2000000000u);
	member_init(f, &b, "198.51.100.2:1", "71a72dbae518894a", PARTY_P, 2000000000u);
	assert_int_equal(do_bind(f, &a, 0), RELAY_OK);
	assert_int_equal(do_bind(f, &b, 0), RELAY_OK);
	/* 10 a second with bursts of 10: the bind took one, 9 data frames pass at once. */
	for (int i = 0; i < 20; i++)
		passed += data(f, &a.addr, b.tag, 0, pkt, MS) == RELAY_OK;
	assert_int_equal(passed, 9);
	assert_true(f->e.stats.dropped[RELAY_DROP_RATE] == 11);
	/* Half a second refills five. */
	passed = 0;
	for (int i = 0; i < 20; i++)
		passed += data(f, &a.addr, b.tag, 0, pkt, 501 * MS) == RELAY_OK;
	assert_int_equal(passed, 5);
	/* Per IP: another port of the same address shares the budget; B has its own. */
	assert_int_equal(data(f, &b.addr, a.tag, 0, pkt, 502 * MS), RELAY_OK);

	/* Blocked sources: nothing gets in, and a reload ends their sessions. */
	assert_true(blocklist_add(&f->block, "203.0.113.0/24", err));
	member_init(f, &x, "203.0.113.77:1", "0123456789abcdef", PARTY_P, 2000000000u);
	assert_int_equal(do_bind(f, &x, 10 * SEC), RELAY_DROP_BLOCKED);
	assert_int_equal(f->out.action, ENGINE_DROP);
	assert_int_equal(engine_reblock(&f->e), 1);
	assert_int_equal(engine_sessions(&f->e), 1);
	assert_int_equal(data(f, &a.addr, b.tag, 0, pkt, 11 * SEC), RELAY_DROP_BLOCKED);
	assert_true(f->e.stats.sessions_blocked == 1 &&
	            f->e.stats.dropped[RELAY_DROP_BLOCKED] == 2);
	engine_clear(&f->e);
}

/* Whatever arrives, an error answer is never larger than what drew it (no amplification). */
static void test_no_amplification(void **state)
{
	struct fx *f = fx_new(4, 0);
	struct member a, b;
	uint8_t pkt[200];

	member_init(f, &a, "203.0.113.1:1", "30470dcd2fe2a03b", PARTY_P, 2000000000u);
	member_init(f, &b, "203.0.113.2:1", "71a72dbae518894a", PARTY_P, 2000000000u);
	assert_int_equal(do_bind(f, &a, 0), RELAY_OK);
	for (int i = 0; i < 20000; i++) {
		size_t len = (size_t)rand_uniform(sizeof(pkt)) + 1;
		struct addr from = i & 1 ? a.addr : b.addr;

		rand_bytes(pkt, len);
		/* Mostly relay frames, each type with its own length now and then. */
		pkt[0] = (uint8_t)(0xE0 + rand_uniform(6));
		if (i % 7 == 0)
			len = pkt[0] == RELAY_BIND ? RELAY_BIND_LEN : RELAY_UNBIND_LEN;
		if (pkt[0] == RELAY_BIND)
			pkt[2] = RELAY_TOKEN_LEN;
		addr_set_port(&from, (uint16_t)(1 + rand_uniform(3)));
		engine_input(&f->e, pkt, len, &from, NULL, T0 + (uint64_t)i * 100 * MS,
		             WALL0 + (int64_t)i * 100, &f->out);
		if (f->out.action == ENGINE_REPLY)
			assert_true(f->out.reply_len <= len);
		if (f->out.action == ENGINE_FORWARD)
			assert_true(len >= RELAY_DATA_HDR_LEN + RELAY_PAYLOAD_MIN);
	}
	engine_clear(&f->e);
}

/* The session tables against a plain array: the same answers after random operations. */
static void test_sessions_differential(void **state)
{
	enum { MAX = 64 };
	struct ref {
		bool used;
		struct addr addr;
		char party[RELAY_TOKEN_PARTY_LEN];
		uint32_t tag;
	} ref[MAX] = { 0 };
	struct sessions s;
	char parties[3][RELAY_TOKEN_PARTY_LEN + 1] = { "AAAAAAAAAAAAAAAA", "BBBBBBBBBBBBBBBB",
		                                       "CCCCCCCCCCCCCCCC" };
	uint8_t peer[RELAY_TOKEN_PEER_LEN] = { 0 };

	assert_int_equal(sessions_init(&s, MAX), 0);
	for (int op = 0; op < 100000; op++) {
		struct addr a;
		char text[40];
		const char *party = parties[rand_uniform(3)];
		uint32_t tag = rand_uniform(40);
		struct session *byaddr, *bytag;
		int ra = -1, rt = -1;

		snprintf(text, sizeof(text), "10.0.0.%u:%u", rand_uniform(8), 1 + rand_uniform(8));
		assert_true(addr_parse(&a, text, NULL));
		for (int i = 0; i < MAX; i++) {
			if (!ref[i].used)
				continue;
			if (addr_equal(&ref[i].addr, &a))
				ra = i;
			if (ref[i].tag == tag &&
			    memcmp(ref[i].party, party, RELAY_TOKEN_PARTY_LEN) == 0)
				rt = i;
		}
		byaddr = sessions_by_addr(&s, &a);
		bytag = sessions_by_tag(&s, party, tag);
		assert_true((ra < 0) == (byaddr == NULL));
		assert_true((rt < 0) == (bytag == NULL));
		if (byaddr)
			assert_int_equal(byaddr - s.pool, ra);
		if (bytag)
			assert_int_equal(bytag - s.pool, rt);
		switch (rand_uniform(3)) {
		case 0: /* add, keeping both keys unique as the engine does */
			if (ra < 0 && rt < 0) {
				bool full = sessions_count(&s) == MAX;
				struct session *x = sessions_add(&s, &a, party, peer, tag);

				assert_true((x == NULL) == full);
				if (x) {
					ref[x - s.pool] =
					    (struct ref){ .used = true, .addr = a, .tag = tag };
					memcpy(ref[x - s.pool].party, party, RELAY_TOKEN_PARTY_LEN);
				}
			}
			break;
		case 1: /* move what the tag names to this address, if free */
			if (rt >= 0 && ra < 0) {
				sessions_move(&s, bytag, &a);
				ref[rt].addr = a;
			}
			break;
		default:
			if (ra >= 0) {
				sessions_remove(&s, byaddr);
				ref[ra].used = false;
			}
			break;
		}
	}
	sessions_clear(&s);
}

static void test_limiter(void **state)
{
	struct limiter l;
	struct addr a, b;
	errmsg err;
	int n = 0;

	assert_int_equal(limiter_init(&l, 1000, 10, 4, false), 0);
	assert_true(addr_parse(&a, "203.0.113.1:1", err));
	for (int i = 0; i < 100; i++)
		n += limiter_allow(&l, &a, SEC);
	assert_int_equal(n, 10);
	/* 1000/s: 5 ms refill 5. */
	n = 0;
	for (int i = 0; i < 100; i++)
		n += limiter_allow(&l, &a, SEC + 5 * MS);
	assert_int_equal(n, 5);
	/* One set of four ways: a fifth source evicts the least recently used, never allocates. */
	for (int i = 2; i <= 5; i++) {
		char text[32];

		snprintf(text, sizeof(text), "203.0.113.%d:1", i);
		assert_true(addr_parse(&b, text, err));
		assert_true(limiter_allow(&l, &b, SEC + 6 * MS));
	}
	/* a was the oldest: evicted, it starts over with a full bucket. */
	n = 0;
	for (int i = 0; i < 100; i++)
		n += limiter_allow(&l, &a, SEC + 7 * MS);
	assert_int_equal(n, 10);
	limiter_clear(&l);

	/* IPv6: the /64 shares a bucket; with ports, every address:port has its own. */
	assert_int_equal(limiter_init(&l, 1, 1, 64, false), 0);
	assert_true(addr_parse(&a, "[2001:db8:1:2::1]:1", err));
	assert_true(addr_parse(&b, "[2001:db8:1:2::ffff]:2", err));
	assert_true(limiter_allow(&l, &a, SEC));
	assert_false(limiter_allow(&l, &b, SEC));
	limiter_clear(&l);
	assert_int_equal(limiter_init(&l, 1, 1, 64, true), 0);
	assert_true(limiter_allow(&l, &a, SEC));
	assert_true(limiter_allow(&l, &b, SEC));
	assert_false(limiter_allow(&l, &a, SEC + 500 * MS));
	assert_true(limiter_allow(&l, &a, 2 * SEC));
	limiter_clear(&l);
	/* Rate 0: no limit. */
	assert_int_equal(limiter_init(&l, 0, 0, 0, false), 0);
	for (int i = 0; i < 1000; i++)
		assert_true(limiter_allow(&l, &a, 0));
	limiter_clear(&l);
}

static void test_blocklist(void **state)
{
	static struct blocklist b;
	static const char file[] = "# abusers\n"
	                           "  198.51.100.0/25   # half of TEST-NET-2\n"
	                           "\n"
	                           "2001:db8:bad::/48\r\n"
	                           "203.0.113.9";
	struct addr a;
	errmsg err;

	memset(&b, 0, sizeof(b));
	assert_true(blocklist_parse(&b, file, sizeof(file) - 1, err));
	assert_int_equal(b.n, 3);
	assert_true(addr_parse(&a, "198.51.100.127:9", err));
	assert_true(blocklist_match(&b, &a));
	assert_true(addr_parse(&a, "198.51.100.128:9", err));
	assert_false(blocklist_match(&b, &a));
	assert_true(addr_parse(&a, "[2001:db8:bad:ffff::1]:9", err));
	assert_true(blocklist_match(&b, &a));
	assert_true(addr_parse(&a, "[2001:db8:bae::1]:9", err));
	assert_false(blocklist_match(&b, &a));
	assert_true(addr_parse(&a, "203.0.113.9:1", err));
	assert_true(blocklist_match(&b, &a));
	assert_false(blocklist_parse(&b, "10.0.0.0/8\nnonsense\n", 20, err));
	assert_non_null(strstr(err, "line 2"));
	assert_non_null(strstr(err, "nonsense"));
	assert_false(blocklist_add(&b, "10.1.0.0/8", err));
	assert_non_null(strstr(err, "host bits"));
}

/* The client core and the engine over a simulated internet, both members behind symmetric NATs. */
struct sim_member {
	struct relay_client c;
	struct sim_host *host;
	struct member m;
	uint32_t last_tag;
	uint8_t last_fill;
	unsigned got, bound_events;
};

struct sim_relay {
	struct engine *e;
	struct sim_host *host;
};

static void relay_rx(void *ctx, const struct addr *to, const struct addr *from, const uint8_t *pkt,
                     size_t len, uint64_t now_ns)
{
	struct sim_relay *r = ctx;
	uint8_t buf[SIM_MAX_PKT];
	struct engine_out out;

	memcpy(buf, pkt, len);
	engine_input(r->e, buf, len, from, NULL, now_ns, WALL0 + (int64_t)(now_ns / MS), &out);
	if (out.action == ENGINE_FORWARD)
		sim_send(r->host, &r->host->addrs[0], &out.to, buf, len);
	else if (out.action == ENGINE_REPLY)
		sim_send(r->host, &r->host->addrs[0], &out.to, out.reply, out.reply_len);
}

static void member_rx(void *ctx, const struct addr *to, const struct addr *from, const uint8_t *pkt,
                      size_t len, uint64_t now_ns)
{
	struct sim_member *sm = ctx;

	/* The data plane's part: data frames; the rest is the client core's. */
	if (len > RELAY_DATA_HDR_LEN && pkt[0] == RELAY_DATA) {
		sm->last_tag = relay_data_tag(pkt);
		sm->last_fill = pkt[RELAY_DATA_HDR_LEN];
		sm->got++;
		return;
	}
	relay_client_input(&sm->c, pkt, len, from, now_ns, WALL0 + (int64_t)(now_ns / MS));
}

static uint64_t member_timer(void *ctx, uint64_t now_ns)
{
	struct sim_member *sm = ctx;

	return relay_client_timer(&sm->c, now_ns, WALL0 + (int64_t)(now_ns / MS));
}

static void member_event(void *ctx, const struct relay_event *ev)
{
	if (ev->type == RELAY_EV_BOUND && ev->first)
		((struct sim_member *)ctx)->bound_events++;
}

static bool both_bound(void *ctx)
{
	struct sim_member *sm = ctx;

	return relay_client_link(&sm[0].c, 0)->state == RELAY_LINK_BOUND &&
	       relay_client_link(&sm[1].c, 0)->state == RELAY_LINK_BOUND;
}

static void send_data(struct sim_member *from, const struct sim_member *to, uint8_t fill,
                      const struct addr *relay)
{
	uint8_t pkt[RELAY_DATA_HDR_LEN + 32];

	relay_create_data_header(pkt, to->m.tag);
	memset(pkt + RELAY_DATA_HDR_LEN, fill, 32);
	assert_int_equal(sim_send(from->host, &from->host->addrs[0], relay, pkt, sizeof(pkt)), 0);
}

static void test_through_symmetric_nats(void **state)
{
	static struct sim s;
	static struct sim_member sm[2];
	struct fx *f = fx_new(10, 0);
	struct sim_relay r = { .e = &f->e };
	struct addr relay = sim_addr("198.51.100.50:51820");
	const char *ids[2] = { "30470dcd2fe2a03b", "71a72dbae518894a" };

	sim_init(&s, 20 * MS);
	s.now_ns = T0;
	r.host = sim_add_host(&s, "198.51.100.50:51820", NAT_MAPPING_NONE, 0, NULL);
	sim_host_set_handlers(r.host, relay_rx, NULL, &r);
	for (int i = 0; i < 2; i++) {
		char local[32], pub[32];

		memset(&sm[i], 0, sizeof(sm[i]));
		snprintf(local, sizeof(local), "10.0.%d.2:51820", i + 1);
		snprintf(pub, sizeof(pub), "203.0.113.%d", 10 + i);
		sm[i].host = sim_add_host(&s, local, NAT_MAPPING_APD, NAT_FILTERING_APD, pub);
		member_init(f, &sm[i].m, local, ids[i], PARTY_P, 2000000000u);
		assert_int_equal(
		    relay_client_init(&sm[i].c, 2, NULL, &sm[i].host->ops, member_event, &sm[i]),
		    0);
		assert_true(relay_client_set_token(&sm[i].c, sm[i].m.token, RELAY_TOKEN_LEN,
		                                   sm[i].m.key, s.now_ns));
		assert_int_equal(relay_client_add(&sm[i].c, &relay, s.now_ns), 0);
		sim_host_set_handlers(sm[i].host, member_rx, member_timer, &sm[i]);
		sim_kick(sm[i].host);
	}
	assert_true(sim_run(&s, s.now_ns + 2 * SEC, both_bound, sm));
	/* Each learnt its NAT's public address from the ack. */
	assert_true(
	    addr_equal_ip(&relay_client_link(&sm[0].c, 0)->observed, &sm[0].host->nat.public_ip));
	assert_true(relay_client_link(&sm[0].c, 0)->srtt_ns == 40 * MS);

	/* Data both ways, through the relay, with the sender's tag. */
	send_data(&sm[0], &sm[1], 0x11, &relay);
	send_data(&sm[1], &sm[0], 0x22, &relay);
	sim_run(&s, s.now_ns + 100 * MS, NULL, NULL);
	assert_int_equal(sm[1].got, 1);
	assert_int_equal(sm[1].last_tag, sm[0].m.tag);
	assert_int_equal(sm[1].last_fill, 0x11);
	assert_int_equal(sm[0].got, 1);
	assert_int_equal(sm[0].last_tag, sm[1].m.tag);

	/* Member 0's NAT forgets its mappings: its next datagram leaves from a new port. */
	sm[0].host->nat.n_map = 0;
	send_data(&sm[0], &sm[1], 0x33, &relay);
	sim_run(&s, s.now_ns + 100 * MS, NULL, NULL);
	assert_int_equal(sm[1].got, 1); /* not bound there: dropped, and told */
	/* The `not bound' drew a bind at once; the session moved; data flows again. */
	assert_true(f->e.stats.sessions_moved == 1);
	send_data(&sm[0], &sm[1], 0x44, &relay);
	send_data(&sm[1], &sm[0], 0x55, &relay);
	sim_run(&s, s.now_ns + 100 * MS, NULL, NULL);
	assert_int_equal(sm[1].got, 2);
	assert_int_equal(sm[1].last_fill, 0x44);
	assert_int_equal(sm[0].got, 2);
	assert_int_equal(sm[0].last_fill, 0x55);

	/* Keepalive binds keep both sessions past the stale timeout. */
	sim_run(&s, s.now_ns + 400 * SEC, NULL, NULL);
	engine_sweep(&f->e, s.now_ns, WALL0 + (int64_t)(s.now_ns / MS));
	assert_int_equal(engine_sessions(&f->e), 2);
	for (int i = 0; i < 2; i++)
		relay_client_clear(&sm[i].c);
	engine_clear(&f->e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bind_and_forward),
		cmocka_unit_test(test_source_addresses),
		cmocka_unit_test(test_party_isolation_and_strangers),
		cmocka_unit_test(test_bind_refusals),
		cmocka_unit_test(test_replay_and_nat_rebinding),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_expiry_and_unbind),
		cmocka_unit_test(test_rate_and_block),
		cmocka_unit_test(test_no_amplification),
		cmocka_unit_test(test_sessions_differential),
		cmocka_unit_test(test_limiter),
		cmocka_unit_test(test_blocklist),
		cmocka_unit_test(test_through_symmetric_nats),
	};

	if (!rand_init())
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
