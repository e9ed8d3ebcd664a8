/* aead.c - ChaCha20-Poly1305 (libsodium for small, OpenSSL for large) and XChaCha20-Poly1305. */
#include "crypto/aead.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/ossl.h"

static void nonce96(uint8_t nonce[12], uint64_t counter)
{
	memset(nonce, 0, 4);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(counter >> (8 * i));
}

static void ossl_seal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t nonce[12],
                      const uint8_t *ad, size_t adlen, const uint8_t *key)
{
	EVP_CIPHER_CTX *c = ossl_thread()->cipher;
	int n;

	if (!EVP_EncryptInit_ex2(c, NULL, key, nonce, NULL) ||
	    (adlen && !EVP_EncryptUpdate(c, NULL, &n, ad, (int)adlen)) ||
	    !EVP_EncryptUpdate(c, dst, &n, src, (int)len) || !EVP_EncryptFinal_ex(c, dst + n, &n) ||
	    !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, AEAD_TAG_LEN, dst + len))
		abort();
}

static bool ossl_open(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t nonce[12],
                      const uint8_t *ad, size_t adlen, const uint8_t *key)
{
	EVP_CIPHER_CTX *c = ossl_thread()->cipher;
	size_t plain = len - AEAD_TAG_LEN;
	uint8_t tag[AEAD_TAG_LEN];
	int n;

	/* The tag is copied first: dst may overlap src. */
	memcpy(tag, src + plain, AEAD_TAG_LEN);
	if (!EVP_DecryptInit_ex2(c, NULL, key, nonce, NULL) ||
	    (adlen && !EVP_DecryptUpdate(c, NULL, &n, ad, (int)adlen)) ||
	    !EVP_DecryptUpdate(c, dst, &n, src, (int)plain) ||
	    !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, AEAD_TAG_LEN, tag))
		abort();
	return EVP_DecryptFinal_ex(c, dst + n, &n) == 1;
}

void aead_seal(uint8_t *dst, const uint8_t *src, size_t len, uint64_t counter, const uint8_t *ad,
               size_t adlen, const uint8_t key[AEAD_KEY_LEN])
{
	uint8_t nonce[12];

	nonce96(nonce, counter);
	if (len < AEAD_SODIUM_BELOW) {
		crypto_aead_chacha20poly1305_ietf_encrypt_detached(dst, dst + len, NULL, src, len,
		                                                   ad, adlen, NULL, nonce, key);
		return;
	}
	ossl_seal(dst, src, len, nonce, ad, adlen, key);
}

bool aead_open(uint8_t *dst, const uint8_t *src, size_t len, uint64_t counter, const uint8_t *ad,
               size_t adlen, const uint8_t key[AEAD_KEY_LEN])
{
	uint8_t nonce[12];

	if (len < AEAD_TAG_LEN)
		return false;
	nonce96(nonce, counter);
	if (len - AEAD_TAG_LEN < AEAD_SODIUM_BELOW)
		return crypto_aead_chacha20poly1305_ietf_decrypt_detached(
		           dst, NULL, src, len - AEAD_TAG_LEN, src + len - AEAD_TAG_LEN, ad, adlen,
		           nonce, key) == 0;
	return ossl_open(dst, src, len, nonce, ad, adlen, key);
}

void xaead_seal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t nonce[XAEAD_NONCE_LEN],
                const uint8_t *ad, size_t adlen, const uint8_t key[AEAD_KEY_LEN])
{
	crypto_aead_xchacha20poly1305_ietf_encrypt_detached(dst, dst + len, NULL, src, len, ad,
	                                                    adlen, NULL, nonce, key);
}

bool xaead_open(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t nonce[XAEAD_NONCE_LEN],
                const uint8_t *ad, size_t adlen, const uint8_t key[AEAD_KEY_LEN])
{
	if (len < AEAD_TAG_LEN)
		return false;
	return crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
	           dst, NULL, src, len - AEAD_TAG_LEN, src + len - AEAD_TAG_LEN, ad, adlen, nonce,
	           key) == 0;
}
