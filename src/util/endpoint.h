/* endpoint.h - where a peer's datagrams go: an address, and for a relayed path the frame header. */
#ifndef LANRAGE_UTIL_ENDPOINT_H
#define LANRAGE_UTIL_ENDPOINT_H

#include <stdbool.h>
#include <stdint.h>

#include "util/addr.h"

/*
 * A direct path is an address; a relayed path is the relay's address and the
 * few bytes every datagram carries in front to name the member it is for
 * (a relay Data frame header, docs/PROTOCOL.md "Relay frames").  Whoever
 * sends puts hdr in front of the datagram and sends to addr, so the packet
 * path never asks which kind of path it has.
 */
enum { ENDPOINT_HDR_MAX = 8, ENDPOINT_STRLEN = ADDR_STRLEN + 2 * ENDPOINT_HDR_MAX + 8 };

struct endpoint {
	struct addr addr;
	uint8_t hdr_len; /* 0: direct */
	uint8_t hdr[ENDPOINT_HDR_MAX];
	/*
	 * Our address that the peer's datagrams came to, which ours go from
	 * (the peer's NAT or firewall knows only that one); unset: the routing
	 * table picks.  Learned from received datagrams, never configured.
	 */
	struct addr local;
};

/* A direct endpoint at a (which may be unset). */
void endpoint_from_addr(struct endpoint *ep, const struct addr *a);
/* A relayed endpoint: relay's address, hdr_len bytes of header (at most ENDPOINT_HDR_MAX). */
void endpoint_relayed(struct endpoint *ep, const struct addr *relay, const uint8_t *hdr,
                      uint8_t hdr_len);
void endpoint_clear(struct endpoint *ep);
bool endpoint_is_set(const struct endpoint *ep);
static inline bool endpoint_is_relayed(const struct endpoint *ep)
{
	return ep->hdr_len != 0;
}
/* Same address and same header (the same path; local is not compared). */
bool endpoint_equal(const struct endpoint *a, const struct endpoint *b);
/* "1.2.3.4:51820", or "198.51.100.50:51820 via e030470dcd" for a relayed one.  Returns buf. */
const char *endpoint_format(const struct endpoint *ep, char buf[ENDPOINT_STRLEN]);

#endif
