/* store_sqlite.c - the embedded SQLite driver: WAL, durable commits, cached statements. */
#include "server/store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/err.h"

/*
 * Durability: WAL with synchronous=FULL, so a COMMIT that returned is on disk
 * (fsync of the WAL) and survives SIGKILL and power loss alike.  Batched
 * last_seen updates run on their own connection (heartbeat.c) and do not pay
 * for that on the request path.  Statements are prepared once per connection
 * and found again by the address of their SQL text, which is always a string
 * literal.
 */
enum { BUSY_TIMEOUT_MS = 5000, STMT_CACHE_SLOTS = 128 };

struct stmt_slot {
	const char *sql;
	sqlite3_stmt *stmt;
};

struct sqlite_impl {
	sqlite3 *db;
	struct stmt_slot cache[STMT_CACHE_SLOTS];
	store_notify_cb notify_cb;
	void *notify_arg;
};

static int fail(sqlite3 *db, int code, const char *what, char *err)
{
	err_set(err, "sqlite: %s: %s", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(code));
	if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
		return -EBUSY;
	return -EIO;
}

static const char *path_of(const char *url)
{
	const char *p = url + strlen("sqlite:");

	/* sqlite:///abs/path keeps its leading slash; sqlite:rel/path is relative. */
	if (strncmp(p, "//", 2) == 0)
		p += 2;
	return p;
}

static int exec_simple(sqlite3 *db, const char *sql, char *err)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : fail(db, rc, sql, err);
}

static void sqlite_close(struct store *s)
{
	struct sqlite_impl *im = s->impl;

	for (size_t i = 0; i < STMT_CACHE_SLOTS; i++)
		sqlite3_finalize(im->cache[i].stmt);
	sqlite3_close_v2(im->db);
	free(im);
	s->impl = NULL;
}

static int sqlite_open(struct store *s, const char *url, char *err)
{
	struct sqlite_impl *im = calloc(1, sizeof(*im));
	const char *path = path_of(url);
	int rc, fd;

	if (!im)
		return -ENOMEM;
	s->impl = im;
	if (!*path) {
		err_set(err, "sqlite: URL `%.64s' names no file", url);
		rc = -EINVAL;
		goto err;
	}
	/*
	 * The file holds token hashes and the challenge key: private to the
	 * server's user.  SQLite gives its -wal and -shm files the same mode.
	 */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	rc = sqlite3_open_v2(
	    path, &im->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		rc = fail(im->db, rc, "open", err);
		goto err;
	}
	sqlite3_busy_timeout(im->db, BUSY_TIMEOUT_MS);
	rc = exec_simple(im->db, "PRAGMA journal_mode=WAL", err);
	if (!rc)
		rc = exec_simple(im->db, "PRAGMA synchronous=FULL", err);
	if (!rc)
		rc = exec_simple(im->db, "PRAGMA foreign_keys=ON", err);
	if (rc)
		goto err;
	return 0;
err:
	sqlite_close(s);
	return rc;
}

static sqlite3_stmt *prepare(struct sqlite_impl *im, const char *sql, char *err, int *rc)
{
	size_t h = ((uintptr_t)sql >> 3) % STMT_CACHE_SLOTS;
	sqlite3_stmt *stmt;
	int prc;

	for (size_t n = 0; n < STMT_CACHE_SLOTS; n++) {
		struct stmt_slot *slot = &im->cache[(h + n) % STMT_CACHE_SLOTS];

		if (slot->sql == sql)
			return slot->stmt;
		if (!slot->sql) {
			prc = sqlite3_prepare_v2(im->db, sql, -1, &stmt, NULL);
			if (prc != SQLITE_OK) {
				*rc = fail(im->db, prc, "prepare", err);
				return NULL;
			}
			slot->sql = sql;
			slot->stmt = stmt;
			return stmt;
		}
	}
	/* A full cache means more distinct statements than the server has: a bug. */
	*rc = -ENOSPC;
	err_set(err, "sqlite: statement cache is full");
	return NULL;
}

static int bind(struct sqlite_impl *im, sqlite3_stmt *stmt, const struct store_param *params,
                int nparams, char *err)
{
	for (int i = 0; i < nparams; i++) {
		char name[16];
		int idx, rc;

		snprintf(name, sizeof(name), "$%d", i + 1);
		idx = sqlite3_bind_parameter_index(stmt, name);
		if (idx == 0)
			continue;
		switch (params[i].type) {
		case SP_TEXT:
			rc = sqlite3_bind_text(stmt, idx, params[i].text, -1, SQLITE_TRANSIENT);
			break;
		case SP_INT:
			rc = sqlite3_bind_int64(stmt, idx, params[i].i);
			break;
		default:
			rc = sqlite3_bind_null(stmt, idx);
			break;
		}
		if (rc != SQLITE_OK)
			return fail(im->db, rc, "bind", err);
	}
	return 0;
}

enum { MAX_COLS = 32 };

static int sqlite_query(struct store *s, const char *sql, const struct store_param *params,
                        int nparams, store_row_cb cb, void *arg, char *err)
{
	struct sqlite_impl *im = s->impl;
	const char *cols[MAX_COLS];
	sqlite3_stmt *stmt;
	int rc = 0, step;

	stmt = prepare(im, sql, err, &rc);
	if (!stmt)
		return rc;
	rc = bind(im, stmt, params, nparams, err);
	if (rc)
		goto out;
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		int n = sqlite3_column_count(stmt);

		if (n > MAX_COLS)
			n = MAX_COLS;
		for (int i = 0; i < n; i++)
			cols[i] = (const char *)sqlite3_column_text(stmt, i);
		if (cb && !cb(arg, n, cols))
			goto out;
	}
	if (step != SQLITE_DONE)
		rc = fail(im->db, step, "step", err);
out:
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	return rc;
}

static int sqlite_begin(struct store *s, char *err)
{
	struct sqlite_impl *im = s->impl;

	return exec_simple(im->db, "BEGIN IMMEDIATE", err);
}

static int sqlite_commit(struct store *s, char *err)
{
	struct sqlite_impl *im = s->impl;
	int rc = exec_simple(im->db, "COMMIT", err);

	if (rc)
		sqlite3_exec(im->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

static void sqlite_rollback(struct store *s)
{
	struct sqlite_impl *im = s->impl;

	if (!sqlite3_get_autocommit(im->db))
		sqlite3_exec(im->db, "ROLLBACK", NULL, NULL, NULL);
}

/* One process owns the file: an event goes straight to this handle's listener. */
static int sqlite_notify(struct store *s, const char *payload, char *err)
{
	struct sqlite_impl *im = s->impl;

	if (im->notify_cb)
		im->notify_cb(im->notify_arg, payload, strlen(payload));
	return 0;
}

static int sqlite_listen(struct store *s, struct event_base *base, store_notify_cb cb, void *arg,
                         char *err)
{
	struct sqlite_impl *im = s->impl;

	im->notify_cb = cb;
	im->notify_arg = arg;
	return 0;
}

const struct store_ops store_sqlite_ops = {
	.name = "sqlite",
	.dialect = STORE_SQLITE,
	.open = sqlite_open,
	.close = sqlite_close,
	.query = sqlite_query,
	.begin = sqlite_begin,
	.commit = sqlite_commit,
	.rollback = sqlite_rollback,
	.notify = sqlite_notify,
	.listen = sqlite_listen,
};
