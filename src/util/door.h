/* door.h - the one way from packet workers to the control thread: queues and a wakeup. */
#ifndef LANRAGE_UTIL_DOOR_H
#define LANRAGE_UTIL_DOOR_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/endpoint.h"

/*
 * Two bounded FIFOs behind one eventfd: events (a type and a pointer; for
 * timer kicks and notices, sized never to fill in practice) and packets (a
 * copy of a small datagram and its source; handshakes, STUN, probes), which
 * drop when full.  Any thread pushes; the control thread drains when the
 * eventfd is readable.
 */
enum { DOOR_PACKET_MAX = 256 };

struct door_event {
	int type;
	void *ptr;
};

struct door_packet {
	struct endpoint src; /* relayed: the relay and the sender's frame header */
	uint16_t len;
	uint8_t data[DOOR_PACKET_MAX];
};

struct door {
	int efd;
	pthread_mutex_t lock;
	struct door_event *events;
	size_t ev_cap, ev_head, ev_len;
	struct door_packet *packets;
	size_t pk_cap, pk_head, pk_len;
	bool signalled;
	_Atomic uint64_t events_dropped;
	_Atomic uint64_t packets_dropped;
};

/* 0 or -errno. */
int door_init(struct door *d, size_t event_cap, size_t packet_cap);
void door_clear(struct door *d);

bool door_push_event(struct door *d, int type, void *ptr);
bool door_push_packet(struct door *d, const uint8_t *data, size_t len, const struct endpoint *src);
/* How many packets wait: the control thread's measure of load. */
size_t door_packets_waiting(struct door *d);

/*
 * Control thread: handles everything queued so far, events first.  Returns
 * how many items were handled.
 */
size_t door_drain(struct door *d, void (*on_event)(void *ctx, const struct door_event *ev),
                  void (*on_packet)(void *ctx, const struct door_packet *pkt), void *ctx);

#endif
