/* endpoint.c - direct and relayed endpoints. */
#include "util/endpoint.h"

#include <stdio.h>
#include <string.h>

void endpoint_from_addr(struct endpoint *ep, const struct addr *a)
{
	memset(ep, 0, sizeof(*ep));
	ep->addr = *a;
}

void endpoint_relayed(struct endpoint *ep, const struct addr *relay, const uint8_t *hdr,
                      uint8_t hdr_len)
{
	memset(ep, 0, sizeof(*ep));
	ep->addr = *relay;
	if (hdr_len > ENDPOINT_HDR_MAX)
		hdr_len = ENDPOINT_HDR_MAX;
	memcpy(ep->hdr, hdr, hdr_len);
	ep->hdr_len = hdr_len;
}

void endpoint_clear(struct endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	addr_clear(&ep->addr);
}

bool endpoint_is_set(const struct endpoint *ep)
{
	return addr_is_set(&ep->addr);
}

bool endpoint_equal(const struct endpoint *a, const struct endpoint *b)
{
	return a->hdr_len == b->hdr_len && memcmp(a->hdr, b->hdr, a->hdr_len) == 0 &&
	       addr_equal(&a->addr, &b->addr);
}

const char *endpoint_format(const struct endpoint *ep, char buf[ENDPOINT_STRLEN])
{
	char a[ADDR_STRLEN];
	int n = snprintf(buf, ENDPOINT_STRLEN, "%s", addr_format(&ep->addr, a));

	if (ep->hdr_len && n > 0 && n < ENDPOINT_STRLEN) {
		n += snprintf(buf + n, (size_t)(ENDPOINT_STRLEN - n), " via ");
		for (unsigned i = 0; i < ep->hdr_len && n + 2 < ENDPOINT_STRLEN; i++)
			n += snprintf(buf + n, (size_t)(ENDPOINT_STRLEN - n), "%02x", ep->hdr[i]);
	}
	return buf;
}
