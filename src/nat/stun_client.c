/* stun_client.c - STUN Binding transactions with RFC 8489 retransmission: a pure core. */
#include "nat/stun_client.h"

#include <errno.h>
#include <string.h>

#include "util/err.h"
#include "util/now.h"

const struct stun_client_config stun_client_rfc_schedule = {
	.rto_ms = STUN_RTO_MS,
	.rc = STUN_RC,
	.rm = STUN_RM,
};

static const char *const outcome_names[] = {
	[STUN_OUTCOME_SUCCESS] = "answered",
	[STUN_OUTCOME_ERROR] = "error response",
	[STUN_OUTCOME_TIMEOUT] = "no answer",
	[STUN_OUTCOME_NO_MAPPED] = "answer without a mapped address",
};

const char *stun_outcome_name(enum stun_outcome o)
{
	if ((unsigned)o >= ARRAY_SIZE(outcome_names))
		return "?";
	return outcome_names[o];
}

bool stun_client_config_valid(const struct stun_client_config *cfg, char *err)
{
	if (cfg->rto_ms < 1 || cfg->rto_ms > STUN_RTO_MAX_MS) {
		err_set(err, "RTO %u ms out of range (1-%d)", cfg->rto_ms, STUN_RTO_MAX_MS);
		return false;
	}
	if (cfg->rc < 1 || cfg->rc > STUN_RC_MAX) {
		err_set(err, "request count %u out of range (1-%d)", cfg->rc, STUN_RC_MAX);
		return false;
	}
	if (cfg->rm < 1 || cfg->rm > 64) {
		err_set(err, "final wait %u RTOs out of range (1-64)", cfg->rm);
		return false;
	}
	return true;
}

uint64_t stun_client_config_total_ms(const struct stun_client_config *cfg)
{
	/* Last send at (2^(Rc-1) - 1) x RTO, then Rm x RTO. */
	return (((uint64_t)1 << (cfg->rc - 1)) - 1 + cfg->rm) * cfg->rto_ms;
}

void stun_client_init(struct stun_client *c, const struct send_ops *ops)
{
	memset(c, 0, sizeof(*c));
	c->ops = *ops;
}

/* Sends (or re-sends) t's request and schedules what comes next. */
static void transmit(struct stun_client *c, struct stun_txn *t, uint64_t now_ns)
{
	uint8_t buf[STUN_MAX_LEN];
	uint64_t rto_ns = (uint64_t)t->cfg.rto_ms * NS_PER_MS;
	size_t len = stun_create_binding_request(buf, sizeof(buf), t->txid, t->change);
	struct endpoint to;

	endpoint_from_addr(&to, &t->server);
	if (c->ops.send(c->ops.ctx, &to, buf, len) < 0) {
		t->send_fails++;
		c->stats.send_fails++;
	} else {
		c->stats.sent++;
	}
	t->sent++;
	/* After request k (1-based) wait RTO x 2^(k-1); after the last, Rm x RTO. */
	if (t->sent < t->cfg.rc)
		t->next_ns = now_ns + (rto_ns << (t->sent - 1));
	else
		t->next_ns = now_ns + rto_ns * t->cfg.rm;
}

int stun_client_start(struct stun_client *c, const struct addr *server, uint32_t change,
                      const struct stun_client_config *cfg, uint64_t now_ns, stun_done_fn *done,
                      void *ctx)
{
	struct stun_txn *t = NULL;
	int handle;

	if (!cfg)
		cfg = &stun_client_rfc_schedule;
	if (!stun_client_config_valid(cfg, NULL) || !addr_is_set(server))
		return -EINVAL;
	for (handle = 0; handle < STUN_CLIENT_MAX_TXNS; handle++) {
		if (!c->txns[handle].active) {
			t = &c->txns[handle];
			break;
		}
	}
	if (!t)
		return -ENOSPC;
	memset(t, 0, sizeof(*t));
	t->active = true;
	stun_txid_new(t->txid);
	t->server = *server;
	t->change = change;
	t->cfg = *cfg;
	t->started_ns = now_ns;
	t->done = done;
	t->ctx = ctx;
	transmit(c, t, now_ns);
	return handle;
}

/* Ends t: the slot is free before done runs, so done may start another. */
static void finish(struct stun_txn *t, int handle, struct stun_result *r, uint64_t now_ns)
{
	stun_done_fn *done = t->done;
	void *ctx = t->ctx;

	r->server = t->server;
	r->change = t->change;
	r->requests = t->sent;
	r->send_fails = t->send_fails;
	r->elapsed_ns = now_ns - t->started_ns;
	r->at_ns = now_ns;
	t->active = false;
	if (done)
		done(ctx, handle, r);
}

enum stun_client_verdict stun_client_input(struct stun_client *c, const uint8_t *pkt, size_t len,
                                           const struct addr *from, uint64_t now_ns)
{
	struct stun_result r;
	struct stun_msg m;
	enum stun_verdict v;
	enum stun_class cls;

	v = stun_consume(&m, pkt, len, false);
	if (v != STUN_OK) {
		c->stats.malformed[v]++;
		return STUN_CLIENT_MALFORMED;
	}
	cls = stun_type_class(m.type);
	if (cls != STUN_CLASS_SUCCESS && cls != STUN_CLASS_ERROR)
		return STUN_CLIENT_NOT_RESPONSE;
	for (int i = 0; i < STUN_CLIENT_MAX_TXNS; i++) {
		struct stun_txn *t = &c->txns[i];

		if (!t->active || memcmp(t->txid, m.txid, STUN_TXID_LEN) != 0 ||
		    stun_type_method(m.type) != stun_type_method(STUN_BINDING_REQUEST))
			continue;
		memset(&r, 0, sizeof(r));
		addr_clear(&r.mapped);
		addr_clear(&r.other);
		addr_clear(&r.origin);
		r.from = *from;
		if (cls == STUN_CLASS_ERROR) {
			r.outcome = STUN_OUTCOME_ERROR;
			r.error_code = (m.has & STUN_HAS_ERROR) ? m.error_code : 0;
		} else if (m.has & (STUN_HAS_XOR_MAPPED | STUN_HAS_MAPPED)) {
			r.outcome = STUN_OUTCOME_SUCCESS;
			r.mapped = (m.has & STUN_HAS_XOR_MAPPED) ? m.xor_mapped : m.mapped;
			r.mapped_mismatch = (m.has & STUN_HAS_XOR_MAPPED) &&
			                    (m.has & STUN_HAS_MAPPED) &&
			                    !addr_equal(&m.xor_mapped, &m.mapped);
		} else {
			r.outcome = STUN_OUTCOME_NO_MAPPED;
		}
		if (m.has & STUN_HAS_OTHER)
			r.other = m.other;
		else if (m.has & STUN_HAS_CHANGED)
			r.other = m.changed;
		if (m.has & STUN_HAS_ORIGIN)
			r.origin = m.origin;
		else if (m.has & STUN_HAS_SOURCE)
			r.origin = m.source;
		if (t->sent == 1)
			r.rtt_ns = now_ns - t->started_ns;
		c->stats.answered++;
		finish(t, i, &r, now_ns);
		return STUN_CLIENT_ACCEPTED;
	}
	c->stats.not_ours++;
	return STUN_CLIENT_NOT_OURS;
}

uint64_t stun_client_timer(struct stun_client *c, uint64_t now_ns)
{
	for (int i = 0; i < STUN_CLIENT_MAX_TXNS; i++) {
		struct stun_txn *t = &c->txns[i];

		if (!t->active || now_ns < t->next_ns)
			continue;
		if (t->sent < t->cfg.rc) {
			transmit(c, t, now_ns);
		} else {
			struct stun_result r;

			memset(&r, 0, sizeof(r));
			addr_clear(&r.from);
			addr_clear(&r.mapped);
			addr_clear(&r.other);
			addr_clear(&r.origin);
			r.outcome = STUN_OUTCOME_TIMEOUT;
			c->stats.timeouts++;
			finish(t, i, &r, now_ns);
		}
	}
	return stun_client_next_deadline(c);
}

uint64_t stun_client_next_deadline(const struct stun_client *c)
{
	uint64_t next = UINT64_MAX;

	for (int i = 0; i < STUN_CLIENT_MAX_TXNS; i++) {
		if (c->txns[i].active && c->txns[i].next_ns < next)
			next = c->txns[i].next_ns;
	}
	return next;
}

void stun_client_cancel(struct stun_client *c, int handle)
{
	if (handle >= 0 && handle < STUN_CLIENT_MAX_TXNS)
		c->txns[handle].active = false;
}

bool stun_client_busy(const struct stun_client *c)
{
	for (int i = 0; i < STUN_CLIENT_MAX_TXNS; i++) {
		if (c->txns[i].active)
			return true;
	}
	return false;
}
