/* relay_wire.h - relay frames (first byte 0xE0-0xEF): types, lengths and field offsets. */
#ifndef LANRAGE_NAT_RELAY_WIRE_H
#define LANRAGE_NAT_RELAY_WIRE_H

#include <stdint.h>

/*
 * docs/PROTOCOL.md "Relay frames" specifies every byte; this header only
 * names them, so the data plane can include it without the codec.  Integers
 * are big-endian.
 *
 *   data      0 type 0xE0 | 1 tag (4) | 5 payload (8-65000)
 *   bind      0 type 0xE1 | 1 version | 2 token length T | 3 token (T)
 *             | 3+T timestamp (8) | 11+T MAC (16, session key, over 0..10+T)
 *   bind ack  0 type 0xE2 | 1 version | 2 reserved (2) | 4 timestamp (8)
 *             | 12 observed address (16) | 28 observed port (2)
 *             | 30 reserved (2) | 32 MAC (16, session key, over 0..31)
 *   error     0 type 0xE3 | 1 code | 2 reserved (2) | 4 tag (4)
 *   unbind    0 type 0xE4 | 1 version | 2 reserved (2) | 4 timestamp (8)
 *             | 12 MAC (16, session key, over 0..11)
 *   token     0 version | 1 expiry (4, Unix s) | 5 peer id (8)
 *             | 13 party id (16 symbols) | 29 MAC (16, token key, over 0..28)
 */
enum relay_type {
	RELAY_DATA = 0xE0,
	RELAY_BIND = 0xE1,
	RELAY_BIND_ACK = 0xE2,
	RELAY_ERROR = 0xE3,
	RELAY_UNBIND = 0xE4,
	RELAY_FIRST_BYTE_MIN = 0xE0, /* 0xE5-0xEF are reserved */
	RELAY_FIRST_BYTE_MAX = 0xEF,
};

enum {
	RELAY_VERSION = 1,
	RELAY_MAC_LEN = 16,

	RELAY_DATA_HDR_LEN = 5,
	RELAY_DATA_TAG_OFFSET = 1,
	RELAY_PAYLOAD_MIN = 8,
	RELAY_PAYLOAD_MAX = 65000,

	RELAY_TOKEN_LEN = 45,
	RELAY_TOKEN_EXPIRY_OFFSET = 1,
	RELAY_TOKEN_PEER_OFFSET = 5,
	RELAY_TOKEN_PEER_LEN = 8,
	RELAY_TOKEN_PARTY_OFFSET = 13,
	RELAY_TOKEN_PARTY_LEN = 16,
	RELAY_TOKEN_MAC_OFFSET = 29,

	RELAY_BIND_TOKEN_OFFSET = 3,
	RELAY_BIND_TS_OFFSET = 3 + RELAY_TOKEN_LEN,
	RELAY_BIND_MAC_OFFSET = 11 + RELAY_TOKEN_LEN,
	RELAY_BIND_LEN = 27 + RELAY_TOKEN_LEN, /* 72 */

	RELAY_ACK_TS_OFFSET = 4,
	RELAY_ACK_ADDR_OFFSET = 12,
	RELAY_ACK_PORT_OFFSET = 28,
	RELAY_ACK_MAC_OFFSET = 32,
	RELAY_ACK_LEN = 48,

	RELAY_UNBIND_TS_OFFSET = 4,
	RELAY_UNBIND_MAC_OFFSET = 12,
	RELAY_UNBIND_LEN = 28,

	RELAY_ERROR_TAG_OFFSET = 4,
	RELAY_ERROR_LEN = 8,
};

/* Error codes (0xE3): what the relay tells a member, and what the member does. */
enum relay_error_code {
	RELAY_ERR_NOT_BOUND = 1, /* no session at this address: bind again (<= 1/s) */
	RELAY_ERR_NOT_HERE = 2,  /* the destination tag has no session in the party */
	RELAY_ERR_REFUSED = 3,   /* bad or expired token, or bad MAC: fetch a new token */
	RELAY_ERR_FULL = 4,      /* the client limit: try another relay */
	RELAY_ERR_TAG_TAKEN = 5, /* another member of the party holds the tag */
	RELAY_ERR_CLOCK = 6,     /* the bind's timestamp is > 120 s off the relay's clock */
};

/* Binding rules shared by both ends. */
enum {
	RELAY_CLOCK_WINDOW_MS = 120 * 1000,
	RELAY_DEFAULT_PORT = 51820,
};

#endif
