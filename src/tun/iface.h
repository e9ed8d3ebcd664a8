/* iface.h - configuring a network interface: MTU, up/down, addresses (ioctl and rtnetlink). */
#ifndef LANRAGE_TUN_IFACE_H
#define LANRAGE_TUN_IFACE_H

#include <stdbool.h>

#include "util/addr.h"
#include "util/compiler.h"

/* All return 0 or -errno. */
int iface_get_mtu(const char *name, int *mtu) WARN_UNUSED;
int iface_set_mtu(const char *name, int mtu) WARN_UNUSED;
int iface_set_up(const char *name, bool up) WARN_UNUSED;
int iface_is_up(const char *name, bool *up) WARN_UNUSED;
/* Adds addr/prefix_len to the interface (RTM_NEWADDR); an existing one is not an error. */
int iface_add_address(const char *name, const struct addr *addr, int prefix_len) WARN_UNUSED;
/* Removes it (RTM_DELADDR); one that is not there is not an error. */
int iface_del_address(const char *name, const struct addr *addr, int prefix_len) WARN_UNUSED;
/*
 * Routes dst/dst_len out of the interface with src as the source (RTM_NEWROUTE,
 * main table, link scope); an existing one is not an error.  The kernel drops
 * it with the interface or with src.
 */
int iface_add_route4(const char *name, struct in_addr dst, int dst_len,
                     struct in_addr src) WARN_UNUSED;
/*
 * Keeps the kernel from giving the interface an IPv6 link-local address of its
 * own (addr_gen_mode none): it must be set before the interface goes up.
 * -ENOENT when the machine has no IPv6.
 */
int iface_no_auto_link_local(const char *name) WARN_UNUSED;
/* Whether an interface of that name exists. */
bool iface_exists(const char *name);

#endif
