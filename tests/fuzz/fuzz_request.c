/* fuzz_request.c - API requests from untrusted bytes: path routing, bodies, event payloads.
 *
 * Input: a path line, then the body.  The path picks the route; the body goes
 * to that route's parser (and, for unmatched paths, to every parser).  The
 * whole input is also read as an event payload between instances.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "server/events.h"
#include "server/request.h"
#include "server/route.h"

/* A refusal is a 4xx that says why. */
static void check(bool ok, const struct api_error *e)
{
	if (!ok && (e->status < 400 || e->status >= 500 || !e->msg[0]))
		abort();
}

static void parse_body(enum route_id id, const json_t *body)
{
	struct api_error e;
	union {
		struct challenge_request ch;
		struct register_request reg;
		struct create_request create;
		struct member_request member;
		struct relay_request relay;
	} u;
	struct signal_request sig;
	bool all = id == ROUTE_NONE;

	if (all || id == ROUTE_AUTH_CHALLENGE)
		check(request_parse_challenge(body, &u.ch, &e), &e);
	if (all || id == ROUTE_AUTH_REGISTER)
		check(request_parse_register(body, &u.reg, &e), &e);
	if (all || id == ROUTE_PARTIES)
		check(request_parse_create(body, &u.create, &e), &e);
	if (all || id == ROUTE_PARTY_JOIN)
		check(request_parse_join(body, &u.member, &e), &e);
	if (all || id == ROUTE_PARTY_PEER)
		check(request_parse_member(body, true, &u.member, &e), &e);
	if (all || id == ROUTE_RELAYS)
		check(request_parse_relay(body, &u.relay, &e), &e);
	if (all || id == ROUTE_PARTY_SIGNAL) {
		bool ok = request_parse_signal(body, &sig, &e);

		check(ok, &e);
		if (ok) {
			/* Accepted signals fit the documented bound. */
			char *text = json_dumps(sig.data, JSON_COMPACT | JSON_ENCODE_ANY);

			if (!text || strlen(text) > REQUEST_SIGNAL_MAX)
				abort();
			free(text);
			request_signal_clear(&sig);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const char *nl = memchr(text, '\n', size);
	size_t plen = nl ? (size_t)(nl - text) : size;
	char path[ROUTE_PATH_MAX + 2];
	struct route_match m;
	struct event_msg msg;
	struct api_error e;
	json_t *body;

	if (events_parse_payload(text, size, &msg) &&
	    (msg.json < text || msg.json + msg.json_len != text + size))
		abort();
	/* Longer paths are refused by length alone; a prefix of one is enough to try. */
	memcpy(path, text, plen < sizeof(path) - 1 ? plen : sizeof(path) - 1);
	path[plen < sizeof(path) - 1 ? plen : sizeof(path) - 1] = '\0';
	if (route_match(path, &m)) {
		/* A matched route names itself and its parameters are bounded. */
		if (m.id >= ROUTE_COUNT || !route_template(m.id) || m.allowed == 0)
			abort();
		for (int i = 0; i < ROUTE_PARAMS; i++) {
			if (strlen(m.params[i]) > ROUTE_PARAM_MAX)
				abort();
		}
	}
	if (!nl)
		return 0;
	body = request_parse_body(nl + 1, size - plen - 1, 64 * 1024, &e);
	if (!body) {
		if (e.status < 400 || e.status >= 500 || !e.msg[0])
			abort();
		return 0;
	}
	parse_body(m.id, body);
	json_decref(body);
	return 0;
}
