/* ifwatch.h - told when this host's addresses change (rtnetlink), so that a new one is used. */
#ifndef LANRAGE_NAT_IFWATCH_H
#define LANRAGE_NAT_IFWATCH_H

#include <stdbool.h>
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

#endif
