/* ctl_call.c - ctl_remote's requests: registration first, again after a 401, errors for people. */
#include "control/ctl_call.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/ctl_stream.h"
#include "util/log.h"
#include "util/now.h"

/*
 * Every request is a struct ctl_call on the ctl's list until its reply.
 * While we are not registered (at start, after a 401) requests wait on the
 * list; registering proves the key (control_register) and then sends them,
 * or, when it fails, hands each its failure.  A 401 means the token expired
 * or the server forgot it: we register again and send the request once more,
 * so callers never see it.
 */

/*
 * Why a request got no answer, for people: libevent reports a refused
 * connect as a request with no status (control_client: "connection
 * failed"), anything else after connecting as no request at all.
 */
void ctl_call_transport_error(const struct ctl_remote *r, const struct control_reply *cr,
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
int ctl_call_error(const struct ctl_remote *r, const struct ctl_call *k,
                   const struct control_reply *cr, char *out, size_t size)
{
	switch (cr->status) {
	case 0:
		ctl_call_transport_error(r, cr, k->sent_ms, out, size);
		return 503;
	case 400:
	case 413:
		err_format(out, size, "%s", cr->error ? cr->error : "bad request");
		return 400;
	case 404:
		if (k->kind == CALL_JOIN)
			err_format(out, size, "no party %s on %s", k->party_id, r->url);
		else
			err_format(out, size, "%s", cr->error ? cr->error : "not found");
		return 404;
	case 409:
		err_format(out, size, "%s", cr->error ? cr->error : "conflict");
		return 409;
	case 403: /* not the host; removed from the party by its host */
		err_format(out, size, "%s", cr->error ? cr->error : "forbidden");
		return 403;
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

void ctl_call_link(struct ctl_remote *r, struct ctl_call *k)
{
	k->prev = NULL;
	k->next = r->calls;
	if (k->next)
		k->next->prev = k;
	r->calls = k;
}

void ctl_call_unlink(struct ctl_remote *r, struct ctl_call *k)
{
	if (k->prev)
		k->prev->next = k->next;
	else
		r->calls = k->next;
	if (k->next)
		k->next->prev = k->prev;
	k->next = k->prev = NULL;
}

void ctl_call_free(struct ctl_call *k)
{
	json_decref(k->data);
	free(k);
}

struct ctl_call *ctl_call_new(struct ctl_remote *r, enum call_kind kind)
{
	struct ctl_call *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	k->r = r;
	k->kind = kind;
	k->session = r->session;
	k->sent_ms = now_mono_ms();
	snprintf(k->party_id, sizeof(k->party_id), "%s", r->party_id);
	return k;
}

static void on_reply(const struct control_reply *cr, void *arg);

static int issue(struct ctl_call *k)
{
	struct ctl_remote *r = k->r;
	char path[128];

	k->sent_ms = now_mono_ms();
	switch (k->kind) {
	case CALL_CREATE:
		return control_party_create(r->cc, r->party_name, &r->self, on_reply, k);
	case CALL_JOIN:
	case CALL_REJOIN:
		return control_party_join(r->cc, k->party_id, &r->self, on_reply, k);
	case CALL_LEAVE:
		return control_party_leave(r->cc, k->party_id, on_reply, k);
	case CALL_HEARTBEAT:
		return control_heartbeat(r->cc, k->party_id, on_reply, k);
	case CALL_UPDATE:
		return control_update(r->cc, k->party_id, &r->self, on_reply, k);
	case CALL_SIGNAL:
		return control_signal(r->cc, k->party_id, k->to, k->data, on_reply, k);
	case CALL_POLL:
		return control_party_get(r->cc, k->party_id, on_reply, k);
	case CALL_RELAYS:
		return control_relays(r->cc, NULL, on_reply, k);
	case CALL_TOKEN:
		snprintf(path, sizeof(path), "/parties/%s/relay-token", k->party_id);
		return control_request(r->cc, "POST", path, NULL, true, on_reply, k);
	case CALL_KICK:
		return control_party_kick(r->cc, k->party_id, k->to, on_reply, k);
	case CALL_UNBAN:
		snprintf(path, sizeof(path), "/parties/%s/bans/%s", k->party_id, k->to);
		return control_request(r->cc, "DELETE", path, NULL, true, on_reply, k);
	case CALL_BANS:
		snprintf(path, sizeof(path), "/parties/%s/bans", k->party_id);
		return control_request(r->cc, "GET", path, NULL, true, on_reply, k);
	}
	return -EINVAL;
}

/* A request that cannot be sent gets a reply saying so. */
static void issue_or_fail(struct ctl_call *k)
{
	int rc = issue(k);
	struct control_reply cr = { .status = 0, .error = "request not sent" };

	if (rc == 0)
		return;
	log_error("control %s: cannot send a request: %s", k->r->url, strerror(-rc));
	ctl_call_unlink(k->r, k);
	ctl_remote_dispatch(k, &cr);
	ctl_call_free(k);
}

/* Sends now, or once registered.  -errno when it cannot even be queued. */
int ctl_call_submit(struct ctl_call *k)
{
	struct ctl_remote *r = k->r;
	int rc;

	ctl_call_link(r, k);
	if (!r->registered) {
		k->waiting_auth = true;
		ctl_call_register(r);
		return 0;
	}
	rc = issue(k);
	if (rc)
		ctl_call_unlink(r, k);
	return rc;
}

/* Fire and forget: heartbeats, polls, updates; failures are logged. */
void ctl_call_background(struct ctl_remote *r, enum call_kind kind)
{
	struct ctl_call *k = ctl_call_new(r, kind);
	int rc = k ? ctl_call_submit(k) : -ENOMEM;

	if (rc) {
		log_ratelimited(LL_ERROR, "control %s: cannot send a request: %s", r->url,
		                strerror(-rc));
		if (k)
			ctl_call_free(k);
	}
}

static void on_reply(const struct control_reply *cr, void *arg)
{
	struct ctl_call *k = arg;
	struct ctl_remote *r = k->r;

	ctl_call_unlink(r, k);
	if (cr->status == 401 && !k->reauthed && k->kind != CALL_RELAYS) {
		/* The token expired (or the server forgot it): prove the key again, once. */
		log_info("control %s: token refused (%s); registering again", r->url,
		         cr->error ? cr->error : "401");
		k->reauthed = true;
		r->registered = false;
		if (ctl_call_submit(k) == 0)
			return;
	}
	ctl_remote_dispatch(k, cr);
	ctl_call_free(k);
}

static void on_registered(const struct control_reply *cr, void *arg)
{
	struct ctl_remote *r = arg;
	struct ctl_call *k, *next;
	char why[ERR_MAX];

	r->registering = false;
	if (cr->status == 200) {
		r->registered = true;
		r->register_backoff_ms = 0;
		log_info("control %s: registered as peer %s", r->url,
		         control_client_peer_id(r->cc));
		/* A member's link is its event stream's. */
		if (r->state != REMOTE_MEMBER)
			ctl_remote_set_link(r, CTL_LINK_UP, "registered");
		for (k = r->calls; k; k = next) {
			next = k->next;
			if (k->waiting_auth) {
				k->waiting_auth = false;
				issue_or_fail(k);
			}
		}
		if (r->stream_wanted)
			ctl_stream_open(r);
		return;
	}
	if (cr->status == 0) {
		ctl_call_transport_error(r, cr, r->register_sent_ms, why, sizeof(why));
		ctl_remote_set_link(r, CTL_LINK_DOWN, why);
	} else {
		err_format(why, sizeof(why), "%s refused our registration (%d): %s", r->url,
		           cr->status, cr->error ? cr->error : "");
		log_error("control %s", why);
		ctl_remote_set_link(r, CTL_LINK_DOWN, why);
	}
	/* The waiting requests fail as registration did; the retries are theirs. */
	for (k = r->calls; k; k = next) {
		next = k->next;
		if (!k->waiting_auth)
			continue;
		ctl_call_unlink(r, k);
		k->sent_ms = r->register_sent_ms; /* its wait was the registration's */
		ctl_remote_dispatch(k, cr);
		ctl_call_free(k);
	}
	if (r->stream_wanted) {
		r->stream_wanted = false;
		r->backoff_ms = ctl_remote_backoff(r, r->backoff_ms);
		ctl_remote_arm(r->retry_ev, r->backoff_ms);
	}
	if (r->state == REMOTE_IDLE && !event_pending(r->register_ev, EV_TIMEOUT, NULL)) {
		r->register_backoff_ms = ctl_remote_backoff(r, r->register_backoff_ms);
		ctl_remote_arm(r->register_ev, r->register_backoff_ms);
	}
}

void ctl_call_register(struct ctl_remote *r)
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

void ctl_call_on_register_timer(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_remote *r = arg;
	struct control_reply cr = { .status = 0, .error = "registration not sent" };

	if (r->register_refused) {
		r->register_refused = false;
		on_registered(&cr, r);
		return;
	}
	ctl_call_register(r);
}

int ctl_call_send_now(struct ctl_call *k)
{
	int rc;

	ctl_call_link(k->r, k);
	rc = issue(k);
	if (rc)
		ctl_call_unlink(k->r, k);
	return rc;
}
