/* test_utf8.c - printable UTF-8 validation. */
#include "test.h"

#include <string.h>

#include "util/utf8.h"

static void test_cases(void **state)
{
	static const struct {
		const char *s;
		bool ok;
	} cases[] = {
		{ "Friday LAN", true },
		{ "caf\xc3\xa9", true },              /* é */
		{ "\xe6\x97\xa5\xe6\x9c\xac", true }, /* 日本 */
		{ "\xf0\x9f\x8e\xae game", true },    /* 🎮 */
		{ "", true },
		{ "tab\there", false },
		{ "new\nline", false },
		{ "del\x7f", false },
		{ "\xc2\x85", false },         /* C1 control NEL */
		{ "\xc0\xaf", false },         /* overlong '/' */
		{ "\xe0\x80\xaf", false },     /* overlong */
		{ "\xed\xa0\x80", false },     /* surrogate */
		{ "\xf4\x90\x80\x80", false }, /* > U+10FFFF */
		{ "\xc3", false },             /* truncated */
		{ "\xe6\x97", false },         /* truncated */
		{ "\x80", false },             /* stray continuation */
		{ "\xff", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(utf8_is_printable(cases[i].s, strlen(cases[i].s)), cases[i].ok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
