/* store_pg.c - the PostgreSQL driver (libpq): prepared statements, LISTEN/NOTIFY. */
#include "server/store.h"

#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/log.h"

/*
 * Statements run synchronously on the caller's thread: one round trip to a
 * nearby database per statement.  Each statement is prepared once per
 * connection, named after its slot in a cache keyed by the address of its SQL
 * text.  Events travel on the channel "lanrage_events": every instance
 * LISTENs on a connection of its own, so an event published by any instance
 * reaches the subscribers of all of them, including its own.
 */
#define PG_CHANNEL "lanrage_events"

enum { STMT_CACHE_SLOTS = 128, MAX_PARAMS = 16, RELISTEN_SEC = 1 };

struct pg_impl {
	PGconn *conn;
	const char *prepared[STMT_CACHE_SLOTS]; /* SQL text per slot; NULL = free */
	/* The listening connection and its event. */
	PGconn *listen_conn;
	struct event *listen_ev;
	struct event *relisten_timer;
	struct event_base *base;
	store_notify_cb notify_cb;
	void *notify_arg;
	char url[512];
};

static int fail(PGconn *conn, const char *what, char *err)
{
	const char *msg = conn ? PQerrorMessage(conn) : "no connection";
	size_t len = strlen(msg);

	while (len && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
		len--;
	err_set(err, "postgresql: %s: %.*s", what, (int)len, msg);
	if (conn && PQstatus(conn) == CONNECTION_BAD)
		return -ENOTCONN;
	return -EIO;
}

/* After a lost connection: reconnect once; the server forgot our statements. */
static bool reconnect(struct pg_impl *im)
{
	PQreset(im->conn);
	memset(im->prepared, 0, sizeof(im->prepared));
	return PQstatus(im->conn) == CONNECTION_OK;
}

static void quiet_notice(void *arg, const char *msg)
{
}

static PGconn *connect_db(const char *url, char *err)
{
	PGconn *conn = PQconnectdb(url);

	if (!conn || PQstatus(conn) != CONNECTION_OK) {
		fail(conn, "connect", err);
		PQfinish(conn);
		return NULL;
	}
	PQsetNoticeProcessor(conn, quiet_notice, NULL);
	return conn;
}

static void pg_close(struct store *s)
{
	struct pg_impl *im = s->impl;

	if (im->listen_ev)
		event_free(im->listen_ev);
	if (im->relisten_timer)
		event_free(im->relisten_timer);
	PQfinish(im->listen_conn);
	PQfinish(im->conn);
	free(im);
	s->impl = NULL;
}

static int pg_open(struct store *s, const char *url, char *err)
{
	struct pg_impl *im = calloc(1, sizeof(*im));

	if (!im)
		return -ENOMEM;
	s->impl = im;
	snprintf(im->url, sizeof(im->url), "%s", url);
	im->conn = connect_db(url, err);
	if (!im->conn) {
		pg_close(s);
		return -ENOTCONN;
	}
	return 0;
}

static int exec_simple(struct pg_impl *im, const char *sql, char *err)
{
	PGresult *res = PQexec(im->conn, sql);
	int rc = 0;

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = fail(im->conn, sql, err);
	PQclear(res);
	return rc;
}

/* The prepared statement's name for sql, preparing it on first use. */
static int prepare(struct pg_impl *im, const char *sql, int nparams, char name[16], char *err)
{
	size_t h = ((uintptr_t)sql >> 3) % STMT_CACHE_SLOTS;

	for (size_t n = 0; n < STMT_CACHE_SLOTS; n++) {
		size_t slot = (h + n) % STMT_CACHE_SLOTS;
		PGresult *res;

		snprintf(name, 16, "s%zu", slot);
		if (im->prepared[slot] == sql)
			return 0;
		if (im->prepared[slot])
			continue;
		res = PQprepare(im->conn, name, sql, nparams, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			int rc = fail(im->conn, "prepare", err);

			PQclear(res);
			return rc;
		}
		PQclear(res);
		im->prepared[slot] = sql;
		return 0;
	}
	err_set(err, "postgresql: statement cache is full");
	return -ENOSPC;
}

static int run(struct pg_impl *im, const char *sql, const struct store_param *params, int nparams,
               store_row_cb cb, void *arg, char *err)
{
	char ints[MAX_PARAMS][24], name[16];
	const char *values[MAX_PARAMS], *cols[32];
	PGresult *res;
	int rc;

	if (nparams > MAX_PARAMS) {
		err_set(err, "postgresql: too many parameters");
		return -E2BIG;
	}
	rc = prepare(im, sql, nparams, name, err);
	if (rc)
		return rc;
	for (int i = 0; i < nparams; i++) {
		switch (params[i].type) {
		case SP_TEXT:
			values[i] = params[i].text;
			break;
		case SP_INT:
			snprintf(ints[i], sizeof(ints[i]), "%" PRId64, params[i].i);
			values[i] = ints[i];
			break;
		default:
			values[i] = NULL;
			break;
		}
	}
	res = PQexecPrepared(im->conn, name, nparams, values, NULL, NULL, 0);
	switch (PQresultStatus(res)) {
	case PGRES_TUPLES_OK: {
		int rows = PQntuples(res), n = PQnfields(res);

		if (n > (int)ARRAY_SIZE(cols))
			n = (int)ARRAY_SIZE(cols);
		for (int r = 0; r < rows && cb; r++) {
			for (int c = 0; c < n; c++)
				cols[c] = PQgetisnull(res, r, c) ? NULL : PQgetvalue(res, r, c);
			if (!cb(arg, n, cols))
				break;
		}
		break;
	}
	case PGRES_COMMAND_OK:
		break;
	default:
		rc = fail(im->conn, "query", err);
		break;
	}
	PQclear(res);
	return rc;
}

static int pg_query(struct store *s, const char *sql, const struct store_param *params, int nparams,
                    store_row_cb cb, void *arg, char *err)
{
	struct pg_impl *im = s->impl;
	int rc = run(im, sql, params, nparams, cb, arg, err);

	/* Outside a transaction a statement may simply be tried again on a new connection. */
	if (rc == -ENOTCONN && PQtransactionStatus(im->conn) != PQTRANS_INTRANS && reconnect(im)) {
		log_info("store: reconnected to postgresql");
		rc = run(im, sql, params, nparams, cb, arg, err);
	}
	return rc;
}

static int pg_begin(struct store *s, char *err)
{
	struct pg_impl *im = s->impl;
	int rc = exec_simple(im, "BEGIN", err);

	if (rc == -ENOTCONN && reconnect(im))
		rc = exec_simple(im, "BEGIN", err);
	return rc;
}

static int pg_commit(struct store *s, char *err)
{
	struct pg_impl *im = s->impl;
	int rc = exec_simple(im, "COMMIT", err);

	if (rc && PQtransactionStatus(im->conn) != PQTRANS_IDLE)
		exec_simple(im, "ROLLBACK", NULL);
	return rc;
}

static void pg_rollback(struct store *s)
{
	struct pg_impl *im = s->impl;

	if (PQtransactionStatus(im->conn) != PQTRANS_IDLE)
		(void)exec_simple(im, "ROLLBACK", NULL);
}

static int pg_notify(struct store *s, const char *payload, char *err)
{
	struct store_param p[] = { SP_T(payload) };

	return pg_query(s, "SELECT pg_notify('" PG_CHANNEL "', $1)", p, 1, NULL, NULL, err);
}

static int start_listening(struct pg_impl *im, char *err);

static void relisten(evutil_socket_t fd, short what, void *arg)
{
	struct pg_impl *im = arg;
	errmsg err;

	if (start_listening(im, err)) {
		log_error("store: LISTEN failed, retrying in %d s: %s", RELISTEN_SEC, err);
		event_add(im->relisten_timer, &(struct timeval){ .tv_sec = RELISTEN_SEC });
	} else {
		log_info("store: listening for events again");
	}
}

static void on_listen_readable(evutil_socket_t fd, short what, void *arg)
{
	struct pg_impl *im = arg;
	PGnotify *n;

	if (!PQconsumeInput(im->listen_conn)) {
		log_error("store: event connection lost: %s", PQerrorMessage(im->listen_conn));
		event_free(im->listen_ev);
		im->listen_ev = NULL;
		PQfinish(im->listen_conn);
		im->listen_conn = NULL;
		event_add(im->relisten_timer, &(struct timeval){ .tv_sec = RELISTEN_SEC });
		return;
	}
	while ((n = PQnotifies(im->listen_conn)) != NULL) {
		if (im->notify_cb)
			im->notify_cb(im->notify_arg, n->extra, strlen(n->extra));
		PQfreemem(n);
	}
}

static int start_listening(struct pg_impl *im, char *err)
{
	PGresult *res;

	im->listen_conn = connect_db(im->url, err);
	if (!im->listen_conn)
		return -ENOTCONN;
	res = PQexec(im->listen_conn, "LISTEN " PG_CHANNEL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		fail(im->listen_conn, "LISTEN", err);
		PQclear(res);
		PQfinish(im->listen_conn);
		im->listen_conn = NULL;
		return -EIO;
	}
	PQclear(res);
	if (PQsetnonblocking(im->listen_conn, 1) != 0) {
		fail(im->listen_conn, "nonblocking", err);
		PQfinish(im->listen_conn);
		im->listen_conn = NULL;
		return -EIO;
	}
	im->listen_ev = event_new(im->base, PQsocket(im->listen_conn), EV_READ | EV_PERSIST,
	                          on_listen_readable, im);
	if (!im->listen_ev || event_add(im->listen_ev, NULL) != 0) {
		err_set(err, "postgresql: cannot watch the event connection");
		return -ENOMEM;
	}
	return 0;
}

static int pg_listen(struct store *s, struct event_base *base, store_notify_cb cb, void *arg,
                     char *err)
{
	struct pg_impl *im = s->impl;

	im->base = base;
	im->notify_cb = cb;
	im->notify_arg = arg;
	im->relisten_timer = evtimer_new(base, relisten, im);
	if (!im->relisten_timer)
		return -ENOMEM;
	return start_listening(im, err);
}

const struct store_ops store_pg_ops = {
	.name = "postgresql",
	.dialect = STORE_POSTGRES,
	.open = pg_open,
	.close = pg_close,
	.query = pg_query,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.notify = pg_notify,
	.listen = pg_listen,
};
