/* ping.c - ICMP echo over the virtual LAN. */
#include "daemon/ping.h"

#include <errno.h>
#include <event2/event.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crypto/rand.h"
#include "util/err.h"
#include "util/now.h"

enum { MAX_RUNS = 16 };

struct run {
	bool active;
	struct pinger *p;
	uint16_t id;
	struct addr to;
	unsigned count, next_seq;
	uint64_t sent_ns[PING_MAX_COUNT];
	struct ping_result res;
	struct event *ev; /* the next echo, then the final wait */
	ping_done_fn *done;
	void *arg;
};

struct pinger {
	int fd;
	struct event *rx;
	struct run runs[MAX_RUNS];
};

static uint16_t checksum(const void *data, size_t len)
{
	const uint8_t *b = data;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)b[i] << 8 | b[i + 1];
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

static void finish(struct run *r, int error)
{
	ping_done_fn *done = r->done;
	void *arg = r->arg;
	struct ping_result res = r->res;

	event_free(r->ev);
	r->ev = NULL;
	r->active = false;
	done(arg, &res, error);
}

static void send_echo(struct run *r)
{
	struct {
		struct icmphdr h;
		uint8_t payload[32];
	} pkt;
	unsigned seq = r->next_seq++;

	memset(&pkt, 0, sizeof(pkt));
	pkt.h.type = ICMP_ECHO;
	pkt.h.un.echo.id = htons(r->id);
	pkt.h.un.echo.sequence = htons((uint16_t)seq);
	memcpy(pkt.payload, "lanrage ping", 12);
	pkt.h.checksum = checksum(&pkt, sizeof(pkt));
	r->sent_ns[seq] = now_mono_ns();
	r->res.rtts_ms[seq] = -1;
	r->res.sent++;
	/* A send that fails (no route yet) counts as a lost echo. */
	(void)sendto(r->p->fd, &pkt, sizeof(pkt), MSG_DONTWAIT, &r->to.sa, sizeof(r->to.in4));
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct run *r = arg;
	struct timeval tv;

	if (r->next_seq < r->count) {
		send_echo(r);
		if (r->next_seq < r->count)
			tv = (struct timeval){ 0, PING_INTERVAL_MS * 1000 };
		else
			tv = (struct timeval){ PING_WAIT_MS / 1000, PING_WAIT_MS % 1000 * 1000 };
		evtimer_add(r->ev, &tv);
		return;
	}
	finish(r, 0);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct pinger *p = arg;
	uint8_t buf[1500];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		const struct iphdr *ip = (const struct iphdr *)buf;
		size_t hl = (size_t)ip->ihl * 4;
		const struct icmphdr *h;
		uint16_t id, seq;

		if ((size_t)n < sizeof(*ip) || hl < 20 || (size_t)n < hl + sizeof(*h))
			continue;
		h = (const struct icmphdr *)(buf + hl);
		if (h->type != ICMP_ECHOREPLY)
			continue;
		id = ntohs(h->un.echo.id);
		seq = ntohs(h->un.echo.sequence);
		for (int i = 0; i < MAX_RUNS; i++) {
			struct run *r = &p->runs[i];

			if (!r->active || r->id != id || seq >= r->next_seq ||
			    r->res.rtts_ms[seq] >= 0 || ip->saddr != r->to.in4.sin_addr.s_addr)
				continue;
			r->res.rtts_ms[seq] = (double)(now_mono_ns() - r->sent_ns[seq]) / NS_PER_MS;
			r->res.received++;
			if (r->res.received == r->count)
				finish(r, 0);
			break;
		}
	}
}

struct pinger *pinger_create(struct event_base *base, char *err)
{
	struct pinger *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP);
	if (p->fd < 0) {
		err_set(err, "ICMP socket: %s", strerror(errno));
		free(p);
		return NULL;
	}
	p->rx = event_new(base, p->fd, EV_READ | EV_PERSIST, on_readable, p);
	if (!p->rx || event_add(p->rx, NULL) < 0) {
		err_set(err, "ICMP socket: cannot watch it");
		pinger_destroy(p);
		return NULL;
	}
	for (int i = 0; i < MAX_RUNS; i++)
		p->runs[i].p = p;
	return p;
}

void pinger_destroy(struct pinger *p)
{
	if (!p)
		return;
	for (int i = 0; i < MAX_RUNS; i++) {
		if (p->runs[i].active)
			finish(&p->runs[i], -ECANCELED);
	}
	if (p->rx)
		event_free(p->rx);
	close(p->fd);
	free(p);
}

int pinger_start(struct pinger *p, const struct addr *to, unsigned count, ping_done_fn *done,
                 void *arg)
{
	struct run *r = NULL;
	struct event_base *base = event_get_base(p->rx);

	if (to->sa.sa_family != AF_INET || count == 0 || count > PING_MAX_COUNT)
		return -EINVAL;
	for (int i = 0; i < MAX_RUNS && !r; i++) {
		if (!p->runs[i].active)
			r = &p->runs[i];
	}
	if (!r)
		return -EBUSY;
	memset(&r->res, 0, sizeof(r->res));
	r->ev = evtimer_new(base, on_timer, r);
	if (!r->ev)
		return -ENOMEM;
	r->active = true;
	r->to = *to;
	r->count = count;
	r->next_seq = 0;
	r->done = done;
	r->arg = arg;
	do
		r->id = (uint16_t)rand_u64();
	while (r->id == 0);
	on_timer(-1, 0, r);
	return 0;
}
