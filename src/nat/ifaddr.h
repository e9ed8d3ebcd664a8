/* ifaddr.h - the host's own IP addresses (for "open" detection and local candidates). */
#ifndef LANRAGE_NAT_IFADDR_H
#define LANRAGE_NAT_IFADDR_H

#include <stdbool.h>
#include <stddef.h>

#include "util/addr.h"

/*
 * Fills out with up to max addresses of interfaces that are up, each with
 * the given port, of the given family (AF_UNSPEC: both).  Loopback and IPv6
 * link-local addresses are left out unless with_loopback is set (loopback only).
 * Returns how many, or -errno.
 */
int ifaddr_list(struct addr *out, size_t max, int family, bool with_loopback, uint16_t port);

#endif
