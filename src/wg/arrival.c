/* arrival.c - when the next packet is due: a worker wakes just before it instead of polling. */
#include "wg/arrival.h"

#include "util/pi_mutex.h"

enum { MIN_INTERVALS = 3 };

#define LEAD_MIN_NS   100000ull  /* wake at least this much early */
#define LEAD_MAX_NS   3000000ull /* ...and at most this: later wake-ups are outliers */
#define LEAD_SPARE_NS 20000ull   /* beyond the 90th percentile of lateness */
#define GUARD_MIN_NS  100000ull  /* the window's half-width with perfectly regular traffic */
#define PERIOD_MIN_NS 500000ull  /* denser traffic keeps a worker busy without this */
#define PERIOD_MAX_NS 1000000000ull

/* The resumption `back` places before the newest (0: the newest). */
static uint64_t nth(const struct arrival *a, unsigned back)
{
	return a->t[(a->n - 1 - back) % ARRIVAL_HISTORY];
}

/* Insertion sort: at most ARRIVAL_HISTORY values. */
static void sort(uint64_t *v, unsigned n)
{
	for (unsigned i = 1; i < n; i++) {
		uint64_t x = v[i];
		unsigned j = i;

		for (; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

void arrival_woke(struct arrival *a, uint64_t late_ns)
{
	uint64_t us = late_ns / 1000;

	a->late_us[a->n_late % ARRIVAL_HISTORY] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
	a->n_late++;
}

/* How early to wake: nine in ten of the recent wake-ups came no later than that. */
static uint64_t lead(const struct arrival *a)
{
	uint64_t v[ARRIVAL_HISTORY], ns;
	unsigned k = a->n_late < ARRIVAL_HISTORY ? a->n_late : ARRIVAL_HISTORY;

	if (k < 4)
		return LEAD_MIN_NS;
	for (unsigned i = 0; i < k; i++)
		v[i] = a->late_us[i];
	sort(v, k);
	ns = v[k * 9 / 10] * 1000 + LEAD_SPARE_NS;
	return ns < LEAD_MIN_NS ? LEAD_MIN_NS : ns > LEAD_MAX_NS ? LEAD_MAX_NS : ns;
}

void arrival_note(struct arrival *a, uint64_t now_ns)
{
	a->t[a->n % ARRIVAL_HISTORY] = now_ns;
	a->n++;
}

/*
 * Whether one phase of a pattern with `lag` phases is regular: the times `lag`
 * apart that end in that phase (back 0 is the newest arrival, phase p holds
 * backs p, p + lag, ...) are close to one period: their median, and how far
 * from it they stray, within a sixteenth of it.  A late wake-up or a hiccup
 * of the sender makes two intervals stray (one long, one short); with enough
 * history those two are forgiven.
 */
static bool regular(const struct arrival *a, unsigned lag, unsigned phase, uint64_t *period,
                    uint64_t *dev)
{
	unsigned have = a->n < ARRIVAL_HISTORY ? a->n : ARRIVAL_HISTORY, k = 0, forgive;
	uint64_t d[ARRIVAL_HISTORY], off[ARRIVAL_HISTORY];

	for (unsigned i = phase; i + lag < have; i += lag)
		d[k++] = nth(a, i) - nth(a, i + lag);
	if (k < MIN_INTERVALS)
		return false;
	sort(d, k);
	*period = d[k / 2];
	for (unsigned i = 0; i < k; i++)
		off[i] = d[i] > *period ? d[i] - *period : *period - d[i];
	sort(off, k);
	forgive = k >= 6 ? 2 : k >= 4 ? 1 : 0;
	*dev = off[k - 1 - forgive];
	return *period >= PERIOD_MIN_NS && *period <= PERIOD_MAX_NS && *dev <= *period / 16;
}

/*
 * With `lag` phases: the window of the regular phase due soonest, if the
 * polling across all the regular phases' windows stays within a fifth of the
 * period.  A phase whose arrival is overdue is broken and waits for nothing.
 * 1 with a window, 0 without one, -1 when no phase is regular at this lag.
 */
static int expect_lag(const struct arrival *a, unsigned lag, uint64_t now_ns, uint64_t early,
                      uint64_t *from_ns, uint64_t *until_ns)
{
	uint64_t windows = 0, best = UINT64_MAX, span = 0, best_guard = 0;
	unsigned phases = 0;

	for (unsigned p = 0; p < lag; p++) {
		uint64_t period, dev, guard, next;

		if (!regular(a, lag, p, &period, &dev))
			continue;
		guard = 2 * dev + GUARD_MIN_NS;
		windows += 2 * guard;
		phases++;
		span = span > period ? span : period;
		next = nth(a, p) + period;
		if (next + guard < now_ns || next >= best)
			continue;
		best = next;
		best_guard = guard;
	}
	if (!phases)
		return -1;
	if (best == UINT64_MAX || windows + phases * LEAD_MIN_NS > span / 5)
		return 0;
	/* Wake as early as wake-ups here need, within the budget. */
	if (windows + phases * early > span / 5)
		early = (span / 5 - windows) / phases;
	*from_ns = best - best_guard - early;
	*until_ns = best + best_guard;
	return 1;
}

bool arrival_expect(const struct arrival *a, uint64_t now_ns, uint64_t *from_ns, uint64_t *until_ns)
{
	uint64_t early = lead(a);

	/* The fewest phases that explain the pattern. */
	for (unsigned lag = 1; lag <= ARRIVAL_MAX_LAG; lag++) {
		int found = expect_lag(a, lag, now_ns, early, from_ns, until_ns);

		if (found >= 0)
			return found;
	}
	return false;
}

void arrival_pool_init(struct arrival_pool *p)
{
	pi_mutex_init(&p->lock); /* priority workers take it too */
	p->a = (struct arrival){ .n = 0 };
	atomic_init(&p->traffic_ns, 0);
}

void arrival_pool_clear(struct arrival_pool *p)
{
	pthread_mutex_destroy(&p->lock);
}

void arrival_pool_traffic(struct arrival_pool *p, unsigned worker, uint64_t now_ns)
{
	uint64_t last = atomic_load_explicit(&p->traffic_ns, memory_order_relaxed);

	/* Another worker may have read the clock later than now_ns: that is no pause. */
	if (now_ns < last + ARRIVAL_POOL_RES_NS ||
	    !atomic_compare_exchange_strong(&p->traffic_ns, &last, now_ns) ||
	    now_ns - last < ARRIVAL_PAUSE_NS)
		return;
	pthread_mutex_lock(&p->lock);
	p->who[p->a.n % ARRIVAL_HISTORY] = (uint8_t)worker;
	arrival_note(&p->a, now_ns);
	pthread_mutex_unlock(&p->lock);
}

bool arrival_pool_expect(struct arrival_pool *p, unsigned worker, uint64_t now_ns,
                         uint64_t *from_ns, uint64_t *until_ns)
{
	struct arrival copy;
	bool mine = false;

	pthread_mutex_lock(&p->lock);
	copy = p->a;
	for (unsigned i = 0; i < ARRIVAL_HISTORY && i < copy.n; i++)
		mine |= p->who[i] == (uint8_t)worker;
	pthread_mutex_unlock(&p->lock);
	return mine && arrival_expect(&copy, now_ns, from_ns, until_ns);
}

void arrival_pool_woke(struct arrival_pool *p, uint64_t late_ns)
{
	pthread_mutex_lock(&p->lock);
	arrival_woke(&p->a, late_ns);
	pthread_mutex_unlock(&p->lock);
}
