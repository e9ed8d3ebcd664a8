/* blocklist.h - source prefixes the relay ignores: from flags and a file. */
#ifndef LANRAGE_RELAY_BLOCKLIST_H
#define LANRAGE_RELAY_BLOCKLIST_H

#include <stdbool.h>
#include <stddef.h>

#include "util/addr.h"
#include "util/compiler.h"
#include "util/prefix.h"

/*
 * A short list, matched linearly: the engine asks only about sources without
 * a session (a session's address was checked when it bound, and a reload
 * sweeps the sessions), so the forwarding path never pays for it.
 */
enum { BLOCKLIST_MAX = 4096, BLOCKLIST_FILE_MAX = 1 << 20 };

struct blocklist {
	struct prefix p[BLOCKLIST_MAX];
	size_t n;
};

/* "203.0.113.0/24", "2001:db8::/32" or a bare address.  err quotes the input. */
bool blocklist_add(struct blocklist *b, const char *cidr, char *err) WARN_UNUSED;
/*
 * The text of a block file: one prefix per line; blank lines and `#'
 * comments are skipped; surrounding spaces ignored.  err names the line.
 */
bool blocklist_parse(struct blocklist *b, const char *text, size_t len, char *err) WARN_UNUSED;
bool blocklist_match(const struct blocklist *b, const struct addr *a);

#endif
