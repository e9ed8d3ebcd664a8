/* ctl.c - what both control planes share: link names, default timings, party comparison, the
 * list of removed members. */
#include "control/ctl.h"

#include <stdio.h>
#include <string.h>

const char *ctl_link_name(enum ctl_link link)
{
	switch (link) {
	case CTL_LINK_DOWN:
		return "down";
	case CTL_LINK_CONNECTING:
		return "connecting";
	case CTL_LINK_UP:
		return "up";
	}
	return "unknown";
}

size_t ctl_bans_from_json(const json_t *list, struct ctl_ban *out, size_t max)
{
	const json_t *v;
	size_t n = 0, i;

	json_array_foreach(list, i, v)
	{
		const char *id = json_string_value(json_object_get(v, "peer_id"));
		const json_t *name = json_object_get(v, "name"),
		             *at = json_object_get(v, "banned_at");

		if (n == max)
			break;
		if (!id || !peer_id_valid(id) || !json_is_integer(at) ||
		    !(json_is_null(name) || name == NULL ||
		      (json_is_string(name) && peer_name_valid(json_string_value(name)))))
			continue;
		snprintf(out[n].peer_id, sizeof(out[n].peer_id), "%s", id);
		snprintf(out[n].name, sizeof(out[n].name), "%s",
		         json_is_string(name) ? json_string_value(name) : "");
		out[n].banned_at_ms = json_integer_value(at);
		n++;
	}
	return n;
}

void ctl_timing_default(struct ctl_timing *t)
{
	t->heartbeat_ms = 30000;
	t->stale_ms = 300000;
	t->poll_ms = 1000;
	t->retry_min_ms = 500;
	t->retry_max_ms = 30000;
}

bool ctl_party_same_member(const struct peer_info *a, const struct peer_info *b)
{
	return strcmp(a->id, b->id) == 0 && strcmp(a->name, b->name) == 0 &&
	       key_equal(a->public_key, b->public_key) && a->nat_type == b->nat_type &&
	       addr_equal(&a->public_endpoint, &b->public_endpoint) &&
	       addr_equal(&a->local_endpoint, &b->local_endpoint) &&
	       addr_equal(&a->global_endpoint, &b->global_endpoint) &&
	       addr_equal(&a->virtual_ip, &b->virtual_ip);
}

bool ctl_party_same(const struct party_info *a, const struct party_info *b)
{
	if (strcmp(a->id, b->id) != 0 || strcmp(a->name, b->name) != 0 ||
	    strcmp(a->host_id, b->host_id) != 0 || a->n_members != b->n_members)
		return false;
	/* Ids are unique within a party, so equal counts and a match for each suffice. */
	for (size_t i = 0; i < a->n_members; i++) {
		const struct peer_info *m = party_info_find(b, a->members[i].id);

		if (!m || !ctl_party_same_member(&a->members[i], m))
			return false;
	}
	return true;
}
