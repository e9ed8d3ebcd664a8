/* ctl_remote.h - what ctl_remote.c, ctl_call.c and ctl_stream.c share: state, requests, helpers. */
#ifndef LANRAGE_CONTROL_CTL_REMOTE_H
#define LANRAGE_CONTROL_CTL_REMOTE_H

#include <event2/util.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "control/control_client.h"
#include "control/ctl.h"
#include "util/err.h"

struct event;

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
 * Every request is a struct ctl_call on the ctl's list.  Requests wait while we
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
	REMOTE_IDLE,
	REMOTE_CREATING,
	REMOTE_JOINING,
	REMOTE_MEMBER,
	REMOTE_REJOINING,
	REMOTE_LEAVING,
};

enum call_kind {
	CALL_CREATE,
	CALL_JOIN,
	CALL_REJOIN,
	CALL_LEAVE,
	CALL_HEARTBEAT,
	CALL_UPDATE,
	CALL_SIGNAL,
	CALL_POLL,
	CALL_RELAYS,
	CALL_TOKEN,
	CALL_KICK,
	CALL_UNBAN,
	CALL_BANS,
};

/* One request; on the ctl's list until answered (destroy frees the rest). */
struct ctl_call {
	struct ctl_call *next, *prev;
	struct ctl_remote *r;
	enum call_kind kind;
	uint64_t session;  /* r->session when made */
	bool waiting_auth; /* sent once registration completes */
	bool reauthed;     /* already sent again after a 401 */
	uint64_t sent_ms;
	char party_id[PARTY_ID_LEN + 1];
	char to[PEER_ID_MAX + 1]; /* signal, kick, unban */
	json_t *data;             /* signal; owned */
	ctl_relays_fn *relays_done;
	ctl_relay_token_fn *token_done;
	ctl_done_fn *done_fn; /* kick, unban */
	ctl_bans_fn *bans_done;
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

	struct ctl_call *calls;
	struct event *heartbeat_ev, *retry_ev, *poll_ev, *update_ev, *register_ev, *done_ev;
};

static inline bool ctl_ok_status(int status)
{
	return status >= 200 && status < 300;
}

/* ctl_remote.c */
void ctl_remote_arm(struct event *ev, uint32_t ms);
/* The delay after ms: retry_min_ms, doubling up to retry_max_ms. */
uint32_t ctl_remote_backoff(const struct ctl_remote *r, uint32_t ms);
void ctl_remote_set_link(struct ctl_remote *r, enum ctl_link link, const char *detail);
/* A reply (or a failure to send) reaches its handler; k is freed by the caller. */
void ctl_remote_dispatch(struct ctl_call *k, const struct control_reply *cr);
void ctl_remote_report_party(struct ctl_remote *r);
/* Replaces the party; reports it when it changed, or always. */
void ctl_remote_take_party(struct ctl_remote *r, const struct party_info *p, bool always);
/* The party is gone (closed, removed): IDLE, then on_party_gone. */
void ctl_remote_gone(struct ctl_remote *r, const char *why);
/* The server lost us (expired): join again with the same id and description. */
void ctl_remote_rejoin(struct ctl_remote *r, const char *why);
/* The "party" field of a create/join reply or a snapshot. */
bool ctl_remote_party_of(const json_t *body, struct party_info *p, char *err) WARN_UNUSED;

#endif
