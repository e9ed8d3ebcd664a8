/* setting.c - `lanrage settings`: what lanraged runs with, where each value comes from; changes. */
#include "cli/setting.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/table.h"

static void usage(void)
{
	fprintf(stderr, "Usage: lanrage settings                  (all: value and source)\n"
	                "       lanrage settings get KEY\n"
	                "       lanrage settings set KEY VALUE    (stored in lanraged's database)\n"
	                "       lanrage settings unset KEY        (back to the default)\n");
}

/* A JSON scalar as text: strings as they are, numbers in decimal, null as "-". */
static void text_of(const json_t *v, char *out, size_t outsz)
{
	if (json_is_string(v))
		snprintf(out, outsz, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(out, outsz, "%lld", (long long)json_integer_value(v));
	else
		snprintf(out, outsz, "-");
	if (!out[0])
		snprintf(out, outsz, "\"\"");
}

/* One row: key, value, source; width: the value column's. */
static void print_one(const char *key, const json_t *s, int width)
{
	const json_t *value = json_object_get(s, "value");
	const json_t *stored = json_object_get(s, "stored");
	const char *source = json_string_value(json_object_get(s, "source"));
	char v[512], st[512];

	text_of(value ? value : stored, v, sizeof(v));
	table_cell(key, 17);
	table_cell(v, width + 2);
	printf("%s", source ? source : "database");
	if (!json_is_null(stored) && source && strcmp(source, "database") != 0) {
		text_of(stored, st, sizeof(st));
		printf(" (stored: %s, overridden)", st);
	}
	printf("\n");
}

static int show_all(struct client *c)
{
	const json_t *all, *s;
	const char *key;
	json_t *r = NULL;
	char text[512];
	int width = 5;
	int rc = client_call(c, "GET", "/api/settings", NULL, CLIENT_TIMEOUT_MS, &r);

	if (rc != EXIT_OK || client_print_raw(c)) {
		json_decref(r);
		return rc;
	}
	all = json_object_get(r, "settings");
	json_object_foreach((json_t *)all, key, s)
	{
		const json_t *v = json_object_get(s, "value");

		text_of(v ? v : json_object_get(s, "stored"), text, sizeof(text));
		width = table_width(text) > width ? table_width(text) : width;
	}
	table_cell("KEY", 17);
	table_cell("VALUE", width + 2);
	printf("SOURCE\n");
	json_object_foreach((json_t *)all, key, s)
	{
		print_one(key, s, width);
	}
	json_decref(r);
	return EXIT_OK;
}

static int get_one(struct client *c, const char *key)
{
	const json_t *s;
	json_t *r = NULL;
	char v[4096];
	int rc = client_call(c, "GET", "/api/settings", NULL, CLIENT_TIMEOUT_MS, &r);

	if (rc != EXIT_OK) {
		json_decref(r);
		return rc;
	}
	s = json_object_get(json_object_get(r, "settings"), key);
	if (!s) {
		fprintf(stderr, "lanrage: no setting `%s' (lanrage settings lists them)\n", key);
		json_decref(r);
		return EXIT_REFUSED;
	}
	if (c->json) {
		char *text = json_dumps(s, JSON_COMPACT);

		printf("%s\n", text ? text : "{}");
		free(text);
	} else {
		text_of(json_object_get(s, "value") ? json_object_get(s, "value")
		                                    : json_object_get(s, "stored"),
		        v, sizeof(v));
		printf("%s\n", v);
	}
	json_decref(r);
	return EXIT_OK;
}

static int change(struct client *c, const char *key, const char *value)
{
	json_t *body = json_object(), *r = NULL;
	const json_t *s;
	const char *source;
	int rc;

	json_object_set_new(body, key, value ? json_string(value) : json_null());
	rc = client_call(c, "PATCH", "/api/settings", body, CLIENT_TIMEOUT_MS, &r);
	json_decref(body);
	if (rc != EXIT_OK || client_print_raw(c)) {
		json_decref(r);
		return rc;
	}
	s = json_object_get(json_object_get(r, "settings"), key);
	source = json_string_value(json_object_get(s, "source"));
	if (value)
		printf("%s stored in the settings database.\n", key);
	else
		printf("%s removed from the settings database.\n", key);
	if (s) {
		char v[512];

		text_of(json_object_get(s, "value"), v, sizeof(v));
		printf("%s = %s (source: %s)\n", key, v, source ? source : "?");
	}
	if (source && (strcmp(source, "file") == 0 || strcmp(source, "flag") == 0))
		printf("Note: the %s sets %s, and wins over the database.\n",
		       strcmp(source, "file") == 0 ? "config file" : "command line of lanraged",
		       key);
	json_decref(r);
	return EXIT_OK;
}

int setting_command(struct client *c, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";

	if (argc == 1)
		return show_all(c);
	if (strcmp(sub, "get") == 0 && argc == 3)
		return get_one(c, argv[2]);
	if (strcmp(sub, "set") == 0 && argc == 4)
		return change(c, argv[2], argv[3]);
	if (strcmp(sub, "unset") == 0 && argc == 3)
		return change(c, argv[2], NULL);
	usage();
	return EXIT_USAGE;
}
