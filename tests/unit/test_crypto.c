/* test_crypto.c - BLAKE2s, HMAC, ChaCha20-Poly1305 and XChaCha20-Poly1305. */
#include "test.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "crypto/aead.h"
#include "crypto/blake2s.h"
#include "crypto/rand.h"

static void hex(char *out, const uint8_t *in, size_t len)
{
	for (size_t i = 0; i < len; i++)
		sprintf(out + 2 * i, "%02x", in[i]);
}

/* Known answers: RFC 7693 Appendix B, and values from an independent implementation. */
static void test_blake2s_known(void **state)
{
	uint8_t out[32], key[32];
	char h[65];

	blake2s_hash(out, (const uint8_t *)"abc", 3, NULL, 0);
	hex(h, out, 32);
	assert_string_equal(h, "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
	/* Split input hashes the same as whole. */
	blake2s_hash(out, (const uint8_t *)"a", 1, (const uint8_t *)"bc", 2);
	hex(h, out, 32);
	assert_string_equal(h, "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
	/* WireGuard's initial chaining key: HASH(CONSTRUCTION). */
	blake2s_hash(out, (const uint8_t *)"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s", 37, NULL, 0);
	hex(h, out, 32);
	assert_string_equal(h, "60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36");

	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	blake2s_mac(out, key, 32, (const uint8_t *)"abc", 3);
	hex(h, out, 16);
	assert_string_equal(h, "61ba5f165c194692e09d12520cc4c74a");
	blake2s_mac(out, key, 16, NULL, 0);
	hex(h, out, 16);
	assert_string_equal(h, "af4e5d3bb230e9ff9096ca6f7c501f76");

	blake2s_hmac(out, (const uint8_t *)"key", 3,
	             (const uint8_t *)"The quick brown fox jumps over the lazy dog", 43);
	hex(h, out, 32);
	assert_string_equal(h, "f93215bb90d4af4c3061cd932fb169fb8bb8a91d0b4022baea1271e1323cd9a0");
}

/* HMAC against its definition over blake2s_hash, for key lengths around the block size. */
static void test_hmac_definition(void **state)
{
	uint8_t key[100], msg[200], ipad[64], opad[64], inner[32], out[32], ref[32], k[64];

	rand_bytes(msg, sizeof(msg));
	rand_bytes(key, sizeof(key));
	for (size_t keylen = 0; keylen <= 64; keylen += 16) {
		memset(k, 0, sizeof(k));
		memcpy(k, key, keylen);
		for (int i = 0; i < 64; i++) {
			ipad[i] = k[i] ^ 0x36;
			opad[i] = k[i] ^ 0x5c;
		}
		blake2s_hash(inner, ipad, 64, msg, sizeof(msg));
		blake2s_hash(ref, opad, 64, inner, 32);
		blake2s_hmac(out, key, keylen, msg, sizeof(msg));
		assert_memory_equal(out, ref, 32);
	}
}

/* The two AEAD libraries agree byte for byte on every length, on both sides of the switch. */
static void test_aead_libraries_agree(void **state)
{
	static uint8_t plain[2000], a[2100], b[2100], back[2100];
	uint8_t key[32], nonce[12] = { 0 }, ad[32];
	uint64_t counter = 0x0102030405060708ull;

	rand_bytes(key, sizeof(key));
	rand_bytes(ad, sizeof(ad));
	rand_bytes(plain, sizeof(plain));
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(counter >> (8 * i));
	for (size_t len = 0; len <= sizeof(plain); len += len < 800 ? 1 : 97) {
		aead_seal(a, plain, len, counter, ad, sizeof(ad), key);
		crypto_aead_chacha20poly1305_ietf_encrypt(b, NULL, plain, len, ad, sizeof(ad), NULL,
		                                          nonce, key);
		assert_memory_equal(a, b, len + AEAD_TAG_LEN);
		assert_true(aead_open(back, a, len + AEAD_TAG_LEN, counter, ad, sizeof(ad), key));
		assert_memory_equal(back, plain, len);
	}
}

static void test_aead_tamper(void **state)
{
	static uint8_t plain[1500], box[1600], out[1600];
	const size_t lens[] = { 0, 1, 16, 100, 767, 768, 1420 };
	uint8_t key[32];

	rand_bytes(key, sizeof(key));
	rand_bytes(plain, sizeof(plain));
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t len = lens[i];

		aead_seal(box, plain, len, 7, NULL, 0, key);
		/* Wrong counter, key, AD, or any flipped bit: refused, and nothing readable left.
		 */
		memset(out, 0xaa, sizeof(out));
		assert_false(aead_open(out, box, len + 16, 8, NULL, 0, key));
		for (size_t j = 0; j < len; j++)
			assert_int_equal(out[j], 0);
		assert_false(aead_open(out, box, len + 16, 7, (const uint8_t *)"x", 1, key));
		key[0] ^= 1;
		assert_false(aead_open(out, box, len + 16, 7, NULL, 0, key));
		key[0] ^= 1;
		for (size_t bit = 0; bit < (len + 16) * 8; bit += 61) {
			box[bit / 8] ^= (uint8_t)(1 << (bit % 8));
			assert_false(aead_open(out, box, len + 16, 7, NULL, 0, key));
			box[bit / 8] ^= (uint8_t)(1 << (bit % 8));
		}
		/* Shifted by a few bytes within one buffer, both ways, then in place. */
		if (len)
			memcpy(out + 3, plain, len);
		aead_seal(out, out + 3, len, 9, NULL, 0, key);
		assert_true(aead_open(out + 5, out, len + 16, 9, NULL, 0, key));
		assert_memory_equal(out + 5, plain, len);
		assert_true(aead_open(box, box, len + 16, 7, NULL, 0, key));
		assert_memory_equal(box, plain, len);
	}
	assert_false(aead_open(out, box, 15, 7, NULL, 0, key));
}

static void test_xaead(void **state)
{
	uint8_t key[32], nonce[24], msg[16] = "cookie-cookie-16", box[32], out[16], ad[16];

	rand_bytes(key, sizeof(key));
	rand_bytes(nonce, sizeof(nonce));
	rand_bytes(ad, sizeof(ad));
	xaead_seal(box, msg, 16, nonce, ad, 16, key);
	assert_true(xaead_open(out, box, 32, nonce, ad, 16, key));
	assert_memory_equal(out, msg, 16);
	nonce[23] ^= 1;
	assert_false(xaead_open(out, box, 32, nonce, ad, 16, key));
	assert_false(xaead_open(out, box, 10, nonce, ad, 16, key));
}

/* Per-thread contexts: concurrent use from several threads gives right answers. */
static void *hash_many(void *arg)
{
	uint8_t out[32], ref[32];

	(void)arg;
	blake2s_hash(ref, (const uint8_t *)"abc", 3, NULL, 0);
	for (int i = 0; i < 2000; i++) {
		blake2s_hash(out, (const uint8_t *)"abc", 3, NULL, 0);
		if (memcmp(out, ref, 32) != 0)
			return (void *)1;
	}
	return NULL;
}

static void test_threads(void **state)
{
	pthread_t t[4];
	void *ret;

	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, hash_many, NULL);
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], &ret);
		assert_null(ret);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blake2s_known),
		cmocka_unit_test(test_hmac_definition),
		cmocka_unit_test(test_aead_libraries_agree),
		cmocka_unit_test(test_aead_tamper),
		cmocka_unit_test(test_xaead),
		cmocka_unit_test(test_threads),
	};

	if (!rand_init())
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
