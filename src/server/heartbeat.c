/* heartbeat.c - members' last_seen: recorded in memory, written to the store in batches. */
#include "server/heartbeat.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/err.h"
#include "util/log.h"

enum { HB_TABLE_MIN = 1024, HB_BATCH_ROWS = 1000 };

static uint64_t hash_key(const char *party, const char *peer)
{
	uint64_t h = 1469598103934665603ull;

	for (const unsigned char *p = (const unsigned char *)party; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	h = (h ^ '/') * 1099511628211ull;
	for (const unsigned char *p = (const unsigned char *)peer; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return h;
}

static struct hb_entry *table_slot(const struct hb_table *t, const char *party, const char *peer)
{
	size_t mask = t->cap - 1;

	for (size_t i = hash_key(party, peer) & mask;; i = (i + 1) & mask) {
		struct hb_entry *e = &t->slots[i];

		if (!e->last_seen_ms ||
		    (strcmp(e->peer_id, peer) == 0 && strcmp(e->party_id, party) == 0))
			return e;
	}
}

static bool table_grow(struct hb_table *t)
{
	struct hb_table bigger = { .cap = t->cap ? t->cap * 2 : HB_TABLE_MIN };

	bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots));
	if (!bigger.slots)
		return false;
	for (size_t i = 0; i < t->cap; i++) {
		if (t->slots[i].last_seen_ms)
			*table_slot(&bigger, t->slots[i].party_id, t->slots[i].peer_id) =
			    t->slots[i];
	}
	bigger.n = t->n;
	free(t->slots);
	*t = bigger;
	return true;
}

static void table_free(struct hb_table *t)
{
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

static int64_t table_get(const struct hb_table *t, const char *party, const char *peer)
{
	return t->cap ? table_slot(t, party, peer)->last_seen_ms : 0;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct hb_entry *x = a, *y = b;
	int c = strcmp(x->party_id, y->party_id);

	return c ? c : strcmp(x->peer_id, y->peer_id);
}

/*
 * Writes in (party, peer) order, so that the writers of several instances
 * sharing one PostgreSQL database lock rows in the same order and never
 * deadlock each other.
 */
static int write_batch(struct heartbeat *hb, struct hb_table *t, size_t *written, char *err)
{
	size_t rows = 0, n = 0;
	struct hb_entry *list;
	bool open = false;
	int rc = 0;

	*written = 0;
	list = malloc(t->n * sizeof(*list));
	if (!list) {
		err_set(err, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < t->cap; i++) {
		if (t->slots[i].last_seen_ms)
			list[n++] = t->slots[i];
	}
	qsort(list, n, sizeof(*list), entry_cmp);
	for (size_t i = 0; i < n; i++) {
		const struct hb_entry *e = &list[i];
		struct store_param p[] = { SP_T(e->party_id), SP_T(e->peer_id),
			                   SP_I(e->last_seen_ms) };

		if (!open) {
			rc = store_begin(&hb->store, err);
			if (rc)
				goto out;
			open = true;
		}
		rc = store_query(&hb->store,
		                 "UPDATE members SET last_seen = $3 WHERE party_id = $1 AND "
		                 "peer_id = $2 AND last_seen < $3",
		                 p, 3, NULL, NULL, err);
		if (rc) {
			store_rollback(&hb->store);
			goto out;
		}
		/* Short transactions keep the write lock free for joins and leaves. */
		if (++rows % HB_BATCH_ROWS == 0) {
			open = false;
			rc = store_commit(&hb->store, err);
			if (rc)
				goto out;
		}
	}
	if (open)
		rc = store_commit(&hb->store, err);
out:
	if (!rc)
		*written = rows;
	free(list);
	return rc;
}

static void *writer(void *arg)
{
	struct heartbeat *hb = arg;

	pthread_mutex_lock(&hb->lock);
	for (;;) {
		struct timespec until;
		struct hb_table batch;
		size_t rows;
		bool stopping;
		errmsg err;
		int rc;

		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += hb->flush_ms / 1000;
		until.tv_nsec += (hb->flush_ms % 1000) * 1000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		while (!hb->stop && !hb->flush_requested &&
		       pthread_cond_timedwait(&hb->wake, &hb->lock, &until) != ETIMEDOUT)
			;
		stopping = hb->stop;
		hb->flush_requested = false;
		/* Take the pending table; the loop starts a fresh one. */
		hb->flushing = hb->pending;
		memset(&hb->pending, 0, sizeof(hb->pending));
		batch = hb->flushing;
		hb->writing = true;
		pthread_mutex_unlock(&hb->lock);

		rows = 0;
		rc = batch.n ? write_batch(hb, &batch, &rows, err) : 0;
		if (rc)
			log_ratelimited(LL_ERROR, "heartbeat: writing %zu last_seen times: %s",
			                batch.n, err);

		pthread_mutex_lock(&hb->lock);
		table_free(&hb->flushing);
		hb->written += rows;
		hb->writing = false;
		hb->flushed_generation++;
		pthread_cond_broadcast(&hb->wake);
		if (stopping)
			break;
	}
	pthread_mutex_unlock(&hb->lock);
	return NULL;
}

int heartbeat_start(struct heartbeat *hb, const struct store *like, int64_t flush_ms, char *err)
{
	pthread_condattr_t attr;
	int rc;

	memset(hb, 0, sizeof(*hb));
	hb->flush_ms = flush_ms > 0 ? flush_ms : 1000;
	rc = store_open_again(&hb->store, like, err);
	if (rc)
		return rc;
	/* These writes are a cache of liveness: no fsync per batch. */
	if (hb->store.ops->dialect == STORE_SQLITE)
		(void)store_query(&hb->store, "PRAGMA synchronous=NORMAL", NULL, 0, NULL, NULL,
		                  NULL);
	pthread_mutex_init(&hb->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&hb->wake, &attr);
	pthread_condattr_destroy(&attr);
	rc = -pthread_create(&hb->thread, NULL, writer, hb);
	if (rc) {
		err_set(err, "heartbeat: cannot start the writer thread");
		pthread_cond_destroy(&hb->wake);
		pthread_mutex_destroy(&hb->lock);
		store_close(&hb->store);
		return rc;
	}
	hb->running = true;
	return 0;
}

void heartbeat_stop(struct heartbeat *hb)
{
	if (!hb->running)
		return;
	pthread_mutex_lock(&hb->lock);
	hb->stop = true;
	pthread_cond_broadcast(&hb->wake);
	pthread_mutex_unlock(&hb->lock);
	pthread_join(hb->thread, NULL);
	hb->running = false;
	table_free(&hb->pending);
	table_free(&hb->flushing);
	pthread_cond_destroy(&hb->wake);
	pthread_mutex_destroy(&hb->lock);
	store_close(&hb->store);
}

bool heartbeat_record(struct heartbeat *hb, const char *party_id, const char *peer_id,
                      int64_t now_ms)
{
	struct hb_entry *e;
	bool ok = true;

	pthread_mutex_lock(&hb->lock);
	if ((hb->pending.n + 1) * 2 > hb->pending.cap && !table_grow(&hb->pending)) {
		ok = false;
		goto out;
	}
	e = table_slot(&hb->pending, party_id, peer_id);
	if (!e->last_seen_ms) {
		snprintf(e->party_id, sizeof(e->party_id), "%s", party_id);
		snprintf(e->peer_id, sizeof(e->peer_id), "%s", peer_id);
		hb->pending.n++;
	}
	if (now_ms > e->last_seen_ms)
		e->last_seen_ms = now_ms;
out:
	pthread_mutex_unlock(&hb->lock);
	return ok;
}

int64_t heartbeat_last_seen(struct heartbeat *hb, const char *party_id, const char *peer_id)
{
	int64_t a, b;

	pthread_mutex_lock(&hb->lock);
	a = table_get(&hb->pending, party_id, peer_id);
	b = table_get(&hb->flushing, party_id, peer_id);
	pthread_mutex_unlock(&hb->lock);
	return a > b ? a : b;
}

void heartbeat_flush(struct heartbeat *hb)
{
	uint64_t target;

	if (!hb->running)
		return;
	pthread_mutex_lock(&hb->lock);
	/* A write in progress may have taken its table before our call: wait for the next. */
	target = hb->flushed_generation + (hb->writing ? 2 : 1);
	while (hb->flushed_generation < target && !hb->stop) {
		hb->flush_requested = true;
		pthread_cond_broadcast(&hb->wake);
		pthread_cond_wait(&hb->wake, &hb->lock);
	}
	pthread_mutex_unlock(&hb->lock);
}

uint64_t heartbeat_written(struct heartbeat *hb)
{
	uint64_t n;

	pthread_mutex_lock(&hb->lock);
	n = hb->written;
	pthread_mutex_unlock(&hb->lock);
	return n;
}
