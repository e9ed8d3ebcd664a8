/* blake2s.c - BLAKE2s hash, keyed MAC and HMAC (OpenSSL libcrypto). */
#include "crypto/blake2s.h"

#include <openssl/core_names.h>
#include <openssl/params.h>
#include <stdlib.h>

#include "crypto/ossl.h"

/* OpenSSL only fails these on allocation or misuse; neither can be recovered from. */
#define MUST(x)                                                                                    \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

void blake2s_hash(uint8_t out[BLAKE2S_HASH_LEN], const uint8_t *a, size_t alen, const uint8_t *b,
                  size_t blen)
{
	struct ossl_thread *t = ossl_thread();
	unsigned int outlen;

	MUST(EVP_DigestInit_ex2(t->md, ossl_algorithms()->blake2s, NULL));
	MUST(EVP_DigestUpdate(t->md, a, alen));
	if (blen)
		MUST(EVP_DigestUpdate(t->md, b, blen));
	MUST(EVP_DigestFinal_ex(t->md, out, &outlen) && outlen == BLAKE2S_HASH_LEN);
}

void blake2s_mac(uint8_t out[BLAKE2S_MAC_LEN], const uint8_t *key, size_t keylen, const uint8_t *in,
                 size_t len)
{
	struct ossl_thread *t = ossl_thread();
	size_t size = BLAKE2S_MAC_LEN, outlen;
	OSSL_PARAM params[] = { OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
		                OSSL_PARAM_END };

	MUST(EVP_MAC_init(t->b2mac, key, keylen, params));
	MUST(EVP_MAC_update(t->b2mac, in, len));
	MUST(EVP_MAC_final(t->b2mac, out, &outlen, BLAKE2S_MAC_LEN) && outlen == BLAKE2S_MAC_LEN);
}

void blake2s_hmac(uint8_t out[BLAKE2S_HASH_LEN], const uint8_t *key, size_t keylen,
                  const uint8_t *in, size_t len)
{
	struct ossl_thread *t = ossl_thread();
	char digest[] = "BLAKE2S-256";
	size_t outlen;
	OSSL_PARAM params[] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
		                OSSL_PARAM_END };

	MUST(EVP_MAC_init(t->hmac, key, keylen, params));
	MUST(EVP_MAC_update(t->hmac, in, len));
	MUST(EVP_MAC_final(t->hmac, out, &outlen, BLAKE2S_HASH_LEN) && outlen == BLAKE2S_HASH_LEN);
}
