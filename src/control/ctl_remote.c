/* ctl_remote.c - the control plane on lanrage-control: the party, its calls and timers. */
#include "control/ctl_remote.h"

#include <errno.h>
#include <event2/event.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/ctl_call.h"
#include "control/ctl_stream.h"
#include "control/party_id.h"
#include "crypto/secret.h"
#include "util/jsonx.h"
#include "util/log.h"
#include "util/now.h"

static struct ctl_remote *to_remote(struct ctl *c)
{
	return (struct ctl_remote *)c;
}

void ctl_remote_arm(struct event *ev, uint32_t ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	event_add(ev, &tv);
}

uint32_t ctl_remote_backoff(const struct ctl_remote *r, uint32_t ms)
{
	if (ms < r->t.retry_min_ms)
		return r->t.retry_min_ms;
	return ms >= r->t.retry_max_ms / 2 ? r->t.retry_max_ms : ms * 2;
}

void ctl_remote_set_link(struct ctl_remote *r, enum ctl_link link, const char *detail)
{
	if (r->link == link)
		return;
	r->link = link;
	log_info("control %s: link %s: %s", r->url, ctl_link_name(link), detail);
	if (r->ctl.ev.on_link)
		r->ctl.ev.on_link(r->ctl.ev.ctx, link, detail);
}

/* The party. */

static void finish_op(struct ctl_remote *r, int status, const char *error,
                      const struct party_info *party)
{
	ctl_done_fn *done = r->done;
	void *arg = r->done_arg;

	r->done = NULL;
	r->done_arg = NULL;
	if (done)
		done(arg, status, error, party);
}

void ctl_remote_report_party(struct ctl_remote *r)
{
	if (r->ctl.ev.on_party)
		r->ctl.ev.on_party(r->ctl.ev.ctx, &r->party);
}

/* Replaces our copy; reports it when it changed or when always. */
void ctl_remote_take_party(struct ctl_remote *r, const struct party_info *p, bool always)
{
	bool same = ctl_party_same(&r->party, p);

	if (!same && !party_info_copy(&r->party, p)) {
		log_error("control %s: party %s: out of memory", r->url, r->party_id);
		return;
	}
	if (!same || always)
		ctl_remote_report_party(r);
}

/* Ends the party here: no callbacks. */
static void stop_party(struct ctl_remote *r)
{
	ctl_stream_close(r);
	event_del(r->heartbeat_ev);
	event_del(r->retry_ev);
	event_del(r->poll_ev);
	event_del(r->update_ev);
	r->update_dirty = false;
	r->update_inflight = false;
	r->session++;
}

void ctl_remote_gone(struct ctl_remote *r, const char *why)
{
	log_info("control %s: no longer in party %s: %s", r->url, r->party_id, why);
	stop_party(r);
	r->state = REMOTE_IDLE;
	party_info_clear(&r->party);
	if (r->registered)
		ctl_remote_set_link(r, CTL_LINK_UP, "registered");
	if (r->ctl.ev.on_party_gone)
		r->ctl.ev.on_party_gone(r->ctl.ev.ctx, why);
}

void ctl_remote_rejoin(struct ctl_remote *r, const char *why)
{
	if (r->state != REMOTE_MEMBER)
		return;
	log_info("control %s: party %s: %s; joining again", r->url, r->party_id, why);
	ctl_stream_close(r);
	event_del(r->poll_ev);
	event_del(r->retry_ev);
	r->state = REMOTE_REJOINING;
	ctl_call_background(r, CALL_REJOIN);
}

static void schedule_update(struct ctl_remote *r, uint32_t ms)
{
	if (!r->update_inflight && !event_pending(r->update_ev, EV_TIMEOUT, NULL))
		ctl_remote_arm(r->update_ev, ms);
}

/* Now a member of r->party: heartbeats, the stream. */
static void become_member(struct ctl_remote *r, const struct party_info *p)
{
	const struct peer_info *me;

	r->state = REMOTE_MEMBER;
	snprintf(r->party_id, sizeof(r->party_id), "%s", p->id);
	me = party_info_find(p, control_client_peer_id(r->cc));
	if (me)
		r->self.virtual_ip = me->virtual_ip;
	r->backoff_ms = 0;
	ctl_remote_arm(r->heartbeat_ev, r->t.heartbeat_ms);
	ctl_stream_open(r);
	if (r->update_dirty)
		schedule_update(r, UPDATE_COALESCE_MS);
}

/* The party record in a create/join reply or a snapshot ({"party": {...}}). */
bool ctl_remote_party_of(const json_t *body, struct party_info *p, char *err)
{
	if (!party_info_from_json(p, json_object_get(body, "party"), err))
		return false;
	return true;
}

/*
 * Idle, and the server stopped answering: down, and registering again (with
 * backoff) finds out when it is back.
 */
static void server_unreachable(struct ctl_remote *r, const char *why)
{
	ctl_remote_set_link(r, CTL_LINK_DOWN, why);
	if (r->state != REMOTE_IDLE || r->registering ||
	    event_pending(r->register_ev, EV_TIMEOUT, NULL))
		return;
	r->registered = false;
	r->register_backoff_ms = ctl_remote_backoff(r, r->register_backoff_ms);
	ctl_remote_arm(r->register_ev, r->register_backoff_ms);
}

static void on_party_reply(struct ctl_remote *r, struct ctl_call *k, const struct control_reply *cr)
{
	struct party_info p;
	char msg[ERR_MAX + URL_MAX];
	uint64_t session;
	errmsg err;
	int status;

	if (k->session != r->session ||
	    r->state != (k->kind == CALL_CREATE ? REMOTE_CREATING : REMOTE_JOINING))
		return;
	if (!ctl_ok_status(cr->status)) {
		status = ctl_call_error(r, k, cr, msg, sizeof(msg));
		r->state = REMOTE_IDLE;
		if (cr->status == 0)
			server_unreachable(r, msg);
		finish_op(r, status, msg, NULL);
		return;
	}
	if (!ctl_remote_party_of(cr->body, &p, err)) {
		err_format(msg, sizeof(msg), "%s sent a party we cannot read: %s", r->url, err);
		r->state = REMOTE_IDLE;
		finish_op(r, 503, msg, NULL);
		return;
	}
	if (!party_info_copy(&r->party, &p)) {
		party_info_clear(&p);
		r->state = REMOTE_IDLE;
		finish_op(r, 503, "out of memory", NULL);
		return;
	}
	party_info_clear(&p);
	become_member(r, &r->party);
	log_info("control %s: %s party %s (%s)", r->url,
	         k->kind == CALL_CREATE ? "created" : "joined", r->party_id, r->party.name);
	session = r->session;
	finish_op(r, 0, NULL, &r->party);
	if (r->state == REMOTE_MEMBER && r->session == session)
		ctl_remote_report_party(r);
}

static void on_rejoin_reply(struct ctl_remote *r, struct ctl_call *k,
                            const struct control_reply *cr)
{
	struct party_info p;
	char msg[ERR_MAX + URL_MAX];
	errmsg err;

	if (k->session != r->session || r->state != REMOTE_REJOINING)
		return;
	if (cr->status == 0 || cr->status >= 500 || cr->status == 429) {
		ctl_call_error(r, k, cr, msg, sizeof(msg));
		ctl_remote_set_link(r, CTL_LINK_DOWN, msg);
		r->backoff_ms = ctl_remote_backoff(r, r->backoff_ms);
		ctl_remote_arm(r->retry_ev, r->backoff_ms);
		return;
	}
	if (!ctl_ok_status(cr->status)) {
		if (cr->status == 404)
			err_format(msg, sizeof(msg), "party %s no longer exists on %s", r->party_id,
			           r->url);
		else
			ctl_call_error(r, k, cr, msg, sizeof(msg));
		ctl_remote_gone(r, msg);
		return;
	}
	if (!ctl_remote_party_of(cr->body, &p, err)) {
		log_ratelimited(LL_ERROR, "control %s: rejoin: unreadable party: %s", r->url, err);
		r->backoff_ms = ctl_remote_backoff(r, r->backoff_ms);
		ctl_remote_arm(r->retry_ev, r->backoff_ms);
		return;
	}
	become_member(r, &p);
	{
		char vip[ADDR_STRLEN];

		log_info("control %s: rejoined party %s as %s", r->url, r->party_id,
		         addr_format_ip(&r->self.virtual_ip, vip));
	}
	ctl_remote_take_party(r, &p, true);
	party_info_clear(&p);
}

static void on_leave_reply(struct ctl_remote *r, struct ctl_call *k, const struct control_reply *cr)
{
	char msg[ERR_MAX + URL_MAX];

	if (k->session != r->session || r->state != REMOTE_LEAVING)
		return;
	if (!ctl_ok_status(cr->status) && cr->status != 404) {
		ctl_call_error(r, k, cr, msg, sizeof(msg));
		log_error("control %s: leaving party %s: %s; the server will expire us", r->url,
		          r->party_id, msg);
	} else {
		log_info("control %s: left party %s", r->url, r->party_id);
	}
	r->state = REMOTE_IDLE;
	r->session++;
	party_info_clear(&r->party);
	finish_op(r, 0, NULL, NULL);
}

static void on_heartbeat_reply(struct ctl_remote *r, struct ctl_call *k,
                               const struct control_reply *cr)
{
	char msg[ERR_MAX + URL_MAX];

	if (k->session != r->session || r->state != REMOTE_MEMBER)
		return;
	if (cr->status == 404 || cr->status == 403) {
		ctl_remote_rejoin(r, "the server no longer lists us (heartbeat answered 404)");
		return;
	}
	if (!ctl_ok_status(cr->status)) {
		ctl_call_error(r, k, cr, msg, sizeof(msg));
		log_ratelimited(LL_INFO, "control %s: heartbeat: %s", r->url, msg);
	}
}

static void on_update_reply(struct ctl_remote *r, struct ctl_call *k,
                            const struct control_reply *cr)
{
	char msg[ERR_MAX + URL_MAX];

	if (k->session != r->session)
		return;
	r->update_inflight = false;
	if (r->state != REMOTE_MEMBER)
		return;
	if (cr->status == 404 || cr->status == 403) {
		ctl_remote_rejoin(r, "the server no longer lists us (update answered 404)");
		return;
	}
	if (cr->status == 0 || cr->status >= 500 || cr->status == 429) {
		r->update_dirty = true;
		r->update_backoff_ms = ctl_remote_backoff(r, r->update_backoff_ms);
		schedule_update(r, r->update_backoff_ms);
		return;
	}
	r->update_backoff_ms = 0;
	if (!ctl_ok_status(cr->status)) {
		ctl_call_error(r, k, cr, msg, sizeof(msg));
		log_error("control %s: party %s: the server refused our description: %s", r->url,
		          r->party_id, msg);
	}
	if (r->update_dirty)
		schedule_update(r, UPDATE_COALESCE_MS);
}

static void on_poll_reply(struct ctl_remote *r, struct ctl_call *k, const struct control_reply *cr)
{
	struct party_info p;
	char msg[ERR_MAX + URL_MAX];
	errmsg err;

	if (k->session != r->session || r->state != REMOTE_MEMBER || r->stream_live)
		return;
	if (cr->status == 403 || cr->status == 404) {
		ctl_remote_rejoin(r, "the server no longer lists us (poll answered 403/404)");
		return;
	}
	if (!ctl_ok_status(cr->status)) {
		ctl_call_error(r, k, cr, msg, sizeof(msg));
		ctl_remote_set_link(r, CTL_LINK_DOWN, msg);
		return;
	}
	if (!party_info_from_json(&p, cr->body, err)) {
		log_ratelimited(LL_ERROR, "control %s: poll: unreadable party: %s", r->url, err);
		return;
	}
	ctl_remote_take_party(r, &p, false);
	party_info_clear(&p);
	/* It answers again: reopen the stream now rather than after the backoff. */
	if (r->state == REMOTE_MEMBER && !r->stream && !r->stream_wanted) {
		event_del(r->retry_ev);
		ctl_stream_open(r);
	}
}

static void on_signal_reply(struct ctl_remote *r, struct ctl_call *k,
                            const struct control_reply *cr)
{
	char msg[ERR_MAX + URL_MAX];

	if (ctl_ok_status(cr->status))
		return;
	ctl_call_error(r, k, cr, msg, sizeof(msg));
	log_ratelimited(LL_INFO, "control %s: signal to %s: %s", r->url, k->to, msg);
}

/*
 * The array under key in a successful reply; or NULL, with the status and
 * message to answer the caller with (what: what the server failed to send).
 */
static const json_t *reply_list(struct ctl_remote *r, struct ctl_call *k,
                                const struct control_reply *cr, const char *key, const char *what,
                                int *status, char *msg, size_t size)
{
	const json_t *list = json_object_get(cr->body, key);

	if (!ctl_ok_status(cr->status)) {
		*status = ctl_call_error(r, k, cr, msg, size);
		return NULL;
	}
	if (!json_is_array(list)) {
		*status = 503;
		err_format(msg, size, "%s sent no %s", r->url, what);
		return NULL;
	}
	return list;
}

static void on_relays_reply(struct ctl_remote *r, struct ctl_call *k,
                            const struct control_reply *cr)
{
	char msg[ERR_MAX + URL_MAX];
	int status;
	const json_t *list =
	                 reply_list(r, k, cr, "relays", "relay list", &status, msg, sizeof(msg)),
	             *v;
	struct ctl_relay *relays = NULL;
	size_t n = 0, i;

	if (!list) {
		k->relays_done(k->arg, status, msg, NULL, 0);
		return;
	}
	relays = calloc(json_array_size(list) ? json_array_size(list) : 1, sizeof(*relays));
	if (!relays) {
		k->relays_done(k->arg, 503, "out of memory", NULL, 0);
		return;
	}
	json_array_foreach(list, i, v)
	{
		struct ctl_relay *x = &relays[n];
		char ip[ADDR_STRLEN];
		int64_t port = 0, capacity = 0;
		bool has_capacity;

		if (n == RELAYS_MAX)
			break;
		if (!jsonx_get_str(v, "relay_id", x->id, sizeof(x->id), true, NULL, NULL) ||
		    !jsonx_get_str(v, "region", x->region, sizeof(x->region), true, NULL, NULL) ||
		    !jsonx_get_str(v, "public_ip", ip, sizeof(ip), true, NULL, NULL) ||
		    !jsonx_get_int(v, "port", 1, 65535, &port, true, NULL, NULL) ||
		    !jsonx_get_int(v, "capacity", 0, UINT32_MAX, &capacity, false, &has_capacity,
		                   NULL) ||
		    !addr_parse_ip(&x->addr, ip, NULL)) {
			log_ratelimited(LL_INFO, "control %s: skipping a malformed relay", r->url);
			continue;
		}
		addr_set_port(&x->addr, (uint16_t)port);
		x->capacity = has_capacity ? (unsigned)capacity : 0;
		n++;
	}
	k->relays_done(k->arg, 0, NULL, relays, n);
	free(relays);
}

static bool base64_field(const json_t *body, const char *key, uint8_t *out, size_t max, size_t *len)
{
	const char *s = json_string_value(json_object_get(body, key));

	return s && sodium_base642bin(out, max, s, strlen(s), NULL, len, NULL,
	                              sodium_base64_VARIANT_ORIGINAL) == 0;
}

static void on_token_reply(struct ctl_remote *r, struct ctl_call *k, const struct control_reply *cr)
{
	uint8_t token[TOKEN_MAX], key[32];
	char msg[ERR_MAX + URL_MAX];
	const char *expires = json_string_value(json_object_get(cr->body, "expires_at"));
	size_t token_len = 0, key_len = 0;
	int64_t expires_ms = 0;

	if (!ctl_ok_status(cr->status)) {
		int status = ctl_call_error(r, k, cr, msg, sizeof(msg));

		k->token_done(k->arg, status, msg, NULL, 0, NULL, 0);
		return;
	}
	if (!base64_field(cr->body, "token", token, sizeof(token), &token_len) || !token_len ||
	    !base64_field(cr->body, "session_key", key, sizeof(key), &key_len) ||
	    key_len != sizeof(key) || !expires || !now_parse_iso8601(expires, &expires_ms)) {
		secret_zero(key, sizeof(key));
		err_format(msg, sizeof(msg), "%s sent a relay token we cannot read", r->url);
		k->token_done(k->arg, 503, msg, NULL, 0, NULL, 0);
		return;
	}
	k->token_done(k->arg, 0, NULL, token, token_len, key, expires_ms);
	secret_zero(key, sizeof(key));
	secret_zero(token, sizeof(token));
}

static void on_member_op_reply(struct ctl_remote *r, struct ctl_call *k,
                               const struct control_reply *cr)
{
	char msg[ERR_MAX + URL_MAX];

	if (!ctl_ok_status(cr->status)) {
		int status = ctl_call_error(r, k, cr, msg, sizeof(msg));

		k->done_fn(k->arg, status, msg, NULL);
		return;
	}
	/* A removed member's departure comes as member_left, like any other. */
	k->done_fn(k->arg, 0, NULL, NULL);
}

/* The host's list of removed peers; an entry that does not validate is skipped. */
static void on_bans_reply(struct ctl_remote *r, struct ctl_call *k, const struct control_reply *cr)
{
	char msg[ERR_MAX + URL_MAX];
	int status;
	const json_t *list =
	    reply_list(r, k, cr, "bans", "list of removed members", &status, msg, sizeof(msg));
	struct ctl_ban *bans;
	size_t n;

	if (!list) {
		k->bans_done(k->arg, status, msg, NULL, 0);
		return;
	}
	bans = calloc(json_array_size(list) ? json_array_size(list) : 1, sizeof(*bans));
	if (!bans) {
		k->bans_done(k->arg, 503, "out of memory", NULL, 0);
		return;
	}
	n = ctl_bans_from_json(list, bans,
	                       json_array_size(list) < CTL_BANS_MAX ? json_array_size(list)
	                                                            : CTL_BANS_MAX);
	k->bans_done(k->arg, 0, NULL, bans, n);
	free(bans);
}

void ctl_remote_dispatch(struct ctl_call *k, const struct control_reply *cr)
{
	struct ctl_remote *r = k->r;

	/*
	 * A call that got no answer at all while the event stream looks open:
	 * whatever cut that connection (a NAT that forgot us, a new address)
	 * has most likely cut the stream too, silently.  Open it again now
	 * rather than after its idle timeout; the snapshot that follows brings
	 * back whatever we missed.
	 */
	if (cr->status == 0 && k->session == r->session && r->state == REMOTE_MEMBER &&
	    r->stream_live)
		ctl_stream_lost(r, "a request failed; opening the event stream again");
	switch (k->kind) {
	case CALL_CREATE:
	case CALL_JOIN:
		on_party_reply(r, k, cr);
		break;
	case CALL_REJOIN:
		on_rejoin_reply(r, k, cr);
		break;
	case CALL_LEAVE:
		on_leave_reply(r, k, cr);
		break;
	case CALL_HEARTBEAT:
		on_heartbeat_reply(r, k, cr);
		break;
	case CALL_UPDATE:
		on_update_reply(r, k, cr);
		break;
	case CALL_SIGNAL:
		on_signal_reply(r, k, cr);
		break;
	case CALL_POLL:
		on_poll_reply(r, k, cr);
		break;
	case CALL_RELAYS:
		on_relays_reply(r, k, cr);
		break;
	case CALL_TOKEN:
		on_token_reply(r, k, cr);
		break;
	case CALL_KICK:
	case CALL_UNBAN:
		on_member_op_reply(r, k, cr);
		break;
	case CALL_BANS:
		on_bans_reply(r, k, cr);
		break;
	}
}

/* Timers. */

static void on_heartbeat_timer(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_remote *r = arg;

	if (r->state != REMOTE_MEMBER)
		return;
	ctl_remote_arm(r->heartbeat_ev, r->t.heartbeat_ms);
	ctl_call_background(r, CALL_HEARTBEAT);
}

static void on_retry_timer(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_remote *r = arg;

	if (r->state == REMOTE_REJOINING)
		ctl_call_background(r, CALL_REJOIN);
	else if (r->state == REMOTE_MEMBER)
		ctl_stream_open(r);
}

static void on_poll_timer(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_remote *r = arg;

	if (r->state != REMOTE_MEMBER || r->stream_live)
		return;
	ctl_remote_arm(r->poll_ev, r->t.poll_ms);
	ctl_call_background(r, CALL_POLL);
}

static void on_update_timer(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_remote *r = arg;

	if (r->state != REMOTE_MEMBER || !r->update_dirty || r->update_inflight)
		return;
	r->update_dirty = false;
	r->update_inflight = true;
	ctl_call_background(r, CALL_UPDATE);
}

static void on_done_timer(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_remote *r = arg;

	finish_op(r, r->deferred_status, r->deferred_status ? r->deferred_error : NULL, NULL);
}

/* The ops. */

static int fail_later(struct ctl_remote *r, ctl_done_fn *done, void *arg, int status,
                      const char *error)
{
	r->done = done;
	r->done_arg = arg;
	r->deferred_status = status;
	err_format(r->deferred_error, sizeof(r->deferred_error), "%s", error ? error : "");
	event_active(r->done_ev, EV_TIMEOUT, 0);
	return 0;
}

static int busy(const struct ctl_remote *r)
{
	if (r->done || r->state == REMOTE_CREATING || r->state == REMOTE_JOINING ||
	    r->state == REMOTE_LEAVING)
		return -EBUSY;
	if (r->state != REMOTE_IDLE)
		return -EISCONN;
	return 0;
}

/* Whether the description differs; takes it either way. */
static bool take_description(struct ctl_remote *r, const struct peer_info *self)
{
	bool changed = strcmp(r->self.name, self->name) != 0 ||
	               r->self.nat_type != self->nat_type ||
	               !addr_equal(&r->self.public_endpoint, &self->public_endpoint) ||
	               !addr_equal(&r->self.local_endpoint, &self->local_endpoint) ||
	               !addr_equal(&r->self.global_endpoint, &self->global_endpoint);

	snprintf(r->self.name, sizeof(r->self.name), "%s", self->name);
	r->self.nat_type = self->nat_type;
	r->self.public_endpoint = self->public_endpoint;
	r->self.local_endpoint = self->local_endpoint;
	r->self.global_endpoint = self->global_endpoint;
	return changed;
}

static int start_op(struct ctl_remote *r, enum remote_state state, enum call_kind kind,
                    const struct peer_info *self, ctl_done_fn *done, void *arg)
{
	struct ctl_call *k;
	errmsg err;
	int rc;

	take_description(r, self);
	if (!peer_info_validate(&r->self, err)) {
		err_prefix(err, "self");
		return fail_later(r, done, arg, 400, err);
	}
	r->session++;
	r->update_dirty = false;
	k = ctl_call_new(r, kind);
	if (!k)
		return -ENOMEM;
	r->state = state;
	r->done = done;
	r->done_arg = arg;
	/* A create or join is the user waiting: try registering now, not after backoff. */
	rc = ctl_call_submit(k);
	if (rc) {
		ctl_call_free(k);
		r->state = REMOTE_IDLE;
		r->done = NULL;
		r->done_arg = NULL;
	}
	return rc;
}

static int remote_create(struct ctl *c, const char *name, const struct peer_info *self,
                         ctl_done_fn *done, void *arg)
{
	struct ctl_remote *r = to_remote(c);
	int rc = busy(r);

	if (rc)
		return rc;
	if (!party_name_valid(name))
		return fail_later(r, done, arg, 400,
		                  "party name must be 1-64 bytes of printable UTF-8");
	snprintf(r->party_name, sizeof(r->party_name), "%s", name);
	r->party_id[0] = '\0';
	return start_op(r, REMOTE_CREATING, CALL_CREATE, self, done, arg);
}

static int remote_join(struct ctl *c, const char *party_id, const struct peer_info *self,
                       ctl_done_fn *done, void *arg)
{
	struct ctl_remote *r = to_remote(c);
	int rc = busy(r);
	errmsg err;

	if (rc)
		return rc;
	if (!party_id_normalize(r->party_id, party_id, err))
		return fail_later(r, done, arg, 400, err);
	return start_op(r, REMOTE_JOINING, CALL_JOIN, self, done, arg);
}

static int remote_leave(struct ctl *c, ctl_done_fn *done, void *arg)
{
	struct ctl_remote *r = to_remote(c);
	struct ctl_call *k;
	int rc;

	if (r->state != REMOTE_MEMBER && r->state != REMOTE_REJOINING)
		return r->state == REMOTE_IDLE && !r->done ? -ENOTCONN : -EBUSY;
	stop_party(r); /* a new session: nothing of the old one answers now */
	k = ctl_call_new(r, CALL_LEAVE);
	if (!k)
		return -ENOMEM;
	r->state = REMOTE_LEAVING;
	r->done = done;
	r->done_arg = arg;
	rc = ctl_call_submit(k);
	if (rc) {
		/* Nothing was sent: we are out here, the server will expire us. */
		ctl_call_free(k);
		r->state = REMOTE_IDLE;
		party_info_clear(&r->party);
		return fail_later(r, done, arg, 0, NULL);
	}
	return 0;
}

static int remote_update_self(struct ctl *c, const struct peer_info *self)
{
	struct ctl_remote *r = to_remote(c);
	struct peer_info before = r->self;

	if (!take_description(r, self))
		return 0;
	if (!peer_info_validate(&r->self, NULL)) {
		r->self = before; /* the server would refuse it */
		return -EINVAL;
	}
	if (r->state == REMOTE_IDLE)
		return 0;
	r->update_dirty = true;
	if (r->state == REMOTE_MEMBER)
		schedule_update(r, UPDATE_COALESCE_MS);
	return 0;
}

static int remote_signal(struct ctl *c, const char *to_peer_id, const json_t *data)
{
	struct ctl_remote *r = to_remote(c);
	struct ctl_call *k;
	int rc;

	if (r->state != REMOTE_MEMBER)
		return -ENOTCONN;
	if (!peer_id_valid(to_peer_id) || !data)
		return -EINVAL;
	k = ctl_call_new(r, CALL_SIGNAL);
	if (!k)
		return -ENOMEM;
	snprintf(k->to, sizeof(k->to), "%s", to_peer_id);
	k->data = json_deep_copy(data);
	rc = k->data ? ctl_call_submit(k) : -ENOMEM;
	if (rc)
		ctl_call_free(k);
	return rc;
}

static int remote_relays(struct ctl *c, ctl_relays_fn *done, void *arg)
{
	struct ctl_remote *r = to_remote(c);
	struct ctl_call *k = ctl_call_new(r, CALL_RELAYS);
	int rc;

	if (!k)
		return -ENOMEM;
	k->relays_done = done;
	k->arg = arg;
	/* No token needed: sent at once, registered or not. */
	rc = ctl_call_send_now(k);
	if (rc)
		ctl_call_free(k);
	return rc;
}

/* A call only a member makes: -ENOTCONN outside a party, -ENOMEM; 0 with *out to fill in. */
static int member_call(struct ctl *c, enum call_kind kind, void *arg, struct ctl_call **out)
{
	struct ctl_remote *r = to_remote(c);

	if (r->state != REMOTE_MEMBER)
		return -ENOTCONN;
	*out = ctl_call_new(r, kind);
	if (!*out)
		return -ENOMEM;
	(*out)->arg = arg;
	return 0;
}

/* Sends k now or once registered; on failure k is freed and its callback never called. */
static int submit_or_free(struct ctl_call *k)
{
	int rc = ctl_call_submit(k);

	if (rc)
		ctl_call_free(k);
	return rc;
}

static int remote_relay_token(struct ctl *c, ctl_relay_token_fn *done, void *arg)
{
	struct ctl_call *k;
	int rc = member_call(c, CALL_TOKEN, arg, &k);

	if (rc)
		return rc;
	k->token_done = done;
	return submit_or_free(k);
}

/* A kick or an unban: one peer id, an answer with no party. */
static int member_op(struct ctl *c, enum call_kind kind, const char *peer_id, ctl_done_fn *done,
                     void *arg)
{
	struct ctl_call *k;
	int rc = member_call(c, kind, arg, &k);

	if (rc)
		return rc;
	snprintf(k->to, sizeof(k->to), "%s", peer_id);
	k->done_fn = done;
	return submit_or_free(k);
}

static int remote_kick(struct ctl *c, const char *peer_id, ctl_done_fn *done, void *arg)
{
	return member_op(c, CALL_KICK, peer_id, done, arg);
}

static int remote_unban(struct ctl *c, const char *peer_id, ctl_done_fn *done, void *arg)
{
	return member_op(c, CALL_UNBAN, peer_id, done, arg);
}

static int remote_bans(struct ctl *c, ctl_bans_fn *done, void *arg)
{
	struct ctl_call *k;
	int rc = member_call(c, CALL_BANS, arg, &k);

	if (rc)
		return rc;
	k->bans_done = done;
	return submit_or_free(k);
}

static enum ctl_link remote_link(const struct ctl *c)
{
	return ((const struct ctl_remote *)c)->link;
}

static const char *remote_describe(const struct ctl *c)
{
	return ((const struct ctl_remote *)c)->describe;
}

static void remote_destroy(struct ctl *c)
{
	struct ctl_remote *r = to_remote(c);

	ctl_stream_close(r);
	/* Frees the HTTP requests without calling back; our records of them go next. */
	control_client_destroy(r->cc);
	while (r->calls) {
		struct ctl_call *k = r->calls;

		ctl_call_unlink(r, k);
		ctl_call_free(k);
	}
	event_free(r->heartbeat_ev);
	event_free(r->retry_ev);
	event_free(r->poll_ev);
	event_free(r->update_ev);
	event_free(r->register_ev);
	event_free(r->done_ev);
	party_info_clear(&r->party);
	free(r);
}

static const struct ctl_ops remote_ops = {
	.create = remote_create,
	.join = remote_join,
	.leave = remote_leave,
	.kick = remote_kick,
	.unban = remote_unban,
	.bans = remote_bans,
	.update_self = remote_update_self,
	.signal = remote_signal,
	.relays = remote_relays,
	.relay_token = remote_relay_token,
	.link = remote_link,
	.describe = remote_describe,
	.destroy = remote_destroy,
};

struct ctl *ctl_remote_create(struct event_base *base, const char *url, const wg_key private_key,
                              const struct ctl_timing *timing, const struct ctl_events *ev,
                              char *err)
{
	struct ctl_remote *r;

	if (strlen(url) >= URL_MAX) {
		err_set(err, "control server URL: at most %d bytes", URL_MAX - 1);
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		err_set(err, "out of memory");
		return NULL;
	}
	r->ctl.ops = &remote_ops;
	if (ev)
		r->ctl.ev = *ev;
	r->base = base;
	if (timing)
		r->t = *timing;
	else
		ctl_timing_default(&r->t);
	if (r->t.retry_min_ms == 0)
		r->t.retry_min_ms = 1;
	if (r->t.retry_max_ms < r->t.retry_min_ms)
		r->t.retry_max_ms = r->t.retry_min_ms;
	snprintf(r->url, sizeof(r->url), "%s", url);
	snprintf(r->describe, sizeof(r->describe), "remote %s", url);
	r->cc = control_client_create(base, url, err);
	if (!r->cc)
		goto err_free;
	control_client_set_key(r->cc, private_key);
	peer_info_init(&r->self);
	key_public_from_private(r->self.public_key, private_key);
	snprintf(r->self.id, sizeof(r->self.id), "%s", control_client_peer_id(r->cc));
	party_info_init(&r->party);
	r->heartbeat_ev = evtimer_new(base, on_heartbeat_timer, r);
	r->retry_ev = evtimer_new(base, on_retry_timer, r);
	r->poll_ev = evtimer_new(base, on_poll_timer, r);
	r->update_ev = evtimer_new(base, on_update_timer, r);
	r->register_ev = evtimer_new(base, ctl_call_on_register_timer, r);
	r->done_ev = evtimer_new(base, on_done_timer, r);
	if (!r->heartbeat_ev || !r->retry_ev || !r->poll_ev || !r->update_ev || !r->register_ev ||
	    !r->done_ev) {
		err_set(err, "out of memory");
		goto err_events;
	}
	r->link = CTL_LINK_CONNECTING;
	ctl_call_register(r);
	return &r->ctl;

err_events:
	if (r->heartbeat_ev)
		event_free(r->heartbeat_ev);
	if (r->retry_ev)
		event_free(r->retry_ev);
	if (r->poll_ev)
		event_free(r->poll_ev);
	if (r->update_ev)
		event_free(r->update_ev);
	if (r->register_ev)
		event_free(r->register_ev);
	if (r->done_ev)
		event_free(r->done_ev);
	control_client_destroy(r->cc);
err_free:
	free(r);
	return NULL;
}
