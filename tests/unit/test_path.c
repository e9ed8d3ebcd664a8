/* test_path.c - probe messages and the path engine: punching through simulated NATs, RTT, replay.
 */
#include "test.h"

#include <string.h>

#include "crypto/key.h"
#include "crypto/rand.h"
#include "nat/probe.h"
#include "nat/relay_wire.h"
#include "nat/stun_server.h"
#include "nat/traversal.h"
#include "netsim.h"
#include "util/err.h"
#include "util/now.h"

enum { MS = NS_PER_MS, SEC = NS_PER_SEC };

static void keypair(wg_key priv, wg_key pub)
{
	key_generate_private(priv);
	key_public_from_private(pub, priv);
}

static void test_probe_codec(void **state)
{
	wg_key a_priv, a_pub, b_priv, b_pub, c_priv, c_pub, sender;
	uint8_t kab[MAC_KEY_LEN], kba[MAC_KEY_LEN], kac[MAC_KEY_LEN], buf[PROBE_LEN];
	struct probe_msg m = { .type = PROBE_PONG, .flags = PROBE_F_HAVE_PATH }, got;
	errmsg err;

	keypair(a_priv, a_pub);
	keypair(b_priv, b_pub);
	keypair(c_priv, c_pub);
	/* Both ends derive one key; another pair gets another. */
	assert_true(probe_derive_key(kab, a_priv, a_pub, b_pub));
	assert_true(probe_derive_key(kba, b_priv, b_pub, a_pub));
	assert_memory_equal(kab, kba, MAC_KEY_LEN);
	assert_true(probe_derive_key(kac, a_priv, a_pub, c_pub));
	assert_memory_not_equal(kab, kac, MAC_KEY_LEN);
	/* A low-order point as the peer's key gives no key. */
	memset(c_pub, 0, KEY_LEN);
	assert_false(probe_derive_key(kac, a_priv, a_pub, c_pub));

	memcpy(m.sender, a_pub, KEY_LEN);
	m.counter = 0x0102030405060708ull;
	m.txid = 0x1122334455667788ull;
	assert_true(addr_parse(&m.observed, "203.0.113.7:40000", err));
	probe_create(buf, &m, kab);
	assert_true(probe_is(buf, sizeof(buf)));
	assert_int_equal(buf[0], 0xD1);
	assert_int_equal(buf[36], 0x01);
	assert_int_equal(buf[51], 0x88);
	assert_int_equal(probe_peek(buf, sizeof(buf), sender), PROBE_OK);
	assert_memory_equal(sender, a_pub, KEY_LEN);
	assert_int_equal(probe_consume(&got, buf, sizeof(buf), kba), PROBE_OK);
	assert_int_equal(got.type, PROBE_PONG);
	assert_int_equal(got.flags, PROBE_F_HAVE_PATH);
	assert_true(got.counter == m.counter && got.txid == m.txid);
	assert_true(addr_equal(&got.observed, &m.observed));

	/* Every bit of the message is covered: any flip is refused. */
	for (size_t bit = 0; bit < PROBE_LEN * 8; bit++) {
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_not_equal(probe_consume(&got, buf, sizeof(buf), kab), PROBE_OK);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	/* Another pair's key: bad MAC.  Wrong sizes, types, versions: refused first. */
	assert_int_equal(probe_consume(&got, buf, sizeof(buf), kac), PROBE_DROP_MAC);
	assert_int_equal(probe_peek(buf, PROBE_LEN - 1, sender), PROBE_DROP_LENGTH);
	buf[0] = 0xD5;
	assert_int_equal(probe_peek(buf, sizeof(buf), sender), PROBE_DROP_TYPE);
	buf[0] = PROBE_PONG;
	buf[1] = 2;
	assert_int_equal(probe_peek(buf, sizeof(buf), sender), PROBE_DROP_VERSION);

	/* IPv6 observed addresses too. */
	assert_true(addr_parse(&m.observed, "[2001:db8::7]:1", err));
	probe_create(buf, &m, kab);
	assert_int_equal(probe_consume(&got, buf, sizeof(buf), kab), PROBE_OK);
	assert_true(addr_equal(&got.observed, &m.observed));
}

/* A party member on a simulated host: STUN and probes through one traversal. */
struct member {
	struct traversal trav;
	struct sim_host *host;
	wg_key priv, pub;
	int peer;
	struct discovery_report report;
	bool gathered;
	unsigned events;
};

struct server {
	struct stun_server srv;
	struct sim_host *host;
};

static void server_rx(void *ctx, const struct addr *to, const struct addr *from, const uint8_t *pkt,
                      size_t len, uint64_t now_ns)
{
	struct server *sv = ctx;
	uint8_t out[STUN_MAX_LEN];
	size_t out_len;
	unsigned out_sock;

	if (stun_server_handle(&sv->srv, 0, from, pkt, len, now_ns, out, sizeof(out), &out_len,
	                       &out_sock) == STUN_SERVER_REPLY)
		sim_send(sv->host, &sv->srv.local[0], from, out, out_len);
}

static void member_rx(void *ctx, const struct addr *to, const struct addr *from, const uint8_t *pkt,
                      size_t len, uint64_t now_ns)
{
	struct member *m = ctx;
	struct endpoint src;

	/* Answers leave from the address the datagram came to, as on a real host. */
	for (size_t i = 0; i < m->host->n_addrs; i++) {
		if (addr_equal(&m->host->addrs[i], to))
			m->host->send_from = i;
	}
	/* Through a relay: unwrapped as the data plane does, the frame header kept as the source.
	 */
	if (len > RELAY_DATA_HDR_LEN && pkt[0] == RELAY_DATA) {
		endpoint_relayed(&src, from, pkt, RELAY_DATA_HDR_LEN);
		pkt += RELAY_DATA_HDR_LEN;
		len -= RELAY_DATA_HDR_LEN;
	} else {
		endpoint_from_addr(&src, from);
	}
	traversal_input(&m->trav, pkt, len, &src, now_ns);
}

static uint64_t member_timer(void *ctx, uint64_t now_ns)
{
	return traversal_timer(&((struct member *)ctx)->trav, now_ns);
}

static void on_event(void *ctx, const struct path_peer *p)
{
	((struct member *)ctx)->events++;
}

static void on_gathered(void *ctx, const struct discovery_report *r)
{
	struct member *m = ctx;

	m->report = *r;
	m->gathered = true;
}

static void member_setup(struct sim *s, struct member *m, const char *addr,
                         enum nat_mapping mapping, enum nat_filtering filtering,
                         const char *public_ip)
{
	memset(m, 0, sizeof(*m));
	keypair(m->priv, m->pub);
	m->host = sim_add_host(s, addr, mapping, filtering, public_ip);
	assert_int_equal(
	    traversal_init(&m->trav, &m->host->ops, m->priv, 4, 1000, NULL, on_event, m), 0);
	sim_host_set_handlers(m->host, member_rx, member_timer, m);
}

static bool both_gathered(void *ctx)
{
	struct member *m = ctx;

	return m[0].gathered && m[1].gathered;
}

static bool both_direct(void *ctx)
{
	struct member *m = ctx;

	return path_current(&m[0].trav.paths, (size_t)m[0].peer) &&
	       path_current(&m[1].trav.paths, (size_t)m[1].peer);
}

/* Gathers candidates (local + STUN-mapped), swaps them, and probes. */
static void connect_pair(struct sim *s, struct member *m)
{
	struct discovery_config cfg;
	struct addr srv = sim_addr("198.51.100.1:3478");

	for (int i = 0; i < 2; i++) {
		discovery_config_init(&cfg, &srv);
		cfg.binding_only = true;
		assert_int_equal(
		    traversal_discover(&m[i].trav, &cfg, s->now_ns, on_gathered, &m[i]), 0);
		sim_kick(m[i].host);
	}
	assert_true(sim_run(s, s->now_ns + 5ull * SEC, both_gathered, m));
	for (int i = 0; i < 2; i++) {
		struct member *peer = &m[1 - i];
		struct endpoint cands[2];
		enum cand_kind kinds[2] = { CAND_LOCAL, CAND_REFLEXIVE };

		endpoint_from_addr(&cands[0], &peer->host->addrs[0]);
		endpoint_from_addr(&cands[1], &peer->report.mapped);

		m[i].peer = path_add_peer(&m[i].trav.paths, peer->pub, s->now_ns);
		assert_true(m[i].peer >= 0);
		path_set_candidates(&m[i].trav.paths, (size_t)m[i].peer, cands, kinds, 2,
		                    s->now_ns);
		sim_kick(m[i].host);
	}
}

static void server_setup(struct sim *s, struct server *sv)
{
	struct stun_server_config cfg = { 0 };

	cfg.primary = sim_addr("198.51.100.1:3478");
	addr_clear(&cfg.alternate);
	assert_true(stun_server_init(&sv->srv, &cfg, NULL));
	sv->host = sim_add_host(s, "198.51.100.1:3478", NAT_MAPPING_NONE, 0, NULL);
	sim_host_set_handlers(sv->host, server_rx, NULL, sv);
}

static const struct nat_kind {
	const char *name;
	enum nat_mapping mapping;
	enum nat_filtering filtering;
} kinds[] = {
	{ "open", NAT_MAPPING_NONE, NAT_FILTERING_EI },
	{ "full cone", NAT_MAPPING_EI, NAT_FILTERING_EI },
	{ "restricted cone", NAT_MAPPING_EI, NAT_FILTERING_AD },
	{ "port-restricted cone", NAT_MAPPING_EI, NAT_FILTERING_APD },
	{ "symmetric", NAT_MAPPING_APD, NAT_FILTERING_APD },
};

/* The 5 x 5 matrix over simulated NATs: 22 direct, and the 3 that cannot be. */
static void test_punch_matrix(void **state)
{
	int direct = 0;

	for (size_t a = 0; a < ARRAY_SIZE(kinds); a++) {
		for (size_t b = 0; b < ARRAY_SIZE(kinds); b++) {
			static struct sim s;
			static struct server sv;
			static struct member m[2];
			bool sym_a = kinds[a].mapping == NAT_MAPPING_APD;
			bool sym_b = kinds[b].mapping == NAT_MAPPING_APD;
			bool apdf_a = kinds[a].filtering == NAT_FILTERING_APD;
			bool apdf_b = kinds[b].filtering == NAT_FILTERING_APD;
			/* Only APD filtering facing APD mapping defeats punching. */
			bool want = !((sym_a && apdf_b) || (sym_b && apdf_a));
			bool got;

			sim_init(&s, 10 * MS);
			server_setup(&s, &sv);
			member_setup(&s, &m[0],
			             kinds[a].mapping ? "10.0.1.2:41641" : "192.0.2.10:41641",
			             kinds[a].mapping, kinds[a].filtering, "203.0.113.1");
			member_setup(&s, &m[1],
			             kinds[b].mapping ? "10.0.2.2:41641" : "192.0.2.20:41641",
			             kinds[b].mapping, kinds[b].filtering, "203.0.113.2");
			connect_pair(&s, m);
			got = sim_run(&s, s.now_ns + 8ull * SEC, both_direct, m);
			print_message("%-20s x %-20s: %s\n", kinds[a].name, kinds[b].name,
			              got ? "direct" : "none");
			assert_int_equal(got, want);
			direct += got;
			if (got) {
				/* Direct within a few search rounds, on the peer's public side. */
				const struct path_peer *p = &m[0].trav.paths.peers[m[0].peer];

				assert_true(p->first_pong_ns - p->started_ns < 1ull * SEC);
				assert_true(m[0].events >= 1);
			}
			traversal_clear(&m[0].trav);
			traversal_clear(&m[1].trav);
		}
	}
	assert_int_equal(direct, 22);
}

/* Two paths: the faster wins; a faster one appearing later replaces it; losing it falls back. */
static void test_best_path(void **state)
{
	static struct sim s;
	static struct server sv;
	static struct member m[2];
	struct path_table *t;
	const struct path_candidate *cur;
	struct addr slow, fast;
	enum cand_kind kinds2[2] = { CAND_REFLEXIVE, CAND_LOCAL };
	char buf[ADDR_STRLEN];

	sim_init(&s, 10 * MS);
	server_setup(&s, &sv);
	member_setup(&s, &m[0], "192.0.2.10:41641", NAT_MAPPING_NONE, 0, NULL);
	member_setup(&s, &m[1], "192.0.2.20:41641", NAT_MAPPING_NONE, 0, NULL);
	sim_host_add_addr(m[1].host, "192.0.2.21:41641");
	slow = m[1].host->addrs[0];
	fast = m[1].host->addrs[1];
	s.slow_to = slow;
	s.slow_ns = 30 * MS;
	connect_pair(&s, m);
	t = &m[0].trav.paths;
	/* Only the slow address is known yet: it becomes the path. */
	assert_true(sim_run(&s, s.now_ns + 2ull * SEC, both_direct, m));
	cur = path_current(t, (size_t)m[0].peer);
	assert_string_equal(addr_format(&cur->ep.addr, buf), "192.0.2.20:41641");
	assert_true(cur->srtt_ns >= 50ull * MS);
	/* A faster candidate turns up: it is pinged at once and replaces the path. */
	{
		struct endpoint cands[2];

		endpoint_from_addr(&cands[0], &slow);
		endpoint_from_addr(&cands[1], &fast);
		path_set_candidates(t, (size_t)m[0].peer, cands, kinds2, 2, s.now_ns);
		sim_kick(m[0].host);
	}
	sim_run(&s, s.now_ns + 1ull * SEC, NULL, NULL);
	cur = path_current(t, (size_t)m[0].peer);
	assert_string_equal(addr_format(&cur->ep.addr, buf), "192.0.2.21:41641");
	assert_true(cur->srtt_ns < 30ull * MS);
	/* RTT keeps being measured on the current path. */
	{
		uint32_t pongs = cur->pongs;

		sim_run(&s, s.now_ns + 12ull * SEC, NULL, NULL);
		assert_true(cur->pongs >= pongs + 2);
	}
	/* The fast address dies: after the misses, the slow one (still answering) takes over. */
	m[1].host->n_addrs = 1;
	sim_run(&s, s.now_ns + 20ull * SEC, NULL, NULL);
	cur = path_current(t, (size_t)m[0].peer);
	assert_non_null(cur);
	assert_string_equal(addr_format(&cur->ep.addr, buf), "192.0.2.20:41641");
	/* And when every address dies, there is no path. */
	m[1].host->n_addrs = 0;
	sim_run(&s, s.now_ns + 20ull * SEC, NULL, NULL);
	assert_null(path_current(t, (size_t)m[0].peer));
	traversal_clear(&m[0].trav);
	traversal_clear(&m[1].trav);
}

/*
 * A stand-in relay for the simulator: a member "binds" with 0xE1 and its tag
 * (the real bind is tested with the relay); Data frames go to the tag's
 * member with the sender's tag written in, as lanrage-relay does.
 */
struct sim_relay {
	struct sim_host *host;
	struct {
		uint8_t tag[4];
		struct addr addr;
	} members[2];
	size_t n;
	uint64_t forwarded;
};

static void relay_rx(void *ctx, const struct addr *to, const struct addr *from, const uint8_t *pkt,
                     size_t len, uint64_t now_ns)
{
	struct sim_relay *r = ctx;
	uint8_t out[SIM_MAX_PKT];
	int src = -1, dst = -1;

	if (len == RELAY_DATA_HDR_LEN && pkt[0] == 0xE1) {
		size_t i = 0;

		/* A bind from a new address moves the member there (NAT rebinding). */
		while (i < r->n && memcmp(r->members[i].tag, pkt + 1, 4) != 0)
			i++;
		if (i == ARRAY_SIZE(r->members))
			return;
		memcpy(r->members[i].tag, pkt + 1, 4);
		r->members[i].addr = *from;
		r->n += i == r->n;
		return;
	}
	if (len <= RELAY_DATA_HDR_LEN || pkt[0] != RELAY_DATA || len > sizeof(out))
		return;
	for (size_t i = 0; i < r->n; i++) {
		if (addr_equal(&r->members[i].addr, from))
			src = (int)i;
		if (memcmp(r->members[i].tag, pkt + 1, 4) == 0)
			dst = (int)i;
	}
	if (src < 0 || dst < 0)
		return;
	memcpy(out, pkt, len);
	memcpy(out + 1, r->members[src].tag, 4);
	r->forwarded++;
	sim_send(r->host, &r->host->addrs[0], &r->members[dst].addr, out, len);
}

static bool both_relayed(void *ctx)
{
	struct member *m = ctx;

	for (int i = 0; i < 2; i++) {
		const struct path_candidate *c = path_current(&m[i].trav.paths, (size_t)m[i].peer);

		if (!c || c->kind != CAND_RELAY)
			return false;
	}
	return true;
}

static bool both_direct_again(void *ctx)
{
	struct member *m = ctx;

	for (int i = 0; i < 2; i++) {
		const struct path_candidate *c = path_current(&m[i].trav.paths, (size_t)m[i].peer);

		if (!c || endpoint_is_relayed(&c->ep))
			return false;
	}
	return true;
}

/*
 * Two symmetric NATs: no direct path, so the pair meets on a relay and
 * measures it; losing the relay ends the path; once one side's NAT goes
 * away, the direct path is found and preferred.
 */
static void test_relay_path(void **state)
{
	static struct sim s;
	static struct server sv;
	static struct member m[2];
	static struct sim_relay r;
	struct addr relay = sim_addr("198.51.100.2:51820");
	static const uint8_t tags[2][RELAY_DATA_HDR_LEN] = { { RELAY_DATA, 0, 0, 0, 1 },
		                                             { RELAY_DATA, 0, 0, 0, 2 } };
	const struct path_candidate *cur;

	sim_init(&s, 10 * MS);
	server_setup(&s, &sv);
	memset(&r, 0, sizeof(r));
	r.host = sim_add_host(&s, "198.51.100.2:51820", NAT_MAPPING_NONE, 0, NULL);
	sim_host_set_handlers(r.host, relay_rx, NULL, &r);
	member_setup(&s, &m[0], "10.0.1.2:41641", NAT_MAPPING_APD, NAT_FILTERING_APD,
	             "203.0.113.1");
	member_setup(&s, &m[1], "10.0.2.2:41641", NAT_MAPPING_APD, NAT_FILTERING_APD,
	             "203.0.113.2");
	connect_pair(&s, m);
	assert_false(sim_run(&s, s.now_ns + 3ull * SEC, both_direct, m));

	/* Both bind, and offer the relay with the other's tag as a candidate. */
	for (int i = 0; i < 2; i++) {
		uint8_t bind[RELAY_DATA_HDR_LEN];
		struct endpoint cands[3];
		enum cand_kind kinds3[3] = { CAND_LOCAL, CAND_REFLEXIVE, CAND_RELAY };
		struct path_peer *p = &m[i].trav.paths.peers[m[i].peer];

		memcpy(bind, tags[i], sizeof(bind));
		bind[0] = 0xE1;
		assert_int_equal(
		    sim_send(m[i].host, &m[i].host->addrs[0], &relay, bind, sizeof(bind)), 0);
		cands[0] = p->cand[0].ep;
		cands[1] = p->cand[1].ep;
		endpoint_relayed(&cands[2], &relay, tags[1 - i], RELAY_DATA_HDR_LEN);
		path_set_candidates(&m[i].trav.paths, (size_t)m[i].peer, cands, kinds3, 3,
		                    s.now_ns);
		sim_kick(m[i].host);
	}
	assert_true(sim_run(&s, s.now_ns + 3ull * SEC, both_relayed, m));
	assert_true(r.forwarded > 0);
	cur = path_current(&m[0].trav.paths, (size_t)m[0].peer);
	/* Four hops of 10 ms there and back. */
	assert_true(cur->srtt_ns >= 40ull * MS && cur->srtt_ns < 60ull * MS);
	assert_memory_equal(cur->ep.hdr, tags[1], RELAY_DATA_HDR_LEN);

	/* The relay is gone: its candidates go, and with them the path. */
	path_forget_relay(&m[0].trav.paths, &relay, s.now_ns);
	assert_null(path_current(&m[0].trav.paths, (size_t)m[0].peer));
	for (size_t i = 0; i < m[0].trav.paths.peers[m[0].peer].n_cand; i++)
		assert_false(endpoint_is_relayed(&m[0].trav.paths.peers[m[0].peer].cand[i].ep));
	/* Offered again, it comes back. */
	{
		struct endpoint c;
		enum cand_kind k = CAND_RELAY;
		struct path_peer *p = &m[0].trav.paths.peers[m[0].peer];
		struct endpoint cands[3] = { p->cand[0].ep, p->cand[1].ep };
		enum cand_kind kinds3[3] = { p->cand[0].kind, p->cand[1].kind, k };

		endpoint_relayed(&c, &relay, tags[1], RELAY_DATA_HDR_LEN);
		cands[2] = c;
		path_set_candidates(&m[0].trav.paths, (size_t)m[0].peer, cands, kinds3, 3,
		                    s.now_ns);
		sim_kick(m[0].host);
	}
	assert_true(sim_run(&s, s.now_ns + 3ull * SEC, both_relayed, m));

	/*
	 * Member 1's NAT goes away; it binds again from its new address, so the
	 * relayed path stays up, but the direct path opens and wins over it.
	 */
	m[1].host->nat.mapping = NAT_MAPPING_NONE;
	{
		uint8_t bind[RELAY_DATA_HDR_LEN];

		memcpy(bind, tags[1], sizeof(bind));
		bind[0] = 0xE1;
		assert_int_equal(
		    sim_send(m[1].host, &m[1].host->addrs[0], &relay, bind, sizeof(bind)), 0);
	}
	assert_true(sim_run(&s, s.now_ns + 25ull * SEC, both_direct_again, m));
	/* It was the better RTT that moved the pair: the relay still answers its probes. */
	{
		uint64_t before = r.forwarded;

		sim_run(&s, s.now_ns + 11ull * SEC, NULL, NULL);
		assert_true(r.forwarded > before);
	}
	cur = path_current(&m[0].trav.paths, (size_t)m[0].peer);
	assert_true(cur->srtt_ns < 40ull * MS);
	traversal_clear(&m[0].trav);
	traversal_clear(&m[1].trav);
}

/* Captures what member 0 sends, to replay and tamper with. */
static uint8_t captured[PROBE_LEN];
static struct endpoint captured_to;
static struct send_ops inner;
static bool capturing;

static int capture(void *ctx, const struct endpoint *to, const uint8_t *buf, size_t len)
{
	if (capturing && len == PROBE_LEN && buf[0] == PROBE_PING) {
		memcpy(captured, buf, len);
		captured_to = *to;
	}
	return inner.send(inner.ctx, to, buf, len);
}

static void test_hostile(void **state)
{
	static struct sim s;
	static struct server sv;
	static struct member m[2];
	struct path_table *b;
	struct endpoint from;
	wg_key stranger_priv, stranger_pub;
	uint8_t key[MAC_KEY_LEN], buf[PROBE_LEN];
	struct probe_msg msg = { .type = PROBE_PING, .txid = 7, .counter = 1ull << 40 };

	sim_init(&s, 1 * MS);
	server_setup(&s, &sv);
	member_setup(&s, &m[0], "192.0.2.10:41641", NAT_MAPPING_NONE, 0, NULL);
	member_setup(&s, &m[1], "192.0.2.20:41641", NAT_MAPPING_NONE, 0, NULL);
	inner = m[0].host->ops;
	m[0].trav.paths.ops.send = capture;
	capturing = true;
	connect_pair(&s, m);
	assert_true(sim_run(&s, s.now_ns + 2ull * SEC, both_direct, m));
	/* Let the captured ping arrive before replaying it. */
	capturing = false;
	sim_run(&s, s.now_ns + 50ull * MS, NULL, NULL);
	b = &m[1].trav.paths;
	endpoint_from_addr(&from, &m[0].host->addrs[0]);

	/* A replayed ping is not answered. */
	assert_int_equal(path_input(b, captured, PROBE_LEN, &from, s.now_ns), PROBE_DROP_REPLAY);
	/* Tampered: bad MAC. */
	captured[45] ^= 1;
	assert_int_equal(path_input(b, captured, PROBE_LEN, &from, s.now_ns), PROBE_DROP_MAC);
	/* Someone outside the party, with a perfectly good key of their own. */
	keypair(stranger_priv, stranger_pub);
	assert_true(probe_derive_key(key, stranger_priv, stranger_pub, m[1].pub));
	memcpy(msg.sender, stranger_pub, KEY_LEN);
	probe_create(buf, &msg, key);
	assert_int_equal(path_input(b, buf, PROBE_LEN, &from, s.now_ns), PROBE_DROP_UNKNOWN_PEER);
	/* A member's key in the sender field, but the stranger's MAC. */
	memcpy(msg.sender, m[0].pub, KEY_LEN);
	probe_create(buf, &msg, key);
	assert_int_equal(path_input(b, buf, PROBE_LEN, &from, s.now_ns), PROBE_DROP_MAC);
	/* A genuine pong for a ping never sent. */
	assert_true(probe_derive_key(key, m[0].priv, m[0].pub, m[1].pub));
	msg.type = PROBE_PONG;
	msg.counter = m[0].trav.paths.tx_counter + 100;
	msg.observed = from.addr;
	probe_create(buf, &msg, key);
	assert_int_equal(path_input(b, buf, PROBE_LEN, &from, s.now_ns), PROBE_DROP_STALE);
	assert_int_equal(b->dropped[PROBE_DROP_REPLAY], 1);
	assert_int_equal(b->dropped[PROBE_DROP_MAC], 2);
	assert_int_equal(b->dropped[PROBE_DROP_UNKNOWN_PEER], 1);
	assert_int_equal(b->dropped[PROBE_DROP_STALE], 1);

	/* A member flooding pings gets at most pongs_per_sec answers a second. */
	{
		uint64_t before = b->peers[m[1].peer].pongs_tx;
		int dropped = 0;

		msg.type = PROBE_PING;
		addr_clear(&msg.observed);
		for (int i = 0; i < 200; i++) {
			msg.counter++;
			probe_create(buf, &msg, key);
			dropped +=
			    path_input(b, buf, PROBE_LEN, &from, s.now_ns) == PROBE_DROP_RATE;
		}
		assert_true(b->peers[m[1].peer].pongs_tx - before <=
		            path_config_default.pongs_per_sec);
		assert_true(dropped >= 150);
	}
	traversal_clear(&m[0].trav);
	traversal_clear(&m[1].trav);
}

/* Which path wins, by RTT: direct over relayed unless clearly slower, in percent and in ms. */
static void test_prefers(void **state)
{
	static const struct {
		bool c_relayed, cur_relayed;
		double c_ms, cur_ms;
		bool wins;
	} cases[] = {
		/* direct replacing a relay: within 50 % or within 10 ms */
		{ false, true, 30, 20, true },
		{ false, true, 31, 20, false },
		{ false, true, 60, 20, false },
		{ false, true, 4.1, 1.2, true },
		{ false, true, 11, 1, true },
		{ false, true, 12, 1, false },
		{ false, true, 160, 100, false },
		{ false, true, 150, 100, true },
		/* a relay replacing direct: 30 % faster and 10 ms faster */
		{ true, false, 60, 100, true },
		{ true, false, 75, 100, false },
		{ true, false, 1, 4, false },
		{ true, false, 20, 35, true },
		{ true, false, 20, 29, false },
		/* same kind: 10 % faster */
		{ false, false, 8.9, 10, true },
		{ false, false, 9.1, 10, false },
		{ true, true, 89, 100, true },
		{ true, true, 95, 100, false },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct path_candidate c = { 0 }, cur = { 0 };
		static const uint8_t hdr[RELAY_DATA_HDR_LEN] = { RELAY_DATA, 0, 0, 0, 1 };
		struct addr a = sim_addr("198.51.100.2:51820");

		if (cases[i].c_relayed)
			endpoint_relayed(&c.ep, &a, hdr, sizeof(hdr));
		else
			endpoint_from_addr(&c.ep, &a);
		if (cases[i].cur_relayed)
			endpoint_relayed(&cur.ep, &a, hdr, sizeof(hdr));
		else
			endpoint_from_addr(&cur.ep, &a);
		c.srtt_ns = (uint64_t)(cases[i].c_ms * MS);
		cur.srtt_ns = (uint64_t)(cases[i].cur_ms * MS);
		if (path_prefers(&path_config_default, &c, &cur) != cases[i].wins)
			fail_msg("case %zu: %s %.1f ms vs %s %.1f ms should %s", i,
			         cases[i].c_relayed ? "relayed" : "direct", cases[i].c_ms,
			         cases[i].cur_relayed ? "relayed" : "direct", cases[i].cur_ms,
			         cases[i].wins ? "win" : "lose");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_codec), cmocka_unit_test(test_punch_matrix),
		cmocka_unit_test(test_best_path),   cmocka_unit_test(test_relay_path),
		cmocka_unit_test(test_hostile),     cmocka_unit_test(test_prefers),
	};

	if (!rand_init())
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
