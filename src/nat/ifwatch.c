/* ifwatch.c - told when this host's addresses change (rtnetlink address groups). */
#include "nat/ifwatch.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int ifwatch_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK,
		                  .nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;

		close(fd);
		return -err;
	}
	return fd;
}

bool ifwatch_scan(const void *buf, size_t len)
{
	const uint8_t *p = buf;

	/* Walked by hand rather than with NLMSG_NEXT: every length is checked against len. */
	while (len >= sizeof(struct nlmsghdr)) {
		struct nlmsghdr h;
		size_t step;

		memcpy(&h, p, sizeof(h));
		if (h.nlmsg_len < sizeof(h) || h.nlmsg_len > len)
			return false;
		if (h.nlmsg_type == RTM_NEWADDR || h.nlmsg_type == RTM_DELADDR)
			return true;
		step = NLMSG_ALIGN(h.nlmsg_len);
		if (step >= len)
			break;
		p += step;
		len -= step;
	}
	return false;
}

bool ifwatch_drain(int fd)
{
	/* Aligned for the kernel's messages; one read returns whole messages. */
	union {
		struct nlmsghdr h;
		uint8_t bytes[8192];
	} buf;
	bool changed = false;
	ssize_t n;

	while ((n = recv(fd, &buf, sizeof(buf), 0)) != 0) {
		if (n < 0) {
			/* ENOBUFS: messages were lost, so something may have changed. */
			if (errno == ENOBUFS)
				changed = true;
			else if (errno != EINTR)
				break;
			continue;
		}
		changed |= ifwatch_scan(&buf, (size_t)n);
	}
	return changed;
}
