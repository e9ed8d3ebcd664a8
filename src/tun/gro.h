/* gro.h - joining received TCP segments of a flow into one TUN write (receive offload). */
#ifndef LANRAGE_TUN_GRO_H
#define LANRAGE_TUN_GRO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "tun/vnet.h"

/*
 * A batch of decrypted packets goes to the TUN in as few writes as possible:
 * consecutive, equal-sized TCP segments of one flow with identical headers
 * (bar lengths, sequence numbers and PSH) become one super-packet with a vnet
 * header that lets the kernel take it whole, as GRO would; so do datagrams of
 * one UDP flow, equal-sized but for the last, where the kernel takes UDP
 * super-packets (USO, Linux 6.2); everything else goes as it came, marked
 * checksum-valid (it was authenticated, as the kernel WireGuard treats it).
 * Packets are referenced, not copied, until the flush.
 */
enum { GRO_MAX_UNITS = 256, GRO_MAX_SEGS = 64, GRO_MAX_BYTES = 65535, GRO_HDR_MAX = 120 };

struct gro_unit {
	struct vnet_hdr vh;
	uint8_t hdr[GRO_HDR_MAX]; /* the first segment's headers, edited at flush */
	size_t l3_len, hdr_len;
	int family;
	const uint8_t *data[GRO_MAX_SEGS]; /* payloads (or the whole packet, alone) */
	size_t len[GRO_MAX_SEGS];
	int n;
	size_t payload;
	uint32_t next_seq;
	uint8_t proto; /* 6 or 17 for a unit that may take more segments; 0 otherwise */
	bool open;
	bool psh;
};

struct gro {
	struct gro_unit units[GRO_MAX_UNITS];
	int n;
	bool coalesce; /* off: every packet alone (no vnet header on this TUN) */
	bool udp;      /* UDP runs too */
};

/* coalesce: the TUN takes vnet headers; udp: and UDP super-packets. */
void gro_init(struct gro *g, bool coalesce, bool udp);
/* Adds a packet (kept by reference); false when the batch is full: flush and add again. */
bool gro_add(struct gro *g, const uint8_t *pkt, size_t len);
/*
 * Writes every unit with write(ctx, iov, n), iov[0] being the vnet header when
 * coalescing, and empties the batch.  Returns how many packets (not units)
 * went out.
 */
size_t gro_flush(struct gro *g, long (*write)(void *ctx, const struct iovec *iov, int n),
                 void *ctx);

#endif
