/* grace.h - grace periods: freeing what packet workers may still be reading. */
#ifndef LANRAGE_UTIL_GRACE_H
#define LANRAGE_UTIL_GRACE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Quiescent-state reclamation.  The control thread unpublishes an object (an
 * atomic pointer swap) and defers its release; each worker announces the
 * epoch it has seen at the top of every batch (grace_online) and says when it
 * holds nothing (grace_offline, before it blocks).  An object deferred at
 * epoch E is released once every worker is offline or has announced >= E:
 * none can still hold a pointer read before the swap.
 */
enum { GRACE_MAX_WORKERS = 16 };

struct grace_item {
	void (*release)(void *ctx, void *ptr);
	void *ctx;
	void *ptr;
	uint64_t epoch;
};

struct grace {
	_Atomic uint64_t epoch;
	_Atomic uint64_t worker[GRACE_MAX_WORKERS]; /* 0: offline */
	int n_workers;
	/* Control thread only. */
	struct grace_item *items;
	size_t n_items;
	size_t cap_items;
};

void grace_init(struct grace *g, int n_workers);
/* Releases everything still deferred, as if the grace period had passed (workers stopped). */
void grace_clear(struct grace *g);

/* Workers. */
void grace_online(struct grace *g, int worker);
void grace_offline(struct grace *g, int worker);

/* Control thread.  release(ctx, ptr) runs after the grace period; false on ENOMEM. */
bool grace_defer(struct grace *g, void (*release)(void *ctx, void *ptr), void *ctx, void *ptr);
/*
 * Releases what is due; returns how many remain.  before_release (may be NULL)
 * runs once, before the first release, when anything is due.
 */
size_t grace_collect(struct grace *g, void (*before_release)(void *ctx), void *ctx);

#endif
