/* index.c - receiver indices: which handshake or keypair a message is for. */
#include "wg/index.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/rand.h"

static size_t home(uint32_t index, size_t cap)
{
	return (index * 2654435761u) & (cap - 1);
}

bool index_init(struct index_table *t)
{
	t->cap = 64;
	t->n = 0;
	t->slots = calloc(t->cap, sizeof(*t->slots));
	return t->slots != NULL;
}

void index_clear(struct index_table *t)
{
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

static struct index_entry *probe(const struct index_table *t, uint32_t index)
{
	for (size_t i = home(index, t->cap);; i = (i + 1) & (t->cap - 1)) {
		struct index_entry *e = &t->slots[i];

		if (!e->used || e->index == index)
			return e;
	}
}

static bool grow(struct index_table *t)
{
	struct index_table bigger = { calloc(t->cap * 2, sizeof(*t->slots)), t->cap * 2, t->n };

	if (!bigger.slots)
		return false;
	for (size_t i = 0; i < t->cap; i++) {
		if (t->slots[i].used)
			*probe(&bigger, t->slots[i].index) = t->slots[i];
	}
	free(t->slots);
	*t = bigger;
	return true;
}

bool index_insert(struct index_table *t, void *peer, uint32_t *out)
{
	struct index_entry *e;
	uint32_t index;

	if ((t->n + 1) * 2 > t->cap && !grow(t))
		return false;
	/* Never 0, so that 0 can mean "no index". */
	do {
		rand_bytes(&index, sizeof(index));
		e = probe(t, index);
	} while (e->used || index == 0);
	*e = (struct index_entry){ .index = index, .used = true, .peer = peer };
	t->n++;
	*out = index;
	return true;
}

struct index_entry *index_find(const struct index_table *t, uint32_t index)
{
	struct index_entry *e = probe(t, index);

	return e->used ? e : NULL;
}

void index_remove(struct index_table *t, uint32_t index)
{
	struct index_entry *e = probe(t, index);
	size_t hole, mask = t->cap - 1;

	if (!e->used)
		return;
	memset(e, 0, sizeof(*e));
	t->n--;
	/* Backward-shift the rest of the run so lookups never stop early. */
	hole = (size_t)(e - t->slots);
	for (size_t i = (hole + 1) & mask; t->slots[i].used; i = (i + 1) & mask) {
		size_t h = home(t->slots[i].index, t->cap);

		if ((i > hole && (h <= hole || h > i)) || (i < hole && h <= hole && h > i)) {
			t->slots[hole] = t->slots[i];
			memset(&t->slots[i], 0, sizeof(t->slots[i]));
			hole = i;
		}
	}
}

struct kp_index *kp_index_build(const struct index_table *t)
{
	size_t n = 0, cap = 16;
	struct kp_index *x;

	for (size_t i = 0; i < t->cap; i++)
		n += t->slots[i].used && t->slots[i].kp;
	while (cap < n * 2)
		cap *= 2;
	x = calloc(1, sizeof(*x) + cap * sizeof(struct kp_slot));
	if (!x)
		return NULL;
	x->mask = cap - 1;
	for (size_t i = 0; i < t->cap; i++) {
		const struct index_entry *e = &t->slots[i];
		size_t j;

		if (!e->used || !e->kp)
			continue;
		for (j = (e->index * 2654435761u) & x->mask; x->slots[j].kp; j = (j + 1) & x->mask)
			;
		x->slots[j] = (struct kp_slot){ e->index, e->kp };
	}
	return x;
}
