/* test_control_api.c - lanrage-control over real HTTP, on SQLite or PostgreSQL.
 *
 *   test process (cmocka)                      lanrage-control (ASan build)
 *   control_client (libevent HTTP) --127.0.0.1--> evhttp -> registry -> store
 *                                                                        |
 *                                              SQLite file in a temp dir, or
 *                                              the PostgreSQL run.sh started
 *
 * Environment: LANRAGE_CONTROL (the server binary) and LANRAGE_TEST_DB
 * ("sqlite", or a postgresql:// URL).  Every wait has a deadline; no test
 * sleeps for a fixed time.
 */
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "control/party.h"
#include "control/party_id.h"
#include "crypto/key.h"
#include "nat/relay_token.h"
#include "api_tests.h"
#include "harness.h"
#include "util/err.h"
#include "util/now.h"

const char *binary;
const char *db; /* "sqlite" or a URL */
bool postgres;
char relay_secret_file[300];
const char *const relay_secret = "relay-secret-for-tests-0123456789";

/* Fails with the server's error message when the status is not the expected one. */
void expect_status(const struct reply *r, int status)
{
	if (r->status != status)
		fail_msg("got %d (%s), expected %d", r->status, r->error, status);
}

/* The main server most tests share. */
struct server_proc main_srv;

/* The --db flag for a new server: a fresh SQLite file, or the shared database. */
void db_flag(char *out, size_t size)
{
	char dir[256];

	if (!postgres) {
		scratch_dir(dir, sizeof(dir), "db");
		snprintf(out, size, "sqlite://%s/control.db", dir);
	} else {
		snprintf(out, size, "%s", db);
	}
}

void spawn(struct server_proc *s, const char *db_url, const char *const *extra)
{
	const char *flags[40];
	size_t n = 0;

	flags[n++] = "--db";
	flags[n++] = db_url;
	flags[n++] = "--relay-secret-file";
	flags[n++] = relay_secret_file;
	flags[n++] = "--log-level";
	flags[n++] = "debug";
	/* Tests register many peers at once; test_auth_rate_limit sets its own. */
	flags[n++] = "--auth-rate";
	flags[n++] = "100000";
	for (size_t i = 0; extra && extra[i]; i++)
		flags[n++] = extra[i]; /* later flags win */
	flags[n] = NULL;
	server_spawn(s, binary, flags);
}

static int group_setup(void **state)
{
	static const char *const extra[] = { "--max-party-size", "4",  "--max-body", "4096",
		                             "--events-ping",    "1s", NULL };
	char dir[256], url[300];
	FILE *f;

	scratch_dir(dir, sizeof(dir), "secret");
	snprintf(relay_secret_file, sizeof(relay_secret_file), "%s/relay.secret", dir);
	f = fopen(relay_secret_file, "w");
	if (!f)
		return -1;
	fprintf(f, "%s\n", relay_secret);
	fclose(f);
	db_flag(url, sizeof(url));
	spawn(&main_srv, url, extra);
	return 0;
}

static int group_teardown(void **state)
{
	server_stop(&main_srv);
	harness_kill_all();
	return 0;
}

/* A member description for create/join. */
struct peer_info self_desc(const char *name, const char *nat, const char *pub_ip, uint16_t port)
{
	struct peer_info p;

	peer_info_init(&p);
	snprintf(p.name, sizeof(p.name), "%s", name);
	assert_true(nat_type_parse(nat, &p.nat_type));
	if (pub_ip) {
		assert_true(addr_parse_ip(&p.public_endpoint, pub_ip, NULL));
		addr_set_port(&p.public_endpoint, port);
	}
	return p;
}

/* Creates a party as c; returns its id in out. */
void create_party(struct control_client *c, const char *name, char out[PARTY_ID_LEN + 1])
{
	struct peer_info self = self_desc("host", "open", "198.51.100.1", 51820);
	struct reply r = { 0 };

	CALL(r, control_party_create(c, name, &self, reply_cb, &r));
	if (r.status != 201)
		fail_msg("create: %d %s", r.status, r.error);
	snprintf(out, PARTY_ID_LEN + 1, "%s", jstr(r.body, "party_id"));
	assert_true(party_id_valid(out));
	reply_clear(&r);
}

void join_party(struct control_client *c, const char *party_id, const char *name)
{
	struct peer_info self = self_desc(name, "full_cone", "203.0.113.7", 40000);
	struct reply r = { 0 };

	CALL(r, control_party_join(c, party_id, &self, reply_cb, &r));
	if (r.status != 200)
		fail_msg("join: %d %s", r.status, r.error);
	reply_clear(&r);
}

/* A member's record as another member sees it. */
json_t *get_peer(struct control_client *c, const char *party_id, const char *peer_id,
                 int expect_status)
{
	struct reply r = { 0 };
	json_t *body;

	CALL(r, control_party_peer(c, party_id, peer_id, reply_cb, &r));
	if (r.status != expect_status)
		fail_msg("get peer %s: %d %s (expected %d)", peer_id, r.status, r.error,
		         expect_status);
	body = json_incref(r.body);
	reply_clear(&r);
	return body;
}

json_t *get_party(struct control_client *c, const char *party_id, int expect_status)
{
	struct reply r = { 0 };
	json_t *body;

	CALL(r, control_party_get(c, party_id, reply_cb, &r));
	if (r.status != expect_status)
		fail_msg("get party %s: %d %s (expected %d)", party_id, r.status, r.error,
		         expect_status);
	body = json_incref(r.body);
	reply_clear(&r);
	return body;
}

/* The status and error of a raw request; the error must name `needle` when given. */
void expect_raw(const char *method, const char *path, const char *auth, const char *body,
                int status, const char *needle)
{
	struct raw_reply rr;

	raw_call(&main_srv, method, path, auth, body, body ? strlen(body) : 0, &rr);
	if (rr.r.status != status)
		fail_msg("%s %s: got %d (%s), expected %d", method, path, rr.r.status,
		         rr.text ? rr.text : "", status);
	if (status >= 400 && !json_is_string(json_object_get(rr.r.body, "error")))
		fail_msg("%s %s: a %d without a JSON error body: %s", method, path, status,
		         rr.text ? rr.text : "");
	if (needle && !strstr(rr.r.error, needle))
		fail_msg("%s %s: error `%s' does not mention `%s'", method, path, rr.r.error,
		         needle);
	raw_clear(&rr);
}

void bearer(char *out, size_t size, struct control_client *c)
{
	snprintf(out, size, "Bearer %s", control_client_token(c));
}

static void test_health(void **state)
{
	struct control_client *c = client_new(&main_srv, false);
	struct reply r = { 0 };

	CALL(r, control_request(c, "GET", "/", NULL, false, reply_cb, &r));
	expect_status(&r, 200);
	assert_string_equal(jstr(r.body, "service"), "lanrage-control");
	assert_string_equal(jstr(r.body, "status"), "ok");
	assert_string_equal(jstr(r.body, "version"), LANRAGE_VERSION);
	assert_string_equal(jstr(r.body, "backend"), postgres ? "postgresql" : "sqlite");
	assert_true(json_is_integer(json_object_get(r.body, "parties")));
	assert_true(json_is_integer(json_object_get(r.body, "relays")));
	reply_clear(&r);
	control_client_destroy(c);
}

static void test_bad_input(void **state)
{
	struct control_client *c = client_new(&main_srv, true);
	char auth[128], path[128], party_id[PARTY_ID_LEN + 1], other[PARTY_ID_LEN + 1];
	char *big;

	bearer(auth, sizeof(auth), c);
	create_party(c, "Bad Input", party_id);
	snprintf(path, sizeof(path), "/parties/%s/join", party_id);

	/* Routes and methods. */
	expect_raw("GET", "/nope", NULL, NULL, 404, "no such resource");
	expect_raw("GET", "/parties/x/y/z/w/v", NULL, NULL, 404, NULL);
	expect_raw("PUT", "/parties", auth, NULL, 405, "not allowed");
	{
		struct raw_reply rr;

		raw_call(&main_srv, "DELETE", "/relays", NULL, NULL, 0, &rr);
		assert_int_equal(rr.r.status, 405);
		assert_string_equal(rr.allow, "GET, POST");
		raw_clear(&rr);
	}
	/* Bodies. */
	expect_raw("POST", "/auth/challenge", NULL, "{", 400, "request body");
	expect_raw("POST", "/auth/challenge", NULL, "[1,2]", 400, "request body");
	expect_raw("POST", "/auth/challenge", NULL, "", 400, "expected a JSON object");
	expect_raw("POST", "/auth/challenge", NULL, "{}", 400, "'public_key': missing");
	expect_raw("POST", "/auth/challenge", NULL, "{\"public_key\": 7}", 400, "public_key");
	expect_raw("POST", "/auth/challenge", NULL, "{\"public_key\": \"AAAA\"}", 400,
	           "public_key");
	expect_raw("POST", "/auth/challenge", NULL,
	           "{\"public_key\": \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}", 400,
	           "public_key");
	expect_raw("POST", "/auth/register", NULL, "{\"public_key\": \"AAAA\"}", 400, "public_key");
	expect_raw("POST", path, auth, "{\"peer\": {\"name\": \"x\", \"nat_type\": \"weird\"}}",
	           400, "nat_type");
	expect_raw("POST", path, auth,
	           "{\"peer\": {\"name\": \"x\", \"public_ip\": \"999.1.1.1\", "
	           "\"public_port\": 5}}",
	           400, "public_ip");
	expect_raw("POST", path, auth,
	           "{\"peer\": {\"name\": \"x\", \"public_ip\": \"1.2.3.4\", "
	           "\"public_port\": 70000}}",
	           400, "public_port");
	expect_raw("POST", path, auth, "{\"peer\": {\"name\": \"x\", \"local_ip\": \"1.2.3.4\"}}",
	           400, "local_port");
	/* The IPv6 endpoint must be a global address: a ULA or IPv4 reaches no one across the
	 * internet. */
	expect_raw("POST", path, auth,
	           "{\"peer\": {\"name\": \"x\", \"global_ip\": \"fd00::1\", "
	           "\"global_port\": 5}}",
	           400, "global_ip");
	expect_raw("POST", path, auth,
	           "{\"peer\": {\"name\": \"x\", \"global_ip\": \"203.0.113.5\", "
	           "\"global_port\": 5}}",
	           400, "IPv6 global");
	expect_raw("POST", path, auth,
	           "{\"peer\": {\"name\": \"x\", \"global_ip\": \"2001:db8::5\"}}", 400,
	           "global_port");
	expect_raw("POST", path, auth, "{\"peer\": {}}", 400, "'name': missing");
	expect_raw("POST", path, auth, "{\"peer\": \"bob\"}", 400, "peer");
	expect_raw(
	    "POST", "/parties", auth,
	    "{\"name\": \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxx\", \"peer\": {\"name\": \"a\"}}",
	    400, "too long");
	expect_raw("POST", "/parties", auth, "{\"name\": \"\\u0001\", \"peer\": {\"name\": \"a\"}}",
	           400, "'name'");
	/* Over our limit: a JSON 413.  Far over it: evhttp's own 413. */
	big = malloc(2 << 20);
	memset(big, ' ', 2 << 20);
	big[0] = '{';
	big[5000] = '}';
	big[5001] = '\0';
	expect_raw("POST", "/parties", auth, big, 413, "at most 4096");
	{
		struct raw_reply rr;

		big[5001] = ' ';
		big[(2 << 20) - 1] = '}';
		raw_call(&main_srv, "POST", "/parties", auth, big, 2 << 20, &rr);
		assert_true(rr.r.status == 413 || rr.r.status == 0);
		raw_clear(&rr);
	}
	free(big);
	/* Ids in paths. */
	snprintf(other, sizeof(other), "%s", party_id);
	other[0] = other[0] == 'A' ? 'B' : 'A'; /* a typo the check symbol catches */
	snprintf(path, sizeof(path), "/parties/%s", other);
	expect_raw("GET", path, auth, NULL, 400, "party id");
	expect_raw("GET", "/parties/not-a-party", auth, NULL, 400, "party id");
	{
		char unknown[PARTY_ID_LEN + 1];

		party_id_generate(unknown);
		snprintf(path, sizeof(path), "/parties/%s", unknown);
		expect_raw("GET", path, auth, NULL, 404, "not found");
	}
	snprintf(path, sizeof(path), "/parties/%s/peers/bad%%21id", party_id);
	expect_raw("GET", path, auth, NULL, 400, "peer id");
	expect_raw("GET", "/relays/bad!region", NULL, NULL, 400, "region");
	/* Tokens. */
	snprintf(path, sizeof(path), "/parties/%s", party_id);
	expect_raw("GET", path, NULL, NULL, 401, "Authorization");
	expect_raw("GET", path, "Bearer nothex", NULL, 401, "malformed");
	expect_raw("GET", path,
	           "Bearer 00000000000000000000000000000000000000000000000000000000000000ff", NULL,
	           401, "unknown or expired");
	/* And the server is still well. */
	expect_raw("GET", "/", NULL, NULL, 200, NULL);
	control_client_destroy(c);
}

/* Does the challenge-response by hand, so that the test can break it. */
static void test_register_proof(void **state)
{
	uint8_t priv[32], pub[32], other_pub[32], other_priv[32], box[80], r[32];
	char pub64[KEY_B64_LEN + 1], other64[KEY_B64_LEN + 1], resp[64], body[512];
	char challenge[128];
	struct raw_reply rr;
	size_t len;

	key_generate_private(priv);
	key_public_from_private(pub, priv);
	key_generate_private(other_priv);
	key_public_from_private(other_pub, other_priv);
	key_to_base64(pub64, pub);
	key_to_base64(other64, other_pub);

	snprintf(body, sizeof(body), "{\"public_key\": \"%s\"}", pub64);
	raw_call(&main_srv, "POST", "/auth/challenge", NULL, body, strlen(body), &rr);
	assert_int_equal(rr.r.status, 200);
	snprintf(challenge, sizeof(challenge), "%s", jstr(rr.r.body, "challenge"));
	assert_int_equal(sodium_base642bin(box, sizeof(box), jstr(rr.r.body, "sealed"),
	                                   strlen(jstr(rr.r.body, "sealed")), NULL, &len, NULL,
	                                   sodium_base64_VARIANT_ORIGINAL),
	                 0);
	assert_int_equal(len, sizeof(box));
	raw_clear(&rr);
	/* Without the private key the box does not open... */
	assert_int_not_equal(crypto_box_seal_open(r, box, sizeof(box), pub, other_priv), 0);
	/* ...and a guessed answer is refused. */
	memset(r, 0x42, sizeof(r));
	sodium_bin2base64(resp, sizeof(resp), r, sizeof(r), sodium_base64_VARIANT_ORIGINAL);
	snprintf(body, sizeof(body),
	         "{\"public_key\": \"%s\", \"challenge\": \"%s\", \"response\": \"%s\"}", pub64,
	         challenge, resp);
	expect_raw("POST", "/auth/register", NULL, body, 401, "wrong response");

	assert_int_equal(crypto_box_seal_open(r, box, sizeof(box), pub, priv), 0);
	sodium_bin2base64(resp, sizeof(resp), r, sizeof(r), sodium_base64_VARIANT_ORIGINAL);
	/* The right answer for another key is no proof for that key. */
	snprintf(body, sizeof(body),
	         "{\"public_key\": \"%s\", \"challenge\": \"%s\", \"response\": \"%s\"}", other64,
	         challenge, resp);
	expect_raw("POST", "/auth/register", NULL, body, 401, "wrong response");
	/* The holder of the key gets a token for its own peer id, once. */
	snprintf(body, sizeof(body),
	         "{\"public_key\": \"%s\", \"challenge\": \"%s\", \"response\": \"%s\"}", pub64,
	         challenge, resp);
	raw_call(&main_srv, "POST", "/auth/register", NULL, body, strlen(body), &rr);
	assert_int_equal(rr.r.status, 200);
	{
		char id[PEER_ID_MAX + 1];

		peer_id_from_key(id, pub);
		assert_string_equal(jstr(rr.r.body, "peer_id"), id);
		assert_int_equal(strlen(jstr(rr.r.body, "token")), 64);
		assert_true(strlen(jstr(rr.r.body, "expires_at")) > 0);
	}
	raw_clear(&rr);
	expect_raw("POST", "/auth/register", NULL, body, 401, "already used");
}

static void test_party_flow(void **state)
{
	struct control_client *a = client_new(&main_srv, true), *b = client_new(&main_srv, true);
	struct control_client *c = client_new(&main_srv, true), *d = client_new(&main_srv, true);
	struct control_client *e = client_new(&main_srv, true);
	char party_id[PARTY_ID_LEN + 1], typed[32], vip_b[32];
	struct reply r = { 0 };
	json_t *party, *peer;

	create_party(a, "Friday LAN", party_id);
	join_party(b, party_id, "bob");
	/* Ids are typed leniently: lower case, no dashes. */
	snprintf(typed, sizeof(typed), "%.4s%.4s%.4s%.4s", party_id, party_id + 5, party_id + 10,
	         party_id + 15);
	for (char *p = typed; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	join_party(c, typed, "carol");

	party = get_party(b, party_id, 200);
	{
		/* The daemon reads replies with the foundation's own parser. */
		struct party_info parsed;
		errmsg err;

		if (!party_info_from_json(&parsed, party, err))
			fail_msg("party_info_from_json: %s", err);
		assert_int_equal(parsed.n_members, 3);
		assert_string_equal(parsed.host_id, control_client_peer_id(a));
		party_info_clear(&parsed);
	}
	assert_string_equal(jstr(party, "party_id"), party_id);
	assert_string_equal(jstr(party, "name"), "Friday LAN");
	assert_string_equal(jstr(party, "host_id"), control_client_peer_id(a));
	assert_int_equal(json_object_size(json_object_get(party, "peers")), 3);
	{
		/* Distinct addresses in 10.66.0.0/16, never network, gateway or broadcast. */
		const char *ips[3];
		const char *ids[3] = { control_client_peer_id(a), control_client_peer_id(b),
			               control_client_peer_id(c) };

		for (int i = 0; i < 3; i++) {
			json_t *m = json_object_get(json_object_get(party, "peers"), ids[i]);

			assert_non_null(m);
			ips[i] = jstr(m, "virtual_ip");
			assert_true(strncmp(ips[i], "10.66.", 6) == 0);
			assert_string_not_equal(ips[i], "10.66.0.0");
			assert_string_not_equal(ips[i], "10.66.0.1");
			assert_string_not_equal(ips[i], "10.66.255.255");
		}
		assert_string_not_equal(ips[0], ips[1]);
		assert_string_not_equal(ips[0], ips[2]);
		assert_string_not_equal(ips[1], ips[2]);
		snprintf(vip_b, sizeof(vip_b), "%s", ips[1]);
	}
	json_decref(party);

	CALL(r, control_party_peers(c, party_id, reply_cb, &r));
	expect_status(&r, 200);
	assert_int_equal(json_object_size(json_object_get(r.body, "peers")), 3);
	reply_clear(&r);

	peer = get_peer(c, party_id, control_client_peer_id(a), 200);
	assert_string_equal(jstr(peer, "public_ip"), "198.51.100.1");
	assert_int_equal(json_integer_value(json_object_get(peer, "public_port")), 51820);
	assert_string_equal(jstr(peer, "nat_type"), "open");
	json_decref(peer);

	/* A heartbeat shows in last_seen at once, before any batch is written. */
	peer = get_peer(a, party_id, control_client_peer_id(b), 200);
	{
		int64_t before = 0, after = 0;
		json_t *again;

		assert_true(now_parse_iso8601(jstr(peer, "last_seen"), &before));
		CALL(r, control_heartbeat(b, party_id, reply_cb, &r));
		expect_status(&r, 200);
		assert_string_equal(jstr(r.body, "status"), "ok");
		reply_clear(&r);
		again = get_peer(a, party_id, control_client_peer_id(b), 200);
		assert_true(now_parse_iso8601(jstr(again, "last_seen"), &after));
		assert_true(after >= before);
		json_decref(again);
	}
	json_decref(peer);

	/* A member updates its own endpoints and NAT type. */
	{
		struct peer_info upd;

		peer_info_init(&upd);
		upd.nat_type = NAT_SYMMETRIC;
		assert_true(addr_parse(&upd.public_endpoint, "203.0.113.99:1234", NULL));
		assert_true(addr_parse(&upd.local_endpoint, "192.168.1.20:51820", NULL));
		CALL(r, control_update(c, party_id, &upd, reply_cb, &r));
		expect_status(&r, 200);
		reply_clear(&r);
		peer = get_peer(a, party_id, control_client_peer_id(c), 200);
		assert_string_equal(jstr(peer, "nat_type"), "symmetric");
		assert_string_equal(jstr(peer, "public_ip"), "203.0.113.99");
		assert_int_equal(json_integer_value(json_object_get(peer, "public_port")), 1234);
		assert_string_equal(jstr(peer, "local_ip"), "192.168.1.20");
		assert_string_equal(jstr(peer, "name"), "carol");
		assert_true(json_is_null(json_object_get(peer, "global_ip")));
		json_decref(peer);

		/* An IPv6 global endpoint comes, and goes again (an update without one clears it).
		 */
		assert_true(addr_parse(&upd.global_endpoint, "[2001:db8:7::2]:51820", NULL));
		CALL(r, control_update(c, party_id, &upd, reply_cb, &r));
		expect_status(&r, 200);
		reply_clear(&r);
		peer = get_peer(a, party_id, control_client_peer_id(c), 200);
		assert_string_equal(jstr(peer, "global_ip"), "2001:db8:7::2");
		assert_int_equal(json_integer_value(json_object_get(peer, "global_port")), 51820);
		assert_string_equal(jstr(peer, "public_ip"), "203.0.113.99");
		json_decref(peer);
		addr_clear(&upd.global_endpoint);
		CALL(r, control_update(c, party_id, &upd, reply_cb, &r));
		expect_status(&r, 200);
		reply_clear(&r);
		peer = get_peer(a, party_id, control_client_peer_id(c), 200);
		assert_true(json_is_null(json_object_get(peer, "global_ip")));
		assert_true(json_is_null(json_object_get(peer, "global_port")));
		assert_string_equal(jstr(peer, "public_ip"), "203.0.113.99");
		json_decref(peer);
	}

	/* Leaving and rejoining keeps the address. */
	CALL(r, control_party_leave(b, party_id, reply_cb, &r));
	expect_status(&r, 200);
	reply_clear(&r);
	json_decref(get_peer(a, party_id, control_client_peer_id(b), 404));
	join_party(d, party_id, "dave");
	join_party(b, party_id, "bob again");
	peer = get_peer(a, party_id, control_client_peer_id(b), 200);
	assert_string_equal(jstr(peer, "virtual_ip"), vip_b);
	assert_string_equal(jstr(peer, "name"), "bob again");
	json_decref(peer);

	/* This server's limit is 4 members. */
	{
		struct peer_info self = self_desc("eve", "unknown", NULL, 0);

		CALL(r, control_party_join(e, party_id, &self, reply_cb, &r));
		expect_status(&r, 409);
		assert_non_null(strstr(r.error, "full"));
		reply_clear(&r);
	}
	control_client_destroy(a);
	control_client_destroy(b);
	control_client_destroy(c);
	control_client_destroy(d);
	control_client_destroy(e);
}

/* The host removes a member, who cannot come back to that party; nobody else may remove one. */
static void test_kick(void **state)
{
	struct control_client *a = client_new(&main_srv, true), *b = client_new(&main_srv, true);
	struct control_client *c = client_new(&main_srv, true);
	char party_id[PARTY_ID_LEN + 1], auth_a[128], auth_c[128], path[200];
	struct reply r = { 0 };
	json_t *party;

	bearer(auth_a, sizeof(auth_a), a);
	bearer(auth_c, sizeof(auth_c), c);
	create_party(a, "Kick Night", party_id);
	join_party(b, party_id, "bob");
	join_party(c, party_id, "carol");
	snprintf(path, sizeof(path), "/parties/%s/peers/%s", party_id, control_client_peer_id(b));
	expect_raw("DELETE", path, auth_c, NULL, 403, "only the party's host");
	expect_raw("DELETE", path, auth_a, NULL, 200, NULL);
	json_decref(get_peer(a, party_id, control_client_peer_id(b), 404));
	/* Kept out: joining again is refused, with the reason. */
	{
		struct peer_info self = self_desc("bob again", "open", "198.51.100.9", 51820);

		CALL(r, control_party_join(b, party_id, &self, reply_cb, &r));
		expect_status(&r, 403);
		assert_non_null(strstr(r.error, "removed you"));
		reply_clear(&r);
	}
	/* An unknown member is 404. */
	snprintf(path, sizeof(path), "/parties/%s/peers/0123456789abcdef", party_id);
	expect_raw("DELETE", path, auth_a, NULL, 404, "not a member");
	/* Carol is still in, and bob's ban is for this party only. */
	CALL(r, control_party_get(a, party_id, reply_cb, &r));
	expect_status(&r, 200);
	party = json_object_get(r.body, "peers");
	assert_int_equal(json_object_size(party), 2);
	assert_non_null(json_object_get(party, control_client_peer_id(c)));
	reply_clear(&r);
	{
		char other[PARTY_ID_LEN + 1];

		create_party(c, "Another Night", other);
		join_party(b, other, "bob elsewhere");
	}
	/* The host, and only the host, sees whom it removed, by name. */
	snprintf(path, sizeof(path), "/parties/%s/bans", party_id);
	expect_raw("GET", path, auth_c, NULL, 403, "only the party's host");
	{
		struct raw_reply rr;
		const json_t *bans, *ban;

		raw_call(&main_srv, "GET", path, auth_a, NULL, 0, &rr);
		assert_int_equal(rr.r.status, 200);
		bans = json_object_get(rr.r.body, "bans");
		assert_int_equal(json_array_size(bans), 1);
		ban = json_array_get(bans, 0);
		assert_string_equal(json_string_value(json_object_get(ban, "peer_id")),
		                    control_client_peer_id(b));
		assert_string_equal(json_string_value(json_object_get(ban, "name")), "bob");
		assert_true(json_integer_value(json_object_get(ban, "banned_at")) > 1700000000000);
		raw_clear(&rr);
	}
	/* Only the host lets bob back in; then he joins; a second unban finds nothing. */
	snprintf(path, sizeof(path), "/parties/%s/bans/%s", party_id, control_client_peer_id(b));
	expect_raw("DELETE", path, auth_c, NULL, 403, "only the party's host");
	expect_raw("DELETE", path, auth_a, NULL, 200, NULL);
	expect_raw("DELETE", path, auth_a, NULL, 404, "was not removed");
	{
		struct raw_reply rr;

		snprintf(path, sizeof(path), "/parties/%s/bans", party_id);
		raw_call(&main_srv, "GET", path, auth_a, NULL, 0, &rr);
		assert_int_equal(rr.r.status, 200);
		assert_int_equal(json_array_size(json_object_get(rr.r.body, "bans")), 0);
		raw_clear(&rr);
	}
	join_party(b, party_id, "bob is back");
	control_client_destroy(a);
	control_client_destroy(b);
	control_client_destroy(c);
}

static void test_impersonation(void **state)
{
	struct control_client *a = client_new(&main_srv, true), *b = client_new(&main_srv, true);
	struct control_client *x = client_new(&main_srv, true);
	char party_id[PARTY_ID_LEN + 1], auth_b[128], auth_x[128], path[200], body[300];
	char a_key[KEY_B64_LEN + 1];
	const char *a_id = control_client_peer_id(a);
	json_t *party;

	create_party(a, "Trust", party_id);
	join_party(b, party_id, "bob");
	bearer(auth_b, sizeof(auth_b), b);
	bearer(auth_x, sizeof(auth_x), x);

	/* B may not remove A (only the host may), heartbeat or update as A. */
	snprintf(path, sizeof(path), "/parties/%s/peers/%s", party_id, a_id);
	expect_raw("DELETE", path, auth_b, NULL, 403, "only the party's host");
	expect_raw("PATCH", path, auth_b, "{\"nat_type\": \"open\"}", 403, "may not update");
	snprintf(path, sizeof(path), "/parties/%s/peers/%s/heartbeat", party_id, a_id);
	expect_raw("POST", path, auth_b, NULL, 403, "may not heartbeat");
	/* Nor claim A's id or key in a body. */
	snprintf(path, sizeof(path), "/parties/%s/join", party_id);
	snprintf(body, sizeof(body), "{\"peer\": {\"name\": \"x\", \"peer_id\": \"%s\"}}", a_id);
	expect_raw("POST", path, auth_x, body, 403, "not your peer id");
	{
		json_t *p = get_peer(b, party_id, a_id, 200);

		snprintf(a_key, sizeof(a_key), "%s", jstr(p, "public_key"));
		json_decref(p);
	}
	snprintf(body, sizeof(body), "{\"peer\": {\"name\": \"x\", \"public_key\": \"%s\"}}",
	         a_key);
	expect_raw("POST", path, auth_x, body, 403, "public_key");
	/* An outsider sees nothing of the party. */
	snprintf(path, sizeof(path), "/parties/%s", party_id);
	expect_raw("GET", path, auth_x, NULL, 403, "not a member");
	snprintf(path, sizeof(path), "/parties/%s/peers", party_id);
	expect_raw("GET", path, auth_x, NULL, 403, "not a member");
	snprintf(path, sizeof(path), "/parties/%s/peers/%s", party_id, a_id);
	expect_raw("GET", path, auth_x, NULL, 403, "not a member");
	snprintf(path, sizeof(path), "/parties/%s/events", party_id);
	expect_raw("GET", path, auth_x, NULL, 403, "not a member");
	snprintf(path, sizeof(path), "/parties/%s/signal", party_id);
	snprintf(body, sizeof(body), "{\"to\": \"%s\", \"data\": 1}", a_id);
	expect_raw("POST", path, auth_x, body, 403, "not a member");
	snprintf(path, sizeof(path), "/parties/%s/peers/%s/heartbeat", party_id,
	         control_client_peer_id(x));
	expect_raw("POST", path, auth_x, NULL, 404, "not a member");

	/* Nothing was lost. */
	party = get_party(a, party_id, 200);
	assert_int_equal(json_object_size(json_object_get(party, "peers")), 2);
	assert_string_equal(jstr(party, "host_id"), a_id);
	json_decref(party);
	control_client_destroy(a);
	control_client_destroy(b);
	control_client_destroy(x);
}

static void test_events_and_signal(void **state)
{
	struct control_client *a = client_new(&main_srv, true), *b = client_new(&main_srv, true);
	struct control_client *c = client_new(&main_srv, true), *d = client_new(&main_srv, true);
	char party_id[PARTY_ID_LEN + 1];
	struct ev_queue qb, qc;
	struct reply r = { 0 };
	json_t *ev, *data;

	create_party(a, "Events", party_id);
	join_party(b, party_id, "bob");
	join_party(c, party_id, "carol");
	evq_open(&qb, b, party_id);
	evq_open(&qc, c, party_id);

	join_party(d, party_id, "dave");
	ev = evq_wait(&qb, "member_joined", "peer_id", control_client_peer_id(d));
	assert_string_equal(jstr(json_object_get(ev, "peer"), "name"), "dave");
	assert_true(strncmp(jstr(json_object_get(ev, "peer"), "virtual_ip"), "10.66.", 6) == 0);
	json_decref(ev);
	json_decref(evq_wait(&qc, "member_joined", "peer_id", control_client_peer_id(d)));

	{
		struct peer_info upd;

		peer_info_init(&upd);
		upd.nat_type = NAT_RESTRICTED_CONE;
		CALL(r, control_update(d, party_id, &upd, reply_cb, &r));
		expect_status(&r, 200);
		reply_clear(&r);
	}
	ev = evq_wait(&qb, "member_updated", "peer_id", control_client_peer_id(d));
	assert_string_equal(jstr(json_object_get(ev, "peer"), "nat_type"), "restricted_cone");
	json_decref(ev);

	/* A signal reaches its addressee only. */
	data = json_pack("{s:s, s:s}", "kind", "candidates", "addr", "198.51.100.9:4000");
	CALL(r, control_signal(a, party_id, control_client_peer_id(b), data, reply_cb, &r));
	expect_status(&r, 200);
	reply_clear(&r);
	json_decref(data);
	ev = evq_wait(&qb, "signal", "from", control_client_peer_id(a));
	assert_string_equal(jstr(ev, "to"), control_client_peer_id(b));
	assert_string_equal(jstr(json_object_get(ev, "data"), "addr"), "198.51.100.9:4000");
	json_decref(ev);
	data = json_string("for carol");
	CALL(r, control_signal(a, party_id, control_client_peer_id(c), data, reply_cb, &r));
	expect_status(&r, 200);
	reply_clear(&r);
	json_decref(data);
	ev = evq_wait(&qc, "signal", "to", control_client_peer_id(c));
	assert_string_equal(json_string_value(json_object_get(ev, "data")), "for carol");
	json_decref(ev);
	/* Delivered in order: had carol been sent bob's signal, it would be here by now. */
	assert_false(evq_has(&qc, "signal", "to", control_client_peer_id(b)));

	/* Signals to non-members, and oversized ones, are refused. */
	data = json_integer(1);
	CALL(r, control_signal(a, party_id, "0123456789abcdef", data, reply_cb, &r));
	expect_status(&r, 404);
	reply_clear(&r);
	json_decref(data);
	{
		char *blob = malloc(5000);

		memset(blob, 'x', 4999);
		blob[4999] = '\0';
		data = json_string(blob);
		free(blob);
		CALL(r, control_signal(a, party_id, control_client_peer_id(b), data, reply_cb, &r));
		assert_true(r.status == 413);
		reply_clear(&r);
		json_decref(data);
	}

	/* Leaving ends the leaver's own stream, after telling everyone. */
	CALL(r, control_party_leave(c, party_id, reply_cb, &r));
	expect_status(&r, 200);
	reply_clear(&r);
	json_decref(evq_wait(&qb, "member_left", "peer_id", control_client_peer_id(c)));
	json_decref(evq_wait(&qc, "member_left", "peer_id", control_client_peer_id(c)));
	evq_wait_end(&qc);
	evq_close(&qc);
	evq_close(&qb);
	control_client_destroy(a);
	control_client_destroy(b);
	control_client_destroy(c);
	control_client_destroy(d);
}

static void test_host_migration(void **state)
{
	struct control_client *a = client_new(&main_srv, true), *b = client_new(&main_srv, true);
	struct control_client *c = client_new(&main_srv, true);
	char party_id[PARTY_ID_LEN + 1];
	struct ev_queue qc;
	struct reply r = { 0 };
	json_t *ev, *party;

	create_party(a, "Migration", party_id);
	join_party(b, party_id, "bob");
	join_party(c, party_id, "carol");
	evq_open(&qc, c, party_id);

	/* The host leaves: the longest-standing member (bob) hosts. */
	CALL(r, control_party_leave(a, party_id, reply_cb, &r));
	expect_status(&r, 200);
	reply_clear(&r);
	ev = evq_wait(&qc, "member_left", "peer_id", control_client_peer_id(a));
	assert_string_equal(jstr(ev, "reason"), "left");
	json_decref(ev);
	ev = evq_wait(&qc, "host_changed", "host_id", control_client_peer_id(b));
	assert_string_equal(jstr(ev, "previous_host_id"), control_client_peer_id(a));
	json_decref(ev);
	party = get_party(c, party_id, 200);
	assert_string_equal(jstr(party, "host_id"), control_client_peer_id(b));
	assert_int_equal(json_object_size(json_object_get(party, "peers")), 2);
	json_decref(party);

	CALL(r, control_party_leave(b, party_id, reply_cb, &r));
	expect_status(&r, 200);
	reply_clear(&r);
	json_decref(evq_wait(&qc, "host_changed", "host_id", control_client_peer_id(c)));

	/* The last member leaves: the party is gone, and says so. */
	CALL(r, control_party_leave(c, party_id, reply_cb, &r));
	expect_status(&r, 200);
	reply_clear(&r);
	json_decref(evq_wait(&qc, "member_left", "peer_id", control_client_peer_id(c)));
	json_decref(evq_wait(&qc, "party_closed", "party_id", party_id));
	evq_wait_end(&qc);
	evq_close(&qc);
	json_decref(get_party(c, party_id, 404));
	{
		struct peer_info self = self_desc("late", "open", NULL, 0);

		CALL(r, control_party_join(a, party_id, &self, reply_cb, &r));
		expect_status(&r, 404);
		reply_clear(&r);
	}
	control_client_destroy(a);
	control_client_destroy(b);
	control_client_destroy(c);
}

static void test_relays(void **state)
{
	char auth[128], region_eu[64], body[300];
	struct control_client *c = client_new(&main_srv, false);
	struct reply r = { 0 };
	struct raw_reply rr;
	char id1[64], id2[64];

	snprintf(id1, sizeof(id1), "relay-%u-eu", (unsigned)now_mono_ns() % 100000u);
	snprintf(id2, sizeof(id2), "relay-%u-us", (unsigned)now_mono_ns() % 100000u);
	snprintf(region_eu, sizeof(region_eu), "eu-%u", (unsigned)now_mono_ns() % 100000u);
	snprintf(body, sizeof(body),
	         "{\"relay_id\": \"%s\", \"public_ip\": \"198.51.100.50\", \"port\": 51820, "
	         "\"region\": \"%s\", \"capacity\": 200}",
	         id1, region_eu);
	expect_raw("POST", "/relays", NULL, body, 401, "relay secret");
	expect_raw("POST", "/relays", "Bearer wrong-secret-wrong-secret", body, 403, "wrong relay");
	snprintf(auth, sizeof(auth), "Bearer %s", relay_secret);
	raw_call(&main_srv, "POST", "/relays", auth, body, strlen(body), &rr);
	assert_int_equal(rr.r.status, 201);
	assert_string_equal(jstr(json_object_get(rr.r.body, "relay"), "relay_id"), id1);
	raw_clear(&rr);
	/* Announcing again is the relay's heartbeat. */
	expect_raw("POST", "/relays", auth, body, 200, NULL);
	snprintf(body, sizeof(body),
	         "{\"relay_id\": \"%s\", \"public_ip\": \"2001:db8::5\", \"port\": 3478, "
	         "\"region\": \"us-%s\"}",
	         id2, region_eu);
	expect_raw("POST", "/relays", auth, body, 201, NULL);
	expect_raw("POST", "/relays", auth, "{\"relay_id\": \"x\", \"public_ip\": \"nope\"}", 400,
	           NULL);
	expect_raw("POST", "/relays", auth,
	           "{\"relay_id\": \"x\", \"public_ip\": \"1.2.3.4\", \"port\": 0, \"region\": "
	           "\"eu\"}",
	           400, "port");

	CALL(r, control_relays(c, NULL, reply_cb, &r));
	expect_status(&r, 200);
	assert_true(json_array_size(json_object_get(r.body, "relays")) >= 2);
	reply_clear(&r);
	CALL(r, control_relays(c, region_eu, reply_cb, &r));
	expect_status(&r, 200);
	assert_int_equal(json_array_size(json_object_get(r.body, "relays")), 1);
	{
		json_t *relay = json_array_get(json_object_get(r.body, "relays"), 0);

		assert_string_equal(jstr(relay, "relay_id"), id1);
		assert_string_equal(jstr(relay, "public_ip"), "198.51.100.50");
		assert_int_equal(json_integer_value(json_object_get(relay, "port")), 51820);
		assert_int_equal(json_integer_value(json_object_get(relay, "capacity")), 200);
	}
	reply_clear(&r);
	control_client_destroy(c);
}

/* Reads a base64 field into out; its decoded length. */
static size_t b64_field(const json_t *o, const char *key, uint8_t *out, size_t cap)
{
	const char *text = jstr(o, key);
	size_t len = 0;

	assert_int_equal(sodium_base642bin(out, cap, text, strlen(text), NULL, &len, NULL,
	                                   sodium_base64_VARIANT_ORIGINAL),
	                 0);
	return len;
}

/* Whether a file holds a string (the server's log must never hold a token or key). */
static bool file_has(const char *path, const char *needle)
{
	char buf[1 << 16];
	size_t n;
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, needle) != NULL;
}

static void test_relay_token(void **state)
{
	struct control_client *a = client_new(&main_srv, true), *b = client_new(&main_srv, true);
	uint8_t token[RELAY_TOKEN_LEN + 8], key[MAC_KEY_LEN + 8], tk[MAC_KEY_LEN],
	    want[MAC_KEY_LEN];
	char party_id[PARTY_ID_LEN + 1], path[128], auth[128], tag[16], log_path[300];
	struct relay_token_info info;
	struct server_proc plain, short_ttl;
	struct reply r = { 0 };
	int64_t now_sec = now_wall_ms() / 1000, expires_ms;
	errmsg err;

	create_party(a, "Relayed", party_id);
	CALL(r, control_relay_token(a, party_id, reply_cb, &r));
	expect_status(&r, 200);
	/* The token checks out under the key a relay derives from the shared secret. */
	assert_int_equal(b64_field(r.body, "token", token, sizeof(token)), RELAY_TOKEN_LEN);
	assert_int_equal(b64_field(r.body, "session_key", key, sizeof(key)), MAC_KEY_LEN);
	assert_true(relay_token_key(tk, relay_secret, strlen(relay_secret), err));
	assert_int_equal(relay_token_verify(token, RELAY_TOKEN_LEN, tk, now_sec, &info), RELAY_OK);
	relay_session_key(want, tk, token);
	assert_memory_equal(key, want, MAC_KEY_LEN);
	/* For this member of this party, for an hour. */
	{
		char id_hex[17];

		for (int i = 0; i < 8; i++)
			snprintf(id_hex + 2 * i, 3, "%02x", info.peer_id[i]);
		assert_string_equal(id_hex, control_client_peer_id(a));
		snprintf(tag, sizeof(tag), "%.8s", id_hex);
		assert_string_equal(jstr(r.body, "tag"), tag);
	}
	for (int i = 0, j = 0; party_id[i]; i++) {
		if (party_id[i] != '-')
			assert_int_equal(info.party[j++], party_id[i]);
	}
	assert_true(info.expiry >= now_sec + 3599 && info.expiry <= now_sec + 3602);
	assert_true(now_parse_iso8601(jstr(r.body, "expires_at"), &expires_ms));
	assert_true(expires_ms == (int64_t)info.expiry * 1000);
	/* Neither the token nor its key reaches the log. */
	snprintf(log_path, sizeof(log_path), "%s/server.log", main_srv.dir);
	assert_false(file_has(log_path, jstr(r.body, "token")));
	assert_false(file_has(log_path, jstr(r.body, "session_key")));
	reply_clear(&r);

	/* Members only; a token is needed; ids are checked. */
	CALL(r, control_relay_token(b, party_id, reply_cb, &r));
	expect_status(&r, 403);
	reply_clear(&r);
	snprintf(path, sizeof(path), "/parties/%s/relay-token", party_id);
	expect_raw("POST", path, NULL, NULL, 401, NULL);
	expect_raw("GET", path, NULL, NULL, 405, "not allowed");
	bearer(auth, sizeof(auth), a);
	expect_raw("POST", "/parties/0000-0000-0000-000X/relay-token", auth, NULL, 400, "party id");
	{
		char other[PARTY_ID_LEN + 1];

		party_id_generate(other);
		snprintf(path, sizeof(path), "/parties/%s/relay-token", other);
		expect_raw("POST", path, auth, NULL, 404, NULL);
	}

	/* A server without relays says so; one with a short lifetime issues short tokens. */
	{
		char url1[300], url2[300];
		struct control_client *c;

		db_flag(url1, sizeof(url1));
		db_flag(url2, sizeof(url2));
		{
			const char *plain_flags[] = { "--db", url1, NULL };
			const char *short_flags[] = { "--db",
				                      url2,
				                      "--relay-secret-file",
				                      relay_secret_file,
				                      "--relay-token-ttl",
				                      "90s",
				                      NULL };

			server_spawn(&plain, binary, plain_flags);
			server_spawn(&short_ttl, binary, short_flags);
		}
		c = client_new(&plain, true);
		create_party(c, "No relays", party_id);
		CALL(r, control_relay_token(c, party_id, reply_cb, &r));
		expect_status(&r, 404);
		assert_string_equal(r.error,
		                    "this control server has no relays (--relay-secret-file)");
		reply_clear(&r);
		control_client_destroy(c);
		c = client_new(&short_ttl, true);
		create_party(c, "Short", party_id);
		CALL(r, control_relay_token(c, party_id, reply_cb, &r));
		expect_status(&r, 200);
		assert_int_equal(b64_field(r.body, "token", token, sizeof(token)), RELAY_TOKEN_LEN);
		assert_int_equal(relay_token_verify(token, RELAY_TOKEN_LEN, tk, now_sec, &info),
		                 RELAY_OK);
		assert_true(info.expiry >= now_sec + 89 && info.expiry <= now_sec + 92);
		assert_int_equal(
		    relay_token_verify(token, RELAY_TOKEN_LEN, tk, now_sec + 100, &info),
		    RELAY_DROP_EXPIRED);
		reply_clear(&r);
		control_client_destroy(c);
		server_stop(&plain);
		server_stop(&short_ttl);
	}
	control_client_destroy(a);
	control_client_destroy(b);
}

static void test_metrics(void **state)
{
	struct control_client *a = client_new(&main_srv, true);
	char party_id[PARTY_ID_LEN + 1];
	struct ev_queue q;
	struct reply r = { 0 };
	struct raw_reply rr;

	create_party(a, "Metrics", party_id);
	CALL(r, control_heartbeat(a, party_id, reply_cb, &r));
	expect_status(&r, 200);
	reply_clear(&r);
	evq_open(&q, a, party_id);
	raw_call(&main_srv, "GET", "/metrics", NULL, NULL, 0, &rr);
	assert_int_equal(rr.r.status, 200);
	assert_non_null(strstr(rr.text, "lanrage_control_requests_total{route=\"/parties/{id}/"
	                                "peers/{peer}/heartbeat\",status=\"200\"}"));
	assert_non_null(strstr(rr.text, "lanrage_control_requests_total{route=\"/parties\","
	                                "status=\"201\"}"));
	assert_non_null(strstr(rr.text, "\nlanrage_control_parties "));
	assert_non_null(strstr(rr.text, "\nlanrage_control_peers "));
	assert_non_null(strstr(rr.text, "\nlanrage_control_relays "));
	assert_null(strstr(rr.text, "\nlanrage_control_event_subscribers 0\n"));
	assert_non_null(strstr(rr.text, "\nlanrage_control_event_subscribers "));
	/* Bad input never became a server error. */
	assert_null(strstr(rr.text, "status=\"500\""));
	raw_clear(&rr);
	evq_close(&q);
	control_client_destroy(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_health),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_register_proof),
		cmocka_unit_test(test_party_flow),
		cmocka_unit_test(test_impersonation),
		cmocka_unit_test(test_events_and_signal),
		cmocka_unit_test(test_kick),
		cmocka_unit_test(test_host_migration),
		cmocka_unit_test(test_relays),
		cmocka_unit_test(test_relay_token),
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_cleanup),
		cmocka_unit_test(test_sigkill_restart),
		cmocka_unit_test(test_auth_rate_limit),
		cmocka_unit_test(test_two_instances),
	};
	int failed;

	binary = getenv("LANRAGE_CONTROL");
	db = getenv("LANRAGE_TEST_DB");
	if (!binary || !db) {
		fprintf(stderr, "set LANRAGE_CONTROL and LANRAGE_TEST_DB\n");
		return 2;
	}
	postgres = strncmp(db, "postgres", 8) == 0;
	/* A server may close a connection while we still write to it. */
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0)
		return 1;
	atexit(harness_kill_all);
	failed =
	    cmocka_run_group_tests_name(postgres ? "control_api_postgresql" : "control_api_sqlite",
	                                tests, group_setup, group_teardown);
	return failed ? 1 : 0;
}
