/* allowedips.h - the allowed-IPs table: longest-prefix match from address to peer. */
#ifndef LANRAGE_WG_ALLOWEDIPS_H
#define LANRAGE_WG_ALLOWEDIPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/compiler.h"
#include "util/prefix.h"

/*
 * A path-compressed binary trie per family.  Each node holds a prefix and,
 * when the prefix is assigned, its peer; a prefix belongs to one peer at a
 * time.  The control thread edits a table; packet workers read immutable
 * clones (allowedips_clone), swapped in whole.
 */
struct allowedips_node;

struct allowedips {
	struct allowedips_node *root4;
	struct allowedips_node *root6;
	struct allowedips_node *block; /* set on clones: all nodes in one allocation */
	void **peers;                  /* set on clones: every peer holding a prefix, once */
	size_t n_peers;
};

void allowedips_init(struct allowedips *t);
void allowedips_clear(struct allowedips *t);

/* Assigns prefix (host bits already clear) to peer, taking it from any other peer. */
bool allowedips_insert(struct allowedips *t, const struct prefix *p, void *peer) WARN_UNUSED;
/* Unassigns prefix if peer holds it; false when it does not. */
bool allowedips_remove(struct allowedips *t, const struct prefix *p, void *peer);
void allowedips_remove_by_peer(struct allowedips *t, void *peer);

/* The peer of the longest prefix holding addr (4 or 16 bytes, network order), or NULL. */
void *allowedips_lookup(const struct allowedips *t, int family, const uint8_t *addr);

/* Calls fn for each prefix of peer, shortest first within a family, IPv4 first. */
void allowedips_walk_peer(const struct allowedips *t, const void *peer,
                          void (*fn)(const struct prefix *p, void *ctx), void *ctx);

/* An immutable copy in one allocation, for the packet path; NULL on allocation failure. */
struct allowedips *allowedips_clone(const struct allowedips *t);
void allowedips_free_clone(struct allowedips *clone);

#endif
