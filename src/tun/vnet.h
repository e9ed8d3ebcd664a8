/* vnet.h - the virtio-net header a TUN with IFF_VNET_HDR puts before every packet. */
#ifndef LANRAGE_TUN_VNET_H
#define LANRAGE_TUN_VNET_H

#include <stdint.h>

/* Host byte order (legacy virtio on a little- or big-endian host alike). */
struct vnet_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
};
_Static_assert(sizeof(struct vnet_hdr) == 10, "virtio_net_hdr is 10 bytes");

enum {
	VNET_HDR_LEN = 10,
	VNET_F_NEEDS_CSUM = 1, /* complete the checksum at csum_start + csum_offset */
	VNET_F_DATA_VALID = 2, /* the checksum needs no verification */
	VNET_GSO_NONE = 0,
	VNET_GSO_TCPV4 = 1,
	VNET_GSO_TCPV6 = 4,
	VNET_GSO_UDP_L4 = 5, /* Linux 6.2: USO */
	VNET_GSO_ECN = 0x80,
};

/* TUNSETOFFLOAD flags that Debian 12's headers predate (Linux 6.2). */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif

#endif
