/* api.c - dispatch, and the service, auth and relay handlers. */
#include "server/api.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <sodium.h>
#include <string.h>
#include <strings.h>

#include "crypto/secret.h"
#include "server/relays.h"
#include "server/server.h"
#include "util/now.h"

static const struct {
	enum route_id route;
	unsigned methods;
	void (*fn)(struct request *rq);
} handlers[] = {
	{ ROUTE_HEALTH, RM_GET | RM_HEAD, api_health },
	{ ROUTE_METRICS, RM_GET, api_metrics },
	{ ROUTE_AUTH_CHALLENGE, RM_POST, api_auth_challenge },
	{ ROUTE_AUTH_REGISTER, RM_POST, api_auth_register },
	{ ROUTE_PARTIES, RM_POST, api_party_create },
	{ ROUTE_PARTY, RM_GET, api_party_get },
	{ ROUTE_PARTY_JOIN, RM_POST, api_party_join },
	{ ROUTE_PARTY_PEERS, RM_GET, api_party_peers },
	{ ROUTE_PARTY_PEER, RM_GET, api_party_peer_get },
	{ ROUTE_PARTY_PEER, RM_DELETE, api_party_peer_leave },
	{ ROUTE_PARTY_PEER, RM_PATCH, api_party_peer_update },
	{ ROUTE_PARTY_PEER_HEARTBEAT, RM_POST, api_party_heartbeat },
	{ ROUTE_PARTY_EVENTS, RM_GET, api_party_events },
	{ ROUTE_PARTY_SIGNAL, RM_POST, api_party_signal },
	{ ROUTE_PARTY_RELAY_TOKEN, RM_POST, api_party_relay_token },
	{ ROUTE_PARTY_BANS, RM_GET, api_party_bans },
	{ ROUTE_PARTY_BAN, RM_DELETE, api_party_unban },
	{ ROUTE_RELAYS, RM_POST, api_relays_put },
	{ ROUTE_RELAYS, RM_GET, api_relays_list },
	{ ROUTE_RELAYS_REGION, RM_GET, api_relays_region },
};

void api_dispatch(struct request *rq)
{
	for (size_t i = 0; i < ARRAY_SIZE(handlers); i++) {
		if (handlers[i].route == rq->match.id && (handlers[i].methods & rq->method)) {
			handlers[i].fn(rq);
			return;
		}
	}
}

void api_health(struct request *rq)
{
	struct server *srv = rq->srv;
	int64_t parties = 0, peers = 0, relays = 0;
	struct api_error e;

	if (registry_count(&srv->registry, &parties, &peers) ||
	    relays_count(&srv->store, &relays)) {
		api_error_store(&e, -1, "health: counting");
		http_reply_error(rq, &e);
		return;
	}
	http_reply_json(rq, 200,
	                json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "service",
	                          "lanrage-control", "version", LANRAGE_VERSION, "status", "ok",
	                          "backend", srv->store.ops->name, "parties", (json_int_t)parties,
	                          "peers", (json_int_t)peers, "relays", (json_int_t)relays));
}

void api_metrics(struct request *rq)
{
	struct server *srv = rq->srv;
	struct metrics_gauges g = { 0 };
	struct evbuffer *buf = evbuffer_new();

	if (!buf) {
		evhttp_send_error(rq->req, 503, "Service Unavailable");
		return;
	}
	/* A scrape during a storage outage still shows the counters: gauges read -1. */
	if (registry_count(&srv->registry, &g.parties, &g.peers))
		g.parties = g.peers = -1;
	if (relays_count(&srv->store, &g.relays))
		g.relays = -1;
	g.subscribers = (int64_t)events_subscribers(&srv->events);
	g.tokens_cached = (int64_t)srv->auth.n_tokens;
	g.tokens_issued = srv->auth.issued;
	g.relay_tokens_issued = srv->relay_tokens_issued;
	g.events_published = srv->events.published;
	g.events_delivered = srv->events.delivered;
	g.heartbeats_written = heartbeat_written(&srv->heartbeat);
	/* Count this scrape before writing, so it sees itself. */
	metrics_request(&srv->metrics, ROUTE_METRICS, 200, now_mono_ns() - rq->start_ns);
	metrics_write(&srv->metrics, &g, buf);
	evhttp_add_header(evhttp_request_get_output_headers(rq->req), "Content-Type",
	                  "text/plain; version=0.0.4");
	evhttp_send_reply(rq->req, 200, "OK", buf);
	evbuffer_free(buf);
	rq->answered = true;
}

/* Registration is the expensive path: limited per client address. */
static bool auth_rate_ok(struct request *rq, struct api_error *e)
{
	struct server *srv = rq->srv;
	char *addr = NULL;
	uint16_t port = 0;

	evhttp_connection_get_peer(evhttp_request_get_connection(rq->req), &addr, &port);
	if (ratelimit_allow(&srv->auth_limit, addr ? addr : "", now_mono_ms()))
		return true;
	evhttp_add_header(evhttp_request_get_output_headers(rq->req), "Retry-After", "1");
	api_error_set(e, API_TOO_MANY_REQUESTS,
	              "too many registrations from your address (%g per second), try again",
	              srv->cfg.auth_rate);
	return false;
}

void api_auth_challenge(struct request *rq)
{
	struct challenge_request req;
	char sealed[256], challenge[128], expires[NOW_ISO8601_LEN];
	int64_t expires_ms;
	struct api_error e;

	if (!auth_rate_ok(rq, &e) || !http_body(rq, &e) ||
	    !request_parse_challenge(rq->body, &req, &e) ||
	    !auth_challenge(&rq->srv->auth, req.public_key, sealed, sizeof(sealed), challenge,
	                    sizeof(challenge), &expires_ms, &e)) {
		http_reply_error(rq, &e);
		return;
	}
	http_reply_json(rq, 200,
	                json_pack("{s:s, s:s, s:s}", "challenge", challenge, "sealed", sealed,
	                          "expires_at", now_format_iso8601(expires_ms, expires)));
}

void api_auth_register(struct request *rq)
{
	struct register_request req;
	char token[AUTH_TOKEN_HEX + 1], peer_id[PEER_ID_MAX + 1], expires[NOW_ISO8601_LEN];
	int64_t expires_ms;
	struct api_error e;

	if (!auth_rate_ok(rq, &e) || !http_body(rq, &e) ||
	    !request_parse_register(rq->body, &req, &e) ||
	    !auth_register(&rq->srv->auth, req.public_key, req.challenge, req.response, token,
	                   peer_id, &expires_ms, &e)) {
		secret_zero(&req, sizeof(req));
		http_reply_error(rq, &e);
		return;
	}
	secret_zero(&req, sizeof(req));
	http_reply_json(rq, 200,
	                json_pack("{s:s, s:s, s:s}", "token", token, "peer_id", peer_id,
	                          "expires_at", now_format_iso8601(expires_ms, expires)));
	secret_zero(token, sizeof(token));
}

/* Relays authenticate with the operator's shared secret, compared as hashes. */
static bool relay_auth(struct request *rq, struct api_error *e)
{
	const char *h = http_header(rq, "Authorization");
	uint8_t hash[32];
	bool ok;

	if (!rq->srv->has_relay_secret) {
		api_error_set(
		    e, API_FORBIDDEN,
		    "relay registration is disabled on this server (--relay-secret-file)");
		return false;
	}
	if (!h || strncasecmp(h, "Bearer ", 7) != 0) {
		api_error_set(e, API_UNAUTHORIZED,
		              "missing 'Authorization: Bearer <relay secret>'");
		return false;
	}
	crypto_generichash(hash, sizeof(hash), (const uint8_t *)h + 7, strlen(h + 7), NULL, 0);
	ok = secret_equal(hash, rq->srv->relay_secret_hash, sizeof(hash));
	secret_zero(hash, sizeof(hash));
	if (!ok)
		api_error_set(e, API_FORBIDDEN, "wrong relay secret");
	return ok;
}

void api_relays_put(struct request *rq)
{
	struct relay_request req;
	struct api_error e;
	json_t *relay;
	bool created;

	if (!relay_auth(rq, &e) || !http_body(rq, &e) || !request_parse_relay(rq->body, &req, &e) ||
	    !relays_put(&rq->srv->store, &req, &created, &relay, &e)) {
		http_reply_error(rq, &e);
		return;
	}
	http_reply_json(rq, created ? 201 : 200, json_pack("{s:o}", "relay", relay));
}

void api_relays_list(struct request *rq)
{
	struct api_error e;
	json_t *list = relays_list(&rq->srv->store, NULL, &e);

	if (!list) {
		http_reply_error(rq, &e);
		return;
	}
	http_reply_json(rq, 200, list);
}

void api_relays_region(struct request *rq)
{
	const char *region = rq->match.params[0];
	struct api_error e;
	json_t *list;

	if (!request_token_valid(region, RELAY_REGION_MAX)) {
		api_error_set(&e, API_BAD_REQUEST,
		              "region `%.32s': must be 1-32 characters of A-Z a-z 0-9 . _ -",
		              region);
		http_reply_error(rq, &e);
		return;
	}
	list = relays_list(&rq->srv->store, region, &e);
	if (!list) {
		http_reply_error(rq, &e);
		return;
	}
	json_object_set_new(list, "region", json_string(region));
	http_reply_json(rq, 200, list);
}
