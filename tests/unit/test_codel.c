/* test_codel.c - CoDel's verdicts: nothing below target, the first drop after an interval above
 * it, drops coming faster while the queue stays, none once it drains. */
#include "test.h"

#include "wg/codel.h"

enum { US = 1000, MS = 1000 * 1000 };

/* Feeds a packet every step_ns for dur_ns with the given sojourn; returns how many were dropped. */
static unsigned feed(struct codel *c, uint64_t *now, uint64_t dur_ns, uint64_t step_ns,
                     uint64_t sojourn_ns, uint64_t *first_drop)
{
	unsigned drops = 0;

	for (uint64_t end = *now + dur_ns; *now < end; *now += step_ns) {
		if (codel_should_drop(c, sojourn_ns, *now)) {
			if (!drops && first_drop)
				*first_drop = *now;
			drops++;
		}
	}
	return drops;
}

static void test_below_target(void **state)
{
	struct codel c;
	uint64_t now = 1 * MS;

	(void)state;
	codel_init(&c, 500 * US, 10 * MS);
	assert_int_equal(feed(&c, &now, 1000 * MS, 10 * US, 499 * US, NULL), 0);
	/* Off: whatever the sojourn. */
	codel_init(&c, 0, 10 * MS);
	assert_int_equal(feed(&c, &now, 1000 * MS, 10 * US, 50 * MS, NULL), 0);
}

static void test_standing_queue(void **state)
{
	struct codel c;
	uint64_t now = 1 * MS, start, first = 0;
	unsigned early, late;

	(void)state;
	codel_init(&c, 500 * US, 10 * MS);
	start = now;
	/* A standing queue of 2 ms: the first drop comes one interval after it appeared. */
	assert_int_equal(feed(&c, &now, 9 * MS, 10 * US, 2 * MS, NULL), 0);
	assert_true(feed(&c, &now, 2 * MS, 10 * US, 2 * MS, &first) >= 1);
	assert_true(first >= start + 10 * MS && first <= start + 10 * MS + 20 * US);
	/* While it stands, drops come ever faster (interval / sqrt(count)). */
	early = feed(&c, &now, 100 * MS, 10 * US, 2 * MS, NULL);
	late = feed(&c, &now, 100 * MS, 10 * US, 2 * MS, NULL);
	assert_true(early >= 10);
	assert_true(late > early);
	/* But never one per packet: a fraction of the 10,000 in that time. */
	assert_true(late < 1000);
	/* Drained: no more drops. */
	assert_int_equal(feed(&c, &now, 100 * MS, 10 * US, 100 * US, NULL), 0);
}

/* A brief burst above target (shorter than an interval) is a burst, not a queue. */
static void test_burst(void **state)
{
	struct codel c;
	uint64_t now = 1 * MS;

	(void)state;
	codel_init(&c, 500 * US, 10 * MS);
	for (int i = 0; i < 50; i++) {
		assert_int_equal(feed(&c, &now, 8 * MS, 10 * US, 5 * MS, NULL), 0);
		assert_int_equal(feed(&c, &now, 1 * MS, 10 * US, 100 * US, NULL), 0);
	}
}

/* Back above target soon after an episode: dropping resumes at about the rate it had reached. */
static void test_resume(void **state)
{
	struct codel c;
	uint64_t now = 1 * MS;
	unsigned fresh, resumed;

	(void)state;
	codel_init(&c, 500 * US, 10 * MS);
	fresh = feed(&c, &now, 60 * MS, 10 * US, 2 * MS, NULL);
	feed(&c, &now, 300 * MS, 10 * US, 2 * MS, NULL);
	feed(&c, &now, 5 * MS, 10 * US, 100 * US, NULL);
	resumed = feed(&c, &now, 60 * MS, 10 * US, 2 * MS, NULL);
	assert_true(resumed > fresh);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_below_target),
		cmocka_unit_test(test_standing_queue),
		cmocka_unit_test(test_burst),
		cmocka_unit_test(test_resume),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
