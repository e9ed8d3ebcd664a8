/* fuzz_relay_engine.c - the relay's engine on hostile datagrams and binds, and block files. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/rand.h"
#include "fuzz.h"
#include "nat/relay_token.h"
#include "relay/blocklist.h"
#include "relay/engine.h"
#include "util/err.h"

enum { SOURCES = 4 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct engine e;
	static struct blocklist block;
	static uint8_t token_key[MAC_KEY_LEN], tokens[SOURCES][RELAY_TOKEN_LEN];
	static uint8_t keys[SOURCES][MAC_KEY_LEN];
	static struct addr src[SOURCES];
	static bool ready;
	static uint64_t now = 1000000000000ull;
	static uint64_t ts = 1700000000000ull;
	static const char *const peers[SOURCES] = { "30470dcd2fe2a03b", "71a72dbae518894a",
		                                    "30470dcdffffffff", "0123456789abcdef" };
	static struct blocklist scratch;
	struct engine_out out;
	uint8_t pkt[RELAY_BIND_LEN + 64];
	int64_t wall;
	size_t who;

	if (!ready) {
		struct engine_config cfg = { .max_clients = 3,
			                     .stale_ns = 5000000000ull,
			                     .rate_pps = 0 };
		const char *addrs[SOURCES] = { "203.0.113.1:1", "[2001:db8::2]:2", "203.0.113.3:3",
			                       "198.51.100.4:4" };

		if (!rand_init() || !relay_token_key(token_key, "fuzzing relay secret", 20, NULL) ||
		    !blocklist_add(&block, "198.51.100.0/24", NULL))
			abort();
		memcpy(cfg.token_key, token_key, MAC_KEY_LEN);
		if (engine_init(&e, &cfg, &block) != 0)
			abort();
		for (size_t i = 0; i < SOURCES; i++) {
			struct relay_token_info info;

			if (!addr_parse(&src[i], addrs[i], NULL) ||
			    !relay_token_info_set(&info, 2000000000u, peers[i],
			                          i == 3 ? "7KQ2-M9XD-4HTB-PW3R"
			                                 : "HEN3-G1R2-37JD-VJ6R"))
				abort();
			relay_token_create(tokens[i], token_key, &info);
			relay_session_key(keys[i], token_key, tokens[i]);
		}
		ready = true;
	}
	if (size == 0)
		return 0;
	now += 10000000;
	ts += 10;
	wall = (int64_t)(ts - 50);
	who = data[0] % SOURCES;

	/* The raw bytes from one of the sources (sessions, strangers, the blocked one). */
	if (size - 1 <= sizeof(pkt)) {
		memcpy(pkt, data + 1, size - 1);
		engine_input(&e, pkt, size - 1, &src[who], NULL, now, wall, &out);
		if (out.action == ENGINE_REPLY && out.reply_len > size - 1)
			abort(); /* an answer larger than the question: amplification */
	}
	/* A genuine bind from that source, so data frames find sessions to go to. */
	if (data[0] & 0x10) {
		relay_create_bind(pkt, tokens[who], ts, keys[who]);
		engine_input(&e, pkt, RELAY_BIND_LEN, &src[(who + (data[0] >> 6)) % SOURCES], NULL,
		             now, wall, &out);
	}
	if (data[0] & 0x20)
		engine_sweep(&e, now, wall);
	if (engine_sessions(&e) > 3)
		abort();

	/* The same bytes as a block file. */
	memset(&scratch, 0, sizeof(scratch));
	if (blocklist_parse(&scratch, (const char *)data, size, NULL) && scratch.n > BLOCKLIST_MAX)
		abort();
	return 0;
}
