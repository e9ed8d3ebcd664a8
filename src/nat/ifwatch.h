/* ifwatch.h - told when this host's addresses change (rtnetlink), so that a new one is used. */
#ifndef LANRAGE_NAT_IFWATCH_H
#define LANRAGE_NAT_IFWATCH_H

#include <stdbool.h>
#include <netinet/in.h>
#include <stddef.h>

/*
 * A non-blocking rtnetlink socket subscribed to the IPv4 and IPv6 address
 * groups: it becomes readable when an address comes or goes (a laptop on a
 * new network, an IPv6 prefix from the router, a temporary address
 * replaced).  The descriptor, or -errno.
 */
int ifwatch_open(void);

/* Reads everything pending; true if any of it was an address coming or going. */
bool ifwatch_drain(int fd);

/* Whether a buffer of netlink messages holds an address coming or going; stops at the first
 * malformed header. */
bool ifwatch_scan(const void *buf, size_t len);

/*
 * The IPv6 global address (2000::/3) to offer others, from the kernel's list
 * (rtnetlink, with the flags getifaddrs leaves out): never one still in
 * duplicate address detection, failed it, or deprecated; a stable address
 * before a temporary (privacy) one, which is replaced every day.  false
 * when there is none.
 */
bool ifwatch_global6(struct in6_addr *out);

/*
 * The choice above over one read of a dump's replies: *out and *rank (start
 * at 0) change when an address ranks higher than *rank; *done when the dump
 * ended.  Whether any usable address was found so far.
 */
bool ifwatch_pick_global6(const void *buf, size_t len, struct in6_addr *out, int *rank, bool *done);

#endif
