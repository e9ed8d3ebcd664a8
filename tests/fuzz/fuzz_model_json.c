/* fuzz_model_json.c - peer and party records from untrusted JSON. */
#include <stdlib.h>

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
