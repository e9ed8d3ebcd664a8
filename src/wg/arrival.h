/* arrival.h - when the next packet is due: a worker wakes just before it instead of polling. */
#ifndef LANRAGE_WG_ARRIVAL_H
#define LANRAGE_WG_ARRIVAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * Game traffic is periodic: a tick every 8-50 ms, each way.  A worker that
 * sleeps between ticks pays a wake-up (tens of microseconds, more in a VM) on
 * every packet; one that polls between them burns a core.  Instead it notes
 * when traffic resumed after each pause, and when those times fall in a
 * regular pattern (one period, or two or three interleaved phases of one,
 * such as a tick and the reply to it) it sleeps until just before the next
 * one is due and polls only across a window around it.  Each phase is judged
 * on its own: a tick sent on a timer is regular even when the reply to it
 * comes back at ragged times, and only the tick is waited for.  Irregular traffic
 * gets no prediction, and the worker simply sleeps.  A pure calculation:
 * times in, a window out (the pool below adds a lock around one).
 */
enum { ARRIVAL_HISTORY = 16, ARRIVAL_MAX_LAG = 3 };

/*
 * Traffic after a pause this long is an arrival to note.  Counting pauses, not
 * sleeps, keeps the pattern the same whether a reply came while the worker
 * still polled or after it slept.
 */
#define ARRIVAL_PAUSE_NS 50000ull

struct arrival {
	uint64_t t[ARRIVAL_HISTORY];       /* ring of the latest resumption times */
	unsigned n;                        /* how many were noted in all */
	uint32_t late_us[ARRIVAL_HISTORY]; /* ring of how late timed wake-ups came */
	unsigned n_late;
};

/* Traffic resumed at now_ns after a pause. */
void arrival_note(struct arrival *a, uint64_t now_ns);
/*
 * A timed wake-up came late_ns after the time asked for.  How early to wake
 * follows what this machine does: ~10 us on bare metal, but a virtual CPU
 * that halted may take 0.1-3 ms to run again.
 */
void arrival_woke(struct arrival *a, uint64_t late_ns);

/*
 * If the next resumption after now_ns is predictable and polling across its
 * window costs little (at most a fifth of the period), the window
 * [*from_ns, *until_ns] and true; otherwise false.
 */
bool arrival_expect(const struct arrival *a, uint64_t now_ns, uint64_t *from_ns,
                    uint64_t *until_ns);

/*
 * Arrivals pooled across workers.  While packets stay on the CPU they come
 * from (steer.h), a game's ticks go to the worker of whatever CPU its thread
 * ran on last, or `ping`'s to the worker of whichever CPU was idle: each
 * worker sees a random share of the ticks, and none alone sees the period.
 * The pool notes traffic resuming after a pause once, whichever worker saw it
 * first, and each worker that handled any of the latest resumptions may
 * wait for the next.  Any thread may call these.
 */
struct arrival_pool {
	pthread_mutex_t lock; /* over a and who: taken at resumptions and before sleeping */
	struct arrival a;
	uint8_t who[ARRIVAL_HISTORY]; /* the worker that noted each */
	/* The last traffic of any worker, kept to ARRIVAL_POOL_RES_NS. */
	_Atomic uint64_t traffic_ns;
};

/* The last traffic time is written at most this often (every worker reads it). */
#define ARRIVAL_POOL_RES_NS (ARRIVAL_PAUSE_NS / 8)

void arrival_pool_init(struct arrival_pool *p);
void arrival_pool_clear(struct arrival_pool *p);
/* Worker `worker` moved packets at now_ns. */
void arrival_pool_traffic(struct arrival_pool *p, unsigned worker, uint64_t now_ns);
/* arrival_expect over the pool, for a worker that handled any of the latest arrivals. */
bool arrival_pool_expect(struct arrival_pool *p, unsigned worker, uint64_t now_ns,
                         uint64_t *from_ns, uint64_t *until_ns);
/* arrival_woke for the pool. */
void arrival_pool_woke(struct arrival_pool *p, uint64_t late_ns);

#endif
