/* auth.h - proof of key, tokens, and who a request speaks for. */
#ifndef LANRAGE_SERVER_AUTH_H
#define LANRAGE_SERVER_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/key.h"
#include "server/apierr.h"
#include "server/registry.h"
#include "util/compiler.h"

struct store;

/*
 * Registration proves possession of the WireGuard private key:
 *
 *   1. POST /auth/challenge {public_key}: the server picks 32 random bytes r
 *      and answers sealed = crypto_box_seal(r, public_key) (X25519 + XSalsa20-
 *      Poly1305; a WireGuard key is a Curve25519 key) and challenge =
 *      expiry || BLAKE2b(challenge key; public_key || expiry || r).
 *   2. Only the holder of the private key can open the box and learn r.
 *   3. POST /auth/register {public_key, challenge, response = r}: the server
 *      recomputes the MAC (constant-time compare), checks the expiry and that
 *      the challenge was not used before, and issues a token.
 *
 * Nothing is stored between the steps, so any instance can finish what
 * another began: the challenge key is one random secret in the database,
 * shared by every instance.  Tokens are 32 random bytes (64 hex digits); the
 * database keeps only their BLAKE2b hash, and a cache of hashes saves the
 * lookup on the request path.
 */
enum {
	AUTH_TOKEN_BYTES = 32,
	AUTH_TOKEN_HEX = 64,
	AUTH_HASH_BYTES = 32,
	AUTH_CHALLENGE_RANDOM = 32,
	AUTH_CACHE_BUCKETS = 16384,
	AUTH_USED_MAX = 65536, /* remembered challenges, per instance */
};

struct auth_entry;

/* Owned by the server; loop thread only. */
struct auth {
	struct store *store;
	uint8_t challenge_key[32];
	int64_t token_ttl_ms, challenge_ttl_ms;
	struct auth_entry *tokens[AUTH_CACHE_BUCKETS]; /* by token hash */
	struct auth_entry *used[AUTH_CACHE_BUCKETS];   /* challenge MACs already answered */
	size_t n_tokens, n_used;
	uint64_t issued;
};

int auth_init(struct auth *a, struct store *store, int64_t token_ttl_ms, int64_t challenge_ttl_ms,
              char *err) WARN_UNUSED;
void auth_clear(struct auth *a);

/* Step 1: fills sealed and challenge (base64) and their expiry. */
bool auth_challenge(struct auth *a, const wg_key public_key, char *sealed, size_t sealed_sz,
                    char *challenge, size_t challenge_sz, int64_t *expires_ms,
                    struct api_error *e) WARN_UNUSED;
/* Step 3: checks the answer and issues a token (hex) for the key's peer. */
bool auth_register(struct auth *a, const wg_key public_key, const char *challenge,
                   const char *response, char token[AUTH_TOKEN_HEX + 1],
                   char peer_id[PEER_ID_MAX + 1], int64_t *expires_ms,
                   struct api_error *e) WARN_UNUSED;

/*
 * Who an "Authorization: Bearer <token>" header speaks for; 401 when the
 * header is missing, malformed, unknown or expired.
 */
bool auth_check(struct auth *a, const char *authorization, struct identity *who,
                struct api_error *e) WARN_UNUSED;

/* Drops expired tokens (store and cache) and expired challenge records. */
int auth_expire(struct auth *a, int64_t now_ms);

#endif
