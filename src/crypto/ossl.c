/* ossl.c - per-thread OpenSSL contexts, fetched and allocated once per thread. */
#include "crypto/ossl.h"

#include <pthread.h>
#include <stdlib.h>

#include "util/log.h"

static struct ossl_algorithms algs;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_key_t key;

static void die(const char *what)
{
	log_error("OpenSSL: cannot set up %s", what);
	abort();
}

static void thread_free(void *p)
{
	struct ossl_thread *t = p;

	EVP_MD_CTX_free(t->md);
	EVP_MAC_CTX_free(t->b2mac);
	EVP_MAC_CTX_free(t->hmac);
	free(t);
}

static void fetch(void)
{
	algs.blake2s = EVP_MD_fetch(NULL, "BLAKE2S-256", NULL);
	algs.blake2s_mac = EVP_MAC_fetch(NULL, "BLAKE2SMAC", NULL);
	algs.hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (!algs.blake2s || !algs.blake2s_mac || !algs.hmac)
		die("BLAKE2s (OpenSSL >= 3.0 is required)");
	if (pthread_key_create(&key, thread_free) != 0)
		die("thread contexts");
}

const struct ossl_algorithms *ossl_algorithms(void)
{
	pthread_once(&once, fetch);
	return &algs;
}

struct ossl_thread *ossl_thread(void)
{
	struct ossl_thread *t;

	pthread_once(&once, fetch);
	t = pthread_getspecific(key);
	if (t)
		return t;
	t = calloc(1, sizeof(*t));
	if (!t)
		die("thread contexts");
	t->md = EVP_MD_CTX_new();
	t->b2mac = EVP_MAC_CTX_new(algs.blake2s_mac);
	t->hmac = EVP_MAC_CTX_new(algs.hmac);
	if (!t->md || !t->b2mac || !t->hmac)
		die("thread contexts");
	if (pthread_setspecific(key, t) != 0)
		die("thread contexts");
	return t;
}
