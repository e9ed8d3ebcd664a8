/* prefix.h - IP prefixes ("10.66.0.0/16", "fd00::/64"): parse, format, match. */
#ifndef LANRAGE_UTIL_PREFIX_H
#define LANRAGE_UTIL_PREFIX_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/compiler.h"

enum { PREFIX_STRLEN = 56 };

struct prefix {
	int family; /* AF_INET or AF_INET6 */
	uint8_t len;
	union {
		struct in_addr v4;
		struct in6_addr v6;
	};
};

/*
 * Parses "addr/len"; a bare address means a host prefix (/32 or /128).  Host
 * bits must be zero unless allow_host_bits (then they are cleared), so that a
 * typo like "10.66.1.0/8" is reported instead of silently widened.
 */
bool prefix_parse(struct prefix *out, const char *s, bool allow_host_bits, char *err) WARN_UNUSED;
const char *prefix_format(const struct prefix *p, char buf[PREFIX_STRLEN]);
/* Whether the IPv4 address (host order) lies in p. */
bool prefix_contains4(const struct prefix *p, uint32_t ip_host);
/* The IPv4 netmask of p in host order. */
uint32_t prefix_mask4(const struct prefix *p);

#endif
