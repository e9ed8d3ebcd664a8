/* test_route.c - request paths to routes: every route, parameters, and what is not a route. */
#include "test.h"

#include <stdio.h>
#include <string.h>

#include "server/route.h"

static void test_table(void **state)
{
	static const struct {
		const char *path;
		enum route_id id;
		unsigned allowed;
		const char *p0, *p1;
	} cases[] = {
		{ "/", ROUTE_HEALTH, RM_GET | RM_HEAD, "", "" },
		{ "/metrics", ROUTE_METRICS, RM_GET, "", "" },
		{ "/auth/challenge", ROUTE_AUTH_CHALLENGE, RM_POST, "", "" },
		{ "/auth/register", ROUTE_AUTH_REGISTER, RM_POST, "", "" },
		{ "/parties", ROUTE_PARTIES, RM_POST, "", "" },
		{ "/parties/", ROUTE_PARTIES, RM_POST, "", "" },
		{ "/parties/ABCD", ROUTE_PARTY, RM_GET, "ABCD", "" },
		{ "/parties/ABCD/join", ROUTE_PARTY_JOIN, RM_POST, "ABCD", "" },
		{ "/parties/ABCD/peers", ROUTE_PARTY_PEERS, RM_GET, "ABCD", "" },
		{ "/parties/ABCD/peers/p1", ROUTE_PARTY_PEER, RM_GET | RM_DELETE | RM_PATCH, "ABCD",
		  "p1" },
		{ "/parties/ABCD/peers/p1/heartbeat", ROUTE_PARTY_PEER_HEARTBEAT, RM_POST, "ABCD",
		  "p1" },
		{ "/parties/ABCD/events", ROUTE_PARTY_EVENTS, RM_GET, "ABCD", "" },
		{ "/parties/ABCD/signal", ROUTE_PARTY_SIGNAL, RM_POST, "ABCD", "" },
		{ "/relays", ROUTE_RELAYS, RM_GET | RM_POST, "", "" },
		{ "/relays/eu-west", ROUTE_RELAYS_REGION, RM_GET, "eu-west", "" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct route_match m;

		assert_true(route_match(cases[i].path, &m));
		assert_int_equal(m.id, cases[i].id);
		assert_int_equal(m.allowed, cases[i].allowed);
		assert_string_equal(m.params[0], cases[i].p0);
		assert_string_equal(m.params[1], cases[i].p1);
		assert_non_null(route_template(m.id));
		assert_int_equal(route_template(m.id)[0], '/');
	}
}

static void test_not_routes(void **state)
{
	static const char *const paths[] = {
		"",
		"parties",
		"//",
		"/nope",
		"/parties//join",
		"/parties/ABCD/peers//heartbeat",
		"/parties/ABCD/unknown",
		"/parties/ABCD/peers/p1/heartbeat/more",
		"/metrics/x",
		"/auth",
		"/relays/eu/west",
		"/PARTIES",
	};
	char long_param[200], long_path[400];
	struct route_match m;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		assert_false(route_match(paths[i], &m));
		assert_int_equal(m.id, ROUTE_NONE);
	}
	/* A parameter over 64 characters, and a path over 256, are nobody's. */
	memset(long_param, 'a', 65);
	long_param[65] = '\0';
	snprintf(long_path, sizeof(long_path), "/parties/%s", long_param);
	assert_false(route_match(long_path, &m));
	long_param[64] = '\0';
	snprintf(long_path, sizeof(long_path), "/parties/%s", long_param);
	assert_true(route_match(long_path, &m));
	memset(long_path, 'a', sizeof(long_path) - 1);
	long_path[0] = '/';
	long_path[sizeof(long_path) - 1] = '\0';
	assert_false(route_match(long_path, &m));
	assert_string_equal(route_template(ROUTE_NONE), "unmatched");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_not_routes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
