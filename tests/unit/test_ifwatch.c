/* test_ifwatch.c - address change notices: the message scan, and the kernel's own notices. */
#include "test.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nat/ifwatch.h"

/* Appends one message of the given type with body_len bytes of body; the new length. */
static size_t put(uint8_t *buf, size_t at, uint16_t type, uint32_t body_len)
{
	struct nlmsghdr h = { .nlmsg_len = (uint32_t)NLMSG_LENGTH(body_len), .nlmsg_type = type };

	memcpy(buf + at, &h, sizeof(h));
	memset(buf + at + sizeof(h), 0, body_len);
	return at + NLMSG_ALIGN(h.nlmsg_len);
}

static void test_scan(void **state)
{
	uint8_t buf[512] = { 0 };
	struct nlmsghdr h;
	size_t n;

	(void)state;
	assert_false(ifwatch_scan(buf, 0));
	n = put(buf, 0, RTM_NEWADDR, sizeof(struct ifaddrmsg));
	assert_true(ifwatch_scan(buf, n));
	n = put(buf, 0, RTM_NEWLINK, sizeof(struct ifinfomsg));
	assert_false(ifwatch_scan(buf, n));
	/* The address notice second, after a body whose length is not a multiple of 4. */
	n = put(buf, 0, RTM_NEWROUTE, 5);
	n = put(buf, n, RTM_DELADDR, sizeof(struct ifaddrmsg));
	assert_true(ifwatch_scan(buf, n));
	/* A header claiming more than there is, or less than itself: the scan stops there. */
	n = put(buf, 0, RTM_NEWADDR, 8);
	memcpy(&h, buf, sizeof(h));
	h.nlmsg_len = 400;
	memcpy(buf, &h, sizeof(h));
	assert_false(ifwatch_scan(buf, n));
	h.nlmsg_len = 4;
	memcpy(buf, &h, sizeof(h));
	assert_false(ifwatch_scan(buf, n));
	assert_false(ifwatch_scan(buf, sizeof(h) - 1));
}

/* Appends an RTM_NEWADDR for addr (text) with ifa flags, scope, and optionally an IFA_FLAGS. */
static size_t put_addr(uint8_t *buf, size_t at, const char *addr, uint8_t flags, uint8_t scope,
                       uint32_t more_flags)
{
	struct ifaddrmsg ifa = { .ifa_family = AF_INET6, .ifa_flags = flags, .ifa_scope = scope };
	struct rtattr ra = { .rta_len = RTA_LENGTH(16), .rta_type = IFA_ADDRESS };
	struct rtattr rf = { .rta_len = RTA_LENGTH(4), .rta_type = IFA_FLAGS };
	size_t body = NLMSG_ALIGN(sizeof(ifa)) + RTA_ALIGN(ra.rta_len) +
	              (more_flags ? RTA_ALIGN(rf.rta_len) : 0);
	struct nlmsghdr h = { .nlmsg_len = (uint32_t)NLMSG_LENGTH(body),
		              .nlmsg_type = RTM_NEWADDR };
	uint8_t *p = buf + at;
	struct in6_addr a;

	assert_int_equal(inet_pton(AF_INET6, addr, &a), 1);
	memset(p, 0, NLMSG_ALIGN(h.nlmsg_len));
	memcpy(p, &h, sizeof(h));
	memcpy(p + NLMSG_HDRLEN, &ifa, sizeof(ifa));
	p += NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(ifa));
	memcpy(p, &ra, sizeof(ra));
	memcpy(p + RTA_LENGTH(0), &a, 16);
	if (more_flags) {
		p += RTA_ALIGN(ra.rta_len);
		memcpy(p, &rf, sizeof(rf));
		memcpy(p + RTA_LENGTH(0), &more_flags, 4);
	}
	return at + NLMSG_ALIGN(h.nlmsg_len);
}

static const char *pick(const uint8_t *buf, size_t n, char *text)
{
	struct in6_addr a;
	bool done = false;
	int rank = 0;

	if (!ifwatch_pick_global6(buf, n, &a, &rank, &done))
		return "none";
	return inet_ntop(AF_INET6, &a, text, INET6_ADDRSTRLEN);
}

/* Which IPv6 address is offered: global, settled, not deprecated, stable before temporary. */
static void test_pick(void **state)
{
	uint8_t buf[2048] = { 0 };
	char text[INET6_ADDRSTRLEN];
	size_t n;

	(void)state;
	n = put_addr(buf, 0, "2001:db8::1", IFA_F_TEMPORARY, RT_SCOPE_UNIVERSE, 0);
	n = put_addr(buf, n, "2001:db8::2", 0, RT_SCOPE_UNIVERSE, 0);
	assert_string_equal(pick(buf, n, text), "2001:db8::2");
	/* A temporary one is taken when nothing stable is. */
	n = put_addr(buf, 0, "2001:db8::1", IFA_F_TEMPORARY, RT_SCOPE_UNIVERSE, 0);
	assert_string_equal(pick(buf, n, text), "2001:db8::1");
	/* Never one in DAD, failed, deprecated (from IFA_FLAGS too), link-scoped or not global. */
	n = put_addr(buf, 0, "2001:db8::3", IFA_F_TENTATIVE, RT_SCOPE_UNIVERSE, 0);
	n = put_addr(buf, n, "2001:db8::4", IFA_F_DADFAILED, RT_SCOPE_UNIVERSE, 0);
	n = put_addr(buf, n, "2001:db8::5", 0, RT_SCOPE_UNIVERSE, IFA_F_DEPRECATED);
	n = put_addr(buf, n, "fe80::6", 0, RT_SCOPE_LINK, 0);
	n = put_addr(buf, n, "fd4c:5247:6c61::7", 0, RT_SCOPE_UNIVERSE, 0);
	assert_string_equal(pick(buf, n, text), "none");
	/* The rank carries over reads: a temporary one in a later read does not replace. */
	{
		struct in6_addr a;
		bool done = false;
		int rank = 0;

		n = put_addr(buf, 0, "2001:db8::8", 0, RT_SCOPE_UNIVERSE, 0);
		assert_true(ifwatch_pick_global6(buf, n, &a, &rank, &done));
		n = put_addr(buf, 0, "2001:db8::9", IFA_F_TEMPORARY, RT_SCOPE_UNIVERSE, 0);
		assert_true(ifwatch_pick_global6(buf, n, &a, &rank, &done));
		assert_string_equal(inet_ntop(AF_INET6, &a, text, sizeof(text)), "2001:db8::8");
		assert_false(done);
	}
	/* An attribute running past its message ends the walk without reading beyond. */
	n = put_addr(buf, 0, "2001:db8::2", 0, RT_SCOPE_UNIVERSE, 0);
	buf[NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct ifaddrmsg))] = 200; /* rta_len */
	assert_string_equal(pick(buf, n, text), "none");
}

/* In a network namespace of its own (root only): an address added is noticed. */
static void test_kernel(void **state)
{
	struct pollfd pfd = { .events = POLLIN };
	bool changed = false;

	(void)state;
	if (unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "skipped: no network namespace of our own (%s)\n", strerror(errno));
		skip();
	}
	pfd.fd = ifwatch_open();
	assert_true(pfd.fd >= 0);
	assert_false(ifwatch_drain(pfd.fd)); /* nothing yet */
	assert_int_equal(system("ip link set lo up && ip addr add 192.0.2.1/32 dev lo"), 0);
	/* Within 10 s: a notice is immediate, the bound only guards a loaded machine. */
	for (int i = 0; i < 100 && !changed; i++) {
		if (poll(&pfd, 1, 100) > 0)
			changed = ifwatch_drain(pfd.fd);
	}
	assert_true(changed);
	close(pfd.fd);

	/* The kernel's own list: a deprecated address is passed over for a stable one. */
	{
		struct in6_addr a;
		char text[INET6_ADDRSTRLEN];

		assert_false(ifwatch_global6(&a));
		assert_int_equal(system("ip addr add 2001:db8::9/64 dev lo preferred_lft 0 && "
		                        "ip addr add 2001:db8::8/64 dev lo"),
		                 0);
		assert_true(ifwatch_global6(&a));
		assert_string_equal(inet_ntop(AF_INET6, &a, text, sizeof(text)), "2001:db8::8");
		assert_int_equal(system("ip addr del 2001:db8::8/64 dev lo"), 0);
		assert_false(ifwatch_global6(&a));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan),
		cmocka_unit_test(test_pick),
		cmocka_unit_test(test_kernel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
