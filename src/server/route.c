/* route.c - matching request paths against the API's route table. */
#include "server/route.h"

#include <string.h>

/* "*" is a parameter segment. */
static const struct {
	enum route_id id;
	const char *pattern;
	const char *template;
	unsigned methods;
} routes[ROUTE_COUNT] = {
	{ ROUTE_HEALTH, "", "/", RM_GET | RM_HEAD },
	{ ROUTE_METRICS, "metrics", "/metrics", RM_GET },
	{ ROUTE_AUTH_CHALLENGE, "auth/challenge", "/auth/challenge", RM_POST },
	{ ROUTE_AUTH_REGISTER, "auth/register", "/auth/register", RM_POST },
	{ ROUTE_PARTIES, "parties", "/parties", RM_POST },
	{ ROUTE_PARTY, "parties/*", "/parties/{id}", RM_GET },
	{ ROUTE_PARTY_JOIN, "parties/*/join", "/parties/{id}/join", RM_POST },
	{ ROUTE_PARTY_PEERS, "parties/*/peers", "/parties/{id}/peers", RM_GET },
	{ ROUTE_PARTY_PEER, "parties/*/peers/*", "/parties/{id}/peers/{peer}",
	  RM_GET | RM_DELETE | RM_PATCH },
	{ ROUTE_PARTY_PEER_HEARTBEAT, "parties/*/peers/*/heartbeat",
	  "/parties/{id}/peers/{peer}/heartbeat", RM_POST },
	{ ROUTE_PARTY_EVENTS, "parties/*/events", "/parties/{id}/events", RM_GET },
	{ ROUTE_PARTY_SIGNAL, "parties/*/signal", "/parties/{id}/signal", RM_POST },
	{ ROUTE_PARTY_RELAY_TOKEN, "parties/*/relay-token", "/parties/{id}/relay-token", RM_POST },
	{ ROUTE_PARTY_BANS, "parties/*/bans", "/parties/{id}/bans", RM_GET },
	{ ROUTE_PARTY_BAN, "parties/*/bans/*", "/parties/{id}/bans/{peer}", RM_DELETE },
	{ ROUTE_RELAYS, "relays", "/relays", RM_GET | RM_POST },
	{ ROUTE_RELAYS_REGION, "relays/*", "/relays/{region}", RM_GET },
};

const char *route_template(enum route_id id)
{
	return id < ROUTE_COUNT ? routes[id].template : "unmatched";
}

const char *route_method_name(enum route_method m)
{
	switch (m) {
	case RM_GET:
		return "GET";
	case RM_POST:
		return "POST";
	case RM_DELETE:
		return "DELETE";
	case RM_PATCH:
		return "PATCH";
	case RM_PUT:
		return "PUT";
	case RM_HEAD:
		return "HEAD";
	case RM_OPTIONS:
		return "OPTIONS";
	default:
		return "OTHER";
	}
}

/* Matches one segment; a pattern segment "*" captures into param. */
static bool match_path(const char *pattern, const char *path, struct route_match *out)
{
	int nparam = 0;

	for (;;) {
		size_t plen = strcspn(pattern, "/"), slen = strcspn(path, "/");

		if (plen == 1 && pattern[0] == '*') {
			if (slen == 0 || slen > ROUTE_PARAM_MAX || nparam == ROUTE_PARAMS)
				return false;
			memcpy(out->params[nparam], path, slen);
			out->params[nparam][slen] = '\0';
			nparam++;
		} else if (plen != slen || memcmp(pattern, path, slen) != 0) {
			return false;
		}
		pattern += plen;
		path += slen;
		if (!*pattern || !*path)
			return !*pattern && !*path;
		pattern++;
		path++;
	}
}

bool route_match(const char *path, struct route_match *out)
{
	size_t len = strlen(path);

	memset(out, 0, sizeof(*out));
	out->id = ROUTE_NONE;
	if (len == 0 || path[0] != '/' || len > ROUTE_PATH_MAX)
		return false;
	path++;
	len--;
	/* One trailing slash is forgiven ("/parties/"), except on the root. */
	char trimmed[ROUTE_PATH_MAX + 1];

	memcpy(trimmed, path, len + 1);
	if (len > 1 && trimmed[len - 1] == '/')
		trimmed[len - 1] = '\0';
	for (size_t i = 0; i < ROUTE_COUNT; i++) {
		if (match_path(routes[i].pattern, trimmed, out)) {
			out->id = routes[i].id;
			out->allowed = routes[i].methods;
			return true;
		}
	}
	memset(out->params, 0, sizeof(out->params));
	return false;
}
