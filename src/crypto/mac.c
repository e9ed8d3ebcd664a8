/* mac.c - keyed message authentication and key derivation (BLAKE2b, libsodium). */
#include "crypto/mac.h"

#include <sodium.h>
#include <string.h>

#include "crypto/secret.h"

void mac_compute(uint8_t tag[MAC_TAG_LEN], const uint8_t key[MAC_KEY_LEN], const void *data,
                 size_t len)
{
	crypto_generichash(tag, MAC_TAG_LEN, data, len, key, MAC_KEY_LEN);
}

bool mac_verify(const uint8_t tag[MAC_TAG_LEN], const uint8_t key[MAC_KEY_LEN], const void *data,
                size_t len)
{
	uint8_t want[MAC_TAG_LEN];
	bool ok;

	mac_compute(want, key, data, len);
	ok = secret_equal(want, tag, MAC_TAG_LEN);
	secret_zero(want, sizeof(want));
	return ok;
}

void mac_derive_key(uint8_t out[MAC_KEY_LEN], const char *label, const void *a, size_t alen,
                    const void *b, size_t blen, const void *c, size_t clen)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, MAC_KEY_LEN);
	crypto_generichash_update(&st, (const uint8_t *)label, strlen(label));
	if (alen)
		crypto_generichash_update(&st, a, alen);
	if (blen)
		crypto_generichash_update(&st, b, blen);
	if (clen)
		crypto_generichash_update(&st, c, clen);
	crypto_generichash_final(&st, out, MAC_KEY_LEN);
	secret_zero(&st, sizeof(st));
}
