/* noise.c - the Noise_IKpsk2 handshake and the session keys it derives. */
#include "wg/noise.h"

#include <pthread.h>
#include <string.h>

#include "crypto/aead.h"
#include "crypto/blake2s.h"
#include "crypto/secret.h"
#include "crypto/x25519.h"
#include "util/pi_mutex.h"

static const char construction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
static const char identifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";

static uint8_t initial_chaining_key[NOISE_HASH_LEN];
static uint8_t initial_hash[NOISE_HASH_LEN];
static pthread_once_t constants_once = PTHREAD_ONCE_INIT;

static void constants_init(void)
{
	blake2s_hash(initial_chaining_key, (const uint8_t *)construction, sizeof(construction) - 1,
	             NULL, 0);
	blake2s_hash(initial_hash, initial_chaining_key, NOISE_HASH_LEN,
	             (const uint8_t *)identifier, sizeof(identifier) - 1);
}

/* KDF_n(ck, input) of the paper: up to three 32-byte outputs. */
static void kdf(uint8_t *t1, uint8_t *t2, uint8_t *t3, const uint8_t ck[NOISE_HASH_LEN],
                const uint8_t *input, size_t len)
{
	uint8_t secret[NOISE_HASH_LEN], in[NOISE_HASH_LEN + 1], out[NOISE_HASH_LEN];

	blake2s_hmac(secret, ck, NOISE_HASH_LEN, input, len);
	in[0] = 1;
	blake2s_hmac(out, secret, NOISE_HASH_LEN, in, 1);
	memcpy(t1, out, NOISE_HASH_LEN);
	if (t2) {
		memcpy(in, out, NOISE_HASH_LEN);
		in[NOISE_HASH_LEN] = 2;
		blake2s_hmac(out, secret, NOISE_HASH_LEN, in, sizeof(in));
		memcpy(t2, out, NOISE_HASH_LEN);
	}
	if (t3) {
		memcpy(in, out, NOISE_HASH_LEN);
		in[NOISE_HASH_LEN] = 3;
		blake2s_hmac(out, secret, NOISE_HASH_LEN, in, sizeof(in));
		memcpy(t3, out, NOISE_HASH_LEN);
	}
	secret_zero(secret, sizeof(secret));
	secret_zero(in, sizeof(in));
	secret_zero(out, sizeof(out));
}

static void mix_hash(uint8_t hash[NOISE_HASH_LEN], const uint8_t *data, size_t len)
{
	blake2s_hash(hash, hash, NOISE_HASH_LEN, data, len);
}

/* (ck, key) = KDF2(ck, DH(priv, pub)); false on a low-order point. */
static bool mix_dh(uint8_t ck[NOISE_HASH_LEN], uint8_t *key, const uint8_t priv[32],
                   const uint8_t pub[32])
{
	uint8_t dh[32];
	bool ok = x25519(dh, priv, pub);

	if (ok)
		kdf(ck, key, NULL, ck, dh, sizeof(dh));
	secret_zero(dh, sizeof(dh));
	return ok;
}

/* msg.ephemeral: H = HASH(H || e); ck = KDF1(ck, e). */
static void mix_ephemeral(uint8_t ck[NOISE_HASH_LEN], uint8_t hash[NOISE_HASH_LEN],
                          const uint8_t ephemeral[NOISE_PUBLIC_KEY_LEN])
{
	mix_hash(hash, ephemeral, NOISE_PUBLIC_KEY_LEN);
	kdf(ck, NULL, NULL, ck, ephemeral, NOISE_PUBLIC_KEY_LEN);
}

/* Encrypts with the running hash as associated data, then mixes the ciphertext in. */
static void seal_and_hash(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[32],
                          uint8_t hash[NOISE_HASH_LEN])
{
	aead_seal(dst, src, len, 0, hash, NOISE_HASH_LEN, key);
	mix_hash(hash, dst, len + NOISE_AUTHTAG_LEN);
}

static bool open_and_hash(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[32],
                          uint8_t hash[NOISE_HASH_LEN])
{
	if (!aead_open(dst, src, len + NOISE_AUTHTAG_LEN, 0, hash, NOISE_HASH_LEN, key))
		return false;
	mix_hash(hash, src, len + NOISE_AUTHTAG_LEN);
	return true;
}

void noise_local_set(struct noise_local *local, const uint8_t private_key[NOISE_PUBLIC_KEY_LEN])
{
	pthread_once(&constants_once, constants_init);
	memcpy(local->private_key, private_key, NOISE_PUBLIC_KEY_LEN);
	x25519_base(local->public_key, local->private_key);
	local->has_identity = !secret_is_zero(private_key, NOISE_PUBLIC_KEY_LEN);
}

void noise_local_clear(struct noise_local *local)
{
	secret_zero(local, sizeof(*local));
}

void noise_handshake_init(struct noise_handshake *hs, const struct noise_local *local,
                          const uint8_t remote_static[NOISE_PUBLIC_KEY_LEN])
{
	pthread_once(&constants_once, constants_init);
	secret_zero(hs, sizeof(*hs));
	memcpy(hs->remote_static, remote_static, NOISE_PUBLIC_KEY_LEN);
	noise_handshake_set_local(hs, local);
}

void noise_handshake_set_local(struct noise_handshake *hs, const struct noise_local *local)
{
	noise_handshake_zero(hs);
	/* A low-order remote key gives an all-zero result: such a peer cannot handshake. */
	if (!local->has_identity ||
	    !x25519(hs->precomputed_static_static, local->private_key, hs->remote_static))
		secret_zero(hs->precomputed_static_static, NOISE_PUBLIC_KEY_LEN);
}

void noise_handshake_set_psk(struct noise_handshake *hs, const uint8_t *psk)
{
	if (psk)
		memcpy(hs->preshared_key, psk, NOISE_SYMMETRIC_KEY_LEN);
	else
		secret_zero(hs->preshared_key, NOISE_SYMMETRIC_KEY_LEN);
}

void noise_handshake_zero(struct noise_handshake *hs)
{
	secret_zero(hs->remote_ephemeral, sizeof(hs->remote_ephemeral));
	secret_zero(hs->ephemeral_private, sizeof(hs->ephemeral_private));
	secret_zero(hs->hash, sizeof(hs->hash));
	secret_zero(hs->chaining_key, sizeof(hs->chaining_key));
	hs->remote_index = 0;
	hs->local_index = 0;
	hs->state = HANDSHAKE_ZEROED;
}

void noise_tai64n(uint8_t out[NOISE_TIMESTAMP_LEN], int64_t wall_ns)
{
	uint64_t sec = 0x400000000000000aull + (uint64_t)(wall_ns / 1000000000);
	uint32_t nsec = (uint32_t)(wall_ns % 1000000000) & ~((1u << 24) - 1);

	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(sec >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		out[8 + i] = (uint8_t)(nsec >> (24 - 8 * i));
}

static bool can_handshake(const struct noise_handshake *hs, const struct noise_local *local)
{
	return local->has_identity &&
	       !secret_is_zero(hs->precomputed_static_static, NOISE_PUBLIC_KEY_LEN);
}

bool noise_create_initiation(struct noise_handshake *hs, const struct noise_local *local,
                             uint32_t local_index, const uint8_t timestamp[NOISE_TIMESTAMP_LEN],
                             struct msg_initiation *msg)
{
	uint8_t key[NOISE_SYMMETRIC_KEY_LEN], ephemeral_public[NOISE_PUBLIC_KEY_LEN];
	bool ok = false;

	if (!can_handshake(hs, local))
		return false;
	memset(msg, 0, sizeof(*msg));
	msg->header.type = MSG_INITIATION;
	le32_store(msg->sender_index, local_index);

	memcpy(hs->chaining_key, initial_chaining_key, NOISE_HASH_LEN);
	memcpy(hs->hash, initial_hash, NOISE_HASH_LEN);
	mix_hash(hs->hash, hs->remote_static, NOISE_PUBLIC_KEY_LEN);

	/* e */
	x25519_generate(hs->ephemeral_private);
	x25519_base(ephemeral_public, hs->ephemeral_private);
	memcpy(msg->ephemeral, ephemeral_public, NOISE_PUBLIC_KEY_LEN);
	mix_ephemeral(hs->chaining_key, hs->hash, msg->ephemeral);
	/* es */
	if (!mix_dh(hs->chaining_key, key, hs->ephemeral_private, hs->remote_static))
		goto out;
	/* s */
	seal_and_hash(msg->encrypted_static, local->public_key, NOISE_PUBLIC_KEY_LEN, key,
	              hs->hash);
	/* ss */
	kdf(hs->chaining_key, key, NULL, hs->chaining_key, hs->precomputed_static_static,
	    NOISE_PUBLIC_KEY_LEN);
	/* {t} */
	seal_and_hash(msg->encrypted_timestamp, timestamp, NOISE_TIMESTAMP_LEN, key, hs->hash);

	hs->local_index = local_index;
	hs->state = HANDSHAKE_CREATED_INITIATION;
	ok = true;
out:
	secret_zero(key, sizeof(key));
	if (!ok)
		noise_handshake_zero(hs);
	return ok;
}

bool noise_consume_initiation_begin(const struct noise_local *local,
                                    const struct msg_initiation *msg,
                                    struct noise_initiation_state *st)
{
	uint8_t key[NOISE_SYMMETRIC_KEY_LEN];
	bool ok = false;

	if (!local->has_identity)
		return false;
	memcpy(st->chaining_key, initial_chaining_key, NOISE_HASH_LEN);
	memcpy(st->hash, initial_hash, NOISE_HASH_LEN);
	mix_hash(st->hash, local->public_key, NOISE_PUBLIC_KEY_LEN);
	/* e */
	memcpy(st->remote_ephemeral, msg->ephemeral, NOISE_PUBLIC_KEY_LEN);
	mix_ephemeral(st->chaining_key, st->hash, msg->ephemeral);
	/* es */
	if (!mix_dh(st->chaining_key, key, local->private_key, msg->ephemeral))
		goto out;
	/* s */
	if (!open_and_hash(st->remote_static, msg->encrypted_static, NOISE_PUBLIC_KEY_LEN, key,
	                   st->hash))
		goto out;
	st->remote_index = le32_load(msg->sender_index);
	ok = true;
out:
	secret_zero(key, sizeof(key));
	if (!ok)
		secret_zero(st, sizeof(*st));
	return ok;
}

bool noise_consume_initiation_finish(struct noise_handshake *hs, struct noise_initiation_state *st,
                                     const struct msg_initiation *msg, uint64_t now_ns)
{
	uint8_t key[NOISE_SYMMETRIC_KEY_LEN], timestamp[NOISE_TIMESTAMP_LEN];
	bool ok = false, replay, flood;

	if (secret_is_zero(hs->precomputed_static_static, NOISE_PUBLIC_KEY_LEN))
		goto out;
	/* ss */
	kdf(st->chaining_key, key, NULL, st->chaining_key, hs->precomputed_static_static,
	    NOISE_PUBLIC_KEY_LEN);
	/* {t} */
	if (!open_and_hash(timestamp, msg->encrypted_timestamp, NOISE_TIMESTAMP_LEN, key, st->hash))
		goto out;
	/* Big-endian TAI64N compares as bytes; a timestamp must move forward. */
	replay = memcmp(timestamp, hs->latest_timestamp, NOISE_TIMESTAMP_LEN) <= 0;
	flood = hs->last_initiation_consumption_ns && now_ns - hs->last_initiation_consumption_ns <
	                                                  1000000000ull / INITIATIONS_PER_SECOND;
	if (replay || flood)
		goto out;

	memcpy(hs->remote_ephemeral, st->remote_ephemeral, NOISE_PUBLIC_KEY_LEN);
	memcpy(hs->latest_timestamp, timestamp, NOISE_TIMESTAMP_LEN);
	memcpy(hs->hash, st->hash, NOISE_HASH_LEN);
	memcpy(hs->chaining_key, st->chaining_key, NOISE_HASH_LEN);
	hs->remote_index = st->remote_index;
	hs->last_initiation_consumption_ns = now_ns;
	hs->state = HANDSHAKE_CONSUMED_INITIATION;
	ok = true;
out:
	secret_zero(key, sizeof(key));
	secret_zero(st, sizeof(*st));
	return ok;
}

bool noise_create_response(struct noise_handshake *hs, uint32_t local_index,
                           struct msg_response *msg)
{
	uint8_t key[NOISE_SYMMETRIC_KEY_LEN], tau[NOISE_HASH_LEN];
	bool ok = false;

	if (hs->state != HANDSHAKE_CONSUMED_INITIATION)
		return false;
	memset(msg, 0, sizeof(*msg));
	msg->header.type = MSG_RESPONSE;
	le32_store(msg->sender_index, local_index);
	le32_store(msg->receiver_index, hs->remote_index);

	/* e */
	x25519_generate(hs->ephemeral_private);
	x25519_base(msg->ephemeral, hs->ephemeral_private);
	mix_ephemeral(hs->chaining_key, hs->hash, msg->ephemeral);
	/* ee */
	if (!mix_dh(hs->chaining_key, NULL, hs->ephemeral_private, hs->remote_ephemeral))
		goto out;
	/* se */
	if (!mix_dh(hs->chaining_key, NULL, hs->ephemeral_private, hs->remote_static))
		goto out;
	/* psk */
	kdf(hs->chaining_key, tau, key, hs->chaining_key, hs->preshared_key,
	    NOISE_SYMMETRIC_KEY_LEN);
	mix_hash(hs->hash, tau, sizeof(tau));
	/* {} */
	seal_and_hash(msg->encrypted_nothing, NULL, 0, key, hs->hash);

	hs->local_index = local_index;
	hs->state = HANDSHAKE_CREATED_RESPONSE;
	ok = true;
out:
	secret_zero(key, sizeof(key));
	secret_zero(tau, sizeof(tau));
	if (!ok)
		noise_handshake_zero(hs);
	return ok;
}

bool noise_consume_response(struct noise_handshake *hs, const struct noise_local *local,
                            const struct msg_response *msg)
{
	uint8_t key[NOISE_SYMMETRIC_KEY_LEN], tau[NOISE_HASH_LEN];
	uint8_t ck[NOISE_HASH_LEN], hash[NOISE_HASH_LEN];
	bool ok = false;

	if (hs->state != HANDSHAKE_CREATED_INITIATION || !local->has_identity)
		return false;
	/* Work on copies: a forged response must not disturb the handshake in progress. */
	memcpy(ck, hs->chaining_key, sizeof(ck));
	memcpy(hash, hs->hash, sizeof(hash));
	/* e */
	mix_ephemeral(ck, hash, msg->ephemeral);
	/* ee */
	if (!mix_dh(ck, NULL, hs->ephemeral_private, msg->ephemeral))
		goto out;
	/* se */
	if (!mix_dh(ck, NULL, local->private_key, msg->ephemeral))
		goto out;
	/* psk */
	kdf(ck, tau, key, ck, hs->preshared_key, NOISE_SYMMETRIC_KEY_LEN);
	mix_hash(hash, tau, sizeof(tau));
	/* {} */
	if (!open_and_hash(NULL, msg->encrypted_nothing, 0, key, hash))
		goto out;

	memcpy(hs->remote_ephemeral, msg->ephemeral, NOISE_PUBLIC_KEY_LEN);
	memcpy(hs->chaining_key, ck, sizeof(ck));
	memcpy(hs->hash, hash, sizeof(hash));
	hs->remote_index = le32_load(msg->sender_index);
	hs->state = HANDSHAKE_CONSUMED_RESPONSE;
	ok = true;
out:
	secret_zero(key, sizeof(key));
	secret_zero(tau, sizeof(tau));
	secret_zero(ck, sizeof(ck));
	secret_zero(hash, sizeof(hash));
	return ok;
}

bool noise_begin_session(struct noise_handshake *hs, struct noise_keypair *kp, uint64_t now_ns)
{
	bool initiator;

	if (hs->state == HANDSHAKE_CONSUMED_RESPONSE)
		initiator = true;
	else if (hs->state == HANDSHAKE_CREATED_RESPONSE)
		initiator = false;
	else
		return false;
	memset(kp, 0, sizeof(*kp));
	if (initiator)
		kdf(kp->send_key, kp->recv_key, NULL, hs->chaining_key, NULL, 0);
	else
		kdf(kp->recv_key, kp->send_key, NULL, hs->chaining_key, NULL, 0);
	atomic_init(&kp->send_counter, 0);
	pi_mutex_init(&kp->replay_lock);
	replay_init(&kp->replay);
	kp->birth_ns = now_ns;
	kp->i_am_initiator = initiator;
	atomic_init(&kp->unconfirmed, !initiator);
	kp->local_index = hs->local_index;
	kp->remote_index = hs->remote_index;
	noise_handshake_zero(hs);
	return true;
}

void noise_keypair_zero(struct noise_keypair *kp)
{
	secret_zero(kp->send_key, sizeof(kp->send_key));
	secret_zero(kp->recv_key, sizeof(kp->recv_key));
}
