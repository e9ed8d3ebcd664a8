/* nat.c - `lanrage nat`: NAT type, mapped endpoint and how they were found (RFC 5780). */
#include "cli/nat.h"

#include <event2/event.h>
#include <jansson.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nat/discovery.h"
#include "nat/ifaddr.h"
#include "nat/natsock.h"
#include "nat/stun_client.h"
#include "util/num.h"
#include "util/err.h"
#include "util/log.h"
#include "util/now.h"

struct nat_run {
	struct event_base *base;
	struct natsock sock;
	struct stun_client client;
	struct discovery disc;
	struct discovery_report report;
	bool done;
};

static const char *const test_keys[DISC_TEST_COUNT] = {
	[DISC_BINDING] = "binding",          [DISC_FILTER_II] = "filtering_ii",
	[DISC_FILTER_III] = "filtering_iii", [DISC_MAPPING_II] = "mapping_ii",
	[DISC_MAPPING_III] = "mapping_iii",
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: lanrage nat --stun HOST[:PORT] [--json] [--bind ADDR] [--port PORT]\n"
	           "                   [--rto MS] [--attempts N]\n\n"
	           "Finds this host's NAT type with RFC 5780 behaviour discovery against a STUN\n"
	           "server that has two addresses (lanrage-stun --alternate, coturn with two\n"
	           "listening IPs).  Prints the type, the mapped endpoint, and each test: where\n"
	           "it went, what answered.  --rto and --attempts change the retransmission\n"
	           "schedule (RFC 8489: 500 ms, 7 requests).  Exit status 0 when the type is\n"
	           "known, 1 when it is unknown (the reason is printed), 2 for usage errors.\n\n"
	           "Without --stun, `lanrage nat [--json]' shows what lanraged found instead.\n");
}

/* "1.2.3.4:3478", "[v6]:3478", "1.2.3.4" (port 3478), "host:3478" or "host". */
static bool resolve(const char *s, struct addr *out, char *err)
{
	char host[256], *colon;
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *res;
	uint64_t port = STUN_DEFAULT_PORT;
	int rc;

	if (addr_parse(out, s, NULL))
		return true;
	if (addr_parse_ip(out, s, NULL)) {
		addr_set_port(out, STUN_DEFAULT_PORT);
		return true;
	}
	/* A name: letters, digits, dots and dashes, and an optional :port. */
	if (strlen(s) >= sizeof(host) || !*s)
		goto bad;
	strcpy(host, s);
	colon = strchr(host, ':');
	if (colon) {
		*colon = '\0';
		if (!num_parse_u64(colon + 1, 1, 65535, &port))
			goto bad;
	}
	for (const char *p = host; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'))
			goto bad;
	}
	if (!*host || addr_parse_ip(out, host, NULL))
		goto bad;
	rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc != 0) {
		err_set(err, "Unable to resolve `%s': %s", host, gai_strerror(rc));
		return false;
	}
	rc = addr_from_sockaddr(out, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	if (!rc) {
		err_set(err, "Unable to use the address of `%s'", host);
		return false;
	}
	addr_set_port(out, (uint16_t)port);
	return true;
bad:
	err_set(err, "Unable to parse endpoint: `%s' (expected ADDR:PORT, [V6]:PORT or NAME:PORT)",
	        s);
	return false;
}

static void on_report(void *ctx, const struct discovery_report *r)
{
	struct nat_run *run = ctx;

	run->report = *r;
	run->done = true;
	event_base_loopbreak(run->base);
}

static void on_packet(void *ctx, const uint8_t *pkt, size_t len, const struct addr *from,
                      uint64_t now_ns)
{
	struct nat_run *run = ctx;

	if (stun_is(pkt, len))
		stun_client_input(&run->client, pkt, len, from, now_ns);
}

static uint64_t on_timer(void *ctx, uint64_t now_ns)
{
	struct nat_run *run = ctx;

	return stun_client_timer(&run->client, now_ns);
}

static const char *change_text(uint32_t change)
{
	switch (change & (STUN_CHANGE_IP | STUN_CHANGE_PORT)) {
	case STUN_CHANGE_IP | STUN_CHANGE_PORT:
		return "change IP and port";
	case STUN_CHANGE_IP:
		return "change IP";
	case STUN_CHANGE_PORT:
		return "change port";
	default:
		return "";
	}
}

static void print_text(const struct discovery_report *r, const struct addr *local)
{
	char b1[ADDR_STRLEN], b2[ADDR_STRLEN];

	printf("NAT type:        %s\n", nat_type_name(r->type));
	printf("mapped endpoint: %s (local port %u)\n", addr_format(&r->mapped, b1),
	       addr_port(local));
	printf("mapping:         %s\n", nat_mapping_name(r->mapping));
	printf("filtering:       %s\n", nat_filtering_name(r->filtering));
	if (addr_is_set(&r->other))
		printf("server:          %s, other address %s\n",
		       addr_format(&r->steps[DISC_BINDING].target, b1), addr_format(&r->other, b2));
	else
		printf("server:          %s\n", addr_format(&r->steps[DISC_BINDING].target, b1));
	if (r->alg)
		printf("warning:         MAPPED-ADDRESS differs from XOR-MAPPED-ADDRESS: a "
		       "middlebox rewrites addresses in packets (ALG)\n");
	if (r->reason[0])
		printf("%s %s\n",
		       r->type == NAT_UNKNOWN ? "reason:         " : "note:           ", r->reason);
	printf("how it was found (%.2f s):\n", (double)r->elapsed_ns / NS_PER_SEC);
	for (int t = 0; t < DISC_TEST_COUNT; t++) {
		const struct discovery_step *s = &r->steps[t];
		const struct stun_result *res = &s->result;

		if (!s->ran)
			continue;
		printf("  %-42s to %s%s%s%s: ", discovery_test_name((enum discovery_test)t),
		       addr_format(&s->target, b1), s->change ? " (" : "", change_text(s->change),
		       s->change ? ")" : "");
		if (res->outcome == STUN_OUTCOME_SUCCESS)
			printf("answered by %s, mapped %s", addr_format(&res->from, b1),
			       addr_format(&res->mapped, b2));
		else if (res->outcome == STUN_OUTCOME_ERROR)
			printf("error %u from %s", res->error_code, addr_format(&res->from, b1));
		else
			printf("%s", stun_outcome_name(res->outcome));
		printf(" (%u request%s, %.1f ms)\n", res->requests, res->requests == 1 ? "" : "s",
		       (double)res->elapsed_ns / NS_PER_MS);
	}
}

/* Milliseconds with microsecond precision: enough, and short to read. */
static json_t *ms_json(uint64_t ns)
{
	return json_real((double)(ns / 1000) / 1000.0);
}

static json_t *addr_json(const struct addr *a)
{
	char buf[ADDR_STRLEN];

	return addr_is_set(a) ? json_string(addr_format(a, buf)) : json_null();
}

static void print_json(const struct discovery_report *r, const struct addr *local)
{
	json_t *root = json_object(), *tests = json_array();
	char *text;

	json_object_set_new(root, "type", json_string(nat_type_name(r->type)));
	json_object_set_new(root, "mapped", addr_json(&r->mapped));
	json_object_set_new(root, "local_port", json_integer(addr_port(local)));
	json_object_set_new(root, "mapping", json_string(nat_mapping_key(r->mapping)));
	json_object_set_new(root, "filtering", json_string(nat_filtering_key(r->filtering)));
	json_object_set_new(root, "server", addr_json(&r->steps[DISC_BINDING].target));
	json_object_set_new(root, "other_address", addr_json(&r->other));
	json_object_set_new(root, "alg", json_boolean(r->alg));
	json_object_set_new(root, "reason", r->reason[0] ? json_string(r->reason) : json_null());
	json_object_set_new(root, "elapsed_ms", ms_json(r->elapsed_ns));
	for (int t = 0; t < DISC_TEST_COUNT; t++) {
		const struct discovery_step *s = &r->steps[t];
		json_t *o;

		if (!s->ran)
			continue;
		o = json_object();
		json_object_set_new(o, "test", json_string(test_keys[t]));
		json_object_set_new(o, "to", addr_json(&s->target));
		json_object_set_new(o, "change_ip", json_boolean(s->change & STUN_CHANGE_IP));
		json_object_set_new(o, "change_port", json_boolean(s->change & STUN_CHANGE_PORT));
		json_object_set_new(o, "outcome",
		                    json_string(stun_outcome_name(s->result.outcome)));
		json_object_set_new(o, "from", addr_json(&s->result.from));
		json_object_set_new(o, "mapped", addr_json(&s->result.mapped));
		if (s->result.outcome == STUN_OUTCOME_ERROR)
			json_object_set_new(o, "error", json_integer(s->result.error_code));
		json_object_set_new(o, "requests", json_integer(s->result.requests));
		json_object_set_new(o, "elapsed_ms", ms_json(s->result.elapsed_ns));
		json_array_append_new(tests, o);
	}
	json_object_set_new(root, "tests", tests);
	text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9));
	if (text)
		printf("%s\n", text);
	free(text);
	json_decref(root);
}

int nat_command(int argc, char **argv)
{
	struct nat_run *run;
	struct discovery_config cfg;
	struct addr server, bind_to;
	const char *stun = NULL, *bind_ip = "0.0.0.0";
	uint64_t port = 0, rto = 0, attempts = 0;
	bool json = false;
	errmsg err;
	int n, ret = 1;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(arg, "--json")) {
			json = true;
			continue;
		}
		if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
			usage(stdout);
			return 0;
		}
		i++;
		if (!strcmp(arg, "--stun") && val) {
			stun = val;
		} else if (!strcmp(arg, "--bind") && val) {
			bind_ip = val;
		} else if (!strcmp(arg, "--port") && num_parse_u64(val, 0, 65535, &port)) {
		} else if (!strcmp(arg, "--rto") && num_parse_u64(val, 1, STUN_RTO_MAX_MS, &rto)) {
		} else if (!strcmp(arg, "--attempts") &&
		           num_parse_u64(val, 0, STUN_RC_MAX, &attempts) && attempts) {
		} else {
			fprintf(stderr, "lanrage nat: bad or missing value for `%s'\n\n", arg);
			usage(stderr);
			return 2;
		}
	}
	if (!stun) {
		usage(stderr);
		return 2;
	}
	if (!resolve(stun, &server, err) || !addr_parse_ip(&bind_to, bind_ip, err)) {
		fprintf(stderr, "lanrage nat: %s\n", err);
		return 2;
	}
	addr_set_port(&bind_to, (uint16_t)port);

	run = calloc(1, sizeof(*run));
	if (!run)
		return 1;
	run->base = event_base_new();
	if (!run->base)
		goto out;
	if (natsock_open(&run->sock, run->base, &bind_to, on_packet, on_timer, run, err) < 0) {
		fprintf(stderr, "lanrage nat: %s\n", err);
		goto out_base;
	}
	{
		struct send_ops ops = natsock_send_ops(&run->sock);

		stun_client_init(&run->client, &ops);
	}
	discovery_config_init(&cfg, &server);
	if (rto)
		cfg.schedule.rto_ms = cfg.quiet_schedule.rto_ms = (uint32_t)rto;
	if (attempts) {
		cfg.schedule.rc = (uint32_t)attempts;
		if (cfg.quiet_schedule.rc > attempts)
			cfg.quiet_schedule.rc = (uint32_t)attempts;
	}
	n = ifaddr_list(cfg.locals, DISC_MAX_LOCALS - 1, bind_to.sa.sa_family, false,
	                addr_port(&run->sock.local));
	cfg.n_locals = n > 0 ? (size_t)n : 0;
	cfg.locals[cfg.n_locals++] = run->sock.local;
	if (discovery_start(&run->disc, &run->client, &cfg, now_mono_ns(), on_report, run) < 0) {
		fprintf(stderr, "lanrage nat: cannot start STUN\n");
		goto out_sock;
	}
	natsock_kick(&run->sock);
	event_base_dispatch(run->base);
	if (!run->done)
		goto out_sock;
	if (json)
		print_json(&run->report, &run->sock.local);
	else
		print_text(&run->report, &run->sock.local);
	ret = run->report.type == NAT_UNKNOWN ? 1 : 0;
	if (fflush(stdout) != 0)
		ret = 1;
out_sock:
	natsock_close(&run->sock);
out_base:
	event_base_free(run->base);
out:
	free(run);
	return ret;
}
