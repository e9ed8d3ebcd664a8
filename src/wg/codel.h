/* codel.h - CoDel (RFC 8289) for the receive side: bulk TCP waits in our socket no longer than it
 * must. */
#ifndef LANRAGE_WG_CODEL_H
#define LANRAGE_WG_CODEL_H

#include <stdbool.h>
#include <stdint.h>

/*
 * When a worker cannot keep up, datagrams queue in its UDP socket, and a
 * game's packet waits behind a bulk transfer's.  The kernel's queue is a FIFO
 * we cannot reorder, but we can keep it short: each datagram carries the time
 * the kernel took it in, and once bulk TCP packets have waited over target
 * for a whole interval, CoDel's control law drops some of them (after
 * decryption, where we can tell bulk from the rest), so that TCP slows down to
 * what we can carry.  Other traffic is never dropped here.  A pure state
 * machine: times in, a verdict out.
 */
struct codel {
	uint64_t target_ns, interval_ns; /* target 0: never drops */
	uint64_t first_above_ns;         /* when the sojourn went above target, + interval; 0 */
	uint64_t drop_next_ns;
	uint32_t count, last_count;
	bool dropping;
};

void codel_init(struct codel *c, uint64_t target_ns, uint64_t interval_ns);
/* A bulk packet that waited sojourn_ns in the queue, handled at now_ns: whether to drop it. */
bool codel_should_drop(struct codel *c, uint64_t sojourn_ns, uint64_t now_ns);

#endif
