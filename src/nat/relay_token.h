/* relay_token.h - relay tokens: the secret's key, issuing, checking, session keys, tags. */
#ifndef LANRAGE_NAT_RELAY_TOKEN_H
#define LANRAGE_NAT_RELAY_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/mac.h"
#include "nat/relay_frame.h"
#include "nat/relay_wire.h"
#include "util/compiler.h"

/*
 * docs/PROTOCOL.md "Tokens and keys".  The control server and its relays
 * share a secret; from it both derive the token key
 *
 *   token key   = BLAKE2b-256("lanrage relay token v1" || secret)
 *   session key = BLAKE2b-256("lanrage relay session v1" || token key || token)
 *
 * The server issues a token (version, expiry, peer id, party id, MAC under
 * the token key) with its session key to a member; a relay checks the token
 * and recomputes the session key from it alone, with no database.
 */
enum {
	RELAY_SECRET_MIN = 16,   /* characters, after trimming */
	RELAY_SECRET_MAX = 4096, /* bytes of the secret file */
	RELAY_TAG_HEX_LEN = 8,
	RELAY_PEER_ID_HEX_LEN = 16,
};

struct relay_token_info {
	uint32_t expiry; /* Unix seconds */
	uint8_t peer_id[RELAY_TOKEN_PEER_LEN];
	char party[RELAY_TOKEN_PARTY_LEN + 1]; /* the party id's 16 symbols, no dashes */
};

/* The secret's length without trailing spaces, CRs and LFs (as the secret file is read). */
size_t relay_secret_trim(const char *text, size_t len);
/* The token key from the secret file's text; false when under 16 characters once trimmed. */
bool relay_token_key(uint8_t key[MAC_KEY_LEN], const char *text, size_t len, char *err) WARN_UNUSED;

/*
 * Fills info's party from a party id in canonical form ("XXXX-XXXX-XXXX-XXXX",
 * dashes optional) and its peer id from 16 hex digits.  false on anything else.
 */
bool relay_token_info_set(struct relay_token_info *info, uint32_t expiry, const char *peer_id_hex,
                          const char *party_id) WARN_UNUSED;

/* The server's side: writes the token, MAC included. */
void relay_token_create(uint8_t token[RELAY_TOKEN_LEN], const uint8_t token_key[MAC_KEY_LEN],
                        const struct relay_token_info *info);
/*
 * The relay's side: exact length, version, the MAC (constant time), then the
 * expiry against now_sec (Unix seconds): RELAY_DROP_BAD_TOKEN or
 * RELAY_DROP_EXPIRED.  info is filled only on RELAY_OK.
 */
enum relay_verdict relay_token_verify(const uint8_t *token, size_t len,
                                      const uint8_t token_key[MAC_KEY_LEN], int64_t now_sec,
                                      struct relay_token_info *info) WARN_UNUSED;

void relay_session_key(uint8_t out[MAC_KEY_LEN], const uint8_t token_key[MAC_KEY_LEN],
                       const uint8_t token[RELAY_TOKEN_LEN]);

/* A member's tag: the first 4 bytes of its peer id, big-endian. */
uint32_t relay_tag(const uint8_t peer_id[RELAY_TOKEN_PEER_LEN]);
/* The same from the peer id's 16 hex digits; false when it is not that. */
bool relay_tag_from_peer_id(const char *peer_id_hex, uint32_t *tag) WARN_UNUSED;

#endif
