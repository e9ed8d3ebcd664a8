/* gro.c - joining received TCP segments of a flow into one TUN write (receive offload). */
#include "tun/gro.h"

#include <string.h>
#include <sys/socket.h>

#include "tun/csum.h"

enum { TCP_ACK = 0x10, TCP_PSH = 0x08 };

void gro_init(struct gro *g, bool coalesce, bool udp)
{
	g->n = 0;
	g->coalesce = coalesce;
	g->udp = coalesce && udp;
}

/* Plain IPv4 (no options, not a fragment) or IPv6 without extensions; the L3 length or 0. */
static size_t plain_ip(const uint8_t *p, size_t len, uint8_t proto, int *family)
{
	if (len >= 20 && p[0] == 0x45 && p[9] == proto && !(be16_load(p + 6) & 0x3fff)) {
		*family = AF_INET;
		return 20;
	}
	if (len >= 40 && p[0] >> 4 == 6 && p[6] == proto) {
		*family = AF_INET6;
		return 40;
	}
	return 0;
}

/*
 * A TCP segment that may join others: plain IPv4 (no options, not a fragment)
 * or IPv6 without extension headers, only ACK (and PSH) set, some payload.
 * Returns the header length, or 0.
 */
static size_t tcp_candidate(const uint8_t *p, size_t len, int *family, size_t *l3)
{
	size_t doff;

	*l3 = plain_ip(p, len, 6, family);
	if (!*l3 || len < *l3 + 20)
		return 0;
	doff = (size_t)(p[*l3 + 12] >> 4) * 4;
	if (doff < 20 || *l3 + doff >= len || (p[*l3 + 13] & (uint8_t) ~(TCP_ACK | TCP_PSH)) ||
	    !(p[*l3 + 13] & TCP_ACK) || *l3 + doff > GRO_HDR_MAX)
		return 0;
	return *l3 + doff;
}

/* A UDP datagram with a payload, of a size UDP super-packets can carry; the header length or 0. */
static size_t udp_candidate(const uint8_t *p, size_t len, int *family, size_t *l3)
{
	*l3 = plain_ip(p, len, 17, family);
	if (!*l3 || len <= *l3 + 8 || be16_load(p + *l3 + 4) != len - *l3)
		return 0;
	return *l3 + 8;
}

/* The IP headers agree but for length, id and checksum. */
static bool same_ip(const struct gro_unit *u, const uint8_t *p)
{
	const uint8_t *h = u->hdr;

	if (u->family == AF_INET)
		/* version/ihl, tos; flags/frag; ttl, proto; addresses */
		return !memcmp(h, p, 2) && !memcmp(h + 6, p + 6, 4) && !memcmp(h + 12, p + 12, 8);
	/* version/class/flow label; next header, hop limit, addresses */
	return !memcmp(h, p, 4) && !memcmp(h + 6, p + 6, 34);
}

/* Same flow and nothing but length, sequence, checksums and PSH differs from the unit's headers. */
static bool same_headers(const struct gro_unit *u, const uint8_t *p, size_t hdr)
{
	const uint8_t *h = u->hdr;

	if (hdr != u->hdr_len)
		return false;
	if (!same_ip(u, p))
		return false;
	if (u->proto == 17)
		return !memcmp(h + u->l3_len, p + u->l3_len, 4); /* the ports */
	h += u->l3_len;
	p += u->l3_len;
	/* ports, ack, data offset, flags but PSH, and every option byte */
	return !memcmp(h, p, 4) && !memcmp(h + 8, p + 8, 5) &&
	       (h[13] & ~TCP_PSH) == (p[13] & ~TCP_PSH) &&
	       !memcmp(h + 20, p + 20, hdr - u->l3_len - 20);
}

static struct gro_unit *new_unit(struct gro *g)
{
	struct gro_unit *u;

	if (g->n == GRO_MAX_UNITS)
		return NULL;
	u = &g->units[g->n++];
	u->n = 0;
	u->payload = 0;
	u->proto = 0;
	u->open = false;
	u->psh = false;
	return u;
}

bool gro_add(struct gro *g, const uint8_t *pkt, size_t len)
{
	struct gro_unit *u;
	size_t hdr = 0, l3 = 0, payload;
	int family = 0;

	uint8_t proto = 6;

	if (g->coalesce)
		hdr = tcp_candidate(pkt, len, &family, &l3);
	if (!hdr && g->udp) {
		hdr = udp_candidate(pkt, len, &family, &l3);
		proto = 17;
	}
	if (hdr) {
		payload = len - hdr;
		/* The flow's latest unit, if it is still open and this segment continues it. */
		for (int i = g->n - 1; i >= 0; i--) {
			u = &g->units[i];
			if (u->proto != proto || u->family != family ||
			    memcmp(u->hdr + (family == AF_INET ? 12 : 8),
			           pkt + (family == AF_INET ? 12 : 8),
			           family == AF_INET ? 8 : 32) ||
			    memcmp(u->hdr + l3, pkt + l3, 4))
				continue;
			if (u->open && same_headers(u, pkt, hdr) &&
			    (proto == 17 || be32_load(pkt + l3 + 4) == u->next_seq) &&
			    payload <= u->len[0] && u->n < GRO_MAX_SEGS &&
			    hdr + u->payload + payload <= GRO_MAX_BYTES) {
				u->data[u->n] = pkt + hdr;
				u->len[u->n++] = payload;
				u->payload += payload;
				u->next_seq += (uint32_t)payload;
				u->psh = proto == 6 && (pkt[l3 + 13] & TCP_PSH);
				/* A short or pushed segment ends the run. */
				u->open = payload == u->len[0] && !u->psh;
				return true;
			}
			u->open = false; /* later segments must not overtake this one */
			break;
		}
		u = new_unit(g);
		if (!u)
			return false;
		memcpy(u->hdr, pkt, hdr);
		u->family = family;
		u->l3_len = l3;
		u->hdr_len = hdr;
		u->data[0] = pkt + hdr;
		u->len[0] = payload;
		u->n = 1;
		u->payload = payload;
		u->proto = proto;
		u->psh = proto == 6 && (pkt[l3 + 13] & TCP_PSH);
		u->next_seq = proto == 6 ? be32_load(pkt + l3 + 4) + (uint32_t)payload : 0;
		u->open = !u->psh;
		return true;
	}
	u = new_unit(g);
	if (!u)
		return false;
	u->data[0] = pkt;
	u->len[0] = len;
	u->n = 1;
	u->hdr_len = 0;
	return true;
}

/* Turns a multi-segment unit's headers into those of one super-packet. */
static void finish_super(struct gro_unit *u)
{
	uint8_t *h = u->hdr, *l4 = h + u->l3_len;
	size_t l4_len = u->hdr_len - u->l3_len + u->payload;
	bool tcp = u->proto == 6;
	uint32_t pseudo;

	if (u->family == AF_INET) {
		be16_store(h + 2, (uint16_t)(u->hdr_len + u->payload));
		be16_store(h + 10, csum_ipv4_header(h, u->l3_len));
		pseudo = csum_pseudo(AF_INET, h + 12, h + 16, u->proto, (uint32_t)l4_len);
	} else {
		be16_store(h + 4, (uint16_t)l4_len);
		pseudo = csum_pseudo(AF_INET6, h + 8, h + 24, u->proto, (uint32_t)l4_len);
	}
	if (tcp && u->psh)
		l4[13] |= TCP_PSH;
	if (!tcp)
		be16_store(l4 + 4, (uint16_t)l4_len);
	/* A partial checksum: the folded pseudo-header sum, for the kernel to complete. */
	be16_store(l4 + (tcp ? 16 : 6), (uint16_t)~csum_fold(pseudo));
	u->vh = (struct vnet_hdr){
		.flags = VNET_F_NEEDS_CSUM,
		.gso_type = !tcp                   ? VNET_GSO_UDP_L4
		            : u->family == AF_INET ? VNET_GSO_TCPV4
		                                   : VNET_GSO_TCPV6,
		.hdr_len = (uint16_t)u->hdr_len,
		.gso_size = (uint16_t)u->len[0],
		.csum_start = (uint16_t)u->l3_len,
		.csum_offset = tcp ? 16 : 6,
	};
}

size_t gro_flush(struct gro *g, long (*write)(void *ctx, const struct iovec *iov, int n), void *ctx)
{
	struct iovec iov[2 + GRO_MAX_SEGS];
	size_t packets = 0;

	for (int i = 0; i < g->n; i++) {
		struct gro_unit *u = &g->units[i];
		int n = 0;

		if (g->coalesce) {
			if (u->proto && u->n > 1) {
				finish_super(u);
			} else {
				/* Authenticated by the tunnel: the kernel need not verify it. */
				u->vh = (struct vnet_hdr){ .flags = VNET_F_DATA_VALID };
			}
			iov[n++] = (struct iovec){ &u->vh, VNET_HDR_LEN };
		}
		if (u->hdr_len)
			iov[n++] = (struct iovec){ u->hdr, u->hdr_len };
		for (int s = 0; s < u->n; s++)
			iov[n++] = (struct iovec){ (void *)u->data[s], u->len[s] };
		if (write(ctx, iov, n) >= 0)
			packets += (size_t)u->n;
	}
	g->n = 0;
	return packets;
}
