/* test_arrival.c - predicting periodic traffic: a window around the next tick (and a reply's
 * phase), nothing for irregular, too dense or missed traffic, and a polling cost kept small. */
#include "test.h"

#include "wg/arrival.h"

#define US 1000ull
#define MS 1000000ull

/* A small deterministic jitter in [-amp, amp]. */
static int64_t jitter(unsigned i, int64_t amp)
{
	static const int8_t pattern[] = { 3, -7, 9, 0, -4, 6, -9, 2, 8, -1, -6, 5 };

	return amp * pattern[i % sizeof(pattern)] / 9;
}

static bool inside(uint64_t t, uint64_t from, uint64_t until)
{
	return t >= from && t <= until;
}

static void test_regular_tick(void **state)
{
	struct arrival a = { 0 };
	uint64_t base = 5000 * MS, from, until;

	(void)state;
	/* Too little history: no guess. */
	for (unsigned i = 0; i < 3; i++) {
		arrival_note(&a, base + i * 10 * MS + (uint64_t)(int64_t)jitter(i, 20 * US));
		assert_false(arrival_expect(&a, base + i * 10 * MS + 300 * US, &from, &until));
	}
	/* A 100 Hz tick with 20 us of jitter: each next tick falls in the window. */
	for (unsigned i = 3; i < 40; i++) {
		uint64_t now = base + i * 10 * MS + (uint64_t)(int64_t)jitter(i, 20 * US);

		if (i > 3) {
			assert_true(arrival_expect(&a, now - 9 * MS, &from, &until));
			assert_true(inside(now, from, until));
			assert_true(from > now - 9 * MS);    /* the worker sleeps most of the gap */
			assert_true(until - from <= 2 * MS); /* polls at most a fifth of it */
		}
		arrival_note(&a, now);
	}
}

static void test_tick_and_reply(void **state)
{
	struct arrival a = { 0 };
	uint64_t base = 7000 * MS, from, until;

	(void)state;
	/* A tick sent, its reply 400 us later: two phases of one 16 ms period. */
	for (unsigned i = 0; i < 30; i++) {
		uint64_t tick = base + i * 16 * MS + (uint64_t)(int64_t)jitter(i, 30 * US);
		uint64_t reply = tick + 400 * US + (uint64_t)(int64_t)jitter(i + 5, 30 * US);

		if (i >= 4) {
			assert_true(arrival_expect(&a, tick - 10 * MS, &from, &until));
			assert_true(inside(tick, from, until));
		}
		arrival_note(&a, tick);
		if (i >= 4) {
			/* Right after the tick, the reply is the next thing due. */
			assert_true(arrival_expect(&a, tick + 200 * US, &from, &until));
			assert_true(inside(reply, from, until));
		}
		arrival_note(&a, reply);
	}
}

static void test_ragged_reply(void **state)
{
	static const unsigned reply_us[] = { 150, 1900, 300, 700, 2500, 180, 1200, 400, 2100, 260 };
	struct arrival a = { 0 };
	uint64_t base = 3000 * MS, from, until;

	(void)state;
	/* The tick keeps its timer; the reply comes back anywhere from 0.15 to 2.5 ms later. */
	for (unsigned i = 0; i < 40; i++) {
		uint64_t tick = base + i * 16 * MS + (uint64_t)(int64_t)jitter(i, 40 * US);

		if (i >= 10) {
			assert_true(arrival_expect(&a, tick - 12 * MS, &from, &until));
			assert_true(inside(tick, from, until));
		}
		arrival_note(&a, tick);
		arrival_note(&a, tick + reply_us[i % 10] * US);
	}
}

static void test_wakes_early_enough(void **state)
{
	struct arrival a = { .n = 0 };
	uint64_t t = 2000 * MS, from, until, plain_from;

	(void)state;
	for (unsigned i = 0; i < 10; i++)
		arrival_note(&a, t += 16 * MS);
	assert_true(arrival_expect(&a, t + 1 * MS, &plain_from, &until));
	/* Timed wake-ups here come 0.8 ms late (a VM whose CPU halted): wake that much earlier. */
	for (unsigned i = 0; i < 10; i++)
		arrival_woke(&a, 800 * US + i * 10 * US);
	assert_true(arrival_expect(&a, t + 1 * MS, &from, &until));
	assert_true(from + 700 * US <= plain_from);
	assert_true(inside(t + 16 * MS, from, until));
	/* 5 ms late: the lead is capped so that polling stays within a fifth of the period. */
	for (unsigned i = 0; i < 16; i++)
		arrival_woke(&a, 5000 * US);
	assert_true(arrival_expect(&a, t + 1 * MS, &from, &until));
	assert_true(until - from <= 16 * MS / 5);
	assert_true(inside(t + 16 * MS, from, until));
}

static void test_irregular(void **state)
{
	static const unsigned gaps_ms[] = { 3, 17, 8, 12, 5, 20, 9, 14, 4, 11, 16, 7 };
	struct arrival a = { 0 };
	uint64_t t = 1000 * MS, from, until;

	(void)state;
	for (unsigned i = 0; i < 24; i++) {
		t += gaps_ms[i % 12] * MS;
		arrival_note(&a, t);
		assert_false(arrival_expect(&a, t + 300 * US, &from, &until));
	}
}

static void test_missed_beat_and_hiccup(void **state)
{
	struct arrival a = { 0 };
	uint64_t base = 1000 * MS, from, until, last = 0;

	(void)state;
	for (unsigned i = 0; i < 10; i++)
		arrival_note(&a, last = base + i * 20 * MS);
	assert_true(arrival_expect(&a, last + 1 * MS, &from, &until));
	assert_true(inside(last + 20 * MS, from, until));
	/* The sender stopped: once the tick is overdue there is nothing to wait for. */
	assert_false(arrival_expect(&a, last + 21 * MS, &from, &until));
	/* One late tick is forgiven: the pattern holds and the next is still expected on time. */
	arrival_note(&a, last += 20 * MS + 3 * MS);
	arrival_note(&a, last += 17 * MS);
	assert_true(arrival_expect(&a, last + 1 * MS, &from, &until));
	assert_true(inside(last + 20 * MS, from, until));
}

static void test_out_of_range(void **state)
{
	struct arrival a = { 0 };
	uint64_t t = 1000 * MS, from, until;

	(void)state;
	/* 5 kHz: a worker that busy never sleeps long, and polling between would cost it all. */
	for (unsigned i = 0; i < 16; i++)
		arrival_note(&a, t += 200 * US);
	assert_false(arrival_expect(&a, t + 60 * US, &from, &until));
	/* 2 ms apart with 100 us of jitter: the window would cost more than a fifth of the CPU. */
	for (unsigned i = 0; i < 16; i++)
		arrival_note(&a, t += 2 * MS + (uint64_t)(int64_t)jitter(i, 100 * US));
	assert_false(arrival_expect(&a, t + 300 * US, &from, &until));
	/* Once every two seconds: too rare to bother. */
	for (unsigned i = 0; i < 16; i++)
		arrival_note(&a, t += 2000 * MS);
	assert_false(arrival_expect(&a, t + 300 * US, &from, &until));
}

/*
 * A 60 Hz tick (and the reply to it) whose packets reach two workers at random,
 * as with packets on the worker of the CPU they came from: the pool expects
 * every next tick, for each worker that handled any of the latest, and a
 * resumption seen by both workers counts once.  (A worker's own history
 * predicts some of them too, here 24 of 32; on the test machine, where a
 * wrong guess also costs a wasted wake-up, the pool woke the workers in time
 * three to four times as often: docs/ARCHITECTURE.md.)
 */
static void test_pool(void **state)
{
	/* Which worker handles each tick and each reply: a fixed random draw. */
	static const char tick_w[] = "0110100011101001011000101101";
	static const char reply_w[] = "1001110100010110100110100101";
	const uint64_t period = 16667 * US, base = 1000 * MS;
	uint64_t from, until, t = 0;
	struct arrival_pool pool;

	(void)state;
	arrival_pool_init(&pool);
	for (unsigned i = 0; i < sizeof(tick_w) - 1; i++) {
		uint64_t times[2] = { base + i * period + (uint64_t)(int64_t)jitter(i, 20 * US),
			              0 };
		unsigned ws[2] = { (unsigned)(tick_w[i] - '0'), (unsigned)(reply_w[i] - '0') };

		times[1] = times[0] + 300 * US + (uint64_t)(int64_t)jitter(i + 5, 50 * US);
		for (int k = 0; k < 2; k++) {
			unsigned w = ws[k];

			t = times[k];
			arrival_pool_traffic(&pool, w, t);
			/* The same burst seen 2 us later by the other worker: not a new arrival. */
			arrival_pool_traffic(&pool, 1 - w, t + 2 * US);
			arrival_pool_traffic(&pool, w, t + 40 * US);
		}
		if (i < 12)
			continue;
		/* The pool expects the next tick, for both workers. */
		for (unsigned w = 0; w < 2; w++) {
			assert_true(arrival_pool_expect(&pool, w, t + 1 * MS, &from, &until));
			assert_true(inside(base + (i + 1) * period +
			                       (uint64_t)(int64_t)jitter(i + 1, 20 * US),
			                   from, until));
		}
	}
	assert_int_equal(pool.a.n, 2 * (sizeof(tick_w) - 1));
	/* A worker that handled none of the latest does not wait for the next. */
	assert_false(arrival_pool_expect(&pool, 7, t + 1 * MS, &from, &until));
	arrival_pool_clear(&pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regular_tick), cmocka_unit_test(test_tick_and_reply),
		cmocka_unit_test(test_ragged_reply), cmocka_unit_test(test_wakes_early_enough),
		cmocka_unit_test(test_irregular),    cmocka_unit_test(test_missed_beat_and_hiccup),
		cmocka_unit_test(test_out_of_range), cmocka_unit_test(test_pool),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
