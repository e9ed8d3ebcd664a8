/* test_offload.c - checksums, super-packet splitting (GSO) and coalescing (GRO). */
#include "test.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tun/csum.h"
#include "tun/gro.h"
#include "tun/gso.h"

/* The reference: RFC 1071 straight from the definition, one big-endian word at a time. */
static uint16_t naive_csum(const uint8_t *p, size_t len, uint32_t start)
{
	uint64_t sum = start;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint32_t naive_pseudo(int family, const uint8_t *src, const uint8_t *dst, uint8_t proto,
                             uint32_t len)
{
	uint8_t buf[40];
	size_t a = family == AF_INET ? 4 : 16, n;

	memcpy(buf, src, a);
	memcpy(buf + a, dst, a);
	n = 2 * a;
	buf[n++] = 0;
	buf[n++] = proto;
	buf[n++] = (uint8_t)(len >> 8);
	buf[n++] = (uint8_t)len;
	return (uint16_t)~naive_csum(buf, n, 0) + (len >> 16);
}

static void test_csum(void **state)
{
	uint8_t buf[1501];

	srand(9);
	for (size_t len = 0; len <= sizeof(buf); len += (len < 64 ? 1 : 37)) {
		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)rand();
		assert_int_equal(csum_fold(csum_add(0, buf, len)), naive_csum(buf, len, 0));
	}
	/* Known: the IPv4 header of RFC 1071's neighbourhood, checksum 0xb861. */
	uint8_t ip[20] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
		           0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };
	assert_int_equal(csum_ipv4_header(ip, 20), 0xb861);
}

/* Whether an L4 segment's checksum verifies (the sum over it all is zero). */
static bool l4_valid(int family, const uint8_t *pkt, size_t l3, size_t total, uint8_t proto)
{
	const uint8_t *src = pkt + (family == AF_INET ? 12 : 8);
	const uint8_t *dst = pkt + (family == AF_INET ? 16 : 24);
	uint32_t pseudo = naive_pseudo(family, src, dst, proto, (uint32_t)(total - l3));

	return naive_csum(pkt + l3, total - l3, pseudo) == 0;
}

/* A TCP super-packet of payload bytes with a timestamps option, as the kernel hands it over. */
static size_t make_tcp(uint8_t *p, int family, size_t payload, uint8_t flags, uint32_t seq,
                       struct vnet_hdr *vh, size_t mss)
{
	size_t l3 = family == AF_INET ? 20 : 40, hdr = l3 + 32;

	memset(p, 0, hdr);
	if (family == AF_INET) {
		p[0] = 0x45;
		be16_store(p + 2, (uint16_t)(hdr + payload));
		be16_store(p + 4, 0x1234);
		p[6] = 0x40;
		p[8] = 64;
		p[9] = 6;
		inet_pton(AF_INET, "10.66.0.1", p + 12);
		inet_pton(AF_INET, "10.66.0.2", p + 16);
		be16_store(p + 10, csum_ipv4_header(p, 20));
	} else {
		p[0] = 0x60;
		be16_store(p + 4, (uint16_t)(32 + payload));
		p[6] = 6;
		p[7] = 64;
		inet_pton(AF_INET6, "fd00::1", p + 8);
		inet_pton(AF_INET6, "fd00::2", p + 24);
	}
	be16_store(p + l3, 40000);
	be16_store(p + l3 + 2, 5201);
	be32_store(p + l3 + 4, seq);
	be32_store(p + l3 + 8, 777);
	p[l3 + 12] = 8 << 4;
	p[l3 + 13] = flags;
	be16_store(p + l3 + 14, 512);
	/* NOP NOP TIMESTAMP */
	p[l3 + 20] = 1;
	p[l3 + 21] = 1;
	p[l3 + 22] = 8;
	p[l3 + 23] = 10;
	be32_store(p + l3 + 24, 1000);
	be32_store(p + l3 + 28, 2000);
	for (size_t i = 0; i < payload; i++)
		p[hdr + i] = (uint8_t)(i * 7 + seq);
	*vh = (struct vnet_hdr){ .flags = VNET_F_NEEDS_CSUM,
		                 .gso_type = family == AF_INET ? VNET_GSO_TCPV4 : VNET_GSO_TCPV6,
		                 .hdr_len = (uint16_t)hdr,
		                 .gso_size = (uint16_t)mss,
		                 .csum_start = (uint16_t)l3,
		                 .csum_offset = 16 };
	return hdr + payload;
}

static void test_split_tcp(void **state)
{
	static uint8_t pkt[70000], seg[2048], joined[70000];
	const int families[] = { AF_INET, AF_INET6 };

	for (int f = 0; f < 2; f++) {
		int family = families[f];
		size_t l3 = family == AF_INET ? 20 : 40, hdr = l3 + 32, got = 0;
		struct vnet_hdr vh;
		struct gso_packet g;
		size_t len = make_tcp(pkt, family, 10000, 0x18 /* ACK PSH */, 5000, &vh, 1368);

		assert_true(gso_parse(&g, &vh, pkt, len));
		assert_int_equal(g.segs, 8); /* 7 x 1368 + 424 */
		for (unsigned i = 0; i < g.segs; i++) {
			size_t n = gso_segment(&g, i, seg, sizeof(seg));
			size_t chunk = i < 7 ? 1368 : 10000 - 7 * 1368;

			assert_int_equal(n, hdr + chunk);
			if (family == AF_INET) {
				assert_int_equal(be16_load(seg + 2), n);
				assert_int_equal(be16_load(seg + 4), 0x1234 + i);
				assert_int_equal(naive_csum(seg, 20, 0), 0);
			} else {
				assert_int_equal(be16_load(seg + 4), n - 40);
			}
			assert_int_equal(be32_load(seg + l3 + 4), 5000 + i * 1368);
			/* PSH only on the last piece. */
			assert_int_equal(seg[l3 + 13], i + 1 < g.segs ? 0x10 : 0x18);
			assert_true(l4_valid(family, seg, l3, n, 6));
			memcpy(joined + got, seg + hdr, chunk);
			got += chunk;
		}
		assert_int_equal(got, 10000);
		assert_memory_equal(joined, pkt + hdr, 10000);
		assert_int_equal(gso_segment(&g, g.segs, seg, sizeof(seg)), 0);
		/* A piece that does not fit is refused, not truncated. */
		assert_int_equal(gso_segment(&g, 0, seg, 100), 0);
	}
}

static void test_split_udp_and_single(void **state)
{
	uint8_t pkt[4000], seg[2048];
	struct vnet_hdr vh = { .flags = VNET_F_NEEDS_CSUM,
		               .gso_type = VNET_GSO_UDP_L4,
		               .gso_size = 1000,
		               .csum_start = 20,
		               .csum_offset = 6 };
	struct gso_packet g;
	size_t len = 20 + 8 + 2500;

	memset(pkt, 0, 28);
	pkt[0] = 0x45;
	be16_store(pkt + 2, (uint16_t)len);
	pkt[8] = 64;
	pkt[9] = 17;
	inet_pton(AF_INET, "10.66.0.1", pkt + 12);
	inet_pton(AF_INET, "10.66.0.2", pkt + 16);
	for (size_t i = 28; i < len; i++)
		pkt[i] = (uint8_t)i;
	assert_true(gso_parse(&g, &vh, pkt, len));
	assert_int_equal(g.segs, 3);
	for (unsigned i = 0; i < 3; i++) {
		size_t n = gso_segment(&g, i, seg, sizeof(seg));

		assert_int_equal(n, 28 + (i < 2 ? 1000 : 500));
		assert_int_equal(be16_load(seg + 24), n - 20);
		assert_true(l4_valid(AF_INET, seg, 20, n, 17));
	}

	/* One packet whose checksum the kernel left to us: the field holds the pseudo sum. */
	vh.gso_type = VNET_GSO_NONE;
	len = 20 + 8 + 333;
	be16_store(pkt + 2, (uint16_t)len);
	be16_store(pkt + 24, (uint16_t)(len - 20));
	be16_store(pkt + 26, (uint16_t)~csum_fold(csum_pseudo(AF_INET, pkt + 12, pkt + 16, 17,
	                                                      (uint32_t)(len - 20))));
	assert_true(gso_parse(&g, &vh, pkt, len));
	assert_int_equal(gso_segment(&g, 0, seg, sizeof(seg)), len);
	assert_true(l4_valid(AF_INET, seg, 20, len, 17));
}

static void test_parse_refuses(void **state)
{
	uint8_t pkt[200] = { 0x45 };
	struct vnet_hdr vh = { 0 };
	struct gso_packet g;

	assert_false(gso_parse(&g, &vh, pkt, 10)); /* short IPv4 */
	pkt[0] = 0x75;
	assert_false(gso_parse(&g, &vh, pkt, 100)); /* not IP */
	pkt[0] = 0x45;
	vh.gso_type = VNET_GSO_TCPV4; /* a super-packet without NEEDS_CSUM */
	vh.gso_size = 100;
	assert_false(gso_parse(&g, &vh, pkt, 100));
	vh.flags = VNET_F_NEEDS_CSUM;
	vh.csum_start = 20;
	vh.csum_offset = 500; /* checksum field outside */
	assert_false(gso_parse(&g, &vh, pkt, 100));
	vh.csum_offset = 16;
	vh.gso_size = 0; /* no piece size */
	assert_false(gso_parse(&g, &vh, pkt, 100));
	vh.gso_size = 100;
	vh.gso_type = VNET_GSO_TCPV6; /* family mismatch */
	assert_false(gso_parse(&g, &vh, pkt, 100));
}

struct capture {
	uint8_t buf[8][70000];
	size_t len[8];
	int n;
};

static long capture_write(void *ctx, const struct iovec *iov, int n)
{
	struct capture *c = ctx;
	size_t off = 0;

	for (int i = 0; i < n; i++) {
		memcpy(c->buf[c->n] + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	c->len[c->n++] = off;
	return (long)off;
}

/* Split a super-packet, coalesce the pieces, split again: the same pieces come out. */
static void test_gro_round_trip(void **state)
{
	static uint8_t pkt[70000], segs[64][2048], again[2048];
	static struct capture cap;
	static struct gro gro;
	const int families[] = { AF_INET, AF_INET6 };

	for (int f = 0; f < 2; f++) {
		int family = families[f];
		size_t l3 = family == AF_INET ? 20 : 40, seg_len[64];
		struct vnet_hdr vh;
		struct gso_packet g, g2;
		size_t len = make_tcp(pkt, family, 20000, 0x18, 1, &vh, 1400);
		struct vnet_hdr out_vh;

		assert_true(gso_parse(&g, &vh, pkt, len));
		gro_init(&gro, true, true);
		cap.n = 0;
		for (unsigned i = 0; i < g.segs; i++) {
			seg_len[i] = gso_segment(&g, i, segs[i], sizeof(segs[i]));
			assert_true(gro_add(&gro, segs[i], seg_len[i]));
		}
		assert_int_equal(gro_flush(&gro, capture_write, &cap), g.segs);
		assert_int_equal(cap.n, 1);
		memcpy(&out_vh, cap.buf[0], sizeof(out_vh));
		assert_int_equal(out_vh.gso_type,
		                 family == AF_INET ? VNET_GSO_TCPV4 : VNET_GSO_TCPV6);
		assert_int_equal(out_vh.gso_size, 1400);
		assert_int_equal(out_vh.csum_start, l3);
		assert_int_equal(cap.len[0], VNET_HDR_LEN + len);
		assert_true(
		    gso_parse(&g2, &out_vh, cap.buf[0] + VNET_HDR_LEN, cap.len[0] - VNET_HDR_LEN));
		assert_int_equal(g2.segs, g.segs);
		for (unsigned i = 0; i < g2.segs; i++) {
			assert_int_equal(gso_segment(&g2, i, again, sizeof(again)), seg_len[i]);
			assert_memory_equal(again, segs[i], seg_len[i]);
		}
	}
}

/* UDP datagrams of one flow join into a USO super-packet that splits back into them. */
static void test_gro_udp_round_trip(void **state)
{
	static uint8_t pkt[8000], segs[8][2048], again[2048];
	static struct capture cap;
	static struct gro gro;
	struct vnet_hdr vh = { .flags = VNET_F_NEEDS_CSUM,
		               .gso_type = VNET_GSO_UDP_L4,
		               .gso_size = 500,
		               .csum_start = 20,
		               .csum_offset = 6 };
	struct vnet_hdr out_vh;
	struct gso_packet g, g2;
	size_t len = 20 + 8 + 3200, seg_len[8];

	memset(pkt, 0, 28);
	pkt[0] = 0x45;
	be16_store(pkt + 2, (uint16_t)len);
	pkt[8] = 64;
	pkt[9] = 17;
	inet_pton(AF_INET, "10.66.0.1", pkt + 12);
	inet_pton(AF_INET, "10.66.0.2", pkt + 16);
	be16_store(pkt + 20, 27015);
	be16_store(pkt + 22, 27016);
	for (size_t i = 28; i < len; i++)
		pkt[i] = (uint8_t)(i * 3);
	assert_true(gso_parse(&g, &vh, pkt, len));
	assert_int_equal(g.segs, 7);
	/* With UDP off only TCP joins: seven writes. */
	gro_init(&gro, true, false);
	cap.n = 0;
	for (unsigned i = 0; i < g.segs; i++) {
		seg_len[i] = gso_segment(&g, i, segs[i], sizeof(segs[i]));
		assert_true(gro_add(&gro, segs[i], seg_len[i]));
	}
	assert_int_equal(gro_flush(&gro, capture_write, &cap), 7);
	assert_int_equal(cap.n, 7);
	/* With UDP on: one. */
	gro_init(&gro, true, true);
	cap.n = 0;
	for (unsigned i = 0; i < g.segs; i++)
		assert_true(gro_add(&gro, segs[i], seg_len[i]));
	assert_int_equal(gro_flush(&gro, capture_write, &cap), 7);
	assert_int_equal(cap.n, 1);
	memcpy(&out_vh, cap.buf[0], sizeof(out_vh));
	assert_int_equal(out_vh.gso_type, VNET_GSO_UDP_L4);
	assert_int_equal(out_vh.gso_size, 500);
	assert_int_equal(out_vh.csum_offset, 6);
	assert_true(gso_parse(&g2, &out_vh, cap.buf[0] + VNET_HDR_LEN, cap.len[0] - VNET_HDR_LEN));
	assert_int_equal(g2.segs, 7);
	for (unsigned i = 0; i < g2.segs; i++) {
		assert_int_equal(gso_segment(&g2, i, again, sizeof(again)), seg_len[i]);
		assert_memory_equal(again, segs[i], seg_len[i]);
	}
}

static void test_gro_keeps_apart(void **state)
{
	static uint8_t a[3][2048], b[2048], udp[100];
	static struct capture cap;
	static struct gro gro;
	struct vnet_hdr vh;
	size_t la[3], lb;

	/* Three segments of one flow with a gap between the second and third. */
	la[0] = make_tcp(a[0], AF_INET, 1000, 0x10, 1, &vh, 1000);
	la[1] = make_tcp(a[1], AF_INET, 1000, 0x10, 1001, &vh, 1000);
	la[2] = make_tcp(a[2], AF_INET, 1000, 0x10, 5001, &vh, 1000);
	/* Another flow: a different option value. */
	lb = make_tcp(b, AF_INET, 1000, 0x10, 2001, &vh, 1000);
	be32_store(b + 20 + 24, 999);
	memset(udp, 0, sizeof(udp));
	udp[0] = 0x45;
	udp[9] = 17;
	be16_store(udp + 2, sizeof(udp));

	gro_init(&gro, true, true);
	cap.n = 0;
	assert_true(gro_add(&gro, a[0], la[0]));
	assert_true(gro_add(&gro, udp, sizeof(udp)));
	assert_true(gro_add(&gro, a[1], la[1]));
	assert_true(gro_add(&gro, b, lb));
	assert_true(gro_add(&gro, a[2], la[2]));
	assert_int_equal(gro_flush(&gro, capture_write, &cap), 5);
	/* a0+a1 joined; the UDP packet alone; b alone; a2 alone (a gap). */
	assert_int_equal(cap.n, 4);
	assert_int_equal(cap.len[0], VNET_HDR_LEN + 20 + 32 + 2000);
	assert_int_equal(cap.len[1], VNET_HDR_LEN + sizeof(udp));
	assert_int_equal(cap.buf[1][0], VNET_F_DATA_VALID);
	assert_int_equal(cap.len[2], VNET_HDR_LEN + lb);
	assert_int_equal(cap.len[3], VNET_HDR_LEN + la[2]);

	/* Without a vnet header (a TUN without offloads) every packet goes alone, as is. */
	gro_init(&gro, false, false);
	cap.n = 0;
	assert_true(gro_add(&gro, a[0], la[0]));
	assert_true(gro_add(&gro, a[1], la[1]));
	assert_int_equal(gro_flush(&gro, capture_write, &cap), 2);
	assert_int_equal(cap.n, 2);
	assert_int_equal(cap.len[0], la[0]);
	assert_memory_equal(cap.buf[0], a[0], la[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csum),
		cmocka_unit_test(test_split_tcp),
		cmocka_unit_test(test_split_udp_and_single),
		cmocka_unit_test(test_parse_refuses),
		cmocka_unit_test(test_gro_round_trip),
		cmocka_unit_test(test_gro_udp_round_trip),
		cmocka_unit_test(test_gro_keeps_apart),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
