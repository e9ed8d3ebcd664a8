/* fuzz_rendezvous.c - the candidate files lanrage-punch reads from its rendezvous directory. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "nat/path.h"
#include "punch/rendezvous.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The key the corpus files name ("AAAA...=" is all zero bytes). */
	static const wg_key peer = { 0 };
	struct addr addrs[PATH_MAX_CANDIDATES];
	enum cand_kind kinds[PATH_MAX_CANDIDATES];
	size_t n;
	errmsg err;

	if (rendezvous_parse((const char *)data, size, peer, addrs, kinds, PATH_MAX_CANDIDATES, &n,
	                     err)) {
		if (n > PATH_MAX_CANDIDATES)
			abort();
		for (size_t i = 0; i < n; i++) {
			if (!addr_is_set(&addrs[i]) || (unsigned)kinds[i] > CAND_PEER_REFLEXIVE)
				abort();
		}
	} else if (n != 0 || !memchr(err, '\0', sizeof(err))) {
		abort();
	}
	return 0;
}
