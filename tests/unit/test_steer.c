/* test_steer.c - how CPU-local steering splits the CPUs among workers: every CPU to the worker its
 * packets go to (c % n, as the TUN and socket programs pick), and no worker left without one. */
#include "test.h"

#include "wg/steer.h"

static cpu_set_t cpus(const int *list, int n)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	for (int i = 0; i < n; i++)
		CPU_SET(list[i], &set);
	return set;
}

static void test_two_workers_four_cpus(void **state)
{
	const int all[] = { 0, 1, 2, 3 }, even[] = { 0, 2 }, odd[] = { 1, 3 };
	cpu_set_t any = cpus(all, 4), want0 = cpus(even, 2), want1 = cpus(odd, 2);
	cpu_set_t own[2];

	(void)state;
	assert_int_equal(steer_partition(&any, 2, own), 0);
	assert_true(CPU_EQUAL(&own[0], &want0));
	assert_true(CPU_EQUAL(&own[1], &want1));
}

static void test_one_cpu_each(void **state)
{
	const int all[] = { 0, 1 };
	cpu_set_t any = cpus(all, 2), own[2];

	(void)state;
	assert_int_equal(steer_partition(&any, 2, own), 0);
	assert_int_equal(CPU_COUNT(&own[0]), 1);
	assert_true(CPU_ISSET(0, &own[0]));
	assert_int_equal(CPU_COUNT(&own[1]), 1);
	assert_true(CPU_ISSET(1, &own[1]));
}

/* A process confined to CPUs 0 and 2 (taskset, a container): worker 1 would get no CPU, so no
 * steering; with CPUs 4 and 7 of three workers, worker 0 gets none. */
static void test_worker_without_cpu(void **state)
{
	const int gap[] = { 0, 2 }, high[] = { 4, 7 };
	cpu_set_t any = cpus(gap, 2), own[3];

	(void)state;
	assert_int_equal(steer_partition(&any, 2, own), -1);
	any = cpus(high, 2);
	assert_int_equal(steer_partition(&any, 3, own), -1);
	assert_int_equal(steer_partition(&any, 2, own), 0);
	assert_true(CPU_ISSET(4, &own[0]) && CPU_ISSET(7, &own[1]));
}

/* Every CPU goes to exactly one worker. */
static void test_every_cpu_once(void **state)
{
	cpu_set_t any, own[4], seen;
	int count = 0;

	(void)state;
	CPU_ZERO(&any);
	for (int c = 0; c < 64; c += 1 + c % 3)
		CPU_SET(c, &any);
	assert_int_equal(steer_partition(&any, 4, own), 0);
	CPU_ZERO(&seen);
	for (int i = 0; i < 4; i++) {
		cpu_set_t both;

		CPU_AND(&both, &seen, &own[i]);
		assert_int_equal(CPU_COUNT(&both), 0);
		CPU_OR(&seen, &seen, &own[i]);
		count += CPU_COUNT(&own[i]);
	}
	assert_true(CPU_EQUAL(&seen, &any));
	assert_int_equal(count, CPU_COUNT(&any));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_workers_four_cpus),
		cmocka_unit_test(test_one_cpu_each),
		cmocka_unit_test(test_worker_without_cpu),
		cmocka_unit_test(test_every_cpu_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
