/* test_ifwatch.c - address change notices: the message scan, and the kernel's own notices. */
#include "test.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
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
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan),
		cmocka_unit_test(test_kernel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
