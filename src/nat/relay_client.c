/* relay_client.c - a member's sessions on relays: bind, keep bound, measure, unbind: a pure core.
 */
#include "nat/relay_client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/secret.h"
#include "util/now.h"

const struct relay_client_config relay_client_config_default = {
	.rebind_ms = 20000,
	.retransmit_ms = 1000,
	.lost_after = 3,
	.lost_retry_ms = 20000,
	.not_bound_min_ms = 1000,
};

const char *relay_link_state_name(enum relay_link_state s)
{
	switch (s) {
	case RELAY_LINK_IDLE:
		return "idle";
	case RELAY_LINK_BINDING:
		return "binding";
	case RELAY_LINK_BOUND:
		return "bound";
	case RELAY_LINK_LOST:
		return "lost";
	}
	return "?";
}

int relay_client_init(struct relay_client *c, size_t max_relays,
                      const struct relay_client_config *cfg, const struct send_ops *ops,
                      relay_event_fn *on_event, void *ctx)
{
	memset(c, 0, sizeof(*c));
	c->links = calloc(max_relays ? max_relays : 1, sizeof(*c->links));
	if (!c->links)
		return -ENOMEM;
	c->max_links = max_relays;
	c->cfg = cfg ? *cfg : relay_client_config_default;
	c->ops = *ops;
	c->on_event = on_event;
	c->ctx = ctx;
	return 0;
}

void relay_client_clear(struct relay_client *c)
{
	free(c->links);
	secret_zero(c, sizeof(*c));
}

bool relay_client_set_token(struct relay_client *c, const uint8_t *token, size_t len,
                            const uint8_t session_key[MAC_KEY_LEN], uint64_t now_ns)
{
	if (len != RELAY_TOKEN_LEN || token[0] != RELAY_VERSION)
		return false;
	if (c->has_token) {
		memcpy(c->prev_key, c->key, MAC_KEY_LEN);
		c->has_prev_key = true;
	}
	memcpy(c->token, token, RELAY_TOKEN_LEN);
	memcpy(c->key, session_key, MAC_KEY_LEN);
	c->self_tag = be32_load(token + RELAY_TOKEN_PEER_OFFSET);
	c->has_token = true;
	for (size_t i = 0; i < c->n_links; i++) {
		struct relay_link *r = &c->links[i];

		if (!r->active)
			continue;
		if (r->state == RELAY_LINK_IDLE)
			r->state = RELAY_LINK_BINDING;
		r->next_bind_ns = now_ns;
	}
	return true;
}

int relay_client_find(const struct relay_client *c, const struct addr *relay)
{
	for (size_t i = 0; i < c->n_links; i++) {
		if (c->links[i].active && addr_equal(&c->links[i].addr, relay))
			return (int)i;
	}
	return -1;
}

int relay_client_add(struct relay_client *c, const struct addr *relay, uint64_t now_ns)
{
	struct relay_link *r = NULL;
	int idx = relay_client_find(c, relay);

	if (idx >= 0)
		return idx;
	for (size_t i = 0; i < c->n_links; i++) {
		if (!c->links[i].active) {
			r = &c->links[i];
			break;
		}
	}
	if (!r) {
		if (c->n_links == c->max_links)
			return -ENOSPC;
		r = &c->links[c->n_links++];
	}
	memset(r, 0, sizeof(*r));
	r->active = true;
	r->addr = *relay;
	addr_clear(&r->observed);
	r->state = c->has_token ? RELAY_LINK_BINDING : RELAY_LINK_IDLE;
	r->next_bind_ns = now_ns;
	return (int)(r - c->links);
}

const struct relay_link *relay_client_link(const struct relay_client *c, size_t relay)
{
	return relay < c->n_links && c->links[relay].active ? &c->links[relay] : NULL;
}

/* Strictly increasing wall-clock milliseconds (PROTOCOL.md: above the session's last). */
static uint64_t next_ts(struct relay_client *c, int64_t wall_ms)
{
	uint64_t ts = wall_ms > 0 ? (uint64_t)wall_ms : 0;

	if (ts <= c->last_ts_ms)
		ts = c->last_ts_ms + 1;
	c->last_ts_ms = ts;
	return ts;
}

static void emit(struct relay_client *c, struct relay_event *ev)
{
	ev->addr = &c->links[ev->relay].addr;
	if (c->on_event)
		c->on_event(c->ctx, ev);
}

/* Relay control frames go straight to the relay, never through another. */
static void send_to(struct relay_client *c, const struct addr *relay, const uint8_t *buf,
                    size_t len)
{
	struct endpoint to;

	endpoint_from_addr(&to, relay);
	if (c->ops.send(c->ops.ctx, &to, buf, len) < 0)
		c->send_fails++;
}

static void send_bind(struct relay_client *c, struct relay_link *r, uint64_t now_ns,
                      int64_t wall_ms)
{
	uint8_t buf[RELAY_BIND_LEN];
	int slot = 0;

	/* An empty slot, or else the oldest. */
	for (int o = 1; o < RELAY_CLIENT_OUTSTANDING; o++) {
		if (r->out[o].ts_ms == 0 ||
		    (r->out[slot].ts_ms != 0 && r->out[o].sent_ns < r->out[slot].sent_ns))
			slot = o;
	}
	r->out[slot].ts_ms = next_ts(c, wall_ms);
	r->out[slot].sent_ns = now_ns;
	relay_create_bind(buf, c->token, r->out[slot].ts_ms, c->key);
	r->unacked++;
	r->binds_tx++;
	r->last_bind_ns = now_ns;
	r->next_bind_ns = now_ns + (uint64_t)(r->state == RELAY_LINK_LOST ? c->cfg.lost_retry_ms
	                                                                  : c->cfg.retransmit_ms) *
	                               NS_PER_MS;
	send_to(c, &r->addr, buf, sizeof(buf));
}

void relay_client_remove(struct relay_client *c, size_t relay, bool unbind, int64_t wall_ms)
{
	struct relay_link *r;

	if (relay >= c->n_links || !c->links[relay].active)
		return;
	r = &c->links[relay];
	if (unbind && c->has_token) {
		uint8_t buf[RELAY_UNBIND_LEN];

		relay_create_unbind(buf, next_ts(c, wall_ms), c->key);
		send_to(c, &r->addr, buf, sizeof(buf));
	}
	memset(r, 0, sizeof(*r));
}

static enum relay_verdict on_ack(struct relay_client *c, size_t idx, const uint8_t *pkt, size_t len,
                                 uint64_t now_ns)
{
	struct relay_link *r = &c->links[idx];
	struct relay_event ev = { .type = RELAY_EV_BOUND, .relay = idx };
	struct addr observed;
	enum relay_verdict v;
	uint64_t ts, rtt;
	int slot = -1;

	if (!c->has_token)
		return RELAY_DROP_UNEXPECTED;
	v = relay_consume_bind_ack(pkt, len, c->key, &ts, &observed);
	/* A bind made with the previous token may be answered after the switch. */
	if (v == RELAY_DROP_MAC && c->has_prev_key)
		v = relay_consume_bind_ack(pkt, len, c->prev_key, &ts, &observed);
	if (v != RELAY_OK)
		return v;
	for (int o = 0; o < RELAY_CLIENT_OUTSTANDING; o++) {
		if (r->out[o].ts_ms && r->out[o].ts_ms == ts)
			slot = o;
	}
	/* Acks answer binds we have outstanding; a duplicate or a late one is not news. */
	if (slot < 0)
		return RELAY_DROP_UNEXPECTED;
	rtt = now_ns - r->out[slot].sent_ns;
	memset(r->out, 0, sizeof(r->out));
	r->last_rtt_ns = rtt;
	r->srtt_ns = r->acks_rx ? (7 * r->srtt_ns + rtt) / 8 : rtt;
	r->acks_rx++;
	r->unacked = 0;
	ev.first = r->state != RELAY_LINK_BOUND || !addr_equal(&r->observed, &observed);
	if (r->state != RELAY_LINK_BOUND)
		r->bound_ns = now_ns;
	r->state = RELAY_LINK_BOUND;
	r->observed = observed;
	r->next_bind_ns = now_ns + (uint64_t)c->cfg.rebind_ms * NS_PER_MS;
	ev.rtt_ns = r->srtt_ns;
	ev.observed = &r->observed;
	emit(c, &ev);
	return RELAY_OK;
}

static enum relay_verdict on_error(struct relay_client *c, size_t idx, const uint8_t *pkt,
                                   size_t len, uint64_t now_ns, int64_t wall_ms)
{
	struct relay_link *r = &c->links[idx];
	struct relay_event ev = { .relay = idx };
	enum relay_verdict v;
	uint8_t code;
	uint32_t tag;

	v = relay_consume_error(pkt, len, &code, &tag);
	if (v != RELAY_OK)
		return v;
	/* Errors are unauthenticated hints (PROTOCOL.md): none ends a session here. */
	switch (code) {
	case RELAY_ERR_NOT_BOUND:
		if (!c->has_token)
			return RELAY_DROP_UNEXPECTED;
		r->errors_rx++;
		if (r->last_not_bound_ns &&
		    now_ns - r->last_not_bound_ns < (uint64_t)c->cfg.not_bound_min_ms * NS_PER_MS)
			return RELAY_DROP_RATE;
		r->last_not_bound_ns = now_ns;
		/* The relay answers, so it is reachable: a fresh round of binds. */
		if (r->state != RELAY_LINK_BINDING) {
			r->state = RELAY_LINK_BINDING;
			r->unacked = 0;
		}
		send_bind(c, r, now_ns, wall_ms);
		return RELAY_OK;
	case RELAY_ERR_NOT_HERE:
		r->errors_rx++;
		ev.type = RELAY_EV_NOT_HERE;
		ev.tag = tag;
		emit(c, &ev);
		return RELAY_OK;
	case RELAY_ERR_REFUSED:
	case RELAY_ERR_FULL:
	case RELAY_ERR_TAG_TAKEN:
	case RELAY_ERR_CLOCK:
		/* Answers to a bind: with none outstanding, somebody else is talking. */
		if (r->unacked == 0)
			return RELAY_DROP_UNEXPECTED;
		r->errors_rx++;
		ev.type = RELAY_EV_REFUSED;
		ev.code = code;
		emit(c, &ev);
		return RELAY_OK;
	default:
		return RELAY_DROP_UNEXPECTED;
	}
}

enum relay_verdict relay_client_input(struct relay_client *c, const uint8_t *pkt, size_t len,
                                      const struct addr *from, uint64_t now_ns, int64_t wall_ms)
{
	enum relay_verdict v;
	int idx;

	if (!relay_is(pkt, len)) {
		v = RELAY_DROP_MALFORMED;
		goto drop;
	}
	idx = relay_client_find(c, from);
	if (idx < 0) {
		v = RELAY_DROP_UNEXPECTED;
		goto drop;
	}
	switch (pkt[0]) {
	case RELAY_BIND_ACK:
		v = on_ack(c, (size_t)idx, pkt, len, now_ns);
		break;
	case RELAY_ERROR:
		v = on_error(c, (size_t)idx, pkt, len, now_ns, wall_ms);
		break;
	default:
		/* Data is the data plane's; binds and unbinds go to relays, not members. */
		v = RELAY_DROP_TYPE;
		break;
	}
	if (v == RELAY_OK)
		return v;
drop:
	c->dropped[v]++;
	return v;
}

uint64_t relay_client_timer(struct relay_client *c, uint64_t now_ns, int64_t wall_ms)
{
	uint64_t next = UINT64_MAX;

	for (size_t i = 0; i < c->n_links; i++) {
		struct relay_link *r = &c->links[i];

		if (!r->active || r->state == RELAY_LINK_IDLE || !c->has_token)
			continue;
		if (now_ns >= r->next_bind_ns) {
			if (r->unacked >= c->cfg.lost_after && r->state != RELAY_LINK_LOST) {
				struct relay_event ev = { .type = RELAY_EV_LOST, .relay = i };

				r->state = RELAY_LINK_LOST;
				memset(r->out, 0, sizeof(r->out));
				emit(c, &ev);
			}
			/* The callback may have removed it. */
			if (r->active)
				send_bind(c, r, now_ns, wall_ms);
		}
		if (r->active && r->next_bind_ns < next)
			next = r->next_bind_ns;
	}
	return next;
}
