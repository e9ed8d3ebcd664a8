/* fuzz_api_body.c - the local API's request bodies from untrusted bytes, through every parser.
 *
 * The first byte says whether an empty body is allowed; the rest is the body.
 * A refusal must say why; what is accepted must hold what the routes promise
 * (a canonical party id, a count of 1-100, settings that read back unchanged).
 */
#include <stdlib.h>
#include <string.h>

#include "daemon/api_body.h"
#include "fuzz.h"
#include "util/err.h"

static void check(bool ok, const char *err)
{
	if (!ok && !err[0])
		abort();
}

static void parse_all(const json_t *body)
{
	static struct daemon_config defaults;
	static bool init;
	static struct api_setting_change changes[CONFIG_KEY_COUNT];
	char name[PARTY_NAME_MAX + 1], id[PARTY_ID_LEN + 1], peer[API_PEER_REF_MAX + 1];
	struct daemon_config cfg, again;
	struct api_favorite fav;
	struct api_profile prof;
	unsigned count;
	errmsg err;
	size_t n;
	bool ok;

	if (!init) {
		config_default(&defaults);
		init = true;
	}
	err[0] = '\0';
	ok = api_body_party_create(body, name, err);
	check(ok, err);
	if (ok && !party_name_valid(name))
		abort();
	err[0] = '\0';
	ok = api_body_party_join(body, id, err);
	check(ok, err);
	if (ok && !party_id_valid(id))
		abort();
	err[0] = '\0';
	check(api_body_empty(body, err), err);
	err[0] = '\0';
	ok = api_body_ping(body, peer, &count, err);
	check(ok, err);
	if (ok && (count < 1 || count > API_PING_COUNT_MAX || !peer[0]))
		abort();
	err[0] = '\0';
	ok = api_body_peer(body, peer, err);
	check(ok, err);
	if (ok && !peer[0])
		abort();
	err[0] = '\0';
	check(api_body_favorite(body, &fav, err), err);
	err[0] = '\0';
	ok = api_body_profile(body, &prof, err);
	check(ok, err);
	if (ok && !json_is_object(prof.profile))
		abort();
	cfg = defaults;
	err[0] = '\0';
	ok = api_body_settings(body, &cfg, changes, &n, err);
	check(ok, err);
	for (size_t i = 0; ok && i < n; i++) {
		if (!config_key_storable(changes[i].key))
			abort();
		/* What would be stored loads again as the same value. */
		again = defaults;
		if (!changes[i].remove &&
		    !config_set(&again, config_key_name(changes[i].key), changes[i].text, err))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *body;
	errmsg err = "";

	if (size == 0)
		return 0;
	body = api_body_parse((const char *)data + 1, size - 1, data[0] & 1, err);
	if (!body) {
		if (!err[0])
			abort();
		return 0;
	}
	if (!json_is_object(body))
		abort();
	parse_all(body);
	json_decref(body);
	return 0;
}
