/* test_prefix.c - IP prefix parse/format and IPv4 matching. */
#include "test.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "util/err.h"
#include "util/prefix.h"

static void test_good(void **state)
{
	static const struct {
		const char *in, *out;
		int family;
		int len;
	} cases[] = {
		{ "10.66.0.0/16", "10.66.0.0/16", AF_INET, 16 },
		{ "0.0.0.0/0", "0.0.0.0/0", AF_INET, 0 },
		{ "10.66.0.7", "10.66.0.7/32", AF_INET, 32 },
		{ "10.66.0.7/32", "10.66.0.7/32", AF_INET, 32 },
		{ "fd00::/8", "fd00::/8", AF_INET6, 8 },
		{ "::/0", "::/0", AF_INET6, 0 },
		{ "2001:db8::1", "2001:db8::1/128", AF_INET6, 128 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct prefix p;
		char buf[PREFIX_STRLEN];
		errmsg err;

		assert_true(prefix_parse(&p, cases[i].in, false, err));
		assert_int_equal(p.family, cases[i].family);
		assert_int_equal(p.len, cases[i].len);
		assert_string_equal(prefix_format(&p, buf), cases[i].out);
	}
}

static void test_bad(void **state)
{
	static const char *const cases[] = {
		"",
		"/16",
		"10.66.0.0/",
		"10.66.0.0/33",
		"fd00::/129",
		"10.66.0.0/1a",
		"10.66.0.0/-1",
		"10.66.0/16",
		"10.66.0.0/0016",
		"host/16",
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct prefix p;
		errmsg err = "";

		assert_false(prefix_parse(&p, cases[i], false, err));
		assert_non_null(strstr(err, cases[i]));
	}
}

static void test_host_bits(void **state)
{
	struct prefix p;
	char buf[PREFIX_STRLEN];
	errmsg err;

	/* A typo that would silently widen a network is reported with the fix. */
	assert_false(prefix_parse(&p, "10.66.1.0/8", false, err));
	assert_non_null(strstr(err, "did you mean 10.0.0.0/8"));
	assert_true(prefix_parse(&p, "10.66.1.0/8", true, err));
	assert_string_equal(prefix_format(&p, buf), "10.0.0.0/8");
	assert_true(prefix_parse(&p, "fd00::1/64", true, err));
	assert_string_equal(prefix_format(&p, buf), "fd00::/64");
	assert_false(prefix_parse(&p, "fd00::1/64", false, err));
}

static void test_contains(void **state)
{
	struct prefix p;

	assert_true(prefix_parse(&p, "10.66.0.0/16", false, NULL));
	assert_true(prefix_contains4(&p, 0x0a420000));
	assert_true(prefix_contains4(&p, 0x0a42ffff));
	assert_false(prefix_contains4(&p, 0x0a430000));
	assert_int_equal(prefix_mask4(&p), 0xffff0000);
	assert_true(prefix_parse(&p, "0.0.0.0/0", false, NULL));
	assert_true(prefix_contains4(&p, 0xdeadbeef));
	assert_int_equal(prefix_mask4(&p), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_host_bits),
		cmocka_unit_test(test_contains),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
