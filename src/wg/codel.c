/* codel.c - CoDel's state machine (RFC 8289, section 5), one verdict per packet. */
#include "wg/codel.h"

#include <math.h>

void codel_init(struct codel *c, uint64_t target_ns, uint64_t interval_ns)
{
	*c = (struct codel){ .target_ns = target_ns, .interval_ns = interval_ns };
}

/* The next drop: interval / sqrt(count) after t, so drops come faster while the queue stays. */
static uint64_t control_law(const struct codel *c, uint64_t t)
{
	return t + (uint64_t)((double)c->interval_ns / sqrt((double)c->count));
}

/* Whether the sojourn has been above target for at least an interval. */
static bool ok_to_drop(struct codel *c, uint64_t sojourn_ns, uint64_t now_ns)
{
	if (sojourn_ns < c->target_ns) {
		c->first_above_ns = 0;
		return false;
	}
	if (!c->first_above_ns) {
		c->first_above_ns = now_ns + c->interval_ns;
		return false;
	}
	return now_ns >= c->first_above_ns;
}

bool codel_should_drop(struct codel *c, uint64_t sojourn_ns, uint64_t now_ns)
{
	bool ok;

	if (!c->target_ns)
		return false;
	ok = ok_to_drop(c, sojourn_ns, now_ns);
	if (c->dropping) {
		if (!ok) {
			c->dropping = false;
			return false;
		}
		if (now_ns < c->drop_next_ns)
			return false;
		c->count++;
		c->drop_next_ns = control_law(c, c->drop_next_ns);
		return true;
	}
	if (!ok)
		return false;
	c->dropping = true;
	/* Back soon after the last episode: start near the drop rate that worked then. */
	{
		uint32_t delta = c->count - c->last_count;

		c->count = delta > 1 && now_ns - c->drop_next_ns < 16 * c->interval_ns ? delta : 1;
	}
	c->last_count = c->count;
	c->drop_next_ns = control_law(c, now_ns);
	return true;
}
