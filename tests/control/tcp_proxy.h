/* tcp_proxy.h - a loopback TCP proxy for tests: partitions and stream-dropping middleboxes. */
#ifndef LANRAGE_TESTS_CONTROL_TCP_PROXY_H
#define LANRAGE_TESTS_CONTROL_TCP_PROXY_H

#include <stdint.h>

enum proxy_mode {
	PROXY_PASS,       /* forwards everything */
	PROXY_CUT,        /* a partition: every connection is closed, new ones at once */
	PROXY_NO_STREAMS, /* a middlebox that drops event streams (GET .../events), passes the rest
	                   */
};

struct tcp_proxy;

/* Listens on 127.0.0.1 (any port) and forwards to 127.0.0.1:target_port. */
struct tcp_proxy *proxy_start(uint16_t target_port);
void proxy_stop(struct tcp_proxy *p);
uint16_t proxy_port(const struct tcp_proxy *p);
/* Changing the mode closes the connections the new mode forbids. */
void proxy_set_mode(struct tcp_proxy *p, enum proxy_mode mode);
/* Event streams refused so far (PROXY_NO_STREAMS). */
int proxy_streams_refused(const struct tcp_proxy *p);

#endif
