/* api_body.c - request bodies of the local API: parse, check every field, refuse the unknown. */
#include "daemon/api_body.h"

#include <stdio.h>
#include <string.h>

#include "util/err.h"
#include "util/jsonx.h"
#include "util/utf8.h"

json_t *api_body_parse(const char *data, size_t len, bool empty_ok, char *err)
{
	size_t i = 0;

	if (len > API_BODY_MAX) {
		err_set(err, "request body is %zu bytes, at most %d", len, API_BODY_MAX);
		return NULL;
	}
	while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n'))
		i++;
	if (i == len) {
		if (empty_ok)
			return json_object();
		err_set(err, "request body is empty; expected a JSON object");
		return NULL;
	}
	return jsonx_parse_object(data, len, err);
}

/* Refuses any field not in the NULL-terminated list. */
static bool only_fields(const json_t *body, const char *const *known, char *err)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)body, key, v)
	{
		const char *const *k = known;

		while (*k && strcmp(*k, key) != 0)
			k++;
		if (!*k) {
			err_set(err, "field '%.64s': unknown", key);
			return false;
		}
	}
	return true;
}

/* A printable string field of min..max bytes ("" when optional and absent). */
static bool get_text(const json_t *body, const char *key, char *out, size_t max, size_t min,
                     char *err)
{
	bool present;

	out[0] = '\0';
	if (!jsonx_get_str(body, key, out, max + 1, min > 0, &present, err))
		return false;
	if (present && (strlen(out) < min || !utf8_is_printable(out, strlen(out)) ||
	                (min > 0 && strspn(out, " ") == strlen(out)))) {
		err_set(err, "field '%s': must be %zu-%zu bytes of printable UTF-8", key, min, max);
		return false;
	}
	return true;
}

bool api_body_party_create(const json_t *body, char name[PARTY_NAME_MAX + 1], char *err)
{
	static const char *const known[] = { "name", NULL };

	if (!only_fields(body, known, err) ||
	    !jsonx_get_str(body, "name", name, PARTY_NAME_MAX + 1, true, NULL, err))
		return false;
	if (!party_name_valid(name)) {
		err_set(err, "field 'name': must be 1-%d bytes of printable UTF-8, not only spaces",
		        PARTY_NAME_MAX);
		return false;
	}
	return true;
}

bool api_body_party_join(const json_t *body, char party_id[PARTY_ID_LEN + 1], char *err)
{
	static const char *const known[] = { "party_id", NULL };
	char typed[64];

	if (!only_fields(body, known, err) ||
	    !jsonx_get_str(body, "party_id", typed, sizeof(typed), true, NULL, err))
		return false;
	if (!party_id_normalize(party_id, typed, err)) {
		err_prefix(err, "field 'party_id'");
		return false;
	}
	return true;
}

bool api_body_empty(const json_t *body, char *err)
{
	static const char *const known[] = { NULL };

	return only_fields(body, known, err);
}

bool api_body_peer(const json_t *body, char peer[API_PEER_REF_MAX + 1], char *err)
{
	static const char *const known[] = { "peer", NULL };

	return only_fields(body, known, err) &&
	       get_text(body, "peer", peer, API_PEER_REF_MAX, 1, err);
}

bool api_body_ping(const json_t *body, char peer[API_PEER_REF_MAX + 1], unsigned *count, char *err)
{
	static const char *const known[] = { "peer", "count", NULL };
	int64_t n = API_PING_COUNT_DEFAULT;

	if (!only_fields(body, known, err) ||
	    !get_text(body, "peer", peer, API_PEER_REF_MAX, 1, err) ||
	    !jsonx_get_int(body, "count", 1, API_PING_COUNT_MAX, &n, false, NULL, err))
		return false;
	*count = (unsigned)n;
	return true;
}

bool api_body_favorite(const json_t *body, struct api_favorite *out, char *err)
{
	static const char *const known[] = { "server_id", "name", "game", "address", NULL };

	memset(out, 0, sizeof(*out));
	if (!only_fields(body, known, err) ||
	    !get_text(body, "server_id", out->server_id, SETTINGS_NAME_MAX, 0, err) ||
	    !get_text(body, "name", out->name, SETTINGS_NAME_MAX, 1, err) ||
	    !get_text(body, "game", out->game, SETTINGS_NAME_MAX, 0, err) ||
	    !get_text(body, "address", out->address, SETTINGS_ADDRESS_MAX, 1, err))
		return false;
	if (out->server_id[0] && !settings_key_valid(out->server_id)) {
		err_set(err, "field 'server_id': must be 1-%d characters of A-Z a-z 0-9 _ . -",
		        SETTINGS_KEY_MAX);
		return false;
	}
	return true;
}

bool api_body_profile(const json_t *body, struct api_profile *out, char *err)
{
	static const char *const known[] = { "name", "game", "profile", NULL };

	memset(out, 0, sizeof(*out));
	if (!only_fields(body, known, err) ||
	    !get_text(body, "name", out->name, SETTINGS_NAME_MAX, 1, err) ||
	    !get_text(body, "game", out->game, SETTINGS_NAME_MAX, 0, err))
		return false;
	out->profile = json_object_get(body, "profile");
	if (!json_is_object(out->profile)) {
		err_set(err, "field 'profile': %s",
		        out->profile ? "expected an object" : "missing");
		return false;
	}
	return true;
}

/* One member of a settings PATCH to its text form, checked against cfg. */
static bool setting_change(const char *key, const json_t *v, struct daemon_config *cfg,
                           struct api_setting_change *c, char *err)
{
	char num[24];
	const char *text;

	if (!config_key_lookup(key, &c->key)) {
		err_set(err, "setting '%.64s': unknown (GET /api/settings lists them)", key);
		return false;
	}
	if (!config_key_storable(c->key)) {
		err_set(err, "setting '%s': cannot be changed here (use a flag or the config file)",
		        key);
		return false;
	}
	c->remove = json_is_null(v);
	c->text[0] = '\0';
	if (c->remove)
		return true;
	if (json_is_string(v)) {
		if (memchr(json_string_value(v), '\0', json_string_length(v))) {
			err_set(err, "setting '%s': contains a NUL character", key);
			return false;
		}
		text = json_string_value(v);
	} else if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		text = num;
	} else {
		err_set(err, "setting '%s': expected a string, an integer or null", key);
		return false;
	}
	if (!config_set(cfg, key, text, err)) {
		err_prefix(err, "setting");
		return false;
	}
	config_get(cfg, c->key, c->text, sizeof(c->text));
	return true;
}

bool api_body_settings(const json_t *body, struct daemon_config *cfg,
                       struct api_setting_change changes[CONFIG_KEY_COUNT], size_t *n, char *err)
{
	const char *key;
	json_t *v;

	*n = 0;
	if (json_object_size(body) == 0) {
		err_set(err, "no settings given; expected {\"key\": value, ...}");
		return false;
	}
	/* JSON_REJECT_DUPLICATES at parse time: each key at most once, so n <= CONFIG_KEY_COUNT. */
	json_object_foreach((json_t *)body, key, v)
	{
		if (*n == CONFIG_KEY_COUNT) {
			err_set(err, "too many settings");
			return false;
		}
		if (!setting_change(key, v, cfg, &changes[*n], err))
			return false;
		(*n)++;
	}
	return true;
}
