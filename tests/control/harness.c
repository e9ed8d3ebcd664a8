/* harness.c - API tests: real lanrage-control processes driven by the real client. */
#include "harness.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "crypto/key.h"
#include "util/compiler.h"
#include "crypto/secret.h"
#include "util/now.h"

static struct event_base *base;
static pid_t live[64];

static void track(pid_t pid, bool add)
{
	for (size_t i = 0; i < ARRAY_SIZE(live); i++) {
		if (add ? live[i] == 0 : live[i] == pid) {
			live[i] = add ? pid : 0;
			return;
		}
	}
}

void harness_kill_all(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(live); i++) {
		if (live[i] > 0) {
			kill(live[i], SIGKILL);
			waitpid(live[i], NULL, 0);
			live[i] = 0;
		}
	}
}

struct event_base *harness_base(void)
{
	if (!base)
		base = event_base_new();
	return base;
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
}

void loop_until(bool (*cond)(void *arg), void *arg, int deadline_ms, const char *what)
{
	uint64_t end = now_mono_ms() + (uint64_t)deadline_ms;
	struct event *t = event_new(harness_base(), -1, EV_PERSIST, tick, NULL);
	struct timeval tv = { .tv_sec = 0, .tv_usec = 20000 };

	event_add(t, &tv);
	while (!cond(arg)) {
		if (now_mono_ms() > end) {
			event_free(t);
			fail_msg("timed out after %d ms waiting for %s", deadline_ms, what);
		}
		event_base_loop(harness_base(), EVLOOP_ONCE);
	}
	event_free(t);
}

static bool never(void *arg)
{
	return now_mono_ms() >= *(uint64_t *)arg;
}

void loop_run_ms(int ms)
{
	uint64_t until = now_mono_ms() + (uint64_t)ms;

	loop_until(never, &until, ms + HARNESS_DEADLINE_MS, "a pause");
}

void scratch_dir(char *out, size_t size, const char *tag)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(out, size, "%s/lanrage-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", tag);
	assert_non_null(mkdtemp(out));
}

static bool port_file_ready(void *arg)
{
	struct server_proc *s = arg;
	char path[300], buf[16] = "";
	int status;
	FILE *f;

	if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
		track(s->pid, false);
		s->pid = 0;
		fail_msg("lanrage-control exited during start (log: %s/server.log)", s->dir);
	}
	snprintf(path, sizeof(path), "%s/port", s->dir);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	s->port = (uint16_t)atoi(buf);
	return s->port != 0;
}

void server_spawn(struct server_proc *s, const char *binary, const char *const *flags)
{
	const char *argv[64];
	char port_file[300], log_path[300];
	size_t n = 0;

	memset(s, 0, sizeof(*s));
	scratch_dir(s->dir, sizeof(s->dir), "control");
	snprintf(port_file, sizeof(port_file), "%s/port", s->dir);
	snprintf(log_path, sizeof(log_path), "%s/server.log", s->dir);
	argv[n++] = binary;
	argv[n++] = "--port";
	argv[n++] = "0";
	argv[n++] = "--port-file";
	argv[n++] = port_file;
	/* Port 3478 is one per machine: tests/control/stun.sh covers STUN in its own namespace. */
	argv[n++] = "--stun";
	argv[n++] = "none";
	for (size_t i = 0; flags && flags[i] && n < ARRAY_SIZE(argv) - 1; i++)
		argv[n++] = flags[i];
	argv[n] = NULL;
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);

		/* Never outlive the test, and never hold its output open. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execv(binary, (char *const *)argv);
		_exit(127);
	}
	track(s->pid, true);
	loop_until(port_file_ready, s, HARNESS_DEADLINE_MS, "the server's port file");
	snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%u", s->port);
}

static void reap(struct server_proc *s, int sig, bool expect_clean)
{
	int status = 0;

	if (s->pid <= 0)
		return;
	kill(s->pid, sig);
	if (waitpid(s->pid, &status, 0) != s->pid)
		fail_msg("waitpid: %s", strerror(errno));
	track(s->pid, false);
	s->pid = 0;
	if (expect_clean && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		fail_msg("lanrage-control did not exit cleanly (status 0x%x; log: %s/server.log)",
		         status, s->dir);
}

void server_stop(struct server_proc *s)
{
	reap(s, SIGTERM, true);
}

void server_kill9(struct server_proc *s)
{
	reap(s, SIGKILL, false);
}

void reply_clear(struct reply *r)
{
	json_decref(r->body);
	memset(r, 0, sizeof(*r));
}

void reply_cb(const struct control_reply *cr, void *arg)
{
	struct reply *r = arg;

	r->done = true;
	r->status = cr->status;
	r->body = json_incref(cr->body);
	snprintf(r->error, sizeof(r->error), "%s", cr->error ? cr->error : "");
}

static bool reply_done(void *arg)
{
	return ((struct reply *)arg)->done;
}

void reply_wait(struct reply *r, int rc)
{
	if (rc != 0)
		fail_msg("the client refused the call: %s", strerror(-rc));
	loop_until(reply_done, r, HARNESS_DEADLINE_MS, "a reply");
}

struct control_client *client_new(const struct server_proc *s, bool do_register)
{
	struct control_client *c = control_client_create(harness_base(), s->url, NULL);
	struct reply r = { 0 };
	wg_key priv;

	assert_non_null(c);
	key_generate_private(priv);
	control_client_set_key(c, priv);
	secret_zero(priv, sizeof(priv));
	if (do_register) {
		CALL(r, control_register(c, reply_cb, &r));
		if (r.status != 200)
			fail_msg("register: %d %s", r.status, r.error);
		assert_string_equal(jstr(r.body, "peer_id"), control_client_peer_id(c));
		assert_int_equal(strlen(control_client_token(c)), CONTROL_TOKEN_HEX);
		reply_clear(&r);
	}
	return c;
}

static void on_event(const char *type, json_t *data, int status, void *arg)
{
	struct ev_queue *q = arg;

	if (!type) {
		q->ended = true;
		q->end_status = status;
		return;
	}
	if (q->n == ARRAY_SIZE(q->items))
		fail_msg("event queue overflow");
	snprintf(q->items[q->n].type, sizeof(q->items[q->n].type), "%s", type);
	q->items[q->n].data = json_incref(data);
	q->n++;
}

void evq_open(struct ev_queue *q, struct control_client *c, const char *party_id)
{
	json_t *snap;

	memset(q, 0, sizeof(*q));
	q->stream = control_events_open(c, party_id, on_event, q);
	assert_non_null(q->stream);
	/* The stream is live once its snapshot arrived. */
	snap = evq_wait(q, "snapshot", "party_id", party_id);
	json_decref(snap);
}

void evq_close(struct ev_queue *q)
{
	control_events_close(q->stream);
	q->stream = NULL;
	for (size_t i = 0; i < q->n; i++)
		json_decref(q->items[i].data);
	q->n = 0;
}

static ssize_t find(const struct ev_queue *q, const char *type, const char *field,
                    const char *value)
{
	for (size_t i = 0; i < q->n; i++) {
		if (strcmp(q->items[i].type, type) != 0)
			continue;
		if (field && strcmp(jstr(q->items[i].data, field), value) != 0)
			continue;
		return (ssize_t)i;
	}
	return -1;
}

bool evq_has(const struct ev_queue *q, const char *type, const char *field, const char *value)
{
	return find(q, type, field, value) >= 0;
}

struct evq_wait_ctx {
	struct ev_queue *q;
	const char *type, *field, *value;
	uint64_t deadline_ms;
};

/* Fails with what did arrive, so a timeout says what went wrong. */
static void evq_fail(const struct evq_wait_ctx *w, const char *why)
{
	char seen[512] = "";
	size_t n = 0;

	for (size_t k = 0; k < w->q->n && n < sizeof(seen) - 40; k++)
		n += (size_t)snprintf(seen + n, sizeof(seen) - n, " %s", w->q->items[k].type);
	fail_msg("%s waiting for a '%s' event (%s=%s); queued:%s", why, w->type,
	         w->field ? w->field : "-", w->value ? w->value : "-", seen);
}

static bool evq_ready(void *arg)
{
	struct evq_wait_ctx *w = arg;

	if (find(w->q, w->type, w->field, w->value) >= 0)
		return true;
	if (w->q->ended)
		evq_fail(w, "the stream ended");
	if (now_mono_ms() > w->deadline_ms)
		evq_fail(w, "timed out");
	return false;
}

json_t *evq_wait(struct ev_queue *q, const char *type, const char *field, const char *value)
{
	struct evq_wait_ctx w = { q, type, field, value, now_mono_ms() + HARNESS_DEADLINE_MS };
	ssize_t i;
	json_t *data;

	loop_until(evq_ready, &w, 2 * HARNESS_DEADLINE_MS, "an event");
	i = find(q, type, field, value);
	data = q->items[i].data;
	memmove(&q->items[i], &q->items[i + 1], (q->n - (size_t)i - 1) * sizeof(q->items[0]));
	q->n--;
	return data;
}

static bool evq_ended(void *arg)
{
	return ((struct ev_queue *)arg)->ended;
}

void evq_wait_end(struct ev_queue *q)
{
	loop_until(evq_ended, q, HARNESS_DEADLINE_MS, "the event stream to end");
}

const char *jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

struct raw_ctx {
	struct raw_reply *out;
	struct evhttp_connection *conn;
};

static void raw_done(struct evhttp_request *req, void *arg)
{
	struct raw_ctx *ctx = arg;
	struct raw_reply *out = ctx->out;

	out->r.done = true;
	if (!req || evhttp_request_get_response_code(req) == 0) {
		snprintf(out->r.error, sizeof(out->r.error), "no answer");
		return;
	}
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	const char *allow = evhttp_find_header(evhttp_request_get_input_headers(req), "Allow");

	out->r.status = evhttp_request_get_response_code(req);
	out->text = calloc(1, len + 1);
	evbuffer_remove(in, out->text, len);
	out->r.body = json_loads(out->text, JSON_DECODE_ANY, NULL);
	snprintf(out->r.error, sizeof(out->r.error), "%s", jstr(out->r.body, "error"));
	snprintf(out->allow, sizeof(out->allow), "%s", allow ? allow : "");
}

void raw_call(const struct server_proc *s, const char *method, const char *path,
              const char *authorization, const char *body, size_t len, struct raw_reply *out)
{
	struct raw_ctx ctx = { .out = out };
	struct evhttp_request *req;
	enum evhttp_cmd_type cmd = EVHTTP_REQ_GET;

	memset(out, 0, sizeof(*out));
	if (strcmp(method, "POST") == 0)
		cmd = EVHTTP_REQ_POST;
	else if (strcmp(method, "PUT") == 0)
		cmd = EVHTTP_REQ_PUT;
	else if (strcmp(method, "DELETE") == 0)
		cmd = EVHTTP_REQ_DELETE;
	else if (strcmp(method, "PATCH") == 0)
		cmd = EVHTTP_REQ_PATCH;
	else if (strcmp(method, "OPTIONS") == 0)
		cmd = EVHTTP_REQ_OPTIONS;
	ctx.conn = evhttp_connection_base_new(harness_base(), NULL, "127.0.0.1", s->port);
	assert_non_null(ctx.conn);
	evhttp_connection_set_timeout(ctx.conn, 10);
	req = evhttp_request_new(raw_done, &ctx);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Host", "127.0.0.1");
	if (authorization)
		evhttp_add_header(evhttp_request_get_output_headers(req), "Authorization",
		                  authorization);
	if (body) {
		char n[24];

		snprintf(n, sizeof(n), "%zu", len);
		evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Length", n);
		evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
	}
	assert_int_equal(evhttp_make_request(ctx.conn, req, cmd, path), 0);
	loop_until(reply_done, &out->r, HARNESS_DEADLINE_MS, "a raw reply");
	evhttp_connection_free(ctx.conn);
}

void raw_clear(struct raw_reply *r)
{
	reply_clear(&r->r);
	free(r->text);
	r->text = NULL;
}
