/* messages.h - WireGuard wire formats and protocol constants (the paper, section 5 and 6). */
#ifndef LANRAGE_WG_MESSAGES_H
#define LANRAGE_WG_MESSAGES_H

#include <stdint.h>

enum msg_type {
	MSG_INITIATION = 1,
	MSG_RESPONSE = 2,
	MSG_COOKIE_REPLY = 3,
	MSG_DATA = 4,
};

enum {
	NOISE_PUBLIC_KEY_LEN = 32,
	NOISE_SYMMETRIC_KEY_LEN = 32,
	NOISE_HASH_LEN = 32,
	NOISE_TIMESTAMP_LEN = 12,
	NOISE_AUTHTAG_LEN = 16,
	COOKIE_LEN = 16,
	COOKIE_NONCE_LEN = 24,
	MAC_LEN = 16,
};

/*
 * Every field is a byte array, so the structs have no padding and alignment 1
 * and can be laid over a received buffer.  Integers are little-endian; use
 * le32_load and friends.
 */
struct msg_header {
	uint8_t type;
	uint8_t reserved[3];
};

struct msg_macs {
	uint8_t mac1[MAC_LEN];
	uint8_t mac2[MAC_LEN];
};

struct msg_initiation {
	struct msg_header header;
	uint8_t sender_index[4];
	uint8_t ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t encrypted_static[NOISE_PUBLIC_KEY_LEN + NOISE_AUTHTAG_LEN];
	uint8_t encrypted_timestamp[NOISE_TIMESTAMP_LEN + NOISE_AUTHTAG_LEN];
	struct msg_macs macs;
};

struct msg_response {
	struct msg_header header;
	uint8_t sender_index[4];
	uint8_t receiver_index[4];
	uint8_t ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t encrypted_nothing[NOISE_AUTHTAG_LEN];
	struct msg_macs macs;
};

struct msg_cookie_reply {
	struct msg_header header;
	uint8_t receiver_index[4];
	uint8_t nonce[COOKIE_NONCE_LEN];
	uint8_t encrypted_cookie[COOKIE_LEN + NOISE_AUTHTAG_LEN];
};

struct msg_data {
	struct msg_header header;
	uint8_t receiver_index[4];
	uint8_t counter[8];
	uint8_t encrypted[];
};

enum {
	MSG_INITIATION_LEN = 148,
	MSG_RESPONSE_LEN = 92,
	MSG_COOKIE_REPLY_LEN = 64,
	MSG_DATA_HEADER_LEN = 16,
	MSG_DATA_MIN_LEN = MSG_DATA_HEADER_LEN + NOISE_AUTHTAG_LEN, /* a keepalive */
	MSG_PADDING_MULTIPLE = 16,
};

_Static_assert(sizeof(struct msg_initiation) == MSG_INITIATION_LEN, "initiation size");
_Static_assert(sizeof(struct msg_response) == MSG_RESPONSE_LEN, "response size");
_Static_assert(sizeof(struct msg_cookie_reply) == MSG_COOKIE_REPLY_LEN, "cookie reply size");
_Static_assert(sizeof(struct msg_data) == MSG_DATA_HEADER_LEN, "data header size");

/* Protocol limits (the paper, section 6.1 and 6.4). */
#define REKEY_AFTER_MESSAGES  (1ull << 60)
#define REJECT_AFTER_MESSAGES (UINT64_MAX - REPLAY_WINDOW_SIZE - 1)
enum {
	INITIATIONS_PER_SECOND = 50,
	MAX_TIMER_HANDSHAKES = 90 / 5, /* REKEY_ATTEMPT_TIME / REKEY_TIMEOUT */
	MAX_STAGED_PACKETS = 128,
	MAX_QUEUED_HANDSHAKES = 4096,
	COOKIE_SECRET_MAX_AGE_SEC = 120,
	COOKIE_SECRET_LATENCY_SEC = 5,
};

/* The replay window: a ring of REPLAY_BITS_TOTAL bits, of which one word is in flux. */
enum {
	REPLAY_BITS_TOTAL = 8192,
	REPLAY_WINDOW_SIZE = REPLAY_BITS_TOTAL - 64,
};

static inline uint32_t le32_load(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void le32_store(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline uint64_t le64_load(const uint8_t *p)
{
	return (uint64_t)le32_load(p) | (uint64_t)le32_load(p + 4) << 32;
}

static inline void le64_store(uint8_t *p, uint64_t v)
{
	le32_store(p, (uint32_t)v);
	le32_store(p + 4, (uint32_t)(v >> 32));
}

#endif
