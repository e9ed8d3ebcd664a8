/* settings.c - the settings database on SQLite: schema, migrations, typed values, three tables. */
#include "daemon/settings.h"
#include "daemon/settings_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/err.h"
#include "util/log.h"
#include "util/now.h"
#include "util/num.h"
#include "util/utf8.h"

/*
 * migrations[v] takes a database from schema version v to v + 1.  Append only:
 * a released step never changes, so every older file takes the same road.
 */
static const char *const migrations[SETTINGS_SCHEMA_VERSION] = {
	"CREATE TABLE settings ("
	"  key TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL,"
	"  type TEXT NOT NULL CHECK (type IN ('string', 'int', 'bool', 'json')),"
	"  updated_at TEXT NOT NULL);"
	"CREATE TABLE server_configs ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  name TEXT NOT NULL,"
	"  mode TEXT NOT NULL,"
	"  enabled INTEGER NOT NULL DEFAULT 1,"
	"  config TEXT NOT NULL DEFAULT '{}',"
	"  created_at TEXT NOT NULL,"
	"  updated_at TEXT NOT NULL);"
	"CREATE TABLE favorite_servers ("
	"  server_id TEXT PRIMARY KEY,"
	"  name TEXT NOT NULL,"
	"  game TEXT NOT NULL DEFAULT '',"
	"  address TEXT NOT NULL,"
	"  added_at TEXT NOT NULL);"
	"CREATE TABLE game_profiles ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  name TEXT NOT NULL UNIQUE,"
	"  game TEXT NOT NULL DEFAULT '',"
	"  profile TEXT NOT NULL DEFAULT '{}',"
	"  created_at TEXT NOT NULL,"
	"  updated_at TEXT NOT NULL);",
};

static const char *const type_names[SETTING_TYPE_COUNT] = {
	[SETTING_STRING] = "string",
	[SETTING_INT] = "int",
	[SETTING_BOOL] = "bool",
	[SETTING_JSON] = "json",
};

const char *setting_type_name(enum setting_type t)
{
	return (unsigned)t < SETTING_TYPE_COUNT ? type_names[t] : "?";
}

bool setting_type_parse(const char *s, enum setting_type *out)
{
	for (unsigned t = 0; t < SETTING_TYPE_COUNT; t++) {
		if (strcmp(s, type_names[t]) == 0) {
			*out = (enum setting_type)t;
			return true;
		}
	}
	return false;
}

bool settings_word_valid(const char *s, size_t max)
{
	size_t len = strlen(s);

	return len > 0 && len <= max &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") ==
	           len;
}

bool settings_key_valid(const char *key)
{
	return settings_word_valid(key, SETTINGS_KEY_MAX);
}

bool settings_text_valid(const char *s, size_t min, size_t max)
{
	size_t len = strlen(s);

	if (len < min || len > max || !utf8_is_printable(s, len))
		return false;
	return min == 0 || strspn(s, " ") != len;
}

int settings_fail(const struct settings *s, int rc, const char *what, char *err)
{
	const char *msg = s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);

	switch (rc & 0xff) {
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
		err_set(err,
		        "settings database %s is not a database or is corrupt (%s); move it away "
		        "and lanraged starts a new one",
		        s->path, msg);
		return -EBADMSG;
	case SQLITE_READONLY:
		err_set(err,
		        "settings database %s is read-only (%s); check the permissions of the "
		        "file and its directory",
		        s->path, msg);
		return -EROFS;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		err_set(err, "settings database %s is locked by another process (%s)", s->path,
		        msg);
		return -EBUSY;
	case SQLITE_FULL:
		err_set(err, "settings database %s: disk full", s->path);
		return -ENOSPC;
	case SQLITE_CANTOPEN:
		err_set(err,
		        "settings database %s cannot be opened (%s); check the path and the "
		        "permissions of its directory",
		        s->path, msg);
		return -EACCES;
	default:
		err_set(err, "settings database %s: %s: %s", s->path, what, msg);
		return -EIO;
	}
}

int settings_prepare(struct settings *s, const char *sql, sqlite3_stmt **st, char *err)
{
	int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);

	if (rc != SQLITE_OK) {
		*st = NULL;
		return settings_fail(s, rc, "prepare", err);
	}
	return 0;
}

void settings_bind_text(sqlite3_stmt *st, int i, const char *v)
{
	sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

int settings_step_done(struct settings *s, sqlite3_stmt *st, int *changes, char *err)
{
	int rc = sqlite3_step(st);
	int ret = 0;

	if (rc == SQLITE_CONSTRAINT) {
		err_set(err, "settings database %s: the row already exists", s->path);
		ret = -EEXIST;
	} else if (rc != SQLITE_DONE) {
		ret = settings_fail(s, rc, "write", err);
	} else if (changes) {
		*changes = sqlite3_changes(s->db);
	}
	sqlite3_finalize(st);
	return ret;
}

static int exec(struct settings *s, const char *sql, char *err)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : settings_fail(s, rc, sql, err);
}

const char *settings_now(char buf[NOW_ISO8601_LEN])
{
	return now_format_iso8601(now_wall_ms(), buf);
}

static int user_version(struct settings *s, int *v, char *err)
{
	sqlite3_stmt *st;
	int ret = settings_prepare(s, "PRAGMA user_version", &st, err);
	int rc;

	if (ret < 0)
		return ret;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int(st, 0);
	else
		ret = settings_fail(s, rc, "reading the schema version", err);
	sqlite3_finalize(st);
	return ret;
}

static int migrate(struct settings *s, char *err)
{
	char sql[64];
	int v, ret;

	ret = user_version(s, &v, err);
	if (ret < 0)
		return ret;
	if (v > SETTINGS_SCHEMA_VERSION) {
		err_set(err,
		        "settings database %s has schema version %d, newer than this lanraged "
		        "understands (%d); run a newer lanraged or move the file away",
		        s->path, v, SETTINGS_SCHEMA_VERSION);
		return -ENOTSUP;
	}
	if (v == SETTINGS_SCHEMA_VERSION)
		return 0;
	/* IMMEDIATE: a second process migrating at once waits, then finds the work done. */
	ret = exec(s, "BEGIN IMMEDIATE", err);
	if (ret < 0)
		return ret;
	ret = user_version(s, &v, err);
	for (; ret == 0 && v < SETTINGS_SCHEMA_VERSION; v++) {
		ret = exec(s, migrations[v], err);
		if (ret == 0) {
			snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
			ret = exec(s, sql, err);
		}
	}
	if (ret == 0)
		ret = exec(s, "COMMIT", err);
	if (ret < 0) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return ret;
	}
	log_info("settings: %s at schema version %d", s->path, SETTINGS_SCHEMA_VERSION);
	return 0;
}

/* The file is created 0600 before SQLite sees it (SQLite would use the umask). */
static int prepare_file(const struct settings *s, char *err)
{
	struct stat st;
	int fd;

	if (lstat(s->path, &st) == 0) {
		if (!S_ISREG(st.st_mode)) {
			err_set(err, "settings database %s is not a regular file", s->path);
			return -EINVAL;
		}
		if ((st.st_mode & 077) && st.st_uid == geteuid() && chmod(s->path, 0600) == 0)
			log_info("settings: %s was readable by others; now mode 0600", s->path);
		return 0;
	}
	if (errno != ENOENT) {
		err_set(err, "settings database %s: %s", s->path, strerror(errno));
		return -errno;
	}
	fd = open(s->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 && errno != EEXIST) {
		int e = errno;

		err_set(err, "settings database %s cannot be created: %s", s->path, strerror(e));
		return e == EROFS || e == EACCES ? -EROFS : -e;
	}
	if (fd >= 0)
		close(fd);
	return 0;
}

int settings_open(struct settings **out, const char *path, char *err)
{
	struct settings *s = calloc(1, sizeof(*s));
	int ret, rc;

	*out = NULL;
	if (!s) {
		err_set(err, "out of memory");
		return -ENOMEM;
	}
	if (snprintf(s->path, sizeof(s->path), "%s", path) >= (int)sizeof(s->path)) {
		err_set(err, "settings database path too long");
		ret = -ENAMETOOLONG;
		goto err_free;
	}
	ret = prepare_file(s, err);
	if (ret < 0)
		goto err_free;
	rc = sqlite3_open_v2(
	    path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc != SQLITE_OK) {
		ret = settings_fail(s, rc, "open", err);
		goto err_db;
	}
	if (sqlite3_db_readonly(s->db, "main") == 1) {
		ret = settings_fail(s, SQLITE_READONLY, "open", err);
		goto err_db;
	}
	sqlite3_busy_timeout(s->db, SETTINGS_BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(s->db, 0);
	/* The first statement reads the header: a file that is no database fails here. */
	ret = exec(s, "PRAGMA journal_mode=WAL", err);
	if (ret == 0)
		ret = exec(s, "PRAGMA synchronous=FULL", err);
	if (ret == 0)
		ret = migrate(s, err);
	if (ret < 0)
		goto err_db;
	*out = s;
	return 0;

err_db:
	sqlite3_close(s->db);
err_free:
	free(s);
	return ret;
}

void settings_close(struct settings *s)
{
	if (!s)
		return;
	sqlite3_close(s->db);
	free(s);
}

const char *settings_path(const struct settings *s)
{
	return s->path;
}

int settings_begin(struct settings *s, char *err)
{
	return exec(s, "BEGIN IMMEDIATE", err);
}

int settings_commit(struct settings *s, char *err)
{
	int ret = exec(s, "COMMIT", err);

	if (ret < 0)
		settings_rollback(s);
	return ret;
}

void settings_rollback(struct settings *s)
{
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* ---- settings ---- */

static bool check_key(const char *key, char *err)
{
	if (!settings_key_valid(key)) {
		err_set(err, "setting key `%.80s': must be 1-%d characters of A-Z a-z 0-9 _ . -",
		        key, SETTINGS_KEY_MAX);
		return false;
	}
	return true;
}

/* Checks text against type; for JSON, *canon is the compact form (freed by the caller). */
static bool check_value(const char *key, enum setting_type type, const char *text, char **canon,
                        char *err)
{
	int64_t i;
	json_t *j;

	*canon = NULL;
	if (strlen(text) > SETTINGS_VALUE_MAX) {
		err_set(err, "setting `%s': value longer than %d bytes", key, SETTINGS_VALUE_MAX);
		return false;
	}
	switch (type) {
	case SETTING_STRING:
		if (!utf8_is_printable(text, strlen(text))) {
			err_set(err, "setting `%s': a string must be printable UTF-8", key);
			return false;
		}
		return true;
	case SETTING_INT:
		if (!num_parse_i64(text, INT64_MIN, INT64_MAX, &i)) {
			err_set(err, "setting `%s': `%.64s' is not an integer", key, text);
			return false;
		}
		return true;
	case SETTING_BOOL:
		if (strcmp(text, "true") != 0 && strcmp(text, "false") != 0) {
			err_set(err, "setting `%s': `%.64s' is not true or false", key, text);
			return false;
		}
		return true;
	case SETTING_JSON:
		j = json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
		*canon = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
		json_decref(j);
		if (!*canon) {
			err_set(err, "setting `%s': the value is not JSON", key);
			return false;
		}
		return true;
	default:
		err_set(err, "setting `%s': unknown type", key);
		return false;
	}
}

int settings_set(struct settings *s, const char *key, enum setting_type type, const char *text,
                 char *err)
{
	char when[NOW_ISO8601_LEN], *canon;
	sqlite3_stmt *st;
	int ret;

	if (!check_key(key, err) || !check_value(key, type, text, &canon, err))
		return -EINVAL;
	ret = settings_prepare(
	    s,
	    "INSERT INTO settings (key, value, type, updated_at) VALUES (?1, ?2, ?3, ?4) "
	    "ON CONFLICT (key) DO UPDATE SET value = ?2, type = ?3, updated_at = ?4",
	    &st, err);
	if (ret == 0) {
		settings_bind_text(st, 1, key);
		settings_bind_text(st, 2, canon ? canon : text);
		settings_bind_text(st, 3, setting_type_name(type));
		settings_bind_text(st, 4, settings_now(when));
		ret = settings_step_done(s, st, NULL, err);
	}
	free(canon);
	return ret;
}

int settings_set_string(struct settings *s, const char *key, const char *value, char *err)
{
	return settings_set(s, key, SETTING_STRING, value, err);
}

int settings_set_int(struct settings *s, const char *key, int64_t value, char *err)
{
	char text[24];

	snprintf(text, sizeof(text), "%lld", (long long)value);
	return settings_set(s, key, SETTING_INT, text, err);
}

int settings_set_bool(struct settings *s, const char *key, bool value, char *err)
{
	return settings_set(s, key, SETTING_BOOL, value ? "true" : "false", err);
}

int settings_set_json(struct settings *s, const char *key, const json_t *value, char *err)
{
	char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
	int ret;

	if (!text) {
		err_set(err, "setting `%s': the value cannot be encoded", key);
		return -EINVAL;
	}
	ret = settings_set(s, key, SETTING_JSON, text, err);
	free(text);
	return ret;
}

int settings_get(struct settings *s, const char *key, enum setting_type *type, char **text,
                 char *err)
{
	sqlite3_stmt *st;
	int ret, rc;

	*text = NULL;
	if (!check_key(key, err))
		return -EINVAL;
	ret = settings_prepare(s, "SELECT type, value FROM settings WHERE key = ?1", &st, err);
	if (ret < 0)
		return ret;
	settings_bind_text(st, 1, key);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);
		const char *v = (const char *)sqlite3_column_text(st, 1);

		if (!t || !v || !setting_type_parse(t, type)) {
			ret = settings_fail(s, SQLITE_CORRUPT, "read", err);
		} else if (!(*text = strdup(v))) {
			err_set(err, "out of memory");
			ret = -ENOMEM;
		}
	} else if (rc == SQLITE_DONE) {
		err_set(err, "no setting `%s'", key);
		ret = -ENOENT;
	} else {
		ret = settings_fail(s, rc, "read", err);
	}
	sqlite3_finalize(st);
	return ret;
}

/* settings_get, then insists on one type. */
static int get_typed(struct settings *s, const char *key, enum setting_type want, char **text,
                     char *err)
{
	enum setting_type type;
	int ret = settings_get(s, key, &type, text, err);

	if (ret == 0 && type != want) {
		err_set(err, "setting `%s' is stored as %s, not %s", key, setting_type_name(type),
		        setting_type_name(want));
		free(*text);
		*text = NULL;
		return -EINVAL;
	}
	return ret;
}

int settings_get_string(struct settings *s, const char *key, char *out, size_t outsz, char *err)
{
	char *text;
	int ret = get_typed(s, key, SETTING_STRING, &text, err);

	if (ret < 0)
		return ret;
	if (strlen(text) >= outsz) {
		err_set(err, "setting `%s' is longer than %zu bytes", key, outsz - 1);
		ret = -EOVERFLOW;
	} else {
		memcpy(out, text, strlen(text) + 1);
	}
	free(text);
	return ret;
}

int settings_get_int(struct settings *s, const char *key, int64_t *out, char *err)
{
	char *text;
	int ret = get_typed(s, key, SETTING_INT, &text, err);

	if (ret < 0)
		return ret;
	if (!num_parse_i64(text, INT64_MIN, INT64_MAX, out))
		ret = settings_fail(s, SQLITE_CORRUPT, "read", err);
	free(text);
	return ret;
}

int settings_get_bool(struct settings *s, const char *key, bool *out, char *err)
{
	char *text;
	int ret = get_typed(s, key, SETTING_BOOL, &text, err);

	if (ret < 0)
		return ret;
	*out = strcmp(text, "true") == 0;
	free(text);
	return ret;
}

int settings_get_json(struct settings *s, const char *key, json_t **out, char *err)
{
	char *text;
	int ret = get_typed(s, key, SETTING_JSON, &text, err);

	*out = NULL;
	if (ret < 0)
		return ret;
	*out = json_loads(text, JSON_DECODE_ANY, NULL);
	free(text);
	return *out ? 0 : settings_fail(s, SQLITE_CORRUPT, "read", err);
}

int settings_delete(struct settings *s, const char *key, char *err)
{
	sqlite3_stmt *st;
	int ret, n = 0;

	if (!check_key(key, err))
		return -EINVAL;
	ret = settings_prepare(s, "DELETE FROM settings WHERE key = ?1", &st, err);
	if (ret < 0)
		return ret;
	settings_bind_text(st, 1, key);
	ret = settings_step_done(s, st, &n, err);
	if (ret == 0 && n == 0) {
		err_set(err, "no setting `%s'", key);
		ret = -ENOENT;
	}
	return ret;
}

const char *settings_col(sqlite3_stmt *st, int i)
{
	const char *v = (const char *)sqlite3_column_text(st, i);

	return v ? v : "";
}

int settings_walk(struct settings *s, sqlite3_stmt *st, bool (*row_fn)(sqlite3_stmt *, void *),
                  void *arg, char *err)
{
	int rc, ret = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!row_fn(st, arg))
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = settings_fail(s, rc, "read", err);
	sqlite3_finalize(st);
	return ret;
}

static bool setting_row(sqlite3_stmt *st, void *arg)
{
	struct walk_ctx *w = arg;
	struct setting_row r = {
		.key = settings_col(st, 0),
		.text = settings_col(st, 2),
		.updated_at = settings_col(st, 3),
	};

	if (!setting_type_parse(settings_col(st, 1), &r.type))
		r.type = SETTING_STRING;
	w->rows++;
	return w->each(w->arg, &r);
}

int settings_list(struct settings *s, settings_each_fn *fn, void *arg, char *err)
{
	struct walk_ctx w = { .each = fn, .arg = arg };
	sqlite3_stmt *st;
	int ret = settings_prepare(
	    s, "SELECT key, type, value, updated_at FROM settings ORDER BY key", &st, err);

	return ret < 0 ? ret : settings_walk(s, st, setting_row, &w, err);
}
