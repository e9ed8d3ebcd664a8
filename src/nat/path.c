/* path.c - path probing and hole punching: candidates, ping/pong, RTT, the best path: a pure core.
 */
#include "nat/path.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/rand.h"
#include "crypto/secret.h"
#include "util/now.h"

const struct path_config path_config_default = {
	.search_ms = 200,
	.search_fast_sec = 10,
	.search_slow_ms = 2000,
	.keepalive_ms = 5000,
	.upgrade_ms = 10000,
	.pong_timeout_ms = 1000,
	.dead_misses = 3,
	.switch_percent = 10,
	.direct_bias_percent = 50,
	.direct_bias_ms = 10,
	.relay_switch_percent = 30,
	.pongs_per_sec = 50,
};

enum {
	REPLAY_WINDOW = 64,
	/* Triggered pings to one candidate at most this often (peers bound the rest). */
	TRIGGER_MIN_NS = 1 * NS_PER_MS,
};

const char *cand_kind_name(enum cand_kind k)
{
	switch (k) {
	case CAND_LOCAL:
		return "local";
	case CAND_REFLEXIVE:
		return "reflexive";
	case CAND_PEER_REFLEXIVE:
		return "peer-reflexive";
	case CAND_RELAY:
		return "relay";
	case CAND_GLOBAL:
		return "ipv6";
	}
	return "?";
}

int path_table_init(struct path_table *t, const wg_key self_priv, size_t max_peers,
                    uint64_t counter_start, const struct path_config *cfg,
                    const struct send_ops *ops, path_event_fn *on_event, void *ctx)
{
	memset(t, 0, sizeof(*t));
	t->peers = calloc(max_peers ? max_peers : 1, sizeof(*t->peers));
	if (!t->peers)
		return -ENOMEM;
	t->max_peers = max_peers;
	memcpy(t->self_priv, self_priv, KEY_LEN);
	key_public_from_private(t->self_pub, self_priv);
	t->tx_counter = counter_start;
	t->cfg = cfg ? *cfg : path_config_default;
	t->ops = *ops;
	t->on_event = on_event;
	t->ctx = ctx;
	return 0;
}

void path_table_clear(struct path_table *t)
{
	if (t->peers) {
		secret_zero(t->peers, t->max_peers * sizeof(*t->peers));
		free(t->peers);
	}
	secret_zero(t, sizeof(*t));
}

int path_find_peer(const struct path_table *t, const wg_key pub)
{
	for (size_t i = 0; i < t->n_peers; i++) {
		/* Public keys: an ordinary comparison is fine. */
		if (t->peers[i].active && memcmp(t->peers[i].pub, pub, KEY_LEN) == 0)
			return (int)i;
	}
	return -1;
}

int path_add_peer(struct path_table *t, const wg_key peer_pub, uint64_t now_ns)
{
	struct path_peer *p = NULL;
	size_t idx;

	if (path_find_peer(t, peer_pub) >= 0 || memcmp(peer_pub, t->self_pub, KEY_LEN) == 0)
		return -EEXIST;
	for (idx = 0; idx < t->n_peers; idx++) {
		if (!t->peers[idx].active) {
			p = &t->peers[idx];
			break;
		}
	}
	if (!p) {
		if (t->n_peers == t->max_peers)
			return -ENOSPC;
		idx = t->n_peers++;
		p = &t->peers[idx];
	}
	memset(p, 0, sizeof(*p));
	if (!probe_derive_key(p->key, t->self_priv, t->self_pub, peer_pub)) {
		secret_zero(p, sizeof(*p));
		return -EINVAL;
	}
	memcpy(p->pub, peer_pub, KEY_LEN);
	p->active = true;
	p->current = -1;
	p->started_ns = p->search_started_ns = now_ns;
	addr_clear(&p->observed);
	return (int)idx;
}

void path_remove_peer(struct path_table *t, size_t peer)
{
	if (peer < t->n_peers)
		secret_zero(&t->peers[peer], sizeof(t->peers[peer]));
}

const struct path_candidate *path_current(const struct path_table *t, size_t peer)
{
	const struct path_peer *p;

	if (peer >= t->n_peers || !t->peers[peer].active)
		return NULL;
	p = &t->peers[peer];
	return p->current >= 0 ? &p->cand[p->current] : NULL;
}

static int find_cand(const struct path_peer *p, const struct endpoint *ep)
{
	for (size_t i = 0; i < p->n_cand; i++) {
		if (endpoint_equal(&p->cand[i].ep, ep))
			return (int)i;
	}
	return -1;
}

bool path_candidate_kept(const struct path_candidate *c)
{
	return c->kind == CAND_PEER_REFLEXIVE || c->kind == CAND_RELAY;
}

static void set_current(struct path_table *t, struct path_peer *p, int idx, uint64_t now_ns)
{
	if (p->current == idx)
		return;
	p->current = idx;
	if (idx >= 0) {
		/* The new path is kept alive and measured from now on. */
		uint64_t keep = now_ns + (uint64_t)t->cfg.keepalive_ms * NS_PER_MS;

		if (p->cand[idx].next_ping_ns > keep)
			p->cand[idx].next_ping_ns = keep;
	} else {
		/* Back to searching: every candidate, fast, from now. */
		p->search_started_ns = now_ns;
		for (size_t i = 0; i < p->n_cand; i++)
			p->cand[i].next_ping_ns = now_ns;
	}
	if (t->on_event)
		t->on_event(t->ctx, p);
}

/* After the candidate list changed: the current path keeps its place, or is gone with it. */
static void refind_current(struct path_table *t, struct path_peer *p, const struct endpoint *cur,
                           uint64_t now_ns)
{
	if (!endpoint_is_set(cur))
		return;
	p->current = find_cand(p, cur);
	if (p->current < 0) {
		p->current = 0; /* anything but -1, so set_current sees the change */
		set_current(t, p, -1, now_ns);
	}
}

void path_set_candidates(struct path_table *t, size_t peer, const struct endpoint *eps,
                         const enum cand_kind *kinds, size_t n, uint64_t now_ns)
{
	struct path_candidate next[PATH_MAX_CANDIDATES];
	struct path_peer *p;
	struct endpoint cur;
	size_t m = 0;

	if (peer >= t->n_peers || !t->peers[peer].active)
		return;
	p = &t->peers[peer];
	endpoint_clear(&cur);
	if (p->current >= 0)
		cur = p->cand[p->current].ep;
	for (size_t i = 0; i < n && m < PATH_MAX_CANDIDATES; i++) {
		int old = find_cand(p, &eps[i]);
		bool dup = false;

		if (!endpoint_is_set(&eps[i]) || addr_port(&eps[i].addr) == 0)
			continue;
		for (size_t j = 0; j < m; j++)
			dup |= endpoint_equal(&next[j].ep, &eps[i]);
		if (dup)
			continue;
		if (old >= 0) {
			next[m] = p->cand[old];
		} else {
			memset(&next[m], 0, sizeof(next[m]));
			next[m].ep = eps[i];
			next[m].next_ping_ns = now_ns;
		}
		next[m++].kind = kinds[i];
	}
	/* Learned and relayed candidates stay while there is room. */
	for (size_t i = 0; i < p->n_cand && m < PATH_MAX_CANDIDATES; i++) {
		bool listed = false;

		for (size_t j = 0; j < m; j++)
			listed |= endpoint_equal(&next[j].ep, &p->cand[i].ep);
		if (!listed && path_candidate_kept(&p->cand[i]))
			next[m++] = p->cand[i];
	}
	memcpy(p->cand, next, m * sizeof(next[0]));
	p->n_cand = m;
	refind_current(t, p, &cur, now_ns);
}

void path_forget_relay(struct path_table *t, const struct addr *relay, uint64_t now_ns)
{
	for (size_t pi = 0; pi < t->n_peers; pi++) {
		struct path_peer *p = &t->peers[pi];
		struct endpoint cur;
		size_t m = 0;

		if (!p->active)
			continue;
		endpoint_clear(&cur);
		if (p->current >= 0)
			cur = p->cand[p->current].ep;
		for (size_t i = 0; i < p->n_cand; i++) {
			const struct path_candidate *c = &p->cand[i];

			if (!endpoint_is_relayed(&c->ep) || !addr_equal(&c->ep.addr, relay))
				p->cand[m++] = *c;
		}
		p->n_cand = m;
		refind_current(t, p, &cur, now_ns);
	}
}

/* WireGuard-style sliding window over the sender's counter (after the MAC). */
static bool replay_accept(struct path_peer *p, uint64_t counter)
{
	uint64_t diff;

	if (counter > p->rx_max_counter) {
		diff = counter - p->rx_max_counter;
		p->rx_window = diff >= REPLAY_WINDOW ? 0 : p->rx_window << diff;
		p->rx_window |= 1;
		p->rx_max_counter = counter;
		return true;
	}
	diff = p->rx_max_counter - counter;
	if (diff >= REPLAY_WINDOW || (p->rx_window & (1ull << diff)))
		return false;
	p->rx_window |= 1ull << diff;
	return true;
}

static void send_probe(struct path_table *t, struct path_peer *p, uint8_t type,
                       const struct endpoint *to, uint64_t txid)
{
	struct probe_msg m = { .type = type, .txid = txid };
	uint8_t buf[PROBE_LEN];

	m.flags = p->current >= 0 ? PROBE_F_HAVE_PATH : 0;
	memcpy(m.sender, t->self_pub, KEY_LEN);
	m.counter = ++t->tx_counter;
	if (type == PROBE_PONG)
		m.observed = to->addr; /* through a relay: the relay's address */
	probe_create(buf, &m, p->key);
	if (t->ops.send(t->ops.ctx, to, buf, sizeof(buf)) < 0)
		t->send_fails++;
}

/* Learns where a peer's ping came from, if new; pinged at the next timer run. */
static void learn_peer_reflexive(struct path_peer *p, const struct endpoint *from, uint64_t now_ns)
{
	struct path_candidate *c = NULL;

	if (find_cand(p, from) >= 0)
		return;
	if (p->n_cand < PATH_MAX_CANDIDATES) {
		c = &p->cand[p->n_cand++];
	} else {
		/* Full: replace the least recently answering learned one (never the current). */
		for (size_t i = 0; i < p->n_cand; i++) {
			struct path_candidate *o = &p->cand[i];

			if (path_candidate_kept(o) && (int)i != p->current &&
			    (!c || o->last_pong_ns < c->last_pong_ns))
				c = o;
		}
		if (!c)
			return;
	}
	memset(c, 0, sizeof(*c));
	c->ep = *from;
	c->kind = endpoint_is_relayed(from) ? CAND_RELAY : CAND_PEER_REFLEXIVE;
	c->next_ping_ns = now_ns;
}

static enum probe_verdict on_ping(struct path_table *t, struct path_peer *p,
                                  const struct probe_msg *m, const struct endpoint *from,
                                  uint64_t now_ns)
{
	if (now_ns - p->pong_window_ns >= NS_PER_SEC) {
		p->pong_window_ns = now_ns;
		p->pongs_in_window = 0;
	}
	p->pings_rx++;
	learn_peer_reflexive(p, from, now_ns);
	{
		int idx = find_cand(p, from);
		struct path_candidate *c = idx >= 0 ? &p->cand[idx] : NULL;

		/* A triggered check (path.h): the way back is open now. */
		if (c && (c->pongs == 0 || c->misses) &&
		    now_ns - c->last_ping_ns >= TRIGGER_MIN_NS && c->next_ping_ns > now_ns)
			c->next_ping_ns = now_ns;
	}
	if (p->pongs_in_window >= t->cfg.pongs_per_sec)
		return PROBE_DROP_RATE;
	p->pongs_in_window++;
	send_probe(t, p, PROBE_PONG, from, m->txid);
	p->pongs_tx++;
	return PROBE_OK;
}

bool path_prefers(const struct path_config *cfg, const struct path_candidate *c,
                  const struct path_candidate *cur)
{
	bool c_relayed = endpoint_is_relayed(&c->ep), cur_relayed = endpoint_is_relayed(&cur->ep);
	uint64_t slack_ns = (uint64_t)cfg->direct_bias_ms * NS_PER_MS;

	/* Sub-millisecond RTTs jitter by multiples of themselves: the margins are also absolute. */
	if (!c_relayed && cur_relayed)
		return c->srtt_ns * 100 <= cur->srtt_ns * (100 + cfg->direct_bias_percent) ||
		       c->srtt_ns <= cur->srtt_ns + slack_ns;
	if (c_relayed && !cur_relayed)
		return c->srtt_ns * 100 < cur->srtt_ns * (100 - cfg->relay_switch_percent) &&
		       c->srtt_ns + slack_ns < cur->srtt_ns;
	return c->srtt_ns * 100 < cur->srtt_ns * (100 - cfg->switch_percent);
}

static void choose(struct path_table *t, struct path_peer *p, int idx, uint64_t now_ns)
{
	const struct path_candidate *c = &p->cand[idx], *cur;

	if (p->current < 0) {
		/* The first answer of a round is the fastest path of that round. */
		set_current(t, p, idx, now_ns);
		return;
	}
	if (p->current == idx)
		return;
	cur = &p->cand[p->current];
	if (c->misses == 0 && path_prefers(&t->cfg, c, cur))
		set_current(t, p, idx, now_ns);
}

static enum probe_verdict on_pong(struct path_table *t, struct path_peer *p,
                                  const struct probe_msg *m, const struct endpoint *from,
                                  uint64_t now_ns)
{
	for (size_t i = 0; i < p->n_cand; i++) {
		struct path_candidate *c = &p->cand[i];

		for (int o = 0; o < PATH_OUTSTANDING; o++) {
			uint64_t rtt;

			if (c->out[o].txid == 0 || c->out[o].txid != m->txid)
				continue;
			/* A path is a two-way street: the answer comes from where we sent. */
			if (!endpoint_equal(&c->ep, from))
				return PROBE_DROP_SOURCE;
			rtt = now_ns - c->out[o].sent_ns;
			c->out[o].txid = 0;
			c->last_rtt_ns = rtt;
			c->srtt_ns = c->pongs ? (7 * c->srtt_ns + rtt) / 8 : rtt;
			c->last_pong_ns = now_ns;
			c->pongs++;
			c->misses = 0;
			p->pongs_rx++;
			if (!endpoint_is_relayed(from))
				p->observed = m->observed;
			if (!p->first_pong_ns)
				p->first_pong_ns = now_ns;
			choose(t, p, (int)i, now_ns);
			return PROBE_OK;
		}
	}
	return PROBE_DROP_STALE;
}

enum probe_verdict path_input(struct path_table *t, const uint8_t *pkt, size_t len,
                              const struct endpoint *from, uint64_t now_ns)
{
	struct probe_msg m;
	struct path_peer *p;
	enum probe_verdict v;
	wg_key sender;
	int idx;

	v = probe_peek(pkt, len, sender);
	if (v != PROBE_OK)
		goto drop;
	idx = path_find_peer(t, sender);
	if (idx < 0) {
		v = PROBE_DROP_UNKNOWN_PEER;
		goto drop;
	}
	p = &t->peers[idx];
	v = probe_consume(&m, pkt, len, p->key);
	if (v != PROBE_OK)
		goto drop;
	if (!replay_accept(p, m.counter)) {
		v = PROBE_DROP_REPLAY;
		goto drop;
	}
	p->peer_has_path = m.flags & PROBE_F_HAVE_PATH;
	v = m.type == PROBE_PING ? on_ping(t, p, &m, from, now_ns)
	                         : on_pong(t, p, &m, from, now_ns);
	if (v == PROBE_OK)
		return v;
drop:
	t->dropped[v]++;
	return v;
}

/* How long until a candidate's next ping, by the rules in path.h. */
static uint64_t interval_ns(const struct path_table *t, const struct path_peer *p, int idx,
                            uint64_t now_ns)
{
	const struct path_config *cfg = &t->cfg;
	uint64_t ms;

	if (p->current < 0)
		ms = now_ns - p->search_started_ns < (uint64_t)cfg->search_fast_sec * NS_PER_SEC
		         ? cfg->search_ms
		         : cfg->search_slow_ms;
	else if (p->current == idx)
		ms = p->cand[idx].misses ? cfg->search_ms : cfg->keepalive_ms;
	else
		ms = cfg->upgrade_ms;
	return ms * NS_PER_MS;
}

static void ping(struct path_table *t, struct path_peer *p, struct path_candidate *c,
                 uint64_t now_ns)
{
	int slot = 0;
	uint64_t txid;

	/* An empty slot, or else the oldest. */
	for (int o = 1; o < PATH_OUTSTANDING; o++) {
		if (c->out[o].txid == 0 ||
		    (c->out[slot].txid != 0 && c->out[o].sent_ns < c->out[slot].sent_ns))
			slot = o;
	}
	do
		txid = rand_u64();
	while (txid == 0);
	/* A ping pushed out unanswered is a miss, as if it had timed out. */
	if (c->out[slot].txid)
		c->misses++;
	c->out[slot].txid = txid;
	c->out[slot].sent_ns = now_ns;
	c->pings++;
	c->last_ping_ns = now_ns;
	p->pings_tx++;
	if (!p->first_ping_ns)
		p->first_ping_ns = now_ns;
	send_probe(t, p, PROBE_PING, &c->ep, txid);
}

uint64_t path_timer(struct path_table *t, uint64_t now_ns)
{
	uint64_t timeout_ns = (uint64_t)t->cfg.pong_timeout_ms * NS_PER_MS, next = UINT64_MAX;

	for (size_t pi = 0; pi < t->n_peers; pi++) {
		struct path_peer *p = &t->peers[pi];

		if (!p->active)
			continue;
		/* Unanswered pings become misses; too many end the current path. */
		for (size_t i = 0; i < p->n_cand; i++) {
			struct path_candidate *c = &p->cand[i];

			for (int o = 0; o < PATH_OUTSTANDING; o++) {
				if (c->out[o].txid && now_ns - c->out[o].sent_ns >= timeout_ns) {
					c->out[o].txid = 0;
					c->misses++;
				}
			}
		}
		if (p->current >= 0 && p->cand[p->current].misses >= t->cfg.dead_misses) {
			int best = -1;

			for (size_t i = 0; i < p->n_cand; i++) {
				const struct path_candidate *c = &p->cand[i];

				if ((int)i != p->current && c->pongs && c->misses == 0 &&
				    (best < 0 || c->srtt_ns < p->cand[best].srtt_ns))
					best = (int)i;
			}
			set_current(t, p, best, now_ns);
		}
		for (size_t i = 0; i < p->n_cand; i++) {
			struct path_candidate *c = &p->cand[i];

			if (now_ns >= c->next_ping_ns) {
				ping(t, p, c, now_ns);
				c->next_ping_ns = now_ns + interval_ns(t, p, (int)i, now_ns);
			}
			if (c->next_ping_ns < next)
				next = c->next_ping_ns;
			for (int o = 0; o < PATH_OUTSTANDING; o++) {
				if (c->out[o].txid && c->out[o].sent_ns + timeout_ns < next)
					next = c->out[o].sent_ns + timeout_ns;
			}
		}
	}
	return next;
}
