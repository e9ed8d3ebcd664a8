/* arrival.h - when the next packet is due: a worker wakes just before it instead of polling. */
#ifndef LANRAGE_WG_ARRIVAL_H
#define LANRAGE_WG_ARRIVAL_H

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
 * times in, a window out.
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

#endif
