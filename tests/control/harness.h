/* harness.h - API tests: real lanrage-control processes driven by the real client. */
#ifndef LANRAGE_TESTS_CONTROL_HARNESS_H
#define LANRAGE_TESTS_CONTROL_HARNESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "control/control_client.h"

struct event_base;

enum { HARNESS_DEADLINE_MS = 15000 };

/* A server process we started; stopped by pid. */
struct server_proc {
	pid_t pid;
	uint16_t port;
	char url[64];
	char dir[256]; /* its scratch directory (port file, log) */
};

/* The loop every test runs; made once. */
struct event_base *harness_base(void);

/*
 * Starts binary with --port 0 --port-file and the given extra flags (NULL-
 * terminated), waits until it listens (or fails the test).
 */
void server_spawn(struct server_proc *s, const char *binary, const char *const *flags);
/* SIGTERM and wait (clean exit expected); or SIGKILL. */
void server_stop(struct server_proc *s);
void server_kill9(struct server_proc *s);

/* A synchronous call: the loop runs until the reply (or the deadline fails the test). */
struct reply {
	bool done;
	int status;
	json_t *body; /* owned */
	char error[512];
};
void reply_clear(struct reply *r);
/* Runs a control_* call: CALL(r, control_heartbeat(c, id, reply_cb, &r)). */
void reply_cb(const struct control_reply *cr, void *arg);
void reply_wait(struct reply *r, int rc);
#define CALL(r, expr)                                                                              \
	do {                                                                                       \
		reply_clear(&(r));                                                                 \
		reply_wait(&(r), (expr));                                                          \
	} while (0)

/* A client with a fresh key, registered. */
struct control_client *client_new(const struct server_proc *s, bool do_register);

/* Event streams collected into a queue. */
struct ev_item {
	char type[64];
	json_t *data;
};
struct ev_queue {
	struct control_events *stream;
	struct ev_item items[256];
	size_t n;
	bool ended;
	int end_status;
};
void evq_open(struct ev_queue *q, struct control_client *c, const char *party_id);
void evq_close(struct ev_queue *q);
/*
 * Waits for an event of type whose data has field == value (field may be
 * NULL); removes and returns it (caller decrefs data).  Earlier events stay.
 */
json_t *evq_wait(struct ev_queue *q, const char *type, const char *field, const char *value);
/* Whether such an event is already queued (no waiting). */
bool evq_has(const struct ev_queue *q, const char *type, const char *field, const char *value);
void evq_wait_end(struct ev_queue *q);

/* Runs the loop until cond(arg) or the deadline (then fails the test). */
void loop_until(bool (*cond)(void *arg), void *arg, int deadline_ms, const char *what);

/* Runs the loop for ms, handling whatever arrives (pacing, never waiting for a condition). */
void loop_run_ms(int ms);

/*
 * A raw HTTP request (bad input, other headers): body may be any bytes;
 * token NULL sends no Authorization, "" an empty one.  The reply's body is
 * parsed when it is JSON; its text and the Allow header are kept too.
 */
struct raw_reply {
	struct reply r;
	char *text;
	char allow[128];
};
void raw_call(const struct server_proc *s, const char *method, const char *path,
              const char *authorization, const char *body, size_t len, struct raw_reply *out);
void raw_clear(struct raw_reply *r);

/* SIGKILLs every server still running (teardown, and after a failed test). */
void harness_kill_all(void);

/* Convenience: string field of a JSON object, or "". */
const char *jstr(const json_t *o, const char *key);
/* A fresh scratch directory under TMPDIR. */
void scratch_dir(char *out, size_t size, const char *tag);

#endif
