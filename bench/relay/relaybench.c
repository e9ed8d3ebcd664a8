/* relaybench.c - load and latency for lanrage-relay, and the plain forwarder it is measured
 * against. */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crypto/rand.h"
#include "nat/relay_frame.h"
#include "nat/relay_token.h"
#include "udp/udp.h"
#include "util/err.h"
#include "util/file.h"
#include "util/num.h"
#include "util/now.h"

/*
 *   relaybench fwd --listen ADDR:PORT --to ADDR:PORT
 *     The ceiling: recvmmsg a batch, sendmmsg it all to --to, nothing looked
 *     up; what comes from --to goes back to the last other sender (for ping).
 *   relaybench load (--relay ADDR:PORT --secret-file F | --plain ADDR:PORT --rx-port N)
 *                   --size N --seconds S [--rate PPS]
 *     Two members (tokens made here with the relay secret, bound like any
 *     member) or, for --plain, the same datagrams without binding: one thread
 *     sends data frames at --rate (or as fast as it can), one receives them;
 *     prints what arrived per second after a warm-up.
 *   relaybench ping (--relay ... --secret-file F | --plain ADDR:PORT --rx-port N | --direct)
 *                   --size N --count N [--dscp N]
 *     One frame there and its answer back, every millisecond; prints RTT
 *     percentiles.  Its members are others than load's, so that it can run
 *     beside a load; --dscp marks its frames (46: EF, as members mark their
 *     small packets, which the relay reads first).
 * Only loopback (or the namespace bench/relay/run makes) is used.
 */
enum { BATCH = 64, SLOT = 2048, WARMUP_MS = 200 };

static atomic_bool stop;

static void die(const char *msg)
{
	fprintf(stderr, "relaybench: %s\n", msg);
	exit(1);
}

static void open_sock(struct udp_socket *s, uint16_t port)
{
	/* Deep queues: this side must never be the one that drops. */
	struct addr any;

	if (!addr_parse(&any, "127.0.0.1:0", NULL))
		die("address");
	addr_set_port(&any, port);
	if (udp_open_addr(s, &any, 8 << 20, false) != 0)
		die("cannot open a UDP socket");
}

static bool wait_readable(const struct udp_socket *s, int ms)
{
	struct pollfd p = { .fd = s->fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

/* The ceiling forwarder. */
static int run_fwd(const struct addr *listen, const struct addr *to)
{
	static uint8_t bufs[BATCH][SLOT];
	struct udp_pkt in[BATCH], out[BATCH];
	struct udp_socket s;
	struct addr back;
	uint64_t forwarded = 0;

	addr_clear(&back);
	if (udp_open_addr(&s, listen, 1 << 20, false) != 0)
		die("fwd: cannot bind");
	printf("fwd listening port=%u\n", s.port);
	fflush(stdout);
	while (!atomic_load(&stop)) {
		int n, m = 0;

		if (!wait_readable(&s, 200))
			continue;
		for (int i = 0; i < BATCH; i++)
			in[i] = (struct udp_pkt){ .data = bufs[i], .cap = SLOT };
		n = udp_recv_batch(&s, in, BATCH);
		for (int i = 0; i < n; i++) {
			bool from_to = addr_equal(&in[i].addr, to);

			if (!from_to)
				back = in[i].addr;
			else if (!addr_is_set(&back))
				continue;
			out[m++] = (struct udp_pkt){ .data = in[i].data,
				                     .len = in[i].len,
				                     .addr = from_to ? back : *to };
		}
		if (m)
			forwarded += (uint64_t)udp_send_batch_nowait(&s, out, m, NULL);
	}
	printf("fwd forwarded=%llu\n", (unsigned long long)forwarded);
	udp_close(&s);
	return 0;
}

/* A member of the bench party, bound to the relay with a token made here. */
struct member {
	struct udp_socket s;
	uint8_t token[RELAY_TOKEN_LEN], key[MAC_KEY_LEN];
	uint32_t tag;
};

static void member_bind(struct member *m, const uint8_t token_key[MAC_KEY_LEN], const char *peer_id,
                        const struct addr *relay)
{
	struct relay_token_info info;
	uint8_t buf[RELAY_BIND_LEN], in[SLOT];

	if (!relay_token_info_set(&info, (uint32_t)(now_wall_ms() / 1000 + 3600), peer_id,
	                          "BENC-HBEN-CHBE-NCH0"))
		die("token");
	relay_token_create(m->token, token_key, &info);
	relay_session_key(m->key, token_key, m->token);
	m->tag = relay_tag(info.peer_id);
	for (int attempt = 0; attempt < 10; attempt++) {
		relay_create_bind(buf, m->token, (uint64_t)now_wall_ms() + (uint64_t)attempt,
		                  m->key);
		if (udp_send(&m->s, buf, sizeof(buf), relay) != 0)
			die("bind: send");
		while (wait_readable(&m->s, 1000)) {
			struct udp_pkt p = { .data = in, .cap = sizeof(in) };
			struct addr observed;
			uint64_t ts;

			if (udp_recv_batch(&m->s, &p, 1) == 1 &&
			    relay_consume_bind_ack(in, p.len, m->key, &ts, &observed) == RELAY_OK)
				return;
		}
	}
	die("the relay does not ack our binds (secret? address?)");
}

static void load_token_key(const char *path, uint8_t key[MAC_KEY_LEN])
{
	char *text = NULL;
	size_t len = 0;
	errmsg err;

	if (file_read_all(path, RELAY_SECRET_MAX, &text, &len) != 0)
		die("cannot read the secret file");
	if (!relay_token_key(key, text, len, err))
		die(err);
	free(text);
}

struct load {
	struct udp_socket *tx, *rx;
	struct addr dest;
	size_t size;
	uint64_t rate; /* datagrams per second offered; 0: as fast as it goes */
	uint32_t tag;
	uint64_t start_ms, end_ms;
	atomic_uint_fast64_t sent, received, received_in_window;
};

/*
 * The sender must outrun the forwarder, on one core shared with the
 * receiver: it hands the kernel GSO super-packets (UDP_SEGMENT), which
 * loopback splits into ordinary datagrams before the forwarder's socket.
 * Without GSO support it falls back to sendmmsg.
 */
static void *sender(void *arg)
{
	struct load *l = arg;
	size_t seg = RELAY_DATA_HDR_LEN + l->size, n = 65000 / seg;
	uint8_t *buf = malloc(n * seg);
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} ctl;
	struct sockaddr_in to;
	struct iovec iov;
	struct msghdr m = { 0 };
	struct cmsghdr *c;
	uint16_t gso;

	if (!buf)
		die("memory");
	if (n > UDP_GSO_MAX_SEGS)
		n = UDP_GSO_MAX_SEGS;
	if (getenv("RELAYBENCH_NO_GSO"))
		l->tx->gso = false;
	for (size_t i = 0; i < n; i++) {
		relay_create_data_header(buf + i * seg, l->tag);
		memset(buf + i * seg + RELAY_DATA_HDR_LEN, 0x42, l->size);
	}
	memcpy(&to, &l->dest.in4, sizeof(to));
	iov = (struct iovec){ .iov_base = buf, .iov_len = n * seg };
	m.msg_name = &to;
	m.msg_namelen = sizeof(to);
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = ctl.buf;
	m.msg_controllen = sizeof(ctl.buf);
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_UDP;
	c->cmsg_type = UDP_SEGMENT;
	c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
	gso = (uint16_t)seg;
	memcpy(CMSG_DATA(c), &gso, sizeof(gso));
	for (uint64_t start = now_mono_ns(), offered = 0; !atomic_load(&stop);) {
		/* Paced: never ahead of rate x elapsed, in runs of n. */
		if (l->rate && offered + n > (now_mono_ns() - start) / 1000 * l->rate / 1000000) {
			usleep(50);
			continue;
		}
		offered += n;
		if (l->tx->gso && n > 1 && sendmsg(l->tx->fd, &m, MSG_DONTWAIT) >= 0) {
			atomic_fetch_add(&l->sent, n);
		} else {
			struct udp_pkt batch[UDP_GSO_MAX_SEGS];

			for (size_t i = 0; i < n; i++)
				batch[i] =
				    (struct udp_pkt){ .data = buf, .len = seg, .addr = l->dest };
			atomic_fetch_add(
			    &l->sent, (uint64_t)udp_send_batch_nowait(l->tx, batch, (int)n, NULL));
		}
	}
	free(buf);
	return NULL;
}

static void *receiver(void *arg)
{
	struct load *l = arg;
	static uint8_t bufs[BATCH][SLOT];
	struct udp_pkt in[BATCH];

	while (!atomic_load(&stop)) {
		uint64_t now;
		int n;

		if (!wait_readable(l->rx, 100))
			continue;
		for (int i = 0; i < BATCH; i++)
			in[i] = (struct udp_pkt){ .data = bufs[i], .cap = SLOT };
		n = udp_recv_batch(l->rx, in, BATCH);
		if (n <= 0)
			continue;
		now = now_mono_ms();
		atomic_fetch_add(&l->received, (uint64_t)n);
		if (now >= l->start_ms && now < l->end_ms)
			atomic_fetch_add(&l->received_in_window, (uint64_t)n);
	}
	return NULL;
}

static int run_load(const struct addr *relay, const uint8_t *token_key, const struct addr *plain,
                    uint16_t rx_port, size_t size, unsigned seconds, uint64_t rate)
{
	struct member a = { 0 }, b = { 0 };
	struct load l = { .tx = &a.s, .rx = &b.s, .size = size, .rate = rate };
	pthread_t ts, tr;
	double window;

	open_sock(&a.s, 0);
	open_sock(&b.s, rx_port);
	if (relay) {
		member_bind(&a, token_key, "0a0a0a0a0a0a0a0a", relay);
		member_bind(&b, token_key, "0b0b0b0b0b0b0b0b", relay);
		l.dest = *relay;
		l.tag = b.tag;
	} else {
		/* The plain forwarder sends everything to B's port (its --to). */
		l.dest = *plain;
		l.tag = 0x0b0b0b0b;
	}
	l.start_ms = now_mono_ms() + WARMUP_MS;
	l.end_ms = l.start_ms + (uint64_t)seconds * 1000;
	if (pthread_create(&tr, NULL, receiver, &l) != 0 ||
	    pthread_create(&ts, NULL, sender, &l) != 0)
		die("threads");
	while (now_mono_ms() < l.end_ms + 100)
		usleep(20000);
	atomic_store(&stop, true);
	pthread_join(ts, NULL);
	pthread_join(tr, NULL);
	window = (double)(l.end_ms - l.start_ms) / 1000.0;
	printf("load size=%zu rate=%llu seconds=%.1f sent=%llu received=%llu received_pps=%.0f\n",
	       size, (unsigned long long)rate, window, (unsigned long long)atomic_load(&l.sent),
	       (unsigned long long)atomic_load(&l.received),
	       (double)atomic_load(&l.received_in_window) / window);
	udp_close(&a.s);
	udp_close(&b.s);
	return 0;
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

/* One leg: send pkt from `from` to `to`, receive it on `at`; false on a timeout. */
static bool leg(struct udp_socket *from, const struct addr *to, struct udp_socket *at,
                const uint8_t *pkt, size_t len, uint8_t *in)
{
	struct udp_pkt p = { .data = in, .cap = SLOT };

	if (udp_send(from, pkt, len, to) != 0)
		return false;
	while (wait_readable(at, 1000)) {
		if (udp_recv_batch(at, &p, 1) == 1 && p.len == len)
			return true;
		p = (struct udp_pkt){ .data = in, .cap = SLOT };
	}
	return false;
}

static int run_ping(const struct addr *relay, const uint8_t *token_key, const struct addr *plain,
                    uint16_t rx_port, size_t size, unsigned count, int dscp)
{
	struct member a = { 0 }, b = { 0 };
	static uint8_t pa[SLOT], pb[SLOT], in[SLOT];
	uint64_t *rtt = calloc(count, sizeof(*rtt));
	struct addr to_b, to_a;
	unsigned lost = 0, n = 0;
	size_t len = RELAY_DATA_HDR_LEN + size;

	if (!rtt)
		die("memory");
	open_sock(&a.s, 0);
	open_sock(&b.s, rx_port);
	if (dscp && (udp_set_dscp(&a.s, dscp) < 0 || udp_set_dscp(&b.s, dscp) < 0))
		die("--dscp: cannot mark");
	if (relay) {
		member_bind(&a, token_key, "0c0c0c0c0c0c0c0c", relay);
		member_bind(&b, token_key, "0d0d0d0d0d0d0d0d", relay);
		to_a = to_b = *relay;
	} else if (plain) {
		/* The forwarder sends to B's port (its --to) and learns A from A's datagrams. */
		to_a = to_b = *plain;
	} else {
		if (!addr_parse(&to_b, "127.0.0.1:0", NULL))
			die("address");
		to_a = to_b;
		addr_set_port(&to_b, b.s.port);
		addr_set_port(&to_a, a.s.port);
	}
	relay_create_data_header(pa, b.tag);
	relay_create_data_header(pb, a.tag);
	memset(pa + RELAY_DATA_HDR_LEN, 0x61, size);
	memset(pb + RELAY_DATA_HDR_LEN, 0x62, size);
	for (unsigned i = 0; i < count; i++) {
		uint64_t t0 = now_mono_ns();

		if (leg(&a.s, &to_b, &b.s, pa, len, in) && leg(&b.s, &to_a, &a.s, pb, len, in))
			rtt[n++] = now_mono_ns() - t0;
		else
			lost++;
		usleep(1000);
	}
	qsort(rtt, n, sizeof(*rtt), cmp_u64);
	if (n)
		printf("ping size=%zu count=%u lost=%u p50_us=%.1f p90_us=%.1f p99_us=%.1f\n", size,
		       n, lost, (double)rtt[n / 2] / 1e3, (double)rtt[n * 9 / 10] / 1e3,
		       (double)rtt[n * 99 / 100] / 1e3);
	else
		printf("ping size=%zu count=0 lost=%u\n", size, lost);
	free(rtt);
	udp_close(&a.s);
	udp_close(&b.s);
	return n ? 0 : 1;
}

static void on_term(int sig)
{
	atomic_store(&stop, true);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "to", required_argument, NULL, 't' },
		{ "relay", required_argument, NULL, 'r' },
		{ "plain", required_argument, NULL, 'p' },
		{ "secret-file", required_argument, NULL, 'k' },
		{ "direct", no_argument, NULL, 'd' },
		{ "size", required_argument, NULL, 's' },
		{ "seconds", required_argument, NULL, 'S' },
		{ "count", required_argument, NULL, 'c' },
		{ "rx-port", required_argument, NULL, 'R' },
		{ "rate", required_argument, NULL, 'q' },
		{ "dscp", required_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 },
	};
	struct addr listen, to, relay, plain;
	bool have_listen = false, have_to = false, have_relay = false, have_plain = false;
	uint8_t token_key[MAC_KEY_LEN];
	const char *secret = NULL, *mode;
	uint64_t size = 64, seconds = 5, count = 1000, rx_port = 0, rate = 0, dscp = 0;
	int opt;

	if (argc < 2 || !rand_init())
		die("usage: relaybench fwd|load|ping [options] (see the source's first comment)");
	mode = argv[1];
	argc--;
	argv++;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		bool ok = true;

		switch (opt) {
		case 'l':
			ok = have_listen = addr_parse(&listen, optarg, NULL);
			break;
		case 't':
			ok = have_to = addr_parse(&to, optarg, NULL);
			break;
		case 'r':
			ok = have_relay = addr_parse(&relay, optarg, NULL);
			break;
		case 'p':
			ok = have_plain = addr_parse(&plain, optarg, NULL);
			break;
		case 'k':
			secret = optarg;
			break;
		case 'd':
			break;
		case 's':
			ok = num_parse_u64(optarg, RELAY_PAYLOAD_MIN, 1500, &size);
			break;
		case 'S':
			ok = num_parse_u64(optarg, 1, 600, &seconds);
			break;
		case 'c':
			ok = num_parse_u64(optarg, 1, 1000000, &count);
			break;
		case 'R':
			ok = num_parse_u64(optarg, 1, 65535, &rx_port);
			break;
		case 'q':
			ok = num_parse_u64(optarg, 0, 100000000, &rate);
			break;
		case 'D':
			ok = num_parse_u64(optarg, 0, 63, &dscp);
			break;
		default:
			ok = false;
		}
		if (!ok)
			die("bad option");
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	if (have_relay) {
		if (!secret)
			die("--relay needs --secret-file");
		load_token_key(secret, token_key);
	}
	if (strcmp(mode, "fwd") == 0) {
		if (!have_listen || !have_to)
			die("fwd needs --listen and --to");
		return run_fwd(&listen, &to);
	}
	if (strcmp(mode, "load") == 0)
		return run_load(have_relay ? &relay : NULL, token_key, have_plain ? &plain : NULL,
		                (uint16_t)rx_port, (size_t)size, (unsigned)seconds, rate);
	if (strcmp(mode, "ping") == 0)
		return run_ping(have_relay ? &relay : NULL, token_key, have_plain ? &plain : NULL,
		                (uint16_t)rx_port, (size_t)size, (unsigned)count, (int)dscp);
	die("mode: fwd, load or ping");
	return 2;
}
