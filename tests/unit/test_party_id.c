/* test_party_id.c - party ids: form, entropy, typing leniency, typo detection. */
#include "test.h"

#include <ctype.h>
#include <string.h>

#include "control/party_id.h"
#include "crypto/rand.h"
#include "util/err.h"

static void test_generate(void **state)
{
	char a[PARTY_ID_LEN + 1], b[PARTY_ID_LEN + 1], canon[PARTY_ID_LEN + 1];

	for (int i = 0; i < 1000; i++) {
		party_id_generate(a);
		assert_int_equal(strlen(a), PARTY_ID_LEN);
		assert_int_equal(a[4], '-');
		assert_int_equal(a[9], '-');
		assert_int_equal(a[14], '-');
		assert_true(party_id_valid(a));
		assert_true(party_id_normalize(canon, a, NULL));
		assert_string_equal(canon, a);
		assert_null(strpbrk(a, "ILOU"));
	}
	party_id_generate(b);
	assert_string_not_equal(a, b);
	assert_true(PARTY_ID_RANDOM_BITS >= 64);
}

/* Every symbol position varies: a crude check that the random part is random. */
static void test_spread(void **state)
{
	bool seen[PARTY_ID_LEN][32] = { { false } };
	static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	char id[PARTY_ID_LEN + 1];

	for (int i = 0; i < 3000; i++) {
		party_id_generate(id);
		for (int j = 0; j < PARTY_ID_LEN; j++) {
			if (id[j] != '-')
				seen[j][strchr(alphabet, id[j]) - alphabet] = true;
		}
	}
	for (int j = 0; j < PARTY_ID_LEN; j++) {
		int distinct = 0;

		for (int v = 0; v < 32; v++)
			distinct += seen[j][v];
		assert_true(id[j] == '-' || distinct == 32);
	}
}

static void test_lenient_typing(void **state)
{
	char id[PARTY_ID_LEN + 1], typed[64], canon[PARTY_ID_LEN + 1];
	int n = 0;

	/* Find an id with a 0 and a 1 to type as O and l. */
	do {
		party_id_generate(id);
	} while (!strchr(id, '0') || !strchr(id, '1'));
	for (const char *p = id; *p; p++) {
		if (*p == '-')
			continue;
		typed[n++] = *p == '0' ? 'o' : *p == '1' ? 'l' : (char)tolower((unsigned char)*p);
		if (n % 5 == 2)
			typed[n++] = ' ';
	}
	typed[n] = '\0';
	assert_true(party_id_normalize(canon, typed, NULL));
	assert_string_equal(canon, id);
}

static void test_typos(void **state)
{
	static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	char id[PARTY_ID_LEN + 1], bad[PARTY_ID_LEN + 1], canon[PARTY_ID_LEN + 1];
	int caught_swaps = 0, swaps = 0;
	errmsg err;

	party_id_generate(id);
	/* Every single-symbol substitution is caught. */
	for (int j = 0; j < PARTY_ID_LEN; j++) {
		if (id[j] == '-')
			continue;
		for (int v = 0; v < 32; v++) {
			if (alphabet[v] == id[j])
				continue;
			strcpy(bad, id);
			bad[j] = alphabet[v];
			assert_false(party_id_normalize(canon, bad, err));
			assert_non_null(strstr(err, "typo"));
		}
	}
	/* Swaps of neighbours are caught in most cases. */
	for (int t = 0; t < 200; t++) {
		party_id_generate(id);
		for (int j = 0; j + 1 < PARTY_ID_LEN; j++) {
			if (id[j] == '-' || id[j + 1] == '-' || id[j] == id[j + 1])
				continue;
			strcpy(bad, id);
			bad[j] = id[j + 1];
			bad[j + 1] = id[j];
			swaps++;
			caught_swaps += !party_id_normalize(canon, bad, NULL);
		}
	}
	assert_true(caught_swaps * 100 >= swaps * 90);
}

static void test_bad_forms(void **state)
{
	char canon[PARTY_ID_LEN + 1];
	errmsg err;

	assert_false(party_id_normalize(canon, "", err));
	assert_non_null(strstr(err, "too short"));
	assert_false(party_id_normalize(canon, "ABCD-EFGH", err));
	assert_non_null(strstr(err, "too short"));
	assert_false(party_id_normalize(canon, "ABCD-EFGH-JKMN-PQRS-T", err));
	assert_non_null(strstr(err, "too long"));
	assert_false(party_id_normalize(canon, "ABCD-EFGH-JKMN-PQR!", err));
	assert_non_null(strstr(err, "`!' is not a party id character"));
	assert_false(party_id_normalize(canon, "ABCD-EFGH-JKMN-PQRU", err));
	assert_false(party_id_valid("abcd-efgh-jkmn-pqrs"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generate),       cmocka_unit_test(test_spread),
		cmocka_unit_test(test_lenient_typing), cmocka_unit_test(test_typos),
		cmocka_unit_test(test_bad_forms),
	};

	if (!rand_init())
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
