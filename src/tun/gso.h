/* gso.h - splitting the super-packets a TUN hands over (TSO/USO) into wire-sized ones. */
#ifndef LANRAGE_TUN_GSO_H
#define LANRAGE_TUN_GSO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tun/vnet.h"
#include "util/compiler.h"

/*
 * With offloads on, the kernel gives the TUN reader TCP (and UDP) payloads of
 * up to 64 KiB under one header, to be cut into gso_size pieces, and leaves
 * checksums for the reader to complete.  Doing this here costs a copy and a
 * checksum per piece but saves a read, a routing lookup and most of the
 * kernel's per-packet work for every piece.
 */
struct gso_packet {
	const uint8_t *pkt;
	size_t len;
	int family;
	uint8_t proto;
	size_t l3_len;   /* IP header(s) */
	size_t l4_len;   /* TCP or UDP header */
	size_t seg_size; /* payload per piece; 0 when not a super-packet */
	unsigned segs;   /* 1 when not a super-packet */
	bool needs_csum; /* a single packet whose checksum is left to us */
	uint16_t csum_start, csum_offset;
};

/* Checks a packet and its vnet header; false if it is malformed or of a kind we do not split. */
bool gso_parse(struct gso_packet *g, const struct vnet_hdr *vh, const uint8_t *pkt,
               size_t len) WARN_UNUSED;
/*
 * Writes piece i (of g->segs) into out, which has room for cap bytes, with
 * lengths, sequence numbers, IP ids and checksums complete; returns its length
 * (0 if it does not fit).  For a single packet: a copy, checksum completed.
 */
size_t gso_segment(const struct gso_packet *g, unsigned i, uint8_t *out, size_t cap);

/*
 * Whether an IP packet is a TCP segment carrying data: bulk, which must stay
 * in order behind the rest of its flow and may wait (or, under AQM, be
 * dropped); a pure ACK, SYN or FIN, and anything not TCP, is interactive.
 */
bool ip_is_tcp_data(const uint8_t *p, size_t len);

#endif
