/* http.c - evhttp glue: one entry point, routing, bodies, auth, JSON replies. */
#include "server/http.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <string.h>

#include "server/api.h"
#include "server/server.h"
#include "util/log.h"
#include "util/now.h"

static enum route_method method_of(struct evhttp_request *req)
{
	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_GET:
		return RM_GET;
	case EVHTTP_REQ_POST:
		return RM_POST;
	case EVHTTP_REQ_DELETE:
		return RM_DELETE;
	case EVHTTP_REQ_PATCH:
		return RM_PATCH;
	case EVHTTP_REQ_PUT:
		return RM_PUT;
	case EVHTTP_REQ_HEAD:
		return RM_HEAD;
	case EVHTTP_REQ_OPTIONS:
		return RM_OPTIONS;
	default:
		return RM_OTHER;
	}
}

static void finish(struct request *rq, int status)
{
	rq->answered = true;
	metrics_request(&rq->srv->metrics, rq->match.id, status, now_mono_ns() - rq->start_ns);
}

void http_reply_json(struct request *rq, int status, json_t *json)
{
	struct evbuffer *buf = evbuffer_new();
	char *text = json ? json_dumps(json, JSON_COMPACT) : NULL;

	json_decref(json);
	if (!buf || !text) {
		free(text);
		if (buf)
			evbuffer_free(buf);
		evhttp_send_error(rq->req, 503, "Service Unavailable");
		finish(rq, 503);
		return;
	}
	evbuffer_add(buf, text, strlen(text));
	evbuffer_add(buf, "\n", 1);
	free(text);
	evhttp_add_header(evhttp_request_get_output_headers(rq->req), "Content-Type",
	                  "application/json");
	evhttp_send_reply(rq->req, status, status < 300 ? "OK" : "Error", buf);
	evbuffer_free(buf);
	finish(rq, status);
}

void http_reply_error(struct request *rq, const struct api_error *e)
{
	int status = e->status >= 400 && e->status < 600 ? (int)e->status : 400;

	if (status == API_UNAUTHORIZED)
		evhttp_add_header(evhttp_request_get_output_headers(rq->req), "WWW-Authenticate",
		                  "Bearer");
	http_reply_json(rq, status, json_pack("{s:s}", "error", e->msg));
}

void http_reply_stream(struct request *rq)
{
	finish(rq, 200);
}

bool http_body(struct request *rq, struct api_error *e)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(rq->req);
	size_t len = evbuffer_get_length(in);
	const char *data;

	if (len > rq->srv->cfg.max_body_bytes) {
		api_error_set(e, API_PAYLOAD_TOO_LARGE, "request body is %zu bytes, at most %zu",
		              len, rq->srv->cfg.max_body_bytes);
		return false;
	}
	data = len ? (const char *)evbuffer_pullup(in, (ev_ssize_t)len) : "";
	rq->body = request_parse_body(data, len, rq->srv->cfg.max_body_bytes, e);
	return rq->body != NULL;
}

const char *http_header(struct request *rq, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(rq->req), name);
}

bool http_auth(struct request *rq, struct api_error *e)
{
	return auth_check(&rq->srv->auth, http_header(rq, "Authorization"), &rq->who, e);
}

bool http_party_param(struct request *rq, int n, char out[PARTY_ID_LEN + 1], struct api_error *e)
{
	errmsg err;

	if (!party_id_normalize(out, rq->match.params[n], err)) {
		api_error_set(e, API_BAD_REQUEST, "party id: %s", err);
		return false;
	}
	return true;
}

bool http_peer_param(struct request *rq, int n, char out[PEER_ID_MAX + 1], struct api_error *e)
{
	if (!peer_id_valid(rq->match.params[n])) {
		api_error_set(e, API_BAD_REQUEST,
		              "peer id `%.64s': must be 1-%d characters of A-Z a-z 0-9 . _ -",
		              rq->match.params[n], PEER_ID_MAX);
		return false;
	}
	snprintf(out, PEER_ID_MAX + 1, "%s", rq->match.params[n]);
	return true;
}

static void allow_header(struct request *rq)
{
	char allow[128] = "";

	for (unsigned m = 1; m < RM_OTHER; m <<= 1) {
		if (!(rq->match.allowed & m))
			continue;
		if (allow[0])
			strcat(allow, ", ");
		strcat(allow, route_method_name((enum route_method)m));
	}
	evhttp_add_header(evhttp_request_get_output_headers(rq->req), "Allow", allow);
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct request rq = { .srv = arg, .req = req, .start_ns = now_mono_ns() };
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	struct api_error e;

	rq.method = method_of(req);
	rq.match.id = ROUTE_NONE;
	if (!path || !*path) {
		api_error_set(&e, API_BAD_REQUEST, "request has no path");
		http_reply_error(&rq, &e);
		return;
	}
	if (!route_match(path, &rq.match)) {
		api_error_set(&e, API_NOT_FOUND, "no such resource: %s %.100s",
		              route_method_name(rq.method), path);
		http_reply_error(&rq, &e);
		return;
	}
	if (!(rq.match.allowed & rq.method)) {
		allow_header(&rq);
		api_error_set(&e, API_METHOD_NOT_ALLOWED, "method %s not allowed on %s",
		              route_method_name(rq.method), route_template(rq.match.id));
		http_reply_error(&rq, &e);
		return;
	}
	api_dispatch(&rq);
	if (!rq.answered) {
		/* Every handler answers; this is the guard that keeps a client from hanging. */
		log_error("http: %s %s: handler gave no answer", route_method_name(rq.method),
		          route_template(rq.match.id));
		api_error_set(&e, API_UNAVAILABLE, "no answer");
		http_reply_error(&rq, &e);
	}
	json_decref(rq.body);
}

void http_init(struct server *srv, struct evhttp *http)
{
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	                                     EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	                                     EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
	                                     EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_gencb(http, on_request, srv);
}
