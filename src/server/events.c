/* events.c - the party event stream: server-sent events, fanned out through the store. */
#include "server/events.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/log.h"

struct subscriber {
	struct subscriber *next, *prev;
	struct events *ev;
	struct evhttp_request *req;
	struct evhttp_connection *evcon;
	size_t bucket;
	char party_id[PARTY_ID_LEN + 1];
	char peer_id[PEER_ID_MAX + 1];
};

static size_t bucket_of(const char *party_id)
{
	uint64_t h = 1469598103934665603ull;

	for (const unsigned char *p = (const unsigned char *)party_id; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return h % EVENTS_BUCKETS;
}

static void unlink_sub(struct subscriber *s)
{
	struct events *ev = s->ev;

	if (s->prev)
		s->prev->next = s->next;
	else
		ev->buckets[s->bucket] = s->next;
	if (s->next)
		s->next->prev = s->prev;
	ev->n_subscribers--;
}

/*
 * The client went away.  evhttp frees the connection; a reply still in
 * progress has been detached from it (no connection) and is ours to free.
 */
static void on_close(struct evhttp_connection *evcon, void *arg)
{
	struct subscriber *s = arg;

	log_debug("events: party %s peer %s: stream closed by client", s->party_id, s->peer_id);
	if (!evhttp_request_get_connection(s->req))
		evhttp_request_free(s->req);
	unlink_sub(s);
	free(s);
}

/* We end the stream: finish the chunked reply and forget the client. */
static void end_stream(struct subscriber *s)
{
	unlink_sub(s);
	evhttp_connection_set_closecb(s->evcon, NULL, NULL);
	evhttp_send_reply_end(s->req);
	free(s);
}

/* Writes a chunk; false (and the stream ended) when the client cannot keep up. */
static bool send_chunk(struct subscriber *s, struct evbuffer *chunk)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(s->evcon);

	if (bev && evbuffer_get_length(bufferevent_get_output(bev)) > EVENTS_MAX_BACKLOG_BYTES) {
		log_ratelimited(LL_INFO, "events: party %s peer %s: client too slow, stream ended",
		                s->party_id, s->peer_id);
		end_stream(s);
		return false;
	}
	evhttp_send_reply_chunk(s->req, chunk);
	return true;
}

static void send_event(struct subscriber *s, const char *type, const char *json, size_t len)
{
	struct evbuffer *buf = evbuffer_new();

	if (!buf)
		return;
	evbuffer_add_printf(buf, "event: %s\ndata: ", type);
	evbuffer_add(buf, json, len);
	evbuffer_add(buf, "\n\n", 2);
	send_chunk(s, buf);
	evbuffer_free(buf);
}

bool events_parse_payload(const char *payload, size_t len, struct event_msg *out)
{
	const char *nl = memchr(payload, '\n', len);
	char header[PARTY_ID_LEN + 32 + PEER_ID_MAX + 8];
	char *party, *type, *to, *save = NULL;
	size_t hlen;

	memset(out, 0, sizeof(*out));
	if (!nl)
		return false;
	hlen = (size_t)(nl - payload);
	if (hlen >= sizeof(header))
		return false;
	memcpy(header, payload, hlen);
	header[hlen] = '\0';
	party = strtok_r(header, " ", &save);
	type = strtok_r(NULL, " ", &save);
	to = strtok_r(NULL, " ", &save);
	if (!party || !type || !to || strtok_r(NULL, " ", &save))
		return false;
	if (!party_id_valid(party) || strlen(type) >= sizeof(out->type) ||
	    strspn(type, "abcdefghijklmnopqrstuvwxyz_") != strlen(type))
		return false;
	if (strcmp(to, "*") != 0 && !peer_id_valid(to))
		return false;
	strcpy(out->party_id, party);
	strcpy(out->type, type);
	if (strcmp(to, "*") != 0)
		strcpy(out->to, to);
	out->json = nl + 1;
	out->json_len = len - hlen - 1;
	/* Compact JSON has no raw newline; one would break the SSE framing. */
	return out->json_len > 0 && !memchr(out->json, '\n', out->json_len) &&
	       !memchr(out->json, '\r', out->json_len);
}

/*
 * The member whose stream a member_left ends: the one that left, unless the
 * party is closing (then party_closed, next, ends every stream).
 */
static void event_peer_id(const struct event_msg *m, char out[PEER_ID_MAX + 1])
{
	json_t *obj = json_loadb(m->json, m->json_len, 0, NULL);
	const char *id = obj ? json_string_value(json_object_get(obj, "peer_id")) : NULL;

	if (json_is_true(json_object_get(obj, "closing")))
		id = NULL;
	snprintf(out, PEER_ID_MAX + 1, "%s", id ? id : "");
	json_decref(obj);
}

static void deliver(void *arg, const char *payload, size_t len)
{
	struct events *ev = arg;
	struct event_msg m;
	struct subscriber *s, *next;
	char leaving[PEER_ID_MAX + 1] = "";
	bool closing;

	if (!events_parse_payload(payload, len, &m)) {
		log_ratelimited(LL_ERROR, "events: dropped a malformed event (%zu bytes)", len);
		return;
	}
	log_debug("events: party %s: %s%s%s", m.party_id, m.type, m.to[0] ? " to " : "", m.to);
	closing = strcmp(m.type, EVENT_PARTY_CLOSED) == 0;
	if (strcmp(m.type, EVENT_MEMBER_LEFT) == 0)
		event_peer_id(&m, leaving);
	for (s = ev->buckets[bucket_of(m.party_id)]; s; s = next) {
		next = s->next;
		if (strcmp(s->party_id, m.party_id) != 0)
			continue;
		if (m.to[0] && strcmp(m.to, s->peer_id) != 0)
			continue;
		send_event(s, m.type, m.json, m.json_len);
		ev->delivered++;
		/* send_event may have ended a slow stream: s is then gone. */
	}
	if (!closing && !leaving[0])
		return;
	for (s = ev->buckets[bucket_of(m.party_id)]; s; s = next) {
		next = s->next;
		if (strcmp(s->party_id, m.party_id) == 0 &&
		    (closing || strcmp(s->peer_id, leaving) == 0))
			end_stream(s);
	}
}

void events_publish(struct events *ev, const char *party_id, const char *type, const char *to,
                    json_t *data)
{
	char *json = json_dumps(data, JSON_COMPACT);
	char *payload = NULL;
	errmsg err;
	int rc;

	json_decref(data);
	if (!json)
		return;
	if (asprintf(&payload, "%s %s %s\n%s", party_id, type, to ? to : "*", json) < 0) {
		free(json);
		return;
	}
	free(json);
	ev->published++;
	rc = ev->store->ops->notify(ev->store, payload, err);
	if (rc)
		log_ratelimited(LL_ERROR, "events: party %s: %s not published: %s", party_id, type,
		                err);
	free(payload);
}

void events_subscribe(struct events *ev, struct evhttp_request *req, const char *party_id,
                      const char *peer_id, json_t *snapshot)
{
	struct subscriber *s = calloc(1, sizeof(*s));
	struct evkeyvalq *headers = evhttp_request_get_output_headers(req);
	char *json = json_dumps(snapshot, JSON_COMPACT);

	json_decref(snapshot);
	if (!s || !json) {
		free(s);
		free(json);
		evhttp_send_error(req, 503, "Service Unavailable");
		return;
	}
	s->ev = ev;
	s->req = req;
	s->evcon = evhttp_request_get_connection(req);
	snprintf(s->party_id, sizeof(s->party_id), "%s", party_id);
	snprintf(s->peer_id, sizeof(s->peer_id), "%s", peer_id);
	s->bucket = bucket_of(party_id);
	s->next = ev->buckets[s->bucket];
	if (s->next)
		s->next->prev = s;
	ev->buckets[s->bucket] = s;
	ev->n_subscribers++;

	evhttp_add_header(headers, "Content-Type", "text/event-stream");
	evhttp_add_header(headers, "Cache-Control", "no-cache");
	evhttp_send_reply_start(req, 200, "OK");
	evhttp_connection_set_closecb(s->evcon, on_close, s);
	/* Tells the client how soon to come back after losing the stream (ms). */
	struct evbuffer *hello = evbuffer_new();

	if (hello) {
		evbuffer_add_printf(hello, "retry: 2000\n\n");
		send_chunk(s, hello);
		evbuffer_free(hello);
	}
	send_event(s, EVENT_SNAPSHOT, json, strlen(json));
	free(json);
	log_debug("events: party %s peer %s: subscribed", party_id, peer_id);
}

static void ping(evutil_socket_t fd, short what, void *arg)
{
	struct events *ev = arg;
	struct evbuffer *buf = evbuffer_new();

	if (!buf)
		return;
	for (size_t b = 0; b < EVENTS_BUCKETS; b++) {
		struct subscriber *s, *next;

		for (s = ev->buckets[b]; s; s = next) {
			next = s->next;
			evbuffer_add(buf, ": ping\n\n", 8);
			send_chunk(s, buf);
			evbuffer_drain(buf, evbuffer_get_length(buf));
		}
	}
	evbuffer_free(buf);
}

int events_start(struct events *ev, struct event_base *base, struct store *store, int64_t ping_ms,
                 char *err)
{
	struct timeval tv = { .tv_sec = ping_ms / 1000, .tv_usec = (ping_ms % 1000) * 1000 };
	int rc;

	memset(ev, 0, sizeof(*ev));
	ev->store = store;
	rc = store->ops->listen(store, base, deliver, ev, err);
	if (rc)
		return rc;
	ev->ping_timer = event_new(base, -1, EV_PERSIST, ping, ev);
	if (!ev->ping_timer || event_add(ev->ping_timer, &tv) != 0) {
		err_set(err, "events: cannot start the keepalive timer");
		return -ENOMEM;
	}
	return 0;
}

void events_stop(struct events *ev)
{
	for (size_t b = 0; b < EVENTS_BUCKETS; b++) {
		while (ev->buckets[b])
			end_stream(ev->buckets[b]);
	}
	if (ev->ping_timer)
		event_free(ev->ping_timer);
	ev->ping_timer = NULL;
}

size_t events_subscribers(const struct events *ev)
{
	return ev->n_subscribers;
}
