/* natsock.h - a UDP socket on libevent that drives the NAT cores (until the data plane's socket
 * does). */
#ifndef LANRAGE_NAT_NATSOCK_H
#define LANRAGE_NAT_NATSOCK_H

#include <stddef.h>
#include <stdint.h>

#include "nat/send_ops.h"
#include "util/addr.h"
#include "util/compiler.h"

struct event_base;
struct event;

/* A datagram arrived; now_ns is the monotonic clock. */
typedef void natsock_rx_fn(void *ctx, const uint8_t *pkt, size_t len, const struct addr *from,
                           uint64_t now_ns);
/* Timers are due; returns the next deadline (UINT64_MAX: none). */
typedef uint64_t natsock_timer_fn(void *ctx, uint64_t now_ns);

enum { NATSOCK_BATCH = 64, NATSOCK_MAX_DATAGRAM = 2048 };

/*
 * The shape the data plane will have too: one socket, a "packet received"
 * callback, one timer that the cores re-arm through their next deadline.
 * Owned by the program; embedded by value.
 */
struct natsock {
	int fd;
	struct event_base *base;
	struct event *rx_ev, *timer_ev;
	struct addr local; /* as bound (getsockname) */
	natsock_rx_fn *rx;
	natsock_timer_fn *timer;
	void *ctx;
	uint64_t rx_packets, rx_dropped, tx_packets, tx_errors; /* rx_dropped: too long */
};

/* Binds (port 0: any) and starts receiving.  Returns 0 or -errno; err says what failed. */
int natsock_open(struct natsock *s, struct event_base *base, const struct addr *bind_to,
                 natsock_rx_fn *rx, natsock_timer_fn *timer, void *ctx, char *err) WARN_UNUSED;
void natsock_close(struct natsock *s);
/* The send_ops the cores use to send on this socket. */
struct send_ops natsock_send_ops(struct natsock *s);
/* Runs the timer callback now and arms the timer for its next deadline. */
void natsock_kick(struct natsock *s);

#endif
