/* ping.h - ICMP echo to a member's virtual IP, through the tunnel: `lanrage ping`. */
#ifndef LANRAGE_DAEMON_PING_H
#define LANRAGE_DAEMON_PING_H

#include <stdbool.h>
#include <stdint.h>

#include "util/addr.h"
#include "util/compiler.h"

struct event_base;

enum { PING_MAX_COUNT = 100, PING_INTERVAL_MS = 200, PING_WAIT_MS = 2000 };

/* What one run measured: rtts_ms[i] < 0 for a lost echo. */
struct ping_result {
	unsigned sent, received;
	double rtts_ms[PING_MAX_COUNT];
};

typedef void ping_done_fn(void *arg, const struct ping_result *r, int error);

struct pinger;

/* One ICMP socket for every run; 0 or -errno (raw sockets need CAP_NET_RAW). */
struct pinger *pinger_create(struct event_base *base, char *err);
void pinger_destroy(struct pinger *p);

/*
 * Sends count echoes to to (IPv4) every PING_INTERVAL_MS and calls done once
 * the last has been answered or PING_WAIT_MS has passed after it.  Several
 * runs may go at once.  0 or -errno (done is not called then).
 */
int pinger_start(struct pinger *p, const struct addr *to, unsigned count, ping_done_fn *done,
                 void *arg) WARN_UNUSED;

#endif
