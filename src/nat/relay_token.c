/* relay_token.c - relay tokens: the secret's key, issuing, checking, session keys, tags. */
#include "nat/relay_token.h"

#include <string.h>

#include "util/err.h"

static const char token_label[] = "lanrage relay token v1";
static const char session_label[] = "lanrage relay session v1";

size_t relay_secret_trim(const char *text, size_t len)
{
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
		len--;
	return len;
}

bool relay_token_key(uint8_t key[MAC_KEY_LEN], const char *text, size_t len, char *err)
{
	len = relay_secret_trim(text, len);
	if (len < RELAY_SECRET_MIN) {
		/* Never quote a secret, not even a short one. */
		err_set(err, "the relay secret needs at least %d characters", RELAY_SECRET_MIN);
		return false;
	}
	mac_derive_key(key, token_label, text, len, NULL, 0, NULL, 0);
	return true;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool parse_peer_id(uint8_t out[RELAY_TOKEN_PEER_LEN], const char *hex)
{
	if (strlen(hex) != RELAY_PEER_ID_HEX_LEN)
		return false;
	for (size_t i = 0; i < RELAY_TOKEN_PEER_LEN; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* Crockford base32 upper case without I, L, O, U: what canonical party ids hold. */
static bool party_symbol(char c)
{
	return (c >= '0' && c <= '9') ||
	       (c >= 'A' && c <= 'Z' && c != 'I' && c != 'L' && c != 'O' && c != 'U');
}

bool relay_token_info_set(struct relay_token_info *info, uint32_t expiry, const char *peer_id_hex,
                          const char *party_id)
{
	size_t n = 0;

	memset(info, 0, sizeof(*info));
	info->expiry = expiry;
	if (!parse_peer_id(info->peer_id, peer_id_hex))
		return false;
	for (const char *p = party_id; *p; p++) {
		if (*p == '-')
			continue;
		if (n == RELAY_TOKEN_PARTY_LEN || !party_symbol(*p))
			return false;
		info->party[n++] = *p;
	}
	return n == RELAY_TOKEN_PARTY_LEN;
}

void relay_token_create(uint8_t token[RELAY_TOKEN_LEN], const uint8_t token_key[MAC_KEY_LEN],
                        const struct relay_token_info *info)
{
	token[0] = RELAY_VERSION;
	be32_store(token + RELAY_TOKEN_EXPIRY_OFFSET, info->expiry);
	memcpy(token + RELAY_TOKEN_PEER_OFFSET, info->peer_id, RELAY_TOKEN_PEER_LEN);
	memcpy(token + RELAY_TOKEN_PARTY_OFFSET, info->party, RELAY_TOKEN_PARTY_LEN);
	mac_compute(token + RELAY_TOKEN_MAC_OFFSET, token_key, token, RELAY_TOKEN_MAC_OFFSET);
}

enum relay_verdict relay_token_verify(const uint8_t *token, size_t len,
                                      const uint8_t token_key[MAC_KEY_LEN], int64_t now_sec,
                                      struct relay_token_info *info)
{
	uint32_t expiry;

	memset(info, 0, sizeof(*info));
	if (len != RELAY_TOKEN_LEN || token[0] != RELAY_VERSION)
		return RELAY_DROP_BAD_TOKEN;
	if (!mac_verify(token + RELAY_TOKEN_MAC_OFFSET, token_key, token, RELAY_TOKEN_MAC_OFFSET))
		return RELAY_DROP_BAD_TOKEN;
	expiry = be32_load(token + RELAY_TOKEN_EXPIRY_OFFSET);
	if (now_sec >= (int64_t)expiry)
		return RELAY_DROP_EXPIRED;
	/* Made by our control server, so well formed; checked anyway, cheaply. */
	for (size_t i = 0; i < RELAY_TOKEN_PARTY_LEN; i++) {
		if (!party_symbol((char)token[RELAY_TOKEN_PARTY_OFFSET + i]))
			return RELAY_DROP_BAD_TOKEN;
	}
	info->expiry = expiry;
	memcpy(info->peer_id, token + RELAY_TOKEN_PEER_OFFSET, RELAY_TOKEN_PEER_LEN);
	memcpy(info->party, token + RELAY_TOKEN_PARTY_OFFSET, RELAY_TOKEN_PARTY_LEN);
	info->party[RELAY_TOKEN_PARTY_LEN] = '\0';
	return RELAY_OK;
}

void relay_session_key(uint8_t out[MAC_KEY_LEN], const uint8_t token_key[MAC_KEY_LEN],
                       const uint8_t token[RELAY_TOKEN_LEN])
{
	mac_derive_key(out, session_label, token_key, MAC_KEY_LEN, token, RELAY_TOKEN_LEN, NULL, 0);
}

uint32_t relay_tag(const uint8_t peer_id[RELAY_TOKEN_PEER_LEN])
{
	return be32_load(peer_id);
}

bool relay_tag_from_peer_id(const char *peer_id_hex, uint32_t *tag)
{
	uint8_t id[RELAY_TOKEN_PEER_LEN];

	*tag = 0;
	if (!parse_peer_id(id, peer_id_hex))
		return false;
	*tag = relay_tag(id);
	return true;
}
