/* auth.c - proof of key, tokens, and who a request speaks for. */
#include "server/auth.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "control/peer.h"
#include "crypto/rand.h"
#include "crypto/secret.h"
#include "server/store.h"
#include "util/err.h"
#include "util/log.h"
#include "util/now.h"

struct auth_entry {
	struct auth_entry *next;
	uint8_t hash[AUTH_HASH_BYTES];
	int64_t expires_ms;
	struct identity who;
};

enum { CHALLENGE_BYTES = 8 + 32, SEALED_BYTES = AUTH_CHALLENGE_RANDOM + crypto_box_SEALBYTES };

static size_t bucket_of(const uint8_t hash[AUTH_HASH_BYTES])
{
	uint64_t v;

	memcpy(&v, hash, sizeof(v));
	return v % AUTH_CACHE_BUCKETS;
}

static struct auth_entry *find(struct auth_entry **table, const uint8_t hash[AUTH_HASH_BYTES])
{
	for (struct auth_entry *x = table[bucket_of(hash)]; x; x = x->next) {
		if (secret_equal(x->hash, hash, AUTH_HASH_BYTES))
			return x;
	}
	return NULL;
}

static struct auth_entry *insert(struct auth_entry **table, const uint8_t hash[AUTH_HASH_BYTES],
                                 int64_t expires_ms)
{
	struct auth_entry *x = calloc(1, sizeof(*x));
	size_t b = bucket_of(hash);

	if (!x)
		return NULL;
	memcpy(x->hash, hash, AUTH_HASH_BYTES);
	x->expires_ms = expires_ms;
	x->next = table[b];
	table[b] = x;
	return x;
}

/* Frees entries expired at now (all when now is INT64_MAX); returns how many. */
static size_t sweep(struct auth_entry **table, int64_t now)
{
	size_t n = 0;

	for (size_t b = 0; b < AUTH_CACHE_BUCKETS; b++) {
		struct auth_entry **pp = &table[b];

		while (*pp) {
			struct auth_entry *x = *pp;

			if (x->expires_ms <= now) {
				*pp = x->next;
				secret_zero(x, sizeof(*x));
				free(x);
				n++;
			} else {
				pp = &x->next;
			}
		}
	}
	return n;
}

static void token_hash(uint8_t out[AUTH_HASH_BYTES], const uint8_t token[AUTH_TOKEN_BYTES])
{
	crypto_generichash(out, AUTH_HASH_BYTES, token, AUTH_TOKEN_BYTES, NULL, 0);
}

static bool meta_row(void *arg, int n, const char *const *c)
{
	char *out = arg;

	if (n > 0 && c[0])
		snprintf(out, 65, "%s", c[0]);
	return false;
}

/* The challenge key every instance shares, made by whichever starts first. */
static int load_challenge_key(struct auth *a, char *err)
{
	char hex[65] = "";
	uint8_t fresh[32];
	char fresh_hex[65];
	struct store_param p[] = { SP_T(fresh_hex) };
	size_t len = 0;
	int rc;

	rand_bytes(fresh, sizeof(fresh));
	sodium_bin2hex(fresh_hex, sizeof(fresh_hex), fresh, sizeof(fresh));
	rc = store_query(a->store,
	                 "INSERT INTO meta (key, value) VALUES ('challenge_key', $1) "
	                 "ON CONFLICT (key) DO NOTHING",
	                 p, 1, NULL, NULL, err);
	if (!rc)
		rc = store_query(a->store, "SELECT value FROM meta WHERE key = 'challenge_key'",
		                 NULL, 0, meta_row, hex, err);
	if (!rc && (sodium_hex2bin(a->challenge_key, sizeof(a->challenge_key), hex, strlen(hex),
	                           NULL, &len, NULL) != 0 ||
	            len != sizeof(a->challenge_key))) {
		err_set(err, "auth: the stored challenge key is malformed");
		rc = -EINVAL;
	}
	secret_zero(fresh, sizeof(fresh));
	secret_zero(fresh_hex, sizeof(fresh_hex));
	secret_zero(hex, sizeof(hex));
	return rc;
}

int auth_init(struct auth *a, struct store *store, int64_t token_ttl_ms, int64_t challenge_ttl_ms,
              char *err)
{
	memset(a, 0, sizeof(*a));
	a->store = store;
	a->token_ttl_ms = token_ttl_ms;
	a->challenge_ttl_ms = challenge_ttl_ms;
	if (!rand_init()) {
		err_set(err, "auth: cannot initialise libsodium");
		return -EIO;
	}
	return load_challenge_key(a, err);
}

void auth_clear(struct auth *a)
{
	sweep(a->tokens, INT64_MAX);
	sweep(a->used, INT64_MAX);
	secret_zero(a->challenge_key, sizeof(a->challenge_key));
}

static void challenge_mac(const struct auth *a, uint8_t mac[32], const wg_key pk,
                          const uint8_t exp[8], const uint8_t r[AUTH_CHALLENGE_RANDOM])
{
	static const char domain[] = "lanrage control challenge v1";
	crypto_generichash_state st;

	crypto_generichash_init(&st, a->challenge_key, sizeof(a->challenge_key), 32);
	crypto_generichash_update(&st, (const uint8_t *)domain, sizeof(domain));
	crypto_generichash_update(&st, pk, KEY_LEN);
	crypto_generichash_update(&st, exp, 8);
	crypto_generichash_update(&st, r, AUTH_CHALLENGE_RANDOM);
	crypto_generichash_final(&st, mac, 32);
	secret_zero(&st, sizeof(st));
}

static void put_be64(uint8_t out[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		out[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t in[8])
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | in[i];
	return v;
}

bool auth_challenge(struct auth *a, const wg_key public_key, char *sealed, size_t sealed_sz,
                    char *challenge, size_t challenge_sz, int64_t *expires_ms, struct api_error *e)
{
	uint8_t r[AUTH_CHALLENGE_RANDOM], box[SEALED_BYTES], ch[CHALLENGE_BYTES];
	bool ok = false;

	if (sealed_sz < sodium_base64_ENCODED_LEN(SEALED_BYTES, sodium_base64_VARIANT_ORIGINAL) ||
	    challenge_sz <
	        sodium_base64_ENCODED_LEN(CHALLENGE_BYTES, sodium_base64_VARIANT_ORIGINAL)) {
		api_error_set(e, API_UNAVAILABLE, "challenge buffers too small");
		return false;
	}
	rand_bytes(r, sizeof(r));
	*expires_ms = now_wall_ms() + a->challenge_ttl_ms;
	put_be64(ch, (uint64_t)*expires_ms);
	challenge_mac(a, ch + 8, public_key, ch, r);
	if (crypto_box_seal(box, r, sizeof(r), public_key) != 0) {
		api_error_set(e, API_BAD_REQUEST,
		              "field 'public_key': not a usable Curve25519 public key");
		goto out;
	}
	sodium_bin2base64(sealed, sealed_sz, box, sizeof(box), sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(challenge, challenge_sz, ch, sizeof(ch), sodium_base64_VARIANT_ORIGINAL);
	ok = true;
out:
	secret_zero(r, sizeof(r));
	return ok;
}

static bool decode_b64(uint8_t *out, size_t want, const char *text)
{
	size_t len = 0;

	return sodium_base642bin(out, want, text, strlen(text), NULL, &len, NULL,
	                         sodium_base64_VARIANT_ORIGINAL) == 0 &&
	       len == want;
}

static bool store_token(struct auth *a, const struct identity *who,
                        const uint8_t hash[AUTH_HASH_BYTES], int64_t now, int64_t expires,
                        struct api_error *e)
{
	char key[KEY_B64_LEN + 1], hash_hex[AUTH_HASH_BYTES * 2 + 1];
	struct store_param peer[] = { SP_T(who->peer_id), SP_T(key), SP_I(now) };
	struct store_param tok[] = { SP_T(hash_hex), SP_T(who->peer_id), SP_I(now), SP_I(expires) };
	errmsg err;
	int rc;

	key_to_base64(key, who->public_key);
	sodium_bin2hex(hash_hex, sizeof(hash_hex), hash, AUTH_HASH_BYTES);
	rc = store_begin(a->store, err);
	if (!rc)
		rc = store_query(a->store,
		                 "INSERT INTO peers (peer_id, public_key, registered_at) VALUES "
		                 "($1, $2, $3) ON CONFLICT (peer_id) DO UPDATE SET "
		                 "public_key = excluded.public_key",
		                 peer, 3, NULL, NULL, err);
	if (!rc)
		rc = store_query(a->store,
		                 "INSERT INTO tokens (token_hash, peer_id, created_at, expires_at) "
		                 "VALUES ($1, $2, $3, $4)",
		                 tok, 4, NULL, NULL, err);
	if (!rc)
		rc = store_commit(a->store, err);
	if (rc) {
		store_rollback(a->store);
		api_error_store(e, rc, err);
		return false;
	}
	return true;
}

bool auth_register(struct auth *a, const wg_key public_key, const char *challenge,
                   const char *response, char token[AUTH_TOKEN_HEX + 1],
                   char peer_id[PEER_ID_MAX + 1], int64_t *expires_ms, struct api_error *e)
{
	uint8_t ch[CHALLENGE_BYTES], r[AUTH_CHALLENGE_RANDOM], mac[32];
	uint8_t tok[AUTH_TOKEN_BYTES], hash[AUTH_HASH_BYTES];
	int64_t now = now_wall_ms(), exp;
	struct identity who;
	struct auth_entry *x;
	bool ok = false;

	if (!decode_b64(ch, sizeof(ch), challenge)) {
		api_error_set(e, API_BAD_REQUEST, "field 'challenge': not a challenge of ours");
		return false;
	}
	if (!decode_b64(r, sizeof(r), response)) {
		api_error_set(e, API_BAD_REQUEST,
		              "field 'response': expected the %d opened bytes in base64",
		              AUTH_CHALLENGE_RANDOM);
		goto out;
	}
	exp = (int64_t)get_be64(ch);
	challenge_mac(a, mac, public_key, ch, r);
	if (!secret_equal(mac, ch + 8, sizeof(mac))) {
		api_error_set(e, API_UNAUTHORIZED,
		              "wrong response: the challenge was not opened with this key");
		goto out;
	}
	if (exp < now) {
		api_error_set(e, API_UNAUTHORIZED, "challenge expired; ask for a new one");
		goto out;
	}
	if (find(a->used, mac)) {
		api_error_set(e, API_UNAUTHORIZED, "challenge already used; ask for a new one");
		goto out;
	}
	if (a->n_used >= AUTH_USED_MAX)
		a->n_used -= sweep(a->used, now);
	if (a->n_used >= AUTH_USED_MAX) {
		api_error_set(e, API_UNAVAILABLE, "too many registrations at once, try again");
		goto out;
	}
	if (!insert(a->used, mac, exp))
		goto out;
	a->n_used++;

	memset(&who, 0, sizeof(who));
	memcpy(who.public_key, public_key, KEY_LEN);
	peer_id_from_key(who.peer_id, public_key);
	rand_bytes(tok, sizeof(tok));
	token_hash(hash, tok);
	*expires_ms = now + a->token_ttl_ms;
	if (!store_token(a, &who, hash, now, *expires_ms, e))
		goto out;
	x = insert(a->tokens, hash, *expires_ms);
	if (x) {
		x->who = who;
		a->n_tokens++;
	}
	sodium_bin2hex(token, AUTH_TOKEN_HEX + 1, tok, sizeof(tok));
	snprintf(peer_id, PEER_ID_MAX + 1, "%s", who.peer_id);
	a->issued++;
	log_info("auth: token issued to peer %s", who.peer_id);
	ok = true;
out:
	secret_zero(r, sizeof(r));
	secret_zero(tok, sizeof(tok));
	return ok;
}

struct token_row {
	struct identity who;
	int64_t expires_ms;
	bool found;
};

static bool token_row(void *arg, int n, const char *const *c)
{
	struct token_row *t = arg;

	if (n >= 3 && c[0] && c[2] && store_col_int(c[1], &t->expires_ms) &&
	    key_from_base64(t->who.public_key, c[2], NULL)) {
		snprintf(t->who.peer_id, sizeof(t->who.peer_id), "%s", c[0]);
		t->found = true;
	}
	return false;
}

bool auth_check(struct auth *a, const char *authorization, struct identity *who,
                struct api_error *e)
{
	uint8_t tok[AUTH_TOKEN_BYTES], hash[AUTH_HASH_BYTES];
	char hash_hex[AUTH_HASH_BYTES * 2 + 1];
	int64_t now = now_wall_ms();
	struct auth_entry *x;
	struct token_row row = { 0 };
	const char *t;
	size_t len = 0;
	errmsg err;
	int rc;

	if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0) {
		api_error_set(e, API_UNAUTHORIZED,
		              "missing 'Authorization: Bearer <token>' (POST /auth/register)");
		return false;
	}
	t = authorization + 7;
	while (*t == ' ')
		t++;
	if (strlen(t) != AUTH_TOKEN_HEX ||
	    sodium_hex2bin(tok, sizeof(tok), t, AUTH_TOKEN_HEX, NULL, &len, NULL) != 0 ||
	    len != sizeof(tok)) {
		api_error_set(e, API_UNAUTHORIZED, "malformed token: expected %d hex digits",
		              AUTH_TOKEN_HEX);
		return false;
	}
	token_hash(hash, tok);
	secret_zero(tok, sizeof(tok));
	x = find(a->tokens, hash);
	if (x) {
		if (x->expires_ms < now)
			goto expired;
		*who = x->who;
		return true;
	}
	/* Issued by another instance, or before a restart. */
	sodium_bin2hex(hash_hex, sizeof(hash_hex), hash, sizeof(hash));
	{
		struct store_param p[] = { SP_T(hash_hex) };

		rc = store_query(a->store,
		                 "SELECT t.peer_id, t.expires_at, p.public_key FROM tokens t "
		                 "JOIN peers p ON p.peer_id = t.peer_id WHERE t.token_hash = $1",
		                 p, 1, token_row, &row, err);
	}
	if (rc) {
		api_error_store(e, rc, err);
		return false;
	}
	if (!row.found || row.expires_ms < now)
		goto expired;
	x = insert(a->tokens, hash, row.expires_ms);
	if (x) {
		x->who = row.who;
		a->n_tokens++;
	}
	*who = row.who;
	return true;
expired:
	api_error_set(e, API_UNAUTHORIZED, "unknown or expired token; register again");
	return false;
}

int auth_expire(struct auth *a, int64_t now_ms)
{
	struct store_param p[] = { SP_I(now_ms) };
	errmsg err;
	int rc;

	a->n_tokens -= sweep(a->tokens, now_ms);
	a->n_used -= sweep(a->used, now_ms);
	rc = store_query(a->store, "DELETE FROM tokens WHERE expires_at < $1", p, 1, NULL, NULL,
	                 err);
	/* A peer record only serves its tokens. */
	if (!rc)
		rc = store_query(a->store,
		                 "DELETE FROM peers WHERE NOT EXISTS (SELECT 1 FROM tokens t "
		                 "WHERE t.peer_id = peers.peer_id)",
		                 NULL, 0, NULL, NULL, err);
	if (rc)
		log_error("cleanup: expiring tokens: %s", err);
	return rc;
}
