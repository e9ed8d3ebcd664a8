/* stun_listener.c - the STUN server core on UDP sockets (libevent): what servers embed. */
#include "nat/stun_listener.h"

#include <errno.h>
#include <event2/event.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/err.h"
#include "util/log.h"
#include "util/now.h"

enum { LISTENER_BATCH = 64 };

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct stun_listener_sock *ls = arg;
	struct stun_listener *l = ls->owner;
	uint8_t in[STUN_MAX_LEN + 4], out[STUN_MAX_LEN];

	for (int i = 0; i < LISTENER_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct addr from;
		size_t out_len;
		unsigned out_sock;
		ssize_t n;

		n = recvfrom(ls->fd, in, sizeof(in), MSG_TRUNC, (struct sockaddr *)&ss, &sl);
		if (n < 0)
			break;
		/* Larger than any Binding request we would answer: dropped as too long. */
		if ((size_t)n > sizeof(in) ||
		    !addr_from_sockaddr(&from, (struct sockaddr *)&ss, sl)) {
			l->server->stats.malformed[STUN_DROP_LENGTH]++;
			continue;
		}
		if (stun_server_handle(l->server, ls->index, &from, in, (size_t)n, now_mono_ns(),
		                       out, sizeof(out), &out_len, &out_sock) != STUN_SERVER_REPLY)
			continue;
		if (sendto(l->socks[out_sock].fd, out, out_len, 0, &from.sa, addr_len(&from)) < 0) {
			l->send_errors++;
			log_ratelimited(LL_INFO, "stun: cannot answer on socket %u: %s", out_sock,
			                strerror(errno));
		}
	}
}

int stun_listener_start(struct stun_listener *l, struct event_base *base,
                        struct stun_server *server, char *err)
{
	char buf[ADDR_STRLEN];
	int ret;

	memset(l, 0, sizeof(*l));
	l->server = server;
	l->base = base;
	for (unsigned i = 0; i < STUN_SERVER_SOCKETS; i++)
		l->socks[i].fd = -1;
	for (unsigned i = 0; i < server->n_sockets; i++) {
		struct stun_listener_sock *ls = &l->socks[i];
		const struct addr *a = &server->local[i];
		int one = 1;

		ls->owner = l;
		ls->index = i;
		ls->fd = socket(a->sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (ls->fd < 0) {
			ret = -errno;
			err_set(err, "socket: %s", strerror(errno));
			goto err;
		}
		if (a->sa.sa_family == AF_INET6)
			setsockopt(ls->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		l->n_socks = i + 1;
		if (bind(ls->fd, &a->sa, addr_len(a)) < 0) {
			ret = -errno;
			err_set(err, "bind %s: %s", addr_format(a, buf), strerror(errno));
			goto err;
		}
		ls->ev = event_new(base, ls->fd, EV_READ | EV_PERSIST, on_readable, ls);
		if (!ls->ev || event_add(ls->ev, NULL) < 0) {
			ret = -ENOMEM;
			err_set(err, "libevent: cannot add an event");
			goto err;
		}
	}
	return 0;
err:
	stun_listener_stop(l);
	return ret;
}

void stun_listener_stop(struct stun_listener *l)
{
	for (unsigned i = 0; i < l->n_socks; i++) {
		if (l->socks[i].ev)
			event_free(l->socks[i].ev);
		if (l->socks[i].fd >= 0)
			close(l->socks[i].fd);
		l->socks[i].ev = NULL;
		l->socks[i].fd = -1;
	}
	l->n_socks = 0;
}
