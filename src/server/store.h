/* store.h - the server's database: one interface, SQLite and PostgreSQL drivers. */
#ifndef LANRAGE_SERVER_STORE_H
#define LANRAGE_SERVER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/compiler.h"

struct event_base;

/*
 * The queries live once, in portable SQL (db.c, registry.c and friends); a
 * driver only runs them.  Parameters are written $1, $2, ... in order of first
 * use, which PostgreSQL reads natively and SQLite reads as named parameters
 * numbered by first appearance.  Rows come back as text (NULL for SQL NULL).
 * Every call returns 0 or -errno-like: -EIO for a failed statement, -EBUSY when
 * the database stayed locked, -ENOTCONN when the connection is gone; err says
 * what happened without quoting parameter values (they may be token hashes).
 */
enum store_param_type { SP_NULL, SP_TEXT, SP_INT };

struct store_param {
	enum store_param_type type;
	const char *text;
	int64_t i;
};

static inline struct store_param store_text(const char *s)
{
	return (struct store_param){ .type = s ? SP_TEXT : SP_NULL, .text = s };
}

static inline struct store_param store_int(int64_t n)
{
	return (struct store_param){ .type = SP_INT, .i = n };
}

/* Parameter constructors: text (NULL is SQL NULL) and integer. */
#define SP_T(s) store_text(s)
#define SP_I(n) store_int(n)

/* Called once per result row with ncols text columns; return false to stop early. */
typedef bool (*store_row_cb)(void *arg, int ncols, const char *const *cols);
/* A message that arrived on the event channel (store_listen). */
typedef void (*store_notify_cb)(void *arg, const char *payload, size_t len);

enum store_dialect { STORE_SQLITE, STORE_POSTGRES };

struct store;

struct store_ops {
	const char *name;
	enum store_dialect dialect;
	int (*open)(struct store *s, const char *url, char *err);
	void (*close)(struct store *s);
	/* Runs one statement; rows (if any) go to cb, which may be NULL. */
	int (*query)(struct store *s, const char *sql, const struct store_param *params,
	             int nparams, store_row_cb cb, void *arg, char *err);
	/* A write transaction; SQLite takes the write lock at once. */
	int (*begin)(struct store *s, char *err);
	int (*commit)(struct store *s, char *err);
	void (*rollback)(struct store *s);
	/*
	 * Events between server instances.  notify sends a payload to every
	 * listener of the database (PostgreSQL NOTIFY; SQLite has one process, so
	 * it hands the payload to this handle's own listener).  listen registers
	 * the callback, driven from base.
	 */
	int (*notify)(struct store *s, const char *payload, char *err);
	int (*listen)(struct store *s, struct event_base *base, store_notify_cb cb, void *arg,
	              char *err);
};

/* One connection; owned by whoever opened it, used by one thread. */
struct store {
	const struct store_ops *ops;
	void *impl;
	char url[512];
};

extern const struct store_ops store_sqlite_ops;
extern const struct store_ops store_pg_ops;

/*
 * Opens "sqlite:///path/file.db", "sqlite:relative.db", or
 * "postgresql://..." / "postgres://..." (any libpq connection URI), and
 * brings the schema up to date (migrations are versioned and run under a lock,
 * so several instances may start at once).
 */
int store_open(struct store *s, const char *url, char *err) WARN_UNUSED;
/* A second connection to the same database (for another thread). */
int store_open_again(struct store *s, const struct store *like, char *err) WARN_UNUSED;
void store_close(struct store *s);

static inline int store_query(struct store *s, const char *sql, const struct store_param *params,
                              int nparams, store_row_cb cb, void *arg, char *err)
{
	return s->ops->query(s, sql, params, nparams, cb, arg, err);
}

int store_begin(struct store *s, char *err) WARN_UNUSED;
int store_commit(struct store *s, char *err) WARN_UNUSED;
void store_rollback(struct store *s);

/* Runs a statement expected to return one integer (COUNT(*) and the like). */
int store_query_int(struct store *s, const char *sql, const struct store_param *params, int nparams,
                    int64_t *out, char *err) WARN_UNUSED;
/* Parses a decimal column; false if it is NULL or not a number. */
bool store_col_int(const char *col, int64_t *out) WARN_UNUSED;

#endif
