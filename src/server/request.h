/* request.h - API request bodies: parsing and validation (pure, fuzzed). */
#ifndef LANRAGE_SERVER_REQUEST_H
#define LANRAGE_SERVER_REQUEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "control/party.h"
#include "control/peer.h"
#include "crypto/key.h"
#include "server/apierr.h"
#include "util/addr.h"
#include "util/compiler.h"

enum {
	REQUEST_CHALLENGE_MAX = 128, /* base64 of the opaque challenge */
	REQUEST_SIGNAL_MAX = 4096,   /* a signal's data, as compact JSON */
	RELAY_ID_MAX = 64,
	RELAY_REGION_MAX = 32,
	RELAY_CAPACITY_MAX = 1000000,
};

/*
 * Parses a body that must be one JSON object of at most max bytes.  An empty
 * body is "expected a JSON object".  The result is the caller's to decref.
 */
json_t *request_parse_body(const char *data, size_t len, size_t max,
                           struct api_error *e) WARN_UNUSED;

/* POST /auth/challenge */
struct challenge_request {
	wg_key public_key;
};
bool request_parse_challenge(const json_t *body, struct challenge_request *out,
                             struct api_error *e) WARN_UNUSED;

/* POST /auth/register */
struct register_request {
	wg_key public_key;
	char challenge[REQUEST_CHALLENGE_MAX + 1];
	char response[REQUEST_CHALLENGE_MAX + 1];
};
bool request_parse_register(const json_t *body, struct register_request *out,
                            struct api_error *e) WARN_UNUSED;

/*
 * A member's own description, in create/join ("peer": {...}) and update
 * (the body itself).  Fields absent from an update keep their value; has_*
 * say which were given.  peer_id and public_key, when present, must be the
 * caller's own (the handler checks).
 */
struct member_request {
	char name[PEER_NAME_MAX + 1];
	char peer_id[PEER_ID_MAX + 1];
	wg_key public_key;
	enum nat_type nat_type;
	struct addr public_endpoint;
	struct addr local_endpoint;
	struct addr global_endpoint;
	bool has_name, has_peer_id, has_public_key, has_nat_type, has_public, has_local, has_global;
};
/* name required unless update. */
bool request_parse_member(const json_t *obj, bool update, struct member_request *out,
                          struct api_error *e) WARN_UNUSED;

/* POST /parties: {"name": ..., "peer": {...}} */
struct create_request {
	char name[PARTY_NAME_MAX + 1];
	struct member_request peer;
};
bool request_parse_create(const json_t *body, struct create_request *out,
                          struct api_error *e) WARN_UNUSED;
/* POST /parties/{id}/join: {"peer": {...}} */
bool request_parse_join(const json_t *body, struct member_request *out,
                        struct api_error *e) WARN_UNUSED;

/* POST /parties/{id}/signal: {"to": peer_id, "data": any JSON} */
struct signal_request {
	char to[PEER_ID_MAX + 1];
	json_t *data; /* a new reference; request_signal_clear drops it */
};
bool request_parse_signal(const json_t *body, struct signal_request *out,
                          struct api_error *e) WARN_UNUSED;
void request_signal_clear(struct signal_request *s);

/* POST /relays */
struct relay_request {
	char relay_id[RELAY_ID_MAX + 1];
	struct addr endpoint; /* public_ip and port */
	char region[RELAY_REGION_MAX + 1];
	int64_t capacity;
};
bool request_parse_relay(const json_t *body, struct relay_request *out,
                         struct api_error *e) WARN_UNUSED;

/* Relay ids and regions: 1..max characters of [A-Za-z0-9._-]. */
bool request_token_valid(const char *s, size_t max);

#endif
