/* cookie.h - mac1/mac2 on handshake messages and the cookie reply (the paper, section 5.4.7). */
#ifndef LANRAGE_WG_COOKIE_H
#define LANRAGE_WG_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/addr.h"
#include "util/compiler.h"
#include "wg/messages.h"

enum cookie_mac_state {
	COOKIE_MAC_INVALID,           /* mac1 wrong: drop silently */
	COOKIE_MAC_VALID_NO_COOKIE,   /* mac1 right; mac2 absent, wrong or not checked */
	COOKIE_MAC_VALID_WITH_COOKIE, /* mac1 and mac2 right: the source address is proven */
};

/* The responder side: checks MACs and makes cookie replies.  Owned by the device. */
struct cookie_checker {
	uint8_t mac1_key[NOISE_SYMMETRIC_KEY_LEN];              /* HASH("mac1----" || our key) */
	uint8_t cookie_encryption_key[NOISE_SYMMETRIC_KEY_LEN]; /* HASH("cookie--" || our key) */
	uint8_t secret[NOISE_HASH_LEN];                         /* rotated every 2 minutes */
	uint64_t secret_birth_ns;
	bool secret_valid;
};

/* The initiator side: adds MACs and keeps the cookie a responder sent.  One per peer. */
struct cookie_maker {
	uint8_t mac1_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t cookie_encryption_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t cookie[COOKIE_LEN];
	uint64_t cookie_birth_ns;
	bool cookie_valid;
	uint8_t last_mac1_sent[MAC_LEN];
	bool have_sent_mac1;
};

void cookie_checker_init(struct cookie_checker *c, const uint8_t our_public[NOISE_PUBLIC_KEY_LEN]);
void cookie_maker_init(struct cookie_maker *m, const uint8_t peer_public[NOISE_PUBLIC_KEY_LEN]);

/*
 * msg is a whole initiation or response (len bytes, MACs last).  mac2 is
 * checked only when check_cookie (the device is under load).
 */
enum cookie_mac_state cookie_validate(struct cookie_checker *c, const uint8_t *msg, size_t len,
                                      const struct addr *src, bool check_cookie, uint64_t now_ns);
/* A cookie reply to msg (its sender index and mac1) for src. */
void cookie_create_reply(struct cookie_checker *c, struct msg_cookie_reply *reply,
                         const uint8_t *msg, size_t len, const struct addr *src, uint64_t now_ns);

/* Fills mac1 (and mac2 while a fresh cookie is held) of an outgoing message. */
void cookie_add_macs(struct cookie_maker *m, uint8_t *msg, size_t len, uint64_t now_ns);
/* Takes the cookie from a reply to the last message we MACed; false if it does not decrypt. */
bool cookie_consume_reply(struct cookie_maker *m, const struct msg_cookie_reply *reply,
                          uint64_t now_ns) WARN_UNUSED;

#endif
