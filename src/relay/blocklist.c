/* blocklist.c - source prefixes the relay ignores: from flags and a file. */
#include "relay/blocklist.h"

#include <arpa/inet.h>
#include <string.h>

#include "util/err.h"

bool blocklist_add(struct blocklist *b, const char *cidr, char *err)
{
	struct prefix p;

	if (!prefix_parse(&p, cidr, false, err))
		return false;
	if (b->n == BLOCKLIST_MAX) {
		err_set(err, "block list: more than %d prefixes", BLOCKLIST_MAX);
		return false;
	}
	b->p[b->n++] = p;
	return true;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

bool blocklist_parse(struct blocklist *b, const char *text, size_t len, char *err)
{
	size_t line = 0, pos = 0;

	while (pos < len) {
		const char *start = text + pos, *nl = memchr(start, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - start) : len - pos;
		char buf[PREFIX_STRLEN + 8];
		const char *hash;

		pos += n + (nl ? 1 : 0);
		line++;
		hash = memchr(start, '#', n);
		if (hash)
			n = (size_t)(hash - start);
		while (n && is_space(*start)) {
			start++;
			n--;
		}
		while (n && is_space(start[n - 1]))
			n--;
		if (n == 0)
			continue;
		if (n >= sizeof(buf) || memchr(start, '\0', n)) {
			err_set(err, "line %zu: `%.*s...' is not a prefix", line,
			        (int)(n < 40 ? n : 40), start);
			return false;
		}
		memcpy(buf, start, n);
		buf[n] = '\0';
		if (!blocklist_add(b, buf, err)) {
			err_prefix(err, "line %zu", line);
			return false;
		}
	}
	return true;
}

static bool match6(const struct prefix *p, const struct in6_addr *a)
{
	unsigned full = p->len / 8, rest = p->len % 8;

	if (memcmp(p->v6.s6_addr, a->s6_addr, full) != 0)
		return false;
	if (!rest)
		return true;
	return ((p->v6.s6_addr[full] ^ a->s6_addr[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

bool blocklist_match(const struct blocklist *b, const struct addr *a)
{
	if (a->sa.sa_family == AF_INET) {
		uint32_t ip = ntohl(a->in4.sin_addr.s_addr);

		for (size_t i = 0; i < b->n; i++) {
			if (prefix_contains4(&b->p[i], ip))
				return true;
		}
	} else if (a->sa.sa_family == AF_INET6) {
		for (size_t i = 0; i < b->n; i++) {
			if (b->p[i].family == AF_INET6 && match6(&b->p[i], &a->in6.sin6_addr))
				return true;
		}
	}
	return false;
}
