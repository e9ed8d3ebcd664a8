/* relays.c - the relay manager: relays listed, bound and measured; each pair meets on one. */
#include "daemon/relays.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/ctl.h"
#include "crypto/secret.h"
#include "daemon/conn.h"
#include "nat/relay_client.h"
#include "nat/relay_frame.h"
#include "nat/relay_token.h"
#include "util/log.h"
#include "util/now.h"
#include "wg/device.h"

/*
 * How a pair meets (docs/ARCHITECTURE.md, "Relays"):
 *   - Once any member needs a relay, the daemon lists the relays, gets a
 *     token for its party and binds to each listed relay (at most
 *     RELAYS_MAX): binds measure the round trip to each relay, keep the NAT
 *     mapping toward it open, and leave a second relay ready if the first dies.
 *   - It tells each member it needs a relay for its round trips to the relays
 *     (a signal {"relay_rtts": {"<relay id>": ms}}); a member that gets one
 *     needs a relay for the sender too.
 *   - Both ends pick the relay with the smallest sum of the two round trips
 *     (ties: the smaller id), so both pick the same one, and it is the one
 *     that adds the least latency.  Without the other's numbers yet, each
 *     uses its own fastest relay.
 *   - A relay that stops acking is dropped from every pair's candidates and
 *     the numbers are sent again without it; pairs move to the next best.
 *     Numbers that change a lot (a relay much faster than before) are sent
 *     again too, so pairs move when another relay is clearly faster.
 *   - Nobody needing a relay for UNUSED_SEC: unbind everything.
 */
enum {
	RELAYS_MAX = 8,
	PAIRS_MAX = 256,
	LIST_REFRESH_SEC = 300,
	RETRY_SEC = 5,
	DEAD_SEC = 60,
	UNUSED_SEC = 60,
	RESIGNAL_PERCENT = 30,
	RESIGNAL_MIN_SEC = 10,
};

struct relay_entry {
	char id[RELAY_ID_MAX + 1];
	struct addr addr;
	struct addr observed; /* our address as the relay last saw it */
	int link;             /* index in the relay client; -1 when not bound */
	uint64_t dead_until;  /* refused or lost: not offered until then */
};

/* What we know of one member that needs (or may need) a relay with us. */
struct pair {
	bool active;
	char peer_id[PEER_ID_MAX + 1];
	bool have_theirs;
	char their_ids[RELAYS_MAX][RELAY_ID_MAX + 1];
	uint32_t their_ms[RELAYS_MAX];
	size_t n_theirs;
	uint32_t sent_ms[RELAYS_MAX]; /* our numbers as last sent, by relay entry */
	uint64_t sent_ns;             /* 0: never */
};

struct relays {
	struct event_base *base;
	struct ctl *ctl;
	struct conn_manager *cm;
	struct relay_client client;
	struct relay_entry list[RELAYS_MAX];
	size_t n;
	struct pair pairs[PAIRS_MAX];

	bool active; /* someone needs a relay */
	uint64_t unused_since;
	bool list_pending, token_pending;
	uint64_t list_at, token_retry_at, list_retry_at;
	int64_t token_expires_ms, token_issued_ms;
	struct event *timer; /* the relay client's */
	struct event *tick;  /* housekeeping, every second */
	void (*on_moved)(void *ctx);
	void *moved_ctx;
};

static uint64_t secs(unsigned s)
{
	return (uint64_t)s * NS_PER_SEC;
}

static int dev_send(void *ctx, const struct endpoint *to, const uint8_t *buf, size_t len)
{
	struct relays *r = ctx;

	return wg_device_send_raw(r->cm->dev, buf, len, to);
}

static void arm(struct relays *r)
{
	uint64_t now = now_mono_ns();
	uint64_t next = relay_client_timer(&r->client, now, now_wall_ms());
	struct timeval tv;

	if (next == UINT64_MAX) {
		evtimer_del(r->timer);
		return;
	}
	next = next > now ? next - now : 0;
	tv.tv_sec = (time_t)(next / NS_PER_SEC);
	tv.tv_usec = (suseconds_t)(next % NS_PER_SEC / 1000);
	evtimer_add(r->timer, &tv);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	arm(arg);
}

static struct relay_entry *entry_by_addr(struct relays *r, const struct addr *a)
{
	for (size_t i = 0; i < r->n; i++) {
		if (addr_equal(&r->list[i].addr, a))
			return &r->list[i];
	}
	return NULL;
}

const char *relays_name(const struct relays *r, const struct addr *relay)
{
	for (size_t i = 0; i < r->n; i++) {
		if (addr_equal(&r->list[i].addr, relay))
			return r->list[i].id;
	}
	return NULL;
}

/* Our round trip to a relay in ms, or 0 when it is not usable now. */
static uint32_t our_ms(struct relays *r, const struct relay_entry *e, uint64_t now)
{
	const struct relay_link *l;

	if (e->link < 0 || e->dead_until > now)
		return 0;
	l = relay_client_link(&r->client, (size_t)e->link);
	if (!l || l->state != RELAY_LINK_BOUND || !l->srtt_ns)
		return 0;
	return (uint32_t)(l->srtt_ns / NS_PER_MS) + 1;
}

static struct pair *pair_find(struct relays *r, const char *peer_id, bool create)
{
	struct pair *free_slot = NULL;

	for (size_t i = 0; i < PAIRS_MAX; i++) {
		if (r->pairs[i].active && strcmp(r->pairs[i].peer_id, peer_id) == 0)
			return &r->pairs[i];
		if (!r->pairs[i].active && !free_slot)
			free_slot = &r->pairs[i];
	}
	if (!create || !free_slot)
		return NULL;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->active = true;
	snprintf(free_slot->peer_id, sizeof(free_slot->peer_id), "%s", peer_id);
	return free_slot;
}

/*
 * The relays both ends of the pair pick (the header comment), best first,
 * at most max; skip is left out (for the second choice).
 */
static struct relay_entry *choose(struct relays *r, const struct pair *p, uint64_t now,
                                  const struct relay_entry *skip)
{
	struct relay_entry *best = NULL;
	uint64_t best_cost = UINT64_MAX;

	for (size_t i = 0; i < r->n; i++) {
		struct relay_entry *e = &r->list[i];
		uint64_t cost = our_ms(r, e, now);

		if (!cost || e == skip)
			continue;
		if (p && p->have_theirs) {
			bool found = false;

			for (size_t j = 0; j < p->n_theirs && !found; j++) {
				if (strcmp(p->their_ids[j], e->id) == 0) {
					cost += p->their_ms[j];
					found = true;
				}
			}
			if (!found)
				continue;
		}
		if (cost < best_cost ||
		    (cost == best_cost && best && strcmp(e->id, best->id) < 0)) {
			best = e;
			best_cost = cost;
		}
	}
	return best;
}

/* Sends our numbers to the member when they are new or changed a lot. */
static void signal_numbers(struct relays *r, struct pair *p, uint64_t now, bool force)
{
	json_t *rtts = json_object(), *data;
	bool changed = force || !p->sent_ns;
	int ret;

	for (size_t i = 0; i < r->n; i++) {
		uint32_t ms = our_ms(r, &r->list[i], now), old = p->sent_ms[i];

		if (ms)
			json_object_set_new(rtts, r->list[i].id, json_integer(ms));
		if ((ms == 0) != (old == 0) || (ms && old &&
		                                (ms * 100 < old * (100 - RESIGNAL_PERCENT) ||
		                                 ms * 100 > old * (100 + RESIGNAL_PERCENT))))
			changed = true;
	}
	if (!changed || (p->sent_ns && !force && now - p->sent_ns < secs(RESIGNAL_MIN_SEC)) ||
	    json_object_size(rtts) == 0) {
		json_decref(rtts);
		return;
	}
	data = json_pack("{s:o}", "relay_rtts", rtts);
	ret = r->ctl->ops->signal(r->ctl, p->peer_id, data);
	json_decref(data);
	if (ret < 0) {
		log_debug("relays: cannot tell %s our relay round trips: %s", p->peer_id,
		          strerror(-ret));
		return;
	}
	for (size_t i = 0; i < r->n; i++)
		p->sent_ms[i] = our_ms(r, &r->list[i], now);
	p->sent_ns = now;
}

static void on_relays(void *arg, int status, const char *error, const struct ctl_relay *list,
                      size_t n)
{
	struct relays *r = arg;
	uint64_t now = now_mono_ns();
	struct relay_entry next[RELAYS_MAX];
	size_t m = 0;

	r->list_pending = false;
	if (status) {
		log_info("relays: cannot list them: %s", error ? error : "?");
		r->list_retry_at = now + secs(RETRY_SEC);
		return;
	}
	r->list_at = now;
	for (size_t i = 0; i < n && m < RELAYS_MAX; i++) {
		struct relay_entry *old = entry_by_addr(r, &list[i].addr);

		if (old) {
			next[m] = *old;
		} else {
			memset(&next[m], 0, sizeof(next[m]));
			next[m].addr = list[i].addr;
			addr_clear(&next[m].observed);
			next[m].link = -1;
		}
		snprintf(next[m].id, sizeof(next[m].id), "%s", list[i].id);
		m++;
	}
	/* Relays that left the list are unbound and dropped from every pair. */
	for (size_t i = 0; i < r->n; i++) {
		bool kept = false;

		for (size_t j = 0; j < m; j++)
			kept |= addr_equal(&next[j].addr, &r->list[i].addr);
		if (kept)
			continue;
		if (r->list[i].link >= 0)
			relay_client_remove(&r->client, (size_t)r->list[i].link, true,
			                    now_wall_ms());
		path_forget_relay(&r->cm->trav.paths, &r->list[i].addr, now);
	}
	memcpy(r->list, next, m * sizeof(next[0]));
	r->n = m;
	if (!m)
		log_info("relays: the control server knows none; pairs without a direct path "
		         "stay unconnected");
	for (size_t i = 0; i < r->n; i++) {
		if (r->list[i].link < 0) {
			int link = relay_client_add(&r->client, &r->list[i].addr, now);

			r->list[i].link = link >= 0 ? link : -1;
		}
	}
	arm(r);
}

static void on_token(void *arg, int status, const char *error, const uint8_t *token,
                     size_t token_len, const uint8_t session_key[32], int64_t expires_ms)
{
	struct relays *r = arg;
	uint64_t now = now_mono_ns();

	r->token_pending = false;
	if (status || !relay_client_set_token(&r->client, token, token_len, session_key, now)) {
		log_info("relays: no token: %s",
		         status ? (error ? error : "?") : "malformed token");
		r->token_retry_at = now + secs(RETRY_SEC);
		return;
	}
	r->token_issued_ms = now_wall_ms();
	r->token_expires_ms = expires_ms;
	arm(r);
}

/* Starts what is missing: the list, the token (renewed at half its life). */
static void refresh(struct relays *r, uint64_t now)
{
	int64_t wall = now_wall_ms();
	int ret;

	if (!r->list_pending && now >= r->list_retry_at &&
	    (!r->list_at || now - r->list_at >= secs(LIST_REFRESH_SEC))) {
		r->list_pending = true;
		ret = r->ctl->ops->relays(r->ctl, on_relays, r);
		if (ret < 0) {
			r->list_pending = false;
			r->list_retry_at = now + secs(RETRY_SEC);
		}
	}
	if (!r->token_pending && now >= r->token_retry_at &&
	    (!r->token_expires_ms ||
	     wall >= r->token_issued_ms + (r->token_expires_ms - r->token_issued_ms) / 2)) {
		r->token_pending = true;
		ret = r->ctl->ops->relay_token(r->ctl, on_token, r);
		if (ret < 0) {
			r->token_pending = false;
			r->token_retry_at = now + secs(RETRY_SEC);
		}
	}
}

static void deactivate(struct relays *r)
{
	int64_t wall = now_wall_ms();

	log_info("relays: no member needs one any more; unbinding");
	for (size_t i = 0; i < r->n; i++) {
		if (r->list[i].link >= 0)
			relay_client_remove(&r->client, (size_t)r->list[i].link, true, wall);
		path_forget_relay(&r->cm->trav.paths, &r->list[i].addr, now_mono_ns());
		r->list[i].link = -1;
	}
	r->n = 0;
	r->active = false;
	r->list_at = 0;
	arm(r);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct relays *r = arg;
	uint64_t now = now_mono_ns();
	bool needed = false;

	for (size_t i = 0; i < r->cm->max_conns; i++) {
		const struct conn *c = &r->cm->conns[i];

		if (c->active && c->wants_relay) {
			struct pair *p = pair_find(r, c->peer_id, true);

			needed = true;
			if (p && r->active)
				signal_numbers(r, p, now, false);
		}
	}
	if (needed) {
		r->unused_since = 0;
		if (!r->active) {
			log_info("relays: a member needs one; listing and binding");
			r->active = true;
		}
		refresh(r, now);
	} else if (r->active) {
		if (!r->unused_since)
			r->unused_since = now;
		else if (now - r->unused_since >= secs(UNUSED_SEC))
			deactivate(r);
	}
}

static void on_event(void *ctx, const struct relay_event *ev)
{
	struct relays *r = ctx;
	struct relay_entry *e = entry_by_addr(r, ev->addr);
	uint64_t now = now_mono_ns();
	char buf[ADDR_STRLEN];

	if (!e)
		return;
	switch (ev->type) {
	case RELAY_EV_BOUND:
		if (ev->first)
			log_info("relays: bound to %s (%s), rtt %.1f ms, it sees us at %s", e->id,
			         addr_format(&e->addr, buf), (double)ev->rtt_ns / NS_PER_MS,
			         ev->observed ? addr_format(ev->observed, buf) : "?");
		e->dead_until = 0;
		/* Our address toward the relay moved: our NAT (or network) may have changed. */
		if (ev->observed && addr_is_set(&e->observed) &&
		    !addr_equal(&e->observed, ev->observed) && r->on_moved)
			r->on_moved(r->moved_ctx);
		if (ev->observed)
			e->observed = *ev->observed;
		break;
	case RELAY_EV_LOST:
		log_info("relays: %s (%s) stopped answering; pairs move elsewhere", e->id,
		         addr_format(&e->addr, buf));
		e->dead_until = now + secs(DEAD_SEC);
		path_forget_relay(&r->cm->trav.paths, &e->addr, now);
		for (size_t i = 0; i < PAIRS_MAX; i++) {
			if (r->pairs[i].active)
				signal_numbers(r, &r->pairs[i], now, true);
		}
		break;
	case RELAY_EV_REFUSED:
		log_info("relays: %s refused us: %s", e->id, relay_error_name(ev->code));
		if (ev->code == 3 /* refused: a bad or expired token */) {
			r->token_expires_ms = 0;
			r->token_retry_at = 0;
		} else {
			e->dead_until = now + secs(DEAD_SEC);
			path_forget_relay(&r->cm->trav.paths, &e->addr, now);
		}
		break;
	case RELAY_EV_NOT_HERE:
		log_debug("relays: member with tag %08x is not on %s (yet)", ev->tag, e->id);
		break;
	}
}

size_t relays_endpoints_for(struct relays *r, const struct conn *c, struct endpoint *out,
                            size_t max)
{
	const struct pair *p = pair_find(r, c->peer_id, false);
	uint8_t hdr[RELAY_DATA_HDR_LEN];
	struct relay_entry *first = NULL;
	uint64_t now = now_mono_ns();
	uint32_t tag;
	size_t n = 0;

	if (!r->active || !relay_tag_from_peer_id(c->peer_id, &tag))
		return 0;
	relay_create_data_header(hdr, tag);
	/* The pair's relay, and the next best: already measured when the first one dies. */
	while (n < max && n < 2) {
		struct relay_entry *e = choose(r, p, now, first);

		if (!e)
			break;
		endpoint_relayed(&out[n++], &e->addr, hdr, sizeof(hdr));
		first = e;
	}
	return n;
}

void relays_release(struct relays *r, const struct conn *c)
{
	/* Pairs keep their numbers; the tick notices when nobody needs a relay. */
	(void)r;
	(void)c;
}

void relays_input(struct relays *r, const uint8_t *data, size_t len, const struct addr *from)
{
	relay_client_input(&r->client, data, len, from, now_mono_ns(), now_wall_ms());
	arm(r);
}

size_t relays_parse_rtts(const json_t *data, char ids[][RELAY_ID_MAX + 1], uint32_t *ms, size_t max)
{
	const json_t *rtts = json_object_get(data, "relay_rtts");
	const char *id;
	json_t *v;
	size_t n = 0;

	if (!json_is_object(rtts))
		return 0;
	json_object_foreach((json_t *)rtts, id, v)
	{
		if (n == max || !json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 60000 || strlen(id) == 0 || strlen(id) > RELAY_ID_MAX)
			continue;
		snprintf(ids[n], RELAY_ID_MAX + 1, "%s", id);
		ms[n++] = (uint32_t)json_integer_value(v);
	}
	return n;
}

void relays_on_signal(struct relays *r, const char *from, const json_t *data)
{
	struct conn *c = conn_find(r->cm, from);
	struct pair *p;

	if (!c || !json_is_object(json_object_get(data, "relay_rtts")))
		return;
	p = pair_find(r, from, true);
	if (!p)
		return;
	p->n_theirs = relays_parse_rtts(data, p->their_ids, p->their_ms, RELAYS_MAX);
	p->have_theirs = true;
	/* The member needs a relay with us: so do we with it. */
	if (!c->wants_relay && r->cm->cfg.relay != RELAY_NEVER) {
		log_info("peer %s (%s): asks to meet on a relay", c->name, c->peer_id);
		c->wants_relay = true;
	}
}

void relays_forget_pair(struct relays *r, const char *peer_id)
{
	struct pair *p = pair_find(r, peer_id, false);

	if (p)
		memset(p, 0, sizeof(*p));
}

struct relays *relays_create(struct event_base *base, struct ctl *ctl, struct conn_manager *cm,
                             void (*on_moved)(void *ctx), void *moved_ctx)
{
	struct relays *r = calloc(1, sizeof(*r));
	struct send_ops ops;
	struct timeval tv = { 1, 0 };

	if (!r)
		return NULL;
	r->base = base;
	r->ctl = ctl;
	r->cm = cm;
	r->on_moved = on_moved;
	r->moved_ctx = moved_ctx;
	ops.send = dev_send;
	ops.ctx = r;
	r->timer = evtimer_new(base, on_timer, r);
	r->tick = event_new(base, -1, EV_PERSIST, on_tick, r);
	if (!r->timer || !r->tick ||
	    relay_client_init(&r->client, RELAYS_MAX, NULL, &ops, on_event, r) < 0) {
		relays_destroy(r);
		return NULL;
	}
	evtimer_add(r->tick, &tv);
	return r;
}

void relays_destroy(struct relays *r)
{
	if (!r)
		return;
	if (r->active && r->client.links)
		deactivate(r);
	if (r->client.links)
		relay_client_clear(&r->client);
	if (r->timer)
		event_free(r->timer);
	if (r->tick)
		event_free(r->tick);
	secret_zero(r, sizeof(*r));
	free(r);
}
