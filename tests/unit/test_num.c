/* test_num.c - strict decimal parsing with ranges. */
#include "test.h"

#include "util/num.h"

static void test_u64(void **state)
{
	static const struct {
		const char *s;
		uint64_t min, max;
		bool ok;
		uint64_t v;
	} cases[] = {
		{ "0", 0, 10, true, 0 },
		{ "10", 0, 10, true, 10 },
		{ "11", 0, 10, false, 0 },
		{ "5", 6, 10, false, 0 },
		{ "65535", 0, 65535, true, 65535 },
		{ "18446744073709551615", 0, UINT64_MAX, true, UINT64_MAX },
		{ "18446744073709551616", 0, UINT64_MAX, false, 0 },
		{ "99999999999999999999999", 0, UINT64_MAX, false, 0 },
		{ "", 0, 10, false, 0 },
		{ "-1", 0, 10, false, 0 },
		{ "+1", 0, 10, false, 0 },
		{ " 1", 0, 10, false, 0 },
		{ "1 ", 0, 10, false, 0 },
		{ "12abc", 0, 100, false, 0 },
		{ "1e3", 0, 10000, false, 0 },
		{ "007", 0, 10, true, 7 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 12345;

		assert_int_equal(num_parse_u64(cases[i].s, cases[i].min, cases[i].max, &v),
		                 cases[i].ok);
		assert_int_equal(v, cases[i].ok ? cases[i].v : 12345);
	}
	assert_false(num_parse_u64(NULL, 0, 1, &(uint64_t){ 0 }));
}

static void test_i64(void **state)
{
	int64_t v;

	assert_true(num_parse_i64("-10", -20, 19, &v));
	assert_int_equal(v, -10);
	assert_false(num_parse_i64("-21", -20, 19, &v));
	assert_false(num_parse_i64("20", -20, 19, &v));
	assert_true(num_parse_i64("-9223372036854775808", INT64_MIN, 0, &v));
	assert_true(v == INT64_MIN);
	assert_false(num_parse_i64("-9223372036854775809", INT64_MIN, 0, &v));
	assert_true(num_parse_i64("9223372036854775807", 0, INT64_MAX, &v));
	assert_false(num_parse_i64("9223372036854775808", 0, INT64_MAX, &v));
	assert_false(num_parse_i64("-", -5, 5, &v));
	assert_false(num_parse_i64("--1", -5, 5, &v));
	assert_false(num_parse_i64("", -5, 5, &v));
}

static void test_duration(void **state)
{
	uint64_t ms;

	assert_true(num_parse_duration_ms("250ms", &ms));
	assert_true(ms == 250);
	assert_true(num_parse_duration_ms("1.5s", &ms));
	assert_true(ms == 1500);
	assert_true(num_parse_duration_ms("30", &ms));
	assert_true(ms == 30000);
	assert_true(num_parse_duration_ms("5m", &ms));
	assert_true(ms == 300000);
	assert_true(num_parse_duration_ms("2h", &ms));
	assert_true(ms == 7200000);
	assert_true(num_parse_duration_ms("0s", &ms));
	assert_true(ms == 0);
	/* Signs, spaces, other units, exponents and NaN are not durations. */
	assert_false(num_parse_duration_ms("-1s", &ms));
	assert_false(num_parse_duration_ms(" 1s", &ms));
	assert_false(num_parse_duration_ms("1 s", &ms));
	assert_false(num_parse_duration_ms("1d", &ms));
	assert_false(num_parse_duration_ms("nan", &ms));
	assert_false(num_parse_duration_ms("", &ms));
	assert_false(num_parse_duration_ms("ms", &ms));
	assert_false(num_parse_duration_ms("2e9s", &ms));
	assert_false(num_parse_duration_ms("1e3s", &ms));
	assert_false(num_parse_duration_ms("0x10s", &ms));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_u64),
		cmocka_unit_test(test_i64),
		cmocka_unit_test(test_duration),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
