/* fuzz_model_json.c - peer and party records, and the list of removed members, from untrusted
 * JSON. */
#include <stdlib.h>
#include <string.h>

#include "control/ctl.h"
#include "control/party.h"
#include "fuzz.h"
#include "util/jsonx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *o = jsonx_parse_object((const char *)data, size, NULL);
	struct party_info party, back;
	struct peer_info peer, peer_back;

	if (!o)
		return 0;
	/* Accepted records must survive a round trip unchanged. */
	if (peer_info_from_json(&peer, o, NULL)) {
		json_t *out = peer_info_to_json(&peer);

		if (!peer_info_from_json(&peer_back, out, NULL))
			abort();
		json_decref(out);
	}
	/* A server's list of removed members: only valid entries, within the bound. */
	{
		struct ctl_ban bans[4];
		size_t n = ctl_bans_from_json(json_object_get(o, "bans"), bans, 4);

		for (size_t i = 0; i < n; i++) {
			if (n > 4 || !peer_id_valid(bans[i].peer_id) ||
			    (bans[i].name[0] && !peer_name_valid(bans[i].name)))
				abort();
		}
	}
	if (party_info_from_json(&party, o, NULL)) {
		json_t *out = party_info_to_json(&party);

		if (!party_info_from_json(&back, out, NULL) || back.n_members != party.n_members)
			abort();
		json_decref(out);
		party_info_clear(&back);
		party_info_clear(&party);
	}
	json_decref(o);
	return 0;
}
