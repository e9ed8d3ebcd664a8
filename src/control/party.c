/* party.c - a party's record: members, host, JSON. */
#include "control/party.h"

#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/jsonx.h"
#include "util/now.h"
#include "util/utf8.h"

void party_info_init(struct party_info *party)
{
	memset(party, 0, sizeof(*party));
}

void party_info_clear(struct party_info *party)
{
	free(party->members);
	memset(party, 0, sizeof(*party));
}

bool party_name_valid(const char *name)
{
	size_t len = strlen(name);

	return len > 0 && len <= PARTY_NAME_MAX && strspn(name, " ") != len &&
	       utf8_is_printable(name, len);
}

struct peer_info *party_info_find(const struct party_info *party, const char *peer_id)
{
	for (size_t i = 0; i < party->n_members; i++) {
		if (strcmp(party->members[i].id, peer_id) == 0)
			return &party->members[i];
	}
	return NULL;
}

bool party_info_put(struct party_info *party, const struct peer_info *peer, char *err)
{
	struct peer_info *slot = party_info_find(party, peer->id);

	if (slot) {
		*slot = *peer;
		return true;
	}
	if (party->n_members == PARTY_MEMBERS_MAX) {
		err_set(err, "party %s is full (%d members)", party->id, PARTY_MEMBERS_MAX);
		return false;
	}
	if (party->n_members == party->cap_members) {
		size_t cap = party->cap_members ? party->cap_members * 2 : 8;
		struct peer_info *bigger = realloc(party->members, cap * sizeof(*bigger));

		if (!bigger) {
			err_set(err, "out of memory");
			return false;
		}
		party->members = bigger;
		party->cap_members = cap;
	}
	party->members[party->n_members++] = *peer;
	return true;
}

bool party_info_copy(struct party_info *dst, const struct party_info *src)
{
	party_info_clear(dst);
	memcpy(dst->id, src->id, sizeof(dst->id));
	memcpy(dst->name, src->name, sizeof(dst->name));
	memcpy(dst->host_id, src->host_id, sizeof(dst->host_id));
	dst->created_at_ms = src->created_at_ms;
	if (src->n_members) {
		dst->members = malloc(src->n_members * sizeof(*dst->members));
		if (!dst->members) {
			party_info_clear(dst);
			return false;
		}
		memcpy(dst->members, src->members, src->n_members * sizeof(*dst->members));
		dst->n_members = dst->cap_members = src->n_members;
	}
	return true;
}

bool party_info_remove(struct party_info *party, const char *peer_id)
{
	struct peer_info *slot = party_info_find(party, peer_id);

	if (!slot)
		return false;
	*slot = party->members[--party->n_members];
	return true;
}

const struct peer_info *party_info_longest_member(const struct party_info *party)
{
	const struct peer_info *best = NULL;

	for (size_t i = 0; i < party->n_members; i++) {
		const struct peer_info *m = &party->members[i];

		if (!best || m->joined_at_ms < best->joined_at_ms ||
		    (m->joined_at_ms == best->joined_at_ms && strcmp(m->id, best->id) < 0))
			best = m;
	}
	return best;
}

bool party_info_validate(const struct party_info *party, char *err)
{
	if (!party_id_valid(party->id)) {
		err_set(err, "field 'party_id': `%.40s' is not a party id (XXXX-XXXX-XXXX-XXXX)",
		        party->id);
		return false;
	}
	if (!party_name_valid(party->name)) {
		err_set(err, "field 'name': must be 1-%d bytes of printable UTF-8", PARTY_NAME_MAX);
		return false;
	}
	for (size_t i = 0; i < party->n_members; i++) {
		if (!peer_info_validate(&party->members[i], err)) {
			err_prefix(err, "peer '%s'", party->members[i].id);
			return false;
		}
	}
	if (party->n_members > 0 && !party_info_find(party, party->host_id)) {
		err_set(err, "field 'host_id': `%.64s' is not a member of the party",
		        party->host_id);
		return false;
	}
	return true;
}

json_t *party_info_to_json(const struct party_info *party)
{
	char created[NOW_ISO8601_LEN];
	json_t *peers = json_object();

	for (size_t i = 0; i < party->n_members; i++)
		json_object_set_new(peers, party->members[i].id,
		                    peer_info_to_json(&party->members[i]));
	return json_pack("{s:s, s:s, s:s, s:s, s:o}", "party_id", party->id, "name", party->name,
	                 "host_id", party->host_id, "created_at",
	                 now_format_iso8601(party->created_at_ms, created), "peers", peers);
}

bool party_info_from_json(struct party_info *party, const json_t *obj, char *err)
{
	char created[NOW_ISO8601_LEN + 16];
	const json_t *peers, *value;
	const char *key;

	party_info_init(party);
	if (!json_is_object(obj)) {
		err_set(err, "party: expected a JSON object");
		return false;
	}
	if (!jsonx_get_str(obj, "party_id", party->id, sizeof(party->id), true, NULL, err) ||
	    !jsonx_get_str(obj, "name", party->name, sizeof(party->name), true, NULL, err) ||
	    !jsonx_get_str(obj, "host_id", party->host_id, sizeof(party->host_id), true, NULL,
	                   err) ||
	    !jsonx_get_str(obj, "created_at", created, sizeof(created), true, NULL, err))
		goto err;
	if (!now_parse_iso8601(created, &party->created_at_ms)) {
		err_set(err, "field 'created_at': not an ISO 8601 time: `%s'", created);
		goto err;
	}
	peers = json_object_get(obj, "peers");
	if (peers && !json_is_object(peers)) {
		err_set(err, "field 'peers': expected an object keyed by peer id");
		goto err;
	}
	if (peers && json_object_size(peers) > PARTY_MEMBERS_MAX) {
		err_set(err, "field 'peers': more than %d members", PARTY_MEMBERS_MAX);
		goto err;
	}
	json_object_foreach((json_t *)peers, key, value)
	{
		struct peer_info peer;

		if (!peer_info_from_json(&peer, value, err)) {
			err_prefix(err, "peers['%.64s']", key);
			goto err;
		}
		if (strcmp(peer.id, key) != 0) {
			err_set(err, "peers['%.64s']: key does not match its peer_id", key);
			goto err;
		}
		if (!party_info_put(party, &peer, err))
			goto err;
	}
	if (party_info_validate(party, err))
		return true;
err:
	party_info_clear(party);
	return false;
}
