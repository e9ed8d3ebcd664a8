/* engine.c - the relay's packet core: binds, forwarding, errors, expiry: bytes in, verdicts out. */
#include "relay/engine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/secret.h"
#include "nat/relay_token.h"
#include "util/now.h"

int engine_init(struct engine *e, const struct engine_config *cfg, const struct blocklist *blocked)
{
	int rc;

	memset(e, 0, sizeof(*e));
	e->cfg = *cfg;
	e->blocked = blocked;
	if (!e->cfg.rate_burst)
		e->cfg.rate_burst = e->cfg.rate_pps;
	e->tombs = calloc(cfg->max_clients ? cfg->max_clients : 1, sizeof(*e->tombs));
	if (!e->tombs) {
		rc = -ENOMEM;
		goto err;
	}
	rc = sessions_init(&e->sessions, cfg->max_clients);
	if (rc)
		goto err_tombs;
	rc =
	    limiter_init(&e->rate, e->cfg.rate_pps, e->cfg.rate_burst, ENGINE_LIMITER_SLOTS, false);
	if (rc)
		goto err_sessions;
	rc = limiter_init(&e->binds, ENGINE_BINDS_PER_SEC, 2 * ENGINE_BINDS_PER_SEC,
	                  ENGINE_ERROR_SLOTS, false);
	if (rc)
		goto err_rate;
	rc = limiter_init(&e->errors, 1, 1, ENGINE_ERROR_SLOTS, true);
	if (rc)
		goto err_binds;
	e->errors_global.credit_ns = NS_PER_SEC;
	return 0;
err_binds:
	limiter_clear(&e->binds);
err_rate:
	limiter_clear(&e->rate);
err_sessions:
	sessions_clear(&e->sessions);
err_tombs:
	free(e->tombs);
err:
	secret_zero(e, sizeof(*e));
	return rc;
}

void engine_clear(struct engine *e)
{
	sessions_clear(&e->sessions);
	limiter_clear(&e->rate);
	limiter_clear(&e->binds);
	limiter_clear(&e->errors);
	free(e->tombs);
	secret_zero(e, sizeof(*e));
}

size_t engine_sessions(const struct engine *e)
{
	return sessions_count(&e->sessions);
}

/* An error frame to the source, if its budgets allow; 8 bytes, less than anything that draws one.
 */
static void error_reply(struct engine *e, struct engine_out *out, uint8_t code, uint32_t tag,
                        const struct addr *from, uint64_t now_ns)
{
	if (!limiter_allow(&e->errors, from, now_ns) ||
	    !limiter_bucket_take(&e->errors_global, NS_PER_SEC / ENGINE_ERRORS_PER_SEC, NS_PER_SEC,
	                         now_ns)) {
		e->stats.errors_suppressed++;
		return;
	}
	relay_create_error(out->reply, code, tag);
	out->reply_len = RELAY_ERROR_LEN;
	out->to = *from;
	out->action = ENGINE_REPLY;
	e->stats.errors_sent++;
}

/* Ends a session whose last bind may still be replayed: its timestamp stays behind. */
static void bury(struct engine *e, struct session *x)
{
	struct engine_tomb *t = &e->tombs[e->next_tomb];

	memcpy(t->party, x->party, RELAY_TOKEN_PARTY_LEN);
	memcpy(t->peer_id, x->peer_id, RELAY_TOKEN_PEER_LEN);
	t->ts_ms = x->last_ts_ms;
	e->next_tomb = (e->next_tomb + 1) % e->cfg.max_clients;
	sessions_remove(&e->sessions, x);
}

/* The last timestamp of an ended session of this member, or 0. */
static uint64_t tomb_ts(const struct engine *e, const struct relay_token_info *info)
{
	uint64_t ts = 0;

	for (size_t i = 0; i < e->cfg.max_clients; i++) {
		const struct engine_tomb *t = &e->tombs[i];

		if (t->ts_ms > ts && memcmp(t->peer_id, info->peer_id, RELAY_TOKEN_PEER_LEN) == 0 &&
		    memcmp(t->party, info->party, RELAY_TOKEN_PARTY_LEN) == 0)
			ts = t->ts_ms;
	}
	return ts;
}

static bool ts_in_window(uint64_t ts_ms, int64_t wall_ms)
{
	int64_t d = (int64_t)ts_ms - wall_ms;

	return ts_ms <= INT64_MAX && d <= RELAY_CLOCK_WINDOW_MS && d >= -RELAY_CLOCK_WINDOW_MS;
}

static enum relay_verdict on_data(struct engine *e, struct session *src, uint8_t *pkt, size_t len,
                                  const struct addr *from, uint64_t now_ns, struct engine_out *out)
{
	enum relay_verdict v = relay_check_data(pkt, len);
	struct session *dst;
	uint32_t tag;

	if (v != RELAY_OK)
		return v;
	if (!src) {
		error_reply(e, out, RELAY_ERR_NOT_BOUND, 0, from, now_ns);
		return RELAY_DROP_UNKNOWN_SOURCE;
	}
	src->last_seen_ns = now_ns;
	tag = relay_data_tag(pkt);
	dst = sessions_by_tag(&e->sessions, src->party, tag);
	if (!dst || dst == src) {
		error_reply(e, out, RELAY_ERR_NOT_HERE, tag, from, now_ns);
		return RELAY_DROP_NOT_HERE;
	}
	relay_data_set_tag(pkt, src->tag);
	src->local = out->local; /* where this datagram came to */
	out->to = dst->addr;
	out->local = dst->local;
	out->action = ENGINE_FORWARD;
	return RELAY_OK;
}

/* PROTOCOL.md "Bind": length and version, token, MAC, timestamp, room, tag. */
static enum relay_verdict on_bind(struct engine *e, struct session *here, const uint8_t *pkt,
                                  size_t len, const struct addr *from, uint64_t now_ns,
                                  int64_t wall_ms, struct engine_out *out)
{
	struct relay_token_info info;
	uint8_t key[MAC_KEY_LEN];
	const uint8_t *token;
	struct session *owner;
	enum relay_verdict v;
	uint64_t ts;
	uint32_t tag;

	v = relay_peek_bind(pkt, len, &token);
	if (v != RELAY_OK)
		return v;
	/* Three BLAKE2b computations follow: binds have a budget of their own. */
	if (!limiter_allow(&e->binds, from, now_ns))
		return RELAY_DROP_RATE;
	v = relay_token_verify(token, RELAY_TOKEN_LEN, e->cfg.token_key, wall_ms / MS_PER_SEC,
	                       &info);
	if (v != RELAY_OK) {
		error_reply(e, out, RELAY_ERR_REFUSED, 0, from, now_ns);
		return v;
	}
	relay_session_key(key, e->cfg.token_key, token);
	v = relay_consume_bind(pkt, len, key, &ts);
	if (v != RELAY_OK) {
		error_reply(e, out, RELAY_ERR_REFUSED, 0, from, now_ns);
		goto out;
	}
	if (!ts_in_window(ts, wall_ms)) {
		error_reply(e, out, RELAY_ERR_CLOCK, 0, from, now_ns);
		v = RELAY_DROP_CLOCK;
		goto out;
	}
	tag = relay_tag(info.peer_id);
	owner = sessions_by_tag(&e->sessions, info.party, tag);
	if (owner && memcmp(owner->peer_id, info.peer_id, RELAY_TOKEN_PEER_LEN) == 0) {
		/* This member's session: a refresh, or a move to a new address. */
		if (ts <= owner->last_ts_ms) {
			/* A replay (or a reordered bind): it must not move anything.  No answer. */
			v = RELAY_DROP_STALE_TS;
			goto out;
		}
		if (owner != here) {
			if (here) {
				/* Another member's old session at this address: the NAT moved on.
				 */
				bury(e, here);
				e->stats.sessions_replaced++;
			}
			sessions_move(&e->sessions, owner, from);
			e->stats.sessions_moved++;
		}
	} else {
		/* A new session; the address may hold another member's stale one. */
		if (sessions_full(&e->sessions) && !here) {
			error_reply(e, out, RELAY_ERR_FULL, 0, from, now_ns);
			v = RELAY_DROP_FULL;
			goto out;
		}
		if (owner) {
			error_reply(e, out, RELAY_ERR_TAG_TAKEN, 0, from, now_ns);
			v = RELAY_DROP_TAG_TAKEN;
			goto out;
		}
		/* A replay of an ended session's bind must not bring it back. */
		if (ts <= tomb_ts(e, &info)) {
			v = RELAY_DROP_STALE_TS;
			goto out;
		}
		if (here) {
			bury(e, here);
			e->stats.sessions_replaced++;
		}
		owner = sessions_add(&e->sessions, from, info.party, info.peer_id, tag);
		owner->created_ns = now_ns;
		e->stats.sessions_created++;
	}
	/* A new token (a refresh before expiry) brings a new session key. */
	memcpy(owner->key, key, MAC_KEY_LEN);
	owner->expiry = info.expiry;
	owner->last_ts_ms = ts;
	owner->last_seen_ns = now_ns;
	owner->local = out->local; /* where this bind came to */
	e->stats.binds++;
	relay_create_bind_ack(out->reply, ts, from, key);
	out->reply_len = RELAY_ACK_LEN;
	out->to = *from;
	out->action = ENGINE_REPLY;
out:
	secret_zero(key, sizeof(key));
	return v;
}

static enum relay_verdict on_unbind(struct engine *e, struct session *src, const uint8_t *pkt,
                                    size_t len, const struct addr *from, uint64_t now_ns,
                                    int64_t wall_ms, struct engine_out *out)
{
	enum relay_verdict v = relay_peek_unbind(pkt, len);
	uint64_t ts;

	if (v != RELAY_OK)
		return v;
	if (!src) {
		error_reply(e, out, RELAY_ERR_NOT_BOUND, 0, from, now_ns);
		return RELAY_DROP_UNKNOWN_SOURCE;
	}
	v = relay_consume_unbind(pkt, len, src->key, &ts);
	if (v != RELAY_OK)
		return v;
	if (!ts_in_window(ts, wall_ms))
		return RELAY_DROP_CLOCK;
	if (ts <= src->last_ts_ms)
		return RELAY_DROP_STALE_TS;
	src->last_ts_ms = ts;
	bury(e, src);
	e->stats.unbinds++;
	return RELAY_OK;
}

enum relay_verdict engine_input(struct engine *e, uint8_t *pkt, size_t len, const struct addr *from,
                                const struct addr *local, uint64_t now_ns, int64_t wall_ms,
                                struct engine_out *out)
{
	struct session *src = sessions_by_addr(&e->sessions, from);
	enum relay_verdict v;

	out->action = ENGINE_DROP;
	out->reply_len = 0;
	/* A reply goes from where the datagram came; on_data and on_bind note it. */
	if (local)
		out->local = *local;
	else
		addr_clear(&out->local);
	if (!src && e->blocked && blocklist_match(e->blocked, from)) {
		v = RELAY_DROP_BLOCKED;
		goto drop;
	}
	if (!limiter_allow(&e->rate, from, now_ns)) {
		v = RELAY_DROP_RATE;
		goto drop;
	}
	if (len < 1) {
		v = RELAY_DROP_MALFORMED;
		goto drop;
	}
	switch (pkt[0]) {
	case RELAY_DATA:
		v = on_data(e, src, pkt, len, from, now_ns, out);
		break;
	case RELAY_BIND:
		v = on_bind(e, src, pkt, len, from, now_ns, wall_ms, out);
		break;
	case RELAY_UNBIND:
		v = on_unbind(e, src, pkt, len, from, now_ns, wall_ms, out);
		break;
	default:
		/* Acks and errors go to members; 0xE5-0xEF are reserved; the rest is not ours. */
		v = relay_is(pkt, len) ? RELAY_DROP_TYPE : RELAY_DROP_MALFORMED;
		break;
	}
	if (v == RELAY_OK)
		return v;
drop:
	e->stats.dropped[v]++;
	return v;
}

size_t engine_sweep(struct engine *e, uint64_t now_ns, int64_t wall_ms)
{
	int64_t now_sec = wall_ms / MS_PER_SEC;
	size_t n = 0;

	for (size_t i = 0; i < e->sessions.max; i++) {
		struct session *x = sessions_slot(&e->sessions, i);

		if (!x->used)
			continue;
		if (now_sec >= (int64_t)x->expiry) {
			e->stats.sessions_expired++;
		} else if (now_ns - x->last_seen_ns >= e->cfg.stale_ns) {
			e->stats.sessions_stale++;
		} else {
			continue;
		}
		sessions_remove(&e->sessions, x);
		n++;
	}
	return n;
}

size_t engine_reblock(struct engine *e)
{
	size_t n = 0;

	if (!e->blocked)
		return 0;
	for (size_t i = 0; i < e->sessions.max; i++) {
		struct session *x = sessions_slot(&e->sessions, i);

		if (x->used && blocklist_match(e->blocked, &x->addr)) {
			sessions_remove(&e->sessions, x);
			e->stats.sessions_blocked++;
			n++;
		}
	}
	return n;
}
