/* test_ctl_local.c - ctl_local: daemons sharing a discovery directory, in one and many processes.
 *
 *   this process (one event_base)        forked writers (their own loops)
 *   ctl_local a, b, c  ---+         +--- ctl_local x 8  (hammering joins and heartbeats)
 *                         v         v
 *                <scratch>/discovery.json  (flock on discovery.lock, atomic replace)
 *
 * Every wait has a deadline; timings are shortened through struct ctl_timing.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <setjmp.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <event2/event.h>

#include "control/ctl.h"
#include "control/party_id.h"
#include "control/partyfile.h"
#include "crypto/key.h"
#include "ctl_watch.h"
#include "harness.h"
#include "util/err.h"
#include "util/file.h"
#include "util/log.h"
#include "util/now.h"

struct member {
	struct ctl *ctl;
	struct watch w;
	char peer_id[PEER_ID_MAX + 1];
};

static void timing_short(struct ctl_timing *t, uint32_t heartbeat_ms, uint32_t stale_ms)
{
	ctl_timing_default(t);
	t->heartbeat_ms = heartbeat_ms;
	t->stale_ms = stale_ms;
	t->poll_ms = 50;
	t->retry_min_ms = 50;
	t->retry_max_ms = 500;
}

static void member_start_on(struct member *m, struct event_base *base, const char *dir,
                            uint32_t heartbeat_ms, uint32_t stale_ms, uint32_t poll_ms)
{
	struct ctl_timing t;
	struct ctl_events ev = watch_events(&m->w);
	wg_key priv, pub;
	errmsg err;

	timing_short(&t, heartbeat_ms, stale_ms);
	t.poll_ms = poll_ms;
	key_generate_private(priv);
	key_public_from_private(pub, priv);
	peer_id_from_key(m->peer_id, pub);
	m->ctl = ctl_local_create(base, dir, pub, &t, &ev, err);
	if (!m->ctl)
		fail_msg("ctl_local_create: %s", err);
}

static void member_start(struct member *m, const char *dir, uint32_t heartbeat_ms,
                         uint32_t stale_ms)
{
	member_start_on(m, harness_base(), dir, heartbeat_ms, stale_ms, 50);
}

static void member_stop(struct member *m)
{
	ctl_destroy(m->ctl);
	m->ctl = NULL;
	watch_clear(&m->w);
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

struct party_cond {
	struct member *m;
	size_t n_members;
	const char *has, *lacks, *vip;
};

static bool party_ready(void *arg)
{
	struct party_cond *c = arg;
	const struct party_info *p = &c->m->w.party;
	char buf[ADDR_STRLEN];

	return p->n_members == c->n_members && (!c->has || party_info_find(p, c->has)) &&
	       (!c->lacks || !party_info_find(p, c->lacks)) &&
	       (!c->vip || strcmp(member_vip(p, c->has, buf), c->vip) == 0);
}

static void wait_party(struct party_cond c, const char *what)
{
	loop_until(party_ready, &c, HARNESS_DEADLINE_MS, what);
}

/* The party as the file holds it now (FOUND or MISSING). */
static enum partyfile_lookup file_party(const char *dir, const char *id, struct party_info *p)
{
	char path[512], *text = NULL;
	struct partyfile f;
	struct prefix net;
	enum partyfile_lookup r;
	size_t len;
	errmsg err;

	snprintf(path, sizeof(path), "%s/discovery.json", dir);
	if (file_read_all(path, PARTYFILE_MAX_BYTES, &text, &len) != 0) {
		party_info_init(p);
		return PARTYFILE_MISSING;
	}
	assert_int_equal(partyfile_parse(&f, text, len, err), PARTYFILE_OK);
	free(text);
	r = partyfile_get(&f, id, p, &net, NULL, NULL, err);
	assert_int_not_equal(r, PARTYFILE_MALFORMED);
	partyfile_clear(&f);
	return r;
}

/* Replaces a file whole (as a careless writer might, but never caught half-written). */
static void write_text(const char *dir, const char *name, const char *text)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(file_write_atomic(path, text, strlen(text), 0644), 0);
}

static char *read_text(const char *path)
{
	char *text = NULL;
	size_t len;

	assert_int_equal(file_read_all(path, 1 << 20, &text, &len), 0);
	return text;
}

struct relays_result {
	bool called;
	int status;
	char error[512];
};

static void relays_cb(void *arg, int status, const char *error, const struct ctl_relay *relays,
                      size_t n)
{
	struct relays_result *r = arg;

	r->called = true;
	r->status = status;
	snprintf(r->error, sizeof(r->error), "%s", error ? error : "");
}

static bool relays_done(void *arg)
{
	return ((struct relays_result *)arg)->called;
}

static bool endpoint_seen(void *arg)
{
	struct member *m = arg;

	for (size_t i = 0; i < m->w.party.n_members; i++) {
		const struct peer_info *p = &m->w.party.members[i];
		char buf[ADDR_STRLEN];

		if (strcmp(p->name, "bob") == 0 && p->nat_type == NAT_PORT_RESTRICTED_CONE &&
		    strcmp(addr_format(&p->public_endpoint, buf), "203.0.113.9:51820") == 0)
			return true;
	}
	return false;
}

/* Create, join, see each other, distinct addresses, update, leave, rejoin, errors. */
static void test_party_flow(void **state)
{
	struct member a, b, c;
	char dir[256], id[PARTY_ID_LEN + 1], typed[PARTY_ID_LEN + 4], want[600];
	char va[ADDR_STRLEN], vb[ADDR_STRLEN], vc[ADDR_STRLEN], missing[PARTY_ID_LEN + 1];
	struct peer_info self;
	struct relays_result rr = { 0 };
	struct party_info p;
	struct done d = { 0 };
	json_t *data;
	uint64_t t0;

	scratch_dir(dir, sizeof(dir), "disco");
	member_start(&a, dir, 200, 60000);
	member_start(&b, dir, 200, 60000);
	member_start(&c, dir, 200, 60000);
	snprintf(want, sizeof(want), "local %s/discovery.json", dir);
	assert_string_equal(a.ctl->ops->describe(a.ctl), want);
	assert_int_equal(a.ctl->ops->link(a.ctl), CTL_LINK_UP);

	create_party(&a, "Friday LAN", "alice", id);
	wait_party((struct party_cond){ .m = &a, .n_members = 1, .has = a.peer_id },
	           "alice's party");
	/* Typed with spaces and in lower case. */
	snprintf(typed, sizeof(typed), "%.4s %.4s %.4s %.4s", id, id + 5, id + 10, id + 15);
	for (char *t = typed; *t; t++)
		*t = (char)(*t >= 'A' && *t <= 'Z' ? *t - 'A' + 'a' : *t);
	join_party(&b, typed, "bob");
	join_party(&c, id, "carol");
	wait_party((struct party_cond){ .m = &a, .n_members = 3, .has = c.peer_id },
	           "alice sees all");
	wait_party((struct party_cond){ .m = &b, .n_members = 3, .has = c.peer_id },
	           "bob sees all");
	wait_party((struct party_cond){ .m = &c, .n_members = 3, .has = a.peer_id },
	           "carol sees all");
	member_vip(&a.w.party, a.peer_id, va);
	member_vip(&a.w.party, b.peer_id, vb);
	member_vip(&a.w.party, c.peer_id, vc);
	assert_true(strncmp(va, "10.66.", 6) == 0 && strncmp(vb, "10.66.", 6) == 0 &&
	            strncmp(vc, "10.66.", 6) == 0);
	assert_string_not_equal(va, vb);
	assert_string_not_equal(va, vc);
	assert_string_not_equal(vb, vc);
	assert_string_equal(a.w.party.host_id, a.peer_id);

	/* An update reaches the others through the file. */
	self = desc("bob");
	self.nat_type = NAT_PORT_RESTRICTED_CONE;
	assert_true(addr_parse(&self.public_endpoint, "203.0.113.9:51820", NULL));
	t0 = now_mono_ms();
	assert_int_equal(b.ctl->ops->update_self(b.ctl, &self), 0);
	loop_until(endpoint_seen, &a, HARNESS_DEADLINE_MS, "bob's endpoint at alice");
	loop_until(endpoint_seen, &c, HARNESS_DEADLINE_MS, "bob's endpoint at carol");
	print_message("an update reached both others in %llu ms (poll_ms 50)\n",
	              (unsigned long long)(now_mono_ms() - t0));
	/* A description nobody could read is refused, not written. */
	self = desc("");
	assert_int_equal(b.ctl->ops->update_self(b.ctl, &self), -EINVAL);

	/* No server: no signals, relays or relay tokens. */
	data = json_pack("{s:s}", "x", "y");
	assert_int_equal(a.ctl->ops->signal(a.ctl, b.peer_id, data), -ENOTSUP);
	json_decref(data);
	assert_int_equal(a.ctl->ops->relays(a.ctl, relays_cb, &rr), 0);
	assert_false(rr.called);
	loop_until(relays_done, &rr, HARNESS_DEADLINE_MS, "relays");
	assert_int_equal(rr.status, 404);
	assert_non_null(strstr(rr.error, "relays"));

	/* Bob leaves: the others see it, the file holds two; back, he has his address again. */
	leave_party(&b);
	wait_party((struct party_cond){ .m = &a, .n_members = 2, .lacks = b.peer_id },
	           "alice sees bob leave");
	wait_party((struct party_cond){ .m = &c, .n_members = 2, .lacks = b.peer_id },
	           "carol sees bob leave");
	assert_int_equal(file_party(dir, id, &p), PARTYFILE_FOUND);
	assert_int_equal(p.n_members, 2);
	party_info_clear(&p);
	join_party(&b, id, "bob");
	wait_party((struct party_cond){ .m = &a, .n_members = 3, .has = b.peer_id, .vip = vb },
	           "bob back with his address");

	/* The host leaves: the longest-standing member takes over. */
	leave_party(&a);
	wait_party((struct party_cond){ .m = &c, .n_members = 2, .lacks = a.peer_id },
	           "carol sees alice leave");
	assert_string_equal(c.w.party.host_id, c.peer_id);

	/* Errors: a party that is not there, a typo, a call while busy. */
	party_id_generate(missing);
	self = desc("alice");
	done_wait(&d, a.ctl->ops->join(a.ctl, missing, &self, done_cb, &d), "join a missing party");
	assert_int_equal(d.status, 404);
	snprintf(want, sizeof(want), "no party %s in %s/discovery.json", missing, dir);
	assert_string_equal(d.error, want);
	done_clear(&d);
	typed[0] = typed[0] == 'a' ? 'b' : 'a';
	done_wait(&d, a.ctl->ops->join(a.ctl, typed, &self, done_cb, &d), "join with a typo");
	assert_int_equal(d.status, 400);
	done_clear(&d);
	assert_int_equal(a.ctl->ops->join(a.ctl, id, &self, done_cb, &d), 0);
	assert_int_equal(a.ctl->ops->create(a.ctl, "x", &self, done_cb, &d), -EBUSY);
	done_wait(&d, 0, "join");
	assert_int_equal(d.status, 0);
	done_clear(&d);
	assert_int_equal(a.ctl->ops->create(a.ctl, "x", &self, done_cb, &d), -EISCONN);

	leave_party(&a);
	leave_party(&b);
	leave_party(&c);
	assert_int_equal(a.ctl->ops->leave(a.ctl, done_cb, &d), -ENOTCONN);
	/* The last one out removes the party. */
	assert_int_equal(file_party(dir, id, &p), PARTYFILE_MISSING);
	party_info_clear(&p);
	assert_int_equal(a.w.n_gone + b.w.n_gone + c.w.n_gone, 0);
	member_stop(&a);
	member_stop(&b);
	member_stop(&c);
}

/*
 * Stale members go; a member pruned while alive (a suspended laptop) puts
 * itself back with its address; a deleted file is rebuilt by its members.
 */
static void test_stale(void **state)
{
	struct member a, b, c;
	char dir[256], id[PARTY_ID_LEN + 1], path[512], vb[ADDR_STRLEN], va[ADDR_STRLEN];
	struct party_info p;

	scratch_dir(dir, sizeof(dir), "stale");
	member_start(&a, dir, 100, 600);
	member_start(&b, dir, 100, 600);
	/* Carol's heartbeat is far slower than the stale time, her watch slower than theirs. */
	member_start_on(&c, harness_base(), dir, 60000, 600, 400);
	create_party(&a, "Stale", "alice", id);
	join_party(&b, id, "bob");
	join_party(&c, id, "carol");
	wait_party((struct party_cond){ .m = &a, .n_members = 3, .has = c.peer_id }, "all in");
	member_vip(&a.w.party, b.peer_id, vb);
	member_vip(&a.w.party, a.peer_id, va);

	/* Carol is pruned by the others but sees it and comes back, same address. */
	{
		char vc[ADDR_STRLEN], logpath[600], *logtext;
		int logfd;

		snprintf(logpath, sizeof(logpath), "%s/log", dir);
		logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
		assert_true(logfd >= 0);
		log_set_fd(logfd);
		member_vip(&a.w.party, c.peer_id, vc);
		wait_party((struct party_cond){ .m = &a, .n_members = 2, .lacks = c.peer_id },
		           "carol pruned");
		wait_party(
		    (struct party_cond){ .m = &a, .n_members = 3, .has = c.peer_id, .vip = vc },
		    "carol back");
		log_set_fd(2);
		close(logfd);
		logtext = read_text(logpath);
		assert_non_null(strstr(logtext, "pruned 1 member(s)"));
		assert_non_null(strstr(logtext, "adding ourselves back"));
		free(logtext);
	}
	assert_int_equal(c.w.n_gone, 0);
	member_stop(&c);

	/* Bob crashes (no leave): pruned after the stale time. */
	member_stop(&b);
	wait_party((struct party_cond){ .m = &a, .n_members = 1, .lacks = b.peer_id },
	           "bob pruned");
	assert_int_equal(file_party(dir, id, &p), PARTYFILE_FOUND);
	assert_int_equal(p.n_members, 1);
	party_info_clear(&p);

	/* Someone deletes the file: its members write it again, same party, same addresses. */
	member_start(&b, dir, 100, 600);
	{
		struct peer_info self = desc("bob");
		struct done d = { 0 };

		/* The hint: the address bob had (a daemon restores it from its state). */
		assert_true(addr_parse_ip(&self.virtual_ip, vb, NULL));
		done_wait(&d, b.ctl->ops->join(b.ctl, id, &self, done_cb, &d), "bob rejoins");
		assert_int_equal(d.status, 0);
		done_clear(&d);
	}
	wait_party((struct party_cond){ .m = &a, .n_members = 2, .has = b.peer_id, .vip = vb },
	           "bob back with his old address");
	snprintf(path, sizeof(path), "%s/discovery.json", dir);
	assert_int_equal(unlink(path), 0);
	{
		struct party_cond want = { .m = &a, .n_members = 2, .has = b.peer_id, .vip = vb };

		for (uint64_t end = now_mono_ms() + HARNESS_DEADLINE_MS;;) {
			enum partyfile_lookup r;

			loop_run_ms(50);
			r = file_party(dir, id, &p);
			if (r == PARTYFILE_FOUND && p.n_members == 2 && party_ready(&want))
				break;
			party_info_clear(&p);
			if (now_mono_ms() > end)
				fail_msg("the file was not rebuilt");
		}
		assert_string_equal(member_vip(&p, a.peer_id, va), va);
		party_info_clear(&p);
	}
	assert_int_equal(a.w.n_gone + b.w.n_gone, 0);
	member_stop(&a);
	member_stop(&b);
}

static int count_corrupt_copies(const char *dir, const char *expect_text)
{
	char pattern[512];
	glob_t g;
	int n = 0;

	snprintf(pattern, sizeof(pattern), "%s/discovery.json.corrupt-*", dir);
	if (glob(pattern, 0, NULL, &g) != 0)
		return 0;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		char *text = read_text(g.gl_pathv[i]);

		if (strcmp(text, expect_text) == 0)
			n++;
		free(text);
	}
	globfree(&g);
	return n;
}

static bool file_valid_with(void *arg)
{
	struct member *m = arg;
	struct party_info p;
	char dir[512];
	bool ok;

	snprintf(dir, sizeof(dir), "%s", m->ctl->ops->describe(m->ctl) + strlen("local "));
	*strrchr(dir, '/') = '\0';
	{
		char path[600], *text = NULL;
		struct partyfile f;
		size_t len;

		snprintf(path, sizeof(path), "%s/discovery.json", dir);
		if (file_read_all(path, 1 << 20, &text, &len) != 0)
			return false;
		ok = partyfile_parse(&f, text, len, NULL) == PARTYFILE_OK;
		free(text);
		if (!ok)
			return false;
		ok = partyfile_get(&f, m->w.party.id, &p, &(struct prefix){ 0 }, NULL, NULL,
		                   NULL) == PARTYFILE_FOUND &&
		     party_info_find(&p, m->peer_id);
		party_info_clear(&p);
		partyfile_clear(&f);
	}
	return ok;
}

static bool link_down(void *arg)
{
	return ((struct member *)arg)->w.n_down > 0;
}

static bool link_up(void *arg)
{
	struct member *m = arg;

	return m->w.link == CTL_LINK_UP && m->ctl->ops->link(m->ctl) == CTL_LINK_UP;
}

/* A corrupt file is reported, kept aside, and replaced; a newer format is left alone. */
static void test_corrupt(void **state)
{
	static const char garbage[] = "{\"version\": 1, \"parties\": {\"7KQ2-M9XD\": tru";
	static const char newer[] = "{\"version\": 7, \"parties\": {}, \"hyperspace\": true}\n";
	struct member a, b;
	char dir[256], dir2[256], id[PARTY_ID_LEN + 1], path[512], *text;
	struct peer_info self = desc("bob");
	struct done d = { 0 };

	/* A member's file goes bad under it. */
	scratch_dir(dir, sizeof(dir), "corrupt");
	member_start(&a, dir, 200, 60000);
	create_party(&a, "Corrupt", "alice", id);
	write_text(dir, "discovery.json", garbage);
	loop_until(link_down, &a, HARNESS_DEADLINE_MS, "the corruption reported");
	assert_non_null(strstr(a.w.link_detail, "corrupt"));
	loop_until(file_valid_with, &a, HARNESS_DEADLINE_MS, "alice rewrites her party");
	loop_until(link_up, &a, HARNESS_DEADLINE_MS, "the link up again");
	assert_int_equal(count_corrupt_copies(dir, garbage), 1);
	assert_int_equal(a.w.n_gone, 0);
	member_stop(&a);

	/* Joining through a corrupt file: not found, and why; the bytes are kept. */
	scratch_dir(dir2, sizeof(dir2), "corrupt2");
	write_text(dir2, "discovery.json", garbage);
	member_start(&b, dir2, 200, 60000);
	done_wait(&d, b.ctl->ops->join(b.ctl, id, &self, done_cb, &d), "join");
	assert_int_equal(d.status, 404);
	assert_non_null(strstr(d.error, "corrupt"));
	assert_non_null(strstr(d.error, "kept as"));
	done_clear(&d);
	assert_int_equal(count_corrupt_copies(dir2, garbage), 1);
	create_party(&b, "Fresh", "bob", id);
	leave_party(&b);

	/* A file from a newer version: refused, not touched. */
	write_text(dir2, "discovery.json", newer);
	done_wait(&d, b.ctl->ops->create(b.ctl, "Fresh", &self, done_cb, &d), "create");
	assert_int_equal(d.status, 503);
	assert_non_null(strstr(d.error, "newer"));
	done_clear(&d);
	snprintf(path, sizeof(path), "%s/discovery.json", dir2);
	text = read_text(path);
	assert_string_equal(text, newer);
	free(text);
	member_stop(&b);
}

/*
 * Writers in other processes: two children each join JOINERS members and
 * heartbeat every few ms while this process heartbeats too.  Nobody's
 * update may be lost: every member is in the file at the end, with its own
 * address, and no member ever had to put itself back (which is what a lost
 * update looks like from inside).
 */
enum { WRITERS = 2, JOINERS = 8, HAMMER_MS = 1500, HAMMER_HEARTBEAT_MS = 20 };

static void on_child_done(void *arg, int status, const char *error, const struct party_info *p)
{
	int *st = arg;

	*st = status == 0 ? 1 : -1;
	if (status)
		fprintf(stderr, "child join: %d %s\n", status, error);
}

static int writer(const char *dir, const char *id, int nth)
{
	struct event_base *base = event_base_new();
	struct member m[JOINERS];
	int st[JOINERS] = { 0 }, failed = 0;
	uint64_t end;

	for (int i = 0; i < JOINERS; i++) {
		char name[32];
		struct peer_info self;

		member_start_on(&m[i], base, dir, HAMMER_HEARTBEAT_MS, 60000, 50);
		snprintf(name, sizeof(name), "w%d-%d", nth, i);
		self = desc(name);
		if (m[i].ctl->ops->join(m[i].ctl, id, &self, on_child_done, &st[i]) != 0)
			return 100;
	}
	end = now_mono_ms() + HAMMER_MS;
	while (now_mono_ms() < end)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	for (int i = 0; i < JOINERS; i++) {
		failed += st[i] != 1;
		/* No leave: the records stay for the parent to count. */
		ctl_destroy(m[i].ctl);
	}
	event_base_free(base);
	return failed;
}

static bool children_done(void *arg)
{
	pid_t *pids = arg;
	bool all = true;

	for (int i = 0; i < WRITERS; i++) {
		int status;

		if (pids[i] > 0) {
			pid_t r = waitpid(pids[i], &status, WNOHANG);

			if (r == pids[i]) {
				if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
					fail_msg("writer %d failed (status 0x%x)", i, status);
				pids[i] = 0;
			}
		}
		all = all && pids[i] == 0;
	}
	return all;
}

static void test_concurrent_writers(void **state)
{
	struct member a;
	char dir[256], id[PARTY_ID_LEN + 1], logpath[600];
	pid_t pids[WRITERS];
	struct party_info p;
	int logfd;
	char *logtext;

	scratch_dir(dir, sizeof(dir), "hammer");
	snprintf(logpath, sizeof(logpath), "%s/log", dir);
	logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
	assert_true(logfd >= 0);
	member_start(&a, dir, HAMMER_HEARTBEAT_MS, 60000);
	create_party(&a, "Hammer", "alice", id);
	log_set_fd(logfd);
	for (int i = 0; i < WRITERS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0)
			_exit(writer(dir, id, i));
	}
	loop_until(children_done, pids, 4 * HARNESS_DEADLINE_MS, "the writers");
	log_set_fd(2);
	close(logfd);

	assert_int_equal(file_party(dir, id, &p), PARTYFILE_FOUND);
	assert_int_equal(p.n_members, 1 + WRITERS * JOINERS);
	for (size_t i = 0; i < p.n_members; i++) {
		for (size_t j = i + 1; j < p.n_members; j++)
			assert_false(
			    addr_equal_ip(&p.members[i].virtual_ip, &p.members[j].virtual_ip));
	}
	party_info_clear(&p);
	logtext = read_text(logpath);
	if (strstr(logtext, "adding ourselves back") || strstr(logtext, "re-creating"))
		fail_msg("an update was lost:\n%s", logtext);
	assert_null(strstr(logtext, "error"));
	free(logtext);
	/* This process saw them all too. */
	wait_party((struct party_cond){ .m = &a, .n_members = 1 + WRITERS * JOINERS },
	           "alice's view");
	member_stop(&a);
}

static char scratch_root[256];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* Everything the tests made lives under one directory, removed at exit. */
static void remove_scratch(void)
{
	if (scratch_root[0])
		nftw(scratch_root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_party_flow),
		cmocka_unit_test(test_stale),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_concurrent_writers),
	};

	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0)
		return 1;
	scratch_dir(scratch_root, sizeof(scratch_root), "ctl-local");
	setenv("TMPDIR", scratch_root, 1);
	atexit(remove_scratch);
	return cmocka_run_group_tests_name("ctl_local", tests, NULL, NULL) ? 1 : 0;
}
