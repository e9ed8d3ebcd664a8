/* partyfile.c - the local discovery file (discovery.json): its format, read defensively. */
#include "control/partyfile.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "util/err.h"
#include "util/jsonx.h"
#include "util/now.h"

void partyfile_init(struct partyfile *f)
{
	f->root = json_pack("{s:i, s:{}}", "version", PARTYFILE_VERSION, "parties");
	f->parties = json_object_get(f->root, "parties");
}

void partyfile_clear(struct partyfile *f)
{
	json_decref(f->root);
	f->root = NULL;
	f->parties = NULL;
}

enum partyfile_status partyfile_parse(struct partyfile *f, const char *text, size_t len, char *err)
{
	json_t *root = jsonx_parse_object(text, len, err);
	json_t *parties;
	int64_t version;

	f->root = NULL;
	f->parties = NULL;
	if (!root)
		goto corrupt;
	if (!jsonx_get_int(root, "version", 1, INT32_MAX, &version, true, NULL, err))
		goto corrupt;
	if (version > PARTYFILE_VERSION) {
		err_set(err, "format version %lld is newer than this daemon's (%d)",
		        (long long)version, PARTYFILE_VERSION);
		json_decref(root);
		partyfile_init(f);
		return PARTYFILE_NEWER;
	}
	parties = json_object_get(root, "parties");
	if (!json_is_object(parties)) {
		err_set(err, "field 'parties': expected an object keyed by party id");
		goto corrupt;
	}
	f->root = root;
	f->parties = parties;
	return PARTYFILE_OK;
corrupt:
	json_decref(root);
	partyfile_init(f);
	return PARTYFILE_CORRUPT;
}

static bool network_from_json(struct prefix *network, const json_t *obj, char *err)
{
	char text[PREFIX_STRLEN];
	bool present;

	if (!jsonx_get_str(obj, "network", text, sizeof(text), false, &present, err))
		return false;
	if (!present)
		snprintf(text, sizeof(text), "%s", PARTYFILE_DEFAULT_NETWORK);
	if (!prefix_parse(network, text, false, err)) {
		err_prefix(err, "field 'network'");
		return false;
	}
	if (network->family != AF_INET || network->len < 8 || network->len > 30) {
		err_set(err, "field 'network': `%s' is not an IPv4 prefix from /8 to /30", text);
		return false;
	}
	return true;
}

/* The member's virtual IP must be a host address of the network, and nobody else's. */
static bool vip_usable(const struct party_info *party, const struct peer_info *m,
                       const struct prefix *network, char *err)
{
	uint32_t ip, net = ntohl(network->v4.s_addr), last = net | ~prefix_mask4(network);

	if (m->virtual_ip.sa.sa_family != AF_INET) {
		err_set(err, "field 'virtual_ip': an IPv4 address is required");
		return false;
	}
	ip = ntohl(m->virtual_ip.in4.sin_addr.s_addr);
	if (!prefix_contains4(network, ip) || ip <= net + 1 || ip == last) {
		err_set(err, "field 'virtual_ip': not a member address of the party's network");
		return false;
	}
	for (size_t i = 0; i < party->n_members; i++) {
		if (addr_equal_ip(&party->members[i].virtual_ip, &m->virtual_ip)) {
			err_set(err, "field 'virtual_ip': also held by %s", party->members[i].id);
			return false;
		}
	}
	return true;
}

static void members_from_json(struct party_info *party, const json_t *peers,
                              const struct prefix *network, size_t *dropped, char *dropped_err)
{
	const char *key;
	json_t *value;

	json_object_foreach((json_t *)peers, key, value)
	{
		struct peer_info m;
		errmsg why = "";
		bool ok = peer_info_from_json(&m, value, why);

		if (ok && strcmp(m.id, key) != 0) {
			err_set(why, "key does not match its peer_id");
			ok = false;
		}
		if (ok && vip_usable(party, &m, network, why) && party_info_put(party, &m, why))
			continue;
		if (dropped_err && *dropped == 0)
			err_set(dropped_err, "member '%.64s': %s", key, why);
		(*dropped)++;
	}
}

enum partyfile_lookup partyfile_get(const struct partyfile *f, const char *party_id,
                                    struct party_info *party, struct prefix *network,
                                    size_t *dropped, char *dropped_err, char *err)
{
	const json_t *obj = json_object_get(f->parties, party_id), *peers;
	char created[NOW_ISO8601_LEN + 16];
	size_t n_dropped = 0;

	party_info_init(party);
	if (dropped_err)
		dropped_err[0] = '\0';
	if (!obj)
		return PARTYFILE_MISSING;
	if (!json_is_object(obj)) {
		err_set(err, "expected an object");
		goto malformed;
	}
	if (!jsonx_get_str(obj, "party_id", party->id, sizeof(party->id), true, NULL, err) ||
	    !jsonx_get_str(obj, "name", party->name, sizeof(party->name), true, NULL, err) ||
	    !jsonx_get_str(obj, "host_id", party->host_id, sizeof(party->host_id), false, NULL,
	                   err) ||
	    !jsonx_get_str(obj, "created_at", created, sizeof(created), true, NULL, err) ||
	    !network_from_json(network, obj, err))
		goto malformed;
	if (strcmp(party->id, party_id) != 0) {
		err_set(err, "field 'party_id': `%s' does not match its key", party->id);
		goto malformed;
	}
	if (!now_parse_iso8601(created, &party->created_at_ms)) {
		err_set(err, "field 'created_at': not an ISO 8601 time: `%s'", created);
		goto malformed;
	}
	peers = json_object_get(obj, "peers");
	if (peers && !json_is_object(peers) && !json_is_null(peers)) {
		err_set(err, "field 'peers': expected an object keyed by peer id");
		goto malformed;
	}
	if (json_is_object(peers))
		members_from_json(party, peers, network, &n_dropped, dropped_err);
	if (!party_info_find(party, party->host_id)) {
		const struct peer_info *longest = party_info_longest_member(party);

		snprintf(party->host_id, sizeof(party->host_id), "%s", longest ? longest->id : "");
	}
	if (dropped)
		*dropped = n_dropped;
	if (!party_info_validate(party, err))
		goto malformed;
	return PARTYFILE_FOUND;
malformed:
	party_info_clear(party);
	return PARTYFILE_MALFORMED;
}

bool partyfile_has(const struct partyfile *f, const char *party_id)
{
	return json_object_get(f->parties, party_id) != NULL;
}

bool partyfile_put(struct partyfile *f, const struct party_info *party,
                   const struct prefix *network, char *err)
{
	json_t *fresh, *old;
	char net[PREFIX_STRLEN];

	if (party->n_members == 0) {
		json_object_del(f->parties, party->id);
		return true;
	}
	fresh = party_info_to_json(party);
	if (!fresh ||
	    json_object_set_new(fresh, "network", json_string(prefix_format(network, net))) != 0) {
		json_decref(fresh);
		err_set(err, "out of memory");
		return false;
	}
	old = json_object_get(f->parties, party->id);
	if (json_is_object(old)) {
		/* Ours replace theirs, unknown fields stay. */
		int rc = json_object_update(old, fresh);

		json_decref(fresh);
		if (rc != 0) {
			err_set(err, "out of memory");
			return false;
		}
		return true;
	}
	if (json_object_set_new(f->parties, party->id, fresh) != 0) {
		err_set(err, "out of memory");
		return false;
	}
	return true;
}

size_t partyfile_prune(struct partyfile *f, int64_t cutoff_ms, const char *keep_id)
{
	size_t removed = 0, n_ids = json_object_size(f->parties), k = 0;
	char(*ids)[PARTY_ID_LEN + 1] = calloc(n_ids ? n_ids : 1, sizeof(*ids));
	const char *key;
	json_t *value;

	if (!ids)
		return 0;
	/* Keys first: the loop below replaces and deletes entries. */
	json_object_foreach(f->parties, key, value)
	{
		if (strlen(key) <= PARTY_ID_LEN)
			snprintf(ids[k++], sizeof(ids[0]), "%s", key);
	}
	for (size_t i = 0; i < k; i++) {
		struct party_info party;
		struct prefix network;
		size_t before;

		if (partyfile_get(f, ids[i], &party, &network, NULL, NULL, NULL) !=
		    PARTYFILE_FOUND) {
			party_info_clear(&party);
			continue;
		}
		before = party.n_members;
		for (size_t m = 0; m < party.n_members;) {
			const struct peer_info *p = &party.members[m];

			if (p->last_seen_ms < cutoff_ms &&
			    !(keep_id && strcmp(p->id, keep_id) == 0))
				party_info_remove(&party, p->id); /* moves the last one here */
			else
				m++;
		}
		if (party.n_members != before) {
			if (!party_info_find(&party, party.host_id)) {
				const struct peer_info *next = party_info_longest_member(&party);

				snprintf(party.host_id, sizeof(party.host_id), "%s",
				         next ? next->id : "");
			}
			if (partyfile_put(f, &party, &network, NULL))
				removed += before - party.n_members;
		}
		party_info_clear(&party);
	}
	free(ids);
	return removed;
}

char *partyfile_dump(const struct partyfile *f, size_t *len)
{
	char *text = json_dumps(f->root, JSON_INDENT(1) | JSON_SORT_KEYS);

	*len = text ? strlen(text) : 0;
	return text;
}
