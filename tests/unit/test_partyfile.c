/* test_partyfile.c - the local discovery file: shapes, defensive reads, edits that keep the rest.
 */
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/partyfile.h"
#include "util/compiler.h"
#include "util/err.h"
#include "util/now.h"

/* Two parties: one well-formed (alice host, bob), one whose record is broken, and fields from later
 * versions at every level. */
static const char sample[] =
    "{\"version\": 1, \"future\": {\"x\": 1}, \"parties\": {"
    " \"M9S3-46Q3-D25V-T4F0\": {\"party_id\": \"M9S3-46Q3-D25V-T4F0\", \"name\": \"Friday LAN\","
    "  \"host_id\": \"a1b2c3d4e5f60718\", \"created_at\": \"2026-11-21T20:00:00Z\","
    "  \"network\": \"10.66.0.0/16\", \"theme\": \"dark\", \"peers\": {"
    "   \"a1b2c3d4e5f60718\": {\"peer_id\": \"a1b2c3d4e5f60718\", \"name\": \"alice\","
    "    \"public_key\": \"hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=\", \"nat_type\": \"open\","
    "    \"virtual_ip\": \"10.66.12.34\", \"joined_at\": \"2026-11-21T20:00:00Z\","
    "    \"last_seen\": \"2026-11-21T20:05:00Z\"},"
    "   \"b0b\": {\"peer_id\": \"b0b\", \"name\": \"bob\","
    "    \"public_key\": \"HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=\","
    "    \"public_ip\": \"198.51.100.4\", \"public_port\": 51820,"
    "    \"virtual_ip\": \"10.66.12.35\", \"joined_at\": \"2026-11-21T20:01:00Z\","
    "    \"last_seen\": \"2026-11-21T20:02:00Z\"}}},"
    " \"7KQ2-M9XD-4HTB-PW3R\": {\"party_id\": 17}}}";

static const char *const good_id = "M9S3-46Q3-D25V-T4F0";
static const char *const bad_id = "7KQ2-M9XD-4HTB-PW3R";

static int64_t at(const char *iso)
{
	int64_t ms;

	assert_true(now_parse_iso8601(iso, &ms));
	return ms;
}

static void load(struct partyfile *f, const char *text)
{
	errmsg err = "";

	if (partyfile_parse(f, text, strlen(text), err) != PARTYFILE_OK)
		fail_msg("parse: %s", err);
}

/* Dumps and parses again: what a second daemon would read. */
static void reload(struct partyfile *f)
{
	size_t len;
	char *text = partyfile_dump(f, &len);

	assert_non_null(text);
	partyfile_clear(f);
	load(f, text);
	free(text);
}

static void test_shapes(void **state)
{
	static const struct {
		const char *text;
		enum partyfile_status want;
		const char *says;
	} cases[] = {
		{ "{\"version\": 1, \"parties\": {}}", PARTYFILE_OK, NULL },
		{ "{\"version\": 1, \"parties\": {}, \"extra\": []}", PARTYFILE_OK, NULL },
		{ "not json", PARTYFILE_CORRUPT, "malformed JSON" },
		{ "{\"version\": 1, \"parties\": {", PARTYFILE_CORRUPT, "malformed JSON" },
		{ "[]", PARTYFILE_CORRUPT, "object" },
		{ "{\"parties\": {}}", PARTYFILE_CORRUPT, "version" },
		{ "{\"version\": \"1\", \"parties\": {}}", PARTYFILE_CORRUPT, "version" },
		{ "{\"version\": 0, \"parties\": {}}", PARTYFILE_CORRUPT, "version" },
		{ "{\"version\": 1}", PARTYFILE_CORRUPT, "parties" },
		{ "{\"version\": 1, \"parties\": []}", PARTYFILE_CORRUPT, "parties" },
		{ "{\"version\": 1, \"version\": 1, \"parties\": {}}", PARTYFILE_CORRUPT,
		  "duplicate" },
		{ "{\"version\": 2, \"parties\": 5}", PARTYFILE_NEWER, "newer" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct partyfile f;
		errmsg err = "";
		enum partyfile_status got =
		    partyfile_parse(&f, cases[i].text, strlen(cases[i].text), err);

		if (got != cases[i].want)
			fail_msg("case %zu `%s': got %d (%s)", i, cases[i].text, got, err);
		if (cases[i].says && !strstr(err, cases[i].says))
			fail_msg("case %zu: error `%s' does not say `%s'", i, err, cases[i].says);
		/* Whatever it was, f is usable (empty on failure). */
		assert_non_null(f.parties);
		if (got != PARTYFILE_OK)
			assert_int_equal(json_object_size(f.parties), 0);
		partyfile_clear(&f);
	}
}

static void test_get(void **state)
{
	struct partyfile f;
	struct party_info p;
	struct prefix net;
	errmsg err = "", dropped_err = "";
	char buf[PREFIX_STRLEN];
	size_t dropped = 99;

	load(&f, sample);
	assert_int_equal(partyfile_get(&f, good_id, &p, &net, &dropped, dropped_err, err),
	                 PARTYFILE_FOUND);
	assert_int_equal(dropped, 0);
	assert_int_equal(p.n_members, 2);
	assert_string_equal(p.name, "Friday LAN");
	assert_string_equal(p.host_id, "a1b2c3d4e5f60718");
	assert_string_equal(prefix_format(&net, buf), "10.66.0.0/16");
	assert_int_equal(party_info_find(&p, "b0b")->last_seen_ms, at("2026-11-21T20:02:00Z"));
	party_info_clear(&p);

	assert_int_equal(partyfile_get(&f, bad_id, &p, &net, NULL, NULL, err), PARTYFILE_MALFORMED);
	assert_non_null(strstr(err, "party_id"));
	assert_int_equal(partyfile_get(&f, "0000-0000-0000-0000", &p, &net, NULL, NULL, err),
	                 PARTYFILE_MISSING);
	assert_true(partyfile_has(&f, bad_id));
	assert_false(partyfile_has(&f, "0000-0000-0000-0000"));
	partyfile_clear(&f);
}

/* Writing one party leaves everything else as it was, down to fields we do not know. */
static void test_put_keeps_the_rest(void **state)
{
	struct partyfile f;
	struct party_info p;
	struct prefix net;
	const json_t *entry;

	load(&f, sample);
	assert_int_equal(partyfile_get(&f, good_id, &p, &net, NULL, NULL, NULL), PARTYFILE_FOUND);
	assert_true(party_info_remove(&p, "b0b"));
	assert_true(partyfile_put(&f, &p, &net, NULL));
	party_info_clear(&p);
	reload(&f);
	assert_int_equal(partyfile_get(&f, good_id, &p, &net, NULL, NULL, NULL), PARTYFILE_FOUND);
	assert_int_equal(p.n_members, 1);
	party_info_clear(&p);
	entry = json_object_get(f.parties, good_id);
	assert_string_equal(json_string_value(json_object_get(entry, "theme")), "dark");
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(f.root, "future"), "x")), 1);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(f.parties, bad_id), "party_id")),
	    17);

	/* A party without members is removed. */
	assert_int_equal(partyfile_get(&f, good_id, &p, &net, NULL, NULL, NULL), PARTYFILE_FOUND);
	assert_true(party_info_remove(&p, "a1b2c3d4e5f60718"));
	assert_true(partyfile_put(&f, &p, &net, NULL));
	party_info_clear(&p);
	assert_false(partyfile_has(&f, good_id));
	assert_true(partyfile_has(&f, bad_id));
	partyfile_clear(&f);
}

/* Members that cannot be used are left out, with the first reason; the rest of the party stands.
 */
static void test_bad_members(void **state)
{
	static const char *const members[] = {
		/* no virtual IP */
		"\"c1\": {\"peer_id\": \"c1\", \"name\": \"c\", \"public_key\": "
		"\"HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=\"}",
		/* outside the network */
		"\"c2\": {\"peer_id\": \"c2\", \"name\": \"c\", \"public_key\": "
		"\"HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=\", \"virtual_ip\": \"10.67.0.5\"}",
		/* the gateway */
		"\"c3\": {\"peer_id\": \"c3\", \"name\": \"c\", \"public_key\": "
		"\"HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=\", \"virtual_ip\": \"10.66.0.1\"}",
		/* the host's address again */
		"\"c4\": {\"peer_id\": \"c4\", \"name\": \"c\", \"public_key\": "
		"\"HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=\", \"virtual_ip\": \"10.66.1.2\"}",
		/* keyed under another id */
		"\"c5\": {\"peer_id\": \"c6\", \"name\": \"c\", \"public_key\": "
		"\"HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=\", \"virtual_ip\": \"10.66.1.9\"}",
		/* not a record */
		"\"c7\": \"hello\"",
		/* a bad key */
		"\"c8\": {\"peer_id\": \"c8\", \"name\": \"c\", \"public_key\": \"short\", "
		"\"virtual_ip\": \"10.66.1.10\"}",
	};

	for (size_t i = 0; i < ARRAY_SIZE(members); i++) {
		char text[2048];
		struct partyfile f;
		struct party_info p;
		struct prefix net;
		errmsg err = "", dropped_err = "";
		size_t dropped = 0;

		snprintf(
		    text, sizeof(text),
		    "{\"version\": 1, \"parties\": {\"%s\": {\"party_id\": \"%s\", "
		    "\"name\": \"n\", \"host_id\": \"h\", \"created_at\": "
		    "\"2026-11-21T20:00:00Z\", \"peers\": {\"h\": {\"peer_id\": \"h\", \"name\": "
		    "\"host\", \"public_key\": \"hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=\", "
		    "\"virtual_ip\": \"10.66.1.2\"}, %s}}}}",
		    good_id, good_id, members[i]);
		load(&f, text);
		if (partyfile_get(&f, good_id, &p, &net, &dropped, dropped_err, err) !=
		    PARTYFILE_FOUND)
			fail_msg("case %zu: %s", i, err);
		assert_int_equal(p.n_members, 1);
		assert_non_null(party_info_find(&p, "h"));
		assert_int_equal(dropped, 1);
		assert_non_null(strstr(dropped_err, "member"));
		party_info_clear(&p);
		partyfile_clear(&f);
	}
}

static void test_network(void **state)
{
	static const struct {
		const char *network;
		bool ok;
	} cases[] = {
		{ "\"10.66.0.0/16\"", true },
		{ "\"192.168.77.0/24\"", true },
		{ "\"10.66.0.0/31\"", false },
		{ "\"fd00::/64\"", false },
		{ "\"10.66.0.1/16\"", false },
		{ "16", false },
		{ "null", true }, /* the default */
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char text[512];
		struct partyfile f;
		struct party_info p;
		struct prefix net;
		errmsg err = "";

		snprintf(text, sizeof(text),
		         "{\"version\": 1, \"parties\": {\"%s\": {\"party_id\": \"%s\", \"name\": "
		         "\"n\", \"host_id\": \"\", \"created_at\": \"2026-11-21T20:00:00Z\", "
		         "\"network\": %s}}}",
		         good_id, good_id, cases[i].network);
		load(&f, text);
		assert_int_equal(partyfile_get(&f, good_id, &p, &net, NULL, NULL, err),
		                 cases[i].ok ? PARTYFILE_FOUND : PARTYFILE_MALFORMED);
		if (!cases[i].ok)
			assert_non_null(strstr(err, "network"));
		party_info_clear(&p);
		partyfile_clear(&f);
	}
}

/* Members unseen since the cutoff go (the keeper stays); the host role moves on; empty parties go.
 */
static void test_prune(void **state)
{
	struct partyfile f;
	struct party_info p;
	struct prefix net;

	load(&f, sample);
	/* Bob was last seen at 20:02, alice at 20:05. */
	assert_int_equal(partyfile_prune(&f, at("2026-11-21T20:01:00Z"), NULL), 0);
	assert_int_equal(partyfile_prune(&f, at("2026-11-21T20:03:00Z"), NULL), 1);
	reload(&f);
	assert_int_equal(partyfile_get(&f, good_id, &p, &net, NULL, NULL, NULL), PARTYFILE_FOUND);
	assert_int_equal(p.n_members, 1);
	assert_null(party_info_find(&p, "b0b"));
	party_info_clear(&p);
	/* The keeper survives any cutoff. */
	assert_int_equal(partyfile_prune(&f, at("2026-11-21T21:00:00Z"), "a1b2c3d4e5f60718"), 0);
	assert_true(partyfile_has(&f, good_id));
	assert_int_equal(partyfile_prune(&f, at("2026-11-21T21:00:00Z"), NULL), 1);
	assert_false(partyfile_has(&f, good_id));
	/* The malformed party is nobody's to prune. */
	assert_true(partyfile_has(&f, bad_id));
	partyfile_clear(&f);

	/* The host goes: the longest-standing member (bob) is host now. */
	load(&f, sample);
	assert_int_equal(partyfile_prune(&f, at("2026-11-21T21:00:00Z"), "b0b"), 1);
	assert_int_equal(partyfile_get(&f, good_id, &p, &net, NULL, NULL, NULL), PARTYFILE_FOUND);
	assert_string_equal(p.host_id, "b0b");
	party_info_clear(&p);
	partyfile_clear(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shapes),
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_put_keeps_the_rest),
		cmocka_unit_test(test_bad_members),
		cmocka_unit_test(test_network),
		cmocka_unit_test(test_prune),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
