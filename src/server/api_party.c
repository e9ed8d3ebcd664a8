/* api_party.c - the party handlers: members, heartbeat, events, signals, relay tokens. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "crypto/secret.h"
#include "nat/relay_token.h"
#include "server/api.h"
#include "server/server.h"
#include "util/now.h"

/* Authenticates and reads the party id (and the peer id when the route has one). */
static bool prologue(struct request *rq, char party_id[PARTY_ID_LEN + 1],
                     char peer_id[PEER_ID_MAX + 1], struct api_error *e)
{
	return http_auth(rq, e) && http_party_param(rq, 0, party_id, e) &&
	       (!peer_id || http_peer_param(rq, 1, peer_id, e));
}

/* A member acts only for itself. */
static bool require_self(const struct request *rq, const char *peer_id, const char *what,
                         struct api_error *e)
{
	if (strcmp(rq->who.peer_id, peer_id) == 0)
		return true;
	api_error_set(e, API_FORBIDDEN, "peer %s may not %s for peer %s", rq->who.peer_id, what,
	              peer_id);
	return false;
}

static json_t *party_reply(const struct party_info *party)
{
	return json_pack("{s:s, s:o}", "party_id", party->id, "party", party_info_to_json(party));
}

void api_party_create(struct request *rq)
{
	struct create_request req;
	struct party_info party;
	struct api_error e;

	if (!http_auth(rq, &e) || !http_body(rq, &e) || !request_parse_create(rq->body, &req, &e) ||
	    !registry_create(&rq->srv->registry, &rq->who, &req, &party, &e)) {
		http_reply_error(rq, &e);
		return;
	}
	http_reply_json(rq, 201, party_reply(&party));
	party_info_clear(&party);
}

void api_party_join(struct request *rq)
{
	char party_id[PARTY_ID_LEN + 1];
	struct member_request req;
	struct party_info party;
	struct api_error e;

	if (!prologue(rq, party_id, NULL, &e) || !http_body(rq, &e) ||
	    !request_parse_join(rq->body, &req, &e) ||
	    !registry_join(&rq->srv->registry, party_id, &rq->who, &req, &party, &e)) {
		http_reply_error(rq, &e);
		return;
	}
	http_reply_json(rq, 200, party_reply(&party));
	party_info_clear(&party);
}

void api_party_get(struct request *rq)
{
	char party_id[PARTY_ID_LEN + 1];
	struct party_info party;
	struct api_error e;

	if (!prologue(rq, party_id, NULL, &e) ||
	    !registry_require_member(&rq->srv->registry, party_id, rq->who.peer_id, &e) ||
	    !registry_get(&rq->srv->registry, party_id, &party, &e)) {
		http_reply_error(rq, &e);
		return;
	}
	http_reply_json(rq, 200, party_info_to_json(&party));
	party_info_clear(&party);
}

void api_party_peers(struct request *rq)
{
	char party_id[PARTY_ID_LEN + 1];
	struct party_info party;
	struct api_error e;
	json_t *peers;

	if (!prologue(rq, party_id, NULL, &e) ||
	    !registry_require_member(&rq->srv->registry, party_id, rq->who.peer_id, &e) ||
	    !registry_get(&rq->srv->registry, party_id, &party, &e)) {
		http_reply_error(rq, &e);
		return;
	}
	peers = json_object();
	for (size_t i = 0; i < party.n_members; i++)
		json_object_set_new(peers, party.members[i].id,
		                    peer_info_to_json(&party.members[i]));
	http_reply_json(rq, 200, json_pack("{s:s, s:o}", "party_id", party_id, "peers", peers));
	party_info_clear(&party);
}

void api_party_peer_get(struct request *rq)
{
	char party_id[PARTY_ID_LEN + 1], peer_id[PEER_ID_MAX + 1];
	struct peer_info peer;
	struct api_error e;

	if (!prologue(rq, party_id, peer_id, &e) ||
	    !registry_require_member(&rq->srv->registry, party_id, rq->who.peer_id, &e) ||
	    !registry_member(&rq->srv->registry, party_id, peer_id, &peer, &e)) {
		http_reply_error(rq, &e);
		return;
	}
	http_reply_json(rq, 200, peer_info_to_json(&peer));
}

void api_party_peer_leave(struct request *rq)
{
	char party_id[PARTY_ID_LEN + 1], peer_id[PEER_ID_MAX + 1];
	struct api_error e;
	bool removed;

	bool self;

	if (!prologue(rq, party_id, peer_id, &e))
		goto err;
	/* Another member's record: only the host may, and that removes it for good. */
	self = strcmp(rq->who.peer_id, peer_id) == 0;
	if (self ? !registry_leave(&rq->srv->registry, party_id, peer_id, LEAVE_LEFT, 0, &removed,
	                           &e)
	         : !registry_kick(&rq->srv->registry, party_id, rq->who.peer_id, peer_id, &e))
		goto err;
	http_reply_json(rq, 200,
	                json_pack("{s:s, s:s, s:s}", "status", self ? "left" : "removed",
	                          "party_id", party_id, "peer_id", peer_id));
	return;
err:
	http_reply_error(rq, &e);
}

void api_party_bans(struct request *rq)
{
	char party_id[PARTY_ID_LEN + 1];
	struct api_error e;
	json_t *bans;

	if (!prologue(rq, party_id, NULL, &e) ||
	    !registry_bans(&rq->srv->registry, party_id, rq->who.peer_id, &bans, &e)) {
		http_reply_error(rq, &e);
		return;
	}
	http_reply_json(rq, 200, json_pack("{s:s, s:o}", "party_id", party_id, "bans", bans));
}

void api_party_unban(struct request *rq)
{
	char party_id[PARTY_ID_LEN + 1], peer_id[PEER_ID_MAX + 1];
	struct api_error e;

	if (!prologue(rq, party_id, peer_id, &e) ||
	    !registry_unban(&rq->srv->registry, party_id, rq->who.peer_id, peer_id, &e)) {
		http_reply_error(rq, &e);
		return;
	}
	http_reply_json(rq, 200,
	                json_pack("{s:s, s:s, s:s}", "status", "unbanned", "party_id", party_id,
	                          "peer_id", peer_id));
}

void api_party_peer_update(struct request *rq)
{
	char party_id[PARTY_ID_LEN + 1], peer_id[PEER_ID_MAX + 1];
	struct member_request req;
	struct peer_info peer;
	struct api_error e;

	if (!prologue(rq, party_id, peer_id, &e) || !require_self(rq, peer_id, "update", &e) ||
	    !http_body(rq, &e) || !request_parse_member(rq->body, true, &req, &e))
		goto err;
	if (req.has_peer_id && strcmp(req.peer_id, peer_id) != 0) {
		api_error_set(&e, API_FORBIDDEN, "field 'peer_id': %s is not your peer id",
		              req.peer_id);
		goto err;
	}
	if (req.has_public_key && !key_equal(req.public_key, rq->who.public_key)) {
		api_error_set(&e, API_FORBIDDEN,
		              "field 'public_key': not the key you registered with");
		goto err;
	}
	if (!registry_update(&rq->srv->registry, party_id, peer_id, &req, &peer, &e))
		goto err;
	http_reply_json(rq, 200, peer_info_to_json(&peer));
	return;
err:
	http_reply_error(rq, &e);
}

void api_party_heartbeat(struct request *rq)
{
	char party_id[PARTY_ID_LEN + 1], peer_id[PEER_ID_MAX + 1];
	struct api_error e;

	if (!prologue(rq, party_id, peer_id, &e) || !require_self(rq, peer_id, "heartbeat", &e))
		goto err;
	if (!registry_require_member(&rq->srv->registry, party_id, peer_id, &e)) {
		/* The daemon learns it was dropped (expired) and joins again. */
		if (e.status == API_FORBIDDEN)
			api_error_set(&e, API_NOT_FOUND, "peer %s is not a member of party %s",
			              peer_id, party_id);
		goto err;
	}
	if (!heartbeat_record(&rq->srv->heartbeat, party_id, peer_id, now_wall_ms())) {
		api_error_set(&e, API_UNAVAILABLE, "out of memory recording the heartbeat");
		goto err;
	}
	http_reply_json(rq, 200, json_pack("{s:s}", "status", "ok"));
	return;
err:
	http_reply_error(rq, &e);
}

void api_party_events(struct request *rq)
{
	char party_id[PARTY_ID_LEN + 1];
	struct party_info party;
	struct api_error e;

	if (!prologue(rq, party_id, NULL, &e) ||
	    !registry_require_member(&rq->srv->registry, party_id, rq->who.peer_id, &e) ||
	    !registry_get(&rq->srv->registry, party_id, &party, &e)) {
		http_reply_error(rq, &e);
		return;
	}
	events_subscribe(
	    &rq->srv->events, rq->req, party_id, rq->who.peer_id,
	    json_pack("{s:s, s:o}", "party_id", party_id, "party", party_info_to_json(&party)));
	party_info_clear(&party);
	http_reply_stream(rq);
}

void api_party_signal(struct request *rq)
{
	char party_id[PARTY_ID_LEN + 1];
	struct signal_request req = { 0 };
	struct peer_info to;
	struct api_error e;

	if (!prologue(rq, party_id, NULL, &e) ||
	    !registry_require_member(&rq->srv->registry, party_id, rq->who.peer_id, &e) ||
	    !http_body(rq, &e) || !request_parse_signal(rq->body, &req, &e) ||
	    !registry_member(&rq->srv->registry, party_id, req.to, &to, &e)) {
		request_signal_clear(&req);
		http_reply_error(rq, &e);
		return;
	}
	events_publish(&rq->srv->events, party_id, EVENT_SIGNAL, req.to,
	               json_pack("{s:s, s:s, s:s, s:O}", "party_id", party_id, "from",
	                         rq->who.peer_id, "to", req.to, "data", req.data));
	request_signal_clear(&req);
	http_reply_json(
	    rq, 200,
	    json_pack("{s:s, s:s, s:s}", "status", "sent", "party_id", party_id, "to", to.id));
}

/*
 * A relay token for the caller in this party (docs/PROTOCOL.md "Tokens and
 * keys"): the relays check it with the key derived from the secret they
 * share with us.  Neither the token nor the key is logged.
 */
void api_party_relay_token(struct request *rq)
{
	struct server *srv = rq->srv;
	char party_id[PARTY_ID_LEN + 1], expires[NOW_ISO8601_LEN], tag[RELAY_TAG_HEX_LEN + 1];
	char token_b64[sodium_base64_ENCODED_LEN(RELAY_TOKEN_LEN, sodium_base64_VARIANT_ORIGINAL)];
	char key_b64[sodium_base64_ENCODED_LEN(MAC_KEY_LEN, sodium_base64_VARIANT_ORIGINAL)];
	uint8_t token[RELAY_TOKEN_LEN], key[MAC_KEY_LEN];
	struct relay_token_info info;
	int64_t expires_ms;
	struct api_error e;

	if (!prologue(rq, party_id, NULL, &e))
		goto err;
	if (!srv->has_relay_secret) {
		api_error_set(&e, API_NOT_FOUND,
		              "this control server has no relays (--relay-secret-file)");
		goto err;
	}
	if (!registry_require_member(&srv->registry, party_id, rq->who.peer_id, &e))
		goto err;
	/* Whole seconds, as the token carries them; never past what a u32 holds. */
	expires_ms = (now_wall_ms() + srv->cfg.relay_token_ttl_ms) / 1000 * 1000;
	if (expires_ms / 1000 > UINT32_MAX)
		expires_ms = (int64_t)UINT32_MAX * 1000;
	if (!relay_token_info_set(&info, (uint32_t)(expires_ms / 1000), rq->who.peer_id,
	                          party_id)) {
		api_error_set(&e, API_BAD_REQUEST, "peer %s cannot hold a relay token",
		              rq->who.peer_id);
		goto err;
	}
	relay_token_create(token, srv->relay_token_key, &info);
	relay_session_key(key, srv->relay_token_key, token);
	sodium_bin2base64(token_b64, sizeof(token_b64), token, sizeof(token),
	                  sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(key_b64, sizeof(key_b64), key, sizeof(key),
	                  sodium_base64_VARIANT_ORIGINAL);
	snprintf(tag, sizeof(tag), "%08x", relay_tag(info.peer_id));
	srv->relay_tokens_issued++;
	http_reply_json(rq, 200,
	                json_pack("{s:s, s:s, s:s, s:s}", "token", token_b64, "session_key",
	                          key_b64, "expires_at", now_format_iso8601(expires_ms, expires),
	                          "tag", tag));
	secret_zero(key, sizeof(key));
	secret_zero(key_b64, sizeof(key_b64));
	return;
err:
	http_reply_error(rq, &e);
}
