/*
 * api_stub.c - the real local API, configuration and settings database in
 * front of a canned backend, for the CLI's option, error and exit-code tests
 * (cli_api), which need no TUN, root or network.  What the CLI does against
 * the real lanraged is shown by daemon_party, daemon_local and daemon_nat.
 *
 *     api_stub PORT_FILE [lanraged flags...]
 *
 * Loads the configuration as lanraged does (flags, lanraged.conf, settings.db
 * in --state-dir), serves the API on its --api address (port 0: any; the
 * port is written to PORT_FILE), and answers from made-up state: a party
 * that create/join/leave change, two other members, pings that answer after
 * a few ms ("bob", 10.66.0.3) or never ("carol").  It stands in for the daemon
 * so the CLI can be tested; it proves nothing about the daemon.
 */
#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/party.h"
#include "control/party_id.h"
#include "crypto/rand.h"
#include "daemon/api.h"
#include "daemon/config.h"
#include "daemon/settings.h"
#include "util/err.h"
#include "util/file.h"
#include "util/log.h"

struct stub {
	struct event_base *base;
	struct daemon_config cfg;
	struct settings *settings;
	bool in_party;
	char party_id[PARTY_ID_LEN + 1];
	char party_name[PARTY_NAME_MAX + 1];
	bool is_host;
};

/* An action finished after a short delay, as the daemon's would be. */
struct later {
	struct api_req *req;
	int status;
	json_t *body;
	struct event *ev;
};

static void later_fire(evutil_socket_t fd, short what, void *arg)
{
	struct later *l = arg;

	api_finish(l->req, l->status, l->body);
	event_free(l->ev);
	free(l);
}

static void finish_later(struct stub *s, struct api_req *req, int ms, int status, json_t *body)
{
	struct later *l = calloc(1, sizeof(*l));
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	l->req = req;
	l->status = status;
	l->body = body;
	l->ev = evtimer_new(s->base, later_fire, l);
	evtimer_add(l->ev, &tv);
}

static json_t *party_json(const struct stub *s)
{
	if (!s->in_party)
		return json_null();
	return json_pack("{s:s, s:s, s:s, s:b, s:i, s:i}", "party_id", s->party_id, "name",
	                 s->party_name, "host_id",
	                 s->is_host ? "a1b2c3d4e5f60718" : "b0b0b0b0b0b0b0b0", "is_host",
	                 s->is_host, "members", 3, "connected", 1);
}

static json_t *stub_status(void *ctx)
{
	struct stub *s = ctx;

	return json_pack(
	    "{s:s, s:s, s:s, s:s, s:o, s:o, s:{s:s, s:i, s:i, s:s}, s:{s:s, s:s, s:s, s:s}, "
	    "s:o, s:{s:s, s:s, s:s}}",
	    "version", LANRAGE_VERSION, "peer_id", "a1b2c3d4e5f60718", "name", s->cfg.peer_name,
	    "public_key", "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=", "virtual_ip",
	    s->in_party ? json_string("10.66.0.2") : json_null(), "virtual_ip6",
	    s->in_party ? json_string("fd4c:5247:6c61::a42:2") : json_null(), "interface", "name",
	    s->cfg.interface, "mtu", s->cfg.mtu, "listen_port", s->cfg.listen_port, "priority_lane",
	    "open", "control", "mode", "local", "where", s->cfg.discovery_dir, "link", "up",
	    "detail", "", "party", party_json(s), "nat", "type", "full_cone", "public_endpoint",
	    "203.0.113.7:51820", "global_endpoint", "[2001:db8:7::10]:51820");
}

static json_t *stub_peers(void *ctx)
{
	struct stub *s = ctx;

	if (!s->in_party)
		return json_pack("{s:n, s:[]}", "party_id", "peers");
	return json_pack(
	    "{s:s, s:[{s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:n, s:n, s:n, s:s, s:n, s:i, s:i},"
	    "         {s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:s, s:n, s:f, s:s, s:s, s:i, s:i},"
	    "         {s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:n, s:s, s:n, s:s, s:n, s:i, s:i}]}",
	    "party_id", s->party_id, "peers", "peer_id", "a1b2c3d4e5f60718", "name",
	    s->cfg.peer_name, "virtual_ip", "10.66.0.2", "virtual_ip6", "fd4c:5247:6c61::a42:2",
	    "self", 1, "state", "self", "path", "none", "endpoint", "relay", "rtt_ms", "nat_type",
	    "full_cone", "last_handshake", "rx_bytes", 0, "tx_bytes", 0, "peer_id",
	    "b0b0b0b0b0b0b0b0", "name", "bob", "virtual_ip", "10.66.0.3", "virtual_ip6",
	    "fd4c:5247:6c61::a42:3", "self", 0, "state", "connected", "path", "direct", "endpoint",
	    "198.51.100.20:51820", "relay", "rtt_ms", 12.5, "nat_type", "port_restricted_cone",
	    "last_handshake", "2026-11-21T20:00:00.000Z", "rx_bytes", 1234, "tx_bytes", 5678,
	    "peer_id", "c0c0c0c0c0c0c0c0", "name", "carol", "virtual_ip", "10.66.0.4",
	    "virtual_ip6", "fd4c:5247:6c61::a42:4", "self", 0, "state", "connecting", "path",
	    "relay", "endpoint", "relay", "eu-1", "rtt_ms", "nat_type", "symmetric",
	    "last_handshake", "rx_bytes", 0, "tx_bytes", 0);
}

static json_t *stub_nat(void *ctx)
{
	return json_pack("{s:s, s:s, s:s, s:[s], s:[s], s:s, s:s}", "type", "full_cone",
	                 "public_endpoint", "203.0.113.7:51820", "global_endpoint",
	                 "[2001:db8:7::10]:51820", "local_endpoints", "192.168.1.10:51820",
	                 "stun_servers", "198.51.100.1:3478", "detected_at",
	                 "2026-11-21T20:00:00.000Z", "detail", "RFC 5780 discovery");
}

static json_t *joined(struct stub *s)
{
	json_t *p = party_json(s);

	json_object_set_new(p, "virtual_ip", json_string("10.66.0.2"));
	return p;
}

static void stub_create(void *ctx, struct api_req *req, const char *name)
{
	struct stub *s = ctx;

	party_id_generate(s->party_id);
	snprintf(s->party_name, sizeof(s->party_name), "%s", name);
	s->in_party = s->is_host = true;
	finish_later(s, req, 20, 200, joined(s));
}

static void stub_join(void *ctx, struct api_req *req, const char *party_id)
{
	struct stub *s = ctx;

	if (strcmp(party_id, "0000-0000-0000-0000") == 0) {
		api_fail(req, 404, "no party %s", party_id);
		return;
	}
	snprintf(s->party_id, sizeof(s->party_id), "%s", party_id);
	snprintf(s->party_name, sizeof(s->party_name), "Friday LAN");
	s->in_party = true;
	s->is_host = false;
	finish_later(s, req, 20, 200, joined(s));
}

static void stub_leave(void *ctx, struct api_req *req)
{
	struct stub *s = ctx;

	if (!s->in_party) {
		api_fail(req, 409, "not in a party");
		return;
	}
	s->in_party = false;
	api_finish(req, 200, json_pack("{s:s, s:s}", "status", "left", "party_id", s->party_id));
}

static void stub_ping(void *ctx, struct api_req *req, const char *peer, unsigned count)
{
	struct stub *s = ctx;
	bool bob = strcmp(peer, "bob") == 0 || strcmp(peer, "10.66.0.3") == 0;
	json_t *rtts = json_array();

	if (!s->in_party || (!bob && strcmp(peer, "carol") != 0)) {
		json_decref(rtts);
		api_fail(req, 404, "no member `%s' in the party", peer);
		return;
	}
	for (unsigned i = 0; bob && i < count; i++)
		json_array_append_new(rtts, json_real(10.0 + i));
	finish_later(s, req, 5 * (int)count, 200,
	             json_pack("{s:s, s:s, s:s, s:i, s:i, s:o, s:f, s:f, s:f}", "peer_id",
	                       bob ? "b0b0b0b0b0b0b0b0" : "c0c0c0c0c0c0c0c0", "name",
	                       bob ? "bob" : "carol", "path", bob ? "direct" : "relay", "sent",
	                       count, "received", bob ? count : 0, "rtts_ms", rtts, "min_ms",
	                       bob ? 10.0 : 0.0, "avg_ms", bob ? 10.0 + (count - 1) / 2.0 : 0.0,
	                       "max_ms", bob ? 10.0 + count - 1 : 0.0));
}

/* As the daemon would: a stored value takes effect unless the file or a flag sets the key. */
static void stub_setting_changed(void *ctx, const char *key)
{
	struct stub *s = ctx;
	enum config_key k;
	errmsg err;

	if (config_key_lookup(key, &k) && config_apply_stored(&s->cfg, s->settings, k, err) < 0)
		fprintf(stderr, "api_stub: %s\n", err);
}

static const struct daemon_config *stub_config(void *ctx)
{
	return &((struct stub *)ctx)->cfg;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopbreak(arg);
}

int main(int argc, char **argv)
{
	static struct stub s;
	struct api_backend backend = {
		.status = stub_status,
		.peers = stub_peers,
		.nat = stub_nat,
		.party_create = stub_create,
		.party_join = stub_join,
		.party_leave = stub_leave,
		.ping = stub_ping,
		.setting_changed = stub_setting_changed,
		.config = stub_config,
		.ctx = &s,
	};
	char token_path[PATH_MAX + 16], port[16];
	struct event *term;
	struct api *api;
	struct addr a;
	errmsg err;
	int ret;

	if (argc < 2) {
		fprintf(stderr, "Usage: api_stub PORT_FILE [lanraged flags...]\n");
		return 2;
	}
	log_init("api_stub");
	signal(SIGPIPE, SIG_IGN);
	if (!rand_init())
		return 1;
	ret = config_load(&s.cfg, argc - 1, argv + 1, &s.settings, err);
	if (ret != 0) {
		if (ret < 0)
			fprintf(stderr, "api_stub: %s\n", err);
		return ret < 0 ? 1 : 0;
	}
	s.base = event_base_new();
	snprintf(token_path, sizeof(token_path), "%s/api.token", s.cfg.state_dir);
	api = api_create(s.base, &s.cfg.api_addr, token_path, s.settings, &backend, err);
	if (!api) {
		fprintf(stderr, "api_stub: %s\n", err);
		return 1;
	}
	api_get_addr(api, &a);
	snprintf(port, sizeof(port), "%u\n", addr_port(&a));
	if (file_write_atomic(argv[1], port, strlen(port), 0644) < 0)
		return 1;
	term = evsignal_new(s.base, SIGTERM, on_signal, s.base);
	event_add(term, NULL);
	event_base_dispatch(s.base);
	event_free(term);
	api_destroy(api);
	settings_close(s.settings);
	event_base_free(s.base);
	return 0;
}
