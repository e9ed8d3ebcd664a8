/* party.h - a party's record (the seeds' PartyInfo/Party): members, host, JSON. */
#ifndef LANRAGE_CONTROL_PARTY_H
#define LANRAGE_CONTROL_PARTY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/party_id.h"
#include "control/peer.h"
#include "util/compiler.h"

/* PARTY_MEMBERS_MAX bounds what any party record may hold; servers set lower limits. */
enum { PARTY_NAME_MAX = 64, PARTY_MEMBERS_MAX = 1024 };

/* A party owns its members array. */
struct party_info {
	char id[PARTY_ID_LEN + 1];
	char name[PARTY_NAME_MAX + 1];
	char host_id[PEER_ID_MAX + 1];
	int64_t created_at_ms;
	struct peer_info *members;
	size_t n_members;
	size_t cap_members;
};

void party_info_init(struct party_info *party);
void party_info_clear(struct party_info *party);

/* 1-64 bytes of printable UTF-8, not only spaces. */
bool party_name_valid(const char *name);

struct peer_info *party_info_find(const struct party_info *party, const char *peer_id);
/* Adds a member, or replaces the member with the same id.  false when full. */
bool party_info_put(struct party_info *party, const struct peer_info *peer, char *err) WARN_UNUSED;
/* Makes dst (cleared first) a copy of src; false (dst empty) when out of memory. */
bool party_info_copy(struct party_info *dst, const struct party_info *src) WARN_UNUSED;
/* Removes a member; false when there is no such member. */
bool party_info_remove(struct party_info *party, const char *peer_id);
/*
 * The member who has been in the party longest (earliest joined_at, then the
 * smallest id): the next host when the host leaves.  NULL when empty.
 */
const struct peer_info *party_info_longest_member(const struct party_info *party);

/* Checks id, name, members and that a non-empty party's host is a member. */
bool party_info_validate(const struct party_info *party, char *err) WARN_UNUSED;

/*
 * JSON form, as the seeds: party_id, name, host_id, created_at, and peers, an
 * object keyed by peer id.
 */
json_t *party_info_to_json(const struct party_info *party);
bool party_info_from_json(struct party_info *party, const json_t *obj, char *err) WARN_UNUSED;

#endif
