/* ossl.h - per-thread OpenSSL contexts, fetched and allocated once per thread. */
#ifndef LANRAGE_CRYPTO_OSSL_H
#define LANRAGE_CRYPTO_OSSL_H

#include <openssl/evp.h>

/*
 * The algorithms are fetched once per process; each thread gets its own
 * contexts on first use, reused for every later call (no allocation per
 * packet) and freed when the thread exits.  Allocation failure here is fatal:
 * there is no safe way to continue without the primitive.
 */
struct ossl_thread {
	EVP_MD_CTX *md;     /* BLAKE2S-256 */
	EVP_MAC_CTX *b2mac; /* BLAKE2SMAC */
	EVP_MAC_CTX *hmac;  /* HMAC over BLAKE2S-256 */
};

struct ossl_algorithms {
	EVP_MD *blake2s;
	EVP_MAC *blake2s_mac;
	EVP_MAC *hmac;
};

const struct ossl_algorithms *ossl_algorithms(void);
struct ossl_thread *ossl_thread(void);

#endif
