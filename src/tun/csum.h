/* csum.h - the Internet checksum (RFC 1071) and TCP/UDP pseudo-headers. */
#ifndef LANRAGE_TUN_CSUM_H
#define LANRAGE_TUN_CSUM_H

#include <stddef.h>
#include <stdint.h>

/*
 * Sums are 32-bit accumulators of 16-bit big-endian words; add pieces with
 * csum_add (each piece of even length, except the last), finish with
 * csum_fold.  Values are host-order numbers; store them big-endian.
 */
uint32_t csum_add(uint32_t sum, const void *data, size_t len);
/* The checksum to store: the folded sum, complemented. */
uint16_t csum_fold(uint32_t sum);
/* The pseudo-header sum of RFC 793/768/8200 for an L4 segment of len bytes. */
uint32_t csum_pseudo(int family, const uint8_t *src, const uint8_t *dst, uint8_t proto,
                     uint32_t len);
/* The IPv4 header checksum, computed over ihl bytes with the field itself zeroed. */
uint16_t csum_ipv4_header(const uint8_t *hdr, size_t ihl);

static inline void be16_store(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline uint16_t be16_load(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t be32_load(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void be32_store(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

#endif
