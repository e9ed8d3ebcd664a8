/* main.c - lanrage-punch: gather candidates, swap them, punch a direct path to one peer, report. */
#include <event2/event.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/key.h"
#include "crypto/rand.h"
#include "crypto/secret.h"
#include "nat/ifaddr.h"
#include "nat/natsock.h"
#include "nat/traversal.h"
#include "punch/rendezvous.h"
#include "util/num.h"
#include "util/err.h"
#include "util/log.h"
#include "util/now.h"

enum {
	POLL_MS = 5,
	MAX_CANDS = PATH_MAX_CANDIDATES,
	DEFAULT_TIMEOUT_SEC = 15,
	/* Once both sides report a path: stay this long so ours reaches the peer too. */
	GRACE_MS = 500,
	/* With our path but no word from the peer: keep answering it this long. */
	DEFAULT_LINGER_MS = 3000,
};

struct punch {
	struct event_base *base;
	struct natsock sock;
	struct traversal trav;
	struct event *poll_ev, *deadline_ev, *grace_ev;
	const char *dir;
	wg_key peer_pub;
	int peer;
	bool use_local;
	unsigned linger_ms;
	struct addr mapped;
	struct addr local[MAX_CANDS], remote[MAX_CANDS];
	enum cand_kind local_kind[MAX_CANDS], remote_kind[MAX_CANDS];
	size_t n_local, n_remote;
	bool finishing;
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: lanrage-punch --key FILE --peer PUBKEY --rendezvous DIR [--stun ADDR:PORT]\n"
	    "                     [--port PORT] [--timeout SEC] [--linger MS] [--no-local]\n\n"
	    "Finds this host's candidates (local addresses, and the STUN-mapped one),\n"
	    "publishes them in DIR for the peer, reads the peer's, and probes every\n"
	    "candidate from both sides until a direct path answers.  Prints one JSON line\n"
	    "(direct or not, the path, time to the first pong, RTT) and exits 0 when a\n"
	    "direct path was found, 1 when not within --timeout (default %d s).\n",
	    DEFAULT_TIMEOUT_SEC);
}

static void finish(struct punch *pu)
{
	event_base_loopbreak(pu->base);
}

static void on_grace(evutil_socket_t fd, short what, void *arg)
{
	finish(arg);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	finish(arg);
}

static void arm_ms(struct event *ev, unsigned ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	evtimer_add(ev, &tv);
}

/* Path changes; when both ends have one, leave after a short grace. */
static void check_done(struct punch *pu)
{
	const struct path_peer *p;

	if (pu->peer < 0 || pu->finishing)
		return;
	p = &pu->trav.paths.peers[pu->peer];
	if (p->current >= 0 && p->peer_has_path) {
		pu->finishing = true;
		arm_ms(pu->grace_ev, GRACE_MS);
	}
}

static void on_path(void *ctx, const struct path_peer *p)
{
	struct punch *pu = ctx;
	const struct path_candidate *c = p->current >= 0 ? &p->cand[p->current] : NULL;
	char buf[ADDR_STRLEN];

	if (c)
		log_info("direct path to %s (%s)", addr_format(&c->ep.addr, buf),
		         cand_kind_name(c->kind));
	else
		log_info("no direct path");
	if (c && !pu->finishing && pu->linger_ms && !p->peer_has_path)
		arm_ms(pu->grace_ev, pu->linger_ms);
	check_done(pu);
}

static void on_packet(void *ctx, const uint8_t *pkt, size_t len, const struct addr *from,
                      uint64_t now_ns)
{
	struct punch *pu = ctx;
	struct endpoint ep;

	endpoint_from_addr(&ep, from);
	traversal_input(&pu->trav, pkt, len, &ep, now_ns);
	check_done(pu);
}

static uint64_t on_timer(void *ctx, uint64_t now_ns)
{
	struct punch *pu = ctx;

	return traversal_timer(&pu->trav, now_ns);
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct punch *pu = arg;
	struct endpoint eps[MAX_CANDS];
	errmsg err;
	int ret;

	ret = rendezvous_read(pu->dir, pu->peer_pub, pu->remote, pu->remote_kind, MAX_CANDS,
	                      &pu->n_remote, err);
	if (ret < 0) {
		log_error("%s", err);
		finish(pu);
		return;
	}
	if (ret == 0) {
		arm_ms(pu->poll_ev, POLL_MS);
		return;
	}
	for (size_t i = 0; i < pu->n_remote; i++)
		endpoint_from_addr(&eps[i], &pu->remote[i]);
	path_set_candidates(&pu->trav.paths, (size_t)pu->peer, eps, pu->remote_kind, pu->n_remote,
	                    now_mono_ns());
	natsock_kick(&pu->sock);
}

static void publish(struct punch *pu)
{
	errmsg err;
	int n = 0;

	if (pu->use_local) {
		n = ifaddr_list(pu->local, MAX_CANDS - 1, pu->sock.local.sa.sa_family, false,
		                addr_port(&pu->sock.local));
		if (n < 0)
			n = 0;
		for (int i = 0; i < n; i++)
			pu->local_kind[i] = CAND_LOCAL;
	}
	pu->n_local = (size_t)n;
	if (addr_is_set(&pu->mapped)) {
		pu->local[pu->n_local] = pu->mapped;
		pu->local_kind[pu->n_local++] = CAND_REFLEXIVE;
	}
	if (rendezvous_publish(pu->dir, pu->trav.paths.self_pub, pu->local, pu->local_kind,
	                       pu->n_local, err) < 0) {
		log_error("%s", err);
		finish(pu);
		return;
	}
	arm_ms(pu->poll_ev, 0);
}

static void on_gathered(void *ctx, const struct discovery_report *r)
{
	struct punch *pu = ctx;
	char buf[ADDR_STRLEN];

	if (addr_is_set(&r->mapped)) {
		pu->mapped = r->mapped;
		log_info("mapped endpoint %s", addr_format(&r->mapped, buf));
	} else {
		log_info("no mapped endpoint: %s", r->reason);
	}
	publish(pu);
}

static json_t *addr_json(const struct addr *a)
{
	char buf[ADDR_STRLEN];

	return addr_is_set(a) ? json_string(addr_format(a, buf)) : json_null();
}

static json_t *ms_json(uint64_t ns)
{
	return json_real((double)(ns / 1000) / 1000.0);
}

static void report(const struct punch *pu)
{
	const struct path_peer *p = pu->peer >= 0 ? &pu->trav.paths.peers[pu->peer] : NULL;
	const struct path_candidate *c = p && p->current >= 0 ? &p->cand[p->current] : NULL;
	json_t *root = json_object(), *cands = json_array();
	char fp[KEY_FINGERPRINT_LEN + 1];
	uint64_t dropped = 0;
	char *text;

	key_fingerprint(fp, pu->peer_pub);
	for (int v = 1; v < PROBE_VERDICT_COUNT; v++)
		dropped += pu->trav.paths.dropped[v];
	json_object_set_new(root, "peer", json_string(fp));
	json_object_set_new(root, "direct", json_boolean(c != NULL));
	json_object_set_new(root, "path", c ? addr_json(&c->ep.addr) : json_null());
	json_object_set_new(root, "path_kind",
	                    c ? json_string(cand_kind_name(c->kind)) : json_null());
	json_object_set_new(root, "first_pong_ms",
	                    p && p->first_pong_ns ? ms_json(p->first_pong_ns - p->first_ping_ns)
	                                          : json_null());
	json_object_set_new(root, "rtt_ms", c ? ms_json(c->srtt_ns) : json_null());
	json_object_set_new(root, "peer_has_path", json_boolean(p && p->peer_has_path));
	json_object_set_new(root, "mapped", addr_json(&pu->mapped));
	json_object_set_new(root, "observed_by_peer", p ? addr_json(&p->observed) : json_null());
	for (size_t i = 0; p && i < p->n_cand; i++) {
		const struct path_candidate *k = &p->cand[i];
		json_t *o = json_object();

		json_object_set_new(o, "endpoint", addr_json(&k->ep.addr));
		json_object_set_new(o, "kind", json_string(cand_kind_name(k->kind)));
		json_object_set_new(o, "pings", json_integer(k->pings));
		json_object_set_new(o, "pongs", json_integer(k->pongs));
		json_object_set_new(o, "rtt_ms", k->pongs ? ms_json(k->srtt_ns) : json_null());
		json_array_append_new(cands, o);
	}
	json_object_set_new(root, "candidates", cands);
	json_object_set_new(root, "pings_sent", json_integer(p ? (json_int_t)p->pings_tx : 0));
	json_object_set_new(root, "pongs_received", json_integer(p ? (json_int_t)p->pongs_rx : 0));
	json_object_set_new(root, "dropped", json_integer((json_int_t)dropped));
	text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9));
	if (text)
		printf("%s\n", text);
	free(text);
	json_decref(root);
}

int main(int argc, char **argv)
{
	static struct punch pu;
	const char *key_file = NULL, *peer = NULL, *stun = NULL;
	uint64_t port = 0, timeout = DEFAULT_TIMEOUT_SEC, linger = DEFAULT_LINGER_MS;
	struct addr bind_to, server;
	struct send_ops ops;
	wg_key priv;
	errmsg err;
	int ret = 2;

	log_init("lanrage-punch");
	pu.use_local = true;
	pu.peer = -1;
	addr_clear(&pu.mapped);
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(arg, "--no-local")) {
			pu.use_local = false;
			continue;
		}
		i++;
		if (!strcmp(arg, "--key") && val)
			key_file = val;
		else if (!strcmp(arg, "--peer") && val)
			peer = val;
		else if (!strcmp(arg, "--rendezvous") && val)
			pu.dir = val;
		else if (!strcmp(arg, "--stun") && val)
			stun = val;
		else if (!strcmp(arg, "--port") && num_parse_u64(val, 0, 65535, &port))
			continue;
		else if (!strcmp(arg, "--timeout") && num_parse_u64(val, 1, 3600, &timeout))
			continue;
		else if (!strcmp(arg, "--linger") && num_parse_u64(val, 0, 600000, &linger))
			continue;
		else {
			fprintf(stderr, "lanrage-punch: bad or missing value for `%s'\n\n", arg);
			usage(stderr);
			return 2;
		}
	}
	if (!key_file || !peer || !pu.dir) {
		usage(stderr);
		return 2;
	}
	pu.linger_ms = (unsigned)linger;
	if (!rand_init())
		return 1;
	if (key_load_file(key_file, priv, err) < 0 || !key_from_base64(pu.peer_pub, peer, err) ||
	    (stun && !addr_parse(&server, stun, err)) || !addr_parse(&bind_to, "0.0.0.0:0", err)) {
		fprintf(stderr, "lanrage-punch: %s\n", err);
		goto out_key;
	}
	addr_set_port(&bind_to, (uint16_t)port);

	ret = 1;
	pu.base = event_base_new();
	if (!pu.base)
		goto out_key;
	if (natsock_open(&pu.sock, pu.base, &bind_to, on_packet, on_timer, &pu, err) < 0) {
		fprintf(stderr, "lanrage-punch: %s\n", err);
		goto out_base;
	}
	ops = natsock_send_ops(&pu.sock);
	if (traversal_init(&pu.trav, &ops, priv, 1, (uint64_t)now_wall_ms() << 20, NULL, on_path,
	                   &pu) < 0)
		goto out_sock;
	pu.peer = path_add_peer(&pu.trav.paths, pu.peer_pub, now_mono_ns());
	if (pu.peer < 0) {
		fprintf(stderr, "lanrage-punch: cannot use peer key `%s'\n", peer);
		goto out_trav;
	}
	pu.poll_ev = evtimer_new(pu.base, on_poll, &pu);
	pu.deadline_ev = evtimer_new(pu.base, on_deadline, &pu);
	pu.grace_ev = evtimer_new(pu.base, on_grace, &pu);
	if (!pu.poll_ev || !pu.deadline_ev || !pu.grace_ev)
		goto out_events;
	arm_ms(pu.deadline_ev, (unsigned)timeout * 1000);

	if (stun) {
		struct discovery_config cfg;

		discovery_config_init(&cfg, &server);
		cfg.binding_only = true;
		if (traversal_discover(&pu.trav, &cfg, now_mono_ns(), on_gathered, &pu) < 0)
			goto out_events;
		natsock_kick(&pu.sock);
	} else {
		publish(&pu);
	}
	event_base_dispatch(pu.base);
	report(&pu);
	ret = path_current(&pu.trav.paths, (size_t)pu.peer) ? 0 : 1;
out_events:
	if (pu.poll_ev)
		event_free(pu.poll_ev);
	if (pu.deadline_ev)
		event_free(pu.deadline_ev);
	if (pu.grace_ev)
		event_free(pu.grace_ev);
out_trav:
	traversal_clear(&pu.trav);
out_sock:
	natsock_close(&pu.sock);
out_base:
	event_base_free(pu.base);
out_key:
	secret_zero(priv, sizeof(priv));
	return ret;
}
