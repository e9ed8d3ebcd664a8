/* test_udp.c - batched sends over loopback: every datagram arrives whole and in order; on a GSO
 * socket, runs to one address leave as one and a GRO receiver takes them as one. */
#include "test.h"

#include <errno.h>
#include <poll.h>
#include <string.h>

#include "udp/udp.h"
#include "util/addr.h"
#include "util/endpoint.h"

enum { N = 40, BIG = 65536 };

static uint8_t out[N][1500];
static uint8_t in[N][BIG];

/* Datagram i: its index, then a pattern. */
static size_t fill(size_t i, size_t len)
{
	out[i][0] = (uint8_t)i;
	for (size_t j = 1; j < len; j++)
		out[i][j] = (uint8_t)(i * 7 + j);
	return len;
}

/*
 * Receives until the datagrams in expect[] (indices into out, with lengths)
 * have arrived, in that order, or a 5 s deadline; returns how many did and
 * counts reads that held a run of several (GRO).
 */
static size_t receive(struct udp_socket *s, const size_t *expect, const size_t *lens, size_t want,
                      size_t *runs)
{
	size_t got = 0;

	*runs = 0;
	while (got < want) {
		struct udp_pkt pkts[N];
		int n;

		if (poll(&(struct pollfd){ .fd = s->fd, .events = POLLIN }, 1, 5000) <= 0)
			break;
		for (int i = 0; i < N; i++)
			pkts[i] = (struct udp_pkt){ .data = in[i], .cap = BIG };
		n = udp_recv_batch(s, pkts, N);
		assert_true(n >= 0);
		for (int i = 0; i < n; i++) {
			size_t seg = pkts[i].seg ? pkts[i].seg : pkts[i].len;

			*runs += pkts[i].seg != 0;
			for (size_t off = 0; off < pkts[i].len; off += seg) {
				size_t len = pkts[i].len - off < seg ? pkts[i].len - off : seg;

				assert_true(got < want);
				assert_int_equal(len, lens[got]);
				assert_memory_equal(pkts[i].data + off, out[expect[got]], len);
				got++;
			}
		}
	}
	return got;
}

static void open_pair(struct udp_socket *tx, struct udp_socket *rx, bool gro, struct addr *to)
{
	struct addr lo;

	assert_true(addr_parse(&lo, "127.0.0.1:0", NULL));
	assert_int_equal(udp_open_addr(tx, &lo, 0, false), 0);
	assert_int_equal(udp_open_addr(rx, &lo, 1 << 22, gro), 0);
	*to = lo;
	to->in4.sin_port = htons(rx->port);
}

/* 1200-byte datagrams, a 300-byte one ending that run, then 128-byte ones. */
static void mixed_sizes(bool gro)
{
	struct udp_socket tx, rx;
	struct udp_pkt pkts[N];
	size_t expect[N], lens[N], runs;
	struct addr to;

	open_pair(&tx, &rx, gro, &to);
	for (size_t i = 0; i < N; i++) {
		lens[i] = fill(i, i < 20 ? 1200 : i == 20 ? 300 : 128);
		expect[i] = i;
		pkts[i] = (struct udp_pkt){ .data = out[i], .len = lens[i], .addr = to };
	}
	assert_int_equal(udp_send_batch(&tx, pkts, N), N);
	assert_int_equal(receive(&rx, expect, lens, N, &runs), N);
	if (gro && tx.gso && rx.gro)
		assert_true(runs >= 2); /* the 1200s (with the 300) and the 128s */
	else
		assert_int_equal(runs, 0);
	udp_close(&tx);
	udp_close(&rx);
}

static void test_plain_receiver(void **state)
{
	(void)state;
	mixed_sizes(false);
}

static void test_gro_receiver(void **state)
{
	(void)state;
	mixed_sizes(true);
}

/* Destinations alternate, one has no usable address: each socket gets its own, in order. */
static void test_interleaved(void **state)
{
	struct udp_socket tx, rx[2];
	struct udp_pkt pkts[10];
	size_t expect[2][5], lens[2][5], runs;
	bool failed[10];
	struct addr to[2];

	(void)state;
	open_pair(&tx, &rx[0], true, &to[0]);
	udp_close(&tx);
	open_pair(&tx, &rx[1], true, &to[1]);
	for (size_t i = 0; i < 10; i++) {
		pkts[i] =
		    (struct udp_pkt){ .data = out[i], .len = fill(i, 200), .addr = to[i % 2] };
		expect[i % 2][i / 2] = i;
		lens[i % 2][i / 2] = 200;
	}
	pkts[9].addr.sa.sa_family = AF_UNSPEC;
	assert_int_equal(udp_send_batch_nowait(&tx, pkts, 10, failed), 9);
	for (size_t i = 0; i < 10; i++)
		assert_int_equal(failed[i], i == 9);
	assert_int_equal(receive(&rx[0], expect[0], lens[0], 5, &runs), 5);
	assert_int_equal(receive(&rx[1], expect[1], lens[1], 4, &runs), 4);
	udp_close(&tx);
	udp_close(&rx[0]);
	udp_close(&rx[1]);
}

/*
 * A batch under way takes in more: udp_recv_prepared_from fills only the
 * slots from the first free one, leaving those read before as they were.
 */
static void test_recv_into_free_slots(void **state)
{
	struct udp_socket tx, rx;
	struct udp_pkt pkts[6], slots[6];
	struct udp_rx prepared;
	struct addr to;

	(void)state;
	open_pair(&tx, &rx, false, &to);
	for (size_t i = 0; i < 6; i++) {
		pkts[i] = (struct udp_pkt){ .data = out[i], .len = fill(i, 100 + i), .addr = to };
		slots[i] = (struct udp_pkt){ .data = in[i], .cap = BIG };
	}
	udp_rx_init(&prepared, slots, 6);
	assert_int_equal(udp_send_batch(&tx, pkts, 2), 2);
	assert_true(poll(&(struct pollfd){ .fd = rx.fd, .events = POLLIN }, 1, 5000) == 1);
	assert_int_equal(udp_recv_prepared(&rx, &prepared), 2);
	assert_int_equal(slots[1].len, 101);
	/* Nothing more yet: 0, not an error. */
	assert_int_equal(udp_recv_prepared_from(&rx, &prepared, 2), 0);
	assert_int_equal(udp_send_batch(&tx, pkts + 2, 4), 4);
	assert_true(poll(&(struct pollfd){ .fd = rx.fd, .events = POLLIN }, 1, 5000) == 1);
	/* Room for three of the four after the two. */
	assert_int_equal(udp_recv_prepared_from(&rx, &prepared, 3), 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(slots[3 + i].len, 102 + i);
		assert_memory_equal(slots[3 + i].data, out[2 + i], 102 + i);
	}
	assert_int_equal(slots[1].len, 101);
	assert_memory_equal(slots[1].data, out[1], 101);
	assert_int_equal(udp_recv_prepared_from(&rx, &prepared, 6), 0); /* no free slot */
	assert_int_equal(udp_recv_prepared_from(&rx, &prepared, 5), 1);
	assert_memory_equal(slots[5].data, out[5], 105);
	udp_close(&tx);
	udp_close(&rx);
}

/* Waits for one datagram on s; its length, with its sender and the address it came to. */
static size_t receive_one(struct udp_socket *s, struct udp_pkt *p)
{
	*p = (struct udp_pkt){ .data = in[0], .cap = BIG };
	if (poll(&(struct pollfd){ .fd = s->fd, .events = POLLIN }, 1, 5000) <= 0)
		return 0;
	assert_int_equal(udp_recv_batch(s, p, 1), 1);
	return p->len;
}

static void assert_ip(const struct addr *a, const char *ip)
{
	char buf[ADDR_STRLEN];

	assert_string_equal(addr_format_ip(a, buf), ip);
}

/*
 * A host with several addresses (here 127.0.0.1 and 127.0.0.2): a datagram
 * sent to the second says so, and the answer goes back from it, in a batch
 * or alone; one from an address the host does not have goes from the routing
 * table's choice rather than nowhere.
 */
static void test_sticky_source(void **state)
{
	struct udp_socket server, client;
	struct addr any, lo, second, gone, to_client;
	struct udp_pkt p, reply;
	struct endpoint ep;

	(void)state;
	assert_true(addr_parse(&any, "[::]:0", NULL));
	assert_true(addr_parse(&lo, "127.0.0.1:0", NULL));
	assert_true(addr_parse_ip(&gone, "192.0.2.1", NULL));
	assert_int_equal(udp_open_addr(&server, &any, 0, false), 0);
	assert_int_equal(udp_open_addr(&client, &lo, 0, false), 0);
	assert_int_equal(udp_enable_pktinfo(&server), 0);
	assert_true(addr_parse(&second, "127.0.0.2:0", NULL));
	addr_set_port(&second, server.port);

	assert_int_equal(udp_send(&client, "hi", 2, &second), 0);
	assert_int_equal(receive_one(&server, &p), 2);
	assert_ip(&p.local, "127.0.0.2");
	to_client = p.addr;

	/* Without a source the routing table picks 127.0.0.1; with it, 127.0.0.2. */
	reply = (struct udp_pkt){ .data = out[0], .len = fill(0, 100), .addr = to_client };
	assert_int_equal(udp_send_batch(&server, &reply, 1), 1);
	assert_int_equal(receive_one(&client, &p), 100);
	assert_ip(&p.addr, "127.0.0.1");
	reply.local = second;
	assert_int_equal(udp_send_batch(&server, &reply, 1), 1);
	assert_int_equal(receive_one(&client, &p), 100);
	assert_ip(&p.addr, "127.0.0.2");
	endpoint_from_addr(&ep, &to_client);
	ep.local = second;
	assert_int_equal(udp_send_endpoint(&server, "x", 1, &ep), 0);
	assert_int_equal(receive_one(&client, &p), 1);
	assert_ip(&p.addr, "127.0.0.2");

	/* An address that went away: the datagram still leaves, from 127.0.0.1. */
	reply.local = gone;
	assert_int_equal(udp_send_batch(&server, &reply, 1), 1);
	assert_int_equal(receive_one(&client, &p), 100);
	assert_ip(&p.addr, "127.0.0.1");
	ep.local = gone;
	assert_int_equal(udp_send_endpoint(&server, "y", 1, &ep), 0);
	assert_int_equal(receive_one(&client, &p), 1);
	assert_ip(&p.addr, "127.0.0.1");
	udp_close(&server);
	udp_close(&client);
}

/*
 * The TOS byte, as a relay keeps it: received, each datagram says its own
 * (IPv4 on a dual-stack socket and IPv6 alike); sent, each goes with its own,
 * or the socket's when it names none, even where two of one size to one
 * address would otherwise leave as one GSO run.
 */
static void test_tos(void **state)
{
	struct udp_socket server, client, client6;
	struct addr any, lo, lo6, to;
	struct udp_pkt p, pkts[3];
	bool v6;

	(void)state;
	assert_true(addr_parse(&any, "[::]:0", NULL));
	assert_true(addr_parse(&lo, "127.0.0.1:0", NULL));
	assert_true(addr_parse(&lo6, "[::1]:0", NULL));
	assert_int_equal(udp_open_addr(&server, &any, 0, false), 0);
	assert_int_equal(udp_open_addr(&client, &lo, 0, false), 0);
	assert_int_equal(udp_enable_recvtos(&server), 0);
	assert_int_equal(udp_enable_recvtos(&client), 0);
	to = lo;
	addr_set_port(&to, server.port);

	/* Unmarked, then marked EF by the socket. */
	assert_int_equal(udp_send(&client, "a", 1, &to), 0);
	assert_int_equal(receive_one(&server, &p), 1);
	assert_int_equal(p.tos, 0);
	assert_int_equal(udp_set_dscp(&client, 46), 0);
	assert_int_equal(udp_send(&client, "b", 1, &to), 0);
	assert_int_equal(receive_one(&server, &p), 1);
	assert_int_equal(p.tos, 46 << 2);

	/* Back in one batch: EF, AF41, then the socket's (none), all 100 bytes. */
	pkts[0] =
	    (struct udp_pkt){ .data = out[0], .len = fill(0, 100), .addr = p.addr, .tos = 0xb8 };
	pkts[1] =
	    (struct udp_pkt){ .data = out[1], .len = fill(1, 100), .addr = p.addr, .tos = 0x88 };
	pkts[2] = (struct udp_pkt){ .data = out[2], .len = fill(2, 100), .addr = p.addr };
	assert_int_equal(udp_send_batch(&server, pkts, 3), 3);
	assert_int_equal(receive_one(&client, &p), 100);
	assert_int_equal(p.data[0], 0);
	assert_int_equal(p.tos, 0xb8);
	assert_int_equal(receive_one(&client, &p), 100);
	assert_int_equal(p.data[0], 1);
	assert_int_equal(p.tos, 0x88);
	assert_int_equal(receive_one(&client, &p), 100);
	assert_int_equal(p.data[0], 2);
	assert_int_equal(p.tos, 0);

	/* IPv6, where the host has it: the traffic class, both ways. */
	v6 = udp_open_addr(&client6, &lo6, 0, false) == 0;
	if (v6) {
		assert_int_equal(udp_enable_recvtos(&client6), 0);
		to = lo6;
		addr_set_port(&to, server.port);
		pkts[0] = (struct udp_pkt){ .data = out[0], .len = 10, .addr = to, .tos = 0x28 };
		assert_int_equal(udp_send_batch(&client6, pkts, 1), 1);
		assert_int_equal(receive_one(&server, &p), 10);
		assert_int_equal(p.tos, 0x28);
		pkts[0] =
		    (struct udp_pkt){ .data = out[0], .len = 10, .addr = p.addr, .tos = 0xb8 };
		assert_int_equal(udp_send_batch(&server, pkts, 1), 1);
		assert_int_equal(receive_one(&client6, &p), 10);
		assert_int_equal(p.tos, 0xb8);
		udp_close(&client6);
	}
	udp_close(&server);
	udp_close(&client);
}

/* Which of a group's two sockets a datagram of len bytes with TOS byte tos reaches. */
static int lane_of(struct udp_socket *group, const struct addr *to, size_t len, uint8_t tos)
{
	struct udp_socket tx;
	struct addr from;
	struct pollfd pfd[2] = { { .fd = group[0].fd, .events = POLLIN },
		                 { .fd = group[1].fd, .events = POLLIN } };
	struct udp_pkt p = { .data = out[0], .len = len, .addr = *to, .tos = tos };
	int got = -1;

	assert_true(
	    addr_parse(&from, to->sa.sa_family == AF_INET ? "127.0.0.1:0" : "[::1]:0", NULL));
	assert_int_equal(udp_open_addr(&tx, &from, 0, false), 0);
	assert_int_equal(udp_send_batch(&tx, &p, 1), 1);
	udp_close(&tx);
	assert_int_equal(poll(pfd, 2, 5000), 1);
	for (int i = 0; i < 2; i++) {
		if (pfd[i].revents & POLLIN) {
			got = i;
			assert_true(recv(group[i].fd, in[0], BIG, 0) == (ssize_t)len);
		}
	}
	return got;
}

/* A relay's priority socket: of a group of two, the second takes small datagrams marked EF. */
static void test_group_lane(void **state)
{
	struct udp_socket group[2], probe;
	struct addr any, to;

	(void)state;
	assert_true(addr_parse(&any, "[::]:0", NULL));
	assert_int_equal(udp_open_addr_group(group, 2, &any, 0, false), 0);
	assert_int_equal(group[0].port, group[1].port);
	assert_int_equal(udp_group_lane(&group[0], 46, 600), 0);
	assert_true(addr_parse(&to, "127.0.0.1:0", NULL));
	addr_set_port(&to, group[0].port);
	assert_int_equal(lane_of(group, &to, 100, 46 << 2), 1);
	assert_int_equal(lane_of(group, &to, 600, 46 << 2), 1);
	assert_int_equal(lane_of(group, &to, 601, 46 << 2), 0);
	assert_int_equal(lane_of(group, &to, 100, 0), 0);
	assert_int_equal(lane_of(group, &to, 100, 34 << 2), 0); /* AF41 */
	/* IPv6, where the host has it. */
	assert_true(addr_parse(&to, "[::1]:0", NULL));
	if (group[0].family == AF_INET6 && udp_open_addr(&probe, &to, 0, false) == 0) {
		udp_close(&probe);
		addr_set_port(&to, group[0].port);
		assert_int_equal(lane_of(group, &to, 100, 46 << 2), 1);
		assert_int_equal(lane_of(group, &to, 100, 0), 0);
	}
	udp_close(&group[0]);
	udp_close(&group[1]);
}

/*
 * A port in use is refused to a group: one held by a plain socket, and one
 * held by another group of the same user (a second instance of a program),
 * which SO_REUSEPORT alone would let in.  The port freed, the group binds.
 */
static void test_group_port_in_use(void **state)
{
	struct udp_socket holder, first[2], second[2];
	struct addr lo, at;

	(void)state;
	assert_true(addr_parse(&lo, "127.0.0.1:0", NULL));
	assert_int_equal(udp_open_addr(&holder, &lo, 0, false), 0);
	at = lo;
	addr_set_port(&at, holder.port);
	assert_int_equal(udp_open_addr_group(second, 2, &at, 0, false), -EADDRINUSE);
	assert_int_equal(second[0].fd, -1);
	assert_int_equal(second[1].fd, -1);
	assert_int_equal(udp_open_group(second, 2, holder.port, 0, 0), -EADDRINUSE);
	udp_close(&holder);

	assert_int_equal(udp_open_addr_group(first, 2, &lo, 0, false), 0);
	assert_true(first[0].port != 0);
	assert_int_equal(first[0].port, first[1].port);
	addr_set_port(&at, first[0].port);
	assert_int_equal(udp_open_addr_group(second, 2, &at, 0, false), -EADDRINUSE);
	assert_int_equal(udp_open_group(second, 2, first[0].port, 0, 0), -EADDRINUSE);
	udp_close(&first[0]);
	udp_close(&first[1]);
	assert_int_equal(udp_open_addr_group(second, 2, &at, 0, false), 0);
	assert_int_equal(second[1].port, first[0].port);
	udp_close(&second[0]);
	udp_close(&second[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_receiver), cmocka_unit_test(test_gro_receiver),
		cmocka_unit_test(test_interleaved),    cmocka_unit_test(test_recv_into_free_slots),
		cmocka_unit_test(test_sticky_source),  cmocka_unit_test(test_tos),
		cmocka_unit_test(test_group_lane),     cmocka_unit_test(test_group_port_in_use),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
