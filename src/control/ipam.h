/* ipam.h - virtual IP allocation inside a party's IPv4 network (10.66.0.0/16). */
#ifndef LANRAGE_CONTROL_IPAM_H
#define LANRAGE_CONTROL_IPAM_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/peer.h"
#include "util/compiler.h"
#include "util/prefix.h"

#define IPAM_DEFAULT_NETWORK "10.66.0.0/16"

/*
 * Addresses are handed out from the network's hosts, never its network or
 * broadcast address nor the gateway (the first host, 10.66.0.1), so no member
 * can collide with them.  Each peer's search starts at a slot derived from a
 * hash of its id, so ids map to the same address across processes while it is
 * free.  A released address stays remembered for its peer and is given to
 * others only when nothing else is left: a member that leaves and rejoins gets
 * its address back.
 */
struct ipam_entry {
	char owner[PEER_ID_MAX + 1]; /* "" marks an empty slot */
	uint32_t ip;                 /* host order */
	bool in_use;                 /* false: released, remembered */
};

/* Owns its tables. */
struct ipam {
	struct prefix network;
	uint32_t first;             /* first address handed out (host order) */
	uint32_t count;             /* how many can be */
	uint8_t *used;              /* bitmap over [first, first + count) */
	uint8_t *remembered;        /* released, kept for their last owner */
	struct ipam_entry *entries; /* open addressing by owner, linear probing */
	size_t cap;                 /* power of two, > 2 x number of entries */
	size_t n_entries;
	size_t n_in_use;
};

/* cidr is an IPv4 prefix of at most /30. */
bool ipam_init(struct ipam *ipam, const char *cidr, char *err) WARN_UNUSED;
void ipam_clear(struct ipam *ipam);

/* The peer's address: its current one, its remembered one, or a new one. */
bool ipam_alloc(struct ipam *ipam, const char *peer_id, struct in_addr *out, char *err) WARN_UNUSED;
/* Records that a peer holds a given address (restoring saved state). */
bool ipam_reserve(struct ipam *ipam, const char *peer_id, struct in_addr ip, char *err) WARN_UNUSED;
/* Releases the peer's address, remembering it for the peer; false if it had none. */
bool ipam_release(struct ipam *ipam, const char *peer_id);
/* The peer's address in use, if any. */
bool ipam_lookup(const struct ipam *ipam, const char *peer_id, struct in_addr *out);
/*
 * A member's IPv6 addresses, derived from its IPv4 one, so that every member
 * knows every other's without asking: the IPv4 address as the last 32 bits
 * of the unique-local subnet IPAM_V6_SUBNET (fd4c:5247:6c61::/64), or of
 * fe80::/64 for the link-local one, the source of a game's ff02:: multicast.
 * 10.66.191.3 is fd4c:5247:6c61::a42:bf03 and fe80::a42:bf03.
 */
#define IPAM_V6_SUBNET "fd4c:5247:6c61::/64"
void ipam_v6_of(struct in_addr v4, bool link_local, struct in6_addr *out);
/* The gateway address (first host), never handed out. */
struct in_addr ipam_gateway(const struct ipam *ipam);

#endif
