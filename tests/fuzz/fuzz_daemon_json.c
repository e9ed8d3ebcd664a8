/* fuzz_daemon_json.c - what lanraged reads as JSON: its state file, and other members' relay
 * signals. */
#include <stdlib.h>
#include <string.h>

#include "daemon/relays.h"
#include "daemon/state.h"
#include "fuzz.h"
#include "util/jsonx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct daemon_state st, back;
	char ids[8][RELAY_ID_MAX + 1];
	uint32_t ms[8];
	size_t n;
	json_t *obj = jsonx_parse_object((const char *)data, size, NULL);

	if (!obj)
		return 0;
	/* A state file that parses writes back to one that parses the same. */
	if (state_from_json(&st, obj, NULL)) {
		json_t *again = state_to_json(&st);

		if (!state_from_json(&back, again, NULL) ||
		    strcmp(st.party_id, back.party_id) != 0 || strcmp(st.mode, back.mode) != 0 ||
		    strcmp(st.where, back.where) != 0 ||
		    !addr_equal_ip(&st.virtual_ip, &back.virtual_ip))
			abort();
		json_decref(again);
	}
	/* A relay signal yields only sane entries. */
	n = relays_parse_rtts(obj, ids, ms, 8);
	if (n > 8)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (ms[i] < 1 || ms[i] > 60000 || !ids[i][0] || strlen(ids[i]) > RELAY_ID_MAX)
			abort();
	}
	json_decref(obj);
	return 0;
}
