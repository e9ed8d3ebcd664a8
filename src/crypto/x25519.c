/* x25519.c - Curve25519 Diffie-Hellman (libsodium). */
#include "crypto/x25519.h"

#include <sodium.h>

#include "crypto/rand.h"

bool x25519(uint8_t out[X25519_LEN], const uint8_t scalar[X25519_LEN],
            const uint8_t point[X25519_LEN])
{
	/* libsodium fails on an all-zero result, as the WireGuard spec requires. */
	return crypto_scalarmult_curve25519(out, scalar, point) == 0;
}

void x25519_base(uint8_t pub[X25519_LEN], const uint8_t scalar[X25519_LEN])
{
	crypto_scalarmult_curve25519_base(pub, scalar);
}

void x25519_generate(uint8_t priv[X25519_LEN])
{
	rand_bytes(priv, X25519_LEN);
	priv[0] &= 248;
	priv[31] = (priv[31] & 127) | 64;
}
