/* addr.h - IPv4/IPv6 socket addresses: parse, format, compare. */
#ifndef LANRAGE_UTIL_ADDR_H
#define LANRAGE_UTIL_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "util/compiler.h"

/* "[ffff:...:ffff%ifname]:65535" fits. */
enum { ADDR_STRLEN = 72 };

/* An IPv4 or IPv6 address with port; sa.sa_family is AF_UNSPEC when unset. */
struct addr {
	union {
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
	};
};

/*
 * Parses "1.2.3.4:51820" or "[2001:db8::1]:51820" (numeric only, an optional
 * "%scope" inside the brackets).  On failure err quotes the input.
 */
bool addr_parse(struct addr *out, const char *s, char *err) WARN_UNUSED;
/* Parses a bare "1.2.3.4" or "2001:db8::1" (port 0). */
bool addr_parse_ip(struct addr *out, const char *s, char *err) WARN_UNUSED;
/* "1.2.3.4:51820" / "[2001:db8::1]:51820"; "(none)" when unset.  Returns buf. */
const char *addr_format(const struct addr *a, char buf[ADDR_STRLEN]);
/* The address alone, without port or brackets.  Returns buf. */
const char *addr_format_ip(const struct addr *a, char buf[ADDR_STRLEN]);

bool addr_from_sockaddr(struct addr *out, const struct sockaddr *sa, socklen_t len) WARN_UNUSED;
void addr_from_in4(struct addr *out, struct in_addr ip, uint16_t port);
void addr_clear(struct addr *a);
bool addr_is_set(const struct addr *a);
/* 127.0.0.0/8 or ::1 (an IPv4-mapped 127.x too). */
bool addr_is_loopback(const struct addr *a);
/* An IPv6 global unicast address (2000::/3), reachable across the internet if routed. */
bool addr_is_global6(const struct addr *a);
socklen_t addr_len(const struct addr *a);
uint16_t addr_port(const struct addr *a);
void addr_set_port(struct addr *a, uint16_t port);
/* Same family, address, port (and scope for IPv6). */
bool addr_equal(const struct addr *a, const struct addr *b);
/*
 * The 18-byte form LANrage's messages carry (probes, relay acks): 16 bytes of
 * IPv6, IPv4 as ::ffff:a.b.c.d, then the port big-endian.  An unset address
 * writes 18 zero bytes.  Reading refuses the all-zero address, 0.0.0.0 and
 * port 0.
 */
enum { ADDR_WIRE_LEN = 18 };
void addr_to_wire(uint8_t out[ADDR_WIRE_LEN], const struct addr *a);
bool addr_from_wire(struct addr *out, const uint8_t in[ADDR_WIRE_LEN]) WARN_UNUSED;

/* Same family and address; ports ignored. */
bool addr_equal_ip(const struct addr *a, const struct addr *b);

#endif
