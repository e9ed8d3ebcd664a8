/* door.c - the one way from packet workers to the control thread: queues and a wakeup. */
#include "util/door.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

int door_init(struct door *d, size_t event_cap, size_t packet_cap)
{
	memset(d, 0, sizeof(*d));
	d->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->efd < 0)
		return -errno;
	d->events = calloc(event_cap, sizeof(*d->events));
	d->packets = calloc(packet_cap, sizeof(*d->packets));
	if (!d->events || !d->packets) {
		door_clear(d);
		return -ENOMEM;
	}
	d->ev_cap = event_cap;
	d->pk_cap = packet_cap;
	pthread_mutex_init(&d->lock, NULL);
	return 0;
}

void door_clear(struct door *d)
{
	if (d->efd >= 0)
		close(d->efd);
	free(d->events);
	free(d->packets);
	if (d->ev_cap)
		pthread_mutex_destroy(&d->lock);
	memset(d, 0, sizeof(*d));
	d->efd = -1;
}

/* Called with the lock held: wakes the control thread once per drain. */
static void signal_locked(struct door *d)
{
	uint64_t one = 1;

	if (d->signalled)
		return;
	d->signalled = true;
	if (write(d->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		d->signalled = false;
}

bool door_push_event(struct door *d, int type, void *ptr)
{
	bool ok = false;

	pthread_mutex_lock(&d->lock);
	if (d->ev_len < d->ev_cap) {
		d->events[(d->ev_head + d->ev_len++) % d->ev_cap] =
		    (struct door_event){ type, ptr };
		signal_locked(d);
		ok = true;
	}
	pthread_mutex_unlock(&d->lock);
	if (!ok)
		atomic_fetch_add_explicit(&d->events_dropped, 1, memory_order_relaxed);
	return ok;
}

bool door_push_packet(struct door *d, const uint8_t *data, size_t len, const struct endpoint *src)
{
	bool ok = false;

	if (len > DOOR_PACKET_MAX)
		return false;
	pthread_mutex_lock(&d->lock);
	if (d->pk_len < d->pk_cap) {
		struct door_packet *p = &d->packets[(d->pk_head + d->pk_len++) % d->pk_cap];

		p->src = *src;
		p->len = (uint16_t)len;
		memcpy(p->data, data, len);
		signal_locked(d);
		ok = true;
	}
	pthread_mutex_unlock(&d->lock);
	if (!ok)
		atomic_fetch_add_explicit(&d->packets_dropped, 1, memory_order_relaxed);
	return ok;
}

size_t door_packets_waiting(struct door *d)
{
	size_t n;

	pthread_mutex_lock(&d->lock);
	n = d->pk_len;
	pthread_mutex_unlock(&d->lock);
	return n;
}

size_t door_drain(struct door *d, void (*on_event)(void *ctx, const struct door_event *ev),
                  void (*on_packet)(void *ctx, const struct door_packet *pkt), void *ctx)
{
	size_t handled = 0, budget;
	uint64_t count;

	pthread_mutex_lock(&d->lock);
	if (read(d->efd, &count, sizeof(count)) < 0 && errno != EAGAIN) {
		pthread_mutex_unlock(&d->lock);
		return 0;
	}
	d->signalled = false;
	/* Take only what is queued now, so a flood cannot keep this loop forever. */
	budget = d->ev_len;
	while (budget--) {
		struct door_event ev = d->events[d->ev_head];

		d->ev_head = (d->ev_head + 1) % d->ev_cap;
		d->ev_len--;
		pthread_mutex_unlock(&d->lock);
		on_event(ctx, &ev);
		handled++;
		pthread_mutex_lock(&d->lock);
	}
	budget = d->pk_len;
	while (budget--) {
		static _Thread_local struct door_packet pkt;

		pkt = d->packets[d->pk_head];
		d->pk_head = (d->pk_head + 1) % d->pk_cap;
		d->pk_len--;
		pthread_mutex_unlock(&d->lock);
		on_packet(ctx, &pkt);
		handled++;
		pthread_mutex_lock(&d->lock);
	}
	/* Anything pushed meanwhile signalled again (signalled was cleared above). */
	pthread_mutex_unlock(&d->lock);
	return handled;
}
