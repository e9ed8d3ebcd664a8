/* fuzz_wg_receive.c - any datagram through the device's receive path, then its handshake handling.
 */
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crypto/key.h"
#include "crypto/rand.h"
#include "fuzz.h"
#include "util/grace.h"
#include "wg/device.h"
#include "wg/receive.h"
#include "wg/worker.h"

/*
 * The device's key and its one peer's key are fixed, so the seed corpus can
 * hold valid messages (tests/fuzz/corpus/wg_receive, made by fuzz_wg_seeds).
 */
static const char device_key[] = "aGVsbG8gZnV6emluZyB3b3JsZCBsYW5yYWdlIGtleTE=";
static const char peer_key[] = "cGVlciBrZXkgZm9yIGZ1enppbmcgbGFucmFnZSB3ZzI=";

static struct event_base *base;
static struct wg_device *dev;
static struct wg_worker worker;
static struct worker_io io;

static void setup(void)
{
	struct tun *tun;
	wg_key priv, ppriv, ppub;
	struct prefix p;
	struct addr ep;
	struct endpoint pep;
	struct wg_peer *peer;

	if (!rand_init() || tun_pipe_create(&tun, "fuzz0", 1420) < 0)
		abort();
	base = event_base_new();
	dev = wg_device_create(base, tun, NULL, NULL);
	if (!dev || !key_from_base64(priv, device_key, NULL) ||
	    !key_from_base64(ppriv, peer_key, NULL))
		abort();
	wg_device_set_private_key(dev, priv);
	key_public_from_private(ppub, ppriv);
	peer = wg_device_add_peer(dev, ppub);
	if (!peer || !prefix_parse(&p, "10.66.0.2/32", false, NULL) ||
	    !wg_peer_add_allowed_ip(peer, &p) || !addr_parse(&ep, "127.0.0.1:9", NULL))
		abort();
	endpoint_from_addr(&pep, &ep);
	wg_peer_set_endpoint(peer, &pep);
	/* Bound to loopback so handshake responses have somewhere harmless to go. */
	if (udp_open(&dev->udp[0], 0, 0) < 0)
		abort();
	wg_device_commit(dev);
	/* Play the part of worker 0. */
	worker.dev = dev;
	worker.id = 0;
	io.w = &worker;
	if (!receive_io_init(&io))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[4096];
	char sink[4096];
	struct addr src;

	if (!dev)
		setup();
	if (size > sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	if (!addr_parse(&src, "127.0.0.1:40000", NULL))
		abort();
	receive_datagram(&io, buf, size, &src);
	receive_flush(&io);
	/* Run the control thread's share: handshakes queued by the receive path. */
	event_base_loop(base, EVLOOP_NONBLOCK);
	while (recv(dev->tun->peer_fd, sink, sizeof(sink), MSG_DONTWAIT) > 0)
		;
	grace_collect(&dev->grace, NULL, NULL);
	return 0;
}
