/* partymgr.c - the party manager: create, join, leave, rejoin; the mesh follows the control plane.
 */
#include "daemon/partymgr.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <string.h>

#include "control/party_id.h"
#include "daemon/api.h"
#include "daemon/daemon.h"
#include "daemon/relays.h"
#include "daemon/report.h"
#include "util/err.h"
#include "util/log.h"
#include "util/now.h"

enum { REJOIN_MIN_MS = 1000, REJOIN_MAX_MS = 30000 };

void partymgr_forget(struct daemon *d, const char *why)
{
	if (daemon_in_party(d)) {
		log_info("party %s (%s): %s", d->state.st.party_id, d->state.st.party_name, why);
		snprintf(d->party_note, sizeof(d->party_note), "%s", why);
	}
	conn_remove_all(&d->cm);
	daemon_set_vip(d, &(struct addr){ .sa.sa_family = AF_UNSPEC });
	party_info_clear(&d->party);
	party_info_init(&d->party);
	memset(&d->state.st, 0, sizeof(d->state.st));
	addr_clear(&d->state.st.virtual_ip);
	state_store_changed(&d->state);
}

/* Every member configures every other member; those gone are removed everywhere. */
static void apply_party(struct daemon *d, const struct party_info *party)
{
	const struct peer_info *me = party_info_find(party, d->id.peer_id);
	char err[ERR_MAX];

	if (!daemon_in_party(d) || strcmp(party->id, d->state.st.party_id) != 0)
		return;
	party_info_clear(&d->party);
	party_info_init(&d->party);
	snprintf(d->party.id, sizeof(d->party.id), "%s", party->id);
	snprintf(d->party.name, sizeof(d->party.name), "%s", party->name);
	snprintf(d->party.host_id, sizeof(d->party.host_id), "%s", party->host_id);
	d->party.created_at_ms = party->created_at_ms;
	for (size_t i = 0; i < party->n_members; i++) {
		if (!party_info_put(&d->party, &party->members[i], err))
			log_error("party %s: %s", party->id, err);
	}
	if (me) {
		d->self.virtual_ip = me->virtual_ip;
		daemon_set_vip(d, &me->virtual_ip);
		if (!addr_equal_ip(&d->state.st.virtual_ip, &me->virtual_ip) ||
		    strcmp(d->state.st.party_name, party->name) != 0) {
			d->state.st.virtual_ip = me->virtual_ip;
			snprintf(d->state.st.party_name, sizeof(d->state.st.party_name), "%s",
			         party->name);
			state_store_changed(&d->state);
		}
	}
	for (size_t i = 0; i < party->n_members; i++) {
		const struct peer_info *m = &party->members[i];

		if (strcmp(m->id, d->id.peer_id) != 0)
			conn_upsert(&d->cm, m);
	}
	for (size_t i = 0; i < d->cm.max_conns; i++) {
		struct conn *c = &d->cm.conns[i];

		if (c->active && !party_info_find(party, c->peer_id))
			conn_remove(&d->cm, c);
	}
}

static void on_party(void *ctx, const struct party_info *party)
{
	apply_party(ctx, party);
}

static void on_party_gone(void *ctx, const char *why)
{
	struct daemon *d = ctx;

	if (d->op == OP_LEAVE)
		return;
	partymgr_forget(d, why);
}

static void on_link(void *ctx, enum ctl_link link, const char *detail)
{
	struct daemon *d = ctx;

	if (link != d->link)
		log_info("control plane %s: %s%s%s", daemon_where(d), ctl_link_name(link),
		         detail && detail[0] ? ": " : "", detail ? detail : "");
	d->link = link;
	snprintf(d->link_detail, sizeof(d->link_detail), "%s", detail ? detail : "");
}

static void on_signal(void *ctx, const char *from, const json_t *data)
{
	struct daemon *d = ctx;

	/* Relays are arranged with signals (relays.c); nothing else uses them yet. */
	if (d->relays)
		relays_on_signal(d->relays, from, data);
}

json_t *partymgr_party_json(const struct daemon *d)
{
	json_t *o;

	if (!daemon_in_party(d))
		return json_null();
	o = json_object();
	json_object_set_new(o, "party_id", json_string(d->state.st.party_id));
	json_object_set_new(o, "name", json_string(d->state.st.party_name));
	json_object_set_new(o, "host_id", json_string(d->party.host_id));
	json_object_set_new(o, "is_host",
	                    json_boolean(strcmp(d->party.host_id, d->id.peer_id) == 0));
	json_object_set_new(o, "members", json_integer((json_int_t)d->party.n_members));
	json_object_set_new(o, "connected", json_integer((json_int_t)conn_count(&d->cm, true)));
	return o;
}

static void finish_op(struct daemon *d, int status, json_t *body)
{
	struct api_req *req = d->op_req;

	d->op = OP_NONE;
	d->op_req = NULL;
	if (req)
		api_finish(req, status, body);
	else
		json_decref(body);
}

static void fail_op(struct daemon *d, int status, const char *error)
{
	struct api_req *req = d->op_req;

	d->op = OP_NONE;
	d->op_req = NULL;
	if (req)
		api_fail(req, status, "%s", error);
}

/* A created or joined party: remember it, configure the mesh, answer. */
static void entered(struct daemon *d, const struct party_info *party)
{
	json_t *body;

	snprintf(d->state.st.party_id, sizeof(d->state.st.party_id), "%s", party->id);
	snprintf(d->state.st.party_name, sizeof(d->state.st.party_name), "%s", party->name);
	d->party_note[0] = '\0';
	snprintf(d->state.st.mode, sizeof(d->state.st.mode), "%s", daemon_mode(d));
	snprintf(d->state.st.where, sizeof(d->state.st.where), "%s", daemon_where(d));
	if (!d->state.st.joined_at_ms)
		d->state.st.joined_at_ms = now_wall_ms();
	state_store_changed(&d->state);
	d->rejoin_failures = 0;
	d->op = OP_NONE;
	apply_party(d, party);
	daemon_update_self(d);
	body = partymgr_party_json(d);
	json_object_set_new(body, "virtual_ip", report_vip_json(&d->self.virtual_ip));
	finish_op(d, 200, body);
}

static void on_created(void *arg, int status, const char *error, const struct party_info *party)
{
	struct daemon *d = arg;

	if (status || !party) {
		fail_op(d, status ? status : 503, error ? error : "no party in the answer");
		return;
	}
	log_info("party %s (%s): created; friends join with `lanrage party join %s`", party->id,
	         party->name, party->id);
	entered(d, party);
}

static void arm_rejoin(struct daemon *d);

static void on_joined(void *arg, int status, const char *error, const struct party_info *party)
{
	struct daemon *d = arg;

	if (d->op == OP_REJOIN) {
		if (status == 404) {
			d->op = OP_NONE;
			partymgr_forget(d, "the party no longer exists");
			return;
		}
		if (status == 403) { /* the host removed us meanwhile: no retry will do */
			d->op = OP_NONE;
			partymgr_forget(d, error ? error : "the control server refused the rejoin");
			return;
		}
		if (status || !party) {
			d->op = OP_NONE;
			log_info("party %s: cannot rejoin yet: %s", d->state.st.party_id,
			         error ? error : "?");
			arm_rejoin(d);
			return;
		}
		log_info("party %s (%s): rejoined", party->id, party->name);
		entered(d, party);
		return;
	}
	if (status || !party) {
		fail_op(d, status ? status : 503, error ? error : "no party in the answer");
		return;
	}
	log_info("party %s (%s): joined, %zu member%s", party->id, party->name, party->n_members,
	         party->n_members == 1 ? "" : "s");
	entered(d, party);
}

static void on_rejoin_timer(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	int ret;

	if (!daemon_in_party(d) || d->op != OP_NONE)
		return;
	daemon_update_self(d);
	d->op = OP_REJOIN;
	ret = d->ctl->ops->join(d->ctl, d->state.st.party_id, &d->self, on_joined, d);
	if (ret < 0) {
		d->op = OP_NONE;
		arm_rejoin(d);
	}
}

static void arm_rejoin(struct daemon *d)
{
	uint64_t ms = (uint64_t)REJOIN_MIN_MS << (d->rejoin_failures < 8 ? d->rejoin_failures : 8);
	struct timeval tv;

	if (ms > REJOIN_MAX_MS)
		ms = REJOIN_MAX_MS;
	d->rejoin_failures++;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000 * 1000);
	evtimer_add(d->rejoin_ev, &tv);
}

/* Whether another operation runs; a rejoin under way only lets a join of the same party ride on it.
 */
static bool busy(struct daemon *d, struct api_req *req, bool join)
{
	if (d->op == OP_NONE || (d->op == OP_REJOIN && join))
		return false;
	if (d->op == OP_REJOIN)
		api_fail(req, 409, "rejoining party %s; try again in a moment",
		         d->state.st.party_id);
	else
		api_fail(req, 409,
		         "another party operation is still running; try again in a moment");
	return true;
}

void partymgr_create(void *ctx, struct api_req *req, const char *name)
{
	struct daemon *d = ctx;
	int ret;

	if (busy(d, req, false))
		return;
	if (daemon_in_party(d)) {
		api_fail(req, 409,
		         "already in party %s (%s); leave it first (`lanrage party leave`)",
		         d->state.st.party_id, d->state.st.party_name);
		return;
	}
	if (!party_name_valid(name)) {
		api_fail(req, 400, "a party name is 1-64 characters of printable text");
		return;
	}
	daemon_update_self(d);
	d->op = OP_CREATE;
	d->op_req = req;
	ret = d->ctl->ops->create(d->ctl, name, &d->self, on_created, d);
	if (ret < 0)
		fail_op(d, 503, strerror(-ret));
}

void partymgr_join(void *ctx, struct api_req *req, const char *typed)
{
	struct daemon *d = ctx;
	char id[PARTY_ID_LEN + 1];
	errmsg err;
	int ret;

	if (busy(d, req, true))
		return;
	if (!party_id_normalize(id, typed, err)) {
		api_fail(req, 400, "%s", err);
		return;
	}
	if (daemon_in_party(d) && strcmp(id, d->state.st.party_id) != 0) {
		api_fail(req, 409,
		         "already in party %s (%s); leave it first (`lanrage party leave`)",
		         d->state.st.party_id, d->state.st.party_name);
		return;
	}
	if (daemon_in_party(d) && d->op == OP_NONE) {
		/* Already there: joining again changes nothing. */
		json_t *body = partymgr_party_json(d);

		json_object_set_new(body, "virtual_ip", report_vip_json(&d->self.virtual_ip));
		api_finish(req, 200, body);
		return;
	}
	if (d->op == OP_REJOIN) {
		/* The rejoin under way answers this request too. */
		d->op = OP_JOIN;
		d->op_req = req;
		return;
	}
	daemon_update_self(d);
	d->op = OP_JOIN;
	d->op_req = req;
	ret = d->ctl->ops->join(d->ctl, id, &d->self, on_joined, d);
	if (ret < 0)
		fail_op(d, 503, strerror(-ret));
}

static void on_left(void *arg, int status, const char *error, const struct party_info *party)
{
	struct daemon *d = arg;
	char id[PARTY_ID_LEN + 1];
	json_t *body;

	snprintf(id, sizeof(id), "%s", d->state.st.party_id);
	/* Leaving always works here; the server forgets us later if it could not be told. */
	partymgr_forget(d, status ? "left (the control plane was not told)" : "left");
	d->party_note[0] = '\0'; /* the user's own doing needs no note */
	body = json_pack("{s:s, s:s}", "status", "left", "party_id", id);
	if (status && error)
		json_object_set_new(body, "warning", json_string(error));
	finish_op(d, 200, body);
}

void partymgr_leave(void *ctx, struct api_req *req)
{
	struct daemon *d = ctx;
	int ret;

	if (busy(d, req, false))
		return;
	if (!daemon_in_party(d)) {
		api_fail(req, 409, "not in a party");
		return;
	}
	evtimer_del(d->rejoin_ev);
	d->op = OP_LEAVE;
	d->op_req = req;
	ret = d->ctl->ops->leave(d->ctl, on_left, d);
	if (ret < 0)
		on_left(d, 503, strerror(-ret), NULL);
}

/* A kick or an unban under way: the request, and the member it is about (for the answer). */
struct member_op {
	struct api_req *req;
	bool unban;
	char peer_id[PEER_ID_MAX + 1];
	char name[PEER_NAME_MAX + 1]; /* "" for an unban: no longer a member to name */
};

static void on_member_op(void *arg, int status, const char *error, const struct party_info *party)
{
	struct member_op *op = arg;

	(void)party;
	if (status) {
		api_fail(op->req, status, "%s", error ? error : "the control server refused");
	} else if (op->unban) {
		api_finish(op->req, 200,
		           json_pack("{s:s, s:s}", "status", "unbanned", "peer_id", op->peer_id));
		log_info("party: %s may join again", op->peer_id);
	} else {
		api_finish(op->req, 200,
		           json_pack("{s:s, s:s, s:s}", "status", "removed", "peer_id", op->peer_id,
		                     "name", op->name));
		log_info("party: removed %s (%s); it may not join this party again", op->name,
		         op->peer_id);
	}
	free(op);
}

/* Whether this machine may act as the party's host now; else req is answered. */
static bool host_ready(struct daemon *d, struct api_req *req, const char *what)
{
	const struct peer_info *host;

	if (!daemon_in_party(d) || d->op != OP_NONE) {
		api_fail(req, 409,
		         daemon_in_party(d) ? "busy with the party; try again in a moment"
		                            : "not in a party");
		return false;
	}
	if (strcmp(d->party.host_id, d->id.peer_id) == 0)
		return true;
	host = party_info_find(&d->party, d->party.host_id);
	api_fail(req, 403, "only the party's host (%s) may %s",
	         host ? host->name : d->party.host_id, what);
	return false;
}

/* Asks the control plane for a kick or an unban of peer_id; req is answered either way. */
static void member_op_start(struct daemon *d, struct api_req *req, bool unban, const char *peer_id,
                            const char *name)
{
	struct member_op *op = calloc(1, sizeof(*op));
	int ret;

	if (!op) {
		api_fail(req, 503, "out of memory");
		return;
	}
	op->req = req;
	op->unban = unban;
	snprintf(op->peer_id, sizeof(op->peer_id), "%s", peer_id);
	snprintf(op->name, sizeof(op->name), "%s", name);
	ret = unban ? d->ctl->ops->unban(d->ctl, peer_id, on_member_op, op)
	            : d->ctl->ops->kick(d->ctl, peer_id, on_member_op, op);
	if (ret == -ENOTSUP) {
		api_fail(req, 501,
		         "removing members needs a coordination server (control_url): with local "
		         "discovery every member may edit the shared file");
		free(op);
	} else if (ret == -ENOTCONN) {
		on_member_op(op, 503,
		             "not connected to the party's control server right now; try again",
		             NULL);
	} else if (ret < 0) {
		on_member_op(op, 503, strerror(-ret), NULL);
	}
}

void partymgr_kick(void *ctx, struct api_req *req, const char *peer)
{
	struct daemon *d = ctx;
	struct conn *c;

	if (!host_ready(d, req, "remove members"))
		return;
	if (strcmp(peer, d->self.name) == 0 || strcmp(peer, d->id.peer_id) == 0) {
		api_fail(req, 400, "that is this machine: `lanrage party leave' leaves the party");
		return;
	}
	c = conn_lookup(&d->cm, peer);
	if (!c) {
		api_fail(req, 404, "no member `%s' in the party (a name, peer id or virtual IP)",
		         peer);
		return;
	}
	member_op_start(d, req, false, c->peer_id, c->name);
}

static void on_bans(void *arg, int status, const char *error, const struct ctl_ban *bans, size_t n)
{
	struct api_req *req = arg;
	char when[NOW_ISO8601_LEN];
	json_t *list;

	if (status) {
		api_fail(req, status, "%s", error ? error : "the control server refused");
		return;
	}
	list = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(
		    list, json_pack("{s:s, s:s?, s:s}", "peer_id", bans[i].peer_id, "name",
		                    bans[i].name[0] ? bans[i].name : NULL, "removed_at",
		                    now_format_iso8601(bans[i].banned_at_ms, when)));
	api_finish(req, 200, json_pack("{s:o}", "removed", list));
}

void partymgr_bans(void *ctx, struct api_req *req)
{
	struct daemon *d = ctx;
	int ret;

	if (!host_ready(d, req, "see whom it removed"))
		return;
	ret = d->ctl->ops->bans(d->ctl, on_bans, req);
	if (ret == -ENOTSUP)
		api_fail(req, 501,
		         "removing members needs a coordination server (control_url): with local "
		         "discovery nobody is removed");
	else if (ret == -ENOTCONN)
		api_fail(req, 503,
		         "not connected to the party's control server right now; try again");
	else if (ret < 0)
		api_fail(req, 503, "%s", strerror(-ret));
}

void partymgr_unban(void *ctx, struct api_req *req, const char *peer_id)
{
	struct daemon *d = ctx;

	if (!host_ready(d, req, "let removed members back in"))
		return;
	if (!peer_id_valid(peer_id)) {
		api_fail(req, 400, "`%s' is not a peer id (`lanrage party kick' printed it)",
		         peer_id);
		return;
	}
	member_op_start(d, req, true, peer_id, "");
}

void partymgr_events(struct daemon *d, struct ctl_events *ev)
{
	*ev = (struct ctl_events){ .on_party = on_party,
		                   .on_party_gone = on_party_gone,
		                   .on_signal = on_signal,
		                   .on_link = on_link,
		                   .ctx = d };
}

int partymgr_init(struct daemon *d)
{
	d->rejoin_ev = evtimer_new(d->base, on_rejoin_timer, d);
	return d->rejoin_ev ? 0 : -ENOMEM;
}

void partymgr_resume(struct daemon *d)
{
	struct timeval now = { 0, 0 };

	if (!daemon_in_party(d))
		return;
	if (strcmp(d->state.st.mode, daemon_mode(d)) != 0 ||
	    strcmp(d->state.st.where, daemon_where(d)) != 0) {
		partymgr_forget(d, "belongs to another control plane; not rejoined");
		return;
	}
	if (addr_is_set(&d->state.st.virtual_ip))
		daemon_set_vip(d, &d->state.st.virtual_ip);
	log_info("party %s (%s): rejoining", d->state.st.party_id, d->state.st.party_name);
	evtimer_add(d->rejoin_ev, &now);
}

void partymgr_clear(struct daemon *d)
{
	if (d->rejoin_ev)
		event_free(d->rejoin_ev);
	d->rejoin_ev = NULL;
}
