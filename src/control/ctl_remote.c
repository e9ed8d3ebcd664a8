/* ctl_remote.c - the control plane on lanrage-control: calls, events, heartbeats, reconnection. */
#include "control/ctl.h"

#include <errno.h>
#include <event2/event.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/control_client.h"
#include "control/party_id.h"
#include "crypto/secret.h"
#include "util/err.h"
#include "util/jsonx.h"
#include "util/log.h"
#include "util/now.h"

/*
 * The party is the daemon's, not the server's: a server that goes away only
 * takes the link down.  States:
 *
 *   IDLE       registered (or retrying registration with backoff); no party
 *   CREATING   POST /parties under way         -> MEMBER, or IDLE + done(error)
 *   JOINING    POST /parties/{id}/join          -> MEMBER, or IDLE + done(error)
 *   MEMBER     heartbeats; the event stream, or while it is down, polling
 *              GET /parties/{id} and reopening it with backoff
 *   REJOINING  the server expired us (heartbeat 404, our own member_left
 *              "expired", a stream or poll refused): join again with the
 *              same id and description; the server gives the same address
 *   LEAVING    DELETE under way; done either way
 *
 * Every request is a struct rcall on the ctl's list.  Requests wait while we
 * register; a 401 (token expired) re-registers and sends the request once
 * more.  Replies from an earlier party (session) are dropped.
 *
 * Timers (all on the caller's loop):
 *   heartbeat  every heartbeat_ms while MEMBER
 *   retry      reopens the stream, or repeats a rejoin, after backoff
 *              (retry_min_ms doubling to retry_max_ms)
 *   poll       every poll_ms while MEMBER and the stream is down
 *   update     sends self's description UPDATE_COALESCE_MS after a change (or
 *              after backoff when sending failed); changes meanwhile coalesce
 *   register   retries registration with backoff while IDLE and unreachable
 *   done       delivers an error found inside a call, after the call returned
 */
enum {
	UPDATE_COALESCE_MS = 50,
	TOKEN_MAX = 256,
	RELAYS_MAX = 256,
	URL_MAX = 256,
};

enum remote_state {
	R_IDLE,
	R_CREATING,
	R_JOINING,
	R_MEMBER,
	R_REJOINING,
	R_LEAVING,
};

enum call_kind {
	K_CREATE,
	K_JOIN,
	K_REJOIN,
	K_LEAVE,
	K_HEARTBEAT,
	K_UPDATE,
	K_SIGNAL,
	K_POLL,
	K_RELAYS,
	K_TOKEN,
};

struct ctl_remote;

/* One request; on the ctl's list until answered (destroy frees the rest). */
struct rcall {
	struct rcall *next, *prev;
	struct ctl_remote *r;
	enum call_kind kind;
	uint64_t session;  /* r->session when made */
	bool waiting_auth; /* sent once registration completes */
	bool reauthed;     /* already sent again after a 401 */
	uint64_t sent_ms;
	char party_id[PARTY_ID_LEN + 1];
	char to[PEER_ID_MAX + 1]; /* signal */
	json_t *data;             /* signal; owned */
	ctl_relays_fn *relays_done;
	ctl_relay_token_fn *token_done;
	void *arg;
};

/* Owned by the daemon through struct ctl. */
struct ctl_remote {
	struct ctl ctl; /* first: struct ctl * converts to this */
	struct event_base *base;
	struct control_client *cc;
	struct ctl_timing t;
	char url[URL_MAX];
	char describe[URL_MAX + 8];
	enum ctl_link link;
	bool registered, registering;
	bool register_refused; /* control_register failed at once: report it from the timer */
	uint64_t register_sent_ms;
	uint32_t register_backoff_ms;

	enum remote_state state;
	uint64_t session; /* a new one at every create, join, leave and loss of the party */
	char party_id[PARTY_ID_LEN + 1];
	char party_name[PARTY_NAME_MAX + 1];
	struct peer_info self;   /* our description, sent on join, rejoin and update */
	struct party_info party; /* the server's view with the events applied */

	ctl_done_fn *done;
	void *done_arg;
	int deferred_status;
	char deferred_error[ERR_MAX];

	struct control_events *stream;
	bool stream_wanted;  /* open it once registered */
	bool stream_live;    /* its snapshot arrived */
	bool stream_was_cut; /* the next snapshot is a reconnect's */
	uint32_t backoff_ms; /* the next retry's delay */

	bool update_dirty, update_inflight;
	uint32_t update_backoff_ms;

	struct rcall *calls;
	struct event *heartbeat_ev, *retry_ev, *poll_ev, *update_ev, *register_ev, *done_ev;
};

static struct ctl_remote *to_remote(struct ctl *c)
{
	return (struct ctl_remote *)c;
}

static void arm(struct event *ev, uint32_t ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	event_add(ev, &tv);
}

static uint32_t next_backoff(const struct ctl_remote *r, uint32_t ms)
{
	if (ms < r->t.retry_min_ms)
		return r->t.retry_min_ms;
	return ms >= r->t.retry_max_ms / 2 ? r->t.retry_max_ms : ms * 2;
}

static void set_link(struct ctl_remote *r, enum ctl_link link, const char *detail)
{
	if (r->link == link)
		return;
	r->link = link;
	log_info("control %s: link %s: %s", r->url, ctl_link_name(link), detail);
	if (r->ctl.ev.on_link)
		r->ctl.ev.on_link(r->ctl.ev.ctx, link, detail);
}

/*
 * Why a request got no answer, for people: libevent reports a refused
 * connect as a request with no status (control_client: "connection
 * failed"), anything else after connecting as no request at all.
 */
static void transport_error(const struct ctl_remote *r, const struct control_reply *cr,
                            uint64_t sent_ms, char *out, size_t size)
{
	bool timed_out = now_mono_ms() - sent_ms >= (uint64_t)CONTROL_TIMEOUT_SEC * 1000 - 500;
	const char *why;

	if (timed_out)
		why = "no answer within 10 s";
	else if (cr->error && strstr(cr->error, "connection failed"))
		why = "connection refused";
	else
		why = "the connection failed or was closed";
	err_format(out, size, "cannot reach %s: %s", r->url, why);
}

/* An HTTP outcome as a ctl status (0, 400, 404, 409, 503) and a message. */
static int user_error(const struct ctl_remote *r, const struct rcall *k,
                      const struct control_reply *cr, char *out, size_t size)
{
	switch (cr->status) {
	case 0:
		transport_error(r, cr, k->sent_ms, out, size);
		return 503;
	case 400:
	case 413:
		err_format(out, size, "%s", cr->error ? cr->error : "bad request");
		return 400;
	case 404:
		if (k->kind == K_JOIN)
			err_format(out, size, "no party %s on %s", k->party_id, r->url);
		else
			err_format(out, size, "%s", cr->error ? cr->error : "not found");
		return 404;
	case 409:
		err_format(out, size, "%s", cr->error ? cr->error : "conflict");
		return 409;
	case 401:
		err_format(out, size, "%s refused our registration: %s", r->url,
		           cr->error ? cr->error : "unauthorized");
		return 503;
	case 429:
		err_format(out, size, "%s is busy (too many requests); try again", r->url);
		return 503;
	default:
		err_format(out, size, "%s answered %d: %s", r->url, cr->status,
		           cr->error ? cr->error : "(no message)");
		return 503;
	}
}

static bool ok_status(int status)
{
	return status >= 200 && status < 300;
}

/* Requests. */

static void on_reply(const struct control_reply *cr, void *arg);

static void call_link(struct ctl_remote *r, struct rcall *k)
{
	k->prev = NULL;
	k->next = r->calls;
	if (k->next)
		k->next->prev = k;
	r->calls = k;
}

static void call_unlink(struct ctl_remote *r, struct rcall *k)
{
	if (k->prev)
		k->prev->next = k->next;
	else
		r->calls = k->next;
	if (k->next)
		k->next->prev = k->prev;
	k->next = k->prev = NULL;
}

static void call_free(struct rcall *k)
{
	json_decref(k->data);
	free(k);
}

static struct rcall *call_new(struct ctl_remote *r, enum call_kind kind)
{
	struct rcall *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	k->r = r;
	k->kind = kind;
	k->session = r->session;
	k->sent_ms = now_mono_ms();
	snprintf(k->party_id, sizeof(k->party_id), "%s", r->party_id);
	return k;
}

static int issue(struct rcall *k)
{
	struct ctl_remote *r = k->r;
	char path[128];

	k->sent_ms = now_mono_ms();
	switch (k->kind) {
	case K_CREATE:
		return control_party_create(r->cc, r->party_name, &r->self, on_reply, k);
	case K_JOIN:
	case K_REJOIN:
		return control_party_join(r->cc, k->party_id, &r->self, on_reply, k);
	case K_LEAVE:
		return control_party_leave(r->cc, k->party_id, on_reply, k);
	case K_HEARTBEAT:
		return control_heartbeat(r->cc, k->party_id, on_reply, k);
	case K_UPDATE:
		return control_update(r->cc, k->party_id, &r->self, on_reply, k);
	case K_SIGNAL:
		return control_signal(r->cc, k->party_id, k->to, k->data, on_reply, k);
	case K_POLL:
		return control_party_get(r->cc, k->party_id, on_reply, k);
	case K_RELAYS:
		return control_relays(r->cc, NULL, on_reply, k);
	case K_TOKEN:
		snprintf(path, sizeof(path), "/parties/%s/relay-token", k->party_id);
		return control_request(r->cc, "POST", path, NULL, true, on_reply, k);
	}
	return -EINVAL;
}

static void dispatch(struct rcall *k, const struct control_reply *cr);

/* A request that cannot be sent gets a reply saying so. */
static void issue_or_fail(struct rcall *k)
{
	int rc = issue(k);
	struct control_reply cr = { .status = 0, .error = "connection failed" };

	if (rc == 0)
		return;
	log_error("control %s: cannot send a request: %s", k->r->url, strerror(-rc));
	call_unlink(k->r, k);
	dispatch(k, &cr);
	call_free(k);
}

static void ensure_registered(struct ctl_remote *r);

/* Sends now, or once registered.  -errno when it cannot even be queued. */
static int submit(struct rcall *k)
{
	struct ctl_remote *r = k->r;
	int rc;

	call_link(r, k);
	if (!r->registered) {
		k->waiting_auth = true;
		ensure_registered(r);
		return 0;
	}
	rc = issue(k);
	if (rc)
		call_unlink(r, k);
	return rc;
}

/* Fire and forget: heartbeats, polls, updates; failures are logged. */
static void submit_background(struct ctl_remote *r, enum call_kind kind)
{
	struct rcall *k = call_new(r, kind);
	int rc = k ? submit(k) : -ENOMEM;

	if (rc) {
		log_ratelimited(LL_ERROR, "control %s: cannot send a request: %s", r->url,
		                strerror(-rc));
		if (k)
			call_free(k);
	}
}

static void on_reply(const struct control_reply *cr, void *arg)
{
	struct rcall *k = arg;
	struct ctl_remote *r = k->r;

	call_unlink(r, k);
	if (cr->status == 401 && !k->reauthed && k->kind != K_RELAYS) {
		/* The token expired (or the server forgot it): prove the key again, once. */
		log_info("control %s: token refused (%s); registering again", r->url,
		         cr->error ? cr->error : "401");
		k->reauthed = true;
		r->registered = false;
		if (submit(k) == 0)
			return;
	}
	dispatch(k, cr);
	call_free(k);
}

/* Registration. */

static void open_stream(struct ctl_remote *r);

static void on_registered(const struct control_reply *cr, void *arg)
{
	struct ctl_remote *r = arg;
	struct rcall *k, *next;
	char why[ERR_MAX];

	r->registering = false;
	if (cr->status == 200) {
		r->registered = true;
		r->register_backoff_ms = 0;
		log_info("control %s: registered as peer %s", r->url,
		         control_client_peer_id(r->cc));
		/* A member's link is its event stream's. */
		if (r->state != R_MEMBER)
			set_link(r, CTL_LINK_UP, "registered");
		for (k = r->calls; k; k = next) {
			next = k->next;
			if (k->waiting_auth) {
				k->waiting_auth = false;
				issue_or_fail(k);
			}
		}
		if (r->stream_wanted)
			open_stream(r);
		return;
	}
	if (cr->status == 0) {
		transport_error(r, cr, r->register_sent_ms, why, sizeof(why));
		set_link(r, CTL_LINK_DOWN, why);
	} else {
		err_format(why, sizeof(why), "%s refused our registration (%d): %s", r->url,
		           cr->status, cr->error ? cr->error : "");
		log_error("control %s", why);
		set_link(r, CTL_LINK_DOWN, why);
	}
	/* The waiting requests fail as registration did; the retries are theirs. */
	for (k = r->calls; k; k = next) {
		next = k->next;
		if (!k->waiting_auth)
			continue;
		call_unlink(r, k);
		k->sent_ms = r->register_sent_ms; /* its wait was the registration's */
		dispatch(k, cr);
		call_free(k);
	}
	if (r->stream_wanted) {
		r->stream_wanted = false;
		r->backoff_ms = next_backoff(r, r->backoff_ms);
		arm(r->retry_ev, r->backoff_ms);
	}
	if (r->state == R_IDLE && !event_pending(r->register_ev, EV_TIMEOUT, NULL)) {
		r->register_backoff_ms = next_backoff(r, r->register_backoff_ms);
		arm(r->register_ev, r->register_backoff_ms);
	}
}

static void ensure_registered(struct ctl_remote *r)
{
	int rc;

	if (r->registered || r->registering)
		return;
	event_del(r->register_ev);
	r->registering = true;
	r->register_sent_ms = now_mono_ms();
	rc = control_register(r->cc, on_registered, r);
	if (rc) {
		/* Reported from the loop: we may be inside one of the daemon's calls. */
		log_error("control %s: cannot register: %s", r->url, strerror(-rc));
		r->register_refused = true;
		event_active(r->register_ev, EV_TIMEOUT, 0);
	}
}

static void on_register_timer(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_remote *r = arg;
	struct control_reply cr = { .status = 0, .error = "connection failed" };

	if (r->register_refused) {
		r->register_refused = false;
		on_registered(&cr, r);
		return;
	}
	ensure_registered(r);
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

static bool party_copy(struct party_info *dst, const struct party_info *src)
{
	party_info_clear(dst);
	memcpy(dst->id, src->id, sizeof(dst->id));
	memcpy(dst->name, src->name, sizeof(dst->name));
	memcpy(dst->host_id, src->host_id, sizeof(dst->host_id));
	dst->created_at_ms = src->created_at_ms;
	for (size_t i = 0; i < src->n_members; i++) {
		if (!party_info_put(dst, &src->members[i], NULL))
			return false;
	}
	return true;
}

static void report_party(struct ctl_remote *r)
{
	if (r->ctl.ev.on_party)
		r->ctl.ev.on_party(r->ctl.ev.ctx, &r->party);
}

/* Replaces our copy; reports it when it changed or when always. */
static void take_party(struct ctl_remote *r, const struct party_info *p, bool always)
{
	bool same = ctl_party_same(&r->party, p);

	if (!same && !party_copy(&r->party, p)) {
		log_error("control %s: party %s: out of memory", r->url, r->party_id);
		return;
	}
	if (!same || always)
		report_party(r);
}

static void close_stream(struct ctl_remote *r)
{
	control_events_close(r->stream);
	r->stream = NULL;
	r->stream_live = false;
	r->stream_wanted = false;
}

/* Ends the party here: no callbacks. */
static void stop_party(struct ctl_remote *r)
{
	close_stream(r);
	event_del(r->heartbeat_ev);
	event_del(r->retry_ev);
	event_del(r->poll_ev);
	event_del(r->update_ev);
	r->update_dirty = false;
	r->update_inflight = false;
	r->session++;
}

static void party_gone(struct ctl_remote *r, const char *why)
{
	log_info("control %s: no longer in party %s: %s", r->url, r->party_id, why);
	stop_party(r);
	r->state = R_IDLE;
	party_info_clear(&r->party);
	if (r->registered)
		set_link(r, CTL_LINK_UP, "registered");
	if (r->ctl.ev.on_party_gone)
		r->ctl.ev.on_party_gone(r->ctl.ev.ctx, why);
}

static void start_rejoin(struct ctl_remote *r, const char *why)
{
	if (r->state != R_MEMBER)
		return;
	log_info("control %s: party %s: %s; joining again", r->url, r->party_id, why);
	close_stream(r);
	event_del(r->poll_ev);
	event_del(r->retry_ev);
	r->state = R_REJOINING;
	submit_background(r, K_REJOIN);
}

static void schedule_update(struct ctl_remote *r, uint32_t ms)
{
	if (!r->update_inflight && !event_pending(r->update_ev, EV_TIMEOUT, NULL))
		arm(r->update_ev, ms);
}

/* The server lost us or went away: down, polling, and a retry after backoff. */
static void stream_lost(struct ctl_remote *r, const char *why)
{
	if (r->stream_live)
		r->backoff_ms = r->t.retry_min_ms; /* it worked until now: try again soon */
	else
		r->backoff_ms = next_backoff(r, r->backoff_ms);
	close_stream(r);
	r->stream_was_cut = true;
	set_link(r, CTL_LINK_DOWN, why);
	arm(r->retry_ev, r->backoff_ms);
	if (!event_pending(r->poll_ev, EV_TIMEOUT, NULL))
		arm(r->poll_ev, r->t.poll_ms);
}

/* Now a member of r->party: heartbeats, the stream. */
static void become_member(struct ctl_remote *r, const struct party_info *p)
{
	const struct peer_info *me;

	r->state = R_MEMBER;
	snprintf(r->party_id, sizeof(r->party_id), "%s", p->id);
	me = party_info_find(p, control_client_peer_id(r->cc));
	if (me)
		r->self.virtual_ip = me->virtual_ip;
	r->backoff_ms = 0;
	arm(r->heartbeat_ev, r->t.heartbeat_ms);
	open_stream(r);
	if (r->update_dirty)
		schedule_update(r, UPDATE_COALESCE_MS);
}

/* The party record in a create/join reply or a snapshot ({"party": {...}}). */
static bool party_of(const json_t *body, struct party_info *p, char *err)
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
	set_link(r, CTL_LINK_DOWN, why);
	if (r->state != R_IDLE || r->registering || event_pending(r->register_ev, EV_TIMEOUT, NULL))
		return;
	r->registered = false;
	r->register_backoff_ms = next_backoff(r, r->register_backoff_ms);
	arm(r->register_ev, r->register_backoff_ms);
}

static void on_party_reply(struct ctl_remote *r, struct rcall *k, const struct control_reply *cr)
{
	struct party_info p;
	char msg[ERR_MAX + URL_MAX];
	uint64_t session;
	errmsg err;
	int status;

	if (k->session != r->session || r->state != (k->kind == K_CREATE ? R_CREATING : R_JOINING))
		return;
	if (!ok_status(cr->status)) {
		status = user_error(r, k, cr, msg, sizeof(msg));
		r->state = R_IDLE;
		if (cr->status == 0)
			server_unreachable(r, msg);
		finish_op(r, status, msg, NULL);
		return;
	}
	if (!party_of(cr->body, &p, err)) {
		err_format(msg, sizeof(msg), "%s sent a party we cannot read: %s", r->url, err);
		r->state = R_IDLE;
		finish_op(r, 503, msg, NULL);
		return;
	}
	if (!party_copy(&r->party, &p)) {
		party_info_clear(&p);
		r->state = R_IDLE;
		finish_op(r, 503, "out of memory", NULL);
		return;
	}
	party_info_clear(&p);
	become_member(r, &r->party);
	log_info("control %s: %s party %s (%s)", r->url, k->kind == K_CREATE ? "created" : "joined",
	         r->party_id, r->party.name);
	session = r->session;
	finish_op(r, 0, NULL, &r->party);
	if (r->state == R_MEMBER && r->session == session)
		report_party(r);
}

static void on_rejoin_reply(struct ctl_remote *r, struct rcall *k, const struct control_reply *cr)
{
	struct party_info p;
	char msg[ERR_MAX + URL_MAX];
	errmsg err;

	if (k->session != r->session || r->state != R_REJOINING)
		return;
	if (cr->status == 0 || cr->status >= 500 || cr->status == 429) {
		user_error(r, k, cr, msg, sizeof(msg));
		set_link(r, CTL_LINK_DOWN, msg);
		r->backoff_ms = next_backoff(r, r->backoff_ms);
		arm(r->retry_ev, r->backoff_ms);
		return;
	}
	if (!ok_status(cr->status)) {
		if (cr->status == 404)
			err_format(msg, sizeof(msg), "party %s no longer exists on %s", r->party_id,
			           r->url);
		else
			user_error(r, k, cr, msg, sizeof(msg));
		party_gone(r, msg);
		return;
	}
	if (!party_of(cr->body, &p, err)) {
		log_ratelimited(LL_ERROR, "control %s: rejoin: unreadable party: %s", r->url, err);
		r->backoff_ms = next_backoff(r, r->backoff_ms);
		arm(r->retry_ev, r->backoff_ms);
		return;
	}
	become_member(r, &p);
	{
		char vip[ADDR_STRLEN];

		log_info("control %s: rejoined party %s as %s", r->url, r->party_id,
		         addr_format_ip(&r->self.virtual_ip, vip));
	}
	take_party(r, &p, true);
	party_info_clear(&p);
}

static void on_leave_reply(struct ctl_remote *r, struct rcall *k, const struct control_reply *cr)
{
	char msg[ERR_MAX + URL_MAX];

	if (k->session != r->session || r->state != R_LEAVING)
		return;
	if (!ok_status(cr->status) && cr->status != 404) {
		user_error(r, k, cr, msg, sizeof(msg));
		log_error("control %s: leaving party %s: %s; the server will expire us", r->url,
		          r->party_id, msg);
	} else {
		log_info("control %s: left party %s", r->url, r->party_id);
	}
	r->state = R_IDLE;
	r->session++;
	party_info_clear(&r->party);
	finish_op(r, 0, NULL, NULL);
}

static void on_heartbeat_reply(struct ctl_remote *r, struct rcall *k,
                               const struct control_reply *cr)
{
	char msg[ERR_MAX + URL_MAX];

	if (k->session != r->session || r->state != R_MEMBER)
		return;
	if (cr->status == 404 || cr->status == 403) {
		start_rejoin(r, "the server no longer lists us (heartbeat answered 404)");
		return;
	}
	if (!ok_status(cr->status)) {
		user_error(r, k, cr, msg, sizeof(msg));
		log_ratelimited(LL_INFO, "control %s: heartbeat: %s", r->url, msg);
	}
}

static void on_update_reply(struct ctl_remote *r, struct rcall *k, const struct control_reply *cr)
{
	char msg[ERR_MAX + URL_MAX];

	if (k->session != r->session)
		return;
	r->update_inflight = false;
	if (r->state != R_MEMBER)
		return;
	if (cr->status == 404 || cr->status == 403) {
		start_rejoin(r, "the server no longer lists us (update answered 404)");
		return;
	}
	if (cr->status == 0 || cr->status >= 500 || cr->status == 429) {
		r->update_dirty = true;
		r->update_backoff_ms = next_backoff(r, r->update_backoff_ms);
		schedule_update(r, r->update_backoff_ms);
		return;
	}
	r->update_backoff_ms = 0;
	if (!ok_status(cr->status)) {
		user_error(r, k, cr, msg, sizeof(msg));
		log_error("control %s: party %s: the server refused our description: %s", r->url,
		          r->party_id, msg);
	}
	if (r->update_dirty)
		schedule_update(r, UPDATE_COALESCE_MS);
}

static void on_poll_reply(struct ctl_remote *r, struct rcall *k, const struct control_reply *cr)
{
	struct party_info p;
	char msg[ERR_MAX + URL_MAX];
	errmsg err;

	if (k->session != r->session || r->state != R_MEMBER || r->stream_live)
		return;
	if (cr->status == 403 || cr->status == 404) {
		start_rejoin(r, "the server no longer lists us (poll answered 403/404)");
		return;
	}
	if (!ok_status(cr->status)) {
		user_error(r, k, cr, msg, sizeof(msg));
		set_link(r, CTL_LINK_DOWN, msg);
		return;
	}
	if (!party_info_from_json(&p, cr->body, err)) {
		log_ratelimited(LL_ERROR, "control %s: poll: unreadable party: %s", r->url, err);
		return;
	}
	take_party(r, &p, false);
	party_info_clear(&p);
	/* It answers again: reopen the stream now rather than after the backoff. */
	if (r->state == R_MEMBER && !r->stream && !r->stream_wanted) {
		event_del(r->retry_ev);
		open_stream(r);
	}
}

static void on_signal_reply(struct ctl_remote *r, struct rcall *k, const struct control_reply *cr)
{
	char msg[ERR_MAX + URL_MAX];

	if (ok_status(cr->status))
		return;
	user_error(r, k, cr, msg, sizeof(msg));
	log_ratelimited(LL_INFO, "control %s: signal to %s: %s", r->url, k->to, msg);
}

static void on_relays_reply(struct ctl_remote *r, struct rcall *k, const struct control_reply *cr)
{
	const json_t *list = json_object_get(cr->body, "relays"), *v;
	struct ctl_relay *relays = NULL;
	char msg[ERR_MAX + URL_MAX];
	size_t n = 0, i;

	if (!ok_status(cr->status) || !json_is_array(list)) {
		int status = ok_status(cr->status) ? 503 : user_error(r, k, cr, msg, sizeof(msg));

		if (ok_status(cr->status))
			err_format(msg, sizeof(msg), "%s sent no relay list", r->url);
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

static void on_token_reply(struct ctl_remote *r, struct rcall *k, const struct control_reply *cr)
{
	uint8_t token[TOKEN_MAX], key[32];
	char msg[ERR_MAX + URL_MAX];
	const char *expires = json_string_value(json_object_get(cr->body, "expires_at"));
	size_t token_len = 0, key_len = 0;
	int64_t expires_ms = 0;

	if (!ok_status(cr->status)) {
		int status = user_error(r, k, cr, msg, sizeof(msg));

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

static void dispatch(struct rcall *k, const struct control_reply *cr)
{
	struct ctl_remote *r = k->r;

	switch (k->kind) {
	case K_CREATE:
	case K_JOIN:
		on_party_reply(r, k, cr);
		break;
	case K_REJOIN:
		on_rejoin_reply(r, k, cr);
		break;
	case K_LEAVE:
		on_leave_reply(r, k, cr);
		break;
	case K_HEARTBEAT:
		on_heartbeat_reply(r, k, cr);
		break;
	case K_UPDATE:
		on_update_reply(r, k, cr);
		break;
	case K_SIGNAL:
		on_signal_reply(r, k, cr);
		break;
	case K_POLL:
		on_poll_reply(r, k, cr);
		break;
	case K_RELAYS:
		on_relays_reply(r, k, cr);
		break;
	case K_TOKEN:
		on_token_reply(r, k, cr);
		break;
	}
}

/* The event stream. */

static void on_member_event(struct ctl_remote *r, const json_t *data)
{
	struct peer_info m;
	errmsg err;

	if (!peer_info_from_json(&m, json_object_get(data, "peer"), err)) {
		log_ratelimited(LL_ERROR, "control %s: unreadable member in an event: %s", r->url,
		                err);
		return;
	}
	if (party_info_find(&r->party, m.id)) {
		struct peer_info *old = party_info_find(&r->party, m.id);
		struct party_info before;

		party_info_init(&before);
		if (!party_copy(&before, &r->party)) {
			party_info_clear(&before);
			return;
		}
		*old = m;
		if (!ctl_party_same(&before, &r->party))
			report_party(r);
		party_info_clear(&before);
		return;
	}
	if (!party_info_put(&r->party, &m, err)) {
		log_ratelimited(LL_ERROR, "control %s: party %s: %s", r->url, r->party_id, err);
		return;
	}
	report_party(r);
}

static void on_member_left(struct ctl_remote *r, const json_t *data)
{
	const char *who = json_string_value(json_object_get(data, "peer_id"));
	const char *reason = json_string_value(json_object_get(data, "reason"));
	char why[128];

	if (!who)
		return;
	if (strcmp(who, control_client_peer_id(r->cc)) == 0) {
		if (reason && strcmp(reason, "expired") == 0) {
			/* We are alive and were only silent (suspended?): back in. */
			start_rejoin(r, "the server expired us");
			return;
		}
		err_format(why, sizeof(why), "removed from party %s (%s)", r->party_id,
		           reason ? reason : "no reason given");
		party_gone(r, why);
		return;
	}
	if (party_info_remove(&r->party, who))
		report_party(r);
}

static void on_snapshot(struct ctl_remote *r, const json_t *data)
{
	struct party_info p;
	bool reconnect = r->stream_was_cut;
	errmsg err;

	if (!party_of(data, &p, err)) {
		log_ratelimited(LL_ERROR, "control %s: unreadable snapshot: %s", r->url, err);
		return;
	}
	if (!party_info_find(&p, control_client_peer_id(r->cc))) {
		party_info_clear(&p);
		start_rejoin(r, "the snapshot does not list us");
		return;
	}
	r->stream_live = true;
	r->stream_was_cut = false;
	r->backoff_ms = 0;
	event_del(r->poll_ev);
	event_del(r->retry_ev);
	set_link(r, CTL_LINK_UP, "event stream open");
	take_party(r, &p, reconnect);
	party_info_clear(&p);
}

static void on_stream_end(struct ctl_remote *r, int status)
{
	char why[ERR_MAX + URL_MAX];

	switch (status) {
	case 401:
		close_stream(r);
		r->registered = false;
		r->stream_wanted = true;
		ensure_registered(r);
		return;
	case 403:
	case 404:
		start_rejoin(r, "the server refused our event stream (not a member)");
		return;
	case 0:
		err_format(why, sizeof(why), "lost the event stream from %s (server gone?)",
		           r->url);
		break;
	case 200:
		err_format(why, sizeof(why), "%s closed the event stream", r->url);
		break;
	default:
		err_format(why, sizeof(why), "%s refused the event stream (%d)", r->url, status);
		break;
	}
	stream_lost(r, why);
}

static void on_event(const char *type, json_t *data, int status, void *arg)
{
	struct ctl_remote *r = arg;
	const char *party_id = json_string_value(json_object_get(data, "party_id"));

	if (r->state != R_MEMBER)
		return;
	if (!type) {
		on_stream_end(r, status);
		return;
	}
	if (party_id && strcmp(party_id, r->party_id) != 0)
		return;
	if (strcmp(type, "snapshot") == 0) {
		on_snapshot(r, data);
	} else if (strcmp(type, "member_joined") == 0 || strcmp(type, "member_updated") == 0) {
		on_member_event(r, data);
	} else if (strcmp(type, "member_left") == 0) {
		on_member_left(r, data);
	} else if (strcmp(type, "host_changed") == 0) {
		const char *host = json_string_value(json_object_get(data, "host_id"));

		if (host && strcmp(host, r->party.host_id) != 0 && strlen(host) <= PEER_ID_MAX) {
			snprintf(r->party.host_id, sizeof(r->party.host_id), "%s", host);
			report_party(r);
		}
	} else if (strcmp(type, "party_closed") == 0) {
		char why[64];

		err_format(why, sizeof(why), "party %s was closed", r->party_id);
		party_gone(r, why);
	} else if (strcmp(type, "signal") == 0) {
		const char *from = json_string_value(json_object_get(data, "from"));

		if (from && r->ctl.ev.on_signal)
			r->ctl.ev.on_signal(r->ctl.ev.ctx, from, json_object_get(data, "data"));
	}
}

static void open_stream(struct ctl_remote *r)
{
	event_del(r->retry_ev);
	if (r->stream || r->state != R_MEMBER)
		return;
	if (!r->registered) {
		r->stream_wanted = true;
		ensure_registered(r);
		return;
	}
	r->stream_wanted = false;
	r->stream_live = false;
	r->stream = control_events_open(r->cc, r->party_id, on_event, r);
	if (!r->stream) {
		stream_lost(r, "cannot open the event stream");
		return;
	}
	if (r->link == CTL_LINK_UP)
		set_link(r, CTL_LINK_CONNECTING, "opening the event stream");
}

/* Timers. */

static void on_heartbeat_timer(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_remote *r = arg;

	if (r->state != R_MEMBER)
		return;
	arm(r->heartbeat_ev, r->t.heartbeat_ms);
	submit_background(r, K_HEARTBEAT);
}

static void on_retry_timer(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_remote *r = arg;

	if (r->state == R_REJOINING)
		submit_background(r, K_REJOIN);
	else if (r->state == R_MEMBER)
		open_stream(r);
}

static void on_poll_timer(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_remote *r = arg;

	if (r->state != R_MEMBER || r->stream_live)
		return;
	arm(r->poll_ev, r->t.poll_ms);
	submit_background(r, K_POLL);
}

static void on_update_timer(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_remote *r = arg;

	if (r->state != R_MEMBER || !r->update_dirty || r->update_inflight)
		return;
	r->update_dirty = false;
	r->update_inflight = true;
	submit_background(r, K_UPDATE);
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
	if (r->done || r->state == R_CREATING || r->state == R_JOINING || r->state == R_LEAVING)
		return -EBUSY;
	if (r->state != R_IDLE)
		return -EISCONN;
	return 0;
}

/* Whether the description differs; takes it either way. */
static bool take_description(struct ctl_remote *r, const struct peer_info *self)
{
	bool changed = strcmp(r->self.name, self->name) != 0 ||
	               r->self.nat_type != self->nat_type ||
	               !addr_equal(&r->self.public_endpoint, &self->public_endpoint) ||
	               !addr_equal(&r->self.local_endpoint, &self->local_endpoint);

	snprintf(r->self.name, sizeof(r->self.name), "%s", self->name);
	r->self.nat_type = self->nat_type;
	r->self.public_endpoint = self->public_endpoint;
	r->self.local_endpoint = self->local_endpoint;
	return changed;
}

static int start_op(struct ctl_remote *r, enum remote_state state, enum call_kind kind,
                    const struct peer_info *self, ctl_done_fn *done, void *arg)
{
	struct rcall *k;
	errmsg err;
	int rc;

	take_description(r, self);
	if (!peer_info_validate(&r->self, err)) {
		err_prefix(err, "self");
		return fail_later(r, done, arg, 400, err);
	}
	r->session++;
	r->update_dirty = false;
	k = call_new(r, kind);
	if (!k)
		return -ENOMEM;
	r->state = state;
	r->done = done;
	r->done_arg = arg;
	/* A create or join is the user waiting: try registering now, not after backoff. */
	rc = submit(k);
	if (rc) {
		call_free(k);
		r->state = R_IDLE;
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
	return start_op(r, R_CREATING, K_CREATE, self, done, arg);
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
	return start_op(r, R_JOINING, K_JOIN, self, done, arg);
}

static int remote_leave(struct ctl *c, ctl_done_fn *done, void *arg)
{
	struct ctl_remote *r = to_remote(c);
	struct rcall *k;
	int rc;

	if (r->state != R_MEMBER && r->state != R_REJOINING)
		return r->state == R_IDLE && !r->done ? -ENOTCONN : -EBUSY;
	stop_party(r); /* a new session: nothing of the old one answers now */
	k = call_new(r, K_LEAVE);
	if (!k)
		return -ENOMEM;
	r->state = R_LEAVING;
	r->done = done;
	r->done_arg = arg;
	rc = submit(k);
	if (rc) {
		/* Nothing was sent: we are out here, the server will expire us. */
		call_free(k);
		return fail_later(r, done, arg, 0, NULL);
	}
	return 0;
}

static int remote_update_self(struct ctl *c, const struct peer_info *self)
{
	struct ctl_remote *r = to_remote(c);

	if (!take_description(r, self))
		return 0;
	if (r->state == R_IDLE)
		return 0;
	r->update_dirty = true;
	if (r->state == R_MEMBER)
		schedule_update(r, UPDATE_COALESCE_MS);
	return 0;
}

static int remote_signal(struct ctl *c, const char *to_peer_id, const json_t *data)
{
	struct ctl_remote *r = to_remote(c);
	struct rcall *k;
	int rc;

	if (r->state != R_MEMBER)
		return -ENOTCONN;
	if (!peer_id_valid(to_peer_id) || !data)
		return -EINVAL;
	k = call_new(r, K_SIGNAL);
	if (!k)
		return -ENOMEM;
	snprintf(k->to, sizeof(k->to), "%s", to_peer_id);
	k->data = json_deep_copy(data);
	rc = k->data ? submit(k) : -ENOMEM;
	if (rc)
		call_free(k);
	return rc;
}

static int remote_relays(struct ctl *c, ctl_relays_fn *done, void *arg)
{
	struct ctl_remote *r = to_remote(c);
	struct rcall *k = call_new(r, K_RELAYS);
	int rc;

	if (!k)
		return -ENOMEM;
	k->relays_done = done;
	k->arg = arg;
	/* No token needed: sent at once, registered or not. */
	call_link(r, k);
	rc = issue(k);
	if (rc) {
		call_unlink(r, k);
		call_free(k);
	}
	return rc;
}

static int remote_relay_token(struct ctl *c, ctl_relay_token_fn *done, void *arg)
{
	struct ctl_remote *r = to_remote(c);
	struct rcall *k;
	int rc;

	if (r->state != R_MEMBER)
		return -ENOTCONN;
	k = call_new(r, K_TOKEN);
	if (!k)
		return -ENOMEM;
	k->token_done = done;
	k->arg = arg;
	rc = submit(k);
	if (rc)
		call_free(k);
	return rc;
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

	close_stream(r);
	/* Frees the HTTP requests without calling back; our records of them go next. */
	control_client_destroy(r->cc);
	while (r->calls) {
		struct rcall *k = r->calls;

		call_unlink(r, k);
		call_free(k);
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
	r->register_ev = evtimer_new(base, on_register_timer, r);
	r->done_ev = evtimer_new(base, on_done_timer, r);
	if (!r->heartbeat_ev || !r->retry_ev || !r->poll_ev || !r->update_ev || !r->register_ev ||
	    !r->done_ev) {
		err_set(err, "out of memory");
		goto err_events;
	}
	r->link = CTL_LINK_CONNECTING;
	ensure_registered(r);
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
