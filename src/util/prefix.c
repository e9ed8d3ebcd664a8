/* prefix.c - IP prefixes: parse, format, match. */
#include "util/prefix.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "util/err.h"

uint32_t prefix_mask4(const struct prefix *p)
{
	return p->len == 0 ? 0 : 0xffffffffu << (32 - p->len);
}

static bool clear_host_bits(struct prefix *p)
{
	bool had = false;

	if (p->family == AF_INET) {
		uint32_t ip = ntohl(p->v4.s_addr), mask = prefix_mask4(p);

		had = (ip & ~mask) != 0;
		p->v4.s_addr = htonl(ip & mask);
	} else {
		for (int i = 0; i < 16; i++) {
			int bits = (int)p->len - i * 8;
			uint8_t mask = bits >= 8   ? 0xff
			               : bits <= 0 ? 0
			                           : (uint8_t)(0xff << (8 - bits));

			had |= (p->v6.s6_addr[i] & (uint8_t)~mask) != 0;
			p->v6.s6_addr[i] &= mask;
		}
	}
	return had;
}

bool prefix_parse(struct prefix *out, const char *s, bool allow_host_bits, char *err)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t hl = slash ? (size_t)(slash - s) : strlen(s);
	unsigned len = 0;
	int max;

	memset(out, 0, sizeof(*out));
	if (hl == 0 || hl >= sizeof(host))
		goto bad;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (inet_pton(AF_INET, host, &out->v4) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, host, &out->v6) == 1)
		out->family = AF_INET6;
	else
		goto bad;
	max = out->family == AF_INET ? 32 : 128;
	if (slash) {
		const char *p = slash + 1;

		if (*p == '\0' || strlen(p) > 3)
			goto bad;
		for (; *p; p++) {
			if (*p < '0' || *p > '9')
				goto bad;
			len = len * 10 + (unsigned)(*p - '0');
		}
		if (len > (unsigned)max)
			goto bad;
	} else {
		len = (unsigned)max;
	}
	out->len = (uint8_t)len;
	if (clear_host_bits(out) && !allow_host_bits) {
		char fixed[PREFIX_STRLEN];

		err_set(err, "Prefix `%s' has host bits set (did you mean %s?)", s,
		        prefix_format(out, fixed));
		return false;
	}
	return true;
bad:
	err_set(err, "Unable to parse IP prefix: `%s' (expected addr/len)", s);
	return false;
}

const char *prefix_format(const struct prefix *p, char buf[PREFIX_STRLEN])
{
	char ip[INET6_ADDRSTRLEN];

	inet_ntop(p->family, p->family == AF_INET ? (const void *)&p->v4 : (const void *)&p->v6, ip,
	          sizeof(ip));
	snprintf(buf, PREFIX_STRLEN, "%s/%u", ip, p->len);
	return buf;
}

bool prefix_contains4(const struct prefix *p, uint32_t ip_host)
{
	if (p->family != AF_INET)
		return false;
	return (ip_host & prefix_mask4(p)) == ntohl(p->v4.s_addr);
}
