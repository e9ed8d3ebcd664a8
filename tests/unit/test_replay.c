/* test_replay.c - the replay window against a naive set of seen counters. */
#include "test.h"

#include <stdlib.h>
#include <string.h>

#include "wg/replay.h"

/* The reference: every accepted counter remembered; accept if new and within the window. */
struct naive {
	uint8_t *seen; /* a bit per counter up to NAIVE_MAX */
	uint64_t greatest;
	bool any;
};
enum { NAIVE_MAX = 1 << 27 };

static bool naive_check(struct naive *n, uint64_t c)
{
	if (n->any && c + REPLAY_WINDOW_SIZE < n->greatest)
		return false;
	if (n->seen[c / 8] & (1 << (c % 8)))
		return false;
	n->seen[c / 8] |= (uint8_t)(1 << (c % 8));
	if (!n->any || c > n->greatest)
		n->greatest = c;
	n->any = true;
	return true;
}

static void test_basic(void **state)
{
	struct replay_window w;

	replay_init(&w);
	assert_true(replay_check(&w, 0));
	assert_false(replay_check(&w, 0));
	assert_true(replay_check(&w, 1));
	assert_true(replay_check(&w, 10000));
	/* Exactly the window behind the greatest is still fine; one more is too old. */
	assert_true(replay_check(&w, 10000 - REPLAY_WINDOW_SIZE));
	assert_false(replay_check(&w, 10000 - REPLAY_WINDOW_SIZE - 1));
	assert_false(replay_check(&w, 1));
	assert_true(replay_check(&w, 9999));
	assert_false(replay_check(&w, 9999));
	/* A jump far ahead forgets everything behind. */
	assert_true(replay_check(&w, 1000000));
	assert_false(replay_check(&w, 10000));
	assert_true(replay_check(&w, 1000000 - 5));
	/* The reject limit. */
	assert_false(replay_check(&w, REJECT_AFTER_MESSAGES));
	assert_false(replay_check(&w, UINT64_MAX));
	assert_true(replay_check(&w, REJECT_AFTER_MESSAGES - 1));
}

static void test_differential(void **state)
{
	struct naive n = { calloc(NAIVE_MAX / 8, 1), 0, false };
	int checked = 0;
	struct replay_window w;
	uint64_t base = 0;

	replay_init(&w);
	srand(4242);
	for (int i = 0; i < 400000; i++) {
		uint64_t c;
		int r = rand() % 1000;

		/* Mostly in order with jitter, sometimes far back, sometimes a jump. */
		if (r < 700)
			c = base + (uint64_t)(rand() % 64);
		else if (r < 900)
			c = base > 9000 ? base - (uint64_t)(rand() % 9000)
			                : (uint64_t)(rand() % 64);
		else if (r < 999)
			c = base + (uint64_t)(rand() % 3000);
		else
			c = base + 20000 + (uint64_t)(rand() % 20000);
		if (c >= NAIVE_MAX - 1)
			break;
		assert_int_equal(replay_check(&w, c), naive_check(&n, c));
		checked++;
		if (c > base)
			base = c;
	}
	assert_true(checked == 400000);
	free(n.seen);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_differential),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
