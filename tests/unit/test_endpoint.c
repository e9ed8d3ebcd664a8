/* test_endpoint.c - direct and relayed endpoints: equality and what logs show. */
#include "test.h"

#include <string.h>

#include "util/endpoint.h"
#include "util/err.h"

static void test_endpoint(void **state)
{
	static const uint8_t tag_a[5] = { 0xE0, 0x30, 0x47, 0x0d, 0xcd };
	static const uint8_t tag_b[5] = { 0xE0, 0x30, 0x47, 0x0d, 0xce };
	struct addr relay, other;
	struct endpoint direct, via_a, via_a2, via_b, none;
	char buf[ENDPOINT_STRLEN];
	errmsg err;

	assert_true(addr_parse(&relay, "198.51.100.50:51820", err));
	assert_true(addr_parse(&other, "[2001:db8::1]:51820", err));
	endpoint_from_addr(&direct, &relay);
	endpoint_relayed(&via_a, &relay, tag_a, sizeof(tag_a));
	endpoint_relayed(&via_a2, &relay, tag_a, sizeof(tag_a));
	endpoint_relayed(&via_b, &relay, tag_b, sizeof(tag_b));
	endpoint_clear(&none);

	assert_false(endpoint_is_relayed(&direct));
	assert_true(endpoint_is_relayed(&via_a));
	/* The relay's own address is not a path to a member behind it, nor is another tag. */
	assert_false(endpoint_equal(&direct, &via_a));
	assert_false(endpoint_equal(&via_a, &via_b));
	assert_true(endpoint_equal(&via_a, &via_a2));
	assert_false(endpoint_is_set(&none));
	assert_true(endpoint_is_set(&via_a));

	assert_string_equal(endpoint_format(&direct, buf), "198.51.100.50:51820");
	assert_string_equal(endpoint_format(&via_a, buf), "198.51.100.50:51820 via e030470dcd");
	assert_string_equal(endpoint_format(&none, buf), "(none)");
	endpoint_relayed(&via_a, &other, tag_a, sizeof(tag_a));
	assert_string_equal(endpoint_format(&via_a, buf), "[2001:db8::1]:51820 via e030470dcd");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_endpoint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
