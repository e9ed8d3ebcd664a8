/* test_settings.c - the settings database: typed values, the other tables, schema, bad files. */
#include "test.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/settings.h"
#include "util/err.h"

static char dir[64], path[128];
static struct settings *s;

static int setup(void **state)
{
	errmsg err;

	strcpy(dir, "/tmp/lanrage-test-settings-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/settings.db", dir);
	if (settings_open(&s, path, err) < 0) {
		print_error("%s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	settings_close(s);
	s = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void test_typed_round_trips(void **state)
{
	static const int64_t ints[] = { 0, -1, 1412, INT64_MIN, INT64_MAX };
	char text[64];
	int64_t n;
	bool b;
	json_t *j, *back;
	errmsg err;

	assert_int_equal(settings_set_string(s, "peer_name", "Bob's PC ✓", err), 0);
	assert_int_equal(settings_get_string(s, "peer_name", text, sizeof(text), err), 0);
	assert_string_equal(text, "Bob's PC ✓");
	assert_int_equal(settings_set_string(s, "empty", "", err), 0);
	assert_int_equal(settings_get_string(s, "empty", text, sizeof(text), err), 0);
	assert_string_equal(text, "");
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		assert_int_equal(settings_set_int(s, "mtu", ints[i], err), 0);
		assert_int_equal(settings_get_int(s, "mtu", &n, err), 0);
		assert_true(n == ints[i]);
	}
	assert_int_equal(settings_set_bool(s, "ui.dark", true, err), 0);
	assert_int_equal(settings_get_bool(s, "ui.dark", &b, err), 0);
	assert_true(b);
	assert_int_equal(settings_set_bool(s, "ui.dark", false, err), 0);
	assert_int_equal(settings_get_bool(s, "ui.dark", &b, err), 0);
	assert_false(b);
	j = json_pack("{s:[i,i], s:{s:s}, s:n}", "ports", 27015, 27016, "x", "y", "z", "z");
	assert_int_equal(settings_set_json(s, "window", j, err), 0);
	assert_int_equal(settings_get_json(s, "window", &back, err), 0);
	assert_true(json_equal(j, back));
	json_decref(back);
	json_decref(j);
	/* Any JSON value, not only objects. */
	j = json_string("just text");
	assert_int_equal(settings_set_json(s, "note", j, err), 0);
	assert_int_equal(settings_get_json(s, "note", &back, err), 0);
	assert_true(json_equal(j, back));
	json_decref(back);
	json_decref(j);
}

static void test_types_are_kept(void **state)
{
	enum setting_type type;
	char text[64], *raw;
	int64_t n;
	errmsg err;

	assert_int_equal(settings_set_int(s, "mtu", 1400, err), 0);
	assert_int_equal(settings_get_string(s, "mtu", text, sizeof(text), err), -EINVAL);
	assert_non_null(strstr(err, "stored as int, not string"));
	/* Setting another type replaces the value and its type. */
	assert_int_equal(settings_set_string(s, "mtu", "big", err), 0);
	assert_int_equal(settings_get_int(s, "mtu", &n, err), -EINVAL);
	assert_int_equal(settings_get(s, "mtu", &type, &raw, err), 0);
	assert_int_equal(type, SETTING_STRING);
	assert_string_equal(raw, "big");
	free(raw);
	/* JSON is stored in its compact form. */
	assert_int_equal(settings_set(s, "j", SETTING_JSON, "{ \"a\" : [ 1 , 2 ] }", err), 0);
	assert_int_equal(settings_get(s, "j", &type, &raw, err), 0);
	assert_string_equal(raw, "{\"a\":[1,2]}");
	free(raw);
	assert_int_equal(settings_get_int(s, "absent", &n, err), -ENOENT);
	assert_non_null(strstr(err, "absent"));
	assert_int_equal(settings_set_string(s, "long", "0123456789", err), 0);
	assert_int_equal(settings_get_string(s, "long", text, 5, err), -EOVERFLOW);
}

static void test_bad_values(void **state)
{
	static const struct {
		const char *key;
		enum setting_type type;
		const char *text;
		const char *why;
	} bad[] = {
		{ "", SETTING_STRING, "x", "setting key" },
		{ "a b", SETTING_STRING, "x", "setting key" },
		{ "a/b", SETTING_STRING, "x", "setting key" },
		{ "n", SETTING_INT, "12abc", "not an integer" },
		{ "n", SETTING_INT, "", "not an integer" },
		{ "n", SETTING_INT, "99999999999999999999", "not an integer" },
		{ "b", SETTING_BOOL, "yes", "not true or false" },
		{ "j", SETTING_JSON, "{", "not JSON" },
		{ "s", SETTING_STRING, "line\nbreak", "printable" },
		{ "s", SETTING_STRING, "\xff\xfe", "printable" },
	};
	char key[80];
	errmsg err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(settings_set(s, bad[i].key, bad[i].type, bad[i].text, err),
		                 -EINVAL);
		if (!strstr(err, bad[i].why))
			print_error("case %zu: %s\n", i, err);
		assert_non_null(strstr(err, bad[i].why));
	}
	memset(key, 'k', 65);
	key[65] = '\0';
	assert_int_equal(settings_set_string(s, key, "x", err), -EINVAL);
	key[64] = '\0';
	assert_int_equal(settings_set_string(s, key, "x", err), 0);
}

struct collect {
	char keys[8][32];
	int n, stop_after;
};

static bool collect(void *arg, const struct setting_row *row)
{
	struct collect *c = arg;

	snprintf(c->keys[c->n++], sizeof(c->keys[0]), "%s=%s:%s", row->key,
	         setting_type_name(row->type), row->text);
	assert_true(strlen(row->updated_at) >= 20);
	return c->n != c->stop_after;
}

static void test_list_delete_transactions(void **state)
{
	struct collect c = { .n = 0 };
	errmsg err;
	bool b;

	assert_int_equal(settings_set_string(s, "zeta", "z", err), 0);
	assert_int_equal(settings_set_int(s, "alpha", 1, err), 0);
	assert_int_equal(settings_set_bool(s, "mid", true, err), 0);
	assert_int_equal(settings_list(s, collect, &c, err), 0);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.keys[0], "alpha=int:1");
	assert_string_equal(c.keys[1], "mid=bool:true");
	assert_string_equal(c.keys[2], "zeta=string:z");
	c = (struct collect){ .stop_after = 1 };
	assert_int_equal(settings_list(s, collect, &c, err), 0);
	assert_int_equal(c.n, 1);

	assert_int_equal(settings_delete(s, "mid", err), 0);
	assert_int_equal(settings_delete(s, "mid", err), -ENOENT);
	assert_int_equal(settings_get_bool(s, "mid", &b, err), -ENOENT);

	/* Rolled back: as if never written.  Committed: there. */
	assert_int_equal(settings_begin(s, err), 0);
	assert_int_equal(settings_set_bool(s, "mid", true, err), 0);
	settings_rollback(s);
	assert_int_equal(settings_get_bool(s, "mid", &b, err), -ENOENT);
	assert_int_equal(settings_begin(s, err), 0);
	assert_int_equal(settings_set_bool(s, "mid", true, err), 0);
	assert_int_equal(settings_commit(s, err), 0);
	assert_int_equal(settings_get_bool(s, "mid", &b, err), 0);
}

struct rows {
	int n;
	char text[8][160];
};

static bool server_row(void *arg, const struct settings_server *r)
{
	struct rows *rows = arg;

	snprintf(rows->text[rows->n++], sizeof(rows->text[0]), "%lld %s %s %d %s", (long long)r->id,
	         r->name, r->mode, r->enabled, r->config);
	return true;
}

static void test_server_configs(void **state)
{
	json_t *cfg = json_pack("{s:s}", "url", "http://198.51.100.1:8080");
	struct rows rows = { 0 };
	int64_t id1, id2;
	errmsg err;

	assert_int_equal(settings_server_add(s, "Home", "remote", true, cfg, &id1, err), 0);
	assert_int_equal(settings_server_add(s, "Relay EU", "relay", false, cfg, &id2, err), 0);
	assert_true(id2 > id1);
	assert_int_equal(settings_server_list(s, server_row, &rows, err), 0);
	assert_int_equal(rows.n, 2);
	assert_non_null(
	    strstr(rows.text[0], "Home remote 1 {\"url\":\"http://198.51.100.1:8080\"}"));
	assert_non_null(strstr(rows.text[1], "Relay EU relay 0"));
	assert_int_equal(settings_server_update(s, id1, "Home 2", "remote", false, cfg, err), 0);
	rows.n = 0;
	assert_int_equal(settings_server_get(s, id1, server_row, &rows, err), 0);
	assert_int_equal(rows.n, 1);
	assert_non_null(strstr(rows.text[0], "Home 2 remote 0"));
	assert_int_equal(settings_server_delete(s, id1, err), 0);
	assert_int_equal(settings_server_delete(s, id1, err), -ENOENT);
	assert_int_equal(settings_server_get(s, id1, server_row, &rows, err), -ENOENT);
	assert_int_equal(settings_server_update(s, id1, "x", "remote", true, cfg, err), -ENOENT);
	assert_int_equal(settings_server_add(s, "x", "no spaces", true, cfg, NULL, err), -EINVAL);
	assert_non_null(strstr(err, "mode"));
	assert_int_equal(settings_server_add(s, "", "remote", true, cfg, NULL, err), -EINVAL);
	assert_non_null(strstr(err, "name"));
	json_decref(cfg);
	cfg = json_array();
	assert_int_equal(settings_server_add(s, "x", "remote", true, cfg, NULL, err), -EINVAL);
	assert_non_null(strstr(err, "config: must be a JSON object"));
	json_decref(cfg);
}

static bool favorite_row(void *arg, const struct settings_favorite *f)
{
	struct rows *rows = arg;

	snprintf(rows->text[rows->n++], sizeof(rows->text[0]), "%s|%s|%s|%s", f->server_id, f->name,
	         f->game, f->address);
	assert_true(strlen(f->added_at) >= 20);
	return true;
}

static void test_favorites(void **state)
{
	struct settings_favorite f = { "srv2", "Zed's", "quake3", "203.0.113.5:27960", NULL };
	struct rows rows = { 0 };
	errmsg err;

	assert_int_equal(settings_favorite_add(s, &f, err), 0);
	assert_int_equal(settings_favorite_add(s, &f, err), -EEXIST);
	assert_non_null(strstr(err, "srv2"));
	f = (struct settings_favorite){ "srv1", "Amy's", "", "10.66.0.4:7777", NULL };
	assert_int_equal(settings_favorite_add(s, &f, err), 0);
	/* In the order they were added. */
	assert_int_equal(settings_favorite_list(s, favorite_row, &rows, err), 0);
	assert_int_equal(rows.n, 2);
	assert_string_equal(rows.text[0], "srv2|Zed's|quake3|203.0.113.5:27960");
	assert_string_equal(rows.text[1], "srv1|Amy's||10.66.0.4:7777");
	assert_int_equal(settings_favorite_delete(s, "srv2", err), 0);
	assert_int_equal(settings_favorite_delete(s, "srv2", err), -ENOENT);
	f.server_id = "bad id";
	assert_int_equal(settings_favorite_add(s, &f, err), -EINVAL);
	assert_non_null(strstr(err, "server_id"));
	f.server_id = "ok";
	f.address = "";
	assert_int_equal(settings_favorite_add(s, &f, err), -EINVAL);
	assert_non_null(strstr(err, "address"));
}

static bool profile_row(void *arg, const struct settings_profile *p)
{
	struct rows *rows = arg;

	snprintf(rows->text[rows->n++], sizeof(rows->text[0]), "%s|%s|%s|%d", p->name, p->game,
	         p->profile, strcmp(p->created_at, p->updated_at) == 0);
	return true;
}

static void test_game_profiles(void **state)
{
	json_t *p = json_pack("{s:[i]}", "ports", 27015);
	struct rows rows = { 0 };
	bool created;
	errmsg err;

	assert_int_equal(settings_profile_put(s, "Counter", "cs", p, &created, err), 0);
	assert_true(created);
	assert_int_equal(settings_profile_put(s, "Alpha", "", p, &created, err), 0);
	json_decref(p);
	usleep(2000); /* updated_at moves on (ms resolution) */
	p = json_pack("{s:[i]}", "ports", 27016);
	assert_int_equal(settings_profile_put(s, "Counter", "cs2", p, &created, err), 0);
	assert_false(created);
	assert_int_equal(settings_profile_list(s, profile_row, &rows, err), 0);
	assert_int_equal(rows.n, 2);
	assert_string_equal(rows.text[0], "Alpha||{\"ports\":[27015]}|1");
	assert_string_equal(rows.text[1], "Counter|cs2|{\"ports\":[27016]}|0");
	rows.n = 0;
	assert_int_equal(settings_profile_get(s, "Counter", profile_row, &rows, err), 0);
	assert_int_equal(rows.n, 1);
	assert_int_equal(settings_profile_delete(s, "Counter", err), 0);
	assert_int_equal(settings_profile_get(s, "Counter", profile_row, &rows, err), -ENOENT);
	assert_int_equal(settings_profile_delete(s, "Counter", err), -ENOENT);
	json_decref(p);
	p = json_integer(3);
	assert_int_equal(settings_profile_put(s, "x", "", p, NULL, err), -EINVAL);
	json_decref(p);
}

static int user_version(void)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int v = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void set_user_version(int v)
{
	char sql[64];
	sqlite3 *db;

	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void test_schema_and_mode(void **state)
{
	char wal[160];
	struct stat st;
	errmsg err;

	assert_int_equal(user_version(), SETTINGS_SCHEMA_VERSION);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(settings_set_int(s, "mtu", 1, err), 0);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	assert_int_equal(stat(wal, &st), 0); /* WAL mode */
	assert_int_equal(st.st_mode & 0777, 0600);
	settings_close(s);
	s = NULL;

	/* Reopening keeps the data and the version. */
	assert_int_equal(settings_open(&s, path, err), 0);
	assert_int_equal(user_version(), SETTINGS_SCHEMA_VERSION);
	settings_close(s);
	s = NULL;

	/* A file from a newer lanraged is refused, not damaged. */
	set_user_version(SETTINGS_SCHEMA_VERSION + 98);
	assert_int_equal(settings_open(&s, path, err), -ENOTSUP);
	assert_non_null(strstr(err, "schema version 99, newer than this lanraged understands (1)"));
	assert_int_equal(user_version(), SETTINGS_SCHEMA_VERSION + 98);

	/* A file readable by others is tightened to 0600. */
	set_user_version(SETTINGS_SCHEMA_VERSION);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(settings_open(&s, path, err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_corrupt_file(void **state)
{
	char bad[160];
	struct settings *t;
	FILE *f;
	errmsg err;

	snprintf(bad, sizeof(bad), "%s/garbage.db", dir);
	f = fopen(bad, "w");
	assert_non_null(f);
	for (int i = 0; i < 200; i++)
		fputs("this is not an SQLite database, just text. ", f);
	fclose(f);
	assert_int_equal(settings_open(&t, bad, err), -EBADMSG);
	assert_null(t);
	assert_non_null(strstr(err, "is not a database or is corrupt"));
	assert_non_null(strstr(err, bad));

	snprintf(bad, sizeof(bad), "%s/no/such/dir/settings.db", dir);
	assert_int_equal(settings_open(&t, bad, err), -ENOENT);
	assert_non_null(strstr(err, "cannot be created"));
}

/*
 * A database the daemon's user may read but not write.  Root writes anything,
 * so as root a child process drops to nobody to see what a user would.
 */
static void test_read_only_file(void **state)
{
	struct settings *t;
	errmsg err;
	pid_t pid;
	int status;

	settings_close(s);
	s = NULL;
	assert_int_equal(chmod(dir, 0755), 0);
	assert_int_equal(chmod(path, 0444), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int ret;

		if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
			_exit(10);
		ret = settings_open(&t, path, err);
		if (ret == -EROFS && strstr(err, "is read-only") && strstr(err, path) && !t)
			_exit(0);
		fprintf(stderr, "settings_open: %d %s\n", ret, err);
		_exit(11);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(settings_open(&s, path, err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_typed_round_trips, setup, teardown),
		cmocka_unit_test_setup_teardown(test_types_are_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_delete_transactions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_configs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_favorites, setup, teardown),
		cmocka_unit_test_setup_teardown(test_game_profiles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema_and_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_only_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
