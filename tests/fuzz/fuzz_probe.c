/* fuzz_probe.c - path probes: the decoder, and the path engine on forged and genuine probes. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/key.h"
#include "crypto/mac.h"
#include "crypto/rand.h"
#include "fuzz.h"
#include "nat/path.h"
#include "nat/probe.h"
#include "util/err.h"

static int discard(void *ctx, const struct endpoint *to, const uint8_t *buf, size_t len)
{
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct path_table t;
	static wg_key peer_pub;
	static uint8_t key[MAC_KEY_LEN];
	static bool ready;
	static uint64_t now = 1;
	uint8_t buf[PROBE_LEN];
	struct probe_msg m;
	struct addr from_addr;
	struct endpoint from;
	errmsg err;

	if (!ready) {
		struct send_ops ops = { .send = discard };
		wg_key self_priv, peer_priv;
		struct addr cand_addr;
		struct endpoint cand;
		enum cand_kind kind = CAND_REFLEXIVE;

		if (!rand_init())
			abort();
		/* Fixed keys, so inputs replay the same way. */
		memset(self_priv, 0x11, KEY_LEN);
		memset(peer_priv, 0x22, KEY_LEN);
		key_public_from_private(peer_pub, peer_priv);
		if (path_table_init(&t, self_priv, 2, 1, NULL, &ops, NULL, NULL) != 0 ||
		    path_add_peer(&t, peer_pub, 0) != 0 ||
		    !probe_derive_key(key, self_priv, t.self_pub, peer_pub) ||
		    !addr_parse(&cand_addr, "203.0.113.7:40000", err))
			abort();
		endpoint_from_addr(&cand, &cand_addr);
		path_set_candidates(&t, 0, &cand, &kind, 1, 0);
		ready = true;
	}
	if (!addr_parse(&from_addr, "203.0.113.7:40000", err))
		abort();
	/* Some inputs arrive through a relay at the candidate's address (a byte past the probe
	 * says). */
	if (size > PROBE_LEN + 1 && (data[PROBE_LEN + 1] & 1)) {
		static const uint8_t hdr[5] = { 0xE0, 1, 2, 3, 4 };

		endpoint_relayed(&from, &from_addr, hdr, sizeof(hdr));
	} else {
		endpoint_from_addr(&from, &from_addr);
	}
	now += 1000000;

	if (probe_consume(&m, data, size, key) == PROBE_OK && m.type != PROBE_PING &&
	    m.type != PROBE_PONG)
		abort();
	path_input(&t, data, size, &from, now);

	/* The same bytes as a genuine probe from the member: past the MAC, into the engine. */
	if (size >= PROBE_MAC_OFFSET) {
		memcpy(buf, data, PROBE_MAC_OFFSET);
		memcpy(buf + 4, peer_pub, KEY_LEN);
		mac_compute(buf + PROBE_MAC_OFFSET, key, buf, PROBE_MAC_OFFSET);
		path_input(&t, buf, sizeof(buf), &from, now);
		if (size > PROBE_LEN && data[PROBE_LEN] & 1) {
			/* Also as a pong to the ping just sent. */
			buf[0] = PROBE_PONG;
			for (int o = 0; o < PATH_OUTSTANDING; o++) {
				uint64_t txid = t.peers[0].cand[0].out[o].txid;

				for (int i = 0; i < 8; i++)
					buf[44 + i] = (uint8_t)(txid >> (56 - 8 * i));
			}
			mac_compute(buf + PROBE_MAC_OFFSET, key, buf, PROBE_MAC_OFFSET);
			path_input(&t, buf, sizeof(buf), &from, now);
		}
	}
	path_timer(&t, now);
	return 0;
}
