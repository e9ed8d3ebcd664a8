/*
 * test_api.c - lanraged's local API over real HTTP on 127.0.0.1: security
 * checks (token, Host, Origin, no CORS), JSON errors, body limits, the routes
 * of the settings database, and actions finished later, after the client left
 * or the API was destroyed.
 *
 * The backend here is a small one inside the test: it stands for the daemon
 * only so that the API's own behaviour can be tested; it proves nothing about
 * the daemon.  Requests are raw bytes on a socket, so the test can send what
 * a browser or an attacker would; the API's event loop runs in this thread,
 * pumped while the test waits (every wait has a deadline).
 */
#include "../unit/test.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/rand.h"
#include "daemon/api.h"
#include "daemon/api_token.h"
#include "daemon/config.h"
#include "daemon/settings.h"
#include "util/err.h"
#include "util/file.h"
#include "util/log.h"
#include "util/now.h"

enum { DEADLINE_MS = 10000 };

/* ---- the test backend ---- */

struct fake {
	struct event_base *base;
	struct daemon_config cfg;
	struct api_req *held; /* an action the test finishes by hand */
	bool hold;            /* hold the next action instead of answering */
	char last_name[128];
	char last_party[64];
	char last_peer[128];
	unsigned last_count;
	char changed[8][32];
	int n_changed;
	bool no_status;
};

static json_t *fake_status(void *ctx)
{
	struct fake *f = ctx;

	return f->no_status ? NULL : json_pack("{s:s, s:n}", "version", "test", "party");
}

static json_t *fake_peers(void *ctx)
{
	return json_pack("{s:n, s:[]}", "party_id", "peers");
}

/* Actions either finish at once (sync), or are held for the test to finish. */
static void act(struct fake *f, struct api_req *req, json_t *answer)
{
	if (f->hold) {
		f->held = req;
		f->hold = false;
		json_decref(answer);
		return;
	}
	api_finish(req, 200, answer);
}

static void fake_create(void *ctx, struct api_req *req, const char *name)
{
	struct fake *f = ctx;

	snprintf(f->last_name, sizeof(f->last_name), "%s", name);
	act(f, req, json_pack("{s:s, s:s}", "party_id", "7KQ2-M9XD-4HTB-PW3R", "name", name));
}

static void fake_join(void *ctx, struct api_req *req, const char *party_id)
{
	struct fake *f = ctx;

	snprintf(f->last_party, sizeof(f->last_party), "%s", party_id);
	if (strcmp(party_id, "0000-0000-0000-0000") == 0) {
		api_fail(req, 404, "no party %s", party_id);
		return;
	}
	act(f, req, json_pack("{s:s}", "party_id", party_id));
}

static void fake_leave(void *ctx, struct api_req *req)
{
	api_fail(req, 409, "not in a party");
}

static void fake_ping(void *ctx, struct api_req *req, const char *peer, unsigned count)
{
	struct fake *f = ctx;

	snprintf(f->last_peer, sizeof(f->last_peer), "%s", peer);
	f->last_count = count;
	act(f, req, json_pack("{s:s, s:i}", "peer_id", peer, "sent", count));
}

static void fake_changed(void *ctx, const char *key)
{
	struct fake *f = ctx;

	if (f->n_changed < 8)
		snprintf(f->changed[f->n_changed++], sizeof(f->changed[0]), "%s", key);
}

static const struct daemon_config *fake_config(void *ctx)
{
	return &((struct fake *)ctx)->cfg;
}

/* ---- fixture ---- */

static struct fake fake;
static struct api *api;
static struct settings *db;
static char dir[64], token_path[128], token[API_TOKEN_HEX + 1];
static uint16_t port;

static struct api *start_api(struct settings *s, char *err)
{
	const struct api_backend backend = {
		.status = fake_status,
		.peers = fake_peers,
		.party_create = fake_create,
		.party_join = fake_join,
		.party_leave = fake_leave,
		.ping = fake_ping,
		.setting_changed = fake_changed,
		.config = fake_config,
		.ctx = &fake,
	};
	struct addr a;

	assert_true(addr_parse(&a, "127.0.0.1:0", NULL));
	return api_create(fake.base, &a, token_path, s, &backend, err);
}

static int setup(void **state)
{
	char path[128];
	errmsg err;
	struct addr a;

	strcpy(dir, "/tmp/lanrage-test-api-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	memset(&fake, 0, sizeof(fake));
	fake.base = event_base_new();
	config_default(&fake.cfg);
	fake.cfg.source[CONFIG_LISTEN_PORT] = CONFIG_FROM_FLAG;
	snprintf(token_path, sizeof(token_path), "%s/api.token", dir);
	snprintf(path, sizeof(path), "%s/settings.db", dir);
	if (settings_open(&db, path, err) < 0)
		return -1;
	api = start_api(db, err);
	if (!api) {
		print_error("api_create: %s\n", err);
		return -1;
	}
	api_get_addr(api, &a);
	port = addr_port(&a);
	return api_token_read(token_path, token, err) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	api_destroy(api);
	if (fake.held)
		api_finish(fake.held, 200, NULL);
	settings_close(db);
	event_base_free(fake.base);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

/* ---- raw HTTP ---- */

struct resp {
	int status;
	char head[4096]; /* status line and headers */
	json_t *body;
	char start[256]; /* the body's first bytes, as text */
	size_t body_len;
	bool closed_early; /* the server closed before we finished sending */
};

static void pump(void)
{
	event_base_loop(fake.base, EVLOOP_NONBLOCK);
}

static int connect_api(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	sin.sin_addr.s_addr = htonl(0x7f000001);
	assert_true(fd >= 0);
	assert_true(connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 || errno == EINPROGRESS);
	return fd;
}

/* Sends req on fd and reads the answer until the server closes. */
static void exchange_fd(int fd, const char *req, size_t len, struct resp *r)
{
	uint64_t deadline = now_mono_ms() + DEADLINE_MS;
	size_t sent = 0, got = 0, cap = 1 << 16;
	char *buf = malloc(cap), *end;

	memset(r, 0, sizeof(*r));
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		assert_true(now_mono_ms() < deadline);
		if (sent < len && !r->closed_early) {
			n = send(fd, req + sent, len - sent, MSG_NOSIGNAL);
			if (n > 0)
				sent += (size_t)n;
			else if (n < 0 && errno != EAGAIN)
				r->closed_early = true;
		}
		pump();
		n = recv(fd, buf + got, cap - got - 1, 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			break;
		if (n > 0) {
			got += (size_t)n;
			assert_true(got < cap - 1);
			continue;
		}
		poll(&p, 1, 2);
	}
	close(fd);
	buf[got] = '\0';
	assert_true(sscanf(buf, "HTTP/1.%*d %d", &r->status) == 1);
	end = strstr(buf, "\r\n\r\n");
	assert_non_null(end);
	snprintf(r->head, sizeof(r->head), "%.*s", (int)(end - buf), buf);
	r->body = json_loads(end + 4, 0, NULL);
	r->body_len = got - (size_t)(end + 4 - buf);
	snprintf(r->start, sizeof(r->start), "%s", end + 4);
	free(buf);
}

static void exchange(const char *req, size_t len, struct resp *r)
{
	exchange_fd(connect_api(), req, len, r);
}

/*
 * A request with the usual headers; host NULL: 127.0.0.1:port; auth NULL: the
 * right token, "" none; origin NULL: none.  Connection: close.
 */
static void call(const char *method, const char *path, const char *body, const char *host,
                 const char *auth, const char *origin, struct resp *r)
{
	char hostbuf[64], authbuf[128], originbuf[160], *req;
	size_t blen = body ? strlen(body) : 0;
	int n;

	snprintf(hostbuf, sizeof(hostbuf), "127.0.0.1:%u", port);
	snprintf(authbuf, sizeof(authbuf), "Authorization: Bearer %s\r\n", token);
	if (auth && *auth)
		snprintf(authbuf, sizeof(authbuf), "Authorization: %s\r\n", auth);
	else if (auth)
		authbuf[0] = '\0';
	originbuf[0] = '\0';
	if (origin)
		snprintf(originbuf, sizeof(originbuf), "Origin: %s\r\n", origin);
	n = asprintf(&req,
	             "%s %s HTTP/1.1\r\nHost: %s\r\n%s%sContent-Length: %zu\r\n"
	             "Connection: close\r\n\r\n%s",
	             method, path, host ? host : hostbuf, authbuf, originbuf, blen,
	             body ? body : "");
	assert_true(n > 0);
	exchange(req, (size_t)n, r);
	free(req);
}

static void get(const char *path, struct resp *r)
{
	call("GET", path, NULL, NULL, NULL, NULL, r);
}

static void send_json(const char *method, const char *path, const char *body, struct resp *r)
{
	call(method, path, body, NULL, NULL, NULL, r);
}

/* The error message of a 4xx/5xx answer. */
static const char *error_of(const struct resp *r)
{
	const char *e = json_string_value(json_object_get(r->body, "error"));

	assert_non_null(e);
	return e;
}

static void expect_error(struct resp *r, int status, const char *needle)
{
	if (r->status != status || !strstr(error_of(r), needle))
		print_error("got %d %s\n", r->status, json_dumps(r->body, 0));
	assert_int_equal(r->status, status);
	assert_non_null(strstr(error_of(r), needle));
	assert_non_null(strstr(r->head, "Content-Type: application/json"));
	json_decref(r->body);
}

/* ---- security ---- */

static void test_health_needs_no_token(void **state)
{
	struct resp r;

	call("GET", "/api/health", NULL, NULL, "", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(json_string_value(json_object_get(r.body, "service")), "lanraged");
	assert_string_equal(json_string_value(json_object_get(r.body, "version")), LANRAGE_VERSION);
	json_decref(r.body);
}

static void test_token_required(void **state)
{
	char wrong[API_TOKEN_HEX + 16];
	struct resp r;

	call("GET", "/api/status", NULL, NULL, "", NULL, &r);
	assert_non_null(strstr(r.head, "WWW-Authenticate: Bearer"));
	expect_error(&r, 401, "token");
	/* Right length, last digit off. */
	snprintf(wrong, sizeof(wrong), "Bearer %.63s%c", token, token[63] == '0' ? '1' : '0');
	call("GET", "/api/status", NULL, NULL, wrong, NULL, &r);
	expect_error(&r, 401, "token");
	snprintf(wrong, sizeof(wrong), "Basic %s", token);
	call("GET", "/api/status", NULL, NULL, wrong, NULL, &r);
	expect_error(&r, 401, "token");
	call("GET", "/api/status", NULL, NULL, "Bearer ", NULL, &r);
	expect_error(&r, 401, "token");
	/* The scheme is case-insensitive (RFC 9110). */
	snprintf(wrong, sizeof(wrong), "bearer %s", token);
	call("GET", "/api/status", NULL, NULL, wrong, NULL, &r);
	assert_int_equal(r.status, 200);
	json_decref(r.body);
}

static void test_host_must_name_us(void **state)
{
	char host[64];
	struct resp r;

	/* DNS rebinding: the attacker's name pointing at 127.0.0.1. */
	snprintf(host, sizeof(host), "evil.example:%u", port);
	call("GET", "/api/status", NULL, host, NULL, NULL, &r);
	expect_error(&r, 403, "does not name this API");
	/* Not even health answers another name. */
	call("GET", "/api/health", NULL, host, "", NULL, &r);
	expect_error(&r, 403, "does not name this API");
	/* Our address on another port is another origin. */
	snprintf(host, sizeof(host), "127.0.0.1:%u", port == 65535 ? 1 : port + 1);
	call("GET", "/api/status", NULL, host, NULL, NULL, &r);
	expect_error(&r, 403, "does not name this API");
	call("GET", "/api/status", NULL, "127.0.0.1", NULL, NULL, &r);
	expect_error(&r, 403, "does not name this API");
	/* Bytes that are not UTF-8 are quoted as '?': the error is still JSON. */
	call("GET", "/api/status", NULL, "\xff\xfe.example", NULL, NULL, &r);
	expect_error(&r, 403, "Host `??.example'");
	/* The three names of loopback are us. */
	snprintf(host, sizeof(host), "localhost:%u", port);
	call("GET", "/api/status", NULL, host, NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	json_decref(r.body);
	snprintf(host, sizeof(host), "LocalHost:%u", port);
	call("GET", "/api/status", NULL, host, NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	json_decref(r.body);
	snprintf(host, sizeof(host), "[::1]:%u", port);
	call("GET", "/api/status", NULL, host, NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	json_decref(r.body);
}

static void test_no_host_header(void **state)
{
	static const char req[] = "GET /api/health HTTP/1.0\r\n\r\n";
	struct resp r;

	exchange(req, sizeof(req) - 1, &r);
	expect_error(&r, 403, "no Host header");
}

static void test_cross_origin_refused(void **state)
{
	char origin[64];
	struct resp r;

	call("POST", "/api/party", "{\"name\":\"x\"}", NULL, NULL, "http://evil.example", &r);
	expect_error(&r, 403, "cross-origin");
	assert_string_equal(fake.last_name, "");
	call("GET", "/api/status", NULL, NULL, NULL, "null", &r);
	expect_error(&r, 403, "cross-origin");
	snprintf(origin, sizeof(origin), "https://127.0.0.1:%u", port);
	call("GET", "/api/status", NULL, NULL, NULL, origin, &r);
	expect_error(&r, 403, "cross-origin");
	/* Our own origin (a web UI served by the API) is fine. */
	snprintf(origin, sizeof(origin), "http://127.0.0.1:%u", port);
	call("GET", "/api/status", NULL, NULL, NULL, origin, &r);
	assert_int_equal(r.status, 200);
	assert_null(strstr(r.head, "Access-Control"));
	json_decref(r.body);
}

static void test_no_cors_preflight(void **state)
{
	char origin[64];
	struct resp r;

	snprintf(origin, sizeof(origin), "http://127.0.0.1:%u", port);
	call("OPTIONS", "/api/party", NULL, NULL, "", origin, &r);
	assert_null(strstr(r.head, "Access-Control"));
	assert_non_null(strstr(r.head, "Allow: POST"));
	expect_error(&r, 405, "not allowed");
}

/* ---- routing, bodies, errors ---- */

static void test_unknown_routes(void **state)
{
	struct resp r;

	get("/api/nope", &r);
	expect_error(&r, 404, "no such resource");
	get("/api", &r);
	expect_error(&r, 404, "no such page");
	get("/api/status/", &r);
	expect_error(&r, 404, "no such resource");
	call("DELETE", "/api/status", NULL, NULL, NULL, NULL, &r);
	assert_non_null(strstr(r.head, "Allow: GET"));
	expect_error(&r, 405, "DELETE is not allowed on /api/status");
	call("PUT", "/api/settings", "{}", NULL, NULL, NULL, &r);
	assert_non_null(strstr(r.head, "Allow: GET, PATCH"));
	expect_error(&r, 405, "not allowed");
}

/* ---- the web UI's files ---- */

static void expect_file(const char *path, const char *type, const char *begins)
{
	struct resp r;
	size_t len;

	/* No token: the files hold no secret. */
	call("GET", path, NULL, NULL, "", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.head, type));
	assert_non_null(strstr(r.head, "X-Content-Type-Options: nosniff"));
	/* Only its own scripts and styles, and no framing (clickjacking). */
	assert_non_null(strstr(r.head, "Content-Security-Policy: default-src 'none'; "
	                               "script-src 'self'"));
	assert_non_null(strstr(r.head, "frame-ancestors 'none'"));
	assert_non_null(strstr(r.head, "X-Frame-Options: DENY"));
	assert_null(strstr(r.head, "Access-Control"));
	assert_true(sscanf(strstr(r.head, "Content-Length: "), "Content-Length: %zu", &len) == 1);
	assert_int_equal(len, r.body_len);
	assert_true(len > 100);
	assert_int_equal(strncasecmp(r.start, begins, strlen(begins)), 0);
	json_decref(r.body);
}

static void test_web_files(void **state)
{
	char host[64];
	struct resp r;

	expect_file("/", "Content-Type: text/html; charset=utf-8", "<!doctype html>");
	expect_file("/app.js", "Content-Type: text/javascript", "");
	expect_file("/app.css", "Content-Type: text/css", "");
	expect_file("/favicon.svg", "Content-Type: image/svg+xml", "<svg");
	/* The same rules as the API: another name (DNS rebinding) gets nothing. */
	snprintf(host, sizeof(host), "evil.example:%u", port);
	call("GET", "/", NULL, host, "", NULL, &r);
	expect_error(&r, 403, "does not name this API");
	call("POST", "/", "{}", NULL, NULL, NULL, &r);
	assert_non_null(strstr(r.head, "Allow: GET"));
	expect_error(&r, 405, "POST is not allowed on /");
	get("/index.html", &r);
	expect_error(&r, 404, "no such page: /index.html (the web UI is at /)");
	get("/../etc/passwd", &r);
	expect_error(&r, 404, "no such page");
}

static void test_bad_bodies(void **state)
{
	char *big;
	struct resp r;

	send_json("POST", "/api/party", "{\"name\": ", &r);
	expect_error(&r, 400, "malformed JSON at line 1");
	send_json("POST", "/api/party", "[1, 2]", &r);
	expect_error(&r, 400, "expected a JSON object");
	send_json("POST", "/api/party", "", &r);
	expect_error(&r, 400, "empty");
	send_json("POST", "/api/party", "{}", &r);
	expect_error(&r, 400, "field 'name': missing");
	send_json("POST", "/api/party", "{\"name\": 7}", &r);
	expect_error(&r, 400, "field 'name': expected a string");
	send_json("POST", "/api/party", "{\"name\": \"   \"}", &r);
	expect_error(&r, 400, "field 'name'");
	send_json("POST", "/api/party", "{\"name\": \"a\", \"nmae\": \"b\"}", &r);
	expect_error(&r, 400, "field 'nmae': unknown");
	send_json("POST", "/api/party", "{\"name\": \"a\", \"name\": \"b\"}", &r);
	expect_error(&r, 400, "duplicate");
	send_json("POST", "/api/party", "{\"name\": \"a\\u0000b\"}", &r);
	expect_error(&r, 400, "malformed JSON");
	send_json("POST", "/api/party/leave", "{\"now\": true}", &r);
	expect_error(&r, 400, "field 'now': unknown");
	/* Just over the cap: a JSON 413, and the backend never sees it. */
	big = malloc(64 * 1024 + 32);
	memset(big, ' ', 64 * 1024 + 31);
	memcpy(big, "{\"name\": \"x\"}", 13);
	big[64 * 1024 + 31] = '\0';
	send_json("POST", "/api/party", big, &r);
	expect_error(&r, 413, "at most 65536");
	free(big);
	assert_string_equal(fake.last_name, "");
}

static void test_read_routes(void **state)
{
	struct resp r;

	get("/api/status", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(json_string_value(json_object_get(r.body, "version")), "test");
	assert_non_null(strstr(r.head, "Cache-Control: no-store"));
	json_decref(r.body);
	get("/api/peers", &r);
	assert_int_equal(r.status, 200);
	assert_true(json_is_array(json_object_get(r.body, "peers")));
	json_decref(r.body);
	/* A read the daemon cannot answer yet, or has no op for. */
	fake.no_status = true;
	get("/api/status", &r);
	expect_error(&r, 503, "not available");
	fake.no_status = false;
	get("/api/nat", &r);
	expect_error(&r, 503, "not available");
}

static void test_actions(void **state)
{
	struct resp r;

	send_json("POST", "/api/party", "{\"name\": \"Friday LAN\"}", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(fake.last_name, "Friday LAN");
	assert_string_equal(json_string_value(json_object_get(r.body, "name")), "Friday LAN");
	json_decref(r.body);

	/* Typed ids are normalised before the backend sees them; typos are 400s. */
	send_json("POST", "/api/party/join", "{\"party_id\": \"xg1e stsg 4t5v bsx4\"}", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(fake.last_party, "XG1E-STSG-4T5V-BSX4");
	json_decref(r.body);
	fake.last_party[0] = '\0';
	send_json("POST", "/api/party/join", "{\"party_id\": \"XG1E-STSG-4T5V-BSX5\"}", &r);
	expect_error(&r, 400, "party_id");
	assert_string_equal(fake.last_party, "");
	/* The backend's own refusal passes through. */
	send_json("POST", "/api/party/join", "{\"party_id\": \"0000-0000-0000-0000\"}", &r);
	expect_error(&r, 404, "no party 0000-0000-0000-0000");
	send_json("POST", "/api/party/leave", NULL, &r);
	expect_error(&r, 409, "not in a party");

	send_json("POST", "/api/ping", "{\"peer\": \"bob\"}", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(fake.last_peer, "bob");
	assert_int_equal(fake.last_count, 4);
	json_decref(r.body);
	send_json("POST", "/api/ping", "{\"peer\": \"10.66.0.9\", \"count\": 100}", &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(fake.last_count, 100);
	json_decref(r.body);
	send_json("POST", "/api/ping", "{\"peer\": \"bob\", \"count\": 0}", &r);
	expect_error(&r, 400, "field 'count'");
	send_json("POST", "/api/ping", "{\"peer\": \"bob\", \"count\": 101}", &r);
	expect_error(&r, 400, "field 'count'");
	send_json("POST", "/api/ping", "{\"count\": 1}", &r);
	expect_error(&r, 400, "field 'peer': missing");
}

/* Answers a held action later: the client gets it once it comes. */
static void test_async_answer(void **state)
{
	uint64_t deadline = now_mono_ms() + DEADLINE_MS;
	static const char body[] = "{\"name\":\"later\"}";
	char req[256], buf[1024];
	size_t got = 0;
	int fd = connect_api(), n;

	n = snprintf(
	    req, sizeof(req),
	    "POST /api/party HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nAuthorization: Bearer %s\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
	    port, token, sizeof(body) - 1, body);
	fake.hold = true;
	while (!fake.held) {
		assert_true(now_mono_ms() < deadline);
		if (n > 0 && send(fd, req, (size_t)n, MSG_NOSIGNAL) == n)
			n = 0;
		pump();
		usleep(1000);
	}
	/* Nothing is answered until the backend finishes. */
	assert_true(recv(fd, buf, sizeof(buf), 0) < 0 && errno == EAGAIN);
	api_finish(fake.held, 201, json_pack("{s:s}", "party_id", "ABCD"));
	fake.held = NULL;
	for (;;) {
		ssize_t k;

		assert_true(now_mono_ms() < deadline);
		pump();
		k = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		if (k == 0)
			break;
		if (k > 0)
			got += (size_t)k;
		else
			usleep(1000);
	}
	buf[got] = '\0';
	close(fd);
	assert_non_null(strstr(buf, "HTTP/1.1 201"));
	assert_non_null(strstr(buf, "\"party_id\":\"ABCD\""));
}

/* The client goes away while the backend works; finishing later must be harmless. */
static void test_finish_after_client_left(void **state)
{
	uint64_t deadline = now_mono_ms() + DEADLINE_MS;
	static const char body[] = "{\"peer\":\"bob\",\"count\":3}";
	char req[256];
	int fd = connect_api(), n;
	struct resp r;

	n = snprintf(req, sizeof(req),
	             "POST /api/ping HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nAuthorization: Bearer %s\r\n"
	             "Content-Length: %zu\r\n\r\n%s",
	             port, token, sizeof(body) - 1, body);
	fake.hold = true;
	while (!fake.held) {
		assert_true(now_mono_ms() < deadline);
		if (n > 0 && send(fd, req, (size_t)n, MSG_NOSIGNAL) == n)
			n = 0;
		pump();
		usleep(1000);
	}
	close(fd);
	for (int i = 0; i < 20; i++) {
		pump();
		usleep(1000);
	}
	api_finish(fake.held, 200, json_pack("{s:s}", "peer_id", "bob"));
	fake.held = NULL;
	for (int i = 0; i < 20; i++)
		pump();
	/* The API carries on. */
	get("/api/status", &r);
	assert_int_equal(r.status, 200);
	json_decref(r.body);
}

/* An action still held when the API goes: finishing it later only frees it. */
static void test_finish_after_destroy(void **state)
{
	uint64_t deadline = now_mono_ms() + DEADLINE_MS;
	static const char body[] = "{\"name\":\"x\"}";
	struct api_req *held;
	char req[256];
	int fd = connect_api(), n;
	errmsg err;

	n = snprintf(
	    req, sizeof(req),
	    "POST /api/party HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nAuthorization: Bearer %s\r\n"
	    "Content-Length: %zu\r\n\r\n%s",
	    port, token, sizeof(body) - 1, body);
	fake.hold = true;
	while (!fake.held) {
		assert_true(now_mono_ms() < deadline);
		if (n > 0 && send(fd, req, (size_t)n, MSG_NOSIGNAL) == n)
			n = 0;
		pump();
		usleep(1000);
	}
	held = fake.held;
	fake.held = NULL;
	api_destroy(api);
	api_fail(held, 500, "too late");
	close(fd);
	/* A new API on a new port, same token file: the token survives restarts. */
	api = start_api(db, err);
	assert_non_null(api);
	{
		struct addr a;

		api_get_addr(api, &a);
		port = addr_port(&a);
	}
}

/* ---- the settings database's routes ---- */

static json_t *setting(const json_t *body, const char *key)
{
	json_t *s = json_object_get(json_object_get(body, "settings"), key);

	assert_non_null(s);
	return s;
}

static void test_settings_view(void **state)
{
	struct resp r;
	json_t *s;

	get("/api/settings", &r);
	assert_int_equal(r.status, 200);
	for (unsigned k = 0; k < CONFIG_KEY_COUNT; k++)
		setting(r.body, config_key_name((enum config_key)k));
	s = setting(r.body, "mtu");
	assert_int_equal(json_integer_value(json_object_get(s, "value")), 1412);
	assert_string_equal(json_string_value(json_object_get(s, "source")), "default");
	assert_true(json_is_null(json_object_get(s, "stored")));
	assert_true(json_is_true(json_object_get(s, "writable")));
	s = setting(r.body, "listen_port");
	assert_string_equal(json_string_value(json_object_get(s, "source")), "flag");
	s = setting(r.body, "state_dir");
	assert_true(json_is_false(json_object_get(s, "writable")));
	json_decref(r.body);
}

static void test_settings_patch(void **state)
{
	char text[64], path[128];
	struct settings *again;
	int64_t mtu;
	errmsg err;
	struct resp r;

	send_json("PATCH", "/api/settings", "{\"mtu\": 1400, \"peer_name\": \"Bob\"}", &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_integer_value(json_object_get(setting(r.body, "mtu"), "stored")),
	                 1400);
	assert_string_equal(
	    json_string_value(json_object_get(setting(r.body, "peer_name"), "stored")), "Bob");
	json_decref(r.body);
	assert_int_equal(fake.n_changed, 2);
	assert_string_equal(fake.changed[0], "mtu");
	assert_string_equal(fake.changed[1], "peer_name");

	/* A string for a number is fine (the flag's text form) and is stored as a number. */
	send_json("PATCH", "/api/settings", "{\"keepalive_sec\": \"15\"}", &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(
	    json_integer_value(json_object_get(setting(r.body, "keepalive_sec"), "stored")), 15);
	json_decref(r.body);

	/* All or nothing: one bad key and nothing is stored; the error names it. */
	fake.n_changed = 0;
	send_json("PATCH", "/api/settings", "{\"mtu\": 1300, \"bogus\": 1}", &r);
	expect_error(&r, 400, "setting 'bogus': unknown");
	send_json("PATCH", "/api/settings", "{\"mtu\": 70000}", &r);
	expect_error(&r, 400, "mtu");
	send_json("PATCH", "/api/settings", "{\"api\": \"10.1.2.3:8666\"}", &r);
	expect_error(&r, 400, "loopback");
	send_json("PATCH", "/api/settings", "{\"state_dir\": \"/tmp\"}", &r);
	expect_error(&r, 400, "state_dir");
	send_json("PATCH", "/api/settings", "{\"relay\": true}", &r);
	expect_error(&r, 400, "expected a string, an integer or null");
	send_json("PATCH", "/api/settings", "{}", &r);
	expect_error(&r, 400, "no settings");
	assert_int_equal(fake.n_changed, 0);
	assert_int_equal(settings_get_int(db, "mtu", &mtu, err), 0);
	assert_int_equal(mtu, 1400);

	/* null forgets the stored value. */
	send_json("PATCH", "/api/settings", "{\"peer_name\": null}", &r);
	assert_int_equal(r.status, 200);
	assert_true(json_is_null(json_object_get(setting(r.body, "peer_name"), "stored")));
	json_decref(r.body);
	assert_int_equal(settings_get_string(db, "peer_name", text, sizeof(text), err), -ENOENT);

	/* Stored for good: another connection to the file sees it. */
	snprintf(path, sizeof(path), "%s/settings.db", dir);
	assert_int_equal(settings_open(&again, path, err), 0);
	assert_int_equal(settings_get_int(again, "mtu", &mtu, err), 0);
	assert_int_equal(mtu, 1400);
	settings_close(again);
}

static void test_favorites(void **state)
{
	struct resp r;
	char path[128];
	const char *id;

	send_json(
	    "POST", "/api/favorites",
	    "{\"name\": \"Bob's server\", \"address\": \"10.66.0.7:27015\", \"game\": \"cs\"}", &r);
	assert_int_equal(r.status, 201);
	id = json_string_value(json_object_get(r.body, "server_id"));
	assert_non_null(id);
	assert_int_equal(strlen(id), 16);
	snprintf(path, sizeof(path), "/api/favorites/%s", id);
	json_decref(r.body);
	send_json("POST", "/api/favorites",
	          "{\"server_id\": \"mine\", \"name\": \"Mine\", \"address\": \"10.66.0.8:7777\"}",
	          &r);
	assert_int_equal(r.status, 201);
	json_decref(r.body);
	send_json("POST", "/api/favorites",
	          "{\"server_id\": \"mine\", \"name\": \"Again\", \"address\": \"10.66.0.8:7777\"}",
	          &r);
	expect_error(&r, 409, "already exists");
	send_json("POST", "/api/favorites", "{\"name\": \"No address\"}", &r);
	expect_error(&r, 400, "field 'address': missing");
	get("/api/favorites", &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_array_size(json_object_get(r.body, "favorites")), 2);
	json_decref(r.body);
	call("DELETE", path, NULL, NULL, NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	json_decref(r.body);
	call("DELETE", path, NULL, NULL, NULL, NULL, &r);
	expect_error(&r, 404, "no favourite");
	get("/api/favorites", &r);
	assert_int_equal(json_array_size(json_object_get(r.body, "favorites")), 1);
	json_decref(r.body);
}

static void test_game_profiles(void **state)
{
	struct resp r;

	send_json(
	    "POST", "/api/game-profiles",
	    "{\"name\": \"My Game\", \"game\": \"quake3\", \"profile\": {\"ports\": [27960]}}", &r);
	assert_int_equal(r.status, 201);
	assert_int_equal(json_integer_value(json_array_get(
	                     json_object_get(json_object_get(r.body, "profile"), "ports"), 0)),
	                 27960);
	json_decref(r.body);
	send_json("POST", "/api/game-profiles",
	          "{\"name\": \"My Game\", \"profile\": {\"ports\": [27961]}}", &r);
	assert_int_equal(r.status, 200);
	json_decref(r.body);
	send_json("POST", "/api/game-profiles", "{\"name\": \"x\", \"profile\": [1]}", &r);
	expect_error(&r, 400, "field 'profile': expected an object");
	get("/api/game-profiles", &r);
	assert_int_equal(json_array_size(json_object_get(r.body, "profiles")), 1);
	json_decref(r.body);
	/* Names travel percent-encoded in the path. */
	call("DELETE", "/api/game-profiles/My%20Game", NULL, NULL, NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(json_string_value(json_object_get(r.body, "deleted")), "My Game");
	json_decref(r.body);
	call("DELETE", "/api/game-profiles/My%20Game", NULL, NULL, NULL, NULL, &r);
	expect_error(&r, 404, "no game profile");
	call("DELETE", "/api/game-profiles/a%00b", NULL, NULL, NULL, NULL, &r);
	expect_error(&r, 404, "no such resource");
}

/* ---- creation ---- */

static void test_create_checks(void **state)
{
	struct api_backend none = { 0 };
	struct addr a;
	struct stat st;
	char path[128];
	errmsg err;
	struct api *other;
	struct resp r;

	assert_int_equal(stat(token_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_true(addr_parse(&a, "192.0.2.1:8666", NULL));
	assert_null(api_create(fake.base, &a, token_path, NULL, &none, err));
	assert_non_null(strstr(err, "not a loopback address"));
	/* A token file others can read is refused, with what to do. */
	snprintf(path, sizeof(path), "%s/open.token", dir);
	assert_int_equal(file_write_atomic(path, token, API_TOKEN_HEX, 0644), 0);
	assert_true(addr_parse(&a, "127.0.0.1:0", NULL));
	assert_null(api_create(fake.base, &a, path, NULL, &none, err));
	assert_non_null(strstr(err, "chmod 600"));
	assert_null(strstr(err, token));
	/* Garbage in the token file. */
	assert_int_equal(file_write_atomic(path, "not a token\n", 12, 0600), 0);
	assert_null(api_create(fake.base, &a, path, NULL, &none, err));
	assert_non_null(strstr(err, "does not hold a token"));
	/* No settings database: its routes say so, the rest works. */
	other = api_create(fake.base, &a, token_path, NULL, &none, err);
	assert_non_null(other);
	api_destroy(api);
	api = other;
	api_get_addr(api, &a);
	port = addr_port(&a);
	get("/api/settings", &r);
	expect_error(&r, 503, "settings database is not open");
	send_json("POST", "/api/party", "{\"name\": \"x\"}", &r);
	expect_error(&r, 503, "not available");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_health_needs_no_token, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_required, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_must_name_us, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_host_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cross_origin_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_cors_preflight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_routes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_web_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_bodies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_routes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_actions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_finish_after_client_left, setup, teardown),
		cmocka_unit_test_setup_teardown(test_finish_after_destroy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_settings_view, setup, teardown),
		cmocka_unit_test_setup_teardown(test_settings_patch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_favorites, setup, teardown),
		cmocka_unit_test_setup_teardown(test_game_profiles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_checks, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	log_set_level(LL_ERROR);
	if (!rand_init())
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
