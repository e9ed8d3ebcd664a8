/* relay_frame.h - relay frames (0xE0-0xEF): making and reading each message. */
#ifndef LANRAGE_NAT_RELAY_FRAME_H
#define LANRAGE_NAT_RELAY_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/mac.h"
#include "nat/relay_wire.h"
#include "util/addr.h"
#include "util/be.h"
#include "util/compiler.h"

/*
 * Why a relay frame was dropped (or RELAY_OK), on either end; counted per
 * reason.  The relay's order of checks for a bind is docs/PROTOCOL.md's:
 * length and version, token, MAC, timestamp, room, tag.
 */
enum relay_verdict {
	RELAY_OK,
	RELAY_DROP_MALFORMED,      /* wrong length for its type, or not a relay frame */
	RELAY_DROP_TYPE,           /* a reserved type, or one this end never receives */
	RELAY_DROP_VERSION,        /* another version, or reserved bytes set */
	RELAY_DROP_BAD_TOKEN,      /* the token's MAC is wrong (not from our control server) */
	RELAY_DROP_EXPIRED,        /* the token has expired */
	RELAY_DROP_MAC,            /* the frame's MAC is not the session key's */
	RELAY_DROP_CLOCK,          /* timestamp more than 120 s off the relay's clock */
	RELAY_DROP_STALE_TS,       /* timestamp not above the session's last (a replay) */
	RELAY_DROP_UNKNOWN_SOURCE, /* no session at the source address */
	RELAY_DROP_NOT_HERE,       /* no session for the destination tag in the party */
	RELAY_DROP_FULL,           /* a new session past the client limit */
	RELAY_DROP_TAG_TAKEN,      /* another member of the party holds the tag */
	RELAY_DROP_RATE,           /* the source sends faster than its budget */
	RELAY_DROP_BLOCKED,        /* the source is on the block list */
	RELAY_DROP_SEND,           /* the forward could not be sent */
	RELAY_DROP_UNEXPECTED,     /* member: an ack or error nobody asked for, or from elsewhere */
	RELAY_VERDICT_COUNT
};

/* "bad token", "not here", ...: for logs. */
const char *relay_verdict_name(enum relay_verdict v);
/* "bad_token", "not_here", ...: for metric labels. */
const char *relay_verdict_label(enum relay_verdict v);
/* "not bound", "refused", ...; "?" for codes we do not know. */
const char *relay_error_name(uint8_t code);

/* The demultiplexing test for a shared socket: first byte 0xE0-0xEF. */
bool relay_is(const uint8_t *pkt, size_t len);

/* Data (0xE0): only the header is ours; the payload passes untouched. */
void relay_create_data_header(uint8_t hdr[RELAY_DATA_HDR_LEN], uint32_t tag);
/* Length 5 + 8..65000 and type; then the tag is at RELAY_DATA_TAG_OFFSET. */
enum relay_verdict relay_check_data(const uint8_t *pkt, size_t len) WARN_UNUSED;
uint32_t relay_data_tag(const uint8_t *pkt);
void relay_data_set_tag(uint8_t *pkt, uint32_t tag);

/* Bind (0xE1): the token, the member's timestamp, a MAC under the session key. */
void relay_create_bind(uint8_t out[RELAY_BIND_LEN], const uint8_t token[RELAY_TOKEN_LEN],
                       uint64_t ts_ms, const uint8_t session_key[MAC_KEY_LEN]);
/* First step: exact length, version, token length; *token points into pkt. */
enum relay_verdict relay_peek_bind(const uint8_t *pkt, size_t len,
                                   const uint8_t **token) WARN_UNUSED;
/* Second step (after the token checked out): the MAC, then the timestamp is read. */
enum relay_verdict relay_consume_bind(const uint8_t *pkt, size_t len,
                                      const uint8_t session_key[MAC_KEY_LEN],
                                      uint64_t *ts_ms) WARN_UNUSED;

/* Bind ack (0xE2): the bind's timestamp echoed and the address it came from. */
void relay_create_bind_ack(uint8_t out[RELAY_ACK_LEN], uint64_t ts_ms, const struct addr *observed,
                           const uint8_t session_key[MAC_KEY_LEN]);
/* Length, version, reserved bytes, MAC; an observed address that is none is refused. */
enum relay_verdict relay_consume_bind_ack(const uint8_t *pkt, size_t len,
                                          const uint8_t session_key[MAC_KEY_LEN], uint64_t *ts_ms,
                                          struct addr *observed) WARN_UNUSED;

/* Unbind (0xE4): a timestamp and a MAC under the session key. */
void relay_create_unbind(uint8_t out[RELAY_UNBIND_LEN], uint64_t ts_ms,
                         const uint8_t session_key[MAC_KEY_LEN]);
/* Length, version and reserved bytes, before the session (and its key) is looked up. */
enum relay_verdict relay_peek_unbind(const uint8_t *pkt, size_t len) WARN_UNUSED;
enum relay_verdict relay_consume_unbind(const uint8_t *pkt, size_t len,
                                        const uint8_t session_key[MAC_KEY_LEN],
                                        uint64_t *ts_ms) WARN_UNUSED;

/* Error (0xE3): unauthenticated, so only ever a hint. */
void relay_create_error(uint8_t out[RELAY_ERROR_LEN], uint8_t code, uint32_t tag);
enum relay_verdict relay_consume_error(const uint8_t *pkt, size_t len, uint8_t *code,
                                       uint32_t *tag) WARN_UNUSED;

#endif
