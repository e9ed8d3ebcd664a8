/* send_ops.h - how the protocol cores send a datagram: one call on whatever socket owns them. */
#ifndef LANRAGE_NAT_SEND_OPS_H
#define LANRAGE_NAT_SEND_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "util/endpoint.h"

/*
 * The cores (STUN client, discovery, path probing) never touch a socket.
 * They send through this: the lanrage-nat shim (natsock) today, the
 * WireGuard data plane's shared UDP socket later.  send returns 0 or -errno;
 * a failure is counted by the caller and retried on the core's own schedule.
 */
struct send_ops {
	/* to: a direct address, or a relay and the header to put in front. */
	int (*send)(void *ctx, const struct endpoint *to, const uint8_t *buf, size_t len);
	void *ctx;
};

#endif
