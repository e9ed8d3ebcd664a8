/* test_control_life.c - lanrage-control over time: expiry, SIGKILL and restart, rate
 * limits, and two instances sharing one PostgreSQL (see test_control_api.c).
 */
#include <sodium.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "api_tests.h"
#include "crypto/key.h"
#include "util/now.h"

/* Its own server with short timers: members, relays and tokens expire. */
void test_cleanup(void **state)
{
	static const char *const extra[] = { "--cleanup-interval",
		                             "200ms",
		                             "--peer-timeout",
		                             "2s",
		                             "--relay-timeout",
		                             "1s",
		                             "--token-ttl",
		                             "5s",
		                             "--heartbeat-flush",
		                             "100ms",
		                             NULL };
	struct server_proc s;
	struct control_client *a, *b, *x;
	char url[300], party_id[PARTY_ID_LEN + 1], auth[128], body[300];
	struct ev_queue q;
	struct reply r = { 0 };
	json_t *ev, *party;
	uint64_t deadline;

	db_flag(url, sizeof(url));
	spawn(&s, url, extra);
	a = client_new(&s, true);
	b = client_new(&s, true);
	create_party(a, "Cleanup", party_id);
	join_party(b, party_id, "bob");
	snprintf(auth, sizeof(auth), "Bearer %s", relay_secret);
	snprintf(body, sizeof(body),
	         "{\"relay_id\": \"short-lived-%d\", \"public_ip\": \"198.51.100.60\", "
	         "\"port\": 51820, \"region\": \"cleanup\"}",
	         (int)getpid());
	{
		struct raw_reply rr;

		raw_call(&s, "POST", "/relays", auth, body, strlen(body), &rr);
		assert_int_equal(rr.r.status, 201);
		raw_clear(&rr);
	}
	evq_open(&q, a, party_id);
	/* A keeps heartbeating; B falls silent and is removed. */
	deadline = now_mono_ms() + HARNESS_DEADLINE_MS;
	while (!evq_has(&q, "member_left", "peer_id", control_client_peer_id(b))) {
		if (now_mono_ms() > deadline)
			fail_msg("bob was never expired");
		CALL(r, control_heartbeat(a, party_id, reply_cb, &r));
		expect_status(&r, 200);
		reply_clear(&r);
		/* A daemon's pace: the next heartbeat 300 ms later. */
		loop_run_ms(300);
	}
	ev = evq_wait(&q, "member_left", "peer_id", control_client_peer_id(b));
	assert_string_equal(jstr(ev, "reason"), "expired");
	json_decref(ev);
	party = get_party(a, party_id, 200);
	assert_int_equal(json_object_size(json_object_get(party, "peers")), 1);
	assert_string_equal(jstr(party, "host_id"), control_client_peer_id(a));
	json_decref(party);
	CALL(r, control_heartbeat(b, party_id, reply_cb, &r));
	expect_status(&r, 404);
	reply_clear(&r);
	/* The relay, silent for a second, is gone. */
	deadline = now_mono_ms() + HARNESS_DEADLINE_MS;
	for (;;) {
		bool gone;

		CALL(r, control_relays(a, "cleanup", reply_cb, &r));
		expect_status(&r, 200);
		gone = json_array_size(json_object_get(r.body, "relays")) == 0;
		reply_clear(&r);
		if (gone)
			break;
		if (now_mono_ms() > deadline)
			fail_msg("the relay was never expired");
		CALL(r, control_heartbeat(a, party_id, reply_cb, &r));
		reply_clear(&r);
	}
	evq_close(&q);
	/* Tokens expire (5 s): A's stops working; A then expires too and the party goes. */
	deadline = now_mono_ms() + HARNESS_DEADLINE_MS;
	for (;;) {
		CALL(r, control_heartbeat(a, party_id, reply_cb, &r));
		if (r.status == 401)
			break;
		expect_status(&r, 200);
		reply_clear(&r);
		if (now_mono_ms() > deadline)
			fail_msg("the token never expired");
		loop_run_ms(300);
	}
	assert_non_null(strstr(r.error, "expired"));
	reply_clear(&r);
	x = client_new(&s, true);
	deadline = now_mono_ms() + HARNESS_DEADLINE_MS;
	for (;;) {
		CALL(r, control_party_get(x, party_id, reply_cb, &r));
		if (r.status == 404)
			break;
		expect_status(&r, 403);
		reply_clear(&r);
		if (now_mono_ms() > deadline)
			fail_msg("the party never went away");
	}
	reply_clear(&r);
	control_client_destroy(a);
	control_client_destroy(b);
	control_client_destroy(x);
	server_stop(&s);
}

/* What the API acknowledged survives kill -9. */
void test_sigkill_restart(void **state)
{
	struct server_proc s;
	struct control_client *a, *b, *a2, *b2;
	char url[300], party_id[PARTY_ID_LEN + 1], token_a[80], token_b[80];
	wg_key key_a, key_b;
	json_t *before, *after;
	struct reply r = { 0 };

	db_flag(url, sizeof(url));
	spawn(&s, url, NULL);
	a = control_client_create(harness_base(), s.url, NULL);
	b = control_client_create(harness_base(), s.url, NULL);
	key_generate_private(key_a);
	key_generate_private(key_b);
	control_client_set_key(a, key_a);
	control_client_set_key(b, key_b);
	CALL(r, control_register(a, reply_cb, &r));
	expect_status(&r, 200);
	CALL(r, control_register(b, reply_cb, &r));
	expect_status(&r, 200);
	reply_clear(&r);
	create_party(a, "Survivor", party_id);
	join_party(b, party_id, "bob");
	before = get_party(a, party_id, 200);
	snprintf(token_a, sizeof(token_a), "%s", control_client_token(a));
	snprintf(token_b, sizeof(token_b), "%s", control_client_token(b));
	control_client_destroy(a);
	control_client_destroy(b);

	server_kill9(&s);
	spawn(&s, url, NULL);

	a2 = control_client_create(harness_base(), s.url, NULL);
	b2 = control_client_create(harness_base(), s.url, NULL);
	control_client_set_key(a2, key_a);
	control_client_set_key(b2, key_b);
	control_client_set_token(a2, token_a);
	control_client_set_token(b2, token_b);
	after = get_party(a2, party_id, 200);
	assert_string_equal(jstr(after, "host_id"), jstr(before, "host_id"));
	assert_string_equal(jstr(after, "name"), "Survivor");
	{
		json_t *pb = json_object_get(before, "peers"),
		       *pa = json_object_get(after, "peers");
		const char *id;
		json_t *m;

		assert_int_equal(json_object_size(pa), 2);
		json_object_foreach(pb, id, m)
		{
			assert_string_equal(jstr(json_object_get(pa, id), "virtual_ip"),
			                    jstr(m, "virtual_ip"));
		}
	}
	CALL(r, control_heartbeat(b2, party_id, reply_cb, &r));
	expect_status(&r, 200);
	reply_clear(&r);
	json_decref(before);
	json_decref(after);
	control_client_destroy(a2);
	control_client_destroy(b2);
	server_stop(&s);
}

/* Registration is limited per address: a burst, then 429 with a JSON error. */
void test_auth_rate_limit(void **state)
{
	static const char *const extra[] = { "--auth-rate", "2", NULL };
	const char *body = "{\"public_key\": \"HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=\"}";
	struct server_proc s;
	struct raw_reply rr;
	char url[300];
	int ok = 0, limited = 0;

	db_flag(url, sizeof(url));
	spawn(&s, url, extra);
	/* A burst of twice the rate passes; requests faster than the rate are then refused. */
	while (!limited && ok < 200) {
		raw_call(&s, "POST", "/auth/challenge", NULL, body, strlen(body), &rr);
		if (rr.r.status == 200) {
			ok++;
		} else {
			assert_int_equal(rr.r.status, 429);
			assert_non_null(strstr(rr.r.error, "too many registrations"));
			limited++;
		}
		raw_clear(&rr);
	}
	assert_true(ok >= 4);
	assert_int_equal(limited, 1);
	/* Other routes are not limited. */
	raw_call(&s, "GET", "/", NULL, NULL, 0, &rr);
	assert_int_equal(rr.r.status, 200);
	raw_clear(&rr);
	server_stop(&s);
}

/* PostgreSQL: two instances share one database and see each other's events. */
void test_two_instances(void **state)
{
	struct server_proc s2;
	struct control_client *a, *b, *a_on_2;
	char party_id[PARTY_ID_LEN + 1];
	struct ev_queue qa, qb;
	struct reply r = { 0 };
	json_t *data;

	if (!postgres)
		skip();
	spawn(&s2, db, NULL);
	a = client_new(&main_srv, true);
	b = client_new(&s2, true);
	create_party(a, "Two instances", party_id);
	evq_open(&qa, a, party_id);
	/* B joins through the other instance; A's stream (instance one) hears it. */
	join_party(b, party_id, "bob");
	json_decref(evq_wait(&qa, "member_joined", "peer_id", control_client_peer_id(b)));
	evq_open(&qb, b, party_id);
	data = json_pack("{s:s}", "hello", "from instance one");
	CALL(r, control_signal(a, party_id, control_client_peer_id(b), data, reply_cb, &r));
	expect_status(&r, 200);
	reply_clear(&r);
	json_decref(data);
	json_decref(evq_wait(&qb, "signal", "from", control_client_peer_id(a)));
	/* A token from instance one works on instance two. */
	a_on_2 = control_client_create(harness_base(), s2.url, NULL);
	control_client_set_token(a_on_2, control_client_token(a));
	CALL(r, control_party_peers(a_on_2, party_id, reply_cb, &r));
	expect_status(&r, 200);
	assert_int_equal(json_object_size(json_object_get(r.body, "peers")), 2);
	reply_clear(&r);
	/* A challenge from one instance is answered at the other: nothing is kept between. */
	{
		uint8_t priv[32], pub[32], box[80], rnd[32];
		char pub64[KEY_B64_LEN + 1], body[512], resp[64], challenge[128];
		struct raw_reply rr;
		size_t len;

		key_generate_private(priv);
		key_public_from_private(pub, priv);
		key_to_base64(pub64, pub);
		snprintf(body, sizeof(body), "{\"public_key\": \"%s\"}", pub64);
		raw_call(&main_srv, "POST", "/auth/challenge", NULL, body, strlen(body), &rr);
		assert_int_equal(rr.r.status, 200);
		snprintf(challenge, sizeof(challenge), "%s", jstr(rr.r.body, "challenge"));
		assert_int_equal(sodium_base642bin(box, sizeof(box), jstr(rr.r.body, "sealed"),
		                                   strlen(jstr(rr.r.body, "sealed")), NULL, &len,
		                                   NULL, sodium_base64_VARIANT_ORIGINAL),
		                 0);
		raw_clear(&rr);
		assert_int_equal(crypto_box_seal_open(rnd, box, sizeof(box), pub, priv), 0);
		sodium_bin2base64(resp, sizeof(resp), rnd, sizeof(rnd),
		                  sodium_base64_VARIANT_ORIGINAL);
		snprintf(body, sizeof(body),
		         "{\"public_key\": \"%s\", \"challenge\": \"%s\", \"response\": \"%s\"}",
		         pub64, challenge, resp);
		raw_call(&s2, "POST", "/auth/register", NULL, body, strlen(body), &rr);
		assert_int_equal(rr.r.status, 200);
		raw_clear(&rr);
	}
	/* B leaves on instance two; A's stream on instance one sees it. */
	CALL(r, control_party_leave(b, party_id, reply_cb, &r));
	expect_status(&r, 200);
	reply_clear(&r);
	json_decref(evq_wait(&qa, "member_left", "peer_id", control_client_peer_id(b)));
	evq_close(&qa);
	evq_close(&qb);
	control_client_destroy(a);
	control_client_destroy(b);
	control_client_destroy(a_on_2);
	server_stop(&s2);
}
