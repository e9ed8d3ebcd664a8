/* test_now.c - clocks and ISO 8601 timestamps. */
#include "test.h"

#include "util/now.h"

static void test_monotonic(void **state)
{
	uint64_t a = now_mono_ns(), b = now_mono_ns();

	assert_true(b >= a);
	assert_true(now_mono_ms() >= a / NS_PER_MS);
	/* The wall clock is after 2020 on any machine that runs this. */
	assert_true(now_wall_ms() > 1577836800000ll);
}

static void test_format(void **state)
{
	char buf[NOW_ISO8601_LEN];

	assert_string_equal(now_format_iso8601(0, buf), "1970-01-01T00:00:00.000Z");
	assert_string_equal(now_format_iso8601(1795291200123ll, buf), "2026-11-21T20:00:00.123Z");
	assert_string_equal(now_format_iso8601(-1, buf), "1969-12-31T23:59:59.999Z");
}

static void test_parse(void **state)
{
	static const struct {
		const char *in;
		int64_t ms;
	} good[] = {
		{ "2026-11-21T20:00:00.123Z", 1795291200123ll },
		{ "2026-11-21T20:00:00Z", 1795291200000ll },
		{ "2026-11-21T20:00:00", 1795291200000ll },
		{ "2026-11-21 20:00:00.5", 1795291200500ll },
		{ "2026-11-21T20:00:00.123456", 1795291200123ll },
		{ "2026-11-21T21:30:00+01:30", 1795291200000ll },
		{ "2026-11-21T18:00:00-02:00", 1795291200000ll },
		{ "2024-02-29T00:00:00Z", 1709164800000ll },
	};
	static const char *const bad[] = {
		"",
		"2026-11-21",
		"2026-13-01T00:00:00Z",
		"2026-02-29T00:00:00Z",
		"2026-11-21T24:00:00Z",
		"2026-11-21T20:00:00.Z",
		"2026-11-21T20:00:00ZZ",
		"2026-11-21T20:00:00+1:00",
		"26-11-21T20:00:00Z",
		"2026-11-21T20:00:00.1234567890Z",
		"yesterday",
	};
	int64_t ms;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_true(now_parse_iso8601(good[i].in, &ms));
		assert_int_equal(ms, good[i].ms);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(now_parse_iso8601(bad[i], &ms));
}

static void test_roundtrip(void **state)
{
	char buf[NOW_ISO8601_LEN];
	int64_t t = now_wall_ms(), back;

	assert_true(now_parse_iso8601(now_format_iso8601(t, buf), &back));
	assert_int_equal(back, t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_monotonic),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
