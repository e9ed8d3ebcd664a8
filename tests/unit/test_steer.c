/* test_steer.c - how CPU-local steering splits the CPUs among workers: every CPU to the worker its
 * packets go to (c % n, as the TUN and socket programs pick), and no worker left without one; and,
 * in the kernel, which queue and which socket the programs pick for each kind of packet. */
#include "test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nat/relay_wire.h"
#include "tun/tun.h"
#include "udp/udp.h"
#include "wg/steer.h"

static cpu_set_t cpus(const int *list, int n)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	for (int i = 0; i < n; i++)
		CPU_SET(list[i], &set);
	return set;
}

static void test_two_workers_four_cpus(void **state)
{
	const int all[] = { 0, 1, 2, 3 }, even[] = { 0, 2 }, odd[] = { 1, 3 };
	cpu_set_t any = cpus(all, 4), want0 = cpus(even, 2), want1 = cpus(odd, 2);
	cpu_set_t own[2];

	(void)state;
	assert_int_equal(steer_partition(&any, 2, own), 0);
	assert_true(CPU_EQUAL(&own[0], &want0));
	assert_true(CPU_EQUAL(&own[1], &want1));
}

static void test_one_cpu_each(void **state)
{
	const int all[] = { 0, 1 };
	cpu_set_t any = cpus(all, 2), own[2];

	(void)state;
	assert_int_equal(steer_partition(&any, 2, own), 0);
	assert_int_equal(CPU_COUNT(&own[0]), 1);
	assert_true(CPU_ISSET(0, &own[0]));
	assert_int_equal(CPU_COUNT(&own[1]), 1);
	assert_true(CPU_ISSET(1, &own[1]));
}

/* A process confined to CPUs 0 and 2 (taskset, a container): worker 1 would get no CPU, so no
 * steering; with CPUs 4 and 7 of three workers, worker 0 gets none. */
static void test_worker_without_cpu(void **state)
{
	const int gap[] = { 0, 2 }, high[] = { 4, 7 };
	cpu_set_t any = cpus(gap, 2), own[3];

	(void)state;
	assert_int_equal(steer_partition(&any, 2, own), -1);
	any = cpus(high, 2);
	assert_int_equal(steer_partition(&any, 3, own), -1);
	assert_int_equal(steer_partition(&any, 2, own), 0);
	assert_true(CPU_ISSET(4, &own[0]) && CPU_ISSET(7, &own[1]));
}

/* Every CPU goes to exactly one worker. */
static void test_every_cpu_once(void **state)
{
	cpu_set_t any, own[4], seen;
	int count = 0;

	(void)state;
	CPU_ZERO(&any);
	for (int c = 0; c < 64; c += 1 + c % 3)
		CPU_SET(c, &any);
	assert_int_equal(steer_partition(&any, 4, own), 0);
	CPU_ZERO(&seen);
	for (int i = 0; i < 4; i++) {
		cpu_set_t both;

		CPU_AND(&both, &seen, &own[i]);
		assert_int_equal(CPU_COUNT(&both), 0);
		CPU_OR(&seen, &seen, &own[i]);
		count += CPU_COUNT(&own[i]);
	}
	assert_true(CPU_EQUAL(&seen, &any));
	assert_int_equal(count, CPU_COUNT(&any));
}

/* ---- the programs in the kernel (root, a network namespace of our own) ---- */

static struct steer s;
static int cpu; /* the one this thread runs on */

/* Pins this thread to one CPU and sets s up for 2 bulk and 2 priority workers; false: skip. */
static bool kernel_setup(void)
{
	static cpu_set_t any; /* the CPUs allowed at the first call, before pinning */
	static bool have_any;
	char why[STEER_WHY_LEN];
	cpu_set_t one;

	if (!have_any)
		assert_int_equal(sched_getaffinity(0, sizeof(any), &any), 0);
	have_any = true;
	assert_int_equal(sched_setaffinity(0, sizeof(any), &any), 0);
	if (unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "skipped: no network namespace of our own (%s)\n", strerror(errno));
		return false;
	}
	if (!steer_init(&s, 4, true, true, why) || s.n_prio != 2) {
		fprintf(stderr, "skipped: cannot steer here (%s)\n", why);
		return false;
	}
	for (cpu = 0; !CPU_ISSET(cpu, &any); cpu++)
		;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
	return system("ip link set lo up") == 0;
}

/* The queue of tun that a packet to 10.9.0.2 shows up on (others, such as IPv6's own, skipped). */
static int queue_of(struct tun *tun, uint8_t proto)
{
	for (int tries = 0; tries < 50; tries++) {
		struct pollfd pfd[4];
		uint8_t buf[2048];

		for (int q = 0; q < 4; q++)
			pfd[q] = (struct pollfd){ .fd = tun->fds[q], .events = POLLIN };
		if (poll(pfd, 4, 200) <= 0)
			continue;
		for (int q = 0; q < 4; q++) {
			ssize_t n;

			if (!(pfd[q].revents & POLLIN))
				continue;
			n = tun_read(tun, q, buf, sizeof(buf));
			if (n >= 20 && buf[0] >> 4 == 4 && buf[9] == proto && buf[16] == 10 &&
			    buf[19] == 2)
				return q;
		}
	}
	return -1;
}

static void send_udp(size_t len)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
	uint8_t buf[1024] = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	inet_pton(AF_INET, "10.9.0.2", &to.sin_addr);
	assert_true(sendto(fd, buf, len, 0, (struct sockaddr *)&to, sizeof(to)) == (ssize_t)len);
	close(fd);
}

static void send_syn(void)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(80) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	inet_pton(AF_INET, "10.9.0.2", &to.sin_addr);
	connect(fd, (struct sockaddr *)&to, sizeof(to)); /* EINPROGRESS: the SYN is out */
	close(fd);
}

static void test_tun_program(void **state)
{
	struct tun *tun;

	(void)state;
	if (!kernel_setup())
		skip();
	assert_int_equal(tun_linux_create(&tun, "steer0", 4, false), 0);
	assert_int_equal(system("sysctl -qw net.ipv6.conf.steer0.disable_ipv6=1 && "
	                        "ip addr add 10.9.0.1/24 dev steer0 && ip link set steer0 up"),
	                 0);
	/* Dense (no STEER_LOCAL): small UDP to this CPU's priority queue, the rest to bulk. */
	assert_int_equal(steer_tun(&s, tun->fds[0], STEER_PRIO), 0);
	send_udp(64);
	assert_int_equal(queue_of(tun, IPPROTO_UDP), 2 + cpu % 2);
	send_udp(600);
	assert_in_range(queue_of(tun, IPPROTO_UDP), 0, 1);
	send_syn();
	assert_in_range(queue_of(tun, IPPROTO_TCP), 0, 1);
	/* Sparse: bulk to this CPU's bulk queue. */
	assert_int_equal(steer_tun(&s, tun->fds[0], STEER_PRIO | STEER_LOCAL), 0);
	send_udp(64);
	assert_int_equal(queue_of(tun, IPPROTO_UDP), 2 + cpu % 2);
	send_udp(600);
	assert_int_equal(queue_of(tun, IPPROTO_UDP), cpu % 2);
	send_syn();
	assert_int_equal(queue_of(tun, IPPROTO_TCP), cpu % 2);
	/* The lane closed: nothing to the priority queues. */
	assert_int_equal(steer_tun(&s, tun->fds[0], STEER_LOCAL), 0);
	send_udp(64);
	assert_int_equal(queue_of(tun, IPPROTO_UDP), cpu % 2);
	assert_int_equal(steer_tun(&s, tun->fds[0], 0), 0);
	send_udp(64);
	assert_in_range(queue_of(tun, IPPROTO_UDP), 0, 1);
	tun_destroy(tun);
	steer_clear(&s);
}

/* Which of the group's sockets a datagram (buf, len bytes, DSCP) reaches. */
static int deliver(struct udp_socket *group, int family, uint8_t *buf, size_t len, int dscp)
{
	struct sockaddr_in6 to6 = { .sin6_family = AF_INET6,
		                    .sin6_addr = IN6ADDR_LOOPBACK_INIT,
		                    .sin6_port = htons(group[0].port) };
	struct sockaddr_in to4 = { .sin_family = AF_INET,
		                   .sin_port = htons(group[0].port),
		                   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(family, SOCK_DGRAM, 0), tos = dscp << 2, got = -1;
	struct pollfd pfd[4];

	assert_true(fd >= 0);
	if (family == AF_INET6)
		assert_int_equal(setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof(tos)), 0);
	else
		assert_int_equal(setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof(tos)), 0);
	if (family == AF_INET6)
		assert_true(sendto(fd, buf, len, 0, (struct sockaddr *)&to6, sizeof(to6)) ==
		            (ssize_t)len);
	else
		assert_true(sendto(fd, buf, len, 0, (struct sockaddr *)&to4, sizeof(to4)) ==
		            (ssize_t)len);
	close(fd);
	for (int i = 0; i < 4; i++)
		pfd[i] = (struct pollfd){ .fd = group[i].fd, .events = POLLIN };
	assert_true(poll(pfd, 4, 5000) == 1);
	for (int i = 0; i < 4; i++) {
		if (pfd[i].revents & POLLIN) {
			got = i;
			assert_true(recv(group[i].fd, buf, len, 0) == (ssize_t)len);
		}
	}
	return got;
}

/* The same for a message whose first byte is type. */
static int socket_of(struct udp_socket *group, int family, uint8_t type, size_t len, int dscp)
{
	uint8_t buf[1024] = { type };

	return deliver(group, family, buf, len, dscp);
}

/* The same for a message of len bytes of that type inside a relay's data frame. */
static int relayed_socket_of(struct udp_socket *group, int family, uint8_t type, size_t len,
                             int dscp)
{
	uint8_t buf[1024] = { RELAY_DATA, 0x30, 0x47, 0x0d, 0xcd, type };

	return deliver(group, family, buf, RELAY_DATA_HDR_LEN + len, dscp);
}

static void test_socket_program(void **state)
{
	struct udp_socket group[4];
	int ef = STEER_PRIO_DSCP;

	(void)state;
	if (!kernel_setup())
		skip();
	assert_int_equal(udp_open_group(group, 4, 0, 0, 0), 0);
	assert_int_equal(steer_udp(&s, group[0].fd, STEER_PRIO), 0);
	/* A small data message marked EF: this CPU's priority socket, either family. */
	assert_int_equal(socket_of(group, AF_INET, 4, 128, ef), 2 + cpu % 2);
	assert_int_equal(socket_of(group, AF_INET6, 4, 128, ef), 2 + cpu % 2);
	assert_int_equal(socket_of(group, AF_INET, 4, STEER_PRIO_MAX_DGRAM, ef), 2 + cpu % 2);
	/* Unmarked, too long, or not data: bulk. */
	assert_in_range(socket_of(group, AF_INET, 4, 128, 0), 0, 1);
	assert_in_range(socket_of(group, AF_INET6, 4, 128, 10), 0, 1);
	assert_in_range(socket_of(group, AF_INET, 4, STEER_PRIO_MAX_DGRAM + 16, ef), 0, 1);
	assert_in_range(socket_of(group, AF_INET, 1, 148, ef), 0, 1);
	/* The same inside a relay's data frame (the relay keeps the mark). */
	assert_int_equal(relayed_socket_of(group, AF_INET, 4, 128, ef), 2 + cpu % 2);
	assert_int_equal(relayed_socket_of(group, AF_INET6, 4, STEER_PRIO_MAX_DGRAM, ef),
	                 2 + cpu % 2);
	assert_in_range(relayed_socket_of(group, AF_INET, 4, 128, 0), 0, 1);
	assert_in_range(relayed_socket_of(group, AF_INET, 4, STEER_PRIO_MAX_DGRAM + 16, ef), 0, 1);
	assert_in_range(relayed_socket_of(group, AF_INET, 1, 148, ef), 0, 1);
	assert_in_range(socket_of(group, AF_INET, RELAY_BIND, RELAY_BIND_LEN, ef), 0, 1);
	/* Sparse: bulk to this CPU's bulk socket. */
	assert_int_equal(steer_udp(&s, group[0].fd, STEER_PRIO | STEER_LOCAL), 0);
	assert_int_equal(socket_of(group, AF_INET, 4, 128, 0), cpu % 2);
	assert_int_equal(socket_of(group, AF_INET, 4, 128, ef), 2 + cpu % 2);
	/* The lane closed. */
	assert_int_equal(steer_udp(&s, group[0].fd, STEER_LOCAL), 0);
	assert_int_equal(socket_of(group, AF_INET, 4, 128, ef), cpu % 2);
	assert_int_equal(relayed_socket_of(group, AF_INET, 4, 128, ef), cpu % 2);
	assert_int_equal(steer_udp(&s, group[0].fd, 0), 0);
	assert_in_range(socket_of(group, AF_INET6, 4, 128, ef), 0, 1);
	for (int i = 0; i < 4; i++)
		udp_close(&group[i]);
	steer_clear(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_workers_four_cpus), cmocka_unit_test(test_one_cpu_each),
		cmocka_unit_test(test_worker_without_cpu),    cmocka_unit_test(test_every_cpu_once),
		cmocka_unit_test(test_tun_program),           cmocka_unit_test(test_socket_program),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
