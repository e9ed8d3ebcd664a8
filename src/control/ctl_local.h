/* ctl_local.h - what ctl_local.c and ctl_txn.c share: the state of a local control plane. */
#ifndef LANRAGE_CONTROL_CTL_LOCAL_H
#define LANRAGE_CONTROL_CTL_LOCAL_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "control/ctl.h"
#include "util/err.h"
#include "util/prefix.h"

struct event;
struct local_ask;

/*
 * Every change is one transaction under an exclusive flock of
 * <dir>/discovery.lock: read discovery.json, drop members unseen for
 * stale_ms (and parties left empty), apply our change, replace the file
 * atomically.  Our change is always "make the file agree with what we want":
 * a new party, self added to one, self refreshed (heartbeat, new endpoints,
 * or re-added after another daemon pruned us while we were suspended), self
 * removed.  The lock is only ever tried (LOCK_NB) and retried on a timer, so
 * the loop never blocks on another process.
 *
 * Timers (all on the caller's loop):
 *   sync       runs a transaction: now, or LOCK_RETRY_MS later while the lock is busy
 *   heartbeat  every heartbeat_ms while a member: a transaction (last_seen, pruning)
 *   watch      every poll_ms while a member: stat the file; when it changed,
 *              read it (no lock: it is only ever replaced whole) and report
 *   done       delivers an error found inside a call, after the call returned
 */
enum {
	LOCK_RETRY_MS = 10,
	LOCK_WAIT_MS = 5000, /* a create, join or leave gives up after this */
	FILE_MODE = 0644,    /* public keys and endpoints: nothing secret */
	DIR_MODE = 0755,
};

enum local_state {
	LOCAL_IDLE,
	LOCAL_CREATING,
	LOCAL_JOINING,
	LOCAL_MEMBER,
	LOCAL_LEAVING,
};

/* What identifies one version of the file, to notice changes without reading it. */
struct file_id {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	bool exists;
};

/* Owned by the daemon through struct ctl. */
struct ctl_local {
	struct ctl ctl; /* first: struct ctl * converts to this */
	struct event_base *base;
	struct ctl_timing t;
	char path[PATH_MAX];      /* <dir>/discovery.json */
	char lock_path[PATH_MAX]; /* <dir>/discovery.lock */
	char describe[PATH_MAX + 8];
	int lock_fd;
	struct prefix network; /* for parties we create */
	char peer_id[PEER_ID_MAX + 1];
	enum ctl_link link;

	enum local_state state;
	char party_id[PARTY_ID_LEN + 1];     /* joining, member, leaving */
	char party_name[PARTY_NAME_MAX + 1]; /* creating */
	/* Our record: description, and virtual IP and joined_at once given (then a hint). */
	struct peer_info self;
	struct party_info party; /* as last reported (on_party or done) */
	struct prefix party_network;

	ctl_done_fn *done;
	void *done_arg;
	uint64_t op_started_ms;
	int deferred_status; /* for the done timer */
	char deferred_error[ERR_MAX + PATH_MAX];

	struct event *sync_ev, *heartbeat_ev, *watch_ev, *done_ev;
	struct local_ask *asks; /* relays/relay_token calls being answered */
	struct file_id seen;
	char corrupt_seen[ERR_MAX]; /* the last corruption reported, to say it once */
};

/* The outcome of one transaction. */
struct ctl_txn {
	int status; /* 0 or a ctl_done_fn status */
	char error[ERR_MAX + 2 * PATH_MAX];
	/* Set when the file was corrupt: what, and where it went. */
	char corrupt[ERR_MAX + PATH_MAX];
	bool have_party;
	struct party_info party;
	struct prefix network;
};

#endif
