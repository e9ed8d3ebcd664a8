/* api.c - lanraged's local HTTP API: evhttp glue, the security checks, routing, replies. */
#include "daemon/api.h"
#include "daemon/api_impl.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "crypto/secret.h"
#include "daemon/api_body.h"
#include "daemon/api_token.h"
#include "daemon/web.h"
#include "util/err.h"
#include "util/log.h"
#include "util/now.h"
#include "util/utf8.h"

enum {
	HTTP_HARD_BODY_MAX = 1024 * 1024, /* evhttp's own cap (it answers 413 in HTML) */
	HTTP_HEADERS_MAX = 16 * 1024,
	HTTP_READ_TIMEOUT_SEC = 30, /* a request must arrive within this; answers may take longer */
};

/*
 * An action handed to the backend.  Owner: the backend, from the call until
 * its api_finish.  evreq stays valid until answered: libevent keeps a request
 * the user has not answered even when its client goes away.
 */
struct api_req {
	struct api *api;              /* NULL once detached by api_destroy */
	struct evhttp_request *evreq; /* NULL once detached */
	struct api_req *prev, *next;
	char what[32]; /* "POST /api/party", for the log */
	uint64_t start_ns;
};

/* ---- replies: the one place a status and a body become an HTTP answer ---- */

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Payload Too Large";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	default:
		return status < 400 ? "OK" : "Error";
	}
}

void api_reply(struct evhttp_request *evreq, int status, json_t *body)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(evreq);
	struct evbuffer *buf = evbuffer_new();
	char *text;

	if (!body)
		body = json_object();
	text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (!buf || !text) {
		free(text);
		if (buf)
			evbuffer_free(buf);
		evhttp_send_error(evreq, 503, "Service Unavailable");
		return;
	}
	evbuffer_add(buf, text, strlen(text));
	evbuffer_add(buf, "\n", 1);
	free(text);
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	if (status == 401)
		evhttp_add_header(h, "WWW-Authenticate", "Bearer");
	evhttp_send_reply(evreq, status, reason(status), buf);
	evbuffer_free(buf);
}

/*
 * {"error": msg}.  Messages quote input (a Host header, a value cut at 80
 * bytes), which may not be UTF-8; JSON must be, so such bytes become '?'.
 */
static json_t *error_body(char *msg)
{
	if (!utf8_is_printable(msg, strlen(msg))) {
		for (char *c = msg; *c; c++) {
			if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
				*c = '?';
		}
	}
	return json_pack("{s:s}", "error", msg);
}

void api_reply_error(struct evhttp_request *evreq, int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	api_reply(evreq, status, error_body(msg));
}

int api_status_of(int ret)
{
	switch (ret) {
	case -ENOENT:
		return 404;
	case -EEXIST:
		return 409;
	case -EINVAL:
		return 400;
	default:
		return 503;
	}
}

/* ---- actions the backend finishes ---- */

static void req_unlink(struct api_req *r)
{
	if (!r->api)
		return;
	if (r->prev)
		r->prev->next = r->next;
	else
		r->api->pending = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
}

void api_finish(struct api_req *req, int status, json_t *body)
{
	if (req->evreq) {
		log_debug("api: %s -> %d (%llu ms)", req->what, status,
		          (unsigned long long)((now_mono_ns() - req->start_ns) / NS_PER_MS));
		api_reply(req->evreq, status, body);
	} else {
		json_decref(body);
	}
	req_unlink(req);
	free(req);
}

void api_fail(struct api_req *req, int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (status < 400 || status > 599)
		status = 500;
	api_finish(req, status, error_body(msg));
}

static struct api_req *req_create(struct api *api, struct evhttp_request *evreq, const char *what)
{
	struct api_req *r = calloc(1, sizeof(*r));

	if (!r) {
		api_reply_error(evreq, 503, "out of memory");
		return NULL;
	}
	r->api = api;
	r->evreq = evreq;
	r->start_ns = now_mono_ns();
	snprintf(r->what, sizeof(r->what), "%s", what);
	r->next = api->pending;
	if (r->next)
		r->next->prev = r;
	api->pending = r;
	return r;
}

/* ---- security: who may talk to us ---- */

static bool host_ok(const struct api *api, const char *host)
{
	for (int i = 0; host && i < api->n_hosts; i++) {
		if (strcasecmp(host, api->hosts[i]) == 0)
			return true;
	}
	return false;
}

/*
 * A web page the user visits can send requests to 127.0.0.1 but cannot set
 * the Authorization header without a CORS preflight we never grant; through
 * DNS rebinding it can make its requests same-origin, but then they carry its
 * own name in Host.  So: Host must name us, Origin (sent by browsers on
 * anything but a simple GET) must be us, and the token must be there.
 */
static bool request_allowed(struct api *api, struct evhttp_request *evreq)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(evreq);
	const char *host = evhttp_find_header(in, "Host");
	const char *origin = evhttp_find_header(in, "Origin");

	if (!host) {
		api_reply_error(evreq, 403, "no Host header (expected %s)", api->hosts[0]);
		return false;
	}
	if (!host_ok(api, host)) {
		api_reply_error(evreq, 403, "Host `%.80s' does not name this API (expected %s)",
		                host, api->hosts[0]);
		return false;
	}
	if (origin && !(strncasecmp(origin, "http://", 7) == 0 && host_ok(api, origin + 7))) {
		api_reply_error(evreq, 403, "cross-origin requests are refused (Origin `%.80s')",
		                origin);
		return false;
	}
	return true;
}

/* ---- routes ---- */

enum route_id {
	R_HEALTH,
	R_STATUS,
	R_PEERS,
	R_NAT,
	R_PARTY,
	R_PARTY_JOIN,
	R_PARTY_LEAVE,
	R_PARTY_KICK,
	R_PARTY_UNBAN,
	R_PARTY_BANS,
	R_PING,
	R_SETTINGS,
	R_FAVORITES,
	R_FAVORITE,
	R_PROFILES,
	R_PROFILE,
	R_COUNT
};

static const struct route {
	const char *path; /* with param: the prefix before the last segment */
	bool param;
	unsigned methods;
} routes[R_COUNT] = {
	[R_HEALTH] = { "/api/health", false, M_GET },
	[R_STATUS] = { "/api/status", false, M_GET },
	[R_PEERS] = { "/api/peers", false, M_GET },
	[R_NAT] = { "/api/nat", false, M_GET },
	[R_PARTY] = { "/api/party", false, M_POST },
	[R_PARTY_JOIN] = { "/api/party/join", false, M_POST },
	[R_PARTY_LEAVE] = { "/api/party/leave", false, M_POST },
	[R_PARTY_KICK] = { "/api/party/kick", false, M_POST },
	[R_PARTY_UNBAN] = { "/api/party/unban", false, M_POST },
	[R_PARTY_BANS] = { "/api/party/bans", false, M_GET },
	[R_PING] = { "/api/ping", false, M_POST },
	[R_SETTINGS] = { "/api/settings", false, M_GET | M_PATCH },
	[R_FAVORITES] = { "/api/favorites", false, M_GET | M_POST },
	[R_FAVORITE] = { "/api/favorites/", true, M_DELETE },
	[R_PROFILES] = { "/api/game-profiles", false, M_GET | M_POST },
	[R_PROFILE] = { "/api/game-profiles/", true, M_DELETE },
};

static enum method method_of(struct evhttp_request *evreq)
{
	switch (evhttp_request_get_command(evreq)) {
	case EVHTTP_REQ_GET:
		return M_GET;
	case EVHTTP_REQ_POST:
		return M_POST;
	case EVHTTP_REQ_PATCH:
		return M_PATCH;
	case EVHTTP_REQ_DELETE:
		return M_DELETE;
	default:
		return M_OTHER;
	}
}

static const char *method_name(enum method m)
{
	switch (m) {
	case M_GET:
		return "GET";
	case M_POST:
		return "POST";
	case M_PATCH:
		return "PATCH";
	case M_DELETE:
		return "DELETE";
	default:
		return "this method";
	}
}

/* The route of path; *param (decoded, malloc'd) for routes that take one. */
static int route_match(const char *path, char **param)
{
	*param = NULL;
	for (int r = 0; r < R_COUNT; r++) {
		size_t len = strlen(routes[r].path);
		const char *seg;
		size_t n;

		if (!routes[r].param) {
			if (strcmp(path, routes[r].path) == 0)
				return r;
			continue;
		}
		if (strncmp(path, routes[r].path, len) != 0)
			continue;
		seg = path + len;
		if (!*seg || strchr(seg, '/'))
			continue;
		*param = evhttp_uridecode(seg, 0, &n);
		if (*param && n == strlen(*param))
			return r;
		free(*param);
		*param = NULL;
	}
	return -1;
}

static void allow_header(struct evhttp_request *evreq, unsigned methods)
{
	char allow[64] = "";

	for (unsigned m = M_GET; m < M_OTHER; m <<= 1) {
		if (methods & m) {
			if (allow[0])
				strcat(allow, ", ");
			strcat(allow, method_name((enum method)m));
		}
	}
	evhttp_add_header(evhttp_request_get_output_headers(evreq), "Allow", allow);
}

/* ---- handlers: reads and actions for the backend ---- */

static void handle_read(struct api *api, struct evhttp_request *evreq, enum route_id r)
{
	json_t *(*op)(void *ctx) = r == R_STATUS  ? api->backend.status
	                           : r == R_PEERS ? api->backend.peers
	                                          : api->backend.nat;
	json_t *body = op ? op(api->backend.ctx) : NULL;

	if (!body) {
		api_reply_error(evreq, 503, "%s is not available yet", routes[r].path);
		return;
	}
	api_reply(evreq, 200, body);
}

static void handle_action(struct api *api, struct evhttp_request *evreq, enum route_id r,
                          const json_t *body)
{
	char name[PARTY_NAME_MAX + 1], party_id[PARTY_ID_LEN + 1], peer[API_PEER_REF_MAX + 1];
	char what[32];
	struct api_req *req;
	unsigned count;
	errmsg err = "";
	bool ok;

	switch (r) {
	case R_PARTY:
		ok = api_body_party_create(body, name, err) && api->backend.party_create;
		break;
	case R_PARTY_JOIN:
		ok = api_body_party_join(body, party_id, err) && api->backend.party_join;
		break;
	case R_PARTY_LEAVE:
		ok = api_body_empty(body, err) && api->backend.party_leave;
		break;
	case R_PARTY_KICK:
		ok = api_body_peer(body, peer, err) && api->backend.party_kick;
		break;
	case R_PARTY_UNBAN:
		ok = api_body_peer(body, peer, err) && api->backend.party_unban;
		break;
	case R_PARTY_BANS:
		ok = api->backend.party_bans; /* a GET: no body */
		break;
	default:
		ok = api_body_ping(body, peer, &count, err) && api->backend.ping;
		break;
	}
	if (!ok) {
		if (err[0])
			api_reply_error(evreq, 400, "%s", err);
		else
			api_reply_error(evreq, 503, "%s is not available yet", routes[r].path);
		return;
	}
	snprintf(what, sizeof(what), "%s %s", r == R_PARTY_BANS ? "GET" : "POST", routes[r].path);
	req = req_create(api, evreq, what);
	if (!req)
		return;
	switch (r) {
	case R_PARTY:
		log_info("api: create party `%s'", name);
		api->backend.party_create(api->backend.ctx, req, name);
		break;
	case R_PARTY_JOIN:
		log_info("api: join party %s", party_id);
		api->backend.party_join(api->backend.ctx, req, party_id);
		break;
	case R_PARTY_LEAVE:
		log_info("api: leave the party");
		api->backend.party_leave(api->backend.ctx, req);
		break;
	case R_PARTY_KICK:
		log_info("api: remove %s from the party", peer);
		api->backend.party_kick(api->backend.ctx, req, peer);
		break;
	case R_PARTY_UNBAN:
		log_info("api: let %s join the party again", peer);
		api->backend.party_unban(api->backend.ctx, req, peer);
		break;
	case R_PARTY_BANS:
		api->backend.party_bans(api->backend.ctx, req);
		break;
	default:
		api->backend.ping(api->backend.ctx, req, peer, count);
		break;
	}
}

/* ---- the web UI: its files need no token (they hold no secret; the page asks for it) ---- */

/* What the page may do: run its own script and style, call this API; nothing else, unframed. */
#define WEB_CSP                                                                                    \
	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "                \
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

static void serve_web(struct evhttp_request *evreq, const char *path, enum method m)
{
	const struct web_asset *a = web_assets;
	struct evkeyvalq *h = evhttp_request_get_output_headers(evreq);
	struct evbuffer *buf;

	while (a->path && strcmp(a->path, path) != 0)
		a++;
	if (!a->path) {
		api_reply_error(evreq, 404, "no such page: %.100s (the web UI is at /)", path);
		return;
	}
	if (m != M_GET) {
		allow_header(evreq, M_GET);
		api_reply_error(evreq, 405, "%s is not allowed on %s", method_name(m), a->path);
		return;
	}
	buf = evbuffer_new();
	if (!buf || evbuffer_add_reference(buf, a->data, a->len, NULL, NULL) < 0) {
		if (buf)
			evbuffer_free(buf);
		evhttp_send_error(evreq, 503, "Service Unavailable");
		return;
	}
	evhttp_add_header(h, "Content-Type", a->type);
	evhttp_add_header(h, "Cache-Control", "no-cache");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Content-Security-Policy", WEB_CSP);
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_send_reply(evreq, 200, "OK", buf);
	evbuffer_free(buf);
}

/* ---- the entry point ---- */

/* The body of a POST or PATCH as an object, or NULL after answering 4xx. */
static json_t *read_body(struct evhttp_request *evreq, bool empty_ok)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(evreq);
	size_t len = evbuffer_get_length(in);
	const char *data;
	json_t *body;
	errmsg err;

	if (len > API_BODY_MAX) {
		api_reply_error(evreq, 413, "request body is %zu bytes, at most %d", len,
		                API_BODY_MAX);
		return NULL;
	}
	data = len ? (const char *)evbuffer_pullup(in, (ev_ssize_t)len) : "";
	body = api_body_parse(data, len, empty_ok, err);
	if (!body)
		api_reply_error(evreq, 400, "%s", err);
	return body;
}

static void on_request(struct evhttp_request *evreq, void *arg)
{
	struct api *api = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(evreq);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	enum method m = method_of(evreq);
	json_t *body = NULL;
	char *param = NULL;
	int r;

	if (!request_allowed(api, evreq))
		return;
	if (path && strncmp(path, "/api/", 5) != 0) {
		serve_web(evreq, path, m);
		return;
	}
	r = path ? route_match(path, &param) : -1;
	if (r < 0) {
		api_reply_error(evreq, 404, "no such resource: %s %.100s", method_name(m),
		                path ? path : "");
		return;
	}
	if (!(routes[r].methods & m)) {
		allow_header(evreq, routes[r].methods);
		api_reply_error(evreq, 405, "%s is not allowed on %s", method_name(m),
		                routes[r].path);
		goto out;
	}
	if (r != R_HEALTH &&
	    !api_token_check(
	        evhttp_find_header(evhttp_request_get_input_headers(evreq), "Authorization"),
	        api->token)) {
		api_reply_error(
		    evreq, 401,
		    "missing or wrong token: send `Authorization: Bearer <token>' with the "
		    "token from lanraged's api.token file");
		goto out;
	}
	if (m == M_POST || m == M_PATCH) {
		body = read_body(evreq, r == R_PARTY_LEAVE);
		if (!body)
			goto out;
	}
	switch (r) {
	case R_HEALTH:
		api_reply(
		    evreq, 200,
		    json_pack("{s:s, s:s}", "service", "lanraged", "version", LANRAGE_VERSION));
		break;
	case R_STATUS:
	case R_PEERS:
	case R_NAT:
		handle_read(api, evreq, (enum route_id)r);
		break;
	case R_PARTY:
	case R_PARTY_JOIN:
	case R_PARTY_LEAVE:
	case R_PARTY_KICK:
	case R_PARTY_UNBAN:
	case R_PARTY_BANS:
	case R_PING:
		handle_action(api, evreq, (enum route_id)r, body);
		break;
	case R_SETTINGS:
		api_store_settings(api, evreq, m, body);
		break;
	case R_FAVORITES:
	case R_FAVORITE:
		api_store_favorites(api, evreq, m, param, body);
		break;
	default:
		api_store_profiles(api, evreq, m, param, body);
		break;
	}
out:
	json_decref(body);
	free(param);
}

/* ---- lifecycle ---- */

static void add_host(struct api *api, const char *name, uint16_t port)
{
	if (api->n_hosts < API_HOSTS_MAX) {
		snprintf(api->hosts[api->n_hosts], API_HOST_LEN, "%s:%u", name, port);
		if (!host_ok(api, api->hosts[api->n_hosts]))
			api->n_hosts++;
	}
}

static int bind_api(struct api *api, const struct addr *addr, char *err)
{
	char ip[ADDR_STRLEN], buf[ADDR_STRLEN];
	struct evhttp_bound_socket *sock;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	addr_format_ip(addr, ip);
	sock = evhttp_bind_socket_with_handle(api->http, ip, addr_port(addr));
	if (!sock) {
		err_set(err, "cannot listen on %s: %s", addr_format(addr, buf), strerror(errno));
		return -EADDRINUSE;
	}
	if (getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss, &len) < 0 ||
	    !addr_from_sockaddr(&api->addr, (struct sockaddr *)&ss, len)) {
		err_set(err, "cannot read the API's address");
		return -EIO;
	}
	/* The port is in every allowed Host: a page served on another local port is not us. */
	snprintf(api->hosts[0], API_HOST_LEN, "%s", addr_format(&api->addr, buf));
	api->n_hosts = 1;
	add_host(api, "127.0.0.1", addr_port(&api->addr));
	add_host(api, "localhost", addr_port(&api->addr));
	add_host(api, "[::1]", addr_port(&api->addr));
	return 0;
}

struct api *api_create(struct event_base *base, const struct addr *addr, const char *token_path,
                       struct settings *settings, const struct api_backend *backend, char *err)
{
	struct api *api;
	char buf[ADDR_STRLEN];

	if (!addr_is_loopback(addr)) {
		err_set(err, "API address %s is not a loopback address", addr_format(addr, buf));
		return NULL;
	}
	api = calloc(1, sizeof(*api));
	if (!api) {
		err_set(err, "out of memory");
		return NULL;
	}
	api->base = base;
	api->settings = settings;
	api->backend = *backend;
	if (api_token_load_or_create(token_path, api->token, err) < 0)
		goto err_free;
	api->http = evhttp_new(base);
	if (!api->http) {
		err_set(err, "cannot make an HTTP server");
		goto err_free;
	}
	evhttp_set_max_body_size(api->http, HTTP_HARD_BODY_MAX);
	evhttp_set_max_headers_size(api->http, HTTP_HEADERS_MAX);
	evhttp_set_timeout(api->http, HTTP_READ_TIMEOUT_SEC);
	/* Every method reaches on_request, so each gets a JSON answer (405 included). */
	evhttp_set_allowed_methods(api->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	                                          EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	                                          EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
	                                          EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_gencb(api->http, on_request, api);
	if (bind_api(api, addr, err) < 0)
		goto err_http;
	log_info("api: listening on http://%s", api->hosts[0]);
	return api;

err_http:
	evhttp_free(api->http);
err_free:
	secret_zero(api->token, sizeof(api->token));
	free(api);
	return NULL;
}

void api_get_addr(const struct api *api, struct addr *out)
{
	*out = api->addr;
}

void api_destroy(struct api *api)
{
	struct api_req *r, *next;

	if (!api)
		return;
	for (r = api->pending; r; r = next) {
		next = r->next;
		api_reply_error(r->evreq, 503, "lanraged is shutting down");
		r->evreq = NULL;
		r->api = NULL;
		r->prev = r->next = NULL;
	}
	evhttp_free(api->http);
	secret_zero(api->token, sizeof(api->token));
	free(api);
}
