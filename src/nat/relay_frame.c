/* relay_frame.c - relay frames (0xE0-0xEF): making and reading each message. */
#include "nat/relay_frame.h"

#include <string.h>

static const struct {
	const char *name, *label;
} verdicts[RELAY_VERDICT_COUNT] = {
	[RELAY_OK] = { "ok", "ok" },
	[RELAY_DROP_MALFORMED] = { "malformed", "malformed" },
	[RELAY_DROP_TYPE] = { "unexpected type", "type" },
	[RELAY_DROP_VERSION] = { "bad version or reserved bits", "version" },
	[RELAY_DROP_BAD_TOKEN] = { "bad token", "bad_token" },
	[RELAY_DROP_EXPIRED] = { "expired token", "expired_token" },
	[RELAY_DROP_MAC] = { "bad MAC", "bad_mac" },
	[RELAY_DROP_CLOCK] = { "clock skew", "clock" },
	[RELAY_DROP_STALE_TS] = { "stale timestamp", "stale_timestamp" },
	[RELAY_DROP_UNKNOWN_SOURCE] = { "unknown source", "unknown_source" },
	[RELAY_DROP_NOT_HERE] = { "not here", "not_here" },
	[RELAY_DROP_FULL] = { "full", "full" },
	[RELAY_DROP_TAG_TAKEN] = { "tag taken", "tag_taken" },
	[RELAY_DROP_RATE] = { "rate limited", "rate_limited" },
	[RELAY_DROP_BLOCKED] = { "blocked", "blocked" },
	[RELAY_DROP_SEND] = { "send failed", "send_failed" },
	[RELAY_DROP_UNEXPECTED] = { "unexpected", "unexpected" },
};

const char *relay_verdict_name(enum relay_verdict v)
{
	return (unsigned)v < RELAY_VERDICT_COUNT ? verdicts[v].name : "?";
}

const char *relay_verdict_label(enum relay_verdict v)
{
	return (unsigned)v < RELAY_VERDICT_COUNT ? verdicts[v].label : "unknown";
}

const char *relay_error_name(uint8_t code)
{
	switch (code) {
	case RELAY_ERR_NOT_BOUND:
		return "not bound";
	case RELAY_ERR_NOT_HERE:
		return "not here";
	case RELAY_ERR_REFUSED:
		return "refused";
	case RELAY_ERR_FULL:
		return "full";
	case RELAY_ERR_TAG_TAKEN:
		return "tag taken";
	case RELAY_ERR_CLOCK:
		return "clock";
	}
	return "?";
}

bool relay_is(const uint8_t *pkt, size_t len)
{
	return len >= 1 && pkt[0] >= RELAY_FIRST_BYTE_MIN && pkt[0] <= RELAY_FIRST_BYTE_MAX;
}

void relay_create_data_header(uint8_t hdr[RELAY_DATA_HDR_LEN], uint32_t tag)
{
	hdr[0] = RELAY_DATA;
	be32_store(hdr + RELAY_DATA_TAG_OFFSET, tag);
}

enum relay_verdict relay_check_data(const uint8_t *pkt, size_t len)
{
	if (len < 1 || pkt[0] != RELAY_DATA)
		return RELAY_DROP_TYPE;
	if (len < RELAY_DATA_HDR_LEN + RELAY_PAYLOAD_MIN ||
	    len > RELAY_DATA_HDR_LEN + RELAY_PAYLOAD_MAX)
		return RELAY_DROP_MALFORMED;
	return RELAY_OK;
}

uint32_t relay_data_tag(const uint8_t *pkt)
{
	return be32_load(pkt + RELAY_DATA_TAG_OFFSET);
}

void relay_data_set_tag(uint8_t *pkt, uint32_t tag)
{
	be32_store(pkt + RELAY_DATA_TAG_OFFSET, tag);
}

void relay_create_bind(uint8_t out[RELAY_BIND_LEN], const uint8_t token[RELAY_TOKEN_LEN],
                       uint64_t ts_ms, const uint8_t session_key[MAC_KEY_LEN])
{
	out[0] = RELAY_BIND;
	out[1] = RELAY_VERSION;
	out[2] = RELAY_TOKEN_LEN;
	memcpy(out + RELAY_BIND_TOKEN_OFFSET, token, RELAY_TOKEN_LEN);
	be64_store(out + RELAY_BIND_TS_OFFSET, ts_ms);
	mac_compute(out + RELAY_BIND_MAC_OFFSET, session_key, out, RELAY_BIND_MAC_OFFSET);
}

enum relay_verdict relay_peek_bind(const uint8_t *pkt, size_t len, const uint8_t **token)
{
	*token = NULL;
	if (len < 3 || pkt[0] != RELAY_BIND)
		return len >= 1 && pkt[0] == RELAY_BIND ? RELAY_DROP_MALFORMED : RELAY_DROP_TYPE;
	/* The length must match T (3 + T + 8 + 16) before the version is read. */
	if (len != (size_t)pkt[2] + 27)
		return RELAY_DROP_MALFORMED;
	if (pkt[1] != RELAY_VERSION || pkt[2] != RELAY_TOKEN_LEN)
		return RELAY_DROP_VERSION;
	*token = pkt + RELAY_BIND_TOKEN_OFFSET;
	return RELAY_OK;
}

enum relay_verdict relay_consume_bind(const uint8_t *pkt, size_t len,
                                      const uint8_t session_key[MAC_KEY_LEN], uint64_t *ts_ms)
{
	const uint8_t *token;
	enum relay_verdict v = relay_peek_bind(pkt, len, &token);

	*ts_ms = 0;
	if (v != RELAY_OK)
		return v;
	if (!mac_verify(pkt + RELAY_BIND_MAC_OFFSET, session_key, pkt, RELAY_BIND_MAC_OFFSET))
		return RELAY_DROP_MAC;
	*ts_ms = be64_load(pkt + RELAY_BIND_TS_OFFSET);
	return RELAY_OK;
}

void relay_create_bind_ack(uint8_t out[RELAY_ACK_LEN], uint64_t ts_ms, const struct addr *observed,
                           const uint8_t session_key[MAC_KEY_LEN])
{
	memset(out, 0, RELAY_ACK_LEN);
	out[0] = RELAY_BIND_ACK;
	out[1] = RELAY_VERSION;
	be64_store(out + RELAY_ACK_TS_OFFSET, ts_ms);
	addr_to_wire(out + RELAY_ACK_ADDR_OFFSET, observed);
	mac_compute(out + RELAY_ACK_MAC_OFFSET, session_key, out, RELAY_ACK_MAC_OFFSET);
}

enum relay_verdict relay_consume_bind_ack(const uint8_t *pkt, size_t len,
                                          const uint8_t session_key[MAC_KEY_LEN], uint64_t *ts_ms,
                                          struct addr *observed)
{
	*ts_ms = 0;
	addr_clear(observed);
	if (len < 1 || pkt[0] != RELAY_BIND_ACK)
		return RELAY_DROP_TYPE;
	if (len != RELAY_ACK_LEN)
		return RELAY_DROP_MALFORMED;
	if (pkt[1] != RELAY_VERSION || pkt[2] || pkt[3] || pkt[30] || pkt[31])
		return RELAY_DROP_VERSION;
	if (!mac_verify(pkt + RELAY_ACK_MAC_OFFSET, session_key, pkt, RELAY_ACK_MAC_OFFSET))
		return RELAY_DROP_MAC;
	if (!addr_from_wire(observed, pkt + RELAY_ACK_ADDR_OFFSET))
		return RELAY_DROP_MALFORMED;
	*ts_ms = be64_load(pkt + RELAY_ACK_TS_OFFSET);
	return RELAY_OK;
}

void relay_create_unbind(uint8_t out[RELAY_UNBIND_LEN], uint64_t ts_ms,
                         const uint8_t session_key[MAC_KEY_LEN])
{
	memset(out, 0, RELAY_UNBIND_LEN);
	out[0] = RELAY_UNBIND;
	out[1] = RELAY_VERSION;
	be64_store(out + RELAY_UNBIND_TS_OFFSET, ts_ms);
	mac_compute(out + RELAY_UNBIND_MAC_OFFSET, session_key, out, RELAY_UNBIND_MAC_OFFSET);
}

enum relay_verdict relay_peek_unbind(const uint8_t *pkt, size_t len)
{
	if (len < 1 || pkt[0] != RELAY_UNBIND)
		return RELAY_DROP_TYPE;
	if (len != RELAY_UNBIND_LEN)
		return RELAY_DROP_MALFORMED;
	if (pkt[1] != RELAY_VERSION || pkt[2] || pkt[3])
		return RELAY_DROP_VERSION;
	return RELAY_OK;
}

enum relay_verdict relay_consume_unbind(const uint8_t *pkt, size_t len,
                                        const uint8_t session_key[MAC_KEY_LEN], uint64_t *ts_ms)
{
	enum relay_verdict v = relay_peek_unbind(pkt, len);

	*ts_ms = 0;
	if (v != RELAY_OK)
		return v;
	if (!mac_verify(pkt + RELAY_UNBIND_MAC_OFFSET, session_key, pkt, RELAY_UNBIND_MAC_OFFSET))
		return RELAY_DROP_MAC;
	*ts_ms = be64_load(pkt + RELAY_UNBIND_TS_OFFSET);
	return RELAY_OK;
}

void relay_create_error(uint8_t out[RELAY_ERROR_LEN], uint8_t code, uint32_t tag)
{
	out[0] = RELAY_ERROR;
	out[1] = code;
	out[2] = 0;
	out[3] = 0;
	be32_store(out + RELAY_ERROR_TAG_OFFSET, tag);
}

enum relay_verdict relay_consume_error(const uint8_t *pkt, size_t len, uint8_t *code, uint32_t *tag)
{
	*code = 0;
	*tag = 0;
	if (len < 1 || pkt[0] != RELAY_ERROR)
		return RELAY_DROP_TYPE;
	if (len != RELAY_ERROR_LEN)
		return RELAY_DROP_MALFORMED;
	if (pkt[2] || pkt[3])
		return RELAY_DROP_VERSION;
	*code = pkt[1];
	*tag = be32_load(pkt + RELAY_ERROR_TAG_OFFSET);
	return RELAY_OK;
}
