/* csum.c - the Internet checksum (RFC 1071) and TCP/UDP pseudo-headers. */
#include "tun/csum.h"

#include <string.h>
#include <sys/socket.h>

/*
 * Sums native-endian 32-bit words into 64 bits and converts once at the end:
 * the ones'-complement sum does not depend on byte order (RFC 1071, 2.B), so
 * this is a byte-swap away from the big-endian word sum.
 */
uint32_t csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t acc = 0;
	uint16_t folded;

	while (len >= 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		acc += (v & 0xffffffffu) + (v >> 32);
		p += 8;
		len -= 8;
	}
	while (len >= 2) {
		uint16_t v;

		memcpy(&v, p, 2);
		acc += v;
		p += 2;
		len -= 2;
	}
	if (len) {
		/* A trailing byte is the high half of a big-endian word. */
		uint8_t pair[2] = { *p, 0 };
		uint16_t v;

		memcpy(&v, pair, 2);
		acc += v;
	}
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	folded = (uint16_t)acc;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	folded = (uint16_t)(folded << 8 | folded >> 8);
#endif
	return sum + folded;
}

uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint32_t csum_pseudo(int family, const uint8_t *src, const uint8_t *dst, uint8_t proto,
                     uint32_t len)
{
	size_t alen = family == AF_INET ? 4 : 16;
	uint32_t sum = csum_add(0, src, alen);

	sum = csum_add(sum, dst, alen);
	return sum + proto + (len >> 16) + (len & 0xffff);
}

uint16_t csum_ipv4_header(const uint8_t *hdr, size_t ihl)
{
	uint32_t sum = csum_add(0, hdr, 10);

	/* Skip the checksum field (bytes 10-11). */
	return csum_fold(csum_add(sum, hdr + 12, ihl - 12));
}
