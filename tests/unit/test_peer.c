/* test_peer.c - peer records: validation, JSON round trip, errors naming fields. */
#include "test.h"

#include <string.h>

#include "control/peer.h"
#include "crypto/rand.h"
#include "util/err.h"

static const char good_json[] = "{\"peer_id\":\"a1b2c3d4e5f60718\",\"name\":\"Alice\","
                                "\"public_key\":\"hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=\","
                                "\"nat_type\":\"port_restricted_cone\","
                                "\"public_ip\":\"203.0.113.7\",\"public_port\":40000,"
                                "\"local_ip\":\"192.168.1.20\",\"local_port\":51820,"
                                "\"global_ip\":\"2001:db8:7::20\",\"global_port\":51820,"
                                "\"virtual_ip\":\"10.66.12.34\","
                                "\"joined_at\":\"2026-11-21T20:00:00.000Z\","
                                "\"last_seen\":\"2026-11-21T20:00:30.250Z\"}";

static json_t *load(const char *text)
{
	json_t *o = json_loads(text, 0, NULL);

	assert_non_null(o);
	return o;
}

static void test_roundtrip(void **state)
{
	struct peer_info p, back;
	json_t *o = load(good_json), *out;
	char buf[ADDR_STRLEN];
	errmsg err;

	assert_true(peer_info_from_json(&p, o, err));
	assert_string_equal(p.id, "a1b2c3d4e5f60718");
	assert_string_equal(p.name, "Alice");
	assert_int_equal(p.nat_type, NAT_PORT_RESTRICTED_CONE);
	assert_string_equal(addr_format(&p.public_endpoint, buf), "203.0.113.7:40000");
	assert_string_equal(addr_format(&p.local_endpoint, buf), "192.168.1.20:51820");
	assert_string_equal(addr_format(&p.global_endpoint, buf), "[2001:db8:7::20]:51820");
	assert_string_equal(addr_format_ip(&p.virtual_ip, buf), "10.66.12.34");
	assert_int_equal(p.last_seen_ms - p.joined_at_ms, 30250);

	out = peer_info_to_json(&p);
	assert_true(json_equal(o, out));
	assert_true(peer_info_from_json(&back, out, err));
	assert_memory_equal(&p, &back, sizeof(p));
	json_decref(out);
	json_decref(o);
}

static void test_optional_fields(void **state)
{
	json_t *o = load("{\"peer_id\":\"x\",\"name\":\"Bob\","
	                 "\"public_key\":\"hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=\","
	                 "\"public_ip\":null,\"unknown_future_field\":1}"),
	       *out;
	struct peer_info p;
	errmsg err;

	assert_true(peer_info_from_json(&p, o, err));
	assert_int_equal(p.nat_type, NAT_UNKNOWN);
	assert_false(addr_is_set(&p.public_endpoint));
	assert_false(addr_is_set(&p.virtual_ip));
	assert_int_equal(p.last_seen_ms, 0);
	out = peer_info_to_json(&p);
	assert_true(json_is_null(json_object_get(out, "public_ip")));
	assert_true(json_is_null(json_object_get(out, "last_seen")));
	json_decref(out);
	json_decref(o);
}

/* Replaces one field of good_json (value is raw JSON; NULL deletes it). */
static json_t *with_field(const char *key, const char *value)
{
	json_t *o = load(good_json);

	if (value)
		json_object_set_new(o, key, json_loads(value, JSON_DECODE_ANY, NULL));
	else
		json_object_del(o, key);
	return o;
}

static void test_bad_fields(void **state)
{
	static const struct {
		const char *key, *value, *expect;
	} cases[] = {
		{ "peer_id", NULL, "field 'peer_id': missing" },
		{ "peer_id", "\"has space\"", "field 'peer_id'" },
		{ "peer_id", "\"\"", "field 'peer_id'" },
		{ "peer_id", "17", "field 'peer_id': expected a string" },
		{ "name", NULL, "field 'name': missing" },
		{ "name", "\"\"", "field 'name'" },
		{ "name", "\"   \"", "field 'name'" },
		{ "name", "\"bell\\u0007\"", "field 'name'" },
		{ "name", "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
		  "field 'name': too long (65 bytes, at most 64)" },
		{ "public_key", NULL, "field 'public_key': missing" },
		{ "public_key", "\"hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTm=\"",
		  "field 'public_key': not a valid key" },
		{ "public_key", "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"",
		  "field 'public_key': the all-zero key" },
		{ "nat_type", "\"moderate\"", "field 'nat_type': unknown NAT type `moderate'" },
		{ "public_ip", "\"203.0.113.300\"", "field 'public_ip'" },
		{ "public_port", "0", "field 'public_port': 0 is out of range" },
		{ "public_port", "65536", "field 'public_port'" },
		{ "public_port", "null", "field 'public_ip': given without 'public_port'" },
		{ "local_ip", "null", "field 'local_port': given without 'local_ip'" },
		{ "global_ip", "\"fd4c:5247:6c61::1\"", "field 'global_ip': not an IPv6 global" },
		{ "global_ip", "\"203.0.113.7\"", "field 'global_ip': not an IPv6 global" },
		{ "global_port", "0", "field 'global_port'" },
		{ "global_port", "null", "field 'global_ip': given without 'global_port'" },
		{ "virtual_ip", "\"10.66.0\"", "field 'virtual_ip'" },
		{ "last_seen", "\"yesterday\"", "field 'last_seen': not an ISO 8601 time" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *o = with_field(cases[i].key, cases[i].value);
		struct peer_info p;
		errmsg err = "";

		assert_false(peer_info_from_json(&p, o, err));
		if (!strstr(err, cases[i].expect))
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, err, cases[i].expect);
		json_decref(o);
	}
}

static void test_id_from_key(void **state)
{
	wg_key pub;
	char id[PEER_ID_MAX + 1];

	assert_true(key_from_base64(pub, "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=", NULL));
	peer_id_from_key(id, pub);
	assert_true(peer_id_valid(id));
	assert_int_equal(strlen(id), 16);
	assert_false(peer_id_valid(""));
	assert_false(peer_id_valid("a/b"));
	assert_true(peer_id_valid("host-1.lan_x"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_optional_fields),
		cmocka_unit_test(test_bad_fields),
		cmocka_unit_test(test_id_from_key),
	};

	if (!rand_init())
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
