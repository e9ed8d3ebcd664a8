/* worker.c - the packet workers: both directions, run to completion, spin before sleep. */
#include "wg/worker.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "crypto/aead.h"
#include "util/log.h"
#include "util/now.h"
#include "wg/arrival.h"
#include "wg/receive.h"
#include "wg/send.h"

/* Traffic is dense while turns that move packets come under 1 ms apart on average. */
#define DENSE_GAP_NS 1000000ull
#define GAP_CAP_NS   100000000ull /* one long pause counts as 100 ms at most */

/*
 * Polling gives the CPU to any other runnable thread at each turn.  When other
 * threads want this CPU all the time (a game, say), a yield comes back only
 * after their time slice (4 ms here), and a packet that arrives meanwhile waits
 * for it; a sleeping worker, woken by the packet, runs at once instead.  A
 * turn that comes back a millisecond late, having been switched away, ends
 * the poll; two such polls in a row stop polling between sparse packets for a
 * while: 1 s, doubling while the contention is still there when polling
 * resumes (one lost slice then tells), up to 32 s.  (One alone proves
 * little: a virtual CPU that its host stopped while another thread had it
 * briefly looks the same.)
 */
#define LATE_TURN_NS      1000000ull
#define CONTENDED_STRIKES 2
#define CONTENDED_HOLD_NS 1000000000ull
#define CONTENDED_MAX_NS  32000000000ull

/* Packets go back to the worker on their CPU 2 s after the last dense traffic (steer.h). */
#define STEER_HOLD_NS 2000000000ull

static bool cpu_local(const struct wg_device *dev)
{
	return atomic_load_explicit(&dev->steer_mode, memory_order_relaxed) == WG_STEER_LOCAL;
}

/* The window of the next expected arrival for worker w: from its own history, or the pool's. */
static bool expect(struct wg_worker *w, const struct arrival *own, uint64_t now_ns,
                   uint64_t *from_ns, uint64_t *until_ns)
{
	if (!cpu_local(w->dev))
		return arrival_expect(own, now_ns, from_ns, until_ns);
	return arrival_pool_expect(&w->dev->arrivals, (unsigned)w->id, now_ns, from_ns, until_ns);
}

/* A timed wake-up came late_ns late: noted where the window came from. */
static void woke(struct wg_worker *w, struct arrival *own, uint64_t late_ns)
{
	if (cpu_local(w->dev))
		arrival_pool_woke(&w->dev->arrivals, late_ns);
	else
		arrival_woke(own, late_ns);
}

struct contention {
	uint64_t until_ns, hold_ns; /* no polling before until_ns */
	long switches;              /* involuntary context switches when this poll began */
	int strikes;                /* polls in a row that lost a time slice */
	bool lost;                  /* this poll lost one, and is over */
};

static long involuntary_switches(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_THREAD, &ru) == 0 ? ru.ru_nivcsw : 0;
}

static void poll_begin(struct contention *c)
{
	c->switches = involuntary_switches();
}

static void poll_end(struct contention *c)
{
	if (!c->lost)
		c->strikes = 0;
}

/* Yields the CPU once while polling; notes a lost time slice. */
static void poll_turn(struct contention *c, struct wg_device *dev)
{
	uint64_t t0 = now_mono_ns(), t1;
	bool again; /* right after a hold: one lost slice says the contention is still there */
	long n;

	sched_yield();
	t1 = now_mono_ns();
	if (t1 - t0 < LATE_TURN_NS)
		return;
	n = involuntary_switches();
	if (n == c->switches)
		return; /* late, but nobody else ran: the host, not this machine */
	c->switches = n;
	c->lost = true;
	again = c->until_ns && t1 - c->until_ns < c->hold_ns;
	if (++c->strikes < (again ? 1 : CONTENDED_STRIKES))
		return;
	c->strikes = 0;
	if (again)
		c->hold_ns = c->hold_ns * 2 < CONTENDED_MAX_NS ? c->hold_ns * 2 : CONTENDED_MAX_NS;
	else
		c->hold_ns = CONTENDED_HOLD_NS;
	c->until_ns = t1 + c->hold_ns;
	STAT(dev, worker_contended);
}

/* Sleeps until a descriptor is ready or wait_ns passed; 0 on the timeout. */
static int sleep_until_ready(struct pollfd pfd[3], uint64_t wait_ns)
{
	struct timespec ts = { .tv_sec = (time_t)(wait_ns / 1000000000u),
		               .tv_nsec = (long)(wait_ns % 1000000000u) };

	return ppoll(pfd, 3, &ts, NULL);
}

/*
 * Puts the programs of mode and of the priority lane (open or not) on the TUN
 * and the sockets (steer.h); the caller holds steer_lock, or no worker runs.
 * On failure they come off, and the lane closes, for good.
 */
static void steer_apply(struct wg_device *dev, enum wg_steer_mode mode, bool prio)
{
	int flags = (mode == WG_STEER_LOCAL ? STEER_LOCAL : 0) | (prio ? STEER_PRIO : 0);
	int ret = steer_tun(&dev->steer, dev->tun->fds[0], flags);

	if (ret == 0)
		ret = steer_udp(&dev->steer, dev->udp[0].fd, flags);
	if (ret < 0) {
		log_info("%s: packets go to workers by flow only: cannot steer them: %s",
		         dev->tun->name, strerror(-ret));
		steer_tun(&dev->steer, dev->tun->fds[0], 0);
		steer_udp(&dev->steer, dev->udp[0].fd, 0);
		mode = WG_STEER_OFF;
		prio = false;
		atomic_store(&dev->prio_until_ns, UINT64_MAX);
	}
	atomic_store(&dev->steer_mode, mode);
	atomic_store(&dev->prio_open, prio);
	for (int i = 0; i < dev->n_workers; i++) {
		if (dev->workers[i].tid)
			steer_pin(&dev->steer, dev->workers[i].tid, i, mode == WG_STEER_LOCAL);
	}
}

/* Sparse traffic to the worker on its CPU, or dense traffic spread; one worker decides. */
static void steer_switch(struct wg_device *dev, bool local)
{
	int from = local ? WG_STEER_SPREAD : WG_STEER_LOCAL,
	    to = local ? WG_STEER_LOCAL : WG_STEER_SPREAD;

	if (pthread_mutex_trylock(&dev->steer_lock) != 0)
		return; /* another worker is at it */
	if (atomic_load(&dev->steer_mode) == from) {
		steer_apply(dev, to, atomic_load(&dev->prio_open));
		if (atomic_load(&dev->steer_mode) == to) {
			if (local)
				STAT(dev, cpu_local_on);
			else
				STAT(dev, cpu_local_off);
		}
	}
	pthread_mutex_unlock(&dev->steer_lock);
}

/*
 * What every worker does first: names its thread (for top -H and the tests),
 * confines it to its CPUs where it should be (steer.h), times its wake-ups to
 * the microsecond (not the default 50), and gets its buffers.  false when out
 * of memory (logged); worker_end undoes it either way.
 */
static bool worker_begin(struct wg_worker *w, struct worker_io *io, struct pollfd pfd[3],
                         const char *kind, int number)
{
	struct wg_device *dev = w->dev;
	char name[16];

	snprintf(name, sizeof(name), "wg-%s%d", kind, number);
	pthread_setname_np(pthread_self(), name);
	pthread_mutex_lock(&dev->steer_lock);
	w->tid = gettid();
	if (w->id >= dev->steer.n || atomic_load(&dev->steer_mode) == WG_STEER_LOCAL)
		steer_pin(&dev->steer, w->tid, w->id, true);
	pthread_mutex_unlock(&dev->steer_lock);
	prctl(PR_SET_TIMERSLACK, 1000UL);
	pfd[0] = (struct pollfd){ .fd = dev->tun->fds[w->id], .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = dev->udp[w->id].fd, .events = POLLIN };
	pfd[2] = (struct pollfd){ .fd = dev->wake_fd, .events = POLLIN };
	*io = (struct worker_io){ .w = w };
	if (send_io_init(io) && receive_io_init(io))
		return true;
	log_error("%s: out of memory for worker %d", dev->tun->name, w->id);
	return false;
}

static void worker_end(struct wg_worker *w, struct worker_io *io)
{
	pthread_mutex_lock(&w->dev->steer_lock);
	w->tid = 0;
	pthread_mutex_unlock(&w->dev->steer_lock);
	grace_offline(&w->dev->grace, w->id);
	send_io_clear(io);
	receive_io_clear(io);
}

static void *worker_main(void *arg)
{
	struct wg_worker *w = arg;
	struct wg_device *dev = w->dev;
	struct worker_io io;
	struct pollfd pfd[3];
	uint64_t spin_ns = (uint64_t)dev->config.spin_us * 1000, active_ns = 0, poll_until = 0;
	uint64_t busy_spin_ns = (uint64_t)dev->config.busy_spin_us * 1000;
	uint64_t traffic_ns = 0;            /* the last turn that moved packets */
	uint64_t gap_ns = DENSE_GAP_NS * 8; /* the average time between such turns */
	struct arrival arrivals = { .n = 0 };
	struct contention cpu = { .hold_ns = CONTENDED_HOLD_NS };
	bool polling = false;

	/* Without CAP_SYS_NICE this fails, and the worker runs at the normal priority. */
	if (dev->config.worker_nice &&
	    setpriority(PRIO_PROCESS, (id_t)gettid(), dev->config.worker_nice) < 0)
		log_debug("%s: worker %d keeps normal priority: %s", dev->tun->name, w->id,
		          strerror(errno));
	if (!worker_begin(w, &io, pfd, "worker", w->id))
		goto out;
	while (!atomic_load(&dev->stopping)) {
		uint64_t now_ns, from_ns, until_ns;
		bool dense, may_poll;
		int rx, tx;

		grace_online(&dev->grace, w->id);
		now_ns = now_mono_ns();
		rx = receive_from_udp(&io, now_ns);
		tx = send_from_tun(&io, now_ns);
		if (tx < 0)
			break; /* the interface is gone */
		if (rx || tx) {
			uint64_t gap = now_ns - traffic_ns;

			/* Traffic resuming after a pause, whether polling or asleep meanwhile. */
			if (gap >= ARRIVAL_PAUSE_NS && dev->config.predict)
				arrival_note(&arrivals, now_ns);
			/* The pool serves only CPU-local mode: dense traffic never touches it. */
			if (dev->config.predict && cpu_local(dev))
				arrival_pool_traffic(&dev->arrivals, (unsigned)w->id, now_ns);
			gap_ns = (gap_ns * 7 + (gap < GAP_CAP_NS ? gap : GAP_CAP_NS)) / 8;
			if (gap_ns < DENSE_GAP_NS) {
				/* Written at most once a millisecond: every worker reads it. */
				if (now_ns >
				    atomic_load_explicit(&dev->dense_ns, memory_order_relaxed) +
				        DENSE_GAP_NS)
					atomic_store_explicit(&dev->dense_ns, now_ns,
					                      memory_order_relaxed);
				if (cpu_local(dev))
					steer_switch(dev, false);
			}
			traffic_ns = active_ns = now_ns;
			if (polling)
				poll_end(&cpu);
			polling = cpu.lost = false;
			continue;
		}
		dense = gap_ns < DENSE_GAP_NS;
		may_poll = dense || (!cpu.lost && now_ns >= cpu.until_ns);
		/*
		 * More traffic is likely soon (the rest of a burst, a reply): poll a
		 * while before sleeping, since waking a sleeping thread costs tens of
		 * microseconds, and under load a woken thread also queues for a CPU:
		 * polling long while traffic is dense kept the p99 of a ping beside a
		 * TCP transfer at half what it is otherwise.  Yielding lets any other
		 * runnable thread have the CPU.  The same across the window in which
		 * a periodic packet is due.
		 */
		if (may_poll && (now_ns - active_ns < (dense ? busy_spin_ns : spin_ns) ||
		                 now_ns < poll_until)) {
			if (dense) {
				sched_yield();
				continue;
			}
			if (!polling) {
				poll_begin(&cpu);
				polling = true;
			}
			poll_turn(&cpu, dev);
			continue;
		}
		if (polling)
			poll_end(&cpu);
		polling = false;
		poll_until = 0;
		/* (Another worker may have noted dense traffic after this turn's now_ns.) */
		if (atomic_load_explicit(&dev->steer_mode, memory_order_relaxed) ==
		        WG_STEER_SPREAD &&
		    now_ns >
		        atomic_load_explicit(&dev->dense_ns, memory_order_relaxed) + STEER_HOLD_NS)
			steer_switch(dev, true);
		grace_offline(&dev->grace, w->id);
		if (may_poll && dev->config.predict &&
		    expect(w, &arrivals, now_ns, &from_ns, &until_ns)) {
			if (from_ns <= now_ns) {
				poll_until = until_ns; /* already in the window: poll across it */
				continue;
			}
			if (sleep_until_ready(pfd, from_ns - now_ns) == 0) {
				/* Woken by the clock (this late): poll across the window. */
				woke(w, &arrivals, now_mono_ns() - from_ns);
				STAT(dev, timed_wakes);
				aead_warm(); /* the packet will not find the cipher cold */
				poll_until = until_ns;
				continue;
			}
		} else {
			poll(pfd, 3, -1);
			cpu.lost = false;
		}
		active_ns = now_mono_ns();
	}
out:
	worker_end(w, &io);
	return NULL;
}

/*
 * The priority lane's budget (steer.h): a priority worker that uses more than
 * prio_budget_pct of its CPU's time in a window (its thread's CPU time, with
 * the kernel's work done in its name) closes the lane for PRIO_HOLD_NS, doubling up
 * to PRIO_HOLD_MAX_NS while it is still needed when the lane reopens: a
 * flood of small packets (or a download's ACKs, on the receiving side) goes
 * the ordinary way then, spread over the bulk workers.
 */
#define PRIO_WINDOW_NS   100000000ull
#define PRIO_HOLD_NS     1000000000ull
#define PRIO_HOLD_MAX_NS 32000000000ull
#define PRIO_CHECK_TURNS 16 /* a flood's turns take ~32 datagrams each: a ms or so */

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void prio_close(struct wg_device *dev, uint64_t now_ns)
{
	uint64_t until;

	pthread_mutex_lock(&dev->steer_lock);
	if (atomic_load(&dev->prio_open)) {
		until = atomic_load(&dev->prio_until_ns);
		/* Closing again within a hold of reopening: what closed it is still there. */
		if (until && now_ns - until < dev->prio_hold_ns)
			dev->prio_hold_ns = dev->prio_hold_ns * 2 < PRIO_HOLD_MAX_NS
			                        ? dev->prio_hold_ns * 2
			                        : PRIO_HOLD_MAX_NS;
		else
			dev->prio_hold_ns = PRIO_HOLD_NS;
		atomic_store(&dev->prio_until_ns, now_ns + dev->prio_hold_ns);
		steer_apply(dev, atomic_load(&dev->steer_mode), false);
		STAT(dev, prio_closed);
	}
	pthread_mutex_unlock(&dev->steer_lock);
}

static void prio_reopen(struct wg_device *dev, uint64_t now_ns)
{
	pthread_mutex_lock(&dev->steer_lock);
	if (!atomic_load(&dev->prio_open) && now_ns >= atomic_load(&dev->prio_until_ns))
		steer_apply(dev, atomic_load(&dev->steer_mode), true);
	pthread_mutex_unlock(&dev->steer_lock);
}

/*
 * A priority worker: pinned to its CPUs, at a real-time priority, handles
 * what comes and sleeps at once (polling at that priority would keep every
 * other thread off the CPU), and watches its own busy time.  It notes
 * arrivals in the device's pool, as the bulk workers do while CPU-local.
 */
static void *prio_main(void *arg)
{
	struct wg_worker *w = arg;
	struct wg_device *dev = w->dev;
	struct worker_io io;
	struct pollfd pfd[3];
	struct sched_param sp = { .sched_priority = 1 };
	uint64_t budget_ns = PRIO_WINDOW_NS / 100 * dev->config.prio_budget_pct;
	uint64_t window_ns, window_cpu_ns;
	unsigned turns = 0;
	bool predict = dev->config.predict;
	int ret;

	ret = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
	if (ret)
		log_ratelimited(LL_INFO, "%s: the priority workers run at the normal priority: %s",
		                dev->tun->name, strerror(ret));
	if (!worker_begin(w, &io, pfd, "prio", w->id - dev->steer.n))
		goto out;
	window_ns = now_mono_ns();
	window_cpu_ns = thread_cpu_ns(); /* (setting up took some) */
	while (!atomic_load(&dev->stopping)) {
		uint64_t now_ns, until, from_ns, until_ns;
		int rx, tx, timeout = -1;
		bool ready = false; /* woken by a packet before the timed wake-up */

		grace_online(&dev->grace, w->id);
		now_ns = now_mono_ns();
		/* Reading the thread's CPU time is a system call: every PRIO_CHECK_TURNS turns. */
		if (now_ns - window_ns >= PRIO_WINDOW_NS) {
			window_ns = now_ns;
			window_cpu_ns = thread_cpu_ns();
		} else if (++turns % PRIO_CHECK_TURNS == 0 &&
		           thread_cpu_ns() - window_cpu_ns > budget_ns &&
		           atomic_load(&dev->prio_open)) {
			prio_close(dev, now_ns);
		}
		rx = receive_from_udp(&io, now_ns);
		tx = send_from_tun(&io, now_ns);
		if (tx < 0)
			break; /* the interface is gone */
		if (rx || tx) {
			atomic_fetch_add_explicit(&dev->stats.prio_packets, (uint64_t)(rx + tx),
			                          memory_order_relaxed);
			if (rx)
				atomic_fetch_add_explicit(&dev->stats.prio_received, (uint64_t)rx,
				                          memory_order_relaxed);
			if (predict)
				arrival_pool_traffic(&dev->arrivals, (unsigned)w->id, now_ns);
			continue;
		}
		grace_offline(&dev->grace, w->id);
		if (!atomic_load(&dev->prio_open)) {
			until = atomic_load(&dev->prio_until_ns);
			if (until == UINT64_MAX)
				timeout = -1;
			else
				timeout =
				    until > now_ns ? (int)((until - now_ns) / 1000000) + 1 : 0;
		} else if (predict &&
		           arrival_pool_expect(&dev->arrivals, (unsigned)w->id, now_ns, &from_ns,
		                               &until_ns) &&
		           from_ns > now_ns) {
			/*
			 * Periodic traffic (arrival.h): wake just before the packet
			 * is due to warm the cipher and this CPU's caches (the first
			 * seal after a sleep costs 13-21 us, against 3-5), then sleep
			 * again.  Polling here, even at a normal priority, would make
			 * this CPU look busy, and the sender's thread would be woken
			 * on another.
			 */
			ready = sleep_until_ready(pfd, from_ns - now_ns) != 0;
			if (!ready) {
				arrival_pool_woke(&dev->arrivals, now_mono_ns() - from_ns);
				STAT(dev, timed_wakes);
				aead_warm();
			}
		}
		if (!ready)
			poll(pfd, 3, timeout);
		if (!atomic_load(&dev->prio_open)) {
			now_ns = now_mono_ns();
			if (now_ns >= atomic_load(&dev->prio_until_ns))
				prio_reopen(dev, now_ns);
		}
	}
out:
	worker_end(w, &io);
	return NULL;
}

int workers_start(struct wg_device *dev)
{
	atomic_store(&dev->stopping, false);
	/* New sockets (another port) get the programs of the mode in force. */
	pthread_mutex_lock(&dev->steer_lock);
	if (atomic_load(&dev->steer_mode) != WG_STEER_OFF || dev->steer.n_prio)
		steer_apply(dev, atomic_load(&dev->steer_mode), atomic_load(&dev->prio_open));
	pthread_mutex_unlock(&dev->steer_lock);
	for (int i = 0; i < dev->n_workers; i++) {
		struct wg_worker *w = &dev->workers[i];
		int ret;

		w->dev = dev;
		w->id = i;
		ret =
		    pthread_create(&w->thread, NULL, i < dev->steer.n ? worker_main : prio_main, w);
		if (ret) {
			atomic_store(&dev->stopping, true);
			eventfd_write(dev->wake_fd, 1);
			while (i-- > 0)
				pthread_join(dev->workers[i].thread, NULL);
			return -ret;
		}
	}
	dev->workers_running = true;
	return 0;
}

void workers_stop(struct wg_device *dev)
{
	eventfd_t drained;

	if (!dev->workers_running)
		return;
	atomic_store(&dev->stopping, true);
	eventfd_write(dev->wake_fd, 1);
	for (int i = 0; i < dev->n_workers; i++)
		pthread_join(dev->workers[i].thread, NULL);
	eventfd_read(dev->wake_fd, &drained);
	dev->workers_running = false;
}
