/* api_impl.h - what api.c shares with api_store.c; no one else includes it. */
#ifndef LANRAGE_DAEMON_API_IMPL_H
#define LANRAGE_DAEMON_API_IMPL_H

#include <jansson.h>

#include "daemon/api.h"
#include "daemon/api_token.h"
#include "util/addr.h"
#include "util/compiler.h"

struct evhttp;
struct evhttp_request;

enum { API_HOSTS_MAX = 4, API_HOST_LEN = ADDR_STRLEN + 16 };

/* Owner: the daemon; everything below runs on its event_base. */
struct api {
	struct event_base *base;
	struct evhttp *http;
	struct addr addr;
	char token[API_TOKEN_HEX + 1];
	/* Host header values that name us: 127.0.0.1:P, localhost:P, [::1]:P, the bound address. */
	char hosts[API_HOSTS_MAX][API_HOST_LEN];
	int n_hosts;
	struct settings *settings;
	struct api_backend backend;
	struct api_req *pending; /* actions in the backend's hands, a doubly linked list */
};

enum method { M_GET = 1, M_POST = 2, M_PATCH = 4, M_DELETE = 8, M_OTHER = 16 };

/* The one place a status and a body (stolen; NULL: {}) become an HTTP answer. */
void api_reply(struct evhttp_request *evreq, int status, json_t *body);
/* status with {"error": <message>}. */
void api_reply_error(struct evhttp_request *evreq, int status, const char *fmt, ...)
    PRINTF_FMT(3, 4);
/* A settings-database failure (-errno) as an HTTP status: 404, 409, 400, else 503. */
int api_status_of(int ret);

/* The routes of api_store.c; each answers.  param: the decoded id or name of a DELETE. */
void api_store_settings(struct api *api, struct evhttp_request *evreq, enum method m,
                        const json_t *body);
void api_store_favorites(struct api *api, struct evhttp_request *evreq, enum method m,
                         const char *param, const json_t *body);
void api_store_profiles(struct api *api, struct evhttp_request *evreq, enum method m,
                        const char *param, const json_t *body);

#endif
