/* test_mac.c - keyed BLAKE2b tags and key derivation, against Python's hashlib. */
#include "test.h"

#include <stdio.h>
#include <string.h>

#include "crypto/mac.h"
#include "crypto/rand.h"

static void hex(uint8_t *out, const char *s)
{
	for (size_t i = 0; s[2 * i]; i++) {
		unsigned v;

		assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static void test_known_answer(void **state)
{
	/* hashlib.blake2b(b"lanrage", key=bytes(range(32)), digest_size=16) */
	uint8_t key[MAC_KEY_LEN], tag[MAC_TAG_LEN], want[MAC_TAG_LEN];
	/* hashlib.blake2b(b"label" + b"abc" + b"de", digest_size=32) */
	uint8_t derived[MAC_KEY_LEN], want_derived[MAC_KEY_LEN];

	for (int i = 0; i < MAC_KEY_LEN; i++)
		key[i] = (uint8_t)i;
	hex(want, "dc72ae32ae3a0be4311bf69a1e0be931");
	mac_compute(tag, key, "lanrage", 7);
	assert_memory_equal(tag, want, MAC_TAG_LEN);
	assert_true(mac_verify(want, key, "lanrage", 7));

	hex(want_derived, "880ed059bac76491b48f84684c51b445706e7fcea83cca4af76c61d2068a3bb7");
	mac_derive_key(derived, "label", "abc", 3, "de", 2, NULL, 0);
	assert_memory_equal(derived, want_derived, MAC_KEY_LEN);
}

static void test_rejects_changes(void **state)
{
	uint8_t key[MAC_KEY_LEN], tag[MAC_TAG_LEN], msg[64];

	rand_bytes(key, sizeof(key));
	rand_bytes(msg, sizeof(msg));
	mac_compute(tag, key, msg, sizeof(msg));
	assert_true(mac_verify(tag, key, msg, sizeof(msg)));
	/* Every single-bit change of message, tag or key is caught. */
	for (size_t bit = 0; bit < sizeof(msg) * 8; bit++) {
		msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_false(mac_verify(tag, key, msg, sizeof(msg)));
		msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	for (size_t bit = 0; bit < MAC_TAG_LEN * 8; bit++) {
		tag[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_false(mac_verify(tag, key, msg, sizeof(msg)));
		tag[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	key[0] ^= 1;
	assert_false(mac_verify(tag, key, msg, sizeof(msg)));
	/* A shorter message is a different message. */
	key[0] ^= 1;
	assert_false(mac_verify(tag, key, msg, sizeof(msg) - 1));
}

static void test_labels_separate(void **state)
{
	uint8_t a[MAC_KEY_LEN], b[MAC_KEY_LEN];

	mac_derive_key(a, "lanrage probe v1", "x", 1, NULL, 0, NULL, 0);
	mac_derive_key(b, "lanrage probe v2", "x", 1, NULL, 0, NULL, 0);
	assert_memory_not_equal(a, b, MAC_KEY_LEN);
	mac_derive_key(b, "lanrage probe v1", "x", 1, NULL, 0, NULL, 0);
	assert_memory_equal(a, b, MAC_KEY_LEN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answer),
		cmocka_unit_test(test_rejects_changes),
		cmocka_unit_test(test_labels_separate),
	};

	if (!rand_init())
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
