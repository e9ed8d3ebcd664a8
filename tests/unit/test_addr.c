/* test_addr.c - socket address parse/format, good and bad input. */
#include "test.h"

#include <string.h>

#include "util/addr.h"
#include "util/err.h"

static void test_roundtrip(void **state)
{
	static const struct {
		const char *in, *out;
		int family;
		unsigned port;
	} cases[] = {
		{ "1.2.3.4:51820", "1.2.3.4:51820", AF_INET, 51820 },
		{ "0.0.0.0:0", "0.0.0.0:0", AF_INET, 0 },
		{ "255.255.255.255:65535", "255.255.255.255:65535", AF_INET, 65535 },
		{ "[2001:db8::1]:51820", "[2001:db8::1]:51820", AF_INET6, 51820 },
		{ "[::1]:1", "[::1]:1", AF_INET6, 1 },
		{ "[2001:0db8:0000::0001]:80", "[2001:db8::1]:80", AF_INET6, 80 },
		{ "[::ffff:1.2.3.4]:9", "[::ffff:1.2.3.4]:9", AF_INET6, 9 },
		{ "[fe80::1%1]:5", "[fe80::1%lo]:5", AF_INET6, 5 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct addr a;
		char buf[ADDR_STRLEN];
		errmsg err;

		assert_true(addr_parse(&a, cases[i].in, err));
		assert_int_equal(a.sa.sa_family, cases[i].family);
		assert_int_equal(addr_port(&a), cases[i].port);
		assert_string_equal(addr_format(&a, buf), cases[i].out);
		assert_int_equal(addr_len(&a), cases[i].family == AF_INET
		                                   ? sizeof(struct sockaddr_in)
		                                   : sizeof(struct sockaddr_in6));
	}
}

static void test_bad_input(void **state)
{
	static const char *const cases[] = {
		"",
		"1.2.3.4",
		"1.2.3.4:",
		"1.2.3.4:65536",
		"1.2.3.4:-1",
		"1.2.3.4:80x",
		"1.2.3:80",
		"256.1.1.1:80",
		"1.2.3.4 :80",
		"2001:db8::1:80",
		"[2001:db8::1]",
		"[2001:db8::1]80",
		"[2001:db8::1:80",
		"[1.2.3.4]:80",
		"[fe80::1%]:80",
		"[fe80::1%nosuchif0]:80",
		"example.com:80",
		"1.2.3.4:123456",
		"[::1]:0000080",
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct addr a;
		errmsg err = "";

		assert_false(addr_parse(&a, cases[i], err));
		assert_false(addr_is_set(&a));
		/* The message quotes the input. */
		assert_non_null(strstr(err, "Unable to parse endpoint"));
		assert_non_null(strstr(err, cases[i]));
	}
}

static void test_null_input(void **state)
{
	struct addr a;
	errmsg err;

	assert_false(addr_parse(&a, NULL, err));
	assert_false(addr_parse_ip(&a, NULL, err));
}

static void test_parse_ip(void **state)
{
	struct addr a;
	char buf[ADDR_STRLEN];
	errmsg err;

	assert_true(addr_parse_ip(&a, "10.66.0.5", err));
	assert_string_equal(addr_format_ip(&a, buf), "10.66.0.5");
	assert_int_equal(addr_port(&a), 0);
	assert_true(addr_parse_ip(&a, "fd00::5", err));
	assert_string_equal(addr_format_ip(&a, buf), "fd00::5");
	assert_false(addr_parse_ip(&a, "10.66.0.5:80", err));
	assert_non_null(strstr(err, "`10.66.0.5:80'"));
	assert_false(addr_parse_ip(&a, "10.66.0", err));
	assert_false(addr_parse_ip(&a, "", err));
}

static void test_equal_and_set(void **state)
{
	struct addr a, b, c;
	char buf[ADDR_STRLEN];

	assert_true(addr_parse(&a, "1.2.3.4:5", NULL));
	assert_true(addr_parse(&b, "1.2.3.4:6", NULL));
	assert_true(addr_parse(&c, "[::ffff:1.2.3.4]:5", NULL));
	assert_false(addr_equal(&a, &b));
	assert_true(addr_equal_ip(&a, &b));
	assert_false(addr_equal_ip(&a, &c));
	addr_set_port(&b, 5);
	assert_true(addr_equal(&a, &b));
	addr_clear(&a);
	assert_false(addr_is_set(&a));
	assert_string_equal(addr_format(&a, buf), "(none)");
	assert_int_equal(addr_len(&a), 0);
}

static void test_from_sockaddr(void **state)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(7) };
	struct addr a;

	in.sin_addr.s_addr = htonl(0x7f000001);
	assert_true(addr_from_sockaddr(&a, (struct sockaddr *)&in, sizeof(in)));
	assert_int_equal(addr_port(&a), 7);
	/* Short lengths are refused rather than read past. */
	assert_false(addr_from_sockaddr(&a, (struct sockaddr *)&in, sizeof(in) - 1));
	in.sin_family = AF_UNIX;
	assert_false(addr_from_sockaddr(&a, (struct sockaddr *)&in, sizeof(in)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),     cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_parse_ip),      cmocka_unit_test(test_equal_and_set),
		cmocka_unit_test(test_from_sockaddr), cmocka_unit_test(test_null_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
