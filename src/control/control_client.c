/* control_client.c - the remote control plane over libevent's HTTP client. */
#include "control/control_client.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/secret.h"
#include "util/err.h"
#include "util/log.h"

/* A stream silent for 45 s is dead: the server pings every 15 s (at most 30 s). */
enum { SSE_LINE_MAX = 64 * 1024, EVENTS_TIMEOUT_SEC = 45 };

struct call;

struct control_client {
	struct event_base *base;
	struct evhttp_connection *conn;
	char host[256];
	uint16_t port;
	wg_key private_key, public_key;
	bool has_key;
	char peer_id[PEER_ID_MAX + 1];
	char token[CONTROL_TOKEN_HEX + 1];
	struct call *calls; /* pending, so destroy can free them */
};

/* One request in flight; owned by the client's pending list. */
struct call {
	struct call *next, *prev;
	struct control_client *c;
	struct evhttp_request *req;
	control_cb cb;
	void *arg;
	bool registering;  /* the challenge step of control_register */
	bool stores_token; /* the register step: keep the token */
};

struct control_events {
	struct control_client *c;
	struct evhttp_connection *conn;
	struct evhttp_request *req;
	control_event_cb on_event;
	void *arg;
	struct evbuffer *line;
	char type[64];
	struct evbuffer *data;
	bool ended, closing;
	struct event *reaper;
};

struct control_client *control_client_create(struct event_base *base, const char *url, char *err)
{
	struct evhttp_uri *uri = evhttp_uri_parse(url);
	struct control_client *c;
	const char *scheme, *host;
	int port;

	if (!uri) {
		err_set(err, "control server URL `%.128s' does not parse", url);
		return NULL;
	}
	scheme = evhttp_uri_get_scheme(uri);
	host = evhttp_uri_get_host(uri);
	port = evhttp_uri_get_port(uri);
	if (!scheme || strcmp(scheme, "http") != 0 || !host || !*host ||
	    strlen(host) >= sizeof(c->host)) {
		err_set(err, "control server URL `%.128s': expected http://host:port", url);
		evhttp_uri_free(uri);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		evhttp_uri_free(uri);
		err_set(err, "out of memory");
		return NULL;
	}
	c->base = base;
	snprintf(c->host, sizeof(c->host), "%s", host);
	c->port = port > 0 ? (uint16_t)port : 80;
	evhttp_uri_free(uri);
	c->conn = evhttp_connection_base_new(base, NULL, c->host, c->port);
	if (!c->conn) {
		free(c);
		err_set(err, "cannot make an HTTP connection");
		return NULL;
	}
	evhttp_connection_set_timeout(c->conn, CONTROL_TIMEOUT_SEC);
	return c;
}

void control_client_destroy(struct control_client *c)
{
	if (!c)
		return;
	/* Freeing the connection frees its requests without calling back. */
	evhttp_connection_free(c->conn);
	while (c->calls) {
		struct call *k = c->calls;

		c->calls = k->next;
		free(k);
	}
	secret_zero(c->private_key, sizeof(c->private_key));
	secret_zero(c->token, sizeof(c->token));
	free(c);
}

void control_client_set_key(struct control_client *c, const wg_key private_key)
{
	memcpy(c->private_key, private_key, KEY_LEN);
	key_public_from_private(c->public_key, private_key);
	peer_id_from_key(c->peer_id, c->public_key);
	c->has_key = true;
}

const char *control_client_peer_id(const struct control_client *c)
{
	return c->peer_id;
}

const char *control_client_token(const struct control_client *c)
{
	return c->token;
}

void control_client_set_token(struct control_client *c, const char *token)
{
	snprintf(c->token, sizeof(c->token), "%s", token ? token : "");
}

static void unlink_call(struct call *k)
{
	if (k->prev)
		k->prev->next = k->next;
	else
		k->c->calls = k->next;
	if (k->next)
		k->next->prev = k->prev;
}

static int start_register(struct call *k, const json_t *challenge_reply);

static void on_done(struct evhttp_request *req, void *arg)
{
	struct call *k = arg;
	struct control_reply r = { 0 };
	json_t *body = NULL;
	char transport[128];

	unlink_call(k);
	if (!req || evhttp_request_get_response_code(req) == 0) {
		snprintf(transport, sizeof(transport), "no answer from the control server (%s)",
		         req ? "connection failed" : "connection refused, reset or timed out");
		r.error = transport;
	} else {
		struct evbuffer *in = evhttp_request_get_input_buffer(req);
		size_t len = evbuffer_get_length(in);

		r.status = evhttp_request_get_response_code(req);
		if (len)
			body = json_loadb((const char *)evbuffer_pullup(in, (ev_ssize_t)len), len,
			                  JSON_DECODE_ANY, NULL);
		r.body = body;
		if (r.status >= 300) {
			const char *msg = json_string_value(json_object_get(body, "error"));

			r.error = msg ? msg : "the server answered with an error";
		}
	}
	if (k->registering && r.status == 200) {
		/* Step two of register: the same call goes on. */
		int rc = start_register(k, body);

		json_decref(body);
		if (rc == 0)
			return;
		r.status = 0;
		r.body = NULL;
		r.error = rc == -EBADMSG ? "the challenge could not be opened with our key"
		                         : "could not send the registration";
		k->cb(&r, k->arg);
		free(k);
		return;
	}
	if (k->stores_token && r.status == 200 && json_is_string(json_object_get(body, "token")))
		control_client_set_token(k->c, json_string_value(json_object_get(body, "token")));
	k->cb(&r, k->arg);
	json_decref(body);
	free(k);
}

static enum evhttp_cmd_type method_of(const char *m)
{
	if (strcmp(m, "POST") == 0)
		return EVHTTP_REQ_POST;
	if (strcmp(m, "DELETE") == 0)
		return EVHTTP_REQ_DELETE;
	if (strcmp(m, "PATCH") == 0)
		return EVHTTP_REQ_PATCH;
	if (strcmp(m, "PUT") == 0)
		return EVHTTP_REQ_PUT;
	return EVHTTP_REQ_GET;
}

/* Queues a request for an existing call; bearer NULL or "" sends no Authorization. */
static int send_call(struct call *k, const char *method, const char *path, const json_t *body,
                     const char *bearer)
{
	struct control_client *c = k->c;
	struct evhttp_request *req = evhttp_request_new(on_done, k);
	struct evkeyvalq *h;

	if (!req)
		return -ENOMEM;
	h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", c->host);
	evhttp_add_header(h, "Accept", "application/json");
	if (bearer && bearer[0]) {
		size_t size = strlen(bearer) + 8;
		char *auth = malloc(size);

		if (!auth) {
			evhttp_request_free(req);
			return -ENOMEM;
		}
		snprintf(auth, size, "Bearer %s", bearer);
		evhttp_add_header(h, "Authorization", auth);
		secret_zero(auth, size);
		free(auth);
	}
	if (body) {
		char *text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);

		if (!text) {
			evhttp_request_free(req);
			return -ENOMEM;
		}
		char len[24];

		/* libevent adds Content-Length only to POST and PUT. */
		snprintf(len, sizeof(len), "%zu", strlen(text));
		evhttp_add_header(h, "Content-Type", "application/json");
		evhttp_add_header(h, "Content-Length", len);
		evbuffer_add(evhttp_request_get_output_buffer(req), text, strlen(text));
		secret_zero(text, strlen(text));
		free(text);
	}
	if (evhttp_make_request(c->conn, req, method_of(method), path) != 0)
		return -EIO; /* libevent frees req on failure */
	k->req = req;
	k->next = c->calls;
	k->prev = NULL;
	if (k->next)
		k->next->prev = k;
	c->calls = k;
	return 0;
}

int control_request(struct control_client *c, const char *method, const char *path,
                    const json_t *body, bool with_token, control_cb cb, void *arg)
{
	struct call *k = calloc(1, sizeof(*k));
	int rc;

	if (!k)
		return -ENOMEM;
	k->c = c;
	k->cb = cb;
	k->arg = arg;
	rc = send_call(k, method, path, body, with_token ? c->token : NULL);
	if (rc)
		free(k);
	return rc;
}

static int start_register(struct call *k, const json_t *reply)
{
	struct control_client *c = k->c;
	const char *sealed = json_string_value(json_object_get(reply, "sealed"));
	const char *challenge = json_string_value(json_object_get(reply, "challenge"));
	uint8_t box[32 + crypto_box_SEALBYTES], r[32];
	char pub[KEY_B64_LEN + 1], response[sodium_base64_ENCODED_LEN(32, 1)];
	size_t len = 0;
	json_t *body;
	int rc;

	if (!sealed || !challenge ||
	    sodium_base642bin(box, sizeof(box), sealed, strlen(sealed), NULL, &len, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    len != sizeof(box) ||
	    crypto_box_seal_open(r, box, sizeof(box), c->public_key, c->private_key) != 0)
		return -EBADMSG;
	sodium_bin2base64(response, sizeof(response), r, sizeof(r), sodium_base64_VARIANT_ORIGINAL);
	secret_zero(r, sizeof(r));
	key_to_base64(pub, c->public_key);
	body = json_pack("{s:s, s:s, s:s}", "public_key", pub, "challenge", challenge, "response",
	                 response);
	secret_zero(response, sizeof(response));
	if (!body)
		return -ENOMEM;
	k->registering = false;
	k->stores_token = true;
	rc = send_call(k, "POST", "/auth/register", body, NULL);
	json_decref(body);
	return rc;
}

int control_register(struct control_client *c, control_cb cb, void *arg)
{
	char pub[KEY_B64_LEN + 1];
	struct call *k;
	json_t *body;
	int rc;

	if (!c->has_key)
		return -ENOKEY;
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->c = c;
	k->cb = cb;
	k->arg = arg;
	k->registering = true;
	key_to_base64(pub, c->public_key);
	body = json_pack("{s:s}", "public_key", pub);
	rc = body ? send_call(k, "POST", "/auth/challenge", body, NULL) : -ENOMEM;
	json_decref(body);
	if (rc)
		free(k);
	return rc;
}

/* The member description: name, nat_type, endpoints; for updates, only what is set. */
static json_t *self_json(const struct peer_info *self, bool update)
{
	json_t *o = json_object();
	char ip[ADDR_STRLEN];

	if (self->name[0])
		json_object_set_new(o, "name", json_string(self->name));
	if (!update || self->nat_type != NAT_UNKNOWN)
		json_object_set_new(o, "nat_type", json_string(nat_type_name(self->nat_type)));
	if (addr_is_set(&self->public_endpoint)) {
		json_object_set_new(o, "public_ip",
		                    json_string(addr_format_ip(&self->public_endpoint, ip)));
		json_object_set_new(o, "public_port",
		                    json_integer(addr_port(&self->public_endpoint)));
	}
	if (addr_is_set(&self->local_endpoint)) {
		json_object_set_new(o, "local_ip",
		                    json_string(addr_format_ip(&self->local_endpoint, ip)));
		json_object_set_new(o, "local_port",
		                    json_integer(addr_port(&self->local_endpoint)));
	}
	if (addr_is_set(&self->global_endpoint)) {
		json_object_set_new(o, "global_ip",
		                    json_string(addr_format_ip(&self->global_endpoint, ip)));
		json_object_set_new(o, "global_port",
		                    json_integer(addr_port(&self->global_endpoint)));
	} else if (update) {
		/* Gone (another network): null clears what the server holds. */
		json_object_set_new(o, "global_ip", json_null());
		json_object_set_new(o, "global_port", json_null());
	}
	return o;
}

static int send_json(struct control_client *c, const char *method, const char *path, json_t *body,
                     control_cb cb, void *arg)
{
	int rc = body ? control_request(c, method, path, body, true, cb, arg) : -ENOMEM;

	json_decref(body);
	return rc;
}

/* Builds "/parties/<id><suffix>"; ids are checked to hold no URL syntax. */
static int party_path(char *out, size_t size, const char *party_id, const char *suffix)
{
	if (strcspn(party_id, "/?#% ") != strlen(party_id) || strlen(party_id) > 64)
		return -EINVAL;
	if ((size_t)snprintf(out, size, "/parties/%s%s", party_id, suffix) >= size)
		return -ENAMETOOLONG;
	return 0;
}

int control_party_create(struct control_client *c, const char *party_name,
                         const struct peer_info *self, control_cb cb, void *arg)
{
	return send_json(
	    c, "POST", "/parties",
	    json_pack("{s:s, s:o}", "name", party_name, "peer", self_json(self, false)), cb, arg);
}

int control_party_join(struct control_client *c, const char *party_id, const struct peer_info *self,
                       control_cb cb, void *arg)
{
	char path[128];
	int rc = party_path(path, sizeof(path), party_id, "/join");

	if (rc)
		return rc;
	return send_json(c, "POST", path, json_pack("{s:o}", "peer", self_json(self, false)), cb,
	                 arg);
}

static int member_call(struct control_client *c, const char *method, const char *party_id,
                       const char *peer_id, const char *tail, json_t *body, control_cb cb,
                       void *arg)
{
	char suffix[128], path[256];
	int rc;

	if (strcspn(peer_id, "/?#% ") != strlen(peer_id) || strlen(peer_id) > PEER_ID_MAX) {
		json_decref(body);
		return -EINVAL;
	}
	snprintf(suffix, sizeof(suffix), "/peers/%s%s", peer_id, tail);
	rc = party_path(path, sizeof(path), party_id, suffix);
	if (rc) {
		json_decref(body);
		return rc;
	}
	if (body)
		return send_json(c, method, path, body, cb, arg);
	return control_request(c, method, path, NULL, true, cb, arg);
}

int control_party_leave(struct control_client *c, const char *party_id, control_cb cb, void *arg)
{
	return member_call(c, "DELETE", party_id, c->peer_id, "", NULL, cb, arg);
}

int control_party_kick(struct control_client *c, const char *party_id, const char *peer_id,
                       control_cb cb, void *arg)
{
	return member_call(c, "DELETE", party_id, peer_id, "", NULL, cb, arg);
}

int control_party_get(struct control_client *c, const char *party_id, control_cb cb, void *arg)
{
	char path[128];
	int rc = party_path(path, sizeof(path), party_id, "");

	return rc ? rc : control_request(c, "GET", path, NULL, true, cb, arg);
}

int control_party_peers(struct control_client *c, const char *party_id, control_cb cb, void *arg)
{
	char path[128];
	int rc = party_path(path, sizeof(path), party_id, "/peers");

	return rc ? rc : control_request(c, "GET", path, NULL, true, cb, arg);
}

int control_party_peer(struct control_client *c, const char *party_id, const char *peer_id,
                       control_cb cb, void *arg)
{
	return member_call(c, "GET", party_id, peer_id, "", NULL, cb, arg);
}

int control_heartbeat(struct control_client *c, const char *party_id, control_cb cb, void *arg)
{
	return member_call(c, "POST", party_id, c->peer_id, "/heartbeat", NULL, cb, arg);
}

int control_update(struct control_client *c, const char *party_id, const struct peer_info *self,
                   control_cb cb, void *arg)
{
	return member_call(c, "PATCH", party_id, c->peer_id, "", self_json(self, true), cb, arg);
}

int control_signal(struct control_client *c, const char *party_id, const char *to,
                   const json_t *data, control_cb cb, void *arg)
{
	char path[128];
	int rc = party_path(path, sizeof(path), party_id, "/signal");

	if (rc)
		return rc;
	return send_json(c, "POST", path, json_pack("{s:s, s:O}", "to", to, "data", data), cb, arg);
}

int control_relays(struct control_client *c, const char *region, control_cb cb, void *arg)
{
	char path[128];

	if (!region)
		return control_request(c, "GET", "/relays", NULL, false, cb, arg);
	if (strcspn(region, "/?#% ") != strlen(region) || strlen(region) > 32)
		return -EINVAL;
	snprintf(path, sizeof(path), "/relays/%s", region);
	return control_request(c, "GET", path, NULL, false, cb, arg);
}

int control_relay_token(struct control_client *c, const char *party_id, control_cb cb, void *arg)
{
	char path[128];
	int rc = party_path(path, sizeof(path), party_id, "/relay-token");

	return rc ? rc : control_request(c, "POST", path, NULL, true, cb, arg);
}

int control_relay_announce(struct control_client *c, const char *relay_secret, const json_t *relay,
                           control_cb cb, void *arg)
{
	struct call *k;
	int rc;

	if (!relay_secret || !relay_secret[0])
		return -EINVAL;
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->c = c;
	k->cb = cb;
	k->arg = arg;
	rc = send_call(k, "POST", "/relays", relay, relay_secret);
	if (rc)
		free(k);
	return rc;
}

/* Event streams: server-sent events, parsed line by line. */

static void reap(evutil_socket_t fd, short what, void *arg)
{
	struct control_events *ev = arg;

	event_free(ev->reaper);
	evhttp_connection_free(ev->conn);
	evbuffer_free(ev->line);
	evbuffer_free(ev->data);
	free(ev);
}

static void dispatch_event(struct control_events *ev)
{
	size_t len = evbuffer_get_length(ev->data);
	json_t *data = NULL;

	if (len)
		data = json_loadb((const char *)evbuffer_pullup(ev->data, (ev_ssize_t)len), len,
		                  JSON_DECODE_ANY, NULL);
	if (ev->type[0] && !ev->closing)
		ev->on_event(ev->type, data, 200, ev->arg);
	json_decref(data);
	ev->type[0] = '\0';
	evbuffer_drain(ev->data, len);
}

static void sse_line(struct control_events *ev, char *line)
{
	if (!*line) {
		dispatch_event(ev);
		return;
	}
	if (line[0] == ':')
		return;
	if (strncmp(line, "event:", 6) == 0) {
		const char *v = line + 6 + (line[6] == ' ');

		snprintf(ev->type, sizeof(ev->type), "%s", v);
	} else if (strncmp(line, "data:", 5) == 0) {
		const char *v = line + 5 + (line[5] == ' ');

		if (evbuffer_get_length(ev->data))
			evbuffer_add(ev->data, "\n", 1);
		evbuffer_add(ev->data, v, strlen(v));
	}
}

static void on_chunk(struct evhttp_request *req, void *arg)
{
	struct control_events *ev = arg;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	char *line;
	size_t n;

	evbuffer_add_buffer(ev->line, in);
	while (!ev->closing && (line = evbuffer_readln(ev->line, &n, EVBUFFER_EOL_CRLF)) != NULL) {
		sse_line(ev, line);
		free(line);
	}
	if (evbuffer_get_length(ev->line) > SSE_LINE_MAX)
		evbuffer_drain(ev->line, evbuffer_get_length(ev->line));
}

static void on_stream_done(struct evhttp_request *req, void *arg)
{
	struct control_events *ev = arg;
	int status = req ? evhttp_request_get_response_code(req) : 0;

	ev->req = NULL;
	ev->ended = true;
	if (!ev->closing)
		ev->on_event(NULL, NULL, status, ev->arg);
}

struct control_events *control_events_open(struct control_client *c, const char *party_id,
                                           control_event_cb on_event, void *arg)
{
	struct control_events *ev = calloc(1, sizeof(*ev));
	char path[128], auth[CONTROL_TOKEN_HEX + 16];
	struct evkeyvalq *h;

	if (!ev || party_path(path, sizeof(path), party_id, "/events") != 0) {
		free(ev);
		return NULL;
	}
	ev->c = c;
	ev->on_event = on_event;
	ev->arg = arg;
	ev->line = evbuffer_new();
	ev->data = evbuffer_new();
	ev->conn = evhttp_connection_base_new(c->base, NULL, c->host, c->port);
	ev->reaper = evtimer_new(c->base, reap, ev);
	if (!ev->line || !ev->data || !ev->conn || !ev->reaper)
		goto err;
	evhttp_connection_set_timeout(ev->conn, EVENTS_TIMEOUT_SEC);
	ev->req = evhttp_request_new(on_stream_done, ev);
	if (!ev->req)
		goto err;
	evhttp_request_set_chunked_cb(ev->req, on_chunk);
	h = evhttp_request_get_output_headers(ev->req);
	evhttp_add_header(h, "Host", c->host);
	evhttp_add_header(h, "Accept", "text/event-stream");
	snprintf(auth, sizeof(auth), "Bearer %s", c->token);
	evhttp_add_header(h, "Authorization", auth);
	secret_zero(auth, sizeof(auth));
	if (evhttp_make_request(ev->conn, ev->req, EVHTTP_REQ_GET, path) != 0) {
		ev->req = NULL;
		goto err;
	}
	return ev;
err:
	if (ev->reaper)
		event_free(ev->reaper);
	if (ev->conn)
		evhttp_connection_free(ev->conn);
	if (ev->line)
		evbuffer_free(ev->line);
	if (ev->data)
		evbuffer_free(ev->data);
	free(ev);
	return NULL;
}

void control_events_close(struct control_events *ev)
{
	if (!ev || ev->closing)
		return;
	/* We may be inside one of the stream's callbacks: free on the next loop turn. */
	ev->closing = true;
	event_active(ev->reaper, EV_TIMEOUT, 0);
}
