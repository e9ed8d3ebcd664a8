/* make_wg_seeds.c - writes the seed corpus of fuzz_wg_receive: valid and near-valid messages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/key.h"
#include "crypto/rand.h"
#include "util/now.h"
#include "wg/cookie.h"
#include "wg/messages.h"
#include "wg/noise.h"

static void write_file(const char *dir, const char *name, const void *data, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len)
		exit(1);
	fclose(f);
}

int main(int argc, char **argv)
{
	/* The keys fuzz_wg_receive uses. */
	static const char device_key[] = "aGVsbG8gZnV6emluZyB3b3JsZCBsYW5yYWdlIGtleTE=";
	static const char peer_key[] = "cGVlciBrZXkgZm9yIGZ1enppbmcgbGFucmFnZSB3ZzI=";
	struct noise_local peer_local;
	struct noise_handshake hs;
	struct cookie_maker maker;
	struct msg_initiation init;
	uint8_t dpriv[32], ppriv[32], dpub[32], ts[12], buf[256];

	if (argc != 2 || !rand_init() || !key_from_base64(dpriv, device_key, NULL) ||
	    !key_from_base64(ppriv, peer_key, NULL))
		return 2;
	key_public_from_private(dpub, dpriv);
	noise_local_set(&peer_local, ppriv);
	noise_handshake_init(&hs, &peer_local, dpub);
	noise_tai64n(ts, now_wall_ns());
	if (!noise_create_initiation(&hs, &peer_local, 1234, ts, &init))
		return 1;
	cookie_maker_init(&maker, dpub);
	cookie_add_macs(&maker, (uint8_t *)&init, sizeof(init), now_mono_ns());
	write_file(argv[1], "initiation", &init, sizeof(init));
	init.macs.mac1[0] ^= 1;
	write_file(argv[1], "initiation-bad-mac", &init, sizeof(init));

	rand_bytes(buf, sizeof(buf));
	buf[0] = MSG_RESPONSE;
	memset(buf + 1, 0, 3);
	write_file(argv[1], "response", buf, MSG_RESPONSE_LEN);
	buf[0] = MSG_COOKIE_REPLY;
	write_file(argv[1], "cookie-reply", buf, MSG_COOKIE_REPLY_LEN);
	buf[0] = MSG_DATA;
	write_file(argv[1], "data", buf, 96);
	write_file(argv[1], "keepalive", buf, MSG_DATA_MIN_LEN);
	memcpy(buf, "\x00\x01\x00\x00\x21\x12\xa4\x42", 8);
	write_file(argv[1], "stun", buf, 20);
	buf[0] = 0xd1;
	write_file(argv[1], "probe", buf, 64);
	write_file(argv[1], "short", "\x04\x00\x00", 3);
	return 0;
}
