/* http.h - evhttp glue: one entry point, routing, bodies, auth, JSON replies. */
#ifndef LANRAGE_SERVER_HTTP_H
#define LANRAGE_SERVER_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "control/party_id.h"
#include "server/apierr.h"
#include "server/registry.h"
#include "server/route.h"
#include "util/compiler.h"

struct server;
struct evhttp;
struct evhttp_request;

/* One request while its handler runs. */
struct request {
	struct server *srv;
	struct evhttp_request *req;
	struct route_match match;
	enum route_method method;
	uint64_t start_ns;
	json_t *body;
	struct identity who; /* after http_auth */
	bool answered;
};

/* Installs the entry point on http. */
void http_init(struct server *srv, struct evhttp *http);

/* Replies; each ends the request.  json is consumed. */
void http_reply_json(struct request *rq, int status, json_t *json);
/* The one place an error becomes a status and {"error": "..."}. */
void http_reply_error(struct request *rq, const struct api_error *e);
/* Marks a request taken over (an event stream) for metrics. */
void http_reply_stream(struct request *rq);

/* Parses the body into rq->body; false with e on a bad or oversized body. */
bool http_body(struct request *rq, struct api_error *e) WARN_UNUSED;
/* Authenticates the bearer token into rq->who. */
bool http_auth(struct request *rq, struct api_error *e) WARN_UNUSED;
/* Path parameter n as a party id (typos reported) or a peer id. */
bool http_party_param(struct request *rq, int n, char out[PARTY_ID_LEN + 1],
                      struct api_error *e) WARN_UNUSED;
bool http_peer_param(struct request *rq, int n, char out[PEER_ID_MAX + 1],
                     struct api_error *e) WARN_UNUSED;
/* The Authorization header, or NULL. */
const char *http_header(struct request *rq, const char *name);

#endif
