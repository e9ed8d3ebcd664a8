/* fuzz_partyfile.c - the local discovery file (discovery.json), as other processes may write it. */
#include <stdlib.h>
#include <string.h>

#include "control/partyfile.h"
#include "fuzz.h"
#include "util/err.h"

/* What ctl_local does with a file: read every party, prune, write ours back, read it again. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct partyfile f, again;
	const char *key;
	json_t *value;
	char *text;
	size_t len, n = 0;
	char ids[8][PARTY_ID_LEN + 1];

	if (partyfile_parse(&f, (const char *)data, size, NULL) != PARTYFILE_OK) {
		partyfile_clear(&f);
		return 0;
	}
	json_object_foreach(f.parties, key, value)
	{
		if (n < 8 && strlen(key) <= PARTY_ID_LEN)
			strcpy(ids[n++], key);
	}
	for (size_t i = 0; i < n; i++) {
		struct party_info p, back;
		struct prefix net, net_back;
		size_t dropped = 0;
		errmsg err, dropped_err;

		if (partyfile_get(&f, ids[i], &p, &net, &dropped, dropped_err, err) !=
		    PARTYFILE_FOUND) {
			party_info_clear(&p);
			continue;
		}
		/* A party we read and write back reads the same. */
		if (!partyfile_put(&f, &p, &net, NULL))
			abort();
		if (p.n_members && (partyfile_get(&f, ids[i], &back, &net_back, &dropped, NULL,
		                                  err) != PARTYFILE_FOUND ||
		                    back.n_members != p.n_members || dropped != 0 ||
		                    strcmp(back.host_id, p.host_id) != 0))
			abort();
		if (p.n_members)
			party_info_clear(&back);
		party_info_clear(&p);
	}
	partyfile_prune(&f, 1795291200000ll, NULL);
	text = partyfile_dump(&f, &len);
	if (!text)
		abort();
	if (partyfile_parse(&again, text, len, NULL) != PARTYFILE_OK)
		abort();
	partyfile_clear(&again);
	free(text);
	partyfile_clear(&f);
	return 0;
}
