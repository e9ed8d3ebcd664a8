/* ctl_stream.c - ctl_remote's event stream: the party as it changes, and when it breaks. */
#include "control/ctl_stream.h"

#include <event2/event.h>
#include <stdio.h>
#include <string.h>

#include "control/ctl_call.h"
#include "util/log.h"

void ctl_stream_close(struct ctl_remote *r)
{
	control_events_close(r->stream);
	r->stream = NULL;
	r->stream_live = false;
	r->stream_wanted = false;
}

/* The server lost us or went away: down, polling, and a retry after backoff. */
void ctl_stream_lost(struct ctl_remote *r, const char *why)
{
	if (r->stream_live)
		r->backoff_ms = r->t.retry_min_ms; /* it worked until now: try again soon */
	else
		r->backoff_ms = ctl_remote_backoff(r, r->backoff_ms);
	ctl_stream_close(r);
	r->stream_was_cut = true;
	ctl_remote_set_link(r, CTL_LINK_DOWN, why);
	ctl_remote_arm(r->retry_ev, r->backoff_ms);
	if (!event_pending(r->poll_ev, EV_TIMEOUT, NULL))
		ctl_remote_arm(r->poll_ev, r->t.poll_ms);
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
		if (!party_info_copy(&before, &r->party)) {
			party_info_clear(&before);
			return;
		}
		*old = m;
		if (!ctl_party_same(&before, &r->party))
			ctl_remote_report_party(r);
		party_info_clear(&before);
		return;
	}
	if (!party_info_put(&r->party, &m, err)) {
		log_ratelimited(LL_ERROR, "control %s: party %s: %s", r->url, r->party_id, err);
		return;
	}
	ctl_remote_report_party(r);
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
			ctl_remote_rejoin(r, "the server expired us");
			return;
		}
		if (reason && strcmp(reason, "kicked") == 0)
			err_format(why, sizeof(why), "the host removed us from party %s",
			           r->party_id);
		else
			err_format(why, sizeof(why), "removed from party %s (%s)", r->party_id,
			           reason ? reason : "no reason given");
		ctl_remote_gone(r, why);
		return;
	}
	if (party_info_remove(&r->party, who))
		ctl_remote_report_party(r);
}

static void on_snapshot(struct ctl_remote *r, const json_t *data)
{
	struct party_info p;
	bool reconnect = r->stream_was_cut;
	errmsg err;

	if (!ctl_remote_party_of(data, &p, err)) {
		log_ratelimited(LL_ERROR, "control %s: unreadable snapshot: %s", r->url, err);
		return;
	}
	if (!party_info_find(&p, control_client_peer_id(r->cc))) {
		party_info_clear(&p);
		ctl_remote_rejoin(r, "the snapshot does not list us");
		return;
	}
	r->stream_live = true;
	r->stream_was_cut = false;
	r->backoff_ms = 0;
	event_del(r->poll_ev);
	event_del(r->retry_ev);
	ctl_remote_set_link(r, CTL_LINK_UP, "event stream open");
	ctl_remote_take_party(r, &p, reconnect);
	party_info_clear(&p);
}

static void on_stream_end(struct ctl_remote *r, int status)
{
	char why[ERR_MAX + URL_MAX];

	switch (status) {
	case 401:
		ctl_stream_close(r);
		r->registered = false;
		r->stream_wanted = true;
		ctl_call_register(r);
		return;
	case 403:
	case 404:
		ctl_remote_rejoin(r, "the server refused our event stream (not a member)");
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
	ctl_stream_lost(r, why);
}

static void on_event(const char *type, json_t *data, int status, void *arg)
{
	struct ctl_remote *r = arg;
	const char *party_id = json_string_value(json_object_get(data, "party_id"));

	if (r->state != REMOTE_MEMBER)
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
			ctl_remote_report_party(r);
		}
	} else if (strcmp(type, "party_closed") == 0) {
		char why[64];

		err_format(why, sizeof(why), "party %s was closed", r->party_id);
		ctl_remote_gone(r, why);
	} else if (strcmp(type, "signal") == 0) {
		const char *from = json_string_value(json_object_get(data, "from"));

		if (from && json_object_get(data, "data") && r->ctl.ev.on_signal)
			r->ctl.ev.on_signal(r->ctl.ev.ctx, from, json_object_get(data, "data"));
	}
}

void ctl_stream_open(struct ctl_remote *r)
{
	event_del(r->retry_ev);
	if (r->stream || r->state != REMOTE_MEMBER)
		return;
	if (!r->registered) {
		r->stream_wanted = true;
		ctl_call_register(r);
		return;
	}
	r->stream_wanted = false;
	r->stream_live = false;
	r->stream = control_events_open(r->cc, r->party_id, on_event, r);
	if (!r->stream) {
		ctl_stream_lost(r, "cannot open the event stream");
		return;
	}
	if (r->link == CTL_LINK_UP)
		ctl_remote_set_link(r, CTL_LINK_CONNECTING, "opening the event stream");
}
