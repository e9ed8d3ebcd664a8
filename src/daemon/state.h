/* state.h - what the daemon remembers across restarts: its party; written in batches, atomically.
 */
#ifndef LANRAGE_DAEMON_STATE_H
#define LANRAGE_DAEMON_STATE_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "control/party.h"
#include "util/addr.h"
#include "util/compiler.h"

struct event_base;
struct event;

/*
 * <state_dir>/state.json.  A party belongs to one control plane: the saved
 * mode and place (server URL or discovery directory) must match the current
 * configuration for the daemon to rejoin it on start.
 */
struct daemon_state {
	char party_id[PARTY_ID_LEN + 1]; /* "" = in no party */
	char party_name[PARTY_NAME_MAX + 1];
	char mode[8];           /* "remote" or "local" */
	char where[PATH_MAX];   /* the control server's URL or the discovery directory */
	struct addr virtual_ip; /* unset until known */
	int64_t joined_at_ms;
};

json_t *state_to_json(const struct daemon_state *st);
/* Validates every field; err names the bad one.  Unknown fields are ignored. */
bool state_from_json(struct daemon_state *st, const json_t *obj, char *err) WARN_UNUSED;

/*
 * The file and its writer.  Changes are marked with state_store_changed and
 * written at most every 100 ms (the seeds' batching), each write atomic
 * (temporary file, fsync, rename), mode 0600.
 */
struct state_store {
	char path[PATH_MAX];
	struct daemon_state st;
	struct event *flush_ev;
	bool dirty;
	uint64_t writes;
};

enum { STATE_FLUSH_MS = 100 };

/*
 * Loads path if it exists.  A file that cannot be parsed is kept aside as
 * path.corrupt (nothing is lost) and the daemon starts in no party; err says so.
 * Returns 0, or -errno when the directory is unusable.
 */
int state_store_open(struct state_store *s, struct event_base *base, const char *path,
                     char *err) WARN_UNUSED;
void state_store_changed(struct state_store *s);
/* Writes now if anything changed; 0 or -errno. */
int state_store_flush(struct state_store *s) WARN_UNUSED;
/* Flushes and frees. */
void state_store_close(struct state_store *s);

#endif
