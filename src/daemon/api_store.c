/* api_store.c - the local API's routes over the settings database: settings, favourites, game
 * profiles. */
#include "daemon/api_impl.h"

#include <errno.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/rand.h"
#include "daemon/api_body.h"
#include "daemon/config.h"
#include "daemon/settings.h"
#include "util/err.h"
#include "util/log.h"

static bool store_open(struct api *api, struct evhttp_request *evreq)
{
	if (!api->settings)
		api_reply_error(evreq, 503, "the settings database is not open");
	return api->settings != NULL;
}

/* A stored setting as JSON (numbers for numeric keys); JSON null when none. */
static int stored_json(struct api *api, enum config_key k, json_t **out, char *err)
{
	enum setting_type type;
	char *text;
	int ret = settings_get(api->settings, config_key_name(k), &type, &text, err);
	json_int_t n;
	char *end;

	if (ret == -ENOENT) {
		*out = json_null();
		return 0;
	}
	if (ret < 0)
		return ret;
	n = strtoll(text, &end, 10);
	*out = type == SETTING_INT && !*end ? json_integer(n) : json_string(text);
	free(text);
	return 0;
}

/* {"settings": {key: {"value", "source", "stored"}}} for the keys in mask (all: ~0). */
static json_t *settings_view(struct api *api, uint32_t mask, char *err)
{
	const struct daemon_config *cfg =
	    api->backend.config ? api->backend.config(api->backend.ctx) : NULL;
	json_t *all = json_object();

	for (unsigned k = 0; all && k < CONFIG_KEY_COUNT; k++) {
		json_t *one, *stored;

		if (!(mask & (1u << k)))
			continue;
		if (stored_json(api, (enum config_key)k, &stored, err) < 0) {
			json_decref(all);
			return NULL;
		}
		one = json_pack("{s:o, s:b}", "stored", stored, "writable",
		                config_key_storable((enum config_key)k));
		if (one && cfg) {
			json_object_set_new(one, "value", config_get_json(cfg, (enum config_key)k));
			json_object_set_new(one, "source",
			                    json_string(config_source_name(cfg->source[k])));
		}
		json_object_set_new(all, config_key_name((enum config_key)k), one);
	}
	return all ? json_pack("{s:o}", "settings", all) : NULL;
}

static void settings_patch(struct api *api, struct evhttp_request *evreq, const json_t *body)
{
	const struct daemon_config *cur =
	    api->backend.config ? api->backend.config(api->backend.ctx) : NULL;
	struct api_setting_change *changes = calloc(CONFIG_KEY_COUNT, sizeof(*changes));
	struct daemon_config scratch;
	uint32_t mask = 0;
	json_t *view;
	errmsg err;
	size_t n;
	int ret = 0;

	if (!changes) {
		api_reply_error(evreq, 503, "out of memory");
		return;
	}
	if (cur)
		scratch = *cur;
	else
		config_default(&scratch);
	if (!api_body_settings(body, &scratch, changes, &n, err)) {
		api_reply_error(evreq, 400, "%s", err);
		goto out;
	}
	ret = settings_begin(api->settings, err);
	for (size_t i = 0; ret == 0 && i < n; i++) {
		const char *key = config_key_name(changes[i].key);

		if (changes[i].remove) {
			ret = settings_delete(api->settings, key, err);
			ret = ret == -ENOENT ? 0 : ret;
		} else {
			ret = settings_set(api->settings, key,
			                   config_key_numeric(changes[i].key) ? SETTING_INT
			                                                      : SETTING_STRING,
			                   changes[i].text, err);
		}
		mask |= 1u << changes[i].key;
	}
	if (ret == 0)
		ret = settings_commit(api->settings, err);
	else
		settings_rollback(api->settings);
	if (ret < 0) {
		api_reply_error(evreq, 503, "%s", err);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		log_info("api: setting %s %s%s", config_key_name(changes[i].key),
		         changes[i].remove ? "removed" : "= ", changes[i].text);
		if (api->backend.setting_changed)
			api->backend.setting_changed(api->backend.ctx,
			                             config_key_name(changes[i].key));
	}
	view = settings_view(api, mask, err);
	if (view)
		api_reply(evreq, 200, view);
	else
		api_reply_error(evreq, 503, "%s", err);
out:
	free(changes);
}

static bool favorite_json(void *arg, const struct settings_favorite *f)
{
	json_array_append_new(arg, json_pack("{s:s, s:s, s:s, s:s, s:s}", "server_id", f->server_id,
	                                     "name", f->name, "game", f->game, "address",
	                                     f->address, "added_at", f->added_at));
	return true;
}

static bool profile_json(void *arg, const struct settings_profile *p)
{
	json_t *profile = json_loads(p->profile, 0, NULL);

	json_array_append_new(arg,
	                      json_pack("{s:s, s:s, s:o, s:s, s:s}", "name", p->name, "game",
	                                p->game, "profile", profile ? profile : json_object(),
	                                "created_at", p->created_at, "updated_at", p->updated_at));
	return true;
}

/* Lists into {"<name>": [...]}; replies either way. */
static void reply_list(struct evhttp_request *evreq, int status, const char *name, json_t *list,
                       int ret, const char *err)
{
	if (ret < 0 || !list) {
		json_decref(list);
		api_reply_error(evreq, api_status_of(ret), "%s", err);
		return;
	}
	api_reply(evreq, status, json_pack("{s:o}", name, list));
}

void api_store_favorites(struct api *api, struct evhttp_request *evreq, enum method m,
                         const char *param, const json_t *body)
{
	struct api_favorite f;
	json_t *list;
	errmsg err;
	int ret;

	if (!store_open(api, evreq))
		return;
	if (m == M_DELETE) {
		ret = settings_favorite_delete(api->settings, param, err);
		if (ret < 0)
			api_reply_error(evreq, api_status_of(ret), "%s", err);
		else
			api_reply(evreq, 200, json_pack("{s:s}", "deleted", param));
		return;
	}
	if (m == M_POST) {
		if (!api_body_favorite(body, &f, err)) {
			api_reply_error(evreq, 400, "%s", err);
			return;
		}
		if (!f.server_id[0]) {
			uint8_t raw[8];

			rand_bytes(raw, sizeof(raw));
			for (size_t i = 0; i < sizeof(raw); i++)
				snprintf(f.server_id + 2 * i, 3, "%02x", raw[i]);
		}
		ret = settings_favorite_add(api->settings,
		                            &(struct settings_favorite){ .server_id = f.server_id,
		                                                         .name = f.name,
		                                                         .game = f.game,
		                                                         .address = f.address },
		                            err);
		if (ret < 0) {
			api_reply_error(evreq, api_status_of(ret), "%s", err);
			return;
		}
		log_info("api: favourite %s added", f.server_id);
	}
	list = json_array();
	ret = list ? settings_favorite_list(api->settings, favorite_json, list, err) : -ENOMEM;
	if (m == M_POST && ret == 0) {
		json_t *added = NULL, *v;
		size_t i;

		json_array_foreach(list, i, v)
		{
			if (strcmp(json_string_value(json_object_get(v, "server_id")),
			           f.server_id) == 0)
				added = json_incref(v);
		}
		json_decref(list);
		api_reply(evreq, 201, added);
		return;
	}
	reply_list(evreq, 200, "favorites", list, ret, err);
}

void api_store_profiles(struct api *api, struct evhttp_request *evreq, enum method m,
                        const char *param, const json_t *body)
{
	struct api_profile p;
	bool created = false;
	json_t *list;
	errmsg err;
	int ret;

	if (!store_open(api, evreq))
		return;
	if (m == M_DELETE) {
		ret = settings_profile_delete(api->settings, param, err);
		if (ret < 0)
			api_reply_error(evreq, api_status_of(ret), "%s", err);
		else
			api_reply(evreq, 200, json_pack("{s:s}", "deleted", param));
		return;
	}
	list = json_array();
	if (m == M_POST) {
		if (!api_body_profile(body, &p, err)) {
			json_decref(list);
			api_reply_error(evreq, 400, "%s", err);
			return;
		}
		ret = settings_profile_put(api->settings, p.name, p.game, p.profile, &created, err);
		if (ret == 0)
			ret = settings_profile_get(api->settings, p.name, profile_json, list, err);
		if (ret == 0)
			log_info("api: game profile `%s' %s", p.name,
			         created ? "added" : "replaced");
		if (ret < 0 || !list) {
			reply_list(evreq, 0, "", list, ret < 0 ? ret : -ENOMEM, err);
			return;
		}
		api_reply(evreq, created ? 201 : 200, json_incref(json_array_get(list, 0)));
		json_decref(list);
		return;
	}
	ret = list ? settings_profile_list(api->settings, profile_json, list, err) : -ENOMEM;
	reply_list(evreq, 200, "profiles", list, ret, err);
}

void api_store_settings(struct api *api, struct evhttp_request *evreq, enum method m,
                        const json_t *body)
{
	json_t *view;
	errmsg err;

	if (!store_open(api, evreq))
		return;
	if (m == M_PATCH) {
		settings_patch(api, evreq, body);
		return;
	}
	view = settings_view(api, ~0u, err);
	if (view)
		api_reply(evreq, 200, view);
	else
		api_reply_error(evreq, 503, "%s", err);
}
