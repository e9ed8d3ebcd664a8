/* grace.c - grace periods: freeing what packet workers may still be reading. */
#include "util/grace.h"

#include <stdlib.h>
#include <string.h>

void grace_init(struct grace *g, int n_workers)
{
	memset(g, 0, sizeof(*g));
	atomic_init(&g->epoch, 1);
	g->n_workers = n_workers;
	for (int i = 0; i < GRACE_MAX_WORKERS; i++)
		atomic_init(&g->worker[i], 0);
}

void grace_clear(struct grace *g)
{
	for (size_t i = 0; i < g->n_items; i++)
		g->items[i].release(g->items[i].ctx, g->items[i].ptr);
	free(g->items);
	g->items = NULL;
	g->n_items = g->cap_items = 0;
}

void grace_online(struct grace *g, int worker)
{
	atomic_store(&g->worker[worker], atomic_load(&g->epoch));
}

void grace_offline(struct grace *g, int worker)
{
	atomic_store(&g->worker[worker], 0);
}

bool grace_defer(struct grace *g, void (*release)(void *ctx, void *ptr), void *ctx, void *ptr)
{
	if (g->n_items == g->cap_items) {
		size_t cap = g->cap_items ? g->cap_items * 2 : 16;
		struct grace_item *bigger = realloc(g->items, cap * sizeof(*bigger));

		if (!bigger)
			return false;
		g->items = bigger;
		g->cap_items = cap;
	}
	/* Readers that announce the new epoch read after the caller's swap. */
	g->items[g->n_items++] =
	    (struct grace_item){ release, ctx, ptr, atomic_fetch_add(&g->epoch, 1) + 1 };
	return true;
}

static uint64_t safe_epoch(struct grace *g)
{
	uint64_t safe = UINT64_MAX;

	for (int i = 0; i < g->n_workers; i++) {
		uint64_t w = atomic_load(&g->worker[i]);

		if (w && w < safe)
			safe = w;
	}
	return safe;
}

size_t grace_collect(struct grace *g, void (*before_release)(void *ctx), void *ctx)
{
	uint64_t safe = safe_epoch(g);
	size_t kept = 0;
	bool notified = false;

	for (size_t i = 0; i < g->n_items; i++) {
		struct grace_item *it = &g->items[i];

		if (it->epoch > safe) {
			g->items[kept++] = *it;
			continue;
		}
		if (!notified && before_release) {
			before_release(ctx);
			notified = true;
		}
		it->release(it->ctx, it->ptr);
	}
	g->n_items = kept;
	return kept;
}
