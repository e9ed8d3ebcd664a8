/* stun.c - STUN messages (RFC 8489/5389, RFC 5780 attributes, RFC 3489 compatibility): a pure
 * codec. */
#include "nat/stun.h"

#include <string.h>

#include "crypto/rand.h"
#include "util/be.h"

static const char *const verdict_names[STUN_VERDICT_COUNT] = {
	[STUN_OK] = "ok",
	[STUN_DROP_NOT_STUN] = "not STUN",
	[STUN_DROP_LENGTH] = "bad length",
	[STUN_DROP_TRUNCATED] = "truncated attribute",
	[STUN_DROP_BAD_ATTR] = "malformed attribute",
	[STUN_DROP_FINGERPRINT] = "bad FINGERPRINT",
};

const char *stun_verdict_name(enum stun_verdict v)
{
	if ((unsigned)v >= STUN_VERDICT_COUNT)
		return "?";
	return verdict_names[v];
}

/* CRC-32 of ISO 3309 / ITU-T V.42 (reflected polynomial 0xEDB88320), as RFC 8489 14.7 asks. */
static uint32_t crc32(const uint8_t *p, size_t n)
{
	uint32_t crc = 0xFFFFFFFFu;

	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int bit = 0; bit < 8; bit++)
			crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
	}
	return ~crc;
}

static bool has_cookie(const uint8_t *pkt)
{
	return be32_load(pkt + 4) == STUN_MAGIC_COOKIE;
}

bool stun_is(const uint8_t *pkt, size_t len)
{
	return len >= STUN_HEADER_LEN && (pkt[0] & 0xC0) == 0 && has_cookie(pkt);
}

enum stun_class stun_type_class(uint16_t type)
{
	return (enum stun_class)(type & 0x0110);
}

uint16_t stun_type_method(uint16_t type)
{
	return (uint16_t)((type & 0x000F) | ((type & 0x00E0) >> 1) | ((type & 0x3E00) >> 2));
}

/*
 * Address attributes (RFC 8489 14.1, 14.2): a reserved byte, the family, the
 * port and the address; XORed with the cookie and transaction id (header
 * bytes 4-19) for XOR-MAPPED-ADDRESS.  The size must be exact for the family.
 */
static bool decode_addr(struct addr *out, const uint8_t *v, size_t len, const uint8_t *hdr,
                        bool xor)
{
	uint16_t port;

	if (len < 4)
		return false;
	port = be16_load(v + 2);
	if (xor)
		port ^= (uint16_t)(STUN_MAGIC_COOKIE >> 16);
	if (v[1] == 0x01 && len == 8) {
		struct in_addr ip;
		uint8_t b[4];

		for (int i = 0; i < 4; i++)
			b[i] = (uint8_t)(v[4 + i] ^ (xor? hdr[4 + i] : 0));
		memcpy(&ip, b, 4);
		addr_from_in4(out, ip, port);
		return true;
	}
	if (v[1] == 0x02 && len == 20) {
		addr_clear(out);
		out->in6.sin6_family = AF_INET6;
		for (int i = 0; i < 16; i++)
			out->in6.sin6_addr.s6_addr[i] = (uint8_t)(v[4 + i] ^ (xor? hdr[4 + i] : 0));
		out->in6.sin6_port = htons(port);
		return true;
	}
	return false;
}

/* Records a comprehension-required attribute we do not know (once per type). */
static void note_unknown(struct stun_msg *m, uint16_t type)
{
	for (size_t i = 0; i < m->n_unknown; i++) {
		if (m->unknown[i] == type)
			return;
	}
	if (m->n_unknown < STUN_MAX_UNKNOWN)
		m->unknown[m->n_unknown++] = type;
}

/* Decodes one attribute value into m; false when a known attribute is malformed. */
static bool decode_attr(struct stun_msg *m, uint16_t type, const uint8_t *v, size_t len,
                        const uint8_t *hdr)
{
	struct addr *target = NULL;
	uint32_t bit = 0;
	bool xor = false;

	switch (type) {
	case STUN_ATTR_MAPPED_ADDRESS:
		target = &m->mapped, bit = STUN_HAS_MAPPED;
		break;
	case STUN_ATTR_XOR_MAPPED_ADDRESS:
		target = &m->xor_mapped, bit = STUN_HAS_XOR_MAPPED, xor = true;
		break;
	case STUN_ATTR_OTHER_ADDRESS:
		target = &m->other, bit = STUN_HAS_OTHER;
		break;
	case STUN_ATTR_RESPONSE_ORIGIN:
		target = &m->origin, bit = STUN_HAS_ORIGIN;
		break;
	case STUN_ATTR_SOURCE_ADDRESS:
		target = &m->source, bit = STUN_HAS_SOURCE;
		break;
	case STUN_ATTR_CHANGED_ADDRESS:
		target = &m->changed, bit = STUN_HAS_CHANGED;
		break;
	case STUN_ATTR_ALTERNATE_SERVER:
		target = &m->alternate, bit = STUN_HAS_ALTERNATE;
		break;
	case STUN_ATTR_CHANGE_REQUEST:
		if (len != 4)
			return false;
		if (!(m->has & STUN_HAS_CHANGE))
			m->change = be32_load(v);
		m->has |= STUN_HAS_CHANGE;
		return true;
	case STUN_ATTR_RESPONSE_PORT:
		if (len != 4)
			return false;
		if (!(m->has & STUN_HAS_RESPONSE_PORT))
			m->response_port = be16_load(v);
		m->has |= STUN_HAS_RESPONSE_PORT;
		return true;
	case STUN_ATTR_ERROR_CODE: {
		uint16_t code;

		/* Class in the low 3 bits of byte 2 (3-6), number in byte 3 (0-99). */
		if (len < 4 || v[3] > 99)
			return false;
		code = (uint16_t)((v[2] & 0x07) * 100 + v[3]);
		if (code < 300 || code > 699)
			return false;
		if (!(m->has & STUN_HAS_ERROR)) {
			m->error_code = code;
			m->error_reason = v + 4;
			m->error_reason_len = len - 4;
		}
		m->has |= STUN_HAS_ERROR;
		return true;
	}
	case STUN_ATTR_UNKNOWN_ATTRIBUTES:
		if (len % 2)
			return false;
		if (!(m->has & STUN_HAS_UNKNOWN_LIST)) {
			for (size_t i = 0; i + 1 < len && m->n_unknown_listed < STUN_MAX_UNKNOWN;
			     i += 2)
				m->unknown_listed[m->n_unknown_listed++] = be16_load(v + i);
		}
		m->has |= STUN_HAS_UNKNOWN_LIST;
		return true;
	case STUN_ATTR_SOFTWARE:
		if (len > STUN_MAX_SOFTWARE)
			return false;
		if (!(m->has & STUN_HAS_SOFTWARE)) {
			m->software = v;
			m->software_len = len;
		}
		m->has |= STUN_HAS_SOFTWARE;
		return true;
	case STUN_ATTR_MESSAGE_INTEGRITY:
		if (len != 20)
			return false;
		m->has |= STUN_HAS_INTEGRITY;
		return true;
	case STUN_ATTR_MESSAGE_INTEGRITY_SHA256:
		if (len < 16 || len > 32 || len % 4)
			return false;
		m->has |= STUN_HAS_INTEGRITY;
		return true;
	case STUN_ATTR_USERNAME:
	case STUN_ATTR_REALM:
	case STUN_ATTR_NONCE:
	case STUN_ATTR_PASSWORD_ALGORITHM:
	case STUN_ATTR_USERHASH:
	case STUN_ATTR_PADDING:
		/* Known, and meaningless to a Binding-only agent without credentials. */
		return true;
	default:
		if (type < 0x8000)
			note_unknown(m, type);
		return true;
	}
	if (m->has & bit)
		return true;
	if (!decode_addr(target, v, len, hdr, xor))
		return false;
	m->has |= bit;
	return true;
}

enum stun_verdict stun_consume(struct stun_msg *m, const uint8_t *pkt, size_t len,
                               bool allow_classic)
{
	bool after_integrity = false;
	size_t off;

	memset(m, 0, sizeof(*m));
	if (len < STUN_HEADER_LEN || (pkt[0] & 0xC0) != 0)
		return STUN_DROP_NOT_STUN;
	m->classic = !has_cookie(pkt);
	if (m->classic && !allow_classic)
		return STUN_DROP_NOT_STUN;
	m->type = be16_load(pkt);
	m->length = be16_load(pkt + 2);
	/* Over UDP a message is the whole datagram (RFC 8489 6.2.1). */
	if (m->length % 4 || (size_t)m->length + STUN_HEADER_LEN != len)
		return STUN_DROP_LENGTH;
	memcpy(m->txid, pkt + 4, STUN_TXID_LEN);

	for (off = STUN_HEADER_LEN; off < len;) {
		uint16_t type, alen;
		size_t padded;

		if (len - off < 4)
			return STUN_DROP_TRUNCATED;
		type = be16_load(pkt + off);
		alen = be16_load(pkt + off + 2);
		padded = ((size_t)alen + 3) & ~(size_t)3;
		if (padded > len - off - 4)
			return STUN_DROP_TRUNCATED;
		if (type == STUN_ATTR_FINGERPRINT) {
			uint32_t want;

			if (alen != 4 || off + 8 != len)
				return STUN_DROP_FINGERPRINT;
			want = crc32(pkt, off) ^ (uint32_t)STUN_FINGERPRINT_XOR;
			if (be32_load(pkt + off + 4) != want)
				return STUN_DROP_FINGERPRINT;
			m->has |= STUN_HAS_FINGERPRINT;
		} else if (!after_integrity) {
			if (!decode_attr(m, type, pkt + off + 4, alen, pkt))
				return STUN_DROP_BAD_ATTR;
			after_integrity = type == STUN_ATTR_MESSAGE_INTEGRITY ||
			                  type == STUN_ATTR_MESSAGE_INTEGRITY_SHA256;
		}
		off += 4 + padded;
	}
	return STUN_OK;
}

void stun_writer_init(struct stun_writer *w, uint8_t *buf, size_t cap, uint16_t type,
                      const uint8_t txid[STUN_TXID_LEN])
{
	w->buf = buf;
	w->cap = cap;
	w->len = 0;
	w->overflow = cap < STUN_HEADER_LEN;
	if (w->overflow)
		return;
	be16_store(buf, type);
	be16_store(buf + 2, 0);
	memcpy(buf + 4, txid, STUN_TXID_LEN);
	w->len = STUN_HEADER_LEN;
}

/* Reserves an attribute of len value bytes (zero padding included); NULL on overflow. */
static uint8_t *reserve(struct stun_writer *w, uint16_t attr, size_t len)
{
	size_t padded = (len + 3) & ~(size_t)3;
	uint8_t *p;

	if (w->overflow || len > 0xFFFF || w->cap - w->len < 4 + padded) {
		w->overflow = true;
		return NULL;
	}
	p = w->buf + w->len;
	be16_store(p, attr);
	be16_store(p + 2, (uint16_t)len);
	memset(p + 4, 0, padded);
	w->len += 4 + padded;
	return p + 4;
}

void stun_put_addr(struct stun_writer *w, uint16_t attr, const struct addr *a)
{
	bool xor = attr == STUN_ATTR_XOR_MAPPED_ADDRESS;
	uint16_t port = addr_port(a);
	const uint8_t *ip;
	size_t iplen;
	uint8_t *v;

	if (a->sa.sa_family == AF_INET) {
		ip = (const uint8_t *)&a->in4.sin_addr;
		iplen = 4;
	} else if (a->sa.sa_family == AF_INET6) {
		ip = a->in6.sin6_addr.s6_addr;
		iplen = 16;
	} else {
		w->overflow = true;
		return;
	}
	v = reserve(w, attr, 4 + iplen);
	if (!v)
		return;
	v[1] = iplen == 4 ? 0x01 : 0x02;
	be16_store(v + 2, xor? (uint16_t)(port ^ (STUN_MAGIC_COOKIE >> 16)) : port);
	for (size_t i = 0; i < iplen; i++)
		v[4 + i] = (uint8_t)(ip[i] ^ (xor? w->buf[4 + i] : 0));
}

void stun_put_u32(struct stun_writer *w, uint16_t attr, uint32_t val)
{
	uint8_t *v = reserve(w, attr, 4);

	if (v)
		be32_store(v, val);
}

void stun_put_bytes(struct stun_writer *w, uint16_t attr, const void *val, size_t len)
{
	uint8_t *v = reserve(w, attr, len);

	if (v && len)
		memcpy(v, val, len);
}

void stun_put_error(struct stun_writer *w, uint16_t code, const char *reason)
{
	size_t rlen = strlen(reason);
	uint8_t *v = reserve(w, STUN_ATTR_ERROR_CODE, 4 + rlen);

	if (!v)
		return;
	v[2] = (uint8_t)(code / 100);
	v[3] = (uint8_t)(code % 100);
	memcpy(v + 4, reason, rlen);
}

void stun_put_unknown_attributes(struct stun_writer *w, const uint16_t *types, size_t n)
{
	uint8_t *v = reserve(w, STUN_ATTR_UNKNOWN_ATTRIBUTES, 2 * n);

	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		be16_store(v + 2 * i, types[i]);
}

size_t stun_writer_finish(struct stun_writer *w, bool fingerprint)
{
	if (w->overflow)
		return 0;
	if (fingerprint) {
		if (w->cap - w->len < 8) {
			w->overflow = true;
			return 0;
		}
		/* The length field covers FINGERPRINT before the CRC is taken (RFC 8489 14.7). */
		be16_store(w->buf + 2, (uint16_t)(w->len + 8 - STUN_HEADER_LEN));
		be16_store(w->buf + w->len, STUN_ATTR_FINGERPRINT);
		be16_store(w->buf + w->len + 2, 4);
		be32_store(w->buf + w->len + 4,
		           crc32(w->buf, w->len) ^ (uint32_t)STUN_FINGERPRINT_XOR);
		w->len += 8;
	}
	be16_store(w->buf + 2, (uint16_t)(w->len - STUN_HEADER_LEN));
	return w->len;
}

void stun_txid_new(uint8_t txid[STUN_TXID_LEN])
{
	be32_store(txid, STUN_MAGIC_COOKIE);
	rand_bytes(txid + 4, STUN_TXID_LEN - 4);
}

size_t stun_create_binding_request(uint8_t *buf, size_t cap, const uint8_t txid[STUN_TXID_LEN],
                                   uint32_t change)
{
	struct stun_writer w;

	stun_writer_init(&w, buf, cap, STUN_BINDING_REQUEST, txid);
	if (change)
		stun_put_u32(&w, STUN_ATTR_CHANGE_REQUEST, change);
	return stun_writer_finish(&w, true);
}
