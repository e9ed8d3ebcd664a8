/* settings.h - the daemon's settings database (SQLite): typed settings, servers, favourites, game
 * profiles. */
#ifndef LANRAGE_DAEMON_SETTINGS_H
#define LANRAGE_DAEMON_SETTINGS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/compiler.h"

/*
 * One SQLite file, <state_dir>/settings.db, mode 0600, WAL, with four tables
 * (seed 004 "Database Integration"):
 *
 *   settings          key -> typed value (string, int, bool, json) and updated_at
 *   server_configs    named control-plane/relay server configurations
 *   favorite_servers  game servers the user keeps
 *   game_profiles     per-game profiles (JSON), unique by name
 *
 * The schema carries a version (PRAGMA user_version); opening a file of an
 * older version migrates it, a newer one is refused.  Times are ISO 8601 UTC
 * text.  Every call runs on the caller's thread (the daemon's loop) and
 * returns 0 or -errno with err saying what and which file:
 *   -ENOENT   no such row
 *   -EEXIST   a row with that key already exists
 *   -EINVAL   bad argument (err names it), or a stored value of another type
 *   -EOVERFLOW a stored string longer than the caller's buffer
 *   -EBADMSG  the file is not a database or is corrupt
 *   -EROFS    the file or its directory is read-only
 *   -ENOTSUP  the file's schema is newer than this program
 *   -EACCES   the file cannot be opened (path, permissions)
 *   -EBUSY    another process holds the database past the busy timeout
 *   -ENOSPC   the disk is full
 *   -EIO      anything else SQLite reports (err quotes it)
 * Owner: whoever opened it (the daemon); not shared across threads.
 */
struct settings;

enum setting_type { SETTING_STRING, SETTING_INT, SETTING_BOOL, SETTING_JSON, SETTING_TYPE_COUNT };

enum {
	SETTINGS_SCHEMA_VERSION = 1,
	SETTINGS_BUSY_TIMEOUT_MS = 2000,
	SETTINGS_KEY_MAX = 64,          /* keys: 1-64 of [A-Za-z0-9_.-] */
	SETTINGS_VALUE_MAX = 64 * 1024, /* text form of any value, profiles and configs */
	SETTINGS_NAME_MAX = 64,         /* names, games, modes, server ids: printable UTF-8 */
	SETTINGS_ADDRESS_MAX = 255,     /* a favourite's address ("host:port") */
};

/* "string", "int", "bool", "json". */
const char *setting_type_name(enum setting_type t);
bool setting_type_parse(const char *s, enum setting_type *out) WARN_UNUSED;
bool settings_key_valid(const char *key);

/* Opens (creating with mode 0600, or migrating) the database at path. */
int settings_open(struct settings **out, const char *path, char *err) WARN_UNUSED;
void settings_close(struct settings *s);
const char *settings_path(const struct settings *s);

/*
 * Settings.  Values travel as text: the string itself, a decimal integer,
 * "true"/"false", or compact JSON.  settings_set checks the text against the
 * type and replaces any earlier value (of any type).
 */
int settings_set(struct settings *s, const char *key, enum setting_type type, const char *text,
                 char *err) WARN_UNUSED;
int settings_set_string(struct settings *s, const char *key, const char *value,
                        char *err) WARN_UNUSED;
int settings_set_int(struct settings *s, const char *key, int64_t value, char *err) WARN_UNUSED;
int settings_set_bool(struct settings *s, const char *key, bool value, char *err) WARN_UNUSED;
int settings_set_json(struct settings *s, const char *key, const json_t *value,
                      char *err) WARN_UNUSED;

/* Any type: *text is a new string the caller frees. */
int settings_get(struct settings *s, const char *key, enum setting_type *type, char **text,
                 char *err) WARN_UNUSED;
/* Typed reads: -EINVAL when the stored value has another type (err says which). */
int settings_get_string(struct settings *s, const char *key, char *out, size_t outsz,
                        char *err) WARN_UNUSED;
int settings_get_int(struct settings *s, const char *key, int64_t *out, char *err) WARN_UNUSED;
int settings_get_bool(struct settings *s, const char *key, bool *out, char *err) WARN_UNUSED;
/* *out is a new reference. */
int settings_get_json(struct settings *s, const char *key, json_t **out, char *err) WARN_UNUSED;
int settings_delete(struct settings *s, const char *key, char *err) WARN_UNUSED;

/* What list callbacks see; every pointer is borrowed for the call. */
struct setting_row {
	const char *key;
	enum setting_type type;
	const char *text;
	const char *updated_at;
};
/* Return false to stop the walk early (the list still returns 0). */
typedef bool settings_each_fn(void *arg, const struct setting_row *row);
/* In key order. */
int settings_list(struct settings *s, settings_each_fn *fn, void *arg, char *err) WARN_UNUSED;

/* Groups several writes into one transaction (all or nothing). */
int settings_begin(struct settings *s, char *err) WARN_UNUSED;
int settings_commit(struct settings *s, char *err) WARN_UNUSED;
void settings_rollback(struct settings *s);

/* server_configs: config is any JSON object, mode a short word ("remote", "relay", ...). */
struct settings_server {
	int64_t id;
	const char *name;
	const char *mode;
	bool enabled;
	const char *config; /* compact JSON text */
	const char *created_at;
	const char *updated_at;
};
typedef bool settings_server_fn(void *arg, const struct settings_server *row);

int settings_server_add(struct settings *s, const char *name, const char *mode, bool enabled,
                        const json_t *config, int64_t *id, char *err) WARN_UNUSED;
int settings_server_update(struct settings *s, int64_t id, const char *name, const char *mode,
                           bool enabled, const json_t *config, char *err) WARN_UNUSED;
int settings_server_delete(struct settings *s, int64_t id, char *err) WARN_UNUSED;
/* One row (by id) or all in id order. */
int settings_server_get(struct settings *s, int64_t id, settings_server_fn *fn, void *arg,
                        char *err) WARN_UNUSED;
int settings_server_list(struct settings *s, settings_server_fn *fn, void *arg,
                         char *err) WARN_UNUSED;

/* favorite_servers, keyed by server_id; game may be "". */
struct settings_favorite {
	const char *server_id;
	const char *name;
	const char *game;
	const char *address;
	const char *added_at; /* ignored by add */
};
typedef bool settings_favorite_fn(void *arg, const struct settings_favorite *row);

int settings_favorite_add(struct settings *s, const struct settings_favorite *f,
                          char *err) WARN_UNUSED;
int settings_favorite_delete(struct settings *s, const char *server_id, char *err) WARN_UNUSED;
/* In the order they were added. */
int settings_favorite_list(struct settings *s, settings_favorite_fn *fn, void *arg,
                           char *err) WARN_UNUSED;

/* game_profiles, unique by name; profile is any JSON object. */
struct settings_profile {
	int64_t id;
	const char *name;
	const char *game;
	const char *profile; /* compact JSON text */
	const char *created_at;
	const char *updated_at;
};
typedef bool settings_profile_fn(void *arg, const struct settings_profile *row);

/* Creates or replaces the profile called name; *created says which (may be NULL). */
int settings_profile_put(struct settings *s, const char *name, const char *game,
                         const json_t *profile, bool *created, char *err) WARN_UNUSED;
int settings_profile_get(struct settings *s, const char *name, settings_profile_fn *fn, void *arg,
                         char *err) WARN_UNUSED;
int settings_profile_delete(struct settings *s, const char *name, char *err) WARN_UNUSED;
/* In name order. */
int settings_profile_list(struct settings *s, settings_profile_fn *fn, void *arg,
                          char *err) WARN_UNUSED;

#endif
