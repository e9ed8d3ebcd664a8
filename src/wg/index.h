/* index.h - receiver indices: which handshake or keypair a message is for. */
#ifndef LANRAGE_WG_INDEX_H
#define LANRAGE_WG_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/compiler.h"
#include "wg/noise.h"

/*
 * Every handshake we start or answer gets a random 32-bit index, which the
 * keypair it yields keeps.  The control thread owns the table; the rx worker
 * reads an immutable snapshot of its keypair entries (struct kp_index).
 */
struct index_entry {
	uint32_t index;
	bool used;
	void *peer;
	struct noise_keypair *kp; /* NULL while a handshake */
};

struct index_table {
	struct index_entry *slots; /* open addressing, power-of-two capacity */
	size_t cap;
	size_t n;
};

bool index_init(struct index_table *t) WARN_UNUSED;
void index_clear(struct index_table *t);
/* A fresh random index for peer's handshake; false on ENOMEM. */
bool index_insert(struct index_table *t, void *peer, uint32_t *out) WARN_UNUSED;
struct index_entry *index_find(const struct index_table *t, uint32_t index);
void index_remove(struct index_table *t, uint32_t index);

struct kp_slot {
	uint32_t index;
	struct noise_keypair *kp;
};

struct kp_index {
	size_t mask;
	struct kp_slot slots[];
};

struct kp_index *kp_index_build(const struct index_table *t);
static inline struct noise_keypair *kp_index_lookup(const struct kp_index *x, uint32_t index)
{
	for (size_t i = (index * 2654435761u) & x->mask;; i = (i + 1) & x->mask) {
		if (!x->slots[i].kp)
			return NULL;
		if (x->slots[i].index == index)
			return x->slots[i].kp;
	}
}

#endif
