/* fuzz_relay_frame.c - relay frames and tokens: every decoder, and the member's client core. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/rand.h"
#include "fuzz.h"
#include "nat/relay_client.h"
#include "nat/relay_frame.h"
#include "nat/relay_token.h"
#include "util/err.h"

static int discard(void *ctx, const struct endpoint *to, const uint8_t *buf, size_t len)
{
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct relay_client c;
	static uint8_t token_key[MAC_KEY_LEN], token[RELAY_TOKEN_LEN], key[MAC_KEY_LEN];
	static struct addr relay;
	static bool ready;
	static uint64_t now = 1;
	struct relay_token_info info;
	uint8_t buf[RELAY_ACK_LEN], code;
	const uint8_t *tok;
	struct addr observed;
	uint64_t ts;
	uint32_t tag;

	if (!ready) {
		struct send_ops ops = { .send = discard };

		if (!rand_init() || !relay_token_key(token_key, "fuzzing relay secret", 20, NULL) ||
		    !relay_token_info_set(&info, 2000000000u, "30470dcd2fe2a03b",
		                          "HEN3-G1R2-37JD-VJ6R") ||
		    !addr_parse(&relay, "198.51.100.50:51820", NULL) ||
		    relay_client_init(&c, 2, NULL, &ops, NULL, NULL) != 0)
			abort();
		relay_token_create(token, token_key, &info);
		relay_session_key(key, token_key, token);
		if (!relay_client_set_token(&c, token, sizeof(token), key, 0) ||
		    relay_client_add(&c, &relay, 0) != 0)
			abort();
		ready = true;
	}
	now += 100000000;

	/* Every decoder on the raw bytes: no crash, and their promises hold. */
	(void)relay_is(data, size);
	if (relay_check_data(data, size) == RELAY_OK && (size < 13 || data[0] != RELAY_DATA))
		abort();
	if (relay_peek_bind(data, size, &tok) == RELAY_OK && (tok != data + 3 || size != 72))
		abort();
	if (relay_consume_bind(data, size, key, &ts) == RELAY_OK && size != RELAY_BIND_LEN)
		abort();
	if (relay_consume_bind_ack(data, size, key, &ts, &observed) == RELAY_OK &&
	    !addr_is_set(&observed))
		abort();
	if (relay_consume_unbind(data, size, key, &ts) == RELAY_OK && size != RELAY_UNBIND_LEN)
		abort();
	if (relay_consume_error(data, size, &code, &tag) == RELAY_OK && size != RELAY_ERROR_LEN)
		abort();
	if (relay_token_verify(data, size, token_key, 1700000000, &info) == RELAY_OK &&
	    (size != RELAY_TOKEN_LEN || strlen(info.party) != RELAY_TOKEN_PARTY_LEN))
		abort();

	/* The client core: as sent by its relay, and as a genuine ack to its last bind. */
	relay_client_input(&c, data, size, &relay, now, 1700000000000 + (int64_t)(now / 1000000));
	if (size >= RELAY_ACK_MAC_OFFSET) {
		memcpy(buf, data, RELAY_ACK_MAC_OFFSET);
		buf[0] = RELAY_BIND_ACK;
		buf[1] = RELAY_VERSION;
		if (size > RELAY_ACK_MAC_OFFSET && data[RELAY_ACK_MAC_OFFSET] & 1) {
			/* Echo a timestamp the client has outstanding. */
			uint64_t want = c.links[0].out[data[RELAY_ACK_MAC_OFFSET] >> 6].ts_ms;

			for (int i = 0; i < 8; i++)
				buf[RELAY_ACK_TS_OFFSET + i] = (uint8_t)(want >> (56 - 8 * i));
		}
		mac_compute(buf + RELAY_ACK_MAC_OFFSET, key, buf, RELAY_ACK_MAC_OFFSET);
		relay_client_input(&c, buf, sizeof(buf), &relay, now,
		                   1700000000000 + (int64_t)(now / 1000000));
	}
	relay_client_timer(&c, now, 1700000000000 + (int64_t)(now / 1000000));
	return 0;
}
