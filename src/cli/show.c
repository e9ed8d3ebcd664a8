/* show.c - `lanrage status`, `peers`, `ping` and `nat` (daemon mode): the daemon's state, readable.
 */
#include "cli/show.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/table.h"
#include "util/num.h"

/* A string field, or fallback when absent or null. */
static const char *str(const json_t *obj, const char *key, const char *fallback)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s && *s ? s : fallback;
}

static long long num(const json_t *obj, const char *key)
{
	return (long long)json_integer_value(json_object_get(obj, key));
}

static int expect_no_args(const char *cmd, int argc)
{
	if (argc > 1) {
		fprintf(stderr, "Usage: lanrage %s [--json]\n", cmd);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

int show_status(struct client *c, int argc, char **argv)
{
	const json_t *iface, *ctl, *party, *nat;
	json_t *st = NULL;
	int rc = expect_no_args("status", argc);

	if (rc == EXIT_OK)
		rc = client_call(c, "GET", "/api/status", NULL, CLIENT_TIMEOUT_MS, &st);
	if (rc != EXIT_OK || client_print_raw(c)) {
		json_decref(st);
		return rc;
	}
	iface = json_object_get(st, "interface");
	ctl = json_object_get(st, "control");
	party = json_object_get(st, "party");
	nat = json_object_get(st, "nat");
	printf("lanraged %s\n", str(st, "version", "?"));
	printf("  name:        %s (peer %s)\n", str(st, "name", "?"), str(st, "peer_id", "?"));
	printf("  public key:  %s\n", str(st, "public_key", "?"));
	printf("  virtual IP:  %s\n", str(st, "virtual_ip", "none (not in a party)"));
	if (json_string_value(json_object_get(st, "virtual_ip6")))
		printf("  IPv6:        %s\n", str(st, "virtual_ip6", "-"));
	printf("  interface:   %s, mtu %lld, UDP port %lld, priority lane %s\n",
	       str(iface, "name", "?"), num(iface, "mtu"), num(iface, "listen_port"),
	       str(iface, "priority_lane", "?"));
	printf("  control:     %s %s, %s", str(ctl, "mode", "?"), str(ctl, "where", "?"),
	       str(ctl, "link", "?"));
	if (json_string_value(json_object_get(ctl, "detail")) &&
	    *json_string_value(json_object_get(ctl, "detail")))
		printf(" (%s)", str(ctl, "detail", ""));
	printf("\n  NAT:         %s, public %s", str(nat, "type", "unknown"),
	       str(nat, "public_endpoint", "unknown"));
	if (json_string_value(json_object_get(nat, "global_endpoint")))
		printf(", IPv6 %s", str(nat, "global_endpoint", "-"));
	printf("\n");
	if (json_is_object(party))
		printf("  party:       \"%s\" %s, host: %s, %lld members, %lld connected\n",
		       str(party, "name", "?"), str(party, "party_id", "?"),
		       json_is_true(json_object_get(party, "is_host")) ? "you"
		                                                       : str(party, "host_id", "?"),
		       num(party, "members"), num(party, "connected"));
	else if (json_is_string(json_object_get(st, "party_note")))
		printf("  party:       none: %s\n", str(st, "party_note", "?"));
	else
		printf(
		    "  party:       none (lanrage party create NAME, or lanrage party join ID)\n");
	json_decref(st);
	return EXIT_OK;
}

enum { COLS = 7, COL_IP6 = 2 };

/* Whether the member's current path is its IPv6 global address (docs/NAT.md "IPv6 paths"). */
static bool over_ipv6(const json_t *p)
{
	const json_t *c;
	size_t i;

	json_array_foreach(json_object_get(p, "candidates"), i, c)
	{
		if (json_is_true(json_object_get(c, "current")))
			return strcmp(str(c, "kind", ""), "ipv6") == 0;
	}
	return false;
}

/* The text of each column of one peer. */
static void peer_row(const json_t *p, char cols[COLS][96])
{
	const json_t *rtt = json_object_get(p, "rtt_ms");
	bool self = json_is_true(json_object_get(p, "self"));

	snprintf(cols[0], 96, "%s%s", str(p, "name", "?"), self ? " (you)" : "");
	snprintf(cols[1], 96, "%s", str(p, "virtual_ip", "-"));
	snprintf(cols[COL_IP6], 96, "%s", str(p, "virtual_ip6", "-"));
	snprintf(cols[3], 96, "%s", str(p, "state", "?"));
	/* A relayed path names its relay: "relay (eu-1)". */
	if (!self && strcmp(str(p, "path", "-"), "relay") == 0 &&
	    json_is_string(json_object_get(p, "relay")))
		snprintf(cols[4], 96, "relay (%s)", str(p, "relay", "?"));
	else if (!self && strcmp(str(p, "path", "-"), "direct") == 0 && over_ipv6(p))
		snprintf(cols[4], 96, "direct (IPv6)");
	else
		snprintf(cols[4], 96, "%s", self ? "-" : str(p, "path", "-"));
	if (json_is_number(rtt) && !self)
		snprintf(cols[5], 96, "%.1f ms", json_number_value(rtt));
	else
		snprintf(cols[5], 96, "-");
	snprintf(cols[6], 96, "%s", str(p, "nat_type", "unknown"));
}

int show_peers(struct client *c, int argc, char **argv)
{
	static const char *const head[COLS] = { "NAME", "VIRTUAL IP", "VIRTUAL IPV6", "STATE",
		                                "PATH", "RTT",        "NAT" };
	char cols[COLS][96];
	int w[COLS];
	const json_t *peers, *p;
	json_t *r = NULL;
	bool ip6 = false; /* the IPv6 column, when the party has IPv6 */
	size_t i;
	int rc = expect_no_args("peers", argc);

	if (rc == EXIT_OK)
		rc = client_call(c, "GET", "/api/peers", NULL, CLIENT_TIMEOUT_MS, &r);
	if (rc != EXIT_OK || client_print_raw(c)) {
		json_decref(r);
		return rc;
	}
	peers = json_object_get(r, "peers");
	if (!json_is_string(json_object_get(r, "party_id")) || json_array_size(peers) == 0) {
		printf("Not in a party.\n");
		json_decref(r);
		return EXIT_OK;
	}
	for (int k = 0; k < COLS; k++)
		w[k] = table_width(head[k]);
	json_array_foreach(peers, i, p)
	{
		peer_row(p, cols);
		ip6 |= json_is_string(json_object_get(p, "virtual_ip6"));
		for (int k = 0; k < COLS; k++)
			w[k] = table_width(cols[k]) > w[k] ? table_width(cols[k]) : w[k];
	}
	printf("Party %s\n\n", str(r, "party_id", "?"));
	for (int k = 0; k < COLS; k++) {
		if (k != COL_IP6 || ip6)
			table_cell(head[k], k + 1 < COLS ? w[k] + 2 : 0);
	}
	printf("\n");
	json_array_foreach(peers, i, p)
	{
		peer_row(p, cols);
		for (int k = 0; k < COLS; k++) {
			if (k != COL_IP6 || ip6)
				table_cell(cols[k], k + 1 < COLS ? w[k] + 2 : 0);
		}
		printf("\n");
	}
	json_decref(r);
	return EXIT_OK;
}

static void ping_usage(void)
{
	fprintf(stderr, "Usage: lanrage ping PEER [-c COUNT] [--json]\n"
	                "PEER is a member's name, peer id or virtual IP; COUNT 1-100 (4).\n");
}

int show_ping(struct client *c, int argc, char **argv)
{
	const char *peer = NULL;
	uint64_t count = 4;
	const json_t *v;
	json_t *body, *r = NULL;
	long long sent, received;
	size_t i;
	int rc;

	for (int a = 1; a < argc; a++) {
		if (strcmp(argv[a], "-c") == 0 || strcmp(argv[a], "--count") == 0) {
			if (a + 1 >= argc || !num_parse_u64(argv[a + 1], 1, 100, &count)) {
				fprintf(stderr, "lanrage: bad or missing value for `%s' (1-100)\n",
				        argv[a]);
				return EXIT_USAGE;
			}
			a++;
		} else if (!peer && argv[a][0] != '-') {
			peer = argv[a];
		} else {
			ping_usage();
			return EXIT_USAGE;
		}
	}
	if (!peer) {
		ping_usage();
		return EXIT_USAGE;
	}
	body = json_pack("{s:s, s:I}", "peer", peer, "count", (json_int_t)count);
	/* The daemon probes about once a second; give it that and some. */
	rc = client_call(c, "POST", "/api/ping", body, CLIENT_TIMEOUT_MS + (int)count * 2000, &r);
	json_decref(body);
	if (rc != EXIT_OK || client_print_raw(c)) {
		json_decref(r);
		return rc;
	}
	sent = num(r, "sent");
	received = num(r, "received");
	printf("PING %s (%s) via %s\n", str(r, "name", peer), str(r, "peer_id", "?"),
	       str(r, "path", "?"));
	json_array_foreach(json_object_get(r, "rtts_ms"), i, v)
	{
		printf("  reply %zu: %.2f ms\n", i + 1, json_number_value(v));
	}
	printf("%lld sent, %lld received, %lld%% loss\n", sent, received,
	       sent > 0 ? (sent - received) * 100 / sent : 0);
	if (received > 0)
		printf("rtt min/avg/max = %.2f/%.2f/%.2f ms\n",
		       json_number_value(json_object_get(r, "min_ms")),
		       json_number_value(json_object_get(r, "avg_ms")),
		       json_number_value(json_object_get(r, "max_ms")));
	json_decref(r);
	/* As ping(8): no reply at all is a failure a script can see. */
	return received > 0 ? EXIT_OK : EXIT_REFUSED;
}

/* A JSON array of strings joined with ", "; "-" when empty. */
static void print_list(const char *label, const json_t *list)
{
	const json_t *v;
	size_t i;

	printf("%-17s", label);
	if (json_array_size(list) == 0)
		printf("-");
	json_array_foreach(list, i, v)
	{
		printf("%s%s", i ? ", " : "", json_string_value(v) ? json_string_value(v) : "?");
	}
	printf("\n");
}

int show_nat(struct client *c, int argc, char **argv)
{
	json_t *r = NULL;
	int rc;

	if (argc > 1) {
		fprintf(stderr,
		        "Usage: lanrage nat [--json]            (what lanraged found)\n"
		        "       lanrage nat --stun HOST[:PORT]  (standalone; nat --help)\n");
		return EXIT_USAGE;
	}
	rc = client_call(c, "GET", "/api/nat", NULL, CLIENT_TIMEOUT_MS, &r);
	if (rc != EXIT_OK || client_print_raw(c)) {
		json_decref(r);
		return rc;
	}
	printf("%-17s%s\n", "NAT type:", str(r, "type", "unknown"));
	printf("%-17s%s\n", "public endpoint:", str(r, "public_endpoint", "unknown"));
	printf("%-17s%s\n", "IPv6 endpoint:", str(r, "global_endpoint", "none"));
	print_list("local endpoints:", json_object_get(r, "local_endpoints"));
	print_list("STUN servers:", json_object_get(r, "stun_servers"));
	printf("%-17s%s\n", "detected at:", str(r, "detected_at", "not yet"));
	if (json_string_value(json_object_get(r, "detail")))
		printf("%-17s%s\n", "detail:", str(r, "detail", "-"));
	json_decref(r);
	return EXIT_OK;
}
