/* ctl_local.c - the control plane without a server: parties in a shared discovery.json. */
#include "control/ctl.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control/ipam.h"
#include "control/party_id.h"
#include "control/partyfile.h"
#include "util/err.h"
#include "util/file.h"
#include "util/log.h"
#include "util/now.h"

/*
 * Every change is one transaction under an exclusive flock of
 * <dir>/discovery.lock: read discovery.json, drop members unseen for
 * stale_ms (and parties left empty), apply our change, replace the file
 * atomically.  Our change is always "make the file agree with what we want":
 * a new party, self added to one, self refreshed (heartbeat, new endpoints,
 * or re-added after another daemon pruned us while we were suspended), self
 * removed.  The lock is only ever tried (LOCK_NB) and retried on a timer, so
 * the loop never blocks on another process.
 *
 * Timers (all on the caller's loop):
 *   sync       runs a transaction: now, or LOCK_RETRY_MS later while the lock is busy
 *   heartbeat  every heartbeat_ms while a member: a transaction (last_seen, pruning)
 *   watch      every poll_ms while a member: stat the file; when it changed,
 *              read it (no lock: it is only ever replaced whole) and report
 *   done       delivers an error found inside a call, after the call returned
 */
enum {
	LOCK_RETRY_MS = 10,
	LOCK_WAIT_MS = 5000, /* a create, join or leave gives up after this */
	FILE_MODE = 0644,    /* public keys and endpoints: nothing secret */
	DIR_MODE = 0755,
};

enum local_state {
	L_IDLE,
	L_CREATING,
	L_JOINING,
	L_MEMBER,
	L_LEAVING,
};

/* What identifies one version of the file, to notice changes without reading it. */
struct file_id {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	bool exists;
};

/* Owned by the daemon through struct ctl. */
struct ctl_local {
	struct ctl ctl; /* first: struct ctl * converts to this */
	struct event_base *base;
	struct ctl_timing t;
	char path[PATH_MAX];      /* <dir>/discovery.json */
	char lock_path[PATH_MAX]; /* <dir>/discovery.lock */
	char describe[PATH_MAX + 8];
	int lock_fd;
	struct prefix network; /* for parties we create */
	char peer_id[PEER_ID_MAX + 1];
	enum ctl_link link;

	enum local_state state;
	char party_id[PARTY_ID_LEN + 1];     /* joining, member, leaving */
	char party_name[PARTY_NAME_MAX + 1]; /* creating */
	/* Our record: description, and virtual IP and joined_at once given (then a hint). */
	struct peer_info self;
	struct party_info party; /* as last reported (on_party or done) */
	struct prefix party_network;

	ctl_done_fn *done;
	void *done_arg;
	uint64_t op_started_ms;
	int deferred_status; /* for the done timer */
	char deferred_error[ERR_MAX + PATH_MAX];

	struct event *sync_ev, *heartbeat_ev, *watch_ev, *done_ev;
	struct local_ask *asks; /* relays/relay_token calls being answered */
	struct file_id seen;
	char corrupt_seen[ERR_MAX]; /* the last corruption reported, to say it once */
};

/* The outcome of one transaction. */
struct txn {
	int status; /* 0 or a ctl_done_fn status */
	char error[ERR_MAX + 2 * PATH_MAX];
	char corrupt[ERR_MAX +
	             PATH_MAX]; /* set when the file was corrupt: what, and where it went */
	bool have_party;
	struct party_info party;
	struct prefix network;
};

static struct ctl_local *to_local(struct ctl *c)
{
	return (struct ctl_local *)c;
}

static void set_link(struct ctl_local *l, enum ctl_link link, const char *detail)
{
	if (l->link == link)
		return;
	l->link = link;
	if (l->ctl.ev.on_link)
		l->ctl.ev.on_link(l->ctl.ev.ctx, link, detail);
}

static bool party_copy(struct party_info *dst, const struct party_info *src)
{
	party_info_clear(dst);
	memcpy(dst->id, src->id, sizeof(dst->id));
	memcpy(dst->name, src->name, sizeof(dst->name));
	memcpy(dst->host_id, src->host_id, sizeof(dst->host_id));
	dst->created_at_ms = src->created_at_ms;
	for (size_t i = 0; i < src->n_members; i++) {
		if (!party_info_put(dst, &src->members[i], NULL))
			return false;
	}
	return true;
}

static void file_id_of(struct file_id *id, const struct stat *st)
{
	id->dev = st->st_dev;
	id->ino = st->st_ino;
	id->size = st->st_size;
	id->mtime = st->st_mtim;
	id->exists = true;
}

static bool file_id_equal(const struct file_id *a, const struct file_id *b)
{
	if (!a->exists || !b->exists)
		return a->exists == b->exists;
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static void stat_file(const struct ctl_local *l, struct file_id *id)
{
	struct stat st;

	memset(id, 0, sizeof(*id));
	if (stat(l->path, &st) == 0)
		file_id_of(id, &st);
}

/*
 * Keeps a corrupt file under a name of its own before it is replaced: a hard
 * link (the replacing rename leaves the old bytes there), else a copy.
 */
static int keep_corrupt(const struct ctl_local *l, const char *text, size_t len, char *where,
                        size_t where_size)
{
	int64_t ms = now_wall_ms();
	int rc = 0;

	for (int n = 0; n < 100; n++) {
		if (n == 0)
			err_format(where, where_size, "%s.corrupt-%lld", l->path, (long long)ms);
		else
			err_format(where, where_size, "%s.corrupt-%lld-%d", l->path, (long long)ms,
			           n);
		if (link(l->path, where) == 0)
			return 0;
		if (errno == EEXIST)
			continue;
		/* No hard links here (some shared file systems): copy it, unless taken. */
		if (access(where, F_OK) == 0)
			continue;
		rc = file_write_atomic(where, text, len, FILE_MODE);
		return rc;
	}
	return -EEXIST;
}

/*
 * Reads the file into f (empty when missing).  A corrupt file reads as
 * empty; when keep is set it is first kept under another name, so writing
 * over it loses nothing.  Returns false (t->status 503) when the file cannot
 * be read or must not be written.
 */
static bool read_file(struct ctl_local *l, struct partyfile *f, bool keep, struct txn *t)
{
	char *text = NULL, where[PATH_MAX + 64];
	errmsg why = "";
	size_t len = 0;
	int rc = file_read_all(l->path, PARTYFILE_MAX_BYTES, &text, &len);

	t->corrupt[0] = '\0';
	if (rc == -ENOENT || (rc == 0 && len == 0)) {
		free(text);
		partyfile_init(f);
		return true;
	}
	if (rc == -EFBIG) {
		err_set(why, "larger than %d bytes", PARTYFILE_MAX_BYTES);
	} else if (rc < 0) {
		t->status = 503;
		err_format(t->error, sizeof(t->error), "cannot read %s: %s", l->path,
		           strerror(-rc));
		return false;
	} else {
		switch (partyfile_parse(f, text, len, why)) {
		case PARTYFILE_OK:
			free(text);
			return true;
		case PARTYFILE_NEWER:
			free(text);
			partyfile_clear(f);
			t->status = 503;
			err_format(t->error, sizeof(t->error),
			           "%s was written by a newer LANrage (%s); not touching it",
			           l->path, why);
			return false;
		case PARTYFILE_CORRUPT:
			partyfile_clear(f);
			break;
		}
	}
	partyfile_init(f);
	if (!keep) {
		err_format(t->corrupt, sizeof(t->corrupt), "%s is corrupt (%s)", l->path, why);
		free(text);
		return true;
	}
	rc = keep_corrupt(l, text ? text : "", text ? len : 0, where, sizeof(where));
	free(text);
	if (rc < 0) {
		partyfile_clear(f);
		t->status = 503;
		err_format(
		    t->error, sizeof(t->error),
		    "%s is corrupt (%s) and could not be kept aside (%s); not overwriting it",
		    l->path, why, strerror(-rc));
		return false;
	}
	err_format(t->corrupt, sizeof(t->corrupt), "%s was corrupt (%s); kept as %s", l->path, why,
	           where);
	log_error("local discovery: %s", t->corrupt);
	return true;
}

static bool write_file(struct ctl_local *l, const struct partyfile *f, struct txn *t)
{
	size_t len;
	char *text = partyfile_dump(f, &len);
	int rc = text ? file_write_atomic(l->path, text, len, FILE_MODE) : -ENOMEM;

	free(text);
	if (rc < 0) {
		t->status = 503;
		err_format(t->error, sizeof(t->error), "cannot write %s: %s", l->path,
		           strerror(-rc));
		return false;
	}
	stat_file(l, &l->seen);
	return true;
}

/*
 * Self's virtual IP in party: the one it holds there, else its previous one
 * (the hint) while free, else a fresh one.
 */
static bool assign_vip(struct ctl_local *l, const struct party_info *party,
                       const struct prefix *network, struct txn *t)
{
	char cidr[PREFIX_STRLEN];
	const struct peer_info *mine = party_info_find(party, l->peer_id);
	struct ipam ipam;
	struct in_addr ip;
	errmsg err;

	if (mine) {
		l->self.virtual_ip = mine->virtual_ip;
		return true;
	}
	if (!ipam_init(&ipam, prefix_format(network, cidr), err))
		goto fail;
	for (size_t i = 0; i < party->n_members; i++) {
		const struct peer_info *m = &party->members[i];

		/* partyfile_get kept only unique addresses of the network. */
		if (!ipam_reserve(&ipam, m->id, m->virtual_ip.in4.sin_addr, NULL))
			continue;
	}
	if (l->self.virtual_ip.sa.sa_family == AF_INET &&
	    ipam_reserve(&ipam, l->peer_id, l->self.virtual_ip.in4.sin_addr, NULL)) {
		ipam_clear(&ipam);
		return true;
	}
	if (!ipam_alloc(&ipam, l->peer_id, &ip, err)) {
		ipam_clear(&ipam);
		t->status = 409;
		err_format(t->error, sizeof(t->error), "party %s: %s", party->id, err);
		return false;
	}
	ipam_clear(&ipam);
	addr_from_in4(&l->self.virtual_ip, ip, 0);
	return true;
fail:
	t->status = 400;
	err_format(t->error, sizeof(t->error), "party %s: %s", party->id, err);
	return false;
}

/* Writes self (fresh last_seen) into party; party must have room or hold self already. */
static bool put_self(struct ctl_local *l, struct party_info *party, struct txn *t)
{
	errmsg err;

	l->self.last_seen_ms = now_wall_ms();
	if (!party_info_put(party, &l->self, err)) {
		t->status = 409;
		err_format(t->error, sizeof(t->error), "%s", err);
		return false;
	}
	return true;
}

static void txn_create(struct ctl_local *l, struct partyfile *f, struct txn *t)
{
	struct party_info *p = &t->party;

	party_info_init(p);
	do
		party_id_generate(p->id);
	while (partyfile_has(f, p->id));
	snprintf(p->name, sizeof(p->name), "%s", l->party_name);
	snprintf(p->host_id, sizeof(p->host_id), "%s", l->peer_id);
	p->created_at_ms = now_wall_ms();
	t->network = l->network;
	l->self.joined_at_ms = p->created_at_ms;
	if (!assign_vip(l, p, &t->network, t) || !put_self(l, p, t))
		return;
	t->have_party = true;
}

static void txn_join(struct ctl_local *l, struct partyfile *f, struct txn *t)
{
	struct party_info *p = &t->party;
	const struct peer_info *mine;
	errmsg err = "", dropped_err = "";
	size_t dropped = 0;

	switch (partyfile_get(f, l->party_id, p, &t->network, &dropped, dropped_err, err)) {
	case PARTYFILE_MISSING:
		t->status = 404;
		err_format(t->error, sizeof(t->error), "no party %s in %s%s%s", l->party_id,
		           l->path, t->corrupt[0] ? "; " : "", t->corrupt);
		return;
	case PARTYFILE_MALFORMED:
		t->status = 400;
		err_format(t->error, sizeof(t->error), "party %s in %s is malformed: %s",
		           l->party_id, l->path, err);
		return;
	case PARTYFILE_FOUND:
		break;
	}
	if (dropped)
		log_error(
		    "local discovery: party %s: dropped %zu malformed member record(s) in %s: "
		    "%s",
		    l->party_id, dropped, l->path, dropped_err);
	mine = party_info_find(p, l->peer_id);
	l->self.joined_at_ms = mine ? mine->joined_at_ms : now_wall_ms();
	if (!assign_vip(l, p, &t->network, t) || !put_self(l, p, t))
		return;
	if (!party_info_find(p, p->host_id))
		snprintf(p->host_id, sizeof(p->host_id), "%s", l->peer_id);
	t->have_party = true;
}

/* A heartbeat or update: self refreshed, or put back when someone pruned us. */
static void txn_refresh(struct ctl_local *l, struct partyfile *f, struct txn *t)
{
	struct party_info *p = &t->party;
	errmsg err = "", dropped_err = "";
	size_t dropped = 0;

	switch (partyfile_get(f, l->party_id, p, &t->network, &dropped, dropped_err, err)) {
	case PARTYFILE_MISSING:
		/* Pruned with everyone else (we were away longest): the party lives on in us. */
		log_info("local discovery: party %s was gone from %s; re-creating it", l->party_id,
		         l->path);
		if (!party_copy(p, &l->party)) {
			t->status = 503;
			err_format(t->error, sizeof(t->error), "out of memory");
			return;
		}
		while (p->n_members)
			party_info_remove(p, p->members[0].id);
		snprintf(p->host_id, sizeof(p->host_id), "%s", l->peer_id);
		t->network = l->party_network;
		break;
	case PARTYFILE_MALFORMED:
		t->status = 503;
		err_format(t->error, sizeof(t->error), "party %s in %s is malformed: %s",
		           l->party_id, l->path, err);
		return;
	case PARTYFILE_FOUND:
		if (dropped)
			log_ratelimited(LL_ERROR,
			                "local discovery: party %s: dropping %zu malformed member "
			                "record(s) in %s: %s",
			                l->party_id, dropped, l->path, dropped_err);
		break;
	}
	if (!party_info_find(p, l->peer_id)) {
		if (p->n_members)
			log_info(
			    "local discovery: party %s: we had been pruned from %s (suspended?); "
			    "adding ourselves back",
			    l->party_id, l->path);
		if (!assign_vip(l, p, &t->network, t))
			return;
	}
	if (!put_self(l, p, t))
		return;
	if (!party_info_find(p, p->host_id))
		snprintf(p->host_id, sizeof(p->host_id), "%s", l->peer_id);
	t->have_party = true;
}

static void txn_leave(struct ctl_local *l, struct partyfile *f, struct txn *t)
{
	struct party_info *p = &t->party;
	errmsg err;

	if (partyfile_get(f, l->party_id, p, &t->network, NULL, NULL, err) != PARTYFILE_FOUND ||
	    !party_info_remove(p, l->peer_id))
		return;
	if (strcmp(p->host_id, l->peer_id) == 0) {
		const struct peer_info *next = party_info_longest_member(p);

		snprintf(p->host_id, sizeof(p->host_id), "%s", next ? next->id : "");
	}
	t->have_party = true; /* written back (or removed, when empty) */
}

/* One transaction under the lock held by the caller. */
static void transact(struct ctl_local *l, struct txn *t)
{
	struct partyfile f;
	size_t pruned;
	errmsg err;

	if (!read_file(l, &f, true, t))
		return;
	pruned = partyfile_prune(&f, now_wall_ms() - (int64_t)l->t.stale_ms, l->peer_id);
	if (pruned)
		log_info("local discovery: pruned %zu member(s) unseen for %u ms from %s", pruned,
		         l->t.stale_ms, l->path);
	switch (l->state) {
	case L_CREATING:
		txn_create(l, &f, t);
		break;
	case L_JOINING:
		txn_join(l, &f, t);
		break;
	case L_MEMBER:
		txn_refresh(l, &f, t);
		break;
	case L_LEAVING:
		txn_leave(l, &f, t);
		break;
	case L_IDLE:
		break;
	}
	if (t->have_party && !partyfile_put(&f, &t->party, &t->network, err)) {
		t->status = 503;
		err_format(t->error, sizeof(t->error), "%s", err);
	}
	if ((t->status == 0 || pruned || t->corrupt[0]) && !write_file(l, &f, t))
		t->have_party = false;
	partyfile_clear(&f);
}

static void arm(struct event *ev, uint32_t ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	event_add(ev, &tv);
}

static void request_sync(struct ctl_local *l)
{
	if (!event_pending(l->sync_ev, EV_TIMEOUT, NULL))
		event_active(l->sync_ev, EV_TIMEOUT, 0);
}

static void stop_member_timers(struct ctl_local *l)
{
	event_del(l->heartbeat_ev);
	event_del(l->watch_ev);
	event_del(l->sync_ev);
}

static void finish_op(struct ctl_local *l, int status, const char *error,
                      const struct party_info *party)
{
	ctl_done_fn *done = l->done;
	void *arg = l->done_arg;

	l->done = NULL;
	l->done_arg = NULL;
	if (done)
		done(arg, status, error, party);
}

/* After a transaction: new state, then the callbacks, the last thing we do. */
static void settle(struct ctl_local *l, struct txn *t)
{
	enum local_state was = l->state;
	char id[PARTY_ID_LEN + 1];

	if (t->status == 0 && t->corrupt[0] == '\0')
		set_link(l, CTL_LINK_UP, l->path);
	else if (t->status == 503)
		set_link(l, CTL_LINK_DOWN, t->error);
	switch (was) {
	case L_CREATING:
	case L_JOINING:
		if (t->status || !t->have_party) {
			l->state = L_IDLE;
			finish_op(l, t->status ? t->status : 503, t->status ? t->error : "failed",
			          NULL);
			return;
		}
		l->state = L_MEMBER;
		snprintf(l->party_id, sizeof(l->party_id), "%s", t->party.id);
		l->party_network = t->network;
		if (!party_copy(&l->party, &t->party)) {
			l->state = L_LEAVING; /* cannot track it: take ourselves out again */
			request_sync(l);
			return;
		}
		arm(l->heartbeat_ev, l->t.heartbeat_ms);
		arm(l->watch_ev, l->t.poll_ms);
		log_info("local discovery: %s party %s (%s) in %s",
		         was == L_CREATING ? "created" : "joined", l->party_id, l->party.name,
		         l->path);
		snprintf(id, sizeof(id), "%s", l->party_id);
		finish_op(l, 0, NULL, &l->party);
		/* done may have left already. */
		if (l->state == L_MEMBER && strcmp(l->party_id, id) == 0 && l->ctl.ev.on_party)
			l->ctl.ev.on_party(l->ctl.ev.ctx, &l->party);
		return;
	case L_MEMBER:
		if (t->status == 409) {
			/* Pruned, and the party has no room for us now. */
			l->state = L_IDLE;
			stop_member_timers(l);
			party_info_clear(&l->party);
			log_error("local discovery: cannot rejoin party %s: %s", l->party_id,
			          t->error);
			if (l->ctl.ev.on_party_gone)
				l->ctl.ev.on_party_gone(l->ctl.ev.ctx, t->error);
			return;
		}
		if (t->status) {
			log_ratelimited(LL_ERROR, "local discovery: party %s: %s", l->party_id,
			                t->error);
			return;
		}
		if (!t->have_party || ctl_party_same(&l->party, &t->party))
			return;
		if (!party_copy(&l->party, &t->party))
			return;
		if (l->ctl.ev.on_party)
			l->ctl.ev.on_party(l->ctl.ev.ctx, &l->party);
		return;
	case L_LEAVING:
		if (t->status == 503 && now_mono_ms() - l->op_started_ms < LOCK_WAIT_MS) {
			/* Try again soon; the daemon is not held up by it. */
			arm(l->sync_ev, l->t.retry_min_ms);
			return;
		}
		if (t->status)
			log_error(
			    "local discovery: leaving party %s: %s; it will prune us in %u ms",
			    l->party_id, t->error, l->t.stale_ms);
		else
			log_info("local discovery: left party %s", l->party_id);
		l->state = L_IDLE;
		stop_member_timers(l);
		party_info_clear(&l->party);
		finish_op(l, 0, NULL, NULL);
		return;
	case L_IDLE:
		return;
	}
}

static void on_sync(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_local *l = arg;
	struct txn t;

	if (l->state == L_IDLE)
		return;
	if (flock(l->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		bool user_op = l->state != L_MEMBER;

		if ((errno == EWOULDBLOCK || errno == EINTR) &&
		    (!user_op || now_mono_ms() - l->op_started_ms < LOCK_WAIT_MS)) {
			arm(l->sync_ev, LOCK_RETRY_MS);
			return;
		}
		memset(&t, 0, sizeof(t));
		t.status = 503;
		if (errno == EWOULDBLOCK)
			err_format(t.error, sizeof(t.error),
			           "%s has been locked by another process for %d ms", l->lock_path,
			           LOCK_WAIT_MS);
		else
			err_format(t.error, sizeof(t.error), "cannot lock %s: %s", l->lock_path,
			           strerror(errno));
		if (l->state == L_LEAVING)
			l->op_started_ms = 0; /* give up on the file, not on leaving */
		settle(l, &t);
		return;
	}
	memset(&t, 0, sizeof(t));
	party_info_init(&t.party);
	transact(l, &t);
	flock(l->lock_fd, LOCK_UN);
	settle(l, &t);
	party_info_clear(&t.party);
}

static void on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_local *l = arg;

	request_sync(l);
	arm(l->heartbeat_ev, l->t.heartbeat_ms);
}

/* The file changed under us: report our party, or put ourselves back into it. */
static void on_watch(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_local *l = arg;
	struct file_id now_id;
	struct partyfile f;
	struct party_info p;
	struct prefix network;
	struct txn t;
	bool changed;
	errmsg err;

	arm(l->watch_ev, l->t.poll_ms);
	if (l->state != L_MEMBER)
		return;
	stat_file(l, &now_id);
	if (file_id_equal(&now_id, &l->seen))
		return;
	l->seen = now_id;
	memset(&t, 0, sizeof(t));
	if (!read_file(l, &f, false, &t)) {
		log_ratelimited(LL_ERROR, "local discovery: %s", t.error);
		set_link(l, CTL_LINK_DOWN, t.error);
		return;
	}
	if (t.corrupt[0]) {
		/* Say it once; the next transaction keeps a copy and rewrites it. */
		if (strcmp(t.corrupt, l->corrupt_seen) != 0)
			log_error("local discovery: %s; it will be kept aside and rewritten",
			          t.corrupt);
		err_format(l->corrupt_seen, sizeof(l->corrupt_seen), "%s", t.corrupt);
		set_link(l, CTL_LINK_DOWN, t.corrupt);
	}
	if (partyfile_get(&f, l->party_id, &p, &network, NULL, NULL, err) != PARTYFILE_FOUND ||
	    !party_info_find(&p, l->peer_id)) {
		/* Pruned while alive (or the file was lost): back in at once. */
		partyfile_clear(&f);
		party_info_clear(&p);
		request_sync(l);
		return;
	}
	partyfile_clear(&f);
	changed = !ctl_party_same(&l->party, &p) && party_copy(&l->party, &p);
	party_info_clear(&p);
	if (changed && l->ctl.ev.on_party)
		l->ctl.ev.on_party(l->ctl.ev.ctx, &l->party);
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_local *l = arg;

	finish_op(l, l->deferred_status, l->deferred_status ? l->deferred_error : NULL, NULL);
}

/* An error found inside a call, delivered after it returned. */
static int fail_later(struct ctl_local *l, ctl_done_fn *done, void *arg, int status,
                      const char *error)
{
	l->done = done;
	l->done_arg = arg;
	l->deferred_status = status;
	err_format(l->deferred_error, sizeof(l->deferred_error), "%s", error);
	event_active(l->done_ev, EV_TIMEOUT, 0);
	return 0;
}

static int busy(const struct ctl_local *l)
{
	if (l->done || l->state == L_CREATING || l->state == L_JOINING || l->state == L_LEAVING)
		return -EBUSY;
	if (l->state == L_MEMBER)
		return -EISCONN;
	return 0;
}

/* Takes the daemon's description: name, NAT type, endpoints (id and key are ours). */
static void take_description(struct ctl_local *l, const struct peer_info *self)
{
	snprintf(l->self.name, sizeof(l->self.name), "%s", self->name);
	l->self.nat_type = self->nat_type;
	l->self.public_endpoint = self->public_endpoint;
	l->self.local_endpoint = self->local_endpoint;
}

static int start_op(struct ctl_local *l, enum local_state state, const struct peer_info *self,
                    ctl_done_fn *done, void *arg)
{
	errmsg err;

	take_description(l, self);
	if (self->virtual_ip.sa.sa_family == AF_INET)
		l->self.virtual_ip = self->virtual_ip; /* a hint: the address we had */
	if (!peer_info_validate(&l->self, err)) {
		err_prefix(err, "self");
		return fail_later(l, done, arg, 400, err);
	}
	l->state = state;
	l->done = done;
	l->done_arg = arg;
	l->op_started_ms = now_mono_ms();
	request_sync(l);
	return 0;
}

static int local_create(struct ctl *c, const char *name, const struct peer_info *self,
                        ctl_done_fn *done, void *arg)
{
	struct ctl_local *l = to_local(c);
	int rc = busy(l);

	if (rc)
		return rc;
	if (!party_name_valid(name))
		return fail_later(l, done, arg, 400,
		                  "party name must be 1-64 bytes of printable UTF-8");
	snprintf(l->party_name, sizeof(l->party_name), "%s", name);
	return start_op(l, L_CREATING, self, done, arg);
}

static int local_join(struct ctl *c, const char *party_id, const struct peer_info *self,
                      ctl_done_fn *done, void *arg)
{
	struct ctl_local *l = to_local(c);
	int rc = busy(l);
	errmsg err;

	if (rc)
		return rc;
	if (!party_id_normalize(l->party_id, party_id, err))
		return fail_later(l, done, arg, 400, err);
	return start_op(l, L_JOINING, self, done, arg);
}

static int local_leave(struct ctl *c, ctl_done_fn *done, void *arg)
{
	struct ctl_local *l = to_local(c);

	if (l->state != L_MEMBER)
		return l->state == L_IDLE && !l->done ? -ENOTCONN : -EBUSY;
	l->state = L_LEAVING;
	l->done = done;
	l->done_arg = arg;
	l->op_started_ms = now_mono_ms();
	event_del(l->sync_ev);
	request_sync(l);
	return 0;
}

static int local_update_self(struct ctl *c, const struct peer_info *self)
{
	struct ctl_local *l = to_local(c);

	take_description(l, self);
	if (l->state == L_MEMBER)
		request_sync(l);
	return 0;
}

static int local_signal(struct ctl *c, const char *to_peer_id, const json_t *data)
{
	return -ENOTSUP;
}

/* A relays or relay_token call, answered after the call returns; owned by the ctl's list. */
struct local_ask {
	struct ctl_local *l;
	struct event *ev;
	ctl_relays_fn *relays;
	ctl_relay_token_fn *token;
	void *arg;
	struct local_ask *next;
};

static const char no_relays[] =
    "local discovery has no relays (relays come from a control server: set control_url)";

static void unlink_ask(struct ctl_local *l, struct local_ask *a)
{
	for (struct local_ask **p = &l->asks; *p; p = &(*p)->next) {
		if (*p == a) {
			*p = a->next;
			break;
		}
	}
	event_free(a->ev);
}

static void on_ask(evutil_socket_t fd, short what, void *arg)
{
	struct local_ask *a = arg;
	struct local_ask copy = *a;

	unlink_ask(a->l, a);
	free(a);
	if (copy.relays)
		copy.relays(copy.arg, 404, no_relays, NULL, 0);
	else
		copy.token(copy.arg, 404, no_relays, NULL, 0, NULL, 0);
}

static int ask_later(struct ctl_local *l, ctl_relays_fn *relays, ctl_relay_token_fn *token,
                     void *arg)
{
	struct local_ask *a = calloc(1, sizeof(*a));

	if (!a)
		return -ENOMEM;
	a->l = l;
	a->relays = relays;
	a->token = token;
	a->arg = arg;
	a->ev = evtimer_new(l->base, on_ask, a);
	if (!a->ev) {
		free(a);
		return -ENOMEM;
	}
	a->next = l->asks;
	l->asks = a;
	event_active(a->ev, EV_TIMEOUT, 0);
	return 0;
}

static int local_relays(struct ctl *c, ctl_relays_fn *done, void *arg)
{
	return ask_later(to_local(c), done, NULL, arg);
}

static int local_relay_token(struct ctl *c, ctl_relay_token_fn *done, void *arg)
{
	struct ctl_local *l = to_local(c);

	if (l->state != L_MEMBER)
		return -ENOTCONN;
	return ask_later(l, NULL, done, arg);
}

static enum ctl_link local_link(const struct ctl *c)
{
	return ((const struct ctl_local *)c)->link;
}

static const char *local_describe(const struct ctl *c)
{
	return ((const struct ctl_local *)c)->describe;
}

static void local_destroy(struct ctl *c)
{
	struct ctl_local *l = to_local(c);

	while (l->asks) {
		struct local_ask *a = l->asks;

		unlink_ask(l, a);
		free(a);
	}
	event_free(l->sync_ev);
	event_free(l->heartbeat_ev);
	event_free(l->watch_ev);
	event_free(l->done_ev);
	if (l->lock_fd >= 0)
		close(l->lock_fd);
	party_info_clear(&l->party);
	free(l);
}

static const struct ctl_ops local_ops = {
	.create = local_create,
	.join = local_join,
	.leave = local_leave,
	.update_self = local_update_self,
	.signal = local_signal,
	.relays = local_relays,
	.relay_token = local_relay_token,
	.link = local_link,
	.describe = local_describe,
	.destroy = local_destroy,
};

struct ctl *ctl_local_create(struct event_base *base, const char *dir, const wg_key public_key,
                             const struct ctl_timing *timing, const struct ctl_events *ev,
                             char *err)
{
	struct ctl_local *l;
	int rc;

	if (!dir || !*dir || strlen(dir) > PATH_MAX - 32) {
		err_set(err, "discovery directory: expected a path of at most %d bytes",
		        PATH_MAX - 32);
		return NULL;
	}
	rc = file_mkdirs(dir, DIR_MODE);
	if (rc < 0) {
		err_set(err, "cannot create the discovery directory %.200s: %s", dir,
		        strerror(-rc));
		return NULL;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		err_set(err, "out of memory");
		return NULL;
	}
	l->ctl.ops = &local_ops;
	if (ev)
		l->ctl.ev = *ev;
	l->base = base;
	l->lock_fd = -1;
	if (timing)
		l->t = *timing;
	else
		ctl_timing_default(&l->t);
	snprintf(l->path, sizeof(l->path), "%s/discovery.json", dir);
	snprintf(l->lock_path, sizeof(l->lock_path), "%s/discovery.lock", dir);
	snprintf(l->describe, sizeof(l->describe), "local %s", l->path);
	if (!prefix_parse(&l->network, PARTYFILE_DEFAULT_NETWORK, false, err))
		goto err_free;
	peer_info_init(&l->self);
	memcpy(l->self.public_key, public_key, KEY_LEN);
	peer_id_from_key(l->peer_id, public_key);
	memcpy(l->self.id, l->peer_id, sizeof(l->self.id));
	party_info_init(&l->party);
	l->lock_fd = open(l->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, FILE_MODE);
	if (l->lock_fd < 0) {
		err_set(err, "cannot open %.200s: %s", l->lock_path, strerror(errno));
		goto err_free;
	}
	l->sync_ev = evtimer_new(base, on_sync, l);
	l->heartbeat_ev = evtimer_new(base, on_heartbeat, l);
	l->watch_ev = evtimer_new(base, on_watch, l);
	l->done_ev = evtimer_new(base, on_done, l);
	if (!l->sync_ev || !l->heartbeat_ev || !l->watch_ev || !l->done_ev) {
		err_set(err, "out of memory");
		goto err_events;
	}
	l->link = CTL_LINK_UP;
	return &l->ctl;

err_events:
	if (l->sync_ev)
		event_free(l->sync_ev);
	if (l->heartbeat_ev)
		event_free(l->heartbeat_ev);
	if (l->watch_ev)
		event_free(l->watch_ev);
	if (l->done_ev)
		event_free(l->done_ev);
	close(l->lock_fd);
err_free:
	free(l);
	return NULL;
}

bool ctl_local_set_network(struct ctl *c, const char *cidr, char *err)
{
	struct ctl_local *l = to_local(c);
	struct prefix p;

	if (c->ops != &local_ops) {
		err_set(err, "the virtual network is the control server's to choose");
		return false;
	}
	if (!prefix_parse(&p, cidr, false, err))
		return false;
	if (p.family != AF_INET || p.len < 8 || p.len > 30) {
		err_set(err, "virtual network `%.60s' must be an IPv4 prefix from /8 to /30", cidr);
		return false;
	}
	l->network = p;
	return true;
}
