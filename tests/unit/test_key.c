/* test_key.c - key text forms, generation, and key files. */
#include "test.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/key.h"
#include "crypto/rand.h"
#include "util/err.h"

/* RFC 7748 section 6.1, Alice. */
static const char alice_priv_hex[] =
    "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
static const char alice_priv_b64[] = "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=";
static const char alice_pub_b64[] = "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=";

static char dir[64];

static int setup(void **state)
{
	strcpy(dir, "/tmp/lanrage-test-key-XXXXXX");
	return rand_init() && mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void test_known_answer(void **state)
{
	wg_key priv, priv2, pub;
	char b64[KEY_B64_LEN + 1], hex[KEY_HEX_LEN + 1];
	errmsg err;

	assert_true(key_from_hex(priv, alice_priv_hex, err));
	assert_true(key_from_base64(priv2, alice_priv_b64, err));
	assert_true(key_equal(priv, priv2));
	key_public_from_private(pub, priv);
	key_to_base64(b64, pub);
	assert_string_equal(b64, alice_pub_b64);
	key_to_hex(hex, priv);
	assert_string_equal(hex, alice_priv_hex);
	/* Uppercase hex is accepted too. */
	assert_true(key_from_hex(
	    priv2, "77076D0A7318A57D3C16C17251B26645DF4C2F87EBC0992AB177FBA51DB92C2A", err));
	assert_true(key_equal(priv, priv2));
}

static void test_bad_text(void **state)
{
	static const char *const bad_b64[] = {
		"",
		"dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo",   /* no padding */
		"dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo==", /* too long */
		"dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LC!=",  /* bad char */
		"dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25L o=",  /* space */
		"dwdtCnMYpX08FsFy-bJmRd9ML4frwJkqsXf7pR25LCo=",  /* url alphabet */
	};
	static const char *const bad_hex[] = {
		"",
		"77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2",
		"77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a0",
		"77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2g",
	};
	wg_key k;
	errmsg err;

	for (size_t i = 0; i < sizeof(bad_b64) / sizeof(bad_b64[0]); i++) {
		assert_false(key_from_base64(k, bad_b64[i], err));
		assert_non_null(strstr(err, "not a valid key"));
		/* A key may be private: the message never quotes the input. */
		if (strlen(bad_b64[i]) > 8)
			assert_null(strstr(err, "dwdtCnMY"));
	}
	for (size_t i = 0; i < sizeof(bad_hex) / sizeof(bad_hex[0]); i++) {
		assert_false(key_from_hex(k, bad_hex[i], err));
		assert_null(strstr(err, "77076d0a"));
	}
	assert_false(key_from_base64(k, NULL, err));
}

static void test_generate(void **state)
{
	wg_key a, b, pa, pb;
	char b64[KEY_B64_LEN + 1];

	key_generate_private(a);
	key_generate_private(b);
	assert_false(key_equal(a, b));
	/* Clamped as RFC 7748 (and `wg genkey`) does. */
	assert_int_equal(a[0] & 7, 0);
	assert_int_equal(a[31] & 0xc0, 0x40);
	key_public_from_private(pa, a);
	key_public_from_private(pb, b);
	assert_false(key_equal(pa, pb));
	assert_false(key_is_zero(pa));
	key_to_base64(b64, pa);
	assert_int_equal(strlen(b64), KEY_B64_LEN);
	memset(a, 0, sizeof(a));
	assert_true(key_is_zero(a));
}

static void test_fingerprint(void **state)
{
	wg_key pub;
	char fp[KEY_FINGERPRINT_LEN + 1], fp2[KEY_FINGERPRINT_LEN + 1];

	assert_true(key_from_base64(pub, alice_pub_b64, NULL));
	key_fingerprint(fp, pub);
	assert_int_equal(strlen(fp), KEY_FINGERPRINT_LEN);
	assert_int_equal(strspn(fp, "0123456789abcdef"), KEY_FINGERPRINT_LEN);
	key_fingerprint(fp2, pub);
	assert_string_equal(fp, fp2);
	pub[0] ^= 1;
	key_fingerprint(fp2, pub);
	assert_string_not_equal(fp, fp2);
}

static void test_files(void **state)
{
	char path[128], link[128], b64[KEY_B64_LEN + 1];
	wg_key k, back;
	struct stat st;
	errmsg err;
	FILE *f;

	snprintf(path, sizeof(path), "%s/private.key", dir);
	key_generate_private(k);
	assert_int_equal(key_save_file(path, k, err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, KEY_B64_LEN + 1);
	assert_int_equal(key_load_file(path, back, err), 0);
	assert_true(key_equal(k, back));

	/* Readable by others: refused, with the remedy, and without the key. */
	key_to_base64(b64, k);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(key_load_file(path, back, err), -EACCES);
	assert_non_null(strstr(err, "too open"));
	assert_non_null(strstr(err, "chmod 600"));
	assert_null(strstr(err, b64));
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(key_load_file(path, back, err), -EACCES);
	assert_int_equal(chmod(path, 0600), 0);

	/* Symlinks are not followed. */
	snprintf(link, sizeof(link), "%s/link.key", dir);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(key_load_file(link, back, err), -ELOOP);

	/* `wg genkey`-style content with surrounding whitespace is fine. */
	f = fopen(path, "w");
	fprintf(f, "%s\n\n", alice_priv_b64);
	fclose(f);
	assert_int_equal(key_load_file(path, back, err), 0);

	/* Garbage: an error naming the file, not its content. */
	f = fopen(path, "w");
	fprintf(f, "not-a-key-at-all\n");
	fclose(f);
	assert_int_equal(key_load_file(path, back, err), -EINVAL);
	assert_non_null(strstr(err, path));
	assert_null(strstr(err, "not-a-key-at-all"));

	snprintf(path, sizeof(path), "%s/missing.key", dir);
	assert_int_equal(key_load_file(path, back, err), -ENOENT);
	assert_non_null(strstr(err, "missing.key"));
	assert_int_equal(key_load_file(dir, back, err), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answer), cmocka_unit_test(test_bad_text),
		cmocka_unit_test(test_generate),     cmocka_unit_test(test_fingerprint),
		cmocka_unit_test(test_files),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
