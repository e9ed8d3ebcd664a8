/* tcp_proxy.c - a loopback TCP proxy for tests: partitions and stream-dropping middleboxes. */
#include "tcp_proxy.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "harness.h"

/* One proxied connection: the client's side and the server's. */
struct pconn {
	struct tcp_proxy *p;
	struct bufferevent *down, *up;
	bool sniffed, is_stream;
	struct pconn *next, *prev;
};

struct tcp_proxy {
	struct evconnlistener *lis;
	uint16_t port, target_port;
	enum proxy_mode mode;
	struct pconn *conns;
	int streams_refused;
};

static void pconn_close(struct pconn *c)
{
	struct tcp_proxy *p = c->p;

	if (c->prev)
		c->prev->next = c->next;
	else
		p->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	bufferevent_free(c->down);
	bufferevent_free(c->up);
	free(c);
}

/* The first request line says whether this connection carries an event stream. */
static bool sniff(struct pconn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->down);
	struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_CRLF);
	size_t len;
	char *line;

	if (eol.pos < 0)
		return evbuffer_get_length(in) < 4096;
	len = (size_t)eol.pos;
	line = (char *)evbuffer_pullup(in, (ev_ssize_t)len);
	c->is_stream = memmem(line, len, "/events", 7) != NULL;
	c->sniffed = true;
	if (c->is_stream && c->p->mode == PROXY_NO_STREAMS) {
		c->p->streams_refused++;
		return false;
	}
	return true;
}

static void on_down_read(struct bufferevent *bev, void *arg)
{
	struct pconn *c = arg;

	if (!c->sniffed) {
		if (!sniff(c)) {
			pconn_close(c);
			return;
		}
		if (!c->sniffed)
			return;
	}
	bufferevent_write_buffer(c->up, bufferevent_get_input(bev));
}

static void on_up_read(struct bufferevent *bev, void *arg)
{
	struct pconn *c = arg;

	bufferevent_write_buffer(c->down, bufferevent_get_input(bev));
}

static void on_drained(struct bufferevent *bev, void *arg)
{
	pconn_close(arg);
}

/* One side closed: the other gets what is still queued for it, then closes too. */
static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct pconn *c = arg;
	struct bufferevent *other = bev == c->down ? c->up : c->down;

	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	if ((what & BEV_EVENT_EOF) && evbuffer_get_length(bufferevent_get_output(other)) > 0) {
		bufferevent_disable(bev, EV_READ);
		bufferevent_setcb(other, NULL, on_drained, on_event, c);
		return;
	}
	pconn_close(c);
}

static void on_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *arg)
{
	struct tcp_proxy *p = arg;
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct pconn *c;

	if (p->mode == PROXY_CUT) {
		evutil_closesocket(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	assert_non_null(c);
	c->p = p;
	c->down = bufferevent_socket_new(harness_base(), fd, BEV_OPT_CLOSE_ON_FREE);
	c->up = bufferevent_socket_new(harness_base(), -1, BEV_OPT_CLOSE_ON_FREE);
	assert_non_null(c->down);
	assert_non_null(c->up);
	c->next = p->conns;
	if (c->next)
		c->next->prev = c;
	p->conns = c;
	bufferevent_setcb(c->down, on_down_read, NULL, on_event, c);
	bufferevent_setcb(c->up, on_up_read, NULL, on_event, c);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	to.sin_port = htons(p->target_port);
	if (bufferevent_socket_connect(c->up, (struct sockaddr *)&to, sizeof(to)) != 0) {
		pconn_close(c);
		return;
	}
	bufferevent_enable(c->down, EV_READ);
	bufferevent_enable(c->up, EV_READ);
}

struct tcp_proxy *proxy_start(uint16_t target_port)
{
	struct tcp_proxy *p = calloc(1, sizeof(*p));
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);

	assert_non_null(p);
	p->target_port = target_port;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	p->lis = evconnlistener_new_bind(harness_base(), on_accept, p,
	                                 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16,
	                                 (struct sockaddr *)&sin, sizeof(sin));
	assert_non_null(p->lis);
	assert_int_equal(getsockname(evconnlistener_get_fd(p->lis), (struct sockaddr *)&sin, &len),
	                 0);
	p->port = ntohs(sin.sin_port);
	return p;
}

void proxy_stop(struct tcp_proxy *p)
{
	while (p->conns)
		pconn_close(p->conns);
	evconnlistener_free(p->lis);
	free(p);
}

uint16_t proxy_port(const struct tcp_proxy *p)
{
	return p->port;
}

void proxy_set_mode(struct tcp_proxy *p, enum proxy_mode mode)
{
	struct pconn *c, *next;

	p->mode = mode;
	for (c = p->conns; c; c = next) {
		next = c->next;
		if (mode == PROXY_CUT || (mode == PROXY_NO_STREAMS && c->is_stream))
			pconn_close(c);
	}
}

int proxy_streams_refused(const struct tcp_proxy *p)
{
	return p->streams_refused;
}
