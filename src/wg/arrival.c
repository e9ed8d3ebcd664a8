/* arrival.c - when the next packet is due: a worker wakes just before it instead of polling. */
#include "wg/arrival.h"

enum { MIN_INTERVALS = 3 };

#define LEAD_NS       100000ull /* wake this much early: a wake-up is late by up to that */
#define GUARD_MIN_NS  100000ull /* the window's half-width with perfectly regular traffic */
#define PERIOD_MIN_NS 500000ull /* denser traffic keeps a worker busy without this */
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

void arrival_note(struct arrival *a, uint64_t now_ns)
{
	a->t[a->n % ARRIVAL_HISTORY] = now_ns;
	a->n++;
}

/*
 * Whether the times `lag` apart are close to one period: their median, and
 * how far from it they stray, within a sixteenth of it.  A late wake-up or a
 * hiccup of the sender makes two intervals stray (one long, one short); with
 * enough history those two are forgiven.
 */
static bool regular(const struct arrival *a, unsigned lag, uint64_t *period, uint64_t *dev)
{
	unsigned have = a->n < ARRIVAL_HISTORY ? a->n : ARRIVAL_HISTORY, k, forgive;
	uint64_t d[ARRIVAL_HISTORY], off[ARRIVAL_HISTORY];

	if (have < lag + MIN_INTERVALS)
		return false;
	k = have - lag;
	for (unsigned i = 0; i < k; i++)
		d[i] = nth(a, i) - nth(a, i + lag);
	sort(d, k);
	*period = d[k / 2];
	for (unsigned i = 0; i < k; i++)
		off[i] = d[i] > *period ? d[i] - *period : *period - d[i];
	sort(off, k);
	forgive = k >= 6 ? 2 : k >= 4 ? 1 : 0;
	*dev = off[k - 1 - forgive];
	return *period >= PERIOD_MIN_NS && *period <= PERIOD_MAX_NS && *dev <= *period / 16;
}

bool arrival_expect(const struct arrival *a, uint64_t now_ns, uint64_t *from_ns, uint64_t *until_ns)
{
	for (unsigned lag = 1; lag <= ARRIVAL_MAX_LAG; lag++) {
		uint64_t period, dev, guard, next;

		if (!regular(a, lag, &period, &dev))
			continue;
		guard = 2 * dev + GUARD_MIN_NS;
		/* Each of the lag phases costs a window of polling per period. */
		if ((2 * guard + LEAD_NS) * lag > period / 5)
			return false;
		/* Of the last lag resumptions, the oldest comes round first. */
		next = nth(a, lag - 1) + period;
		if (next + guard < now_ns)
			return false; /* it did not come: the pattern is broken */
		*from_ns = next - guard - LEAD_NS;
		*until_ns = next + guard;
		return true;
	}
	return false;
}
