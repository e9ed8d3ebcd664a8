/* ctl_local.c - the control plane without a server: parties in a shared discovery.json. */
#include "control/ctl_local.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "control/ctl_txn.h"
#include "control/party_id.h"
#include "util/file.h"
#include "util/log.h"
#include "util/now.h"

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
static void settle(struct ctl_local *l, struct ctl_txn *t)
{
	enum local_state was = l->state;
	char id[PARTY_ID_LEN + 1];

	/* A corrupt file is reported (down) even when this transaction repaired it (up). */
	if (t->corrupt[0])
		set_link(l, CTL_LINK_DOWN, t->corrupt);
	if (t->status == 0)
		set_link(l, CTL_LINK_UP, l->path);
	else if (t->status == 503)
		set_link(l, CTL_LINK_DOWN, t->error);
	switch (was) {
	case LOCAL_CREATING:
	case LOCAL_JOINING:
		if (t->status || !t->have_party) {
			l->state = LOCAL_IDLE;
			finish_op(l, t->status ? t->status : 503, t->status ? t->error : "failed",
			          NULL);
			return;
		}
		l->state = LOCAL_MEMBER;
		snprintf(l->party_id, sizeof(l->party_id), "%s", t->party.id);
		l->party_network = t->network;
		if (!party_info_copy(&l->party, &t->party)) {
			l->state = LOCAL_LEAVING; /* cannot track it: take ourselves out again */
			request_sync(l);
			return;
		}
		arm(l->heartbeat_ev, l->t.heartbeat_ms);
		arm(l->watch_ev, l->t.poll_ms);
		log_info("local discovery: %s party %s (%s) in %s",
		         was == LOCAL_CREATING ? "created" : "joined", l->party_id, l->party.name,
		         l->path);
		snprintf(id, sizeof(id), "%s", l->party_id);
		finish_op(l, 0, NULL, &l->party);
		/* done may have left already. */
		if (l->state == LOCAL_MEMBER && strcmp(l->party_id, id) == 0 && l->ctl.ev.on_party)
			l->ctl.ev.on_party(l->ctl.ev.ctx, &l->party);
		return;
	case LOCAL_MEMBER:
		if (t->status == 409) {
			/* Pruned, and the party has no room for us now. */
			l->state = LOCAL_IDLE;
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
		if (!party_info_copy(&l->party, &t->party))
			return;
		if (l->ctl.ev.on_party)
			l->ctl.ev.on_party(l->ctl.ev.ctx, &l->party);
		return;
	case LOCAL_LEAVING:
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
		l->state = LOCAL_IDLE;
		stop_member_timers(l);
		party_info_clear(&l->party);
		finish_op(l, 0, NULL, NULL);
		return;
	case LOCAL_IDLE:
		return;
	}
}

static void on_sync(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_local *l = arg;
	struct ctl_txn t;

	if (l->state == LOCAL_IDLE)
		return;
	if (flock(l->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		bool user_op = l->state != LOCAL_MEMBER;

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
		if (l->state == LOCAL_LEAVING)
			l->op_started_ms = 0; /* give up on the file, not on leaving */
		settle(l, &t);
		return;
	}
	memset(&t, 0, sizeof(t));
	party_info_init(&t.party);
	ctl_txn_run(l, &t);
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
	struct ctl_txn t;
	bool changed;
	errmsg err;

	arm(l->watch_ev, l->t.poll_ms);
	if (l->state != LOCAL_MEMBER)
		return;
	ctl_txn_stat(l, &now_id);
	if (ctl_txn_same_file(&now_id, &l->seen))
		return;
	l->seen = now_id;
	memset(&t, 0, sizeof(t));
	if (!ctl_txn_read(l, &f, false, &t)) {
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
	changed = !ctl_party_same(&l->party, &p) && party_info_copy(&l->party, &p);
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
	if (l->done || l->state == LOCAL_CREATING || l->state == LOCAL_JOINING ||
	    l->state == LOCAL_LEAVING)
		return -EBUSY;
	if (l->state == LOCAL_MEMBER)
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
	l->self.global_endpoint = self->global_endpoint;
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
	return start_op(l, LOCAL_CREATING, self, done, arg);
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
	return start_op(l, LOCAL_JOINING, self, done, arg);
}

static int local_leave(struct ctl *c, ctl_done_fn *done, void *arg)
{
	struct ctl_local *l = to_local(c);

	if (l->state != LOCAL_MEMBER)
		return l->state == LOCAL_IDLE && !l->done ? -ENOTCONN : -EBUSY;
	l->state = LOCAL_LEAVING;
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
	struct peer_info before = l->self;

	take_description(l, self);
	if (!peer_info_validate(&l->self, NULL)) {
		l->self = before; /* others would drop a record they cannot read */
		return -EINVAL;
	}
	if (l->state == LOCAL_MEMBER && !ctl_party_same_member(&before, &l->self))
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

static int local_kick(struct ctl *c, const char *peer_id, ctl_done_fn *done, void *arg)
{
	return -ENOTSUP;
}

static int local_bans(struct ctl *c, ctl_bans_fn *done, void *arg)
{
	return -ENOTSUP;
}

static int local_relay_token(struct ctl *c, ctl_relay_token_fn *done, void *arg)
{
	struct ctl_local *l = to_local(c);

	if (l->state != LOCAL_MEMBER)
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
	.kick = local_kick,
	.unban = local_kick,
	.bans = local_bans,
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
