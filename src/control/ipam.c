/* ipam.c - virtual IP allocation inside a party's IPv4 network. */
#include "control/ipam.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "util/err.h"

/* FNV-1a: stable across processes and versions, which the hashed start relies on. */
static uint64_t hash_id(const char *id)
{
	uint64_t h = 1469598103934665603ull;

	for (const unsigned char *p = (const unsigned char *)id; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return h;
}

static bool bit_get(const uint8_t *map, uint32_t i)
{
	return map[i / 8] & (1u << (i % 8));
}

static void bit_set(uint8_t *map, uint32_t i, bool on)
{
	if (on)
		map[i / 8] |= (uint8_t)(1u << (i % 8));
	else
		map[i / 8] &= (uint8_t) ~(1u << (i % 8));
}

bool ipam_init(struct ipam *ipam, const char *cidr, char *err)
{
	uint32_t net;

	memset(ipam, 0, sizeof(*ipam));
	if (!prefix_parse(&ipam->network, cidr, false, err))
		return false;
	if (ipam->network.family != AF_INET || ipam->network.len > 30 || ipam->network.len < 8) {
		err_set(err, "virtual network `%s' must be an IPv4 prefix from /8 to /30", cidr);
		return false;
	}
	net = ntohl(ipam->network.v4.s_addr);
	/* Skip network and gateway; the last address is the broadcast. */
	ipam->first = net + 2;
	ipam->count = (uint32_t)((1ull << (32 - ipam->network.len)) - 3);
	ipam->cap = 16;
	ipam->used = calloc(ipam->count / 8 + 1, 1);
	ipam->remembered = calloc(ipam->count / 8 + 1, 1);
	ipam->entries = calloc(ipam->cap, sizeof(*ipam->entries));
	if (!ipam->used || !ipam->remembered || !ipam->entries) {
		ipam_clear(ipam);
		err_set(err, "out of memory");
		return false;
	}
	return true;
}

void ipam_clear(struct ipam *ipam)
{
	free(ipam->used);
	free(ipam->remembered);
	free(ipam->entries);
	memset(ipam, 0, sizeof(*ipam));
}

void ipam_v6_of(struct in_addr v4, bool link_local, struct in6_addr *out)
{
	static const uint8_t ula[8] = { 0xfd, 0x4c, 0x52, 0x47, 0x6c, 0x61, 0, 0 };
	static const uint8_t ll[8] = { 0xfe, 0x80, 0, 0, 0, 0, 0, 0 };

	memset(out, 0, sizeof(*out));
	memcpy(out->s6_addr, link_local ? ll : ula, 8);
	memcpy(out->s6_addr + 12, &v4.s_addr, 4);
}

struct in_addr ipam_gateway(const struct ipam *ipam)
{
	struct in_addr a = { .s_addr = htonl(ipam->first - 1) };

	return a;
}

/* The slot holding owner, or the empty slot where it would go. */
static struct ipam_entry *slot_for(const struct ipam *ipam, const char *owner)
{
	size_t mask = ipam->cap - 1;

	for (size_t i = hash_id(owner) & mask;; i = (i + 1) & mask) {
		struct ipam_entry *e = &ipam->entries[i];

		if (e->owner[0] == '\0' || strcmp(e->owner, owner) == 0)
			return e;
	}
}

static bool grow(struct ipam *ipam)
{
	struct ipam_entry *old = ipam->entries;
	size_t old_cap = ipam->cap;

	ipam->entries = calloc(old_cap * 2, sizeof(*old));
	if (!ipam->entries) {
		ipam->entries = old;
		return false;
	}
	ipam->cap = old_cap * 2;
	for (size_t i = 0; i < old_cap; i++) {
		if (old[i].owner[0])
			*slot_for(ipam, old[i].owner) = old[i];
	}
	free(old);
	return true;
}

/* Removes a slot, shifting later members of its probe run back (no tombstones). */
static void slot_remove(struct ipam *ipam, struct ipam_entry *e)
{
	size_t mask = ipam->cap - 1, hole = (size_t)(e - ipam->entries);

	memset(e, 0, sizeof(*e));
	ipam->n_entries--;
	for (size_t i = (hole + 1) & mask; ipam->entries[i].owner[0]; i = (i + 1) & mask) {
		size_t home = hash_id(ipam->entries[i].owner) & mask;

		/* Move back unless its home lies cyclically in (hole, i]. */
		if ((i > hole && (home <= hole || home > i)) ||
		    (i < hole && home <= hole && home > i)) {
			ipam->entries[hole] = ipam->entries[i];
			memset(&ipam->entries[i], 0, sizeof(ipam->entries[i]));
			hole = i;
		}
	}
}

static struct ipam_entry *find(const struct ipam *ipam, const char *owner)
{
	struct ipam_entry *e = slot_for(ipam, owner);

	return e->owner[0] ? e : NULL;
}

/* Takes index i of the pool for owner (whose slot may be new). */
static bool take(struct ipam *ipam, const char *owner, uint32_t i, char *err)
{
	struct ipam_entry *e;

	if (strlen(owner) > PEER_ID_MAX || owner[0] == '\0') {
		err_set(err, "peer id must be 1-%d characters", PEER_ID_MAX);
		return false;
	}
	if ((ipam->n_entries + 1) * 2 > ipam->cap && !grow(ipam)) {
		err_set(err, "out of memory");
		return false;
	}
	e = slot_for(ipam, owner);
	if (!e->owner[0]) {
		strcpy(e->owner, owner);
		ipam->n_entries++;
	} else if (e->in_use) {
		bit_set(ipam->used, e->ip - ipam->first, false);
		ipam->n_in_use--;
	} else {
		bit_set(ipam->remembered, e->ip - ipam->first, false);
	}
	e->ip = ipam->first + i;
	e->in_use = true;
	bit_set(ipam->used, i, true);
	ipam->n_in_use++;
	return true;
}

/* Drops whichever departed peer remembers pool index i. */
static void forget_index(struct ipam *ipam, uint32_t i)
{
	for (size_t s = 0; s < ipam->cap; s++) {
		struct ipam_entry *e = &ipam->entries[s];

		if (e->owner[0] && !e->in_use && e->ip == ipam->first + i) {
			slot_remove(ipam, e);
			break;
		}
	}
	bit_set(ipam->remembered, i, false);
}

bool ipam_alloc(struct ipam *ipam, const char *peer_id, struct in_addr *out, char *err)
{
	struct ipam_entry *e = find(ipam, peer_id);
	uint32_t start, i;
	char net[PREFIX_STRLEN];

	if (e && e->in_use) {
		out->s_addr = htonl(e->ip);
		return true;
	}
	if (e) {
		/* Remembered addresses are never given away while remembered. */
		uint32_t ip = e->ip;

		if (!take(ipam, peer_id, ip - ipam->first, err))
			return false;
		out->s_addr = htonl(ip);
		return true;
	}
	start = (uint32_t)(hash_id(peer_id) % ipam->count);
	for (uint32_t n = 0; n < ipam->count; n++) {
		i = (start + n) % ipam->count;
		if (!bit_get(ipam->used, i) && !bit_get(ipam->remembered, i))
			goto found;
	}
	/* Only remembered addresses are left: the oldest claim loses. */
	for (uint32_t n = 0; n < ipam->count; n++) {
		i = (start + n) % ipam->count;
		if (!bit_get(ipam->used, i)) {
			forget_index(ipam, i);
			goto found;
		}
	}
	err_set(err, "virtual network %s is full: all %u addresses are in use",
	        prefix_format(&ipam->network, net), ipam->count);
	return false;
found:
	if (!take(ipam, peer_id, i, err))
		return false;
	out->s_addr = htonl(ipam->first + i);
	return true;
}

bool ipam_reserve(struct ipam *ipam, const char *peer_id, struct in_addr ip, char *err)
{
	uint32_t h = ntohl(ip.s_addr), i;
	struct ipam_entry *e = find(ipam, peer_id);
	char net[PREFIX_STRLEN], text[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &ip, text, sizeof(text));
	if (h < ipam->first || h - ipam->first >= ipam->count) {
		err_set(err, "%s is not an assignable address of %s", text,
		        prefix_format(&ipam->network, net));
		return false;
	}
	i = h - ipam->first;
	if (e && e->ip == h) {
		if (!e->in_use)
			return take(ipam, peer_id, i, err);
		return true;
	}
	if (bit_get(ipam->used, i)) {
		err_set(err, "%s is already assigned to another peer", text);
		return false;
	}
	if (bit_get(ipam->remembered, i))
		forget_index(ipam, i);
	return take(ipam, peer_id, i, err);
}

bool ipam_release(struct ipam *ipam, const char *peer_id)
{
	struct ipam_entry *e = find(ipam, peer_id);

	if (!e || !e->in_use)
		return false;
	e->in_use = false;
	bit_set(ipam->used, e->ip - ipam->first, false);
	bit_set(ipam->remembered, e->ip - ipam->first, true);
	ipam->n_in_use--;
	return true;
}

bool ipam_lookup(const struct ipam *ipam, const char *peer_id, struct in_addr *out)
{
	struct ipam_entry *e = find(ipam, peer_id);

	if (!e || !e->in_use)
		return false;
	out->s_addr = htonl(e->ip);
	return true;
}
