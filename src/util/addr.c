/* addr.c - IPv4/IPv6 socket addresses: parse, format, compare. */
#include "util/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/be.h"
#include "util/err.h"

static bool parse_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;

	if (*s == '\0' || strlen(s) > 5)
		return false;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

/* Parses an IPv6 address with an optional "%scope" (interface name or index). */
static bool parse_ip6(struct sockaddr_in6 *in6, const char *s)
{
	char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	char *scope;

	if (strlen(s) >= sizeof(host))
		return false;
	strcpy(host, s);
	scope = strchr(host, '%');
	if (scope) {
		*scope++ = '\0';
		if (*scope == '\0')
			return false;
		in6->sin6_scope_id = if_nametoindex(scope);
		if (in6->sin6_scope_id == 0) {
			char *end;
			unsigned long idx;

			errno = 0;
			idx = strtoul(scope, &end, 10);
			if (errno || *end || idx == 0 || idx > UINT32_MAX)
				return false;
			in6->sin6_scope_id = (uint32_t)idx;
		}
	}
	return inet_pton(AF_INET6, host, &in6->sin6_addr) == 1;
}

static bool parse_ip_any(struct addr *out, const char *s)
{
	addr_clear(out);
	if (inet_pton(AF_INET, s, &out->in4.sin_addr) == 1) {
		out->in4.sin_family = AF_INET;
		return true;
	}
	memset(out, 0, sizeof(*out));
	if (parse_ip6(&out->in6, s)) {
		out->in6.sin6_family = AF_INET6;
		return true;
	}
	addr_clear(out);
	return false;
}

bool addr_parse_ip(struct addr *out, const char *s, char *err)
{
	if (!s || !parse_ip_any(out, s)) {
		err_set(err, "Unable to parse IP address: `%s'", s ? s : "(null)");
		return false;
	}
	return true;
}

bool addr_parse(struct addr *out, const char *s, char *err)
{
	char host[ADDR_STRLEN];
	const char *port_str;
	uint16_t port;

	addr_clear(out);
	if (!s || strlen(s) >= sizeof(host))
		goto bad;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			goto bad;
		memcpy(host, s + 1, (size_t)(close - s - 1));
		host[close - s - 1] = '\0';
		port_str = close + 2;
		if (!parse_port(port_str, &port))
			goto bad;
		memset(out, 0, sizeof(*out));
		if (!parse_ip6(&out->in6, host))
			goto bad;
		out->in6.sin6_family = AF_INET6;
	} else {
		const char *colon = strrchr(s, ':');

		/* A bare IPv6 address with a port is ambiguous: brackets are required. */
		if (!colon || memchr(s, ':', (size_t)(colon - s)))
			goto bad;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
		port_str = colon + 1;
		if (!parse_port(port_str, &port))
			goto bad;
		if (inet_pton(AF_INET, host, &out->in4.sin_addr) != 1)
			goto bad;
		out->in4.sin_family = AF_INET;
	}
	addr_set_port(out, port);
	return true;
bad:
	addr_clear(out);
	err_set(err, "Unable to parse endpoint: `%s' (expected 1.2.3.4:port or [v6]:port)",
	        s ? s : "(null)");
	return false;
}

const char *addr_format_ip(const struct addr *a, char buf[ADDR_STRLEN])
{
	switch (a->sa.sa_family) {
	case AF_INET:
		inet_ntop(AF_INET, &a->in4.sin_addr, buf, ADDR_STRLEN);
		break;
	case AF_INET6: {
		char ifname[IF_NAMESIZE];

		inet_ntop(AF_INET6, &a->in6.sin6_addr, buf, ADDR_STRLEN);
		if (a->in6.sin6_scope_id) {
			size_t n = strlen(buf);

			if (if_indextoname(a->in6.sin6_scope_id, ifname))
				snprintf(buf + n, ADDR_STRLEN - n, "%%%s", ifname);
			else
				snprintf(buf + n, ADDR_STRLEN - n, "%%%u", a->in6.sin6_scope_id);
		}
		break;
	}
	default:
		snprintf(buf, ADDR_STRLEN, "(none)");
	}
	return buf;
}

const char *addr_format(const struct addr *a, char buf[ADDR_STRLEN])
{
	char ip[ADDR_STRLEN];

	switch (a->sa.sa_family) {
	case AF_INET:
		snprintf(buf, ADDR_STRLEN, "%s:%u", addr_format_ip(a, ip), addr_port(a));
		break;
	case AF_INET6:
		snprintf(buf, ADDR_STRLEN, "[%s]:%u", addr_format_ip(a, ip), addr_port(a));
		break;
	default:
		snprintf(buf, ADDR_STRLEN, "(none)");
	}
	return buf;
}

bool addr_from_sockaddr(struct addr *out, const struct sockaddr *sa, socklen_t len)
{
	addr_clear(out);
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		memcpy(&out->in4, sa, sizeof(struct sockaddr_in));
		return true;
	}
	if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		memcpy(&out->in6, sa, sizeof(struct sockaddr_in6));
		return true;
	}
	return false;
}

void addr_from_in4(struct addr *out, struct in_addr ip, uint16_t port)
{
	addr_clear(out);
	out->in4.sin_family = AF_INET;
	out->in4.sin_addr = ip;
	out->in4.sin_port = htons(port);
}

void addr_clear(struct addr *a)
{
	memset(a, 0, sizeof(*a));
	a->sa.sa_family = AF_UNSPEC;
}

bool addr_is_set(const struct addr *a)
{
	return a->sa.sa_family == AF_INET || a->sa.sa_family == AF_INET6;
}

bool addr_is_global6(const struct addr *a)
{
	return a->sa.sa_family == AF_INET6 && (a->in6.sin6_addr.s6_addr[0] & 0xe0) == 0x20;
}

bool addr_is_loopback(const struct addr *a)
{
	const uint8_t *b = a->in6.sin6_addr.s6_addr;

	if (a->sa.sa_family == AF_INET)
		return (ntohl(a->in4.sin_addr.s_addr) >> 24) == 127;
	if (a->sa.sa_family != AF_INET6)
		return false;
	if (IN6_IS_ADDR_V4MAPPED(&a->in6.sin6_addr))
		return b[12] == 127;
	return IN6_IS_ADDR_LOOPBACK(&a->in6.sin6_addr);
}

socklen_t addr_len(const struct addr *a)
{
	switch (a->sa.sa_family) {
	case AF_INET:
		return sizeof(struct sockaddr_in);
	case AF_INET6:
		return sizeof(struct sockaddr_in6);
	default:
		return 0;
	}
}

uint16_t addr_port(const struct addr *a)
{
	switch (a->sa.sa_family) {
	case AF_INET:
		return ntohs(a->in4.sin_port);
	case AF_INET6:
		return ntohs(a->in6.sin6_port);
	default:
		return 0;
	}
}

void addr_set_port(struct addr *a, uint16_t port)
{
	if (a->sa.sa_family == AF_INET)
		a->in4.sin_port = htons(port);
	else if (a->sa.sa_family == AF_INET6)
		a->in6.sin6_port = htons(port);
}

bool addr_equal_ip(const struct addr *a, const struct addr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	switch (a->sa.sa_family) {
	case AF_INET:
		return a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
	case AF_INET6:
		return memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, sizeof(struct in6_addr)) == 0 &&
		       a->in6.sin6_scope_id == b->in6.sin6_scope_id;
	default:
		return true;
	}
}

bool addr_equal(const struct addr *a, const struct addr *b)
{
	return addr_equal_ip(a, b) && addr_port(a) == addr_port(b);
}

void addr_to_wire(uint8_t out[ADDR_WIRE_LEN], const struct addr *a)
{
	memset(out, 0, ADDR_WIRE_LEN);
	if (a->sa.sa_family == AF_INET) {
		out[10] = 0xFF;
		out[11] = 0xFF;
		memcpy(out + 12, &a->in4.sin_addr, 4);
	} else if (a->sa.sa_family == AF_INET6) {
		memcpy(out, &a->in6.sin6_addr, 16);
	} else {
		return;
	}
	be16_store(out + 16, addr_port(a));
}

bool addr_from_wire(struct addr *out, const uint8_t in[ADDR_WIRE_LEN])
{
	static const uint8_t zero[16];
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF };
	uint16_t port = be16_load(in + 16);

	addr_clear(out);
	if (port == 0 || memcmp(in, zero, 16) == 0)
		return false;
	if (memcmp(in, v4mapped, sizeof(v4mapped)) == 0) {
		struct in_addr ip;

		memcpy(&ip, in + 12, 4);
		if (ip.s_addr == 0)
			return false;
		addr_from_in4(out, ip, port);
		return true;
	}
	out->in6.sin6_family = AF_INET6;
	memcpy(&out->in6.sin6_addr, in, 16);
	out->in6.sin6_port = htons(port);
	return true;
}
