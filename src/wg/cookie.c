/* cookie.c - mac1/mac2 on handshake messages and the cookie reply. */
#include "wg/cookie.h"

#include <arpa/inet.h>
#include <string.h>

#include "crypto/aead.h"
#include "crypto/blake2s.h"
#include "crypto/rand.h"
#include "crypto/secret.h"

static const char label_mac1[] = "mac1----";
static const char label_cookie[] = "cookie--";

static void derive_keys(uint8_t mac1_key[32], uint8_t cookie_key[32], const uint8_t pub[32])
{
	blake2s_hash(mac1_key, (const uint8_t *)label_mac1, sizeof(label_mac1) - 1, pub, 32);
	blake2s_hash(cookie_key, (const uint8_t *)label_cookie, sizeof(label_cookie) - 1, pub, 32);
}

void cookie_checker_init(struct cookie_checker *c, const uint8_t our_public[NOISE_PUBLIC_KEY_LEN])
{
	secret_zero(c, sizeof(*c));
	if (our_public)
		derive_keys(c->mac1_key, c->cookie_encryption_key, our_public);
}

void cookie_maker_init(struct cookie_maker *m, const uint8_t peer_public[NOISE_PUBLIC_KEY_LEN])
{
	secret_zero(m, sizeof(*m));
	derive_keys(m->mac1_key, m->cookie_encryption_key, peer_public);
}

/* cookie = MAC(secret, source address || source port), the secret renewed every 2 minutes. */
static void make_cookie(struct cookie_checker *c, uint8_t cookie[COOKIE_LEN],
                        const struct addr *src, uint64_t now_ns)
{
	uint8_t input[18];
	size_t len;

	if (!c->secret_valid ||
	    now_ns - c->secret_birth_ns >= (uint64_t)COOKIE_SECRET_MAX_AGE_SEC * 1000000000ull) {
		rand_bytes(c->secret, sizeof(c->secret));
		c->secret_birth_ns = now_ns;
		c->secret_valid = true;
	}
	if (src->sa.sa_family == AF_INET6) {
		memcpy(input, &src->in6.sin6_addr, 16);
		memcpy(input + 16, &src->in6.sin6_port, 2);
		len = 18;
	} else {
		memcpy(input, &src->in4.sin_addr, 4);
		memcpy(input + 4, &src->in4.sin_port, 2);
		len = 6;
	}
	blake2s_mac(cookie, c->secret, sizeof(c->secret), input, len);
}

enum cookie_mac_state cookie_validate(struct cookie_checker *c, const uint8_t *msg, size_t len,
                                      const struct addr *src, bool check_cookie, uint64_t now_ns)
{
	const struct msg_macs *macs =
	    (const struct msg_macs *)(msg + len - sizeof(struct msg_macs));
	uint8_t computed[MAC_LEN], cookie[COOKIE_LEN];

	blake2s_mac(computed, c->mac1_key, sizeof(c->mac1_key), msg, len - sizeof(struct msg_macs));
	if (!secret_equal(computed, macs->mac1, MAC_LEN))
		return COOKIE_MAC_INVALID;
	if (!check_cookie)
		return COOKIE_MAC_VALID_NO_COOKIE;
	make_cookie(c, cookie, src, now_ns);
	blake2s_mac(computed, cookie, COOKIE_LEN, msg, len - MAC_LEN);
	secret_zero(cookie, sizeof(cookie));
	if (!secret_equal(computed, macs->mac2, MAC_LEN))
		return COOKIE_MAC_VALID_NO_COOKIE;
	return COOKIE_MAC_VALID_WITH_COOKIE;
}

void cookie_create_reply(struct cookie_checker *c, struct msg_cookie_reply *reply,
                         const uint8_t *msg, size_t len, const struct addr *src, uint64_t now_ns)
{
	const struct msg_macs *macs =
	    (const struct msg_macs *)(msg + len - sizeof(struct msg_macs));
	uint8_t cookie[COOKIE_LEN];

	memset(reply, 0, sizeof(*reply));
	reply->header.type = MSG_COOKIE_REPLY;
	/* The sender index sits at the same offset in initiations and responses. */
	memcpy(reply->receiver_index, msg + sizeof(struct msg_header), 4);
	rand_bytes(reply->nonce, sizeof(reply->nonce));
	make_cookie(c, cookie, src, now_ns);
	xaead_seal(reply->encrypted_cookie, cookie, COOKIE_LEN, reply->nonce, macs->mac1, MAC_LEN,
	           c->cookie_encryption_key);
	secret_zero(cookie, sizeof(cookie));
}

void cookie_add_macs(struct cookie_maker *m, uint8_t *msg, size_t len, uint64_t now_ns)
{
	struct msg_macs *macs = (struct msg_macs *)(msg + len - sizeof(struct msg_macs));
	uint64_t usable_ns =
	    (uint64_t)(COOKIE_SECRET_MAX_AGE_SEC - COOKIE_SECRET_LATENCY_SEC) * 1000000000ull;

	blake2s_mac(macs->mac1, m->mac1_key, sizeof(m->mac1_key), msg, len - sizeof(*macs));
	memcpy(m->last_mac1_sent, macs->mac1, MAC_LEN);
	m->have_sent_mac1 = true;
	if (m->cookie_valid && now_ns - m->cookie_birth_ns < usable_ns)
		blake2s_mac(macs->mac2, m->cookie, COOKIE_LEN, msg, len - MAC_LEN);
	else
		memset(macs->mac2, 0, MAC_LEN);
}

bool cookie_consume_reply(struct cookie_maker *m, const struct msg_cookie_reply *reply,
                          uint64_t now_ns)
{
	uint8_t cookie[COOKIE_LEN];

	if (!m->have_sent_mac1)
		return false;
	if (!xaead_open(cookie, reply->encrypted_cookie, sizeof(reply->encrypted_cookie),
	                reply->nonce, m->last_mac1_sent, MAC_LEN, m->cookie_encryption_key))
		return false;
	memcpy(m->cookie, cookie, COOKIE_LEN);
	secret_zero(cookie, sizeof(cookie));
	m->cookie_birth_ns = now_ns;
	m->cookie_valid = true;
	m->have_sent_mac1 = false;
	return true;
}
