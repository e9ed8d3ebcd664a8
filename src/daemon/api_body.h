/* api_body.h - the local API's request bodies: bytes to checked, typed requests (pure). */
#ifndef LANRAGE_DAEMON_API_BODY_H
#define LANRAGE_DAEMON_API_BODY_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "control/party.h"
#include "control/party_id.h"
#include "daemon/config.h"
#include "daemon/settings.h"
#include "util/compiler.h"

/*
 * Every body is a JSON object of at most API_BODY_MAX bytes; unknown fields
 * are refused (a typo is reported, not ignored).  Each parser fills err with
 * the field and what is wrong with it; docs/LOCAL_API.md is the contract.
 * No I/O: the fuzz harness runs these on arbitrary bytes.
 */
enum {
	API_BODY_MAX = 64 * 1024,
	API_PING_COUNT_DEFAULT = 4,
	API_PING_COUNT_MAX = 100,
	API_PEER_REF_MAX = 64
};

/* The body as an object; an empty body is {} when empty_ok.  NULL with err. */
json_t *api_body_parse(const char *data, size_t len, bool empty_ok, char *err);

/* POST /api/party {"name"} */
bool api_body_party_create(const json_t *body, char name[PARTY_NAME_MAX + 1],
                           char *err) WARN_UNUSED;
/* POST /api/party/join {"party_id"}: the id in canonical form (typos reported). */
bool api_body_party_join(const json_t *body, char party_id[PARTY_ID_LEN + 1],
                         char *err) WARN_UNUSED;
/* POST /api/party/leave: {} */
bool api_body_empty(const json_t *body, char *err) WARN_UNUSED;
/* POST /api/party/kick {"peer"}: a member's name, peer id or virtual IP. */
bool api_body_peer(const json_t *body, char peer[API_PEER_REF_MAX + 1], char *err) WARN_UNUSED;
/* POST /api/ping {"peer", "count"?}: count 1-100, 4 when left out. */
bool api_body_ping(const json_t *body, char peer[API_PEER_REF_MAX + 1], unsigned *count,
                   char *err) WARN_UNUSED;

/* POST /api/favorites {"name", "address", "game"?, "server_id"?}; "" when left out. */
struct api_favorite {
	char server_id[SETTINGS_NAME_MAX + 1];
	char name[SETTINGS_NAME_MAX + 1];
	char game[SETTINGS_NAME_MAX + 1];
	char address[SETTINGS_ADDRESS_MAX + 1];
};
bool api_body_favorite(const json_t *body, struct api_favorite *out, char *err) WARN_UNUSED;

/* POST /api/game-profiles {"name", "game"?, "profile": {...}}; profile borrowed from body. */
struct api_profile {
	char name[SETTINGS_NAME_MAX + 1];
	char game[SETTINGS_NAME_MAX + 1];
	const json_t *profile;
};
bool api_body_profile(const json_t *body, struct api_profile *out, char *err) WARN_UNUSED;

/*
 * PATCH /api/settings {"key": value, ...}: each value a string (the text a
 * flag or the config file takes), an integer, or null (forget the stored
 * value).  Every key is checked with config_set on cfg, a scratch copy the
 * caller provides, so nothing is stored unless all are good.  changes[i]
 * gets the key and its text in normalised form, or "" with remove set.
 */
struct api_setting_change {
	enum config_key key;
	bool remove;
	char text[PATH_MAX];
};
bool api_body_settings(const json_t *body, struct daemon_config *cfg,
                       struct api_setting_change changes[CONFIG_KEY_COUNT], size_t *n,
                       char *err) WARN_UNUSED;

#endif
