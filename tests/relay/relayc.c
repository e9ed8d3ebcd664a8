/* relayc.c - a relay test client: the member's relay core over a real UDP socket. */
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control/control_client.h"
#include "control/party_id.h"
#include "crypto/key.h"
#include "crypto/rand.h"
#include "crypto/secret.h"
#include "nat/relay_client.h"
#include "nat/relay_token.h"
#include "udp/udp.h"
#include "util/err.h"
#include "util/file.h"
#include "util/log.h"
#include "util/num.h"
#include "util/now.h"

/*
 * Two modes, both for tests/relay/lab.sh:
 *
 *   relayc member --control URL --relay ADDR:PORT (--create NAME | --join-file PATH) ...
 *     registers a fresh key with the control server, creates or joins a party,
 *     fetches a relay token, binds to the relay with the client core
 *     (src/nat/relay_client.c) and sends numbered data frames to another
 *     member's tag; prints one line per event and received frame, and its
 *     counters when it ends (SIGTERM or --run-for).  SIGUSR1 moves it to a
 *     new local port with the same token, as a NAT that rebinds would.
 *
 *   relayc raw --relay ADDR:PORT (--hex HEX | --file PATH) [--count N]
 *     sends bytes as they are (an unauthenticated sender, a replayed bind) and
 *     prints what comes back.
 */
enum { BATCH = 16, SLOT = 2048, TIMER_IDLE_MS = 1000 };

struct relayc {
	struct event_base *base;
	struct control_client *ctl;
	struct udp_socket sock;
	struct event *rx_ev, *core_ev, *send_ev, *end_ev, *hop_ev, *sigterm, *delay_ev;
	struct relay_client core;
	struct addr relay;
	char party_id[PARTY_ID_LEN + 1];
	const char *party_file, *join_file, *id_file, *send_to_file, *save_bind, *create_name;
	uint32_t peer_tag;
	bool have_peer;
	bool forge, unbind_at_exit, saved_bind;
	unsigned interval_ms, size, bind_delay_ms, run_for_ms;
	uint16_t port;
	uint64_t seq, sent, received, sent_fail;
	uint32_t rx_tags[8];
	uint64_t rx_per_tag[8];
	uint64_t last_seq_from_peer;
	uint64_t hops;
	int exit_code;
	uint8_t bufs[BATCH][SLOT];
};

static void out(const char *fmt, ...) PRINTF_FMT(1, 2);
static void out(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void quit(struct relayc *rc, int code, const char *why)
{
	if (why)
		out("error %s", why);
	rc->exit_code = code;
	event_base_loopbreak(rc->base);
}

static int sock_send(void *ctx, const struct endpoint *to, const uint8_t *buf, size_t len)
{
	struct relayc *rc = ctx;

	/* The first bind is kept for the replay test; the ack then tells us it was ours. */
	if (rc->save_bind && !rc->saved_bind && len == RELAY_BIND_LEN && buf[0] == RELAY_BIND) {
		if (file_write_atomic(rc->save_bind, buf, len, 0600) == 0)
			rc->saved_bind = true;
	}
	return udp_send_endpoint(&rc->sock, buf, len, to);
}

static void arm(struct event *ev, uint64_t ms)
{
	struct timeval tv = { .tv_sec = (time_t)(ms / 1000), .tv_usec = (long)(ms % 1000) * 1000 };

	event_add(ev, &tv);
}

static void run_core(struct relayc *rc)
{
	uint64_t now = now_mono_ns(), next = relay_client_timer(&rc->core, now, now_wall_ms());
	uint64_t ms =
	    next == UINT64_MAX ? TIMER_IDLE_MS : (next > now ? (next - now) / NS_PER_MS : 0);

	arm(rc->core_ev, ms + 1);
}

static void on_core_timer(evutil_socket_t fd, short what, void *arg)
{
	run_core(arg);
}

static void on_event(void *ctx, const struct relay_event *ev)
{
	char a[ADDR_STRLEN], o[ADDR_STRLEN];

	switch (ev->type) {
	case RELAY_EV_BOUND:
		out("bound relay=%s rtt_ms=%.3f observed=%s first=%d", addr_format(ev->addr, a),
		    (double)ev->rtt_ns / 1e6, addr_format(ev->observed, o), ev->first);
		break;
	case RELAY_EV_LOST:
		out("lost relay=%s", addr_format(ev->addr, a));
		break;
	case RELAY_EV_REFUSED:
		out("refused relay=%s code=%s", addr_format(ev->addr, a),
		    relay_error_name(ev->code));
		break;
	case RELAY_EV_NOT_HERE:
		out("not_here relay=%s tag=%08x", addr_format(ev->addr, a), ev->tag);
		break;
	}
}

static void count_rx(struct relayc *rc, uint32_t tag, const uint8_t *payload, size_t len)
{
	size_t i;

	rc->received++;
	for (i = 0; i < 8 && rc->rx_per_tag[i] && rc->rx_tags[i] != tag; i++)
		;
	if (i < 8) {
		rc->rx_tags[i] = tag;
		rc->rx_per_tag[i]++;
	}
	if (len >= 8) {
		uint64_t seq = 0;

		for (int k = 0; k < 8; k++)
			seq = seq << 8 | payload[k];
		if (rc->have_peer && tag == rc->peer_tag)
			rc->last_seq_from_peer = seq;
		/* The first frames of a sender and then every 10th, so the log stays short. */
		if (i == 8 || rc->rx_per_tag[i] <= 3 || rc->rx_per_tag[i] % 10 == 0)
			out("recv from_tag=%08x seq=%llu len=%zu count=%llu", tag,
			    (unsigned long long)seq, len,
			    (unsigned long long)(i < 8 ? rc->rx_per_tag[i] : 0));
	}
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct relayc *rc = arg;
	struct udp_pkt pkts[BATCH];
	int n;

	for (int i = 0; i < BATCH; i++)
		pkts[i] = (struct udp_pkt){ .data = rc->bufs[i], .cap = SLOT };
	n = udp_recv_batch(&rc->sock, pkts, BATCH);
	for (int i = 0; i < n; i++) {
		const struct udp_pkt *p = &pkts[i];

		if (p->len > RELAY_DATA_HDR_LEN && p->data[0] == RELAY_DATA &&
		    relay_client_find(&rc->core, &p->addr) >= 0) {
			count_rx(rc, relay_data_tag(p->data), p->data + RELAY_DATA_HDR_LEN,
			         p->len - RELAY_DATA_HDR_LEN);
		} else if (relay_is(p->data, p->len)) {
			relay_client_input(&rc->core, p->data, p->len, &p->addr, now_mono_ns(),
			                   now_wall_ms());
		}
	}
	run_core(rc);
}

/* Reads a peer id from a file another relayc wrote; its tag. */
static bool read_peer(struct relayc *rc)
{
	char *text = NULL;
	size_t len = 0;
	bool ok;

	if (rc->have_peer)
		return true;
	if (!rc->send_to_file || file_read_all(rc->send_to_file, 64, &text, &len) != 0)
		return false;
	while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
		text[--len] = '\0';
	ok = relay_tag_from_peer_id(text, &rc->peer_tag);
	free(text);
	if (ok) {
		rc->have_peer = true;
		out("sending to tag=%08x", rc->peer_tag);
	}
	return ok;
}

static void on_send(evutil_socket_t fd, short what, void *arg)
{
	struct relayc *rc = arg;
	uint8_t pkt[RELAY_DATA_HDR_LEN + 1500];
	size_t len = RELAY_DATA_HDR_LEN + rc->size;

	if (read_peer(rc) && relay_client_link(&rc->core, 0) &&
	    relay_client_link(&rc->core, 0)->state == RELAY_LINK_BOUND) {
		uint64_t seq = ++rc->seq;

		relay_create_data_header(pkt, rc->peer_tag);
		memset(pkt + RELAY_DATA_HDR_LEN, 0x5a, rc->size);
		for (int k = 0; k < 8; k++)
			pkt[RELAY_DATA_HDR_LEN + k] = (uint8_t)(seq >> (56 - 8 * k));
		if (udp_send(&rc->sock, pkt, len, &rc->relay) == 0)
			rc->sent++;
		else
			rc->sent_fail++;
	}
	arm(rc->send_ev, rc->interval_ms);
}

static int open_socket(struct relayc *rc)
{
	int ret = udp_open(&rc->sock, rc->port, 0);

	if (ret)
		return ret;
	rc->rx_ev = event_new(rc->base, rc->sock.fd, EV_READ | EV_PERSIST, on_readable, rc);
	if (!rc->rx_ev || event_add(rc->rx_ev, NULL) != 0)
		return -ENOMEM;
	out("socket port=%u", rc->sock.port);
	return 0;
}

/* SIGUSR1: NAT rebinding by hand, the same token from a new port (our NAT maps it anew). */
static void on_hop(evutil_socket_t fd, short what, void *arg)
{
	struct relayc *rc = arg;
	uint16_t old = rc->sock.port;

	event_free(rc->rx_ev);
	rc->rx_ev = NULL;
	udp_close(&rc->sock);
	rc->port = 0;
	if (open_socket(rc) != 0) {
		quit(rc, 1, "cannot reopen the socket");
		return;
	}
	rc->hops++;
	out("hop from_port=%u to_port=%u", old, rc->sock.port);
}

static void print_stats(struct relayc *rc)
{
	const struct relay_link *l = relay_client_link(&rc->core, 0);

	for (size_t i = 0; i < 8 && rc->rx_per_tag[i]; i++)
		out("rx_from tag=%08x count=%llu", rc->rx_tags[i],
		    (unsigned long long)rc->rx_per_tag[i]);
	out("stats sent=%llu received=%llu last_seq_from_peer=%llu binds=%llu acks=%llu "
	    "errors=%llu state=%s hops=%llu",
	    (unsigned long long)rc->sent, (unsigned long long)rc->received,
	    (unsigned long long)rc->last_seq_from_peer, (unsigned long long)(l ? l->binds_tx : 0),
	    (unsigned long long)(l ? l->acks_rx : 0), (unsigned long long)(l ? l->errors_rx : 0),
	    l ? relay_link_state_name(l->state) : "none", (unsigned long long)rc->hops);
}

static void on_end(evutil_socket_t fd, short what, void *arg)
{
	struct relayc *rc = arg;

	if (rc->unbind_at_exit && relay_client_link(&rc->core, 0)) {
		relay_client_remove(&rc->core, 0, true, now_wall_ms());
		out("unbound");
	}
	quit(rc, 0, NULL);
}

static void start_relaying(struct relayc *rc)
{
	if (relay_client_add(&rc->core, &rc->relay, now_mono_ns()) != 0) {
		quit(rc, 1, "cannot add the relay");
		return;
	}
	run_core(rc);
	arm(rc->send_ev, rc->interval_ms);
	if (rc->run_for_ms)
		arm(rc->end_ev, rc->run_for_ms);
}

static void on_bind_delay(evutil_socket_t fd, short what, void *arg)
{
	start_relaying(arg);
}

static bool b64(const json_t *o, const char *key, uint8_t *buf, size_t cap, size_t *len)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s && sodium_base642bin(buf, cap, s, strlen(s), NULL, len, NULL,
	                              sodium_base64_VARIANT_ORIGINAL) == 0;
}

static void on_token(const struct control_reply *r, void *arg)
{
	struct relayc *rc = arg;
	uint8_t token[RELAY_TOKEN_LEN + 4], key[MAC_KEY_LEN + 4];
	size_t tlen = 0, klen = 0;

	if (r->status != 200) {
		out("token_error status=%d error=%s", r->status, r->error ? r->error : "");
		quit(rc, 1, NULL);
		return;
	}
	if (!b64(r->body, "token", token, sizeof(token), &tlen) ||
	    !b64(r->body, "session_key", key, sizeof(key), &klen) || klen != MAC_KEY_LEN) {
		quit(rc, 1, "malformed relay token reply");
		return;
	}
	/* A forged token: a later expiry written in, as someone without the secret would. */
	if (rc->forge)
		token[RELAY_TOKEN_EXPIRY_OFFSET] ^= 0x40;
	out("token tag=%s expires_at=%s%s", json_string_value(json_object_get(r->body, "tag")),
	    json_string_value(json_object_get(r->body, "expires_at")),
	    rc->forge ? " forged=1" : "");
	if (!relay_client_set_token(&rc->core, token, tlen, key, now_mono_ns())) {
		quit(rc, 1, "token of the wrong size");
		return;
	}
	secret_zero(key, sizeof(key));
	if (rc->bind_delay_ms) {
		arm(rc->delay_ev, rc->bind_delay_ms);
		return;
	}
	start_relaying(rc);
}

static void on_party(const struct control_reply *r, void *arg)
{
	struct relayc *rc = arg;
	const char *id;

	if (r->status != 200 && r->status != 201) {
		out("party_error status=%d error=%s", r->status, r->error ? r->error : "");
		quit(rc, 1, NULL);
		return;
	}
	id = json_string_value(json_object_get(r->body, "party_id"));
	snprintf(rc->party_id, sizeof(rc->party_id), "%s", id ? id : "");
	out("party %s", rc->party_id);
	if (rc->party_file &&
	    file_write_atomic(rc->party_file, rc->party_id, strlen(rc->party_id), 0644) != 0) {
		quit(rc, 1, "cannot write the party file");
		return;
	}
	if (control_relay_token(rc->ctl, rc->party_id, on_token, rc) != 0)
		quit(rc, 1, "cannot ask for a relay token");
}

static void on_registered(const struct control_reply *r, void *arg)
{
	struct relayc *rc = arg;
	const char *peer_id = control_client_peer_id(rc->ctl);
	struct peer_info self;
	int ret;

	if (r->status != 200) {
		out("register_error status=%d error=%s", r->status, r->error ? r->error : "");
		quit(rc, 1, NULL);
		return;
	}
	out("peer_id %s", peer_id);
	if (rc->id_file && file_write_atomic(rc->id_file, peer_id, strlen(peer_id), 0644) != 0) {
		quit(rc, 1, "cannot write the id file");
		return;
	}
	peer_info_init(&self);
	snprintf(self.name, sizeof(self.name), "relayc-%.8s", peer_id);
	if (rc->create_name) {
		ret = control_party_create(rc->ctl, rc->create_name, &self, on_party, rc);
	} else {
		char *text = NULL;
		size_t len = 0;

		if (file_read_all(rc->join_file, 64, &text, &len) != 0) {
			quit(rc, 1, "cannot read the party file");
			return;
		}
		ret = control_party_join(rc->ctl, text, &self, on_party, rc);
		free(text);
	}
	if (ret)
		quit(rc, 1, "cannot send the party request");
}

static void on_sigterm(evutil_socket_t fd, short what, void *arg)
{
	on_end(fd, what, arg);
}

static int raw_mode(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "relay", required_argument, NULL, 'r' },
		{ "hex", required_argument, NULL, 'x' },
		{ "file", required_argument, NULL, 'f' },
		{ "count", required_argument, NULL, 'n' },
		{ "wait-ms", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	uint8_t buf[2048], in[2048];
	size_t len = 0;
	uint64_t count = 1, wait_ms = 1500, n;
	struct udp_socket s;
	struct addr relay;
	unsigned replies = 0;
	bool have_relay = false;
	int opt;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			have_relay = addr_parse(&relay, optarg, NULL);
			break;
		case 'x':
			len = strlen(optarg) / 2;
			if (len > sizeof(buf) ||
			    sodium_hex2bin(buf, sizeof(buf), optarg, strlen(optarg), NULL, &len,
			                   NULL) != 0)
				return 2;
			break;
		case 'f': {
			char *text = NULL;

			if (file_read_all(optarg, sizeof(buf), &text, &len) != 0)
				return 2;
			memcpy(buf, text, len);
			free(text);
			break;
		}
		case 'n':
			if (!num_parse_u64(optarg, 1, 100000, &count))
				return 2;
			break;
		case 'w':
			if (!num_parse_u64(optarg, 0, 60000, &wait_ms))
				return 2;
			break;
		default:
			return 2;
		}
	}
	if (!have_relay || !len || udp_open(&s, 0, 0) != 0) {
		fprintf(stderr, "relayc raw: --relay ADDR:PORT and --hex or --file\n");
		return 2;
	}
	for (n = 0; n < count; n++) {
		if (udp_send(&s, buf, len, &relay) != 0)
			out("send_error");
	}
	out("sent count=%llu len=%zu", (unsigned long long)count, len);
	for (uint64_t end = now_mono_ms() + wait_ms; now_mono_ms() < end;) {
		struct udp_pkt p = { .data = in, .cap = sizeof(in) };
		int got = udp_recv_batch(&s, &p, 1);

		if (got <= 0) {
			usleep(10000);
			continue;
		}
		replies++;
		if (p.len == RELAY_ERROR_LEN && in[0] == RELAY_ERROR)
			out("reply error code=%s len=%zu", relay_error_name(in[1]), p.len);
		else
			out("reply type=%02x len=%zu", in[0], p.len);
	}
	out("replies %u", replies);
	udp_close(&s);
	return 0;
}

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: relayc member --control URL --relay ADDR:PORT (--create NAME | --join-file "
	    "PATH)\n"
	    "         [--party-file PATH] [--id-file PATH] [--send-to-file PATH] [--interval-ms "
	    "N]\n"
	    "         [--size N] [--port N] [--run-for-ms N] [--bind-delay-ms N]\n"
	    "         [--forge-token] [--save-bind PATH] [--unbind]   (SIGUSR1: a new port)\n"
	    "       relayc raw --relay ADDR:PORT (--hex HEX | --file PATH) [--count N] "
	    "[--wait-ms N]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "control", required_argument, NULL, 'c' },
		{ "relay", required_argument, NULL, 'r' },
		{ "create", required_argument, NULL, 'C' },
		{ "join-file", required_argument, NULL, 'J' },
		{ "party-file", required_argument, NULL, 'P' },
		{ "id-file", required_argument, NULL, 'I' },
		{ "send-to-file", required_argument, NULL, 'S' },
		{ "interval-ms", required_argument, NULL, 'i' },
		{ "size", required_argument, NULL, 's' },
		{ "port", required_argument, NULL, 'p' },
		{ "run-for-ms", required_argument, NULL, 'R' },
		{ "bind-delay-ms", required_argument, NULL, 'D' },
		{ "forge-token", no_argument, NULL, 'F' },
		{ "save-bind", required_argument, NULL, 'B' },
		{ "unbind", no_argument, NULL, 'U' },
		{ NULL, 0, NULL, 0 },
	};
	static struct relayc rc;
	struct send_ops ops = { .send = sock_send, .ctx = &rc };
	const char *control = NULL;
	wg_key priv;
	uint64_t n;
	errmsg err;
	int opt;

	setvbuf(stdout, NULL, _IOLBF, 0);
	log_init("relayc");
	if (argc < 2) {
		usage();
		return 2;
	}
	if (!rand_init())
		return 1;
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(argv[1], "raw") == 0)
		return raw_mode(argc - 1, argv + 1);
	if (strcmp(argv[1], "member") != 0) {
		usage();
		return 2;
	}
	argc--;
	argv++;
	rc.interval_ms = 50;
	rc.size = 64;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		bool ok = true;

		switch (opt) {
		case 'c':
			control = optarg;
			break;
		case 'r':
			ok = addr_parse(&rc.relay, optarg, err);
			break;
		case 'C':
			rc.create_name = optarg;
			break;
		case 'J':
			rc.join_file = optarg;
			break;
		case 'P':
			rc.party_file = optarg;
			break;
		case 'I':
			rc.id_file = optarg;
			break;
		case 'S':
			rc.send_to_file = optarg;
			break;
		case 'i':
			ok = num_parse_u64(optarg, 1, 60000, &n);
			rc.interval_ms = (unsigned)n;
			break;
		case 's':
			ok = num_parse_u64(optarg, 8, 1500, &n);
			rc.size = (unsigned)n;
			break;
		case 'p':
			ok = num_parse_u64(optarg, 0, 65535, &n);
			rc.port = (uint16_t)n;
			break;
		case 'R':
			ok = num_parse_u64(optarg, 1, 3600000, &n);
			rc.run_for_ms = (unsigned)n;
			break;
		case 'D':
			ok = num_parse_u64(optarg, 1, 3600000, &n);
			rc.bind_delay_ms = (unsigned)n;
			break;
		case 'F':
			rc.forge = true;
			break;
		case 'B':
			rc.save_bind = optarg;
			break;
		case 'U':
			rc.unbind_at_exit = true;
			break;
		default:
			usage();
			return 2;
		}
		if (!ok) {
			fprintf(stderr, "relayc: bad value `%s'\n", optarg);
			return 2;
		}
	}
	if (!control || !addr_is_set(&rc.relay) || (!rc.create_name == !rc.join_file)) {
		usage();
		return 2;
	}
	rc.base = event_base_new();
	rc.ctl = control_client_create(rc.base, control, err);
	if (!rc.base || !rc.ctl) {
		fprintf(stderr, "relayc: %s\n", err);
		return 1;
	}
	key_generate_private(priv);
	control_client_set_key(rc.ctl, priv);
	secret_zero(priv, sizeof(priv));
	if (relay_client_init(&rc.core, 1, NULL, &ops, on_event, &rc) != 0 ||
	    open_socket(&rc) != 0) {
		fprintf(stderr, "relayc: cannot open a UDP socket\n");
		return 1;
	}
	rc.core_ev = evtimer_new(rc.base, on_core_timer, &rc);
	rc.send_ev = evtimer_new(rc.base, on_send, &rc);
	rc.end_ev = evtimer_new(rc.base, on_end, &rc);
	rc.hop_ev = evsignal_new(rc.base, SIGUSR1, on_hop, &rc);
	event_add(rc.hop_ev, NULL);
	rc.delay_ev = evtimer_new(rc.base, on_bind_delay, &rc);
	rc.sigterm = evsignal_new(rc.base, SIGTERM, on_sigterm, &rc);
	event_add(rc.sigterm, NULL);
	if (control_register(rc.ctl, on_registered, &rc) != 0) {
		fprintf(stderr, "relayc: cannot register\n");
		return 1;
	}
	event_base_dispatch(rc.base);
	print_stats(&rc);
	relay_client_clear(&rc.core);
	control_client_destroy(rc.ctl);
	{
		struct event *evs[] = { rc.rx_ev,  rc.core_ev, rc.send_ev, rc.end_ev,
			                rc.hop_ev, rc.sigterm, rc.delay_ev };

		for (size_t i = 0; i < ARRAY_SIZE(evs); i++) {
			if (evs[i])
				event_free(evs[i]);
		}
	}
	udp_close(&rc.sock);
	event_base_free(rc.base);
	return rc.exit_code;
}
