/* test_nat_type.c - NAT type names and the seeds' compatibility matrix. */
#include "test.h"

#include "nat/nat_type.h"

static void test_names(void **state)
{
	enum nat_type t;

	for (int i = 0; i < NAT_TYPE_COUNT; i++) {
		assert_true(nat_type_parse(nat_type_name((enum nat_type)i), &t));
		assert_int_equal(t, i);
	}
	assert_true(nat_type_parse("Port-Restricted-Cone", &t));
	assert_int_equal(t, NAT_PORT_RESTRICTED_CONE);
	assert_false(nat_type_parse("moderate", &t));
	assert_false(nat_type_parse("", &t));
	assert_false(nat_type_parse("symmetric_but_with_a_very_long_name", &t));
	assert_string_equal(nat_type_name((enum nat_type)99), "unknown");
}

static void test_matrix(void **state)
{
	/* Seed 000, Appendix A, written out pair by pair. */
	static const struct {
		enum nat_type a, b;
	} direct[] = {
		{ NAT_OPEN, NAT_OPEN },
		{ NAT_OPEN, NAT_FULL_CONE },
		{ NAT_OPEN, NAT_RESTRICTED_CONE },
		{ NAT_OPEN, NAT_PORT_RESTRICTED_CONE },
		{ NAT_OPEN, NAT_SYMMETRIC },
		{ NAT_FULL_CONE, NAT_FULL_CONE },
		{ NAT_FULL_CONE, NAT_RESTRICTED_CONE },
		{ NAT_FULL_CONE, NAT_PORT_RESTRICTED_CONE },
		{ NAT_RESTRICTED_CONE, NAT_RESTRICTED_CONE },
	};
	int count = 0;

	for (int a = 0; a < NAT_TYPE_COUNT; a++) {
		for (int b = 0; b < NAT_TYPE_COUNT; b++) {
			bool expect = false;

			for (size_t i = 0; i < sizeof(direct) / sizeof(direct[0]); i++)
				expect |= ((int)direct[i].a == a && (int)direct[i].b == b) ||
				          ((int)direct[i].a == b && (int)direct[i].b == a);
			assert_int_equal(nat_type_can_direct((enum nat_type)a, (enum nat_type)b),
			                 expect);
			count += a != NAT_UNKNOWN && b != NAT_UNKNOWN && expect;
		}
	}
	/* 15 of the 25 ordered pairs of known types. */
	assert_int_equal(count, 15);
	assert_false(nat_type_can_direct(NAT_UNKNOWN, NAT_OPEN));
	assert_false(nat_type_can_direct(NAT_SYMMETRIC, NAT_SYMMETRIC));
	assert_false(nat_type_can_direct((enum nat_type)42, NAT_OPEN));
}

static void test_punch(void **state)
{
	int count = 0;

	for (int a = 0; a < NAT_TYPE_COUNT; a++) {
		for (int b = 0; b < NAT_TYPE_COUNT; b++) {
			bool punch = nat_type_can_punch((enum nat_type)a, (enum nat_type)b);

			assert_int_equal(punch,
			                 nat_type_can_punch((enum nat_type)b, (enum nat_type)a));
			/* Everything the seeds allow, we reach too. */
			if (nat_type_can_direct((enum nat_type)a, (enum nat_type)b))
				assert_true(punch);
			count += punch;
		}
	}
	/* 22 of the 25 ordered pairs of known types, as the lab's matrix shows. */
	assert_int_equal(count, 22);
	assert_false(nat_type_can_punch(NAT_SYMMETRIC, NAT_SYMMETRIC));
	assert_false(nat_type_can_punch(NAT_PORT_RESTRICTED_CONE, NAT_SYMMETRIC));
	assert_true(nat_type_can_punch(NAT_SYMMETRIC, NAT_RESTRICTED_CONE));
	assert_true(nat_type_can_punch(NAT_PORT_RESTRICTED_CONE, NAT_PORT_RESTRICTED_CONE));
	assert_false(nat_type_can_punch(NAT_UNKNOWN, NAT_OPEN));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_matrix),
		cmocka_unit_test(test_punch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
