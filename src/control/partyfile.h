/* partyfile.h - the local discovery file (discovery.json): its format, read defensively. */
#ifndef LANRAGE_CONTROL_PARTYFILE_H
#define LANRAGE_CONTROL_PARTYFILE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/party.h"
#include "util/compiler.h"
#include "util/prefix.h"

/*
 * docs/PROTOCOL.md "Local discovery file":
 *
 *   {"version": 1,
 *    "parties": {"<party id>": {<party record>, "network": "10.66.0.0/16"}, ...}}
 *
 * The file is written by other processes, so nothing in it is trusted.  The
 * parsed tree is kept whole and edited in place: fields, parties and members
 * this version does not understand are written back as they were, except a
 * malformed member of a party we rewrite (logged by the caller).  No I/O and
 * no clock here; ctl_local does the locking, reading and writing.
 */
enum {
	PARTYFILE_VERSION = 1,
	PARTYFILE_MAX_BYTES = 16 << 20, /* 1024-member parties of ~400 bytes each, and then some */
};

#define PARTYFILE_DEFAULT_NETWORK "10.66.0.0/16"

/* Owns root; parties is borrowed from it. */
struct partyfile {
	json_t *root;
	json_t *parties;
};

enum partyfile_status {
	PARTYFILE_OK,
	PARTYFILE_CORRUPT, /* not a discovery file: not JSON, not an object, wrong shapes */
	PARTYFILE_NEWER,   /* a later version of the format: read nothing, write nothing */
};

/* An empty file's content. */
void partyfile_init(struct partyfile *f);
void partyfile_clear(struct partyfile *f);

/* Parses the file's text; on anything but OK, f is empty and err says why. */
enum partyfile_status partyfile_parse(struct partyfile *f, const char *text, size_t len,
                                      char *err) WARN_UNUSED;

enum partyfile_lookup {
	PARTYFILE_FOUND,
	PARTYFILE_MISSING,
	PARTYFILE_MALFORMED, /* the party's own fields are bad (err); the entry is left alone */
};

/*
 * The party with this canonical id and its network.  Members whose records
 * do not parse, lack a virtual IP in the network, or repeat another's
 * address are left out (*dropped counts them; the first error is in
 * dropped_err, which may be NULL); a host that is not among the rest is
 * replaced by the longest-standing member.  party is initialised either way
 * and must be cleared.
 */
enum partyfile_lookup partyfile_get(const struct partyfile *f, const char *party_id,
                                    struct party_info *party, struct prefix *network,
                                    size_t *dropped, char *dropped_err, char *err) WARN_UNUSED;

/*
 * Writes the party's entry, keeping fields of an existing entry that this
 * version does not know; a party without members is removed instead.
 */
bool partyfile_put(struct partyfile *f, const struct party_info *party,
                   const struct prefix *network, char *err) WARN_UNUSED;

/*
 * Removes members last seen before cutoff_ms (wall clock), except keep_id
 * (may be NULL), from every well-formed party, hands the host role on, and
 * removes parties left empty.  Returns how many members went.
 */
size_t partyfile_prune(struct partyfile *f, int64_t cutoff_ms, const char *keep_id);

/* Whether an id is free for a new party. */
bool partyfile_has(const struct partyfile *f, const char *party_id);

/* The file's text (pretty-printed, so people can read it); the caller frees it. */
char *partyfile_dump(const struct partyfile *f, size_t *len);

#endif
