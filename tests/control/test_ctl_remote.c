/* test_ctl_remote.c - ctl_remote against the real lanrage-control, two identities on one loop.
 *
 *   test process (cmocka, one event_base)          lanrage-control (ASan build)
 *   ctl_remote "alice" --+                         SQLite file in a temp dir;
 *                        +--127.0.0.1 HTTP/SSE-->  killed and restarted on the
 *   ctl_remote "bob" ----+                         same port and database
 *
 * Environment: LANRAGE_CONTROL (the server binary).  Every wait has a
 * deadline; timings are shortened through struct ctl_timing and the
 * server's flags.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "control/ctl.h"
#include "control/party_id.h"
#include "crypto/key.h"
#include "crypto/secret.h"
#include "ctl_watch.h"
#include "harness.h"
#include "nat/relay_token.h"
#include "tcp_proxy.h"
#include "util/err.h"
#include "util/now.h"

static const char *binary;
static char relay_secret_file[300];
static const char relay_secret[] = "relay-secret-for-ctl-tests-0123456789";

/* One daemon's side: its ctl, what it saw, its identity. */
struct member {
	struct ctl *ctl;
	struct watch w;
	char peer_id[PEER_ID_MAX + 1];
};

static void timing_short(struct ctl_timing *t, uint32_t heartbeat_ms)
{
	ctl_timing_default(t);
	t->heartbeat_ms = heartbeat_ms;
	t->poll_ms = 200;
	t->retry_min_ms = 100;
	t->retry_max_ms = 800;
}

static void member_start(struct member *m, const char *url, uint32_t heartbeat_ms)
{
	struct ctl_timing t;
	struct ctl_events ev = watch_events(&m->w);
	wg_key priv, pub;
	errmsg err;

	timing_short(&t, heartbeat_ms);
	key_generate_private(priv);
	key_public_from_private(pub, priv);
	peer_id_from_key(m->peer_id, pub);
	m->ctl = ctl_remote_create(harness_base(), url, priv, &t, &ev, err);
	secret_zero(priv, sizeof(priv));
	if (!m->ctl)
		fail_msg("ctl_remote_create: %s", err);
}

static void member_stop(struct member *m)
{
	ctl_destroy(m->ctl);
	m->ctl = NULL;
	watch_clear(&m->w);
}

/* A server with a fresh database (or db_path when given) and extra flags. */
static void spawn(struct server_proc *s, const char *db_path, const char *port,
                  const char *const *extra)
{
	const char *flags[40];
	char db[300], dir[256];
	size_t n = 0;

	if (!db_path) {
		scratch_dir(dir, sizeof(dir), "db");
		snprintf(db, sizeof(db), "sqlite://%s/control.db", dir);
	} else {
		snprintf(db, sizeof(db), "%s", db_path);
	}
	flags[n++] = "--db";
	flags[n++] = db;
	flags[n++] = "--relay-secret-file";
	flags[n++] = relay_secret_file;
	flags[n++] = "--log-level";
	flags[n++] = "debug";
	flags[n++] = "--auth-rate";
	flags[n++] = "100000";
	if (port) {
		flags[n++] = "--port"; /* later flags win over the harness's --port 0 */
		flags[n++] = port;
	}
	for (size_t i = 0; extra && extra[i]; i++)
		flags[n++] = extra[i];
	flags[n] = NULL;
	server_spawn(s, binary, flags);
}

struct party_cond {
	struct member *m;
	size_t n_members;
	const char *has;   /* a member that must be listed (or NULL) */
	const char *lacks; /* a member that must not be (or NULL) */
	int min_n_party;   /* on_party calls at least */
	const char *vip;   /* has's virtual IP must be this (or NULL) */
	const char *host;  /* the host must be (or NULL) */
};

static bool party_ready(void *arg)
{
	struct party_cond *c = arg;
	const struct party_info *p = &c->m->w.party;
	char buf[ADDR_STRLEN];

	if (c->m->w.n_party < c->min_n_party || p->n_members != c->n_members)
		return false;
	if (c->has && !party_info_find(p, c->has))
		return false;
	if (c->lacks && party_info_find(p, c->lacks))
		return false;
	if (c->vip && strcmp(member_vip(p, c->has, buf), c->vip) != 0)
		return false;
	if (c->host && strcmp(p->host_id, c->host) != 0)
		return false;
	return true;
}

static void wait_party(struct party_cond c, const char *what)
{
	loop_until(party_ready, &c, HARNESS_DEADLINE_MS, what);
}

struct link_cond {
	struct member *m;
	enum ctl_link link;
	int min_changes; /* n_down or n_up at least */
};

static bool link_ready(void *arg)
{
	struct link_cond *c = arg;
	int n = c->link == CTL_LINK_DOWN ? c->m->w.n_down : c->m->w.n_up;

	return c->m->w.link == c->link && n >= c->min_changes &&
	       c->m->ctl->ops->link(c->m->ctl) == c->link;
}

static void wait_link(struct member *m, enum ctl_link link, int min_changes, int deadline_ms,
                      const char *what)
{
	struct link_cond c = { m, link, min_changes };

	loop_until(link_ready, &c, deadline_ms, what);
}

static void create_party(struct member *m, const char *name, const char *self_name,
                         char id[PARTY_ID_LEN + 1])
{
	struct peer_info self = desc(self_name);
	struct done d = { 0 };

	done_wait(&d, m->ctl->ops->create(m->ctl, name, &self, done_cb, &d), "create");
	if (d.status != 0)
		fail_msg("create: %d %s", d.status, d.error);
	assert_true(party_id_valid(d.party.id));
	assert_string_equal(d.party.name, name);
	assert_string_equal(d.party.host_id, m->peer_id);
	snprintf(id, PARTY_ID_LEN + 1, "%s", d.party.id);
	done_clear(&d);
}

static void join_party(struct member *m, const char *typed_id, const char *self_name)
{
	struct peer_info self = desc(self_name);
	struct done d = { 0 };

	done_wait(&d, m->ctl->ops->join(m->ctl, typed_id, &self, done_cb, &d), "join");
	if (d.status != 0)
		fail_msg("join: %d %s", d.status, d.error);
	assert_non_null(party_info_find(&d.party, m->peer_id));
	done_clear(&d);
}

static void leave_party(struct member *m)
{
	struct done d = { 0 };

	done_wait(&d, m->ctl->ops->leave(m->ctl, done_cb, &d), "leave");
	assert_int_equal(d.status, 0);
	done_clear(&d);
}

static bool signal_arrived(void *arg)
{
	return ((struct member *)arg)->w.n_signal > 0;
}

struct relays_result {
	bool called;
	int status;
	char error[512];
	struct ctl_relay relays[8];
	size_t n;
};

static void relays_cb(void *arg, int status, const char *error, const struct ctl_relay *relays,
                      size_t n)
{
	struct relays_result *r = arg;

	r->called = true;
	r->status = status;
	snprintf(r->error, sizeof(r->error), "%s", error ? error : "");
	r->n = n;
	for (size_t i = 0; i < n && i < 8; i++)
		r->relays[i] = relays[i];
}

static bool relays_done(void *arg)
{
	return ((struct relays_result *)arg)->called;
}

struct token_result {
	bool called;
	int status;
	char error[512];
	uint8_t token[RELAY_TOKEN_LEN];
	size_t token_len;
	uint8_t key[MAC_KEY_LEN];
	int64_t expires_ms;
};

static void token_cb(void *arg, int status, const char *error, const uint8_t *token,
                     size_t token_len, const uint8_t session_key[32], int64_t expires_ms)
{
	struct token_result *t = arg;

	t->called = true;
	t->status = status;
	snprintf(t->error, sizeof(t->error), "%s", error ? error : "");
	t->token_len = token ? token_len : 0;
	if (token && token_len == RELAY_TOKEN_LEN) {
		memcpy(t->token, token, token_len);
		memcpy(t->key, session_key, MAC_KEY_LEN);
	}
	t->expires_ms = expires_ms;
}

static bool token_done(void *arg)
{
	return ((struct token_result *)arg)->called;
}

static bool endpoint_seen(void *arg)
{
	struct member *m = arg;
	const struct peer_info *bob = NULL;
	char buf[ADDR_STRLEN];

	for (size_t i = 0; i < m->w.party.n_members; i++) {
		if (strcmp(m->w.party.members[i].name, "bob") == 0)
			bob = &m->w.party.members[i];
	}
	return bob && bob->nat_type == NAT_FULL_CONE &&
	       strcmp(addr_format(&bob->public_endpoint, buf), "198.51.100.7:40002") == 0;
}

/* Create, join, see each other, update, signal, relays, leave. */
static void test_party_flow(void **state)
{
	struct server_proc s;
	struct member a, b;
	char id[PARTY_ID_LEN + 1], typed[PARTY_ID_LEN + 1], va[ADDR_STRLEN], vb[ADDR_STRLEN];
	struct relays_result rr = { 0 };
	struct token_result tr = { 0 };
	struct peer_info self;
	json_t *data;
	uint64_t t0;

	spawn(&s, NULL, NULL, NULL);
	member_start(&a, s.url, 500);
	member_start(&b, s.url, 500);
	{
		char want[128];

		snprintf(want, sizeof(want), "remote %s", s.url);
		assert_string_equal(a.ctl->ops->describe(a.ctl), want);
	}
	/* Registration happens at once, before any call. */
	wait_link(&a, CTL_LINK_UP, 1, HARNESS_DEADLINE_MS, "alice registered");
	wait_link(&b, CTL_LINK_UP, 1, HARNESS_DEADLINE_MS, "bob registered");

	create_party(&a, "Friday LAN", "alice", id);
	wait_party(
	    (struct party_cond){ .m = &a, .n_members = 1, .has = a.peer_id, .min_n_party = 1 },
	    "alice's first on_party");
	/* Typed leniently: lower case, no dashes. */
	for (size_t i = 0, j = 0; i <= strlen(id); i++) {
		if (id[i] != '-')
			typed[j++] =
			    (char)(id[i] >= 'A' && id[i] <= 'Z' ? id[i] - 'A' + 'a' : id[i]);
	}
	t0 = now_mono_ms();
	join_party(&b, typed, "bob");
	wait_party(
	    (struct party_cond){ .m = &b, .n_members = 2, .has = a.peer_id, .min_n_party = 1 },
	    "bob sees alice");
	wait_party(
	    (struct party_cond){ .m = &a, .n_members = 2, .has = b.peer_id, .min_n_party = 2 },
	    "alice sees bob");
	print_message("join to both sides' on_party: %llu ms\n",
	              (unsigned long long)(now_mono_ms() - t0));
	member_vip(&a.w.party, a.peer_id, va);
	member_vip(&a.w.party, b.peer_id, vb);
	assert_true(strncmp(va, "10.66.", 6) == 0 && strncmp(vb, "10.66.", 6) == 0);
	assert_string_not_equal(va, vb);
	assert_string_equal(member_vip(&b.w.party, b.peer_id, vb),
	                    member_vip(&a.w.party, b.peer_id, va));
	/* The link is up once the event stream is. */
	wait_link(&a, CTL_LINK_UP, 1, HARNESS_DEADLINE_MS, "alice's stream");

	/* Three quick updates: the last one is what alice ends up with. */
	self = desc("bob");
	assert_true(addr_parse(&self.public_endpoint, "198.51.100.7:40000", NULL));
	assert_int_equal(b.ctl->ops->update_self(b.ctl, &self), 0);
	assert_true(addr_parse(&self.public_endpoint, "198.51.100.7:40001", NULL));
	assert_int_equal(b.ctl->ops->update_self(b.ctl, &self), 0);
	self.nat_type = NAT_FULL_CONE;
	assert_true(addr_parse(&self.public_endpoint, "198.51.100.7:40002", NULL));
	assert_int_equal(b.ctl->ops->update_self(b.ctl, &self), 0);
	loop_until(endpoint_seen, &a, HARNESS_DEADLINE_MS, "bob's endpoint at alice");

	/* Signals reach the one member they are for. */
	data = json_pack("{s:s, s:i}", "hello", "bob", "n", 7);
	assert_int_equal(a.ctl->ops->signal(a.ctl, b.peer_id, data), 0);
	json_decref(data);
	loop_until(signal_arrived, &b, HARNESS_DEADLINE_MS, "the signal");
	assert_string_equal(b.w.signal_from, a.peer_id);
	assert_string_equal(json_string_value(json_object_get(b.w.signal_data, "hello")), "bob");
	assert_int_equal(a.w.n_signal, 0);

	/* Relays: none, then one announced. */
	assert_int_equal(a.ctl->ops->relays(a.ctl, relays_cb, &rr), 0);
	loop_until(relays_done, &rr, HARNESS_DEADLINE_MS, "relays");
	assert_int_equal(rr.status, 0);
	assert_int_equal(rr.n, 0);
	/*
	 * A relay token for the party: one the relays (which share the secret)
	 * accept for this member and party, with the session key they derive.
	 */
	assert_int_equal(a.ctl->ops->relay_token(a.ctl, token_cb, &tr), 0);
	loop_until(token_done, &tr, HARNESS_DEADLINE_MS, "relay token");
	assert_int_equal(tr.status, 0);
	assert_int_equal(tr.token_len, RELAY_TOKEN_LEN);
	{
		uint8_t token_key[MAC_KEY_LEN], key[MAC_KEY_LEN];
		struct relay_token_info info;
		char party[RELAY_TOKEN_PARTY_LEN + 1];
		errmsg err;

		assert_true(relay_token_key(token_key, relay_secret, strlen(relay_secret), err));
		assert_int_equal(relay_token_verify(tr.token, tr.token_len, token_key,
		                                    now_wall_ms() / 1000, &info),
		                 RELAY_OK);
		relay_session_key(key, token_key, tr.token);
		assert_memory_equal(key, tr.key, MAC_KEY_LEN);
		/* The party id's symbols without dashes. */
		snprintf(party, sizeof(party), "%.4s%.4s%.4s%.4s", a.w.party.id, a.w.party.id + 5,
		         a.w.party.id + 10, a.w.party.id + 15);
		assert_string_equal(info.party, party);
		assert_true(tr.expires_ms > now_wall_ms());
	}
	{
		char auth[128], body[256];
		struct raw_reply raw;

		snprintf(auth, sizeof(auth), "Bearer %s", relay_secret);
		snprintf(
		    body, sizeof(body),
		    "{\"relay_id\": \"eu-1\", \"public_ip\": \"203.0.113.50\", \"port\": 51821, "
		    "\"region\": \"eu-west\", \"capacity\": 64}");
		raw_call(&s, "POST", "/relays", auth, body, strlen(body), &raw);
		assert_int_equal(raw.r.status, 201);
		raw_clear(&raw);
	}
	memset(&rr, 0, sizeof(rr));
	assert_int_equal(b.ctl->ops->relays(b.ctl, relays_cb, &rr), 0);
	loop_until(relays_done, &rr, HARNESS_DEADLINE_MS, "relays");
	assert_int_equal(rr.status, 0);
	assert_int_equal(rr.n, 1);
	assert_string_equal(rr.relays[0].id, "eu-1");
	assert_string_equal(rr.relays[0].region, "eu-west");
	assert_int_equal(rr.relays[0].capacity, 64);
	{
		char buf[ADDR_STRLEN];

		assert_string_equal(addr_format(&rr.relays[0].addr, buf), "203.0.113.50:51821");
	}

	/* Bob leaves: alice's party drops him. */
	leave_party(&b);
	wait_party((struct party_cond){ .m = &a, .n_members = 1, .lacks = b.peer_id },
	           "alice sees bob leave");
	assert_int_equal(b.w.n_gone, 0);
	assert_int_equal(b.ctl->ops->leave(b.ctl, done_cb, NULL), -ENOTCONN);
	leave_party(&a);
	assert_int_equal(a.w.n_gone, 0);
	member_stop(&a);
	member_stop(&b);
	server_stop(&s);
}

/* Bad input and unknown parties come back as 400 and 404 with a message. */
static void test_errors(void **state)
{
	struct server_proc s;
	struct member a;
	struct peer_info self = desc("alice");
	struct done d = { 0 }, d2 = { 0 };
	char missing[PARTY_ID_LEN + 1], typo[PARTY_ID_LEN + 1];

	spawn(&s, NULL, NULL, NULL);
	member_start(&a, s.url, 500);
	done_wait(&d, a.ctl->ops->create(a.ctl, "", &self, done_cb, &d), "create, no name");
	assert_int_equal(d.status, 400);
	assert_non_null(strstr(d.error, "party name"));
	done_clear(&d);

	party_id_generate(missing);
	done_wait(&d, a.ctl->ops->join(a.ctl, missing, &self, done_cb, &d), "join, no party");
	assert_int_equal(d.status, 404);
	assert_non_null(strstr(d.error, missing));
	assert_non_null(strstr(d.error, s.url));
	done_clear(&d);

	/* One symbol changed: the check symbol catches it before the server is asked. */
	snprintf(typo, sizeof(typo), "%s", missing);
	typo[0] = typo[0] == 'A' ? 'B' : 'A';
	done_wait(&d, a.ctl->ops->join(a.ctl, typo, &self, done_cb, &d), "join, typo");
	assert_int_equal(d.status, 400);
	done_clear(&d);

	self = desc("");
	done_wait(&d, a.ctl->ops->create(a.ctl, "Party", &self, done_cb, &d),
	          "create, no self name");
	assert_int_equal(d.status, 400);
	assert_non_null(strstr(d.error, "name"));
	done_clear(&d);

	/* One call at a time. */
	self = desc("alice");
	assert_int_equal(a.ctl->ops->create(a.ctl, "Party", &self, done_cb, &d), 0);
	assert_int_equal(a.ctl->ops->create(a.ctl, "Party", &self, done_cb, &d2), -EBUSY);
	assert_int_equal(a.ctl->ops->leave(a.ctl, done_cb, &d2), -EBUSY);
	done_wait(&d, 0, "create");
	assert_int_equal(d.status, 0);
	done_clear(&d);
	assert_int_equal(a.ctl->ops->join(a.ctl, missing, &self, done_cb, &d2), -EISCONN);
	assert_false(d2.called);
	leave_party(&a);
	member_stop(&a);
	server_stop(&s);
}

/* A database file of our own, to restart a server on it. */
static void db_path(char *out, size_t size)
{
	char dir[256];

	scratch_dir(dir, sizeof(dir), "db");
	snprintf(out, size, "sqlite://%s/control.db", dir);
}

/*
 * The server dies and comes back on the same port and database: the link
 * goes down within seconds and up again, the party is never disturbed, a
 * fresh on_party follows, and a change made meanwhile arrives.
 */
static void test_server_restart(void **state)
{
	struct server_proc s;
	struct member a, b;
	char db[300], port[16], id[PARTY_ID_LEN + 1];
	struct peer_info self = desc("bob");
	int a_parties, a_ups, b_ups;
	uint64_t t0, down_ms;

	db_path(db, sizeof(db));
	spawn(&s, db, NULL, NULL);
	snprintf(port, sizeof(port), "%u", s.port);
	member_start(&a, s.url, 300);
	member_start(&b, s.url, 300);
	create_party(&a, "Restart", "alice", id);
	join_party(&b, id, "bob");
	wait_party((struct party_cond){ .m = &a, .n_members = 2, .has = b.peer_id },
	           "alice sees bob");
	wait_link(&a, CTL_LINK_UP, 1, HARNESS_DEADLINE_MS, "alice's stream");
	wait_link(&b, CTL_LINK_UP, 1, HARNESS_DEADLINE_MS, "bob's stream");

	t0 = now_mono_ms();
	server_kill9(&s);
	wait_link(&a, CTL_LINK_DOWN, 1, 5000, "alice notices the server is gone");
	wait_link(&b, CTL_LINK_DOWN, 1, 5000, "bob notices the server is gone");
	down_ms = now_mono_ms() - t0;
	assert_non_null(strstr(a.w.link_detail, s.url));
	assert_int_equal(a.w.party.n_members, 2);
	assert_int_equal(a.w.n_gone + b.w.n_gone, 0);

	/* Made while the server is away: sent when it is back. */
	assert_true(addr_parse(&self.public_endpoint, "198.51.100.7:40002", NULL));
	self.nat_type = NAT_FULL_CONE;
	assert_int_equal(b.ctl->ops->update_self(b.ctl, &self), 0);
	a_parties = a.w.n_party;
	a_ups = a.w.n_up;
	b_ups = b.w.n_up;
	loop_run_ms(300); /* a few failed retries first */
	spawn(&s, db, port, NULL);
	t0 = now_mono_ms();
	wait_link(&a, CTL_LINK_UP, a_ups + 1, HARNESS_DEADLINE_MS, "alice reconnects");
	wait_link(&b, CTL_LINK_UP, b_ups + 1, HARNESS_DEADLINE_MS, "bob reconnects");
	/* Measured, not asserted: the backoff here is 100-800 ms. */
	print_message("server killed: both links down within %llu ms; restarted: both up within "
	              "%llu ms of its port file\n",
	              (unsigned long long)down_ms, (unsigned long long)(now_mono_ms() - t0));
	wait_party(
	    (struct party_cond){
	        .m = &a, .n_members = 2, .has = b.peer_id, .min_n_party = a_parties + 1 },
	    "a fresh party after the reconnect");
	loop_until(endpoint_seen, &a, HARNESS_DEADLINE_MS, "bob's update after the restart");
	assert_int_equal(a.w.n_gone + b.w.n_gone, 0);
	leave_party(&b);
	wait_party((struct party_cond){ .m = &a, .n_members = 1, .lacks = b.peer_id },
	           "alice sees bob leave");
	leave_party(&a);
	member_stop(&a);
	member_stop(&b);
	server_stop(&s);
}

/*
 * The server expires a member that falls silent: it joins again on its own,
 * with the same address, and never loses the party.  Both ways: told on its
 * event stream (its heartbeat is slower than --peer-timeout), and finding out
 * after a network partition (heartbeat 404, stream or poll refused).
 */
static void test_expiry_rejoin(void **state)
{
	static const char *const fast[] = {
		"--peer-timeout", "1s", "--cleanup-interval", "200ms", "--heartbeat-flush",
		"100ms",          NULL
	};
	struct server_proc s;
	struct member a, b, c;
	struct tcp_proxy *px;
	char id[PARTY_ID_LEN + 1], vip[ADDR_STRLEN], url[64];

	spawn(&s, NULL, NULL, fast);
	member_start(&a, s.url, 200);
	member_start(&b, s.url, 4000);
	create_party(&a, "Expiry", "alice", id);
	join_party(&b, id, "bob");
	wait_party((struct party_cond){ .m = &a, .n_members = 2, .has = b.peer_id },
	           "alice sees bob");
	member_vip(&a.w.party, b.peer_id, vip);
	/* Expired (alice sees one member), then back with the same address. */
	wait_party((struct party_cond){ .m = &a, .n_members = 1, .lacks = b.peer_id },
	           "the server expires bob");
	wait_party((struct party_cond){ .m = &a, .n_members = 2, .has = b.peer_id, .vip = vip },
	           "bob back with his address");
	wait_party((struct party_cond){ .m = &b, .n_members = 2, .has = b.peer_id, .vip = vip },
	           "bob's own view");
	assert_int_equal(b.w.n_gone, 0);
	member_stop(&b);
	wait_party((struct party_cond){ .m = &a, .n_members = 1, .lacks = b.peer_id },
	           "bob gone for good");

	/* Carol is cut off (a suspended laptop): expired while away, back when the net is. */
	px = proxy_start(s.port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", proxy_port(px));
	member_start(&c, url, 300);
	join_party(&c, id, "carol");
	wait_party((struct party_cond){ .m = &a, .n_members = 2, .has = c.peer_id },
	           "alice sees carol");
	wait_link(&c, CTL_LINK_UP, 1, HARNESS_DEADLINE_MS, "carol's stream");
	member_vip(&a.w.party, c.peer_id, vip);
	proxy_set_mode(px, PROXY_CUT);
	wait_link(&c, CTL_LINK_DOWN, 1, 5000, "carol notices");
	wait_party((struct party_cond){ .m = &a, .n_members = 1, .lacks = c.peer_id },
	           "the server expires carol");
	assert_int_equal(c.w.party.n_members, 2); /* her party is untouched meanwhile */
	proxy_set_mode(px, PROXY_PASS);
	wait_party((struct party_cond){ .m = &a, .n_members = 2, .has = c.peer_id, .vip = vip },
	           "carol back with her address");
	wait_link(&c, CTL_LINK_UP, 2, HARNESS_DEADLINE_MS, "carol's stream again");
	wait_party((struct party_cond){ .m = &c, .n_members = 2, .has = c.peer_id, .vip = vip },
	           "carol's own view");
	assert_int_equal(a.w.n_gone + c.w.n_gone, 0);
	member_stop(&a);
	member_stop(&c);
	proxy_stop(px);
	server_stop(&s);
}

/*
 * A middlebox that drops event streams: the link stays down, and polling
 * brings the party's changes anyway; when streams pass again, the link is up.
 */
static void test_polling_fallback(void **state)
{
	struct server_proc s;
	struct member a, b, c;
	struct tcp_proxy *px;
	char id[PARTY_ID_LEN + 1], url[64];
	struct peer_info self = desc("bob");

	spawn(&s, NULL, NULL, NULL);
	px = proxy_start(s.port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", proxy_port(px));
	member_start(&a, url, 300);
	member_start(&b, s.url, 300);
	member_start(&c, s.url, 300);
	create_party(&a, "Polling", "alice", id);
	wait_link(&a, CTL_LINK_UP, 1, HARNESS_DEADLINE_MS, "alice's stream");
	proxy_set_mode(px, PROXY_NO_STREAMS);
	wait_link(&a, CTL_LINK_DOWN, 1, 5000, "alice's stream is cut");

	join_party(&b, id, "bob");
	wait_party((struct party_cond){ .m = &a, .n_members = 2, .has = b.peer_id },
	           "alice polls bob's arrival");
	assert_true(addr_parse(&self.public_endpoint, "198.51.100.7:40002", NULL));
	self.nat_type = NAT_FULL_CONE;
	assert_int_equal(b.ctl->ops->update_self(b.ctl, &self), 0);
	loop_until(endpoint_seen, &a, HARNESS_DEADLINE_MS, "alice polls bob's update");
	join_party(&c, id, "carol");
	leave_party(&b);
	wait_party(
	    (struct party_cond){ .m = &a, .n_members = 2, .has = c.peer_id, .lacks = b.peer_id },
	    "alice polls carol in, bob out");
	assert_int_equal(a.w.link, CTL_LINK_DOWN);
	assert_true(proxy_streams_refused(px) > 0);

	proxy_set_mode(px, PROXY_PASS);
	wait_link(&a, CTL_LINK_UP, 2, HARNESS_DEADLINE_MS, "alice's stream again");
	leave_party(&c);
	wait_party((struct party_cond){ .m = &a, .n_members = 1, .lacks = c.peer_id },
	           "carol's leaving, on the stream");
	assert_int_equal(a.w.n_gone, 0);
	leave_party(&a);
	member_stop(&a);
	member_stop(&b);
	member_stop(&c);
	proxy_stop(px);
	server_stop(&s);
}

/* No server: create and join fail at once with 503 and why; when one appears, the link comes up. */
static void test_unreachable(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	struct server_proc s;
	struct member a;
	struct peer_info self = desc("alice");
	struct done d = { 0 };
	char url[64], port[16], want[128], id[PARTY_ID_LEN + 1];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	/* A port nobody listens on (yet). */
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	snprintf(port, sizeof(port), "%u", ntohs(sin.sin_port));
	snprintf(url, sizeof(url), "http://127.0.0.1:%s", port);
	member_start(&a, url, 500);
	wait_link(&a, CTL_LINK_DOWN, 1, HARNESS_DEADLINE_MS, "the link goes down");
	snprintf(want, sizeof(want), "cannot reach %s: connection refused", url);
	assert_string_equal(a.w.link_detail, want);

	done_wait(&d, a.ctl->ops->create(a.ctl, "Friday LAN", &self, done_cb, &d), "create");
	assert_int_equal(d.status, 503);
	assert_string_equal(d.error, want);
	done_clear(&d);
	party_id_generate(id);
	done_wait(&d, a.ctl->ops->join(a.ctl, id, &self, done_cb, &d), "join");
	assert_int_equal(d.status, 503);
	assert_string_equal(d.error, want);
	done_clear(&d);

	spawn(&s, NULL, port, NULL);
	wait_link(&a, CTL_LINK_UP, 1, HARNESS_DEADLINE_MS, "registered once the server is up");
	create_party(&a, "Friday LAN", "alice", id);
	leave_party(&a);
	member_stop(&a);
	server_stop(&s);
}

static long long metric(const struct server_proc *s, const char *name)
{
	struct raw_reply raw;
	const char *at;
	long long v = -1;

	raw_call(s, "GET", "/metrics", NULL, NULL, 0, &raw);
	assert_int_equal(raw.r.status, 200);
	for (at = raw.text; (at = strstr(at, name)) != NULL; at++) {
		if ((at == raw.text || at[-1] == '\n') && at[strlen(name)] == ' ') {
			v = atoll(at + strlen(name) + 1);
			break;
		}
	}
	raw_clear(&raw);
	return v;
}

struct metric_cond {
	const struct server_proc *s;
	const char *name;
	long long at_least;
};

static bool metric_reached(void *arg)
{
	struct metric_cond *c = arg;

	loop_run_ms(100); /* a scrape per 100 ms is plenty */
	return metric(c->s, c->name) >= c->at_least;
}

/* Tokens expire (2 s here): the next call's 401 registers again, and the caller never knows. */
static void test_token_expiry(void **state)
{
	static const char *const ttl[] = { "--token-ttl", "2s", NULL };
	struct server_proc s;
	struct member a, b;
	struct peer_info self = desc("bob");
	char id[PARTY_ID_LEN + 1];
	struct metric_cond reissued;

	spawn(&s, NULL, NULL, ttl);
	member_start(&a, s.url, 300);
	member_start(&b, s.url, 300);
	create_party(&a, "Tokens", "alice", id);
	join_party(&b, id, "bob");
	wait_party((struct party_cond){ .m = &a, .n_members = 2, .has = b.peer_id },
	           "alice sees bob");
	assert_int_equal(metric(&s, "lanrage_control_tokens_issued_total"), 2);
	/* Both heartbeat every 300 ms: after 2 s each is refused once and registers again. */
	reissued = (struct metric_cond){ &s, "lanrage_control_tokens_issued_total", 4 };
	loop_until(metric_reached, &reissued, HARNESS_DEADLINE_MS, "both tokens reissued");
	assert_true(addr_parse(&self.public_endpoint, "198.51.100.7:40002", NULL));
	self.nat_type = NAT_FULL_CONE;
	assert_int_equal(b.ctl->ops->update_self(b.ctl, &self), 0);
	loop_until(endpoint_seen, &a, HARNESS_DEADLINE_MS, "bob's update on a new token");
	assert_int_equal(a.w.n_gone + b.w.n_gone, 0);
	leave_party(&b);
	leave_party(&a);
	member_stop(&a);
	member_stop(&b);
	server_stop(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_party_flow),       cmocka_unit_test(test_errors),
		cmocka_unit_test(test_server_restart),   cmocka_unit_test(test_expiry_rejoin),
		cmocka_unit_test(test_polling_fallback), cmocka_unit_test(test_unreachable),
		cmocka_unit_test(test_token_expiry),
	};
	char dir[256];
	FILE *f;
	int failed;

	binary = getenv("LANRAGE_CONTROL");
	if (!binary) {
		fprintf(stderr, "set LANRAGE_CONTROL\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0)
		return 1;
	atexit(harness_kill_all);
	scratch_dir(dir, sizeof(dir), "secret");
	snprintf(relay_secret_file, sizeof(relay_secret_file), "%s/relay.secret", dir);
	f = fopen(relay_secret_file, "w");
	if (!f)
		return 1;
	fprintf(f, "%s\n", relay_secret);
	fclose(f);
	failed = cmocka_run_group_tests_name("ctl_remote", tests, NULL, NULL);
	return failed ? 1 : 0;
}
