/* test_party.c - party records: members, host choice, validation, JSON. */
#include "test.h"

#include <stdio.h>
#include <string.h>

#include "control/party.h"
#include "crypto/rand.h"
#include "util/err.h"

static void make_peer(struct peer_info *p, const char *id, int64_t joined)
{
	wg_key priv;

	peer_info_init(p);
	snprintf(p->id, sizeof(p->id), "%s", id);
	snprintf(p->name, sizeof(p->name), "player %s", id);
	key_generate_private(priv);
	key_public_from_private(p->public_key, priv);
	p->joined_at_ms = joined;
	p->last_seen_ms = joined + 1000;
	p->nat_type = NAT_FULL_CONE;
	assert_true(addr_parse_ip(&p->virtual_ip, "10.66.0.9", NULL));
}

static void make_party(struct party_info *party)
{
	struct peer_info p;

	party_info_init(party);
	party_id_generate(party->id);
	strcpy(party->name, "Friday LAN");
	strcpy(party->host_id, "host");
	party->created_at_ms = 1795291200000ll;
	make_peer(&p, "host", 1795291200000ll);
	assert_true(party_info_put(party, &p, NULL));
	make_peer(&p, "guest1", 1795291260000ll);
	assert_true(party_info_put(party, &p, NULL));
	make_peer(&p, "guest2", 1795291230000ll);
	assert_true(party_info_put(party, &p, NULL));
}

static void test_members(void **state)
{
	struct party_info party;
	struct peer_info p;

	make_party(&party);
	assert_int_equal(party.n_members, 3);
	assert_non_null(party_info_find(&party, "guest1"));
	assert_null(party_info_find(&party, "nobody"));
	/* Put with an existing id replaces. */
	make_peer(&p, "guest1", 1);
	strcpy(p.name, "renamed");
	assert_true(party_info_put(&party, &p, NULL));
	assert_int_equal(party.n_members, 3);
	assert_string_equal(party_info_find(&party, "guest1")->name, "renamed");
	{
		struct party_info copy;

		party_info_init(&copy);
		assert_true(party_info_copy(&copy, &party));
		assert_int_equal(copy.n_members, 3);
		assert_string_equal(copy.id, party.id);
		assert_string_equal(copy.host_id, party.host_id);
		assert_string_equal(party_info_find(&copy, "guest1")->name, "renamed");
		/* Its own members: changing one leaves the other alone. */
		assert_true(party_info_remove(&copy, "host"));
		assert_non_null(party_info_find(&party, "host"));
		party_info_clear(&copy);
	}
	assert_true(party_info_remove(&party, "guest1"));
	assert_false(party_info_remove(&party, "guest1"));
	assert_int_equal(party.n_members, 2);
	party_info_clear(&party);
}

static void test_longest_member(void **state)
{
	struct party_info party;

	make_party(&party);
	assert_string_equal(party_info_longest_member(&party)->id, "host");
	assert_true(party_info_remove(&party, "host"));
	/* guest2 joined 30 s before guest1. */
	assert_string_equal(party_info_longest_member(&party)->id, "guest2");
	assert_true(party_info_remove(&party, "guest2"));
	assert_true(party_info_remove(&party, "guest1"));
	assert_null(party_info_longest_member(&party));
	party_info_clear(&party);
}

static void test_full(void **state)
{
	struct party_info party;
	struct peer_info p;
	errmsg err;
	char id[16];

	party_info_init(&party);
	party_id_generate(party.id);
	for (int i = 0; i < PARTY_MEMBERS_MAX; i++) {
		snprintf(id, sizeof(id), "p%d", i);
		make_peer(&p, id, i);
		assert_true(party_info_put(&party, &p, err));
	}
	make_peer(&p, "onemore", 0);
	assert_false(party_info_put(&party, &p, err));
	assert_non_null(strstr(err, "is full"));
	party_info_clear(&party);
}

static void test_json_roundtrip(void **state)
{
	struct party_info party, back;
	json_t *o, *o2;
	errmsg err;

	make_party(&party);
	o = party_info_to_json(&party);
	assert_int_equal(json_object_size(json_object_get(o, "peers")), 3);
	assert_true(party_info_from_json(&back, o, err));
	assert_string_equal(back.id, party.id);
	assert_string_equal(back.name, party.name);
	assert_string_equal(back.host_id, "host");
	assert_int_equal(back.created_at_ms, party.created_at_ms);
	assert_int_equal(back.n_members, 3);
	for (size_t i = 0; i < party.n_members; i++) {
		struct peer_info *m = party_info_find(&back, party.members[i].id);

		assert_non_null(m);
		assert_memory_equal(m, &party.members[i], sizeof(*m));
	}
	o2 = party_info_to_json(&back);
	assert_true(json_equal(o, o2));
	json_decref(o);
	json_decref(o2);
	party_info_clear(&party);
	party_info_clear(&back);
}

static void test_json_errors(void **state)
{
	static const struct {
		const char *path, *value, *expect;
	} cases[] = {
		{ "party_id", "\"ABCD\"", "field 'party_id'" },
		{ "party_id", NULL, "field 'party_id': missing" },
		{ "name", "\"\"", "field 'name'" },
		{ "host_id", "\"stranger\"", "field 'host_id': `stranger' is not a member" },
		{ "created_at", "\"soon\"", "field 'created_at'" },
		{ "peers", "[]", "field 'peers': expected an object" },
	};
	struct party_info party;
	json_t *good;

	make_party(&party);
	good = party_info_to_json(&party);
	party_info_clear(&party);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *o = json_deep_copy(good);
		errmsg err = "";

		if (cases[i].value)
			json_object_set_new(o, cases[i].path,
			                    json_loads(cases[i].value, JSON_DECODE_ANY, NULL));
		else
			json_object_del(o, cases[i].path);
		assert_false(party_info_from_json(&party, o, err));
		if (!strstr(err, cases[i].expect))
			fail_msg("case %zu: got \"%s\"", i, err);
		json_decref(o);
	}

	/* A bad member is reported with its key and field. */
	{
		json_t *o = json_deep_copy(good);
		json_t *g1 = json_object_get(json_object_get(o, "peers"), "guest1");
		errmsg err;

		json_object_set_new(g1, "nat_type", json_string("weird"));
		assert_false(party_info_from_json(&party, o, err));
		assert_string_equal(err,
		                    "peers['guest1']: field 'nat_type': unknown NAT type `weird'");
		json_object_set_new(g1, "nat_type", json_string("open"));
		json_object_set_new(g1, "peer_id", json_string("guest9"));
		assert_false(party_info_from_json(&party, o, err));
		assert_string_equal(err, "peers['guest1']: key does not match its peer_id");
		json_decref(o);
	}
	json_decref(good);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_members),     cmocka_unit_test(test_longest_member),
		cmocka_unit_test(test_full),        cmocka_unit_test(test_json_roundtrip),
		cmocka_unit_test(test_json_errors),
	};

	if (!rand_init())
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
