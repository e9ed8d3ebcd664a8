/* ifwatch.c - told when this host's addresses change (rtnetlink address groups). */
#include "nat/ifwatch.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
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

/*
 * The header of the message at *p, whose length is checked against *len;
 * then *p and *len move past it (to the end after the last one).  false at
 * the end, or at a malformed header, where a walk stops.
 */
static bool next_message(const uint8_t **p, size_t *len, struct nlmsghdr *h)
{
	size_t step;

	if (*len < sizeof(*h))
		return false;
	memcpy(h, *p, sizeof(*h));
	if (h->nlmsg_len < sizeof(*h) || h->nlmsg_len > *len)
		return false;
	step = NLMSG_ALIGN(h->nlmsg_len);
	step = step < *len ? step : *len;
	*p += step;
	*len -= step;
	return true;
}

bool ifwatch_scan(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	struct nlmsghdr h;

	/* Not NLMSG_NEXT: next_message checks every length against len. */
	while (next_message(&p, &len, &h)) {
		if (h.nlmsg_type == RTM_NEWADDR || h.nlmsg_type == RTM_DELADDR)
			return true;
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

/* Ranks an address for offering: 0 unusable, 1 temporary, 2 stable. */
static int rank6(const struct ifaddrmsg *ifa, uint32_t flags, const struct in6_addr *a)
{
	if (ifa->ifa_family != AF_INET6 || ifa->ifa_scope != RT_SCOPE_UNIVERSE ||
	    (a->s6_addr[0] & 0xe0) != 0x20)
		return 0;
	if (flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED | IFA_F_DEPRECATED | IFA_F_OPTIMISTIC))
		return 0;
	return flags & IFA_F_TEMPORARY ? 1 : 2;
}

/* One RTM_NEWADDR message (its length checked by the caller): the address and its rank. */
static int rank_message(const uint8_t *p, uint32_t msg_len, struct in6_addr *addr)
{
	struct ifaddrmsg ifa;
	bool have = false;
	uint32_t flags;
	size_t off;

	if (msg_len < NLMSG_LENGTH(sizeof(ifa)))
		return 0;
	memcpy(&ifa, p + NLMSG_HDRLEN, sizeof(ifa));
	flags = ifa.ifa_flags; /* IFA_FLAGS, when present, has all 32 bits */
	for (off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(ifa));
	     off + sizeof(struct rtattr) <= msg_len;) {
		struct rtattr ra;

		memcpy(&ra, p + off, sizeof(ra));
		if (ra.rta_len < sizeof(ra) || off + ra.rta_len > msg_len)
			break;
		if (ra.rta_type == IFA_ADDRESS && ra.rta_len == RTA_LENGTH(sizeof(*addr))) {
			memcpy(addr, p + off + RTA_LENGTH(0), sizeof(*addr));
			have = true;
		} else if (ra.rta_type == IFA_FLAGS && ra.rta_len == RTA_LENGTH(sizeof(flags))) {
			memcpy(&flags, p + off + RTA_LENGTH(0), sizeof(flags));
		}
		off += RTA_ALIGN(ra.rta_len);
	}
	return have ? rank6(&ifa, flags, addr) : 0;
}

bool ifwatch_pick_global6(const void *buf, size_t len, struct in6_addr *out, int *rank, bool *done)
{
	const uint8_t *p = buf;

	const uint8_t *msg = p;
	struct nlmsghdr h;

	for (; next_message(&p, &len, &h); msg = p) {
		struct in6_addr addr;
		int r;

		if (h.nlmsg_type == NLMSG_DONE || h.nlmsg_type == NLMSG_ERROR)
			*done = true;
		if (h.nlmsg_type == RTM_NEWADDR &&
		    (r = rank_message(msg, h.nlmsg_len, &addr)) > *rank) {
			*rank = r;
			*out = addr;
		}
	}
	return *rank > 0;
}

bool ifwatch_global6(struct in6_addr *out)
{
	struct {
		struct nlmsghdr h;
		struct ifaddrmsg ifa;
	} req = { .h = { .nlmsg_len = sizeof(req),
		         .nlmsg_type = RTM_GETADDR,
		         .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		  .ifa = { .ifa_family = AF_INET6 } };
	union {
		struct nlmsghdr h;
		uint8_t bytes[16384];
	} buf;
	bool done = false;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), rank = 0;
	ssize_t n;

	struct timeval tv = { 1, 0 }; /* the kernel answers at once; never hang on it */

	if (fd < 0)
		return false;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    send(fd, &req, sizeof(req), 0) != (ssize_t)sizeof(req)) {
		close(fd);
		return false;
	}
	/* A dump may take several reads, up to NLMSG_DONE. */
	while (!done && (n = recv(fd, &buf, sizeof(buf), 0)) > 0)
		ifwatch_pick_global6(&buf, (size_t)n, out, &rank, &done);
	close(fd);
	return rank > 0;
}
