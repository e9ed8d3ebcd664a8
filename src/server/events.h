/* events.h - the party event stream: server-sent events, fanned out through the store. */
#ifndef LANRAGE_SERVER_EVENTS_H
#define LANRAGE_SERVER_EVENTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/party_id.h"
#include "control/peer.h"
#include "server/store.h"
#include "util/compiler.h"

struct event_base;
struct event;
struct evhttp_request;

/*
 * Event types.  Every event is published through the store (PostgreSQL
 * NOTIFY, or straight back for SQLite) and delivered when it comes back, so
 * subscribers on every instance see the same events in the same order.
 */
#define EVENT_SNAPSHOT      "snapshot"
#define EVENT_MEMBER_JOINED "member_joined"
#define EVENT_MEMBER_LEFT   "member_left"
#define EVENT_MEMBER_UPDATE "member_updated"
#define EVENT_HOST_CHANGED  "host_changed"
#define EVENT_PARTY_CLOSED  "party_closed"
#define EVENT_SIGNAL        "signal"

/* Subscribers are hashed by party id; each is one open HTTP response. */
enum { EVENTS_BUCKETS = 4096, EVENTS_MAX_BACKLOG_BYTES = 1 << 20 };

struct subscriber;

/* Owned by the server; lives on the loop thread. */
struct events {
	struct store *store;
	struct subscriber *buckets[EVENTS_BUCKETS];
	size_t n_subscribers;
	struct event *ping_timer;
	uint64_t published, delivered;
};

int events_start(struct events *ev, struct event_base *base, struct store *store, int64_t ping_ms,
                 char *err) WARN_UNUSED;
/* Ends every stream. */
void events_stop(struct events *ev);

/*
 * Publishes an event to the party's subscribers, or only to the member `to`
 * when not NULL.  data is consumed; it should carry "party_id".
 */
void events_publish(struct events *ev, const char *party_id, const char *type, const char *to,
                    json_t *data);

/*
 * Turns req into an event stream for peer_id in party_id: answers 200 with
 * text/event-stream, sends the snapshot (consumed) as the first event, then
 * every event until the member leaves, the party closes or the client goes.
 */
void events_subscribe(struct events *ev, struct evhttp_request *req, const char *party_id,
                      const char *peer_id, json_t *snapshot);

size_t events_subscribers(const struct events *ev);

/*
 * The payload that travels between instances: a header line
 * "<party_id> <type> <to|*>" and the event's JSON.  Parsing is pure (fuzzed).
 */
struct event_msg {
	char party_id[PARTY_ID_LEN + 1];
	char type[32];
	char to[PEER_ID_MAX + 1]; /* "" for everyone */
	const char *json;         /* points into the payload */
	size_t json_len;
};
bool events_parse_payload(const char *payload, size_t len, struct event_msg *out) WARN_UNUSED;

#endif
