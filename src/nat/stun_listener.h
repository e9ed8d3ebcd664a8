/* stun_listener.h - the STUN server core on UDP sockets (libevent): what servers embed. */
#ifndef LANRAGE_NAT_STUN_LISTENER_H
#define LANRAGE_NAT_STUN_LISTENER_H

#include "nat/stun_server.h"
#include "util/compiler.h"

struct event_base;
struct event;

struct stun_listener;

struct stun_listener_sock {
	struct stun_listener *owner;
	unsigned index;
	int fd;
	struct event *ev;
};

/*
 * One socket per server address: one (A1:P1), or four with an alternate
 * (A1:P1, A1:P2, A2:P1, A2:P2) so CHANGE-REQUEST answers leave from the
 * right one.  Owned by the control server, the relay or lanrage-stun; the
 * server core it drives is owned by the same caller and outlives it.
 */
struct stun_listener {
	struct stun_server *server;
	struct event_base *base;
	struct stun_listener_sock socks[STUN_SERVER_SOCKETS];
	unsigned n_socks;
	uint64_t send_errors;
};

/* Binds every socket the server needs and starts answering.  0 or -errno; err says which. */
int stun_listener_start(struct stun_listener *l, struct event_base *base,
                        struct stun_server *server, char *err) WARN_UNUSED;
void stun_listener_stop(struct stun_listener *l);

#endif
