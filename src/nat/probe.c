/* probe.c - path probe messages (ping/pong, first byte 0xD0-0xDF): wire format and keys. */
#include "nat/probe.h"

#include <string.h>

#include "crypto/secret.h"
#include "util/be.h"
#include "crypto/x25519.h"

static const char *const verdict_names[PROBE_VERDICT_COUNT] = {
	[PROBE_OK] = "ok",
	[PROBE_DROP_LENGTH] = "bad length",
	[PROBE_DROP_TYPE] = "reserved type",
	[PROBE_DROP_VERSION] = "bad version or reserved bits",
	[PROBE_DROP_UNKNOWN_PEER] = "unknown sender",
	[PROBE_DROP_MAC] = "bad MAC",
	[PROBE_DROP_REPLAY] = "replayed",
	[PROBE_DROP_BAD_ADDR] = "bad observed address",
	[PROBE_DROP_STALE] = "pong without a ping",
	[PROBE_DROP_SOURCE] = "pong from an unexpected address",
	[PROBE_DROP_RATE] = "rate limited",
};

const char *probe_verdict_name(enum probe_verdict v)
{
	return (unsigned)v < PROBE_VERDICT_COUNT ? verdict_names[v] : "?";
}

bool probe_is(const uint8_t *pkt, size_t len)
{
	return len >= 1 && pkt[0] >= PROBE_FIRST_BYTE_MIN && pkt[0] <= PROBE_FIRST_BYTE_MAX;
}

bool probe_derive_key(uint8_t key[MAC_KEY_LEN], const wg_key self_priv, const wg_key self_pub,
                      const wg_key peer_pub)
{
	static const char label[] = "lanrage probe v1";
	uint8_t dh[X25519_LEN];
	bool lower = memcmp(self_pub, peer_pub, KEY_LEN) < 0;

	if (!x25519(dh, self_priv, peer_pub)) {
		secret_zero(dh, sizeof(dh));
		return false;
	}
	mac_derive_key(key, label, dh, sizeof(dh), lower ? self_pub : peer_pub, KEY_LEN,
	               lower ? peer_pub : self_pub, KEY_LEN);
	secret_zero(dh, sizeof(dh));
	return true;
}

void probe_create(uint8_t out[PROBE_LEN], const struct probe_msg *m, const uint8_t key[MAC_KEY_LEN])
{
	memset(out, 0, PROBE_LEN);
	out[0] = m->type;
	out[1] = PROBE_VERSION;
	out[2] = m->flags & PROBE_F_HAVE_PATH;
	memcpy(out + 4, m->sender, KEY_LEN);
	be64_store(out + 36, m->counter);
	be64_store(out + 44, m->txid);
	if (m->type == PROBE_PONG)
		addr_to_wire(out + 52, &m->observed);
	mac_compute(out + PROBE_MAC_OFFSET, key, out, PROBE_MAC_OFFSET);
}

enum probe_verdict probe_peek(const uint8_t *pkt, size_t len, wg_key sender)
{
	if (len != PROBE_LEN)
		return PROBE_DROP_LENGTH;
	if (pkt[0] != PROBE_PING && pkt[0] != PROBE_PONG)
		return PROBE_DROP_TYPE;
	if (pkt[1] != PROBE_VERSION || (pkt[2] & ~PROBE_F_HAVE_PATH) || pkt[3] || pkt[70] ||
	    pkt[71])
		return PROBE_DROP_VERSION;
	memcpy(sender, pkt + 4, KEY_LEN);
	return PROBE_OK;
}

enum probe_verdict probe_consume(struct probe_msg *m, const uint8_t *pkt, size_t len,
                                 const uint8_t key[MAC_KEY_LEN])
{
	static const uint8_t zero[ADDR_WIRE_LEN];
	enum probe_verdict v;

	memset(m, 0, sizeof(*m));
	addr_clear(&m->observed);
	v = probe_peek(pkt, len, m->sender);
	if (v != PROBE_OK)
		return v;
	if (!mac_verify(pkt + PROBE_MAC_OFFSET, key, pkt, PROBE_MAC_OFFSET))
		return PROBE_DROP_MAC;
	m->type = pkt[0];
	m->flags = pkt[2];
	m->counter = be64_load(pkt + 36);
	m->txid = be64_load(pkt + 44);
	if (m->type == PROBE_PING) {
		/* A ping carries no address: those bytes are zero. */
		return memcmp(pkt + 52, zero, sizeof(zero)) == 0 ? PROBE_OK : PROBE_DROP_VERSION;
	}
	if (!addr_from_wire(&m->observed, pkt + 52))
		return PROBE_DROP_BAD_ADDR;
	return PROBE_OK;
}
