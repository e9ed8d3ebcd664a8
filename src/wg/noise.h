/* noise.h - the Noise_IKpsk2 handshake and the session keys it derives. */
#ifndef LANRAGE_WG_NOISE_H
#define LANRAGE_WG_NOISE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/compiler.h"
#include "wg/messages.h"
#include "wg/replay.h"

/* The local identity, owned by the device. */
struct noise_local {
	bool has_identity;
	uint8_t private_key[NOISE_PUBLIC_KEY_LEN];
	uint8_t public_key[NOISE_PUBLIC_KEY_LEN];
};

enum noise_handshake_state {
	HANDSHAKE_ZEROED,
	HANDSHAKE_CREATED_INITIATION,
	HANDSHAKE_CONSUMED_INITIATION,
	HANDSHAKE_CREATED_RESPONSE,
	HANDSHAKE_CONSUMED_RESPONSE,
};

/*
 * One peer's handshake state, embedded in the peer and touched only by the
 * control thread.  remote_static, preshared_key and the precomputed static
 * DH persist across handshakes; the rest is zeroed after each.
 */
struct noise_handshake {
	enum noise_handshake_state state;
	uint8_t remote_static[NOISE_PUBLIC_KEY_LEN];
	uint8_t preshared_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t precomputed_static_static[NOISE_PUBLIC_KEY_LEN]; /* zero: cannot handshake */
	uint8_t remote_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t ephemeral_private[NOISE_PUBLIC_KEY_LEN];
	uint8_t hash[NOISE_HASH_LEN];
	uint8_t chaining_key[NOISE_HASH_LEN];
	uint8_t latest_timestamp[NOISE_TIMESTAMP_LEN];
	uint64_t last_initiation_consumption_ns;
	uint32_t local_index;
	uint32_t remote_index;
};

/*
 * Session keys from one handshake.  Created by the control thread; the send
 * counter is shared by every sender (atomic), the replay window belongs to the
 * receiving thread.
 */
struct noise_keypair {
	uint8_t send_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t recv_key[NOISE_SYMMETRIC_KEY_LEN];
	_Atomic uint64_t send_counter;
	pthread_mutex_t replay_lock; /* bulk and priority workers share it (pi_mutex.h) */
	struct replay_window replay;
	uint64_t birth_ns;
	uint32_t local_index;
	uint32_t remote_index;
	bool i_am_initiator;
	_Atomic bool unconfirmed; /* a responder's keypair until the first data arrives with it */
	void *peer;               /* the owning peer, for the receive path */
};

/*
 * A keypair's age at now_ns.  A worker reads the clock once per batch, and the
 * control thread may install a keypair after that: one born "later" is new, not
 * (by unsigned wrap-around) expired.
 */
static inline uint64_t keypair_age_ns(const struct noise_keypair *kp, uint64_t now_ns)
{
	return now_ns > kp->birth_ns ? now_ns - kp->birth_ns : 0;
}

/* What a consumed initiation reveals before its peer is known. */
struct noise_initiation_state {
	uint8_t remote_static[NOISE_PUBLIC_KEY_LEN];
	uint8_t remote_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t hash[NOISE_HASH_LEN];
	uint8_t chaining_key[NOISE_HASH_LEN];
	uint32_t remote_index;
};

void noise_local_set(struct noise_local *local, const uint8_t private_key[NOISE_PUBLIC_KEY_LEN]);
void noise_local_clear(struct noise_local *local);

/* Sets up a peer's handshake with no preshared key. */
void noise_handshake_init(struct noise_handshake *hs, const struct noise_local *local,
                          const uint8_t remote_static[NOISE_PUBLIC_KEY_LEN]);
/* psk NULL means none (all zero). */
void noise_handshake_set_psk(struct noise_handshake *hs, const uint8_t *psk);
/* After the local key changed: recomputes the static DH and drops any handshake in progress. */
void noise_handshake_set_local(struct noise_handshake *hs, const struct noise_local *local);
/* Forgets the ephemeral state of a handshake in progress. */
void noise_handshake_zero(struct noise_handshake *hs);

/* TAI64N of a wall-clock time, whitened to 2^24 ns so it does not leak fine timing. */
void noise_tai64n(uint8_t out[NOISE_TIMESTAMP_LEN], int64_t wall_ns);

/* Initiator: fills msg up to (not including) the MACs. */
bool noise_create_initiation(struct noise_handshake *hs, const struct noise_local *local,
                             uint32_t local_index, const uint8_t timestamp[NOISE_TIMESTAMP_LEN],
                             struct msg_initiation *msg) WARN_UNUSED;

/*
 * Responder, in two steps: the first decrypts the initiator's static key (the
 * caller then finds the peer by it), the second checks the timestamp against
 * replay and floods (one initiation per 1/INITIATIONS_PER_SECOND s) and
 * commits the state into that peer's handshake.
 */
bool noise_consume_initiation_begin(const struct noise_local *local,
                                    const struct msg_initiation *msg,
                                    struct noise_initiation_state *st) WARN_UNUSED;
bool noise_consume_initiation_finish(struct noise_handshake *hs, struct noise_initiation_state *st,
                                     const struct msg_initiation *msg, uint64_t now_ns) WARN_UNUSED;

bool noise_create_response(struct noise_handshake *hs, uint32_t local_index,
                           struct msg_response *msg) WARN_UNUSED;
/* Initiator: the response to hs's initiation (the caller matched receiver_index). */
bool noise_consume_response(struct noise_handshake *hs, const struct noise_local *local,
                            const struct msg_response *msg) WARN_UNUSED;

/* Derives the keypair after CREATED_RESPONSE or CONSUMED_RESPONSE, then zeroes hs. */
bool noise_begin_session(struct noise_handshake *hs, struct noise_keypair *kp,
                         uint64_t now_ns) WARN_UNUSED;
void noise_keypair_zero(struct noise_keypair *kp);

#endif
