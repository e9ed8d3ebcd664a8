/* settings_impl.h - what settings.c shares with settings_rows.c; no one else includes it. */
#ifndef LANRAGE_DAEMON_SETTINGS_IMPL_H
#define LANRAGE_DAEMON_SETTINGS_IMPL_H

#include <limits.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#include "daemon/settings.h"
#include "util/now.h"

/* Owner: the daemon (one per process); not shared across threads. */
struct settings {
	sqlite3 *db;
	char path[PATH_MAX];
};

/* What settings_walk hands each row callback: the caller's function and argument. */
struct walk_ctx {
	union {
		settings_each_fn *each;
		settings_server_fn *server;
		settings_favorite_fn *favorite;
		settings_profile_fn *profile;
	};
	void *arg;
	int rows;
};

/* 1..max characters of [A-Za-z0-9_.-]. */
bool settings_word_valid(const char *s, size_t max);
/* Printable UTF-8 of min..max bytes, not only spaces when min > 0. */
bool settings_text_valid(const char *s, size_t min, size_t max);
/* The one place SQLite result codes become -errno and a message naming the file. */
int settings_fail(const struct settings *s, int rc, const char *what, char *err);
int settings_prepare(struct settings *s, const char *sql, sqlite3_stmt **st, char *err);
void settings_bind_text(sqlite3_stmt *st, int i, const char *v);
/* Steps a statement that returns no rows and finalizes it; *changes may be NULL. */
int settings_step_done(struct settings *s, sqlite3_stmt *st, int *changes, char *err);
/* Text of a column, "" for NULL (a damaged row must not crash a caller). */
const char *settings_col(sqlite3_stmt *st, int i);
/* Calls row_fn for each row of st until it returns false; finalizes st. */
int settings_walk(struct settings *s, sqlite3_stmt *st, bool (*row_fn)(sqlite3_stmt *, void *),
                  void *arg, char *err);
/* Now as ISO 8601 UTC; returns buf. */
const char *settings_now(char buf[NOW_ISO8601_LEN]);

#endif
