/* gso.c - splitting the super-packets a TUN hands over (TSO/USO) into wire-sized ones. */
#include "tun/gso.h"

#include <string.h>
#include <sys/socket.h>

#include "tun/csum.h"

enum { TCP_FIN = 0x01, TCP_PSH = 0x08, TCP_CWR = 0x80, MAX_SEGS = 1024 };

bool gso_parse(struct gso_packet *g, const struct vnet_hdr *vh, const uint8_t *pkt, size_t len)
{
	uint8_t gso = vh->gso_type & (uint8_t)~VNET_GSO_ECN;

	memset(g, 0, sizeof(*g));
	g->pkt = pkt;
	g->len = len;
	g->segs = 1;
	if (len < 1)
		return false;
	if (pkt[0] >> 4 == 4) {
		if (len < 20 || (pkt[0] & 15) < 5 || (size_t)(pkt[0] & 15) * 4 > len)
			return false;
		g->family = AF_INET;
		g->l3_len = (size_t)(pkt[0] & 15) * 4;
		g->proto = pkt[9];
	} else if (pkt[0] >> 4 == 6) {
		if (len < 40)
			return false;
		g->family = AF_INET6;
		g->l3_len = 40;
		g->proto = pkt[6];
	} else {
		return false;
	}
	if (vh->flags & VNET_F_NEEDS_CSUM) {
		/* The checksum field must lie inside the packet. */
		if ((size_t)vh->csum_start + vh->csum_offset + 2 > len)
			return false;
		g->needs_csum = true;
		g->csum_start = vh->csum_start;
		g->csum_offset = vh->csum_offset;
	}
	if (gso == VNET_GSO_NONE)
		return true;

	/* A super-packet: its L4 header starts at csum_start (IPv6 may have extensions). */
	if (!g->needs_csum || g->csum_start < g->l3_len || vh->gso_size == 0)
		return false;
	g->l3_len = g->csum_start;
	if (gso == VNET_GSO_TCPV4 || gso == VNET_GSO_TCPV6) {
		if ((gso == VNET_GSO_TCPV4) != (g->family == AF_INET) || len < g->l3_len + 20)
			return false;
		g->proto = 6;
		g->l4_len = (size_t)(pkt[g->l3_len + 12] >> 4) * 4;
		if (g->l4_len < 20)
			return false;
	} else if (gso == VNET_GSO_UDP_L4) {
		g->proto = 17;
		g->l4_len = 8;
	} else {
		return false;
	}
	if (len <= g->l3_len + g->l4_len)
		return false;
	g->seg_size = vh->gso_size;
	g->segs = (unsigned)((len - g->l3_len - g->l4_len + g->seg_size - 1) / g->seg_size);
	g->needs_csum = false; /* every piece gets a full checksum */
	return g->segs <= MAX_SEGS;
}

/* A single packet: copy and complete the checksum the sender left partial. */
static size_t copy_single(const struct gso_packet *g, uint8_t *out, size_t cap)
{
	if (g->len > cap)
		return 0;
	memcpy(out, g->pkt, g->len);
	if (g->needs_csum) {
		uint8_t *field = out + g->csum_start + g->csum_offset;
		uint16_t sum;

		/* The field holds the pseudo-header sum; the sum runs over it. */
		sum = csum_fold(csum_add(0, out + g->csum_start, g->len - g->csum_start));
		/* UDP sends 0xffff for a computed zero (RFC 768). */
		if (g->proto == 17 && sum == 0)
			sum = 0xffff;
		be16_store(field, sum);
	}
	return g->len;
}

size_t gso_segment(const struct gso_packet *g, unsigned i, uint8_t *out, size_t cap)
{
	size_t hdr = g->l3_len + g->l4_len, off, chunk, total;
	const uint8_t *src, *dst;
	uint8_t *l4;
	uint32_t sum;
	uint16_t check;

	if (!g->seg_size)
		return i == 0 ? copy_single(g, out, cap) : 0;
	off = hdr + (size_t)i * g->seg_size;
	if (i >= g->segs || off >= g->len)
		return 0;
	chunk = g->len - off < g->seg_size ? g->len - off : g->seg_size;
	total = hdr + chunk;
	if (total > cap)
		return 0;
	memcpy(out, g->pkt, hdr);
	memcpy(out + hdr, g->pkt + off, chunk);
	l4 = out + g->l3_len;

	if (g->family == AF_INET) {
		be16_store(out + 2, (uint16_t)total);
		be16_store(out + 4, (uint16_t)(be16_load(g->pkt + 4) + i));
		be16_store(out + 10, csum_ipv4_header(out, g->l3_len));
		src = out + 12;
		dst = out + 16;
	} else {
		be16_store(out + 4, (uint16_t)(total - 40));
		src = out + 8;
		dst = out + 24;
	}
	if (g->proto == 6) {
		uint8_t flags = l4[13];

		be32_store(l4 + 4, be32_load(l4 + 4) + (uint32_t)(i * g->seg_size));
		if (i + 1 < g->segs)
			flags &= (uint8_t) ~(TCP_FIN | TCP_PSH);
		if (i > 0)
			flags &= (uint8_t)~TCP_CWR;
		l4[13] = flags;
		be16_store(l4 + 16, 0);
	} else {
		be16_store(l4 + 4, (uint16_t)(g->l4_len + chunk));
		be16_store(l4 + 6, 0);
	}
	sum = csum_pseudo(g->family, src, dst, g->proto, (uint32_t)(g->l4_len + chunk));
	sum = csum_add(sum, l4, g->l4_len);
	check = csum_fold(csum_add(sum, out + hdr, chunk));
	if (g->proto == 17 && check == 0)
		check = 0xffff;
	be16_store(l4 + (g->proto == 6 ? 16 : 6), check);
	return total;
}

bool ip_is_tcp_data(const uint8_t *p, size_t len)
{
	size_t l3, total;

	if (len >= 20 && p[0] >> 4 == 4 && p[9] == 6) {
		l3 = (size_t)(p[0] & 15) * 4;
		total = (size_t)p[2] << 8 | p[3];
	} else if (len >= 40 && p[0] >> 4 == 6 && p[6] == 6) {
		l3 = 40;
		total = 40 + ((size_t)p[4] << 8 | p[5]);
	} else {
		return false;
	}
	/* A segment with no payload (a pure ACK, SYN, FIN) carries no data to reorder. */
	return len < l3 + 20 || total > l3 + (size_t)(p[l3 + 12] >> 4) * 4;
}
