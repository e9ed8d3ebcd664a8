/* natsock.c - a UDP socket on libevent that drives the NAT cores (until the data plane's socket
 * does). */
#include "nat/natsock.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/err.h"
#include "util/log.h"
#include "util/now.h"

static void arm(struct natsock *s, uint64_t deadline_ns, uint64_t now_ns)
{
	struct timeval tv;
	uint64_t wait_ns;

	if (deadline_ns == UINT64_MAX) {
		evtimer_del(s->timer_ev);
		return;
	}
	wait_ns = deadline_ns > now_ns ? deadline_ns - now_ns : 0;
	/* Round up: waking a microsecond early would only re-arm. */
	wait_ns += 999;
	tv.tv_sec = (time_t)(wait_ns / NS_PER_SEC);
	tv.tv_usec = (suseconds_t)((wait_ns % NS_PER_SEC) / 1000);
	evtimer_add(s->timer_ev, &tv);
}

void natsock_kick(struct natsock *s)
{
	uint64_t now_ns = now_mono_ns();

	arm(s, s->timer ? s->timer(s->ctx, now_ns) : UINT64_MAX, now_ns);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	natsock_kick(arg);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct natsock *s = arg;
	uint8_t buf[NATSOCK_MAX_DATAGRAM];

	/* A bounded batch per wake-up, so one busy socket cannot starve the loop. */
	for (int i = 0; i < NATSOCK_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct addr from;
		ssize_t n;

		n = recvfrom(s->fd, buf, sizeof(buf), MSG_TRUNC, (struct sockaddr *)&ss, &sl);
		if (n < 0)
			break;
		s->rx_packets++;
		if ((size_t)n > sizeof(buf) ||
		    !addr_from_sockaddr(&from, (struct sockaddr *)&ss, sl))
			continue;
		if (s->rx)
			s->rx(s->ctx, buf, (size_t)n, &from, now_mono_ns());
	}
	natsock_kick(s);
}

static int natsock_send(void *ctx, const struct endpoint *to, const uint8_t *buf, size_t len)
{
	struct natsock *s = ctx;
	struct iovec iov[2] = {
		{ .iov_base = (void *)to->hdr, .iov_len = to->hdr_len },
		{ .iov_base = (void *)buf, .iov_len = len },
	};
	struct msghdr m = { .msg_name = (void *)&to->addr.sa,
		            .msg_namelen = addr_len(&to->addr),
		            .msg_iov = iov,
		            .msg_iovlen = 2 };

	if (sendmsg(s->fd, &m, 0) < 0) {
		int ret = -errno;

		s->tx_errors++;
		log_ratelimited(LL_DEBUG, "natsock: send to port %u failed: %s",
		                addr_port(&to->addr), strerror(errno));
		return ret;
	}
	s->tx_packets++;
	return 0;
}

struct send_ops natsock_send_ops(struct natsock *s)
{
	return (struct send_ops){ .send = natsock_send, .ctx = s };
}

int natsock_open(struct natsock *s, struct event_base *base, const struct addr *bind_to,
                 natsock_rx_fn *rx, natsock_timer_fn *timer, void *ctx, char *err)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char buf[ADDR_STRLEN];
	int ret;

	memset(s, 0, sizeof(*s));
	s->base = base;
	s->rx = rx;
	s->timer = timer;
	s->ctx = ctx;
	s->fd = socket(bind_to->sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		ret = -errno;
		err_set(err, "socket: %s", strerror(errno));
		return ret;
	}
	if (bind(s->fd, &bind_to->sa, addr_len(bind_to)) < 0) {
		ret = -errno;
		err_set(err, "bind %s: %s", addr_format(bind_to, buf), strerror(errno));
		goto err_fd;
	}
	if (getsockname(s->fd, (struct sockaddr *)&ss, &sl) < 0 ||
	    !addr_from_sockaddr(&s->local, (struct sockaddr *)&ss, sl)) {
		ret = -errno;
		err_set(err, "getsockname: %s", strerror(errno));
		goto err_fd;
	}
	s->rx_ev = event_new(base, s->fd, EV_READ | EV_PERSIST, on_readable, s);
	s->timer_ev = evtimer_new(base, on_timer, s);
	if (!s->rx_ev || !s->timer_ev || event_add(s->rx_ev, NULL) < 0) {
		ret = -ENOMEM;
		err_set(err, "libevent: cannot add events");
		goto err_ev;
	}
	return 0;
err_ev:
	if (s->rx_ev)
		event_free(s->rx_ev);
	if (s->timer_ev)
		event_free(s->timer_ev);
	s->rx_ev = s->timer_ev = NULL;
err_fd:
	close(s->fd);
	s->fd = -1;
	return ret;
}

void natsock_close(struct natsock *s)
{
	if (s->rx_ev)
		event_free(s->rx_ev);
	if (s->timer_ev)
		event_free(s->timer_ev);
	s->rx_ev = s->timer_ev = NULL;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}
