/* relay.c - lanrage-relay: the socket, the packet loop, timers, metrics and registration. */
#include "relay/relay.h"

#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crypto/secret.h"
#include "nat/relay_token.h"
#include "nat/stun.h"
#include "util/err.h"
#include "util/file.h"
#include "util/log.h"
#include "util/now.h"

void relay_config_defaults(struct relay_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	if (!addr_parse(&cfg->listen, "[::]:51820", NULL) ||
	    !addr_parse(&cfg->metrics, "127.0.0.1:9180", NULL))
		abort();
	addr_clear(&cfg->public_ip);
	cfg->max_clients = ENGINE_DEFAULT_MAX_CLIENTS;
	cfg->stale_ms = ENGINE_DEFAULT_STALE_SEC * 1000ull;
	cfg->rate_pps = ENGINE_DEFAULT_RATE_PPS;
	cfg->metrics_on = true;
	cfg->stats_ms = RELAY_CONFIG_STATS_MS;
	cfg->stun_on = true;
	cfg->announce_ms = RELAY_CONFIG_ANNOUNCE_MS;
	snprintf(cfg->region, sizeof(cfg->region), "default");
}

/*
 * The secret file, as lanrage-control reads it (trailing spaces and newlines
 * trimmed), refused when others may read it.  *text is the trimmed secret
 * (the bearer for registration), which the caller zeroes and frees.
 */
static int load_secret(const char *path, uint8_t key[MAC_KEY_LEN], char **text, size_t *len,
                       char *err)
{
	struct stat st;
	int rc;

	*text = NULL;
	*len = 0;
	if (lstat(path, &st) != 0) {
		rc = -errno;
		err_set(err, "relay secret file %s: %s", path, strerror(errno));
		return rc;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077)) {
		err_set(err,
		        "relay secret file %s: must be a regular file that only its owner can read "
		        "(chmod 600)",
		        path);
		return -EPERM;
	}
	rc = file_read_all(path, RELAY_SECRET_MAX, text, len);
	if (rc) {
		err_set(err, "relay secret file %s: %s", path,
		        rc == -EFBIG ? "larger than 4096 bytes" : strerror(-rc));
		return rc;
	}
	if (!relay_token_key(key, *text, *len, err)) {
		err_prefix(err, "relay secret file %s", path);
		secret_zero(*text, *len);
		free(*text);
		*text = NULL;
		return -EINVAL;
	}
	*len = relay_secret_trim(*text, *len);
	return 0;
}

/* --block flags plus the block file; false (and the old list kept) when the file is bad. */
static bool load_blocklist(struct relay *r, struct blocklist *out, char *err)
{
	char *text = NULL;
	size_t len = 0;
	bool ok;
	int rc;

	if (r->cfg.block_flags)
		memcpy(out, r->cfg.block_flags, sizeof(*out));
	else
		out->n = 0;
	if (!r->cfg.block_file[0])
		return true;
	rc = file_read_all(r->cfg.block_file, BLOCKLIST_FILE_MAX, &text, &len);
	if (rc) {
		err_set(err, "block file %s: %s", r->cfg.block_file, strerror(-rc));
		return false;
	}
	ok = blocklist_parse(out, text, len, err);
	if (!ok)
		err_prefix(err, "block file %s", r->cfg.block_file);
	free(text);
	return ok;
}

static void on_sighup(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;
	struct blocklist *next = malloc(sizeof(*next));
	errmsg err;

	if (!next)
		return;
	if (!load_blocklist(r, next, err)) {
		log_error("SIGHUP: %s; keeping the %zu prefixes blocked now", err, r->block->n);
		free(next);
		return;
	}
	memcpy(r->block, next, sizeof(*next));
	free(next);
	log_info("SIGHUP: %zu prefixes blocked; %zu sessions ended", r->block->n,
	         engine_reblock(&r->engine));
}

static void handle_stun(struct relay *r, const struct udp_pkt *p, uint64_t now_ns)
{
	uint8_t out[STUN_MAX_LEN];
	unsigned out_sock;
	size_t out_len;
	struct endpoint to;

	if (!r->cfg.stun_on) {
		/* Neither a relay frame nor anything else we speak. */
		r->engine.stats.dropped[RELAY_DROP_MALFORMED]++;
		return;
	}
	if (stun_server_handle(&r->stun, 0, &p->addr, p->data, p->len, now_ns, out, sizeof(out),
	                       &out_len, &out_sock) != STUN_SERVER_REPLY) {
		r->engine.stats.stun_dropped++;
		return;
	}
	r->engine.stats.stun_requests++;
	endpoint_from_addr(&to, &p->addr);
	to.local = p->local; /* the answer comes from the address asked */
	if (udp_send_endpoint(&r->sock, out, out_len, &to) == 0) {
		r->engine.stats.packets_out++;
		r->engine.stats.bytes_out += out_len;
	} else {
		r->engine.stats.dropped[RELAY_DROP_SEND]++;
	}
}

/*
 * One batch of at most max datagrams in from sock (either of the two),
 * through the engine, one batch out.
 */
static int relay_batch(struct relay *r, struct udp_socket *sock, int max)
{
	struct relay_stats *st = &r->engine.stats;
	int first = RELAY_BATCH - max; /* the last max slots */
	uint64_t now_ns;
	int64_t wall_ms;
	int n, m = 0;

	n = udp_recv_prepared_from(sock, &r->rx_batch, first);
	if (n <= 0)
		return n;
	now_ns = now_mono_ns();
	wall_ms = now_wall_ms();
	if (sock == &r->prio) {
		st->priority_packets += (uint64_t)n;
		r->prio_seen_ns = now_ns;
	}
	for (int i = first; i < first + n; i++) {
		struct udp_pkt *p = &r->rx_pkts[i];
		struct engine_out *o = &r->outs[m];

		st->packets_in++;
		st->bytes_in += p->len;
		if (p->len == 0 || !addr_is_set(&p->addr)) {
			/* Truncated (longer than any frame) or from nowhere. */
			st->dropped[RELAY_DROP_MALFORMED]++;
			continue;
		}
		if (!relay_is(p->data, p->len)) {
			handle_stun(r, p, now_ns);
			continue;
		}
		engine_input(&r->engine, p->data, p->len, &p->addr, &p->local, now_ns, wall_ms, o);
		if (o->action == ENGINE_FORWARD) {
			/* The DSCP mark, not the ECN bits: those belong to the hop. */
			r->tx_pkts[m] = (struct udp_pkt){ .data = p->data,
				                          .len = p->len,
				                          .addr = o->to,
				                          .local = o->local,
				                          .tos = p->tos & 0xfc };
			r->tx_forward[m++] = true;
		} else if (o->action == ENGINE_REPLY) {
			r->tx_pkts[m] = (struct udp_pkt){ .data = o->reply,
				                          .len = o->reply_len,
				                          .addr = o->to,
				                          .local = o->local };
			r->tx_forward[m++] = false;
		}
	}
	if (m) {
		udp_send_batch_nowait(&r->sock, r->tx_pkts, m, r->tx_failed);
		for (int i = 0; i < m; i++) {
			if (r->tx_failed[i]) {
				st->dropped[RELAY_DROP_SEND]++;
				continue;
			}
			st->packets_out++;
			st->bytes_out += r->tx_pkts[i].len;
			if (r->tx_forward[i]) {
				st->forwarded_packets++;
				st->forwarded_bytes += r->tx_pkts[i].len;
			}
		}
	}
	return n;
}

/* A batch of at most max from sock; true when there may be more. */
static bool serve(struct relay *r, struct udp_socket *sock, int max)
{
	int n = relay_batch(r, sock, max);

	if (n < 0)
		log_ratelimited(LL_ERROR, "relay: receive: %s", strerror(-n));
	return n == max;
}

/* Whether a marked frame came in the last RELAY_PRIO_RECENT_MS. */
static bool prio_recent(const struct relay *r)
{
	return now_mono_ns() - r->prio_seen_ns < RELAY_PRIO_RECENT_MS * NS_PER_MS;
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;

	/*
	 * Bounded turns: timers and the metrics port are served between them.
	 * Before each batch of the backlog, what came in marked, at most as
	 * many (a flood of marked frames takes half the turns, no more).  A
	 * marked frame still waits for the batch under way, ~3 us a frame, so
	 * while marked frames come the batches are shorter.
	 */
	for (int round = 0; round < RELAY_ROUNDS; round++) {
		int max = RELAY_BATCH;

		if (r->prio.fd >= 0) {
			if (prio_recent(r))
				max = RELAY_PRIO_BULK_BATCH;
			serve(r, &r->prio, max);
			if (prio_recent(r))
				max = RELAY_PRIO_BULK_BATCH;
		}
		if (!serve(r, &r->sock, max))
			break;
	}
}

static void on_prio_readable(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;

	for (int round = 0; round < RELAY_ROUNDS && serve(r, &r->prio, RELAY_BATCH); round++)
		;
}

static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;
	size_t n = engine_sweep(&r->engine, now_mono_ns(), now_wall_ms());

	if (n)
		log_debug("relay: %zu sessions ended (stale or expired); %zu left", n,
		          engine_sessions(&r->engine));
}

static void on_stats(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;
	const struct relay_stats *s = &r->engine.stats, *o = &r->logged;
	char drops[512] = "";
	size_t used = 0;
	uint64_t dropped = 0, dropped_new = 0;

	for (int v = RELAY_OK + 1; v < RELAY_VERDICT_COUNT; v++) {
		uint64_t d = s->dropped[v] - o->dropped[v];

		dropped += s->dropped[v];
		dropped_new += d;
		if (d && used < sizeof(drops)) {
			int k = snprintf(
			    drops + used, sizeof(drops) - used, "%s%s %llu", used ? ", " : "",
			    relay_verdict_name((enum relay_verdict)v), (unsigned long long)d);

			if (k > 0)
				used += (size_t)k;
		}
	}
	log_info("stats: %zu sessions; last %llu s: in %llu, forwarded %llu (%llu bytes), dropped "
	         "%llu%s%s%s; since start: in %llu, forwarded %llu, dropped %llu",
	         engine_sessions(&r->engine), (unsigned long long)(r->cfg.stats_ms / 1000),
	         (unsigned long long)(s->packets_in - o->packets_in),
	         (unsigned long long)(s->forwarded_packets - o->forwarded_packets),
	         (unsigned long long)(s->forwarded_bytes - o->forwarded_bytes),
	         (unsigned long long)dropped_new, used ? " (" : "", drops, used ? ")" : "",
	         (unsigned long long)s->packets_in, (unsigned long long)s->forwarded_packets,
	         (unsigned long long)dropped);
	r->logged = *s;
}

static void sample(void *arg, const struct relay_stats **stats, struct metrics_gauges *g)
{
	struct relay *r = arg;

	*stats = &r->engine.stats;
	g->sessions = engine_sessions(&r->engine);
	g->max_sessions = r->cfg.max_clients;
	g->uptime_sec = (now_mono_ns() - r->started_ns) / NS_PER_SEC;
	g->registered = r->announcing ? (announce_registered(&r->announce) ? 1 : 0) : -1;
}

static struct event *timer(struct relay *r, event_callback_fn fn, uint64_t ms)
{
	struct timeval tv = { .tv_sec = (time_t)(ms / 1000), .tv_usec = (long)(ms % 1000) * 1000 };
	struct event *ev = event_new(r->base, -1, EV_PERSIST, fn, r);

	if (ev && event_add(ev, &tv) != 0) {
		event_free(ev);
		ev = NULL;
	}
	return ev;
}

static int write_port_file(const struct relay *r, char *err)
{
	char text[16];
	int n = snprintf(text, sizeof(text), "%u\n", r->sock.port), rc;

	if (!r->cfg.port_file[0])
		return 0;
	rc = file_write_atomic(r->cfg.port_file, text, (size_t)n, 0644);
	if (rc)
		err_set(err, "port file %s: %s", r->cfg.port_file, strerror(-rc));
	return rc;
}

static int start_announce(struct relay *r, const char *secret, size_t secret_len, char *err)
{
	char ip[ADDR_STRLEN];
	struct announce_config ac = {
		.url = r->cfg.control_url,
		.relay_id = r->cfg.relay_id,
		.region = r->cfg.region,
		.public_ip = addr_format_ip(&r->cfg.public_ip, ip),
		.port = r->sock.port,
		.capacity = (uint32_t)r->cfg.max_clients,
		.interval_ms = r->cfg.announce_ms,
	};

	if (!r->cfg.control_url[0])
		return 0;
	r->announcing = true;
	return announce_start(&r->announce, r->base, &ac, secret, secret_len, err);
}

/*
 * The port's two sockets, a SO_REUSEPORT group: small frames marked EF
 * (members mark their pings, game updates and voice so) come in on the
 * second and are served before the first's backlog (on_readable), the rest
 * on the first.  A TCP transfer through the relay keeps the first's queue
 * full, and a ping behind it waited milliseconds.  Without the group's
 * program, one socket.  0 or -errno with err.
 */
static int open_sockets(struct relay *r, char *err)
{
	struct udp_socket socks[2];
	char buf[ADDR_STRLEN];
	int rc;

	/* GRO off: every datagram is a frame of its own, looked up on its own. */
	rc = udp_open_addr_group(socks, 2, &r->cfg.listen, RELAY_CONFIG_SOCKET_BUFFER, false);
	if (rc) {
		err_set(err, "cannot listen on UDP %s: %s", addr_format(&r->cfg.listen, buf),
		        strerror(-rc));
		return rc;
	}
	r->sock = socks[0];
	r->prio = socks[1];
	rc = udp_group_lane(&r->sock, RELAY_PRIO_DSCP, RELAY_PRIO_MAX);
	if (rc) {
		log_info("no priority socket (%s): marked frames wait with the rest",
		         strerror(-rc));
		udp_close(&r->prio);
	}
	for (int i = 0; i < 2; i++) {
		struct udp_socket *s = i ? &r->prio : &r->sock;

		if (s->fd < 0)
			continue;
		/* Answers and forwards leave from the address each member reaches (multi-homed). */
		rc = udp_enable_pktinfo(s);
		if (rc)
			log_info("no destination addresses on receive (%s): the routing table "
			         "picks sources",
			         strerror(-rc));
		/*
		 * Forwards keep the DSCP mark a member gave them: the receiving
		 * member's priority lane takes only marked messages
		 * (src/wg/steer.h), and routers on the way may serve them first.
		 */
		rc = udp_enable_recvtos(s);
		if (rc)
			log_info("no TOS bytes on receive (%s): forwards go unmarked",
			         strerror(-rc));
	}
	return 0;
}

int relay_start(struct relay *r, const struct relay_config *cfg, struct event_base *base, char *err)
{
	struct engine_config ec = { 0 };
	struct stun_server_config sc = { .software = "LANrage relay " LANRAGE_VERSION };
	char *secret = NULL, buf[ADDR_STRLEN];
	size_t secret_len = 0;
	int rc;

	memset(r, 0, sizeof(*r));
	r->cfg = *cfg;
	r->base = base;
	r->sock.fd = -1;
	r->prio.fd = -1;
	r->started_ns = now_mono_ns();
	if (!cfg->secret_file[0]) {
		err_set(err,
		        "no relay secret (--relay-secret-file): the relay could not check tokens");
		return -EINVAL;
	}
	rc = load_secret(cfg->secret_file, ec.token_key, &secret, &secret_len, err);
	if (rc)
		return rc;
	r->block = malloc(sizeof(*r->block));
	r->bufs = malloc((size_t)RELAY_BATCH * RELAY_SLOT);
	if (!r->block || !r->bufs) {
		err_set(err, "out of memory");
		rc = -ENOMEM;
		goto err_mem;
	}
	if (!load_blocklist(r, r->block, err)) {
		rc = -EINVAL;
		goto err_mem;
	}
	for (int i = 0; i < RELAY_BATCH; i++) {
		r->rx_pkts[i].data = r->bufs + (size_t)i * RELAY_SLOT;
		r->rx_pkts[i].cap = RELAY_DATA_HDR_LEN + RELAY_PAYLOAD_MAX;
	}
	udp_rx_init(&r->rx_batch, r->rx_pkts, RELAY_BATCH);
	ec.max_clients = cfg->max_clients;
	ec.stale_ns = cfg->stale_ms * NS_PER_MS;
	ec.rate_pps = cfg->rate_pps;
	ec.rate_burst = cfg->rate_burst;
	rc = engine_init(&r->engine, &ec, r->block);
	secret_zero(ec.token_key, sizeof(ec.token_key));
	if (rc) {
		err_set(err, "cannot allocate %zu sessions: %s", cfg->max_clients, strerror(-rc));
		goto err_mem;
	}
	rc = open_sockets(r, err);
	if (rc)
		goto err_engine;
	if (cfg->stun_on) {
		sc.primary = cfg->listen;
		addr_set_port(&sc.primary, r->sock.port);
		if (!stun_server_init(&r->stun, &sc, err)) {
			rc = -EINVAL;
			goto err_sock;
		}
	}
	r->rx = event_new(base, r->sock.fd, EV_READ | EV_PERSIST, on_readable, r);
	if (r->prio.fd >= 0) {
		r->rx_prio = event_new(base, r->prio.fd, EV_READ | EV_PERSIST, on_prio_readable, r);
		if (!r->rx_prio || event_add(r->rx_prio, NULL) != 0) {
			err_set(err, "libevent: cannot add events");
			rc = -ENOMEM;
			goto err_events;
		}
	}
	r->sweep = timer(r, on_sweep, RELAY_SWEEP_MS);
	r->stats_timer = cfg->stats_ms ? timer(r, on_stats, cfg->stats_ms) : NULL;
	r->sighup = evsignal_new(base, SIGHUP, on_sighup, r);
	if (!r->rx || event_add(r->rx, NULL) != 0 || !r->sweep ||
	    (cfg->stats_ms && !r->stats_timer) || !r->sighup || event_add(r->sighup, NULL) != 0) {
		err_set(err, "libevent: cannot add events");
		rc = -ENOMEM;
		goto err_events;
	}
	if (cfg->metrics_on) {
		rc = metrics_start(&r->metrics, base, &cfg->metrics, sample, r, err);
		if (rc)
			goto err_events;
	}
	rc = write_port_file(r, err);
	if (rc)
		goto err_metrics;
	rc = start_announce(r, secret, secret_len, err);
	if (rc)
		goto err_metrics;
	secret_zero(secret, secret_len);
	free(secret);
	log_info("lanrage-relay %s on UDP %s port %u: up to %zu clients, %zu prefixes blocked%s%s",
	         LANRAGE_VERSION, addr_format_ip(&cfg->listen, buf), r->sock.port, cfg->max_clients,
	         r->block->n, cfg->stun_on ? ", STUN on the same port" : "",
	         r->prio.fd >= 0 ? ", small marked frames first" : "");
	if (cfg->metrics_on)
		log_info("metrics on http://%s:%u/metrics", addr_format_ip(&cfg->metrics, buf),
		         r->metrics.port);
	if (!cfg->control_url[0])
		log_info("standalone: not registering with a control server (--control URL)");
	return 0;
err_metrics:
	metrics_stop(&r->metrics);
err_events:
	if (r->rx)
		event_free(r->rx);
	if (r->rx_prio)
		event_free(r->rx_prio);
	if (r->sweep)
		event_free(r->sweep);
	if (r->stats_timer)
		event_free(r->stats_timer);
	if (r->sighup)
		event_free(r->sighup);
err_sock:
	udp_close(&r->sock);
	udp_close(&r->prio);
err_engine:
	engine_clear(&r->engine);
err_mem:
	free(r->block);
	free(r->bufs);
	if (secret) {
		secret_zero(secret, secret_len);
		free(secret);
	}
	r->block = NULL;
	r->bufs = NULL;
	return rc;
}

void relay_stop(struct relay *r)
{
	if (r->announcing)
		announce_stop(&r->announce);
	metrics_stop(&r->metrics);
	event_free(r->rx);
	if (r->rx_prio)
		event_free(r->rx_prio);
	event_free(r->sweep);
	if (r->stats_timer)
		event_free(r->stats_timer);
	event_free(r->sighup);
	udp_close(&r->sock);
	udp_close(&r->prio);
	engine_clear(&r->engine);
	free(r->block);
	free(r->bufs);
	log_info("lanrage-relay stopped");
}
