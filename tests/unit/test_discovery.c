/* test_discovery.c - STUN client schedule and RFC 5780 discovery over simulated NATs. */
#include "test.h"

#include <string.h>

#include "crypto/rand.h"
#include "nat/discovery.h"
#include "nat/stun_client.h"
#include "nat/stun_server.h"
#include "netsim.h"
#include "util/now.h"

enum { MS = NS_PER_MS, SEC = NS_PER_SEC };

/* The server side: the real server core on four simulated addresses. */
struct server_side {
	struct stun_server srv;
	struct sim_host *host;
	unsigned ignore_first; /* drop this many requests before answering */
	unsigned seen;
};

static void server_rx(void *ctx, const struct addr *to, const struct addr *from, const uint8_t *pkt,
                      size_t len, uint64_t now_ns)
{
	struct server_side *sv = ctx;
	uint8_t out[STUN_MAX_LEN];
	size_t out_len;
	unsigned sock, out_sock;

	if (sv->seen++ < sv->ignore_first)
		return;
	for (sock = 0; sock < sv->srv.n_sockets; sock++) {
		if (addr_equal(&sv->srv.local[sock], to))
			break;
	}
	if (sock == sv->srv.n_sockets)
		return;
	if (stun_server_handle(&sv->srv, sock, from, pkt, len, now_ns, out, sizeof(out), &out_len,
	                       &out_sock) == STUN_SERVER_REPLY)
		sim_send(sv->host, &sv->srv.local[out_sock], from, out, out_len);
}

static void server_setup(struct sim *s, struct server_side *sv, bool alternate)
{
	struct stun_server_config cfg = { 0 };

	cfg.primary = sim_addr("198.51.100.1:3478");
	if (alternate)
		cfg.alternate = sim_addr("198.51.100.2:3479");
	else
		addr_clear(&cfg.alternate);
	assert_true(stun_server_init(&sv->srv, &cfg, NULL));
	sv->host = sim_add_host(s, "198.51.100.1:3478", NAT_MAPPING_NONE, 0, NULL);
	for (unsigned i = 1; i < sv->srv.n_sockets; i++)
		sv->host->addrs[sv->host->n_addrs++] = sv->srv.local[i];
	sim_host_set_handlers(sv->host, server_rx, NULL, sv);
}

/* The client side: a STUN client (and discovery) on one simulated socket. */
struct client_side {
	struct stun_client client;
	struct discovery disc;
	struct sim_host *host;
	bool done;
	struct discovery_report report;
	uint64_t send_times[32];
	unsigned n_sends;
	struct send_ops inner;
};

static void client_rx(void *ctx, const struct addr *to, const struct addr *from, const uint8_t *pkt,
                      size_t len, uint64_t now_ns)
{
	struct client_side *c = ctx;

	stun_client_input(&c->client, pkt, len, from, now_ns);
}

static uint64_t client_timer(void *ctx, uint64_t now_ns)
{
	struct client_side *c = ctx;

	return stun_client_timer(&c->client, now_ns);
}

/* Records when each request leaves, then sends it. */
static int recording_send(void *ctx, const struct endpoint *to, const uint8_t *buf, size_t len)
{
	struct client_side *c = ctx;

	if (c->n_sends < ARRAY_SIZE(c->send_times))
		c->send_times[c->n_sends++] = c->host->sim->now_ns;
	return c->inner.send(c->inner.ctx, to, buf, len);
}

static void client_setup(struct sim *s, struct client_side *c, const char *addr,
                         enum nat_mapping mapping, enum nat_filtering filtering)
{
	struct send_ops ops;

	memset(c, 0, sizeof(*c));
	c->host = sim_add_host(s, addr, mapping, filtering,
	                       mapping == NAT_MAPPING_NONE ? NULL : "203.0.113.5");
	c->inner = c->host->ops;
	ops.send = recording_send;
	ops.ctx = c;
	stun_client_init(&c->client, &ops);
	sim_host_set_handlers(c->host, client_rx, client_timer, c);
}

static void on_report(void *ctx, const struct discovery_report *r)
{
	struct client_side *c = ctx;

	c->done = true;
	c->report = *r;
}

static bool is_done(void *ctx)
{
	return ((struct client_side *)ctx)->done;
}

static void run_discovery(struct sim *s, struct client_side *c, const char *server,
                          bool binding_only)
{
	struct discovery_config cfg;
	struct addr srv = sim_addr(server);

	discovery_config_init(&cfg, &srv);
	cfg.locals[cfg.n_locals++] = c->host->addrs[0];
	cfg.binding_only = binding_only;
	assert_int_equal(discovery_start(&c->disc, &c->client, &cfg, s->now_ns, on_report, c), 0);
	sim_kick(c->host);
	assert_true(sim_run(s, s->now_ns + 120ull * SEC, is_done, c));
}

static void test_schedule(void **state)
{
	struct stun_client_config cfg = stun_client_rfc_schedule;
	char err[256];

	assert_int_equal(stun_client_config_total_ms(&cfg), 39500);
	cfg.rc = 3;
	cfg.rm = 2;
	assert_int_equal(stun_client_config_total_ms(&cfg), 2500);
	cfg.rc = 0;
	assert_false(stun_client_config_valid(&cfg, err));
	assert_non_null(strstr(err, "request count 0"));
	cfg.rc = 7;
	cfg.rto_ms = 0;
	assert_false(stun_client_config_valid(&cfg, err));
}

/* Nobody answers: requests at 0, 0.5, 1.5, ... 31.5 s, and "unknown" at 39.5 s. */
static void test_silent_server(void **state)
{
	static const uint64_t want_ms[] = { 0, 500, 1500, 3500, 7500, 15500, 31500 };
	static struct sim s;
	static struct client_side c;

	sim_init(&s, 1 * MS);
	client_setup(&s, &c, "10.0.0.2:5000", NAT_MAPPING_EI, NAT_FILTERING_APD);
	run_discovery(&s, &c, "198.51.100.9:3478", false);
	assert_int_equal(c.report.type, NAT_UNKNOWN);
	assert_int_equal(c.n_sends, 7);
	for (unsigned i = 0; i < 7; i++)
		assert_int_equal(c.send_times[i], want_ms[i] * MS);
	assert_int_equal(c.report.steps[DISC_BINDING].result.outcome, STUN_OUTCOME_TIMEOUT);
	assert_int_equal(c.report.elapsed_ns, 39500ull * MS);
	assert_non_null(
	    strstr(c.report.reason, "no answer from 198.51.100.9:3478 after 7 requests"));
	assert_false(stun_client_busy(&c.client));
}

/* An answer to a retransmission: success, requests counted, no RTT sample (Karn). */
static void test_retransmission_answered(void **state)
{
	static struct sim s;
	static struct server_side sv;
	static struct client_side c;

	sim_init(&s, 1 * MS);
	server_setup(&s, &sv, true);
	sv.ignore_first = 2;
	client_setup(&s, &c, "10.0.0.2:5000", NAT_MAPPING_EI, NAT_FILTERING_EI);
	run_discovery(&s, &c, "198.51.100.1:3478", true);
	assert_int_equal(c.report.steps[DISC_BINDING].result.outcome, STUN_OUTCOME_SUCCESS);
	assert_int_equal(c.report.steps[DISC_BINDING].result.requests, 3);
	assert_int_equal(c.report.steps[DISC_BINDING].result.rtt_ns, 0);
	assert_int_equal(c.report.elapsed_ns, 1502ull * MS);
	assert_non_null(strstr(c.report.reason, "binding only"));
}

static void test_nat_types(void **state)
{
	static const struct {
		enum nat_mapping mapping;
		enum nat_filtering filtering;
		enum nat_type want;
	} cases[] = {
		{ NAT_MAPPING_NONE, NAT_FILTERING_EI, NAT_OPEN },
		{ NAT_MAPPING_EI, NAT_FILTERING_EI, NAT_FULL_CONE },
		{ NAT_MAPPING_EI, NAT_FILTERING_AD, NAT_RESTRICTED_CONE },
		{ NAT_MAPPING_EI, NAT_FILTERING_APD, NAT_PORT_RESTRICTED_CONE },
		{ NAT_MAPPING_AD, NAT_FILTERING_AD, NAT_SYMMETRIC },
		{ NAT_MAPPING_APD, NAT_FILTERING_APD, NAT_SYMMETRIC },
		{ NAT_MAPPING_APD, NAT_FILTERING_EI, NAT_SYMMETRIC },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		static struct sim s;
		static struct server_side sv;
		static struct client_side c;
		bool natted = cases[i].mapping != NAT_MAPPING_NONE;
		const struct discovery_report *r = &c.report;
		char buf[ADDR_STRLEN];

		memset(&sv, 0, sizeof(sv));
		sim_init(&s, 5 * MS);
		server_setup(&s, &sv, true);
		client_setup(&s, &c, natted ? "10.0.0.2:5000" : "203.0.113.9:5000",
		             cases[i].mapping, cases[i].filtering);
		run_discovery(&s, &c, "198.51.100.1:3478", false);
		print_message("case %zu: %s (%s)\n", i, nat_type_name(r->type), r->reason);
		assert_int_equal(r->type, cases[i].want);
		assert_string_equal(addr_format_ip(&r->mapped, buf),
		                    natted ? "203.0.113.5" : "203.0.113.9");
		/* Our simulated EIM preserves ports; dependent mappings take new ones. */
		assert_int_equal(addr_port(&r->mapped) == 5000,
		                 cases[i].mapping == NAT_MAPPING_EI || !natted);
		assert_string_equal(addr_format(&r->other, buf), "198.51.100.2:3479");
		assert_int_equal(r->filtering, cases[i].filtering);
		if (natted)
			assert_int_equal(r->mapping, cases[i].mapping);
		assert_false(r->alg);
		/* Filtering tests first, mapping tests after, all on one socket. */
		assert_true(r->steps[DISC_FILTER_II].ran && r->steps[DISC_FILTER_III].ran);
		assert_int_equal(r->steps[DISC_MAPPING_II].ran, natted);
		/* Filtering silence costs the quiet schedule (2.5 s), answers a few RTTs. */
		if (cases[i].filtering == NAT_FILTERING_EI)
			assert_true(r->elapsed_ns < 100ull * MS);
		else
			assert_true(r->elapsed_ns < 2600ull * MS);
	}
}

static void test_server_without_alternate(void **state)
{
	static struct sim s;
	static struct server_side sv;
	static struct client_side c;

	memset(&sv, 0, sizeof(sv));
	sim_init(&s, 1 * MS);
	server_setup(&s, &sv, false);
	client_setup(&s, &c, "10.0.0.2:5000", NAT_MAPPING_EI, NAT_FILTERING_EI);
	run_discovery(&s, &c, "198.51.100.1:3478", false);
	assert_int_equal(c.report.type, NAT_UNKNOWN);
	assert_true(addr_is_set(&c.report.mapped));
	assert_non_null(strstr(c.report.reason, "does not support RFC 5780"));

	/* Without a NAT the answer is still "open". */
	memset(&sv, 0, sizeof(sv));
	sim_init(&s, 1 * MS);
	server_setup(&s, &sv, false);
	client_setup(&s, &c, "203.0.113.9:5000", NAT_MAPPING_NONE, NAT_FILTERING_EI);
	run_discovery(&s, &c, "198.51.100.1:3478", false);
	assert_int_equal(c.report.type, NAT_OPEN);
}

/* A server whose alternate address never answers: mapping test II fails, type unknown. */
static void test_alternate_silent(void **state)
{
	static struct sim s;
	static struct server_side sv;
	static struct client_side c;

	memset(&sv, 0, sizeof(sv));
	sim_init(&s, 1 * MS);
	server_setup(&s, &sv, true);
	/* The alternate IP is no longer the server's: requests to it go nowhere. */
	sv.host->n_addrs = 2;
	client_setup(&s, &c, "10.0.0.2:5000", NAT_MAPPING_EI, NAT_FILTERING_APD);
	run_discovery(&s, &c, "198.51.100.1:3478", false);
	assert_int_equal(c.report.type, NAT_UNKNOWN);
	assert_non_null(strstr(c.report.reason, "mapping test II"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schedule),
		cmocka_unit_test(test_silent_server),
		cmocka_unit_test(test_retransmission_answered),
		cmocka_unit_test(test_nat_types),
		cmocka_unit_test(test_server_without_alternate),
		cmocka_unit_test(test_alternate_silent),
	};

	if (!rand_init())
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
