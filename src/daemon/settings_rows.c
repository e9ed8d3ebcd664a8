/* settings_rows.c - the settings database's other tables: server configs, favourite servers, game
 * profiles. */
#include "daemon/settings.h"
#include "daemon/settings_impl.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/now.h"

/* ---- server_configs ---- */

static bool check_name(const char *what, const char *v, size_t min, size_t max, char *err)
{
	if (!settings_text_valid(v, min, max)) {
		err_set(err, "%s: must be %zu-%zu bytes of printable UTF-8", what, min, max);
		return false;
	}
	return true;
}

/* A JSON object in compact form, at most SETTINGS_VALUE_MAX bytes; NULL with err. */
static char *object_text(const char *what, const json_t *v, char *err)
{
	char *text = json_is_object(v) ? json_dumps(v, JSON_COMPACT) : NULL;

	if (!text) {
		err_set(err, "%s: must be a JSON object", what);
		return NULL;
	}
	if (strlen(text) > SETTINGS_VALUE_MAX) {
		err_set(err, "%s: longer than %d bytes", what, SETTINGS_VALUE_MAX);
		free(text);
		return NULL;
	}
	return text;
}

static char *check_server(const char *name, const char *mode, const json_t *config, char *err)
{
	if (!check_name("name", name, 1, SETTINGS_NAME_MAX, err))
		return NULL;
	if (!settings_word_valid(mode, 16)) {
		err_set(err, "mode `%.32s': must be 1-16 characters of A-Z a-z 0-9 _ . -", mode);
		return NULL;
	}
	return object_text("config", config, err);
}

int settings_server_add(struct settings *s, const char *name, const char *mode, bool enabled,
                        const json_t *config, int64_t *id, char *err)
{
	char when[NOW_ISO8601_LEN], *text = check_server(name, mode, config, err);
	sqlite3_stmt *st;
	int ret;

	if (!text)
		return -EINVAL;
	ret =
	    settings_prepare(s,
	                     "INSERT INTO server_configs (name, mode, enabled, config, created_at, "
	                     "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
	                     &st, err);
	if (ret == 0) {
		settings_bind_text(st, 1, name);
		settings_bind_text(st, 2, mode);
		sqlite3_bind_int(st, 3, enabled);
		settings_bind_text(st, 4, text);
		settings_bind_text(st, 5, settings_now(when));
		ret = settings_step_done(s, st, NULL, err);
		if (ret == 0 && id)
			*id = sqlite3_last_insert_rowid(s->db);
	}
	free(text);
	return ret;
}

int settings_server_update(struct settings *s, int64_t id, const char *name, const char *mode,
                           bool enabled, const json_t *config, char *err)
{
	char when[NOW_ISO8601_LEN], *text = check_server(name, mode, config, err);
	sqlite3_stmt *st;
	int ret, n = 0;

	if (!text)
		return -EINVAL;
	ret = settings_prepare(
	    s,
	    "UPDATE server_configs SET name = ?2, mode = ?3, enabled = ?4, config = ?5, "
	    "updated_at = ?6 WHERE id = ?1",
	    &st, err);
	if (ret == 0) {
		sqlite3_bind_int64(st, 1, id);
		settings_bind_text(st, 2, name);
		settings_bind_text(st, 3, mode);
		sqlite3_bind_int(st, 4, enabled);
		settings_bind_text(st, 5, text);
		settings_bind_text(st, 6, settings_now(when));
		ret = settings_step_done(s, st, &n, err);
	}
	free(text);
	if (ret == 0 && n == 0) {
		err_set(err, "no server configuration %lld", (long long)id);
		ret = -ENOENT;
	}
	return ret;
}

/* DELETE ... WHERE <column> = ?1 with a text or an integer key; -ENOENT when nothing went. */
static int delete_row(struct settings *s, const char *sql, const char *key, int64_t id,
                      const char *what, char *err)
{
	sqlite3_stmt *st;
	int ret = settings_prepare(s, sql, &st, err), n = 0;

	if (ret < 0)
		return ret;
	if (key)
		settings_bind_text(st, 1, key);
	else
		sqlite3_bind_int64(st, 1, id);
	ret = settings_step_done(s, st, &n, err);
	if (ret == 0 && n == 0) {
		if (key)
			err_set(err, "no %s `%.80s'", what, key);
		else
			err_set(err, "no %s %lld", what, (long long)id);
		ret = -ENOENT;
	}
	return ret;
}

int settings_server_delete(struct settings *s, int64_t id, char *err)
{
	return delete_row(s, "DELETE FROM server_configs WHERE id = ?1", NULL, id,
	                  "server configuration", err);
}

static bool server_row(sqlite3_stmt *st, void *arg)
{
	struct walk_ctx *w = arg;
	struct settings_server r = {
		.id = sqlite3_column_int64(st, 0),
		.name = settings_col(st, 1),
		.mode = settings_col(st, 2),
		.enabled = sqlite3_column_int(st, 3) != 0,
		.config = settings_col(st, 4),
		.created_at = settings_col(st, 5),
		.updated_at = settings_col(st, 6),
	};

	w->rows++;
	return w->server(w->arg, &r);
}

static const char server_columns[] =
    "SELECT id, name, mode, enabled, config, created_at, updated_at FROM server_configs ";

int settings_server_get(struct settings *s, int64_t id, settings_server_fn *fn, void *arg,
                        char *err)
{
	struct walk_ctx w = { .server = fn, .arg = arg };
	char sql[sizeof(server_columns) + 32];
	sqlite3_stmt *st;
	int ret;

	snprintf(sql, sizeof(sql), "%sWHERE id = ?1", server_columns);
	ret = settings_prepare(s, sql, &st, err);
	if (ret < 0)
		return ret;
	sqlite3_bind_int64(st, 1, id);
	ret = settings_walk(s, st, server_row, &w, err);
	if (ret == 0 && w.rows == 0) {
		err_set(err, "no server configuration %lld", (long long)id);
		ret = -ENOENT;
	}
	return ret;
}

int settings_server_list(struct settings *s, settings_server_fn *fn, void *arg, char *err)
{
	struct walk_ctx w = { .server = fn, .arg = arg };
	char sql[sizeof(server_columns) + 32];
	sqlite3_stmt *st;
	int ret;

	snprintf(sql, sizeof(sql), "%sORDER BY id", server_columns);
	ret = settings_prepare(s, sql, &st, err);
	return ret < 0 ? ret : settings_walk(s, st, server_row, &w, err);
}

/* ---- favorite_servers ---- */

int settings_favorite_add(struct settings *s, const struct settings_favorite *f, char *err)
{
	char when[NOW_ISO8601_LEN];
	sqlite3_stmt *st;
	int ret;

	if (!settings_word_valid(f->server_id, SETTINGS_NAME_MAX)) {
		err_set(err, "server_id `%.80s': must be 1-%d characters of A-Z a-z 0-9 _ . -",
		        f->server_id, SETTINGS_NAME_MAX);
		return -EINVAL;
	}
	if (!check_name("name", f->name, 1, SETTINGS_NAME_MAX, err) ||
	    !check_name("game", f->game, 0, SETTINGS_NAME_MAX, err) ||
	    !check_name("address", f->address, 1, SETTINGS_ADDRESS_MAX, err))
		return -EINVAL;
	ret = settings_prepare(
	    s,
	    "INSERT INTO favorite_servers (server_id, name, game, address, added_at) "
	    "VALUES (?1, ?2, ?3, ?4, ?5)",
	    &st, err);
	if (ret < 0)
		return ret;
	settings_bind_text(st, 1, f->server_id);
	settings_bind_text(st, 2, f->name);
	settings_bind_text(st, 3, f->game);
	settings_bind_text(st, 4, f->address);
	settings_bind_text(st, 5, settings_now(when));
	ret = settings_step_done(s, st, NULL, err);
	if (ret == -EEXIST)
		err_set(err, "a favourite with server_id `%s' already exists", f->server_id);
	return ret;
}

int settings_favorite_delete(struct settings *s, const char *server_id, char *err)
{
	return delete_row(s, "DELETE FROM favorite_servers WHERE server_id = ?1", server_id, 0,
	                  "favourite", err);
}

static bool favorite_row(sqlite3_stmt *st, void *arg)
{
	struct walk_ctx *w = arg;
	struct settings_favorite r = {
		.server_id = settings_col(st, 0),
		.name = settings_col(st, 1),
		.game = settings_col(st, 2),
		.address = settings_col(st, 3),
		.added_at = settings_col(st, 4),
	};

	w->rows++;
	return w->favorite(w->arg, &r);
}

int settings_favorite_list(struct settings *s, settings_favorite_fn *fn, void *arg, char *err)
{
	struct walk_ctx w = { .favorite = fn, .arg = arg };
	sqlite3_stmt *st;
	int ret = settings_prepare(
	    s,
	    "SELECT server_id, name, game, address, added_at FROM favorite_servers "
	    "ORDER BY rowid",
	    &st, err);

	return ret < 0 ? ret : settings_walk(s, st, favorite_row, &w, err);
}

/* ---- game_profiles ---- */

int settings_profile_put(struct settings *s, const char *name, const char *game,
                         const json_t *profile, bool *created, char *err)
{
	char when[NOW_ISO8601_LEN], *text;
	sqlite3_stmt *st;
	int ret, n = 0;

	if (!check_name("name", name, 1, SETTINGS_NAME_MAX, err) ||
	    !check_name("game", game, 0, SETTINGS_NAME_MAX, err))
		return -EINVAL;
	text = object_text("profile", profile, err);
	if (!text)
		return -EINVAL;
	settings_now(when);
	ret = settings_prepare(s,
	                       "UPDATE game_profiles SET game = ?2, profile = ?3, updated_at = ?4 "
	                       "WHERE name = ?1",
	                       &st, err);
	if (ret == 0) {
		settings_bind_text(st, 1, name);
		settings_bind_text(st, 2, game);
		settings_bind_text(st, 3, text);
		settings_bind_text(st, 4, when);
		ret = settings_step_done(s, st, &n, err);
	}
	if (ret == 0 && n == 0) {
		ret =
		    settings_prepare(s,
		                     "INSERT INTO game_profiles (name, game, profile, created_at, "
		                     "updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
		                     &st, err);
		if (ret == 0) {
			settings_bind_text(st, 1, name);
			settings_bind_text(st, 2, game);
			settings_bind_text(st, 3, text);
			settings_bind_text(st, 4, when);
			ret = settings_step_done(s, st, NULL, err);
		}
	}
	free(text);
	if (ret == 0 && created)
		*created = n == 0;
	return ret;
}

static bool profile_row(sqlite3_stmt *st, void *arg)
{
	struct walk_ctx *w = arg;
	struct settings_profile r = {
		.id = sqlite3_column_int64(st, 0),
		.name = settings_col(st, 1),
		.game = settings_col(st, 2),
		.profile = settings_col(st, 3),
		.created_at = settings_col(st, 4),
		.updated_at = settings_col(st, 5),
	};

	w->rows++;
	return w->profile(w->arg, &r);
}

int settings_profile_get(struct settings *s, const char *name, settings_profile_fn *fn, void *arg,
                         char *err)
{
	struct walk_ctx w = { .profile = fn, .arg = arg };
	sqlite3_stmt *st;
	int ret = settings_prepare(s,
	                           "SELECT id, name, game, profile, created_at, updated_at FROM "
	                           "game_profiles WHERE name = ?1",
	                           &st, err);

	if (ret < 0)
		return ret;
	settings_bind_text(st, 1, name);
	ret = settings_walk(s, st, profile_row, &w, err);
	if (ret == 0 && w.rows == 0) {
		err_set(err, "no game profile `%.80s'", name);
		ret = -ENOENT;
	}
	return ret;
}

int settings_profile_delete(struct settings *s, const char *name, char *err)
{
	return delete_row(s, "DELETE FROM game_profiles WHERE name = ?1", name, 0, "game profile",
	                  err);
}

int settings_profile_list(struct settings *s, settings_profile_fn *fn, void *arg, char *err)
{
	struct walk_ctx w = { .profile = fn, .arg = arg };
	sqlite3_stmt *st;
	int ret = settings_prepare(s,
	                           "SELECT id, name, game, profile, created_at, updated_at FROM "
	                           "game_profiles ORDER BY name",
	                           &st, err);

	return ret < 0 ? ret : settings_walk(s, st, profile_row, &w, err);
}
