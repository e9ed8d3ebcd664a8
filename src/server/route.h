/* route.h - matching request paths against the API's route table (pure, fuzzed). */
#ifndef LANRAGE_SERVER_ROUTE_H
#define LANRAGE_SERVER_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "util/compiler.h"

/* HTTP methods as bits, so a route can allow several and a 405 can list them. */
enum route_method {
	RM_GET = 1 << 0,
	RM_POST = 1 << 1,
	RM_DELETE = 1 << 2,
	RM_PATCH = 1 << 3,
	RM_PUT = 1 << 4,
	RM_HEAD = 1 << 5,
	RM_OPTIONS = 1 << 6,
	RM_OTHER = 1 << 7,
};

/* Every route of the API; the index into metrics as well. */
enum route_id {
	ROUTE_HEALTH,
	ROUTE_METRICS,
	ROUTE_AUTH_CHALLENGE,
	ROUTE_AUTH_REGISTER,
	ROUTE_PARTIES,
	ROUTE_PARTY,
	ROUTE_PARTY_JOIN,
	ROUTE_PARTY_PEERS,
	ROUTE_PARTY_PEER,
	ROUTE_PARTY_PEER_HEARTBEAT,
	ROUTE_PARTY_EVENTS,
	ROUTE_PARTY_SIGNAL,
	ROUTE_PARTY_RELAY_TOKEN,
	ROUTE_PARTY_BANS,
	ROUTE_PARTY_BAN,
	ROUTE_RELAYS,
	ROUTE_RELAYS_REGION,
	ROUTE_COUNT,
	ROUTE_NONE = ROUTE_COUNT, /* no such path: metrics count it as "unmatched" */
};

/* Path segments are short ids; anything longer is not a path of ours. */
enum { ROUTE_PARAM_MAX = 64, ROUTE_PARAMS = 2, ROUTE_PATH_MAX = 256 };

struct route_match {
	enum route_id id;
	unsigned allowed; /* route_method bits the path accepts */
	char params[ROUTE_PARAMS][ROUTE_PARAM_MAX + 1];
};

/* The path template, as metrics label it: "/parties/{id}/peers/{peer}". */
const char *route_template(enum route_id id);
const char *route_method_name(enum route_method m);

/*
 * Matches a path (no query string) to a route.  false when no route has this
 * shape (a 404); true with allowed set otherwise, whether or not the method is
 * among them (the caller answers 405).  Parameters are copied raw; handlers
 * validate them (party id typos, peer id characters).
 */
bool route_match(const char *path, struct route_match *out) WARN_UNUSED;

#endif
