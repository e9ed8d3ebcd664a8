/* stun.h - STUN messages (RFC 8489/5389, RFC 5780 attributes, RFC 3489 compatibility): a pure
 * codec. */
#ifndef LANRAGE_NAT_STUN_H
#define LANRAGE_NAT_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/addr.h"
#include "util/compiler.h"

enum {
	STUN_HEADER_LEN = 20,
	/* Header bytes 4-19: the magic cookie and the 96-bit transaction id of RFC 5389,
	 * or the whole 128-bit transaction id of RFC 3489.  Transactions match on all 16. */
	STUN_TXID_LEN = 16,
	STUN_MAGIC_COOKIE = 0x2112A442,
	STUN_FINGERPRINT_XOR = 0x5354554E,
	/* Largest message we write; requests and Binding responses are far smaller. */
	STUN_MAX_LEN = 548,
	STUN_DEFAULT_PORT = 3478,
	/* Comprehension-required attributes we remember when we do not know them. */
	STUN_MAX_UNKNOWN = 8,
	/* RFC 8489 14.9: SOFTWARE is fewer than 128 characters, at most 763 bytes. */
	STUN_MAX_SOFTWARE = 763,
};

/* Message types (method and class bits combined, RFC 8489 5). */
enum stun_type {
	STUN_BINDING_REQUEST = 0x0001,
	STUN_BINDING_INDICATION = 0x0011,
	STUN_BINDING_SUCCESS = 0x0101,
	STUN_BINDING_ERROR = 0x0111,
};

/* The class bits of a message type (RFC 8489 5: bits C1 and C0 at 0x0100 and 0x0010). */
enum stun_class {
	STUN_CLASS_REQUEST = 0x0000,
	STUN_CLASS_INDICATION = 0x0010,
	STUN_CLASS_SUCCESS = 0x0100,
	STUN_CLASS_ERROR = 0x0110,
};

enum stun_attr {
	STUN_ATTR_MAPPED_ADDRESS = 0x0001,
	STUN_ATTR_CHANGE_REQUEST = 0x0003,  /* RFC 5780 7.2 (RFC 3489 11.2.4) */
	STUN_ATTR_SOURCE_ADDRESS = 0x0004,  /* RFC 3489 11.2.5; RESPONSE-ORIGIN now */
	STUN_ATTR_CHANGED_ADDRESS = 0x0005, /* RFC 3489 11.2.3; OTHER-ADDRESS now */
	STUN_ATTR_USERNAME = 0x0006,
	STUN_ATTR_MESSAGE_INTEGRITY = 0x0008,
	STUN_ATTR_ERROR_CODE = 0x0009,
	STUN_ATTR_UNKNOWN_ATTRIBUTES = 0x000A,
	STUN_ATTR_REALM = 0x0014,
	STUN_ATTR_NONCE = 0x0015,
	STUN_ATTR_MESSAGE_INTEGRITY_SHA256 = 0x001C,
	STUN_ATTR_PASSWORD_ALGORITHM = 0x001D,
	STUN_ATTR_USERHASH = 0x001E,
	STUN_ATTR_XOR_MAPPED_ADDRESS = 0x0020,
	STUN_ATTR_PADDING = 0x0026,       /* RFC 5780 7.6 */
	STUN_ATTR_RESPONSE_PORT = 0x0027, /* RFC 5780 7.5 */
	STUN_ATTR_SOFTWARE = 0x8022,
	STUN_ATTR_ALTERNATE_SERVER = 0x8023,
	STUN_ATTR_FINGERPRINT = 0x8028,
	STUN_ATTR_RESPONSE_ORIGIN = 0x802B, /* RFC 5780 7.3 */
	STUN_ATTR_OTHER_ADDRESS = 0x802C,   /* RFC 5780 7.4 */
};

/* CHANGE-REQUEST flags (RFC 5780 7.2): A = change IP, B = change port. */
enum { STUN_CHANGE_IP = 0x4, STUN_CHANGE_PORT = 0x2 };

/* Which optional parts a decoded message carries (struct stun_msg.has). */
enum {
	STUN_HAS_MAPPED = 1u << 0,
	STUN_HAS_XOR_MAPPED = 1u << 1,
	STUN_HAS_OTHER = 1u << 2,    /* OTHER-ADDRESS */
	STUN_HAS_ORIGIN = 1u << 3,   /* RESPONSE-ORIGIN */
	STUN_HAS_SOURCE = 1u << 4,   /* SOURCE-ADDRESS (RFC 3489) */
	STUN_HAS_CHANGED = 1u << 5,  /* CHANGED-ADDRESS (RFC 3489) */
	STUN_HAS_CHANGE = 1u << 6,   /* CHANGE-REQUEST */
	STUN_HAS_ERROR = 1u << 7,    /* ERROR-CODE */
	STUN_HAS_SOFTWARE = 1u << 8, /* SOFTWARE */
	STUN_HAS_FINGERPRINT = 1u << 9,
	STUN_HAS_INTEGRITY = 1u << 10, /* MESSAGE-INTEGRITY(-SHA256), not checked: no credentials */
	STUN_HAS_RESPONSE_PORT = 1u << 11,
	STUN_HAS_UNKNOWN_LIST = 1u << 12, /* UNKNOWN-ATTRIBUTES */
	STUN_HAS_ALTERNATE = 1u << 13,    /* ALTERNATE-SERVER */
};

/*
 * A decoded message.  Pointers (software, error_reason) point into the
 * datagram that was decoded and live as long as it does.
 */
struct stun_msg {
	uint16_t type;
	uint16_t length; /* the header's length field: attribute bytes */
	bool classic;    /* no magic cookie: an RFC 3489 message */
	uint8_t txid[STUN_TXID_LEN];
	uint32_t has; /* STUN_HAS_* */
	struct addr mapped, xor_mapped, other, origin, source, changed, alternate;
	uint32_t change;        /* CHANGE-REQUEST flags */
	uint16_t response_port; /* RESPONSE-PORT */
	uint16_t error_code;    /* 300-699 */
	const uint8_t *error_reason;
	size_t error_reason_len;
	const uint8_t *software;
	size_t software_len;
	/* Comprehension-required attributes (type < 0x8000) this codec does not know. */
	uint16_t unknown[STUN_MAX_UNKNOWN];
	size_t n_unknown;
	/* The types listed in an UNKNOWN-ATTRIBUTES attribute (first STUN_MAX_UNKNOWN). */
	uint16_t unknown_listed[STUN_MAX_UNKNOWN];
	size_t n_unknown_listed;
};

/* What decoding an untrusted datagram found. */
enum stun_verdict {
	STUN_OK,
	STUN_DROP_NOT_STUN,    /* shorter than a header, top bits set, or no magic cookie */
	STUN_DROP_LENGTH,      /* length field not a multiple of 4 or not the datagram's */
	STUN_DROP_TRUNCATED,   /* an attribute or its padding runs past the end */
	STUN_DROP_BAD_ATTR,    /* a known attribute with a malformed value */
	STUN_DROP_FINGERPRINT, /* FINGERPRINT wrong, or not the last attribute */
	STUN_VERDICT_COUNT
};

const char *stun_verdict_name(enum stun_verdict v);

/*
 * The demultiplexing test for a shared socket (docs/PROTOCOL.md): at least a
 * header, first two bits zero, the magic cookie at bytes 4-7.  RFC 3489
 * messages (no cookie) never pass; only a dedicated STUN server port takes them.
 */
bool stun_is(const uint8_t *pkt, size_t len);

/*
 * Decodes one datagram.  Every length is checked before a field is read;
 * known attributes must have their exact sizes; only the first instance of an
 * attribute counts; attributes after MESSAGE-INTEGRITY are ignored except
 * FINGERPRINT, which must be last and correct (RFC 8489 14.5, 14.7).
 * allow_classic accepts RFC 3489 messages without the magic cookie.
 */
enum stun_verdict stun_consume(struct stun_msg *m, const uint8_t *pkt, size_t len,
                               bool allow_classic) WARN_UNUSED;

/* RFC 8489 5: class and method of a message type. */
enum stun_class stun_type_class(uint16_t type);
uint16_t stun_type_method(uint16_t type);

/*
 * Building a message in a caller's buffer.  Puts past the capacity set the
 * overflow flag and write nothing; stun_writer_finish then returns 0.
 */
struct stun_writer {
	uint8_t *buf;
	size_t cap, len;
	bool overflow;
};

/* Writes the header; txid is header bytes 4-19 (cookie included unless classic). */
void stun_writer_init(struct stun_writer *w, uint8_t *buf, size_t cap, uint16_t type,
                      const uint8_t txid[STUN_TXID_LEN]);
/* An address attribute; XOR-MAPPED-ADDRESS is XORed as RFC 8489 14.2 says. */
void stun_put_addr(struct stun_writer *w, uint16_t attr, const struct addr *a);
void stun_put_u32(struct stun_writer *w, uint16_t attr, uint32_t v);
void stun_put_bytes(struct stun_writer *w, uint16_t attr, const void *v, size_t len);
/* ERROR-CODE (RFC 8489 14.8): code 300-699 and a reason phrase. */
void stun_put_error(struct stun_writer *w, uint16_t code, const char *reason);
void stun_put_unknown_attributes(struct stun_writer *w, const uint16_t *types, size_t n);
/* Sets the length field, appends FINGERPRINT when asked; the length, or 0 on overflow. */
size_t stun_writer_finish(struct stun_writer *w, bool fingerprint) WARN_UNUSED;

/* A fresh RFC 5389 transaction id: the magic cookie and 96 random bits. */
void stun_txid_new(uint8_t txid[STUN_TXID_LEN]);

/* A Binding request, with CHANGE-REQUEST when change is non-zero, and FINGERPRINT. */
size_t stun_create_binding_request(uint8_t *buf, size_t cap, const uint8_t txid[STUN_TXID_LEN],
                                   uint32_t change) WARN_UNUSED;

#endif
