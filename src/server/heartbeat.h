/* heartbeat.h - members' last_seen: recorded in memory, written to the store in batches. */
#ifndef LANRAGE_SERVER_HEARTBEAT_H
#define LANRAGE_SERVER_HEARTBEAT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "control/party_id.h"
#include "control/peer.h"
#include "server/store.h"
#include "util/compiler.h"

/*
 * A heartbeat costs no disk write: the loop thread records (party, peer, time)
 * in a table, and a writer thread with its own connection moves the table to
 * the store every flush_ms in one transaction, only ever moving last_seen
 * forward.  Readers overlay what is not written yet (heartbeat_last_seen), so
 * the API always shows the newest time.  A crash loses at most flush_ms of
 * heartbeats, which the cleanup timeout (minutes) easily absorbs.
 *
 * The two tables and the stop flag are the only state shared between the
 * threads, always under the mutex; the writer never holds it while writing.
 */
struct hb_entry {
	char party_id[PARTY_ID_LEN + 1];
	char peer_id[PEER_ID_MAX + 1];
	int64_t last_seen_ms; /* 0: empty slot */
};

struct hb_table {
	struct hb_entry *slots;
	size_t cap; /* power of two */
	size_t n;
};

/* Owned by the server; the writer thread runs between start and stop. */
struct heartbeat {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct hb_table pending;  /* recorded, not yet taken by the writer */
	struct hb_table flushing; /* taken, being written */
	bool stop, flush_requested, writing;
	uint64_t flushed_generation; /* bumped after each write */
	pthread_t thread;
	bool running;
	struct store store; /* the writer's own connection */
	int64_t flush_ms;
	uint64_t written; /* rows moved to the store */
};

int heartbeat_start(struct heartbeat *hb, const struct store *like, int64_t flush_ms,
                    char *err) WARN_UNUSED;
/* Writes what is pending, then stops the writer. */
void heartbeat_stop(struct heartbeat *hb);

/* Records a heartbeat (loop thread). */
bool heartbeat_record(struct heartbeat *hb, const char *party_id, const char *peer_id,
                      int64_t now_ms) WARN_UNUSED;
/* The newest unwritten time for a member, or 0. */
int64_t heartbeat_last_seen(struct heartbeat *hb, const char *party_id, const char *peer_id);
/* Asks the writer to flush now and waits until it has (cleanup, tests). */
void heartbeat_flush(struct heartbeat *hb);
/* Rows written so far. */
uint64_t heartbeat_written(struct heartbeat *hb);

#endif
