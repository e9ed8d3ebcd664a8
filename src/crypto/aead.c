/* aead.c - ChaCha20-Poly1305 through libgcrypt, XChaCha20-Poly1305 through libsodium. */
#include "crypto/aead.h"

#include <gcrypt.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_key_t handle_key;

static void die(const char *what)
{
	log_error("libgcrypt: cannot set up %s", what);
	abort();
}

static void handle_free(void *h)
{
	gcry_cipher_close(h); /* wipes the key it held */
}

static void setup(void)
{
	/* The handles hold only the key of the packet at hand; no locked memory is needed. */
	if (!gcry_check_version(GCRYPT_VERSION) || gcry_control(GCRYCTL_DISABLE_SECMEM, 0) ||
	    gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0))
		die("the library (version " GCRYPT_VERSION " or later is required)");
	if (pthread_key_create(&handle_key, handle_free) != 0)
		die("thread handles");
}

/* This thread's ChaCha20-Poly1305 handle, opened on first use and reused for every message. */
static gcry_cipher_hd_t handle(void)
{
	gcry_cipher_hd_t h;

	pthread_once(&once, setup);
	h = pthread_getspecific(handle_key);
	if (h)
		return h;
	if (gcry_cipher_open(&h, GCRY_CIPHER_CHACHA20, GCRY_CIPHER_MODE_POLY1305, 0) ||
	    pthread_setspecific(handle_key, h) != 0)
		die("a ChaCha20-Poly1305 handle");
	return h;
}

/* Keys the handle for one message: WireGuard's nonce is 32 zero bits, then the counter (LE). */
static gcry_error_t start(gcry_cipher_hd_t h, uint64_t counter, const uint8_t *ad, size_t adlen,
                          const uint8_t *key)
{
	uint8_t nonce[12] = { 0 };
	gcry_error_t err;

	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(counter >> (8 * i));
	err = gcry_cipher_setkey(h, key, AEAD_KEY_LEN);
	if (!err)
		err = gcry_cipher_setiv(h, nonce, sizeof(nonce));
	if (!err && adlen)
		err = gcry_cipher_authenticate(h, ad, adlen);
	if (!err)
		err = gcry_cipher_final(h); /* the next call carries the whole message */
	return err;
}

void aead_seal(uint8_t *dst, const uint8_t *src, size_t len, uint64_t counter, const uint8_t *ad,
               size_t adlen, const uint8_t key[AEAD_KEY_LEN])
{
	gcry_cipher_hd_t h = handle();

	/* libgcrypt works in place or between separate buffers; make it in place. */
	if (len && dst != src)
		memmove(dst, src, len);
	if (start(h, counter, ad, adlen, key) || gcry_cipher_encrypt(h, dst, len, NULL, 0) ||
	    gcry_cipher_gettag(h, dst + len, AEAD_TAG_LEN))
		die("sealing");
}

void aead_warm(void)
{
	static const uint8_t key[AEAD_KEY_LEN];
	uint8_t scratch[64 + AEAD_TAG_LEN] = { 0 };

	aead_seal(scratch, scratch, 64, 0, NULL, 0, key);
}

bool aead_open(uint8_t *dst, const uint8_t *src, size_t len, uint64_t counter, const uint8_t *ad,
               size_t adlen, const uint8_t key[AEAD_KEY_LEN])
{
	gcry_cipher_hd_t h = handle();
	uint8_t tag[AEAD_TAG_LEN];
	size_t plain;

	if (len < AEAD_TAG_LEN)
		return false;
	plain = len - AEAD_TAG_LEN;
	/* The tag is copied first: dst may overlap it. */
	memcpy(tag, src + plain, AEAD_TAG_LEN);
	if (plain && dst != src)
		memmove(dst, src, plain);
	if (start(h, counter, ad, adlen, key) || gcry_cipher_decrypt(h, dst, plain, NULL, 0))
		die("opening");
	/* checktag compares in constant time; a forgery leaves nothing readable behind. */
	if (gcry_cipher_checktag(h, tag, AEAD_TAG_LEN)) {
		sodium_memzero(dst, plain);
		return false;
	}
	return true;
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
