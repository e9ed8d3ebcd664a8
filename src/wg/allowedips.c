/* allowedips.c - the allowed-IPs table: longest-prefix match from address to peer. */
#include "wg/allowedips.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct allowedips_node {
	struct allowedips_node *child[2];
	void *peer;      /* NULL: an internal node that only joins two branches */
	uint8_t key[16]; /* the prefix, host bits zero */
	uint8_t cidr;
};

static int bit_at(const uint8_t *key, unsigned i)
{
	return (key[i / 8] >> (7 - i % 8)) & 1;
}

/* How many leading bits a and b share, at most max. */
static unsigned common_bits(const uint8_t *a, const uint8_t *b, unsigned max)
{
	unsigned i = 0;

	while (i + 8 <= max && a[i / 8] == b[i / 8])
		i += 8;
	while (i < max && bit_at(a, i) == bit_at(b, i))
		i++;
	return i;
}

static void mask_key(uint8_t out[16], const uint8_t *in, unsigned bytes, unsigned cidr)
{
	memset(out, 0, 16);
	memcpy(out, in, bytes);
	for (unsigned i = cidr; i < bytes * 8; i++)
		out[i / 8] &= (uint8_t) ~(0x80 >> (i % 8));
}

static struct allowedips_node *node_new(const uint8_t *key, unsigned bytes, unsigned cidr,
                                        void *peer)
{
	struct allowedips_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	mask_key(n->key, key, bytes, cidr);
	n->cidr = (uint8_t)cidr;
	n->peer = peer;
	return n;
}

void allowedips_init(struct allowedips *t)
{
	memset(t, 0, sizeof(*t));
}

static void free_tree(struct allowedips_node *n)
{
	if (!n)
		return;
	free_tree(n->child[0]);
	free_tree(n->child[1]);
	free(n);
}

void allowedips_clear(struct allowedips *t)
{
	if (t->block) {
		free(t->block);
		free(t->peers);
	} else {
		free_tree(t->root4);
		free_tree(t->root6);
	}
	memset(t, 0, sizeof(*t));
}

static struct allowedips_node **root_of(struct allowedips *t, int family, unsigned *bits)
{
	*bits = family == AF_INET ? 32 : 128;
	return family == AF_INET ? &t->root4 : &t->root6;
}

bool allowedips_insert(struct allowedips *t, const struct prefix *p, void *peer)
{
	unsigned bits, bytes, len = p->len;
	struct allowedips_node **slot = root_of(t, p->family, &bits);
	const uint8_t *key = p->family == AF_INET ? (const uint8_t *)&p->v4 : p->v6.s6_addr;

	bytes = bits / 8;
	for (;;) {
		struct allowedips_node *n = *slot, *leaf, *join;
		unsigned shared;

		if (!n) {
			*slot = node_new(key, bytes, len, peer);
			return *slot != NULL;
		}
		shared = common_bits(n->key, key, n->cidr < len ? n->cidr : len);
		if (shared == n->cidr && n->cidr == len) {
			n->peer = peer;
			return true;
		}
		if (shared == n->cidr) {
			slot = &n->child[bit_at(key, n->cidr)];
			continue;
		}
		/* The new prefix leaves n's path at bit `shared`. */
		leaf = node_new(key, bytes, len, peer);
		if (!leaf)
			return false;
		if (shared == len) {
			/* The new prefix contains n: it becomes n's parent. */
			leaf->child[bit_at(n->key, len)] = n;
			*slot = leaf;
			return true;
		}
		join = node_new(key, bytes, shared, NULL);
		if (!join) {
			free(leaf);
			return false;
		}
		join->child[bit_at(n->key, shared)] = n;
		join->child[bit_at(key, shared)] = leaf;
		*slot = join;
		return true;
	}
}

/* Removes an unassigned node that joins fewer than two branches. */
static void compact(struct allowedips_node **slot)
{
	struct allowedips_node *n = *slot;

	if (!n || n->peer || (n->child[0] && n->child[1]))
		return;
	*slot = n->child[0] ? n->child[0] : n->child[1];
	free(n);
}

static bool remove_at(struct allowedips_node **slot, const uint8_t *key, unsigned len, void *peer)
{
	struct allowedips_node *n = *slot;
	bool removed;

	if (!n || common_bits(n->key, key, n->cidr < len ? n->cidr : len) < n->cidr ||
	    n->cidr > len)
		return false;
	if (n->cidr == len) {
		if (n->peer != peer)
			return false;
		n->peer = NULL;
		compact(slot);
		return true;
	}
	removed = remove_at(&n->child[bit_at(key, n->cidr)], key, len, peer);
	compact(slot);
	return removed;
}

bool allowedips_remove(struct allowedips *t, const struct prefix *p, void *peer)
{
	unsigned bits;
	struct allowedips_node **slot = root_of(t, p->family, &bits);
	const uint8_t *key = p->family == AF_INET ? (const uint8_t *)&p->v4 : p->v6.s6_addr;

	return remove_at(slot, key, p->len, peer);
}

static void remove_peer_at(struct allowedips_node **slot, void *peer)
{
	struct allowedips_node *n = *slot;

	if (!n)
		return;
	remove_peer_at(&n->child[0], peer);
	remove_peer_at(&n->child[1], peer);
	if (n->peer == peer)
		n->peer = NULL;
	compact(slot);
}

void allowedips_remove_by_peer(struct allowedips *t, void *peer)
{
	remove_peer_at(&t->root4, peer);
	remove_peer_at(&t->root6, peer);
}

void *allowedips_lookup(const struct allowedips *t, int family, const uint8_t *addr)
{
	const struct allowedips_node *n = family == AF_INET ? t->root4 : t->root6;
	unsigned bits = family == AF_INET ? 32 : 128;
	void *best = NULL;

	while (n && common_bits(n->key, addr, n->cidr) == n->cidr) {
		if (n->peer)
			best = n->peer;
		if (n->cidr == bits)
			break;
		n = n->child[bit_at(addr, n->cidr)];
	}
	return best;
}

static void walk(const struct allowedips_node *n, int family, const void *peer,
                 void (*fn)(const struct prefix *p, void *ctx), void *ctx)
{
	if (!n)
		return;
	if (n->peer == peer) {
		struct prefix p = { .family = family, .len = n->cidr };

		if (family == AF_INET)
			memcpy(&p.v4, n->key, 4);
		else
			memcpy(p.v6.s6_addr, n->key, 16);
		fn(&p, ctx);
	}
	walk(n->child[0], family, peer, fn, ctx);
	walk(n->child[1], family, peer, fn, ctx);
}

void allowedips_walk_peer(const struct allowedips *t, const void *peer,
                          void (*fn)(const struct prefix *p, void *ctx), void *ctx)
{
	walk(t->root4, AF_INET, peer, fn, ctx);
	walk(t->root6, AF_INET6, peer, fn, ctx);
}

static size_t count(const struct allowedips_node *n)
{
	return n ? 1 + count(n->child[0]) + count(n->child[1]) : 0;
}

static struct allowedips_node *copy_into(const struct allowedips_node *n,
                                         struct allowedips_node *block, size_t *used)
{
	struct allowedips_node *c;

	if (!n)
		return NULL;
	c = &block[(*used)++];
	*c = *n;
	c->child[0] = copy_into(n->child[0], block, used);
	c->child[1] = copy_into(n->child[1], block, used);
	return c;
}

struct allowedips *allowedips_clone(const struct allowedips *t)
{
	size_t n = count(t->root4) + count(t->root6), used = 0;
	struct allowedips *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->block = calloc(n ? n : 1, sizeof(struct allowedips_node));
	if (!c->block) {
		free(c);
		return NULL;
	}
	c->root4 = copy_into(t->root4, c->block, &used);
	c->root6 = copy_into(t->root6, c->block, &used);
	/* Each peer once, for what goes to all (broadcast): few prefixes per peer, a short scan. */
	c->peers = calloc(n ? n : 1, sizeof(*c->peers));
	if (!c->peers) {
		allowedips_free_clone(c);
		return NULL;
	}
	for (size_t i = 0; i < used; i++) {
		void *peer = c->block[i].peer;
		size_t j = 0;

		while (peer && j < c->n_peers && c->peers[j] != peer)
			j++;
		if (peer && j == c->n_peers)
			c->peers[c->n_peers++] = peer;
	}
	return c;
}

void allowedips_free_clone(struct allowedips *clone)
{
	if (!clone)
		return;
	allowedips_clear(clone);
	free(clone);
}
