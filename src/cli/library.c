/* library.c - `lanrage favorites` and `lanrage profiles`: the servers and per-game profiles kept.
 */
#include "cli/library.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/table.h"

static void favorites_usage(void)
{
	fprintf(stderr, "Usage: lanrage favorites                        (the list)\n"
	                "       lanrage favorites add NAME ADDRESS [GAME]\n"
	                "       lanrage favorites remove ID\n");
}

static void profiles_usage(void)
{
	fprintf(stderr,
	        "Usage: lanrage profiles                         (the list)\n"
	        "       lanrage profiles show NAME\n"
	        "       lanrage profiles set NAME JSON-OBJECT [GAME]   (- reads it from stdin)\n"
	        "       lanrage profiles remove NAME\n");
}

static const char *str(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s && *s ? s : "-";
}

/* "/api/..." + name with everything but A-Z a-z 0-9 - . _ ~ percent-encoded. */
static char *item_path(const char *prefix, const char *name)
{
	size_t n = strlen(prefix);
	char *p = malloc(n + 3 * strlen(name) + 1), *o;

	if (!p)
		return NULL;
	memcpy(p, prefix, n);
	o = p + n;
	for (const unsigned char *s = (const unsigned char *)name; *s; s++) {
		if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9') || strchr("-._~", *s))
			*o++ = (char)*s;
		else
			o += sprintf(o, "%%%02X", *s);
	}
	*o = '\0';
	return p;
}

/* GET path; the answer, holding an array under key, or NULL with *rc set (printed). */
static json_t *get_list(struct client *c, const char *path, const char *key, int *rc)
{
	json_t *r = NULL;

	*rc = client_call(c, "GET", path, NULL, CLIENT_TIMEOUT_MS, &r);
	if (*rc != EXIT_OK) {
		json_decref(r);
		return NULL;
	}
	if (!json_is_array(json_object_get(r, key))) {
		fprintf(stderr, "lanrage: the daemon's answer has no %s list\n", key);
		*rc = EXIT_REFUSED;
		json_decref(r);
		return NULL;
	}
	return r;
}

/* The list under key at path as a table of n columns (or as it came, with --json). */
static int list_table(struct client *c, const char *path, const char *key, const char *const *keys,
                      const char *const *heads, int n, const char *empty)
{
	int rc;
	json_t *r = get_list(c, path, key, &rc);
	const json_t *list = json_object_get(r, key);

	if (!r || client_print_raw(c)) {
		json_decref(r);
		return rc;
	}
	if (json_array_size(list) == 0)
		printf("%s\n", empty);
	else
		table_print(list, keys, heads, n);
	json_decref(r);
	return EXIT_OK;
}

static int list_favorites(struct client *c)
{
	static const char *const keys[] = { "server_id", "name", "game", "address" };
	static const char *const heads[] = { "ID", "NAME", "GAME", "ADDRESS" };

	return list_table(c, "/api/favorites", "favorites", keys, heads, 4,
	                  "No favourite servers yet (lanrage favorites add NAME ADDRESS [GAME]).");
}

static int add_favorite(struct client *c, const char *name, const char *address, const char *game)
{
	json_t *body = json_pack("{s:s, s:s}", "name", name, "address", address), *r = NULL;
	int rc;

	if (!body)
		return EXIT_REFUSED;
	if (game)
		json_object_set_new(body, "game", json_string(game));
	rc = client_call(c, "POST", "/api/favorites", body, CLIENT_TIMEOUT_MS, &r);
	json_decref(body);
	if (rc == EXIT_OK && !client_print_raw(c))
		printf("Added \"%s\" (%s) as %s.\n", str(r, "name"), str(r, "address"),
		       str(r, "server_id"));
	json_decref(r);
	return rc;
}

/* DELETE prefix + name; prints what on success. */
static int remove_item(struct client *c, const char *prefix, const char *name, const char *what)
{
	char *path = item_path(prefix, name);
	json_t *r = NULL;
	int rc;

	if (!path)
		return EXIT_REFUSED;
	rc = client_call(c, "DELETE", path, NULL, CLIENT_TIMEOUT_MS, &r);
	free(path);
	if (rc == EXIT_OK && !client_print_raw(c))
		printf("Removed %s %s.\n", what, name);
	json_decref(r);
	return rc;
}

int favorites_command(struct client *c, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";

	if (argc == 1)
		return list_favorites(c);
	if (strcmp(sub, "add") == 0 && (argc == 4 || argc == 5))
		return add_favorite(c, argv[2], argv[3], argc == 5 ? argv[4] : NULL);
	if (strcmp(sub, "remove") == 0 && argc == 3)
		return remove_item(c, "/api/favorites/", argv[2], "favourite");
	favorites_usage();
	return EXIT_USAGE;
}

static int list_profiles(struct client *c)
{
	static const char *const keys[] = { "name", "game", "updated_at" };
	static const char *const heads[] = { "NAME", "GAME", "UPDATED" };

	return list_table(c, "/api/game-profiles", "profiles", keys, heads, 3,
	                  "No game profiles yet (lanrage profiles set NAME JSON-OBJECT [GAME]).");
}

static int show_profile(struct client *c, const char *name)
{
	const json_t *item, *found = NULL;
	bool raw = c->json; /* --json: the whole item, not the list that came */
	size_t i;
	int rc;
	json_t *r = get_list(c, "/api/game-profiles", "profiles", &rc);
	char *text;

	if (!r)
		return rc;
	json_array_foreach(json_object_get(r, "profiles"), i, item)
	{
		if (strcmp(str(item, "name"), name) == 0)
			found = item;
	}
	if (!found) {
		fprintf(stderr, "lanrage: no game profile \"%s\" (lanrage profiles lists them)\n",
		        name);
		json_decref(r);
		return EXIT_REFUSED;
	}
	text = json_dumps(raw ? found : json_object_get(found, "profile"),
	                  raw ? JSON_COMPACT : JSON_INDENT(2) | JSON_SORT_KEYS);
	printf("%s\n", text ? text : "{}");
	free(text);
	json_decref(r);
	return EXIT_OK;
}

static int set_profile(struct client *c, const char *name, const char *text, const char *game)
{
	json_error_t err;
	json_t *profile =
	    strcmp(text, "-") == 0 ? json_loadf(stdin, 0, &err) : json_loads(text, 0, &err);
	json_t *body, *r = NULL;
	int rc;

	if (!profile || !json_is_object(profile)) {
		if (profile)
			fprintf(stderr, "lanrage: the profile must be a JSON object ({...})\n");
		else
			fprintf(stderr, "lanrage: the profile is not JSON: %s (at character %d)\n",
			        err.text, err.position);
		json_decref(profile);
		return EXIT_USAGE;
	}
	body = json_pack("{s:s, s:o}", "name", name, "profile", profile);
	if (!body)
		return EXIT_REFUSED;
	if (game)
		json_object_set_new(body, "game", json_string(game));
	rc = client_call(c, "POST", "/api/game-profiles", body, CLIENT_TIMEOUT_MS, &r);
	json_decref(body);
	if (rc == EXIT_OK && !client_print_raw(c))
		printf("Saved game profile \"%s\".\n", str(r, "name"));
	json_decref(r);
	return rc;
}

int profiles_command(struct client *c, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";

	if (argc == 1)
		return list_profiles(c);
	if (strcmp(sub, "show") == 0 && argc == 3)
		return show_profile(c, argv[2]);
	if (strcmp(sub, "set") == 0 && (argc == 4 || argc == 5))
		return set_profile(c, argv[2], argv[3], argc == 5 ? argv[4] : NULL);
	if (strcmp(sub, "remove") == 0 && argc == 3)
		return remove_item(c, "/api/game-profiles/", argv[2], "game profile");
	profiles_usage();
	return EXIT_USAGE;
}
