/* registry.c - parties and their members: the rules, over the store. */
#include "server/registry.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/ipam.h"
#include "server/events.h"
#include "server/heartbeat.h"
#include "server/store.h"
#include "util/log.h"
#include "util/now.h"

#define MEMBER_COLS                                                                                \
	"peer_id, name, public_key, nat_type, public_ip, public_port, local_ip, local_port, "      \
	"virtual_ip, joined_at, last_seen, global_ip, global_port"

/* Row loaders: the store's text columns into records. */
struct load_ctx {
	struct party_info *party;
	bool found;
	bool bad;
};

static bool col_addr(struct addr *out, const char *ip, const char *port)
{
	int64_t p = 0;

	addr_clear(out);
	if (!ip)
		return true;
	if (!addr_parse_ip(out, ip, NULL))
		return false;
	if (port) {
		if (!store_col_int(port, &p) || p < 0 || p > 65535)
			return false;
		addr_set_port(out, (uint16_t)p);
	}
	return true;
}

static bool member_from_row(struct peer_info *p, int n, const char *const *c)
{
	peer_info_init(p);
	if (n < 13 || !c[0] || !c[1] || !c[2] || !c[3] || !c[8])
		return false;
	snprintf(p->id, sizeof(p->id), "%s", c[0]);
	snprintf(p->name, sizeof(p->name), "%s", c[1]);
	return key_from_base64(p->public_key, c[2], NULL) && nat_type_parse(c[3], &p->nat_type) &&
	       col_addr(&p->public_endpoint, c[4], c[5]) &&
	       col_addr(&p->local_endpoint, c[6], c[7]) && col_addr(&p->virtual_ip, c[8], NULL) &&
	       store_col_int(c[9], &p->joined_at_ms) && store_col_int(c[10], &p->last_seen_ms) &&
	       col_addr(&p->global_endpoint, c[11], c[12]);
}

static bool party_row(void *arg, int n, const char *const *c)
{
	struct load_ctx *ctx = arg;

	if (n < 4 || !c[0] || !c[1] || !c[2] || !store_col_int(c[3], &ctx->party->created_at_ms)) {
		ctx->bad = true;
		return false;
	}
	snprintf(ctx->party->id, sizeof(ctx->party->id), "%s", c[0]);
	snprintf(ctx->party->name, sizeof(ctx->party->name), "%s", c[1]);
	snprintf(ctx->party->host_id, sizeof(ctx->party->host_id), "%s", c[2]);
	ctx->found = true;
	return false;
}

static bool member_row(void *arg, int n, const char *const *c)
{
	struct load_ctx *ctx = arg;
	struct peer_info p;

	if (!member_from_row(&p, n, c) || !party_info_put(ctx->party, &p, NULL)) {
		ctx->bad = true;
		return false;
	}
	return true;
}

/* Loads a party and its members; lock takes the party's row for this transaction. */
static bool load_party(struct registry *r, const char *party_id, bool lock, struct party_info *out,
                       struct api_error *e)
{
	struct store_param p[] = { SP_T(party_id) };
	struct load_ctx ctx = { .party = out };
	const char *sql = "SELECT party_id, name, host_id, created_at FROM parties "
	                  "WHERE party_id = $1";
	errmsg err;
	int rc;

	/* SQLite's BEGIN IMMEDIATE already holds the one write lock. */
	if (lock && r->store->ops->dialect == STORE_POSTGRES)
		sql = "SELECT party_id, name, host_id, created_at FROM parties "
		      "WHERE party_id = $1 FOR UPDATE";
	party_info_init(out);
	rc = store_query(r->store, sql, p, 1, party_row, &ctx, err);
	if (!rc && ctx.found)
		rc = store_query(r->store,
		                 "SELECT " MEMBER_COLS " FROM members WHERE party_id = $1 "
		                 "ORDER BY joined_at, peer_id",
		                 p, 1, member_row, &ctx, err);
	if (rc || ctx.bad) {
		party_info_clear(out);
		api_error_store(e, rc, rc ? err : "unreadable party row");
		return false;
	}
	if (!ctx.found) {
		api_error_set(e, API_NOT_FOUND, "party %s not found", party_id);
		return false;
	}
	return true;
}

/* Freshens last_seen from heartbeats not written yet. */
static void overlay_last_seen(struct registry *r, struct peer_info *p, const char *party_id)
{
	int64_t t = heartbeat_last_seen(r->heartbeat, party_id, p->id);

	if (t > p->last_seen_ms)
		p->last_seen_ms = t;
}

static int write_member(struct registry *r, const char *party_id, const struct peer_info *m,
                        char *err)
{
	char key[KEY_B64_LEN + 1], pub_ip[ADDR_STRLEN], loc_ip[ADDR_STRLEN], vip[ADDR_STRLEN];
	char glo_ip[ADDR_STRLEN];
	bool has_pub = addr_is_set(&m->public_endpoint), has_loc = addr_is_set(&m->local_endpoint);
	bool has_glo = addr_is_set(&m->global_endpoint);
	struct store_param p[] = {
		SP_T(party_id),
		SP_T(m->id),
		SP_T(m->name),
		SP_T(key),
		SP_T(nat_type_name(m->nat_type)),
		SP_T(has_pub ? addr_format_ip(&m->public_endpoint, pub_ip) : NULL),
		has_pub ? SP_I(addr_port(&m->public_endpoint)) : SP_T(NULL),
		SP_T(has_loc ? addr_format_ip(&m->local_endpoint, loc_ip) : NULL),
		has_loc ? SP_I(addr_port(&m->local_endpoint)) : SP_T(NULL),
		SP_T(addr_format_ip(&m->virtual_ip, vip)),
		SP_I(m->joined_at_ms),
		SP_I(m->last_seen_ms),
		SP_T(has_glo ? addr_format_ip(&m->global_endpoint, glo_ip) : NULL),
		has_glo ? SP_I(addr_port(&m->global_endpoint)) : SP_T(NULL),
	};

	key_to_base64(key, m->public_key);
	return store_query(r->store,
	                   "INSERT INTO members (party_id, " MEMBER_COLS
	                   ") VALUES ($1, $2, $3, $4, "
	                   "$5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (party_id, "
	                   "peer_id) DO UPDATE SET name = excluded.name, public_key = "
	                   "excluded.public_key, nat_type = excluded.nat_type, public_ip = "
	                   "excluded.public_ip, public_port = excluded.public_port, local_ip = "
	                   "excluded.local_ip, local_port = excluded.local_port, global_ip = "
	                   "excluded.global_ip, global_port = excluded.global_port, last_seen = "
	                   "excluded.last_seen",
	                   p, (int)ARRAY_SIZE(p), NULL, NULL, err);
}

struct addr_ctx {
	struct ipam *ipam;
	const struct party_info *party;
};

static bool address_row(void *arg, int n, const char *const *c)
{
	struct addr_ctx *ctx = arg;
	struct in_addr ip;

	if (n < 2 || !c[0] || !c[1] || inet_pton(AF_INET, c[1], &ip) != 1)
		return true;
	/* Addresses outside a changed network are simply forgotten. */
	if (!ipam_reserve(ctx->ipam, c[0], ip, NULL))
		return true;
	if (!party_info_find(ctx->party, c[0]))
		(void)ipam_release(ctx->ipam, c[0]);
	return true;
}

/* Picks the member's address: its own from before, or a new one; records it. */
static bool allocate_ip(struct registry *r, const struct party_info *party, const char *peer_id,
                        struct addr *out, struct api_error *e)
{
	struct store_param p[] = { SP_T(party->id) };
	struct ipam ipam;
	struct addr_ctx ctx = { .ipam = &ipam, .party = party };
	struct in_addr ip;
	char text[ADDR_STRLEN];
	errmsg err;
	int rc;

	if (!ipam_init(&ipam, r->network, err)) {
		api_error_set(e, API_UNAVAILABLE, "virtual network: %s", err);
		return false;
	}
	rc = store_query(r->store, "SELECT peer_id, virtual_ip FROM addresses WHERE party_id = $1",
	                 p, 1, address_row, &ctx, err);
	if (rc) {
		ipam_clear(&ipam);
		api_error_store(e, rc, err);
		return false;
	}
	if (!ipam_alloc(&ipam, peer_id, &ip, err)) {
		ipam_clear(&ipam);
		api_error_set(e, API_CONFLICT, "%s", err);
		return false;
	}
	ipam_clear(&ipam);
	addr_from_in4(out, ip, 0);
	addr_format_ip(out, text);
	{
		struct store_param q[] = { SP_T(party->id), SP_T(text), SP_T(peer_id) };

		rc = store_query(r->store,
		                 "DELETE FROM addresses WHERE party_id = $1 AND virtual_ip = $2 "
		                 "AND peer_id <> $3",
		                 q, 3, NULL, NULL, err);
		if (!rc)
			rc = store_query(
			    r->store,
			    "INSERT INTO addresses (party_id, virtual_ip, peer_id) VALUES "
			    "($1, $2, $3) ON CONFLICT (party_id, peer_id) DO UPDATE SET "
			    "virtual_ip = excluded.virtual_ip",
			    q, 3, NULL, NULL, err);
	}
	if (rc) {
		api_error_store(e, rc, err);
		return false;
	}
	return true;
}

/* A caller may repeat its own id and key in the body; anyone else's is refused. */
static bool check_self(const struct identity *who, const struct member_request *req,
                       struct api_error *e)
{
	if (req->has_peer_id && strcmp(req->peer_id, who->peer_id) != 0) {
		api_error_set(e, API_FORBIDDEN, "field 'peer_id': %s is not your peer id (%s)",
		              req->peer_id, who->peer_id);
		return false;
	}
	if (req->has_public_key && !key_equal(req->public_key, who->public_key)) {
		api_error_set(e, API_FORBIDDEN,
		              "field 'public_key': not the key you registered with");
		return false;
	}
	return true;
}

static void apply_request(struct peer_info *m, const struct member_request *req)
{
	if (req->has_name)
		snprintf(m->name, sizeof(m->name), "%s", req->name);
	if (req->has_nat_type)
		m->nat_type = req->nat_type;
	if (req->has_public)
		m->public_endpoint = req->public_endpoint;
	if (req->has_local)
		m->local_endpoint = req->local_endpoint;
	if (req->has_global)
		m->global_endpoint = req->global_endpoint;
}

/* Adds or refreshes a member inside the open transaction; *joined when new. */
static bool put_member(struct registry *r, struct party_info *party, const struct identity *who,
                       const struct member_request *req, bool *joined, struct api_error *e)
{
	struct peer_info *existing = party_info_find(party, who->peer_id), m;
	int64_t now = now_wall_ms();
	errmsg err;
	int rc;

	*joined = !existing;
	if (existing) {
		m = *existing;
	} else {
		if (party->n_members >= r->max_party_size) {
			api_error_set(e, API_CONFLICT, "party %s is full (%zu members)", party->id,
			              r->max_party_size);
			return false;
		}
		peer_info_init(&m);
		snprintf(m.id, sizeof(m.id), "%s", who->peer_id);
		memcpy(m.public_key, who->public_key, KEY_LEN);
		/*
		 * Join times are distinct within a party, so "longest-standing" (the
		 * next host) follows the order of joins even within one millisecond.
		 */
		m.joined_at_ms = now;
		for (size_t i = 0; i < party->n_members; i++) {
			if (party->members[i].joined_at_ms >= m.joined_at_ms)
				m.joined_at_ms = party->members[i].joined_at_ms + 1;
		}
		if (!allocate_ip(r, party, who->peer_id, &m.virtual_ip, e))
			return false;
	}
	/* A rejoin describes the member afresh. */
	m.nat_type = NAT_UNKNOWN;
	addr_clear(&m.public_endpoint);
	addr_clear(&m.local_endpoint);
	addr_clear(&m.global_endpoint);
	apply_request(&m, req);
	m.last_seen_ms = now;
	rc = write_member(r, party->id, &m, err);
	if (rc) {
		api_error_store(e, rc, err);
		return false;
	}
	if (!party_info_put(party, &m, err)) {
		api_error_set(e, API_CONFLICT, "%s", err);
		return false;
	}
	return true;
}

static bool commit(struct registry *r, struct api_error *e)
{
	errmsg err;
	int rc = store_commit(r->store, err);

	if (rc)
		api_error_store(e, rc, err);
	return rc == 0;
}

static bool begin(struct registry *r, struct api_error *e)
{
	errmsg err;
	int rc = store_begin(r->store, err);

	if (rc)
		api_error_store(e, rc, err);
	return rc == 0;
}

static void publish_member(struct registry *r, const char *party_id, const char *type,
                           const struct peer_info *m)
{
	events_publish(r->events, party_id, type, NULL,
	               json_pack("{s:s, s:s, s:o}", "party_id", party_id, "peer_id", m->id, "peer",
	                         peer_info_to_json(m)));
}

bool registry_create(struct registry *r, const struct identity *who,
                     const struct create_request *req, struct party_info *out, struct api_error *e)
{
	bool joined;
	errmsg err;
	int rc;

	if (!check_self(who, &req->peer, e))
		return false;
	party_info_init(out);
	party_id_generate(out->id);
	snprintf(out->name, sizeof(out->name), "%s", req->name);
	snprintf(out->host_id, sizeof(out->host_id), "%s", who->peer_id);
	out->created_at_ms = now_wall_ms();
	if (!begin(r, e))
		return false;
	{
		struct store_param p[] = { SP_T(out->id), SP_T(out->name), SP_T(out->host_id),
			                   SP_I(out->created_at_ms) };

		rc = store_query(r->store,
		                 "INSERT INTO parties (party_id, name, host_id, created_at) "
		                 "VALUES ($1, $2, $3, $4)",
		                 p, 4, NULL, NULL, err);
	}
	if (rc) {
		api_error_store(e, rc, err);
		goto err;
	}
	if (!put_member(r, out, who, &req->peer, &joined, e) || !commit(r, e))
		goto err;
	log_info("party %s: created by peer %s", out->id, who->peer_id);
	return true;
err:
	store_rollback(r->store);
	party_info_clear(out);
	return false;
}

static bool found_row(void *arg, int n, const char *const *c)
{
	*(bool *)arg = true;
	return false;
}

/* Whether the host removed peer_id from the party (inside the open transaction); false on a
 * store error (e says it). */
/* 403 unless who is the party's host, who alone may do what. */
static bool require_host(const struct party_info *party, const char *who, const char *what,
                         struct api_error *e)
{
	if (strcmp(party->host_id, who) == 0)
		return true;
	api_error_set(e, API_FORBIDDEN, "only the party's host (%s) may %s", party->host_id, what);
	return false;
}

static bool is_banned(struct registry *r, const char *party_id, const char *peer_id, bool *banned,
                      struct api_error *e)
{
	struct store_param p[] = { SP_T(party_id), SP_T(peer_id) };
	errmsg err;
	int rc;

	*banned = false;
	rc = store_query(r->store, "SELECT 1 FROM bans WHERE party_id = $1 AND peer_id = $2", p, 2,
	                 found_row, banned, err);
	if (rc)
		api_error_store(e, rc, err);
	return rc == 0;
}

/* 403 when the host removed peer_id from the party. */
static bool check_not_banned(struct registry *r, const char *party_id, const char *peer_id,
                             struct api_error *e)
{
	bool banned;

	if (!is_banned(r, party_id, peer_id, &banned, e))
		return false;
	if (banned)
		api_error_set(e, API_FORBIDDEN, "the host of party %s removed you from it",
		              party_id);
	return !banned;
}

bool registry_join(struct registry *r, const char *party_id, const struct identity *who,
                   const struct member_request *req, struct party_info *out, struct api_error *e)
{
	bool joined;

	if (!check_self(who, req, e) || !begin(r, e))
		return false;
	if (!load_party(r, party_id, true, out, e)) {
		store_rollback(r->store);
		return false;
	}
	if (!check_not_banned(r, party_id, who->peer_id, e)) {
		store_rollback(r->store);
		party_info_clear(out);
		return false;
	}
	if (!put_member(r, out, who, req, &joined, e) || !commit(r, e)) {
		store_rollback(r->store);
		party_info_clear(out);
		return false;
	}
	log_info("party %s: peer %s %s", party_id, who->peer_id, joined ? "joined" : "rejoined");
	publish_member(r, party_id, joined ? EVENT_MEMBER_JOINED : EVENT_MEMBER_UPDATE,
	               party_info_find(out, who->peer_id));
	for (size_t i = 0; i < out->n_members; i++)
		overlay_last_seen(r, &out->members[i], party_id);
	return true;
}

/*
 * Opens a transaction with the party's row locked and finds the member; on
 * failure it has rolled back and set e.
 */
static bool begin_member(struct registry *r, const char *party_id, const char *peer_id,
                         struct party_info *party, struct peer_info **m, struct api_error *e)
{
	if (!begin(r, e))
		return false;
	if (!load_party(r, party_id, true, party, e)) {
		store_rollback(r->store);
		return false;
	}
	*m = party_info_find(party, peer_id);
	if (!*m) {
		api_error_set(e, API_NOT_FOUND, "peer %s is not a member of party %s", peer_id,
		              party_id);
		store_rollback(r->store);
		party_info_clear(party);
		return false;
	}
	return true;
}

static const char *const leave_names[] = { "left", "expired", "kicked" };

/* Removes peer_id (for LEAVE_KICKED by the host `by`, and keeps it out); see registry_leave. */
static bool remove_member(struct registry *r, const char *party_id, const char *peer_id,
                          enum leave_reason why, int64_t stale_before_ms, const char *by,
                          bool *removed, struct api_error *e)
{
	struct party_info party;
	const struct peer_info *next_host = NULL;
	struct peer_info *m;
	char new_host[PEER_ID_MAX + 1] = "";
	bool was_host, closed;
	errmsg err;
	int rc;

	*removed = false;
	if (!begin_member(r, party_id, peer_id, &party, &m, e))
		return false;
	if (why == LEAVE_EXPIRED &&
	    (m->last_seen_ms >= stale_before_ms ||
	     heartbeat_last_seen(r->heartbeat, party_id, peer_id) >= stale_before_ms)) {
		store_rollback(r->store);
		party_info_clear(&party);
		return true;
	}
	if (why == LEAVE_KICKED && !require_host(&party, by, "remove another member", e))
		goto err;
	was_host = strcmp(party.host_id, peer_id) == 0;
	{
		struct store_param p[] = { SP_T(party_id), SP_T(peer_id), SP_I(now_wall_ms()),
			                   SP_T(m->name) };

		rc = store_query(r->store,
		                 "DELETE FROM members WHERE party_id = $1 AND peer_id = $2", p, 2,
		                 NULL, NULL, err);
		if (!rc && why == LEAVE_KICKED)
			rc = store_query(
			    r->store,
			    "INSERT INTO bans (party_id, peer_id, banned_at, name) VALUES ($1, "
			    "$2, $3, $4) ON CONFLICT (party_id, peer_id) DO NOTHING",
			    p, 4, NULL, NULL, err);
	}
	if (rc)
		goto err_store;
	(void)party_info_remove(&party, peer_id);
	closed = party.n_members == 0;
	if (closed) {
		struct store_param p[] = { SP_T(party_id) };

		rc = store_query(r->store, "DELETE FROM parties WHERE party_id = $1", p, 1, NULL,
		                 NULL, err);
	} else if (was_host) {
		next_host = party_info_longest_member(&party);
		snprintf(new_host, sizeof(new_host), "%s", next_host->id);
		struct store_param p[] = { SP_T(party_id), SP_T(new_host) };

		rc = store_query(r->store, "UPDATE parties SET host_id = $2 WHERE party_id = $1", p,
		                 2, NULL, NULL, err);
	}
	if (rc)
		goto err_store;
	if (!commit(r, e))
		goto err;
	*removed = true;
	party_info_clear(&party);
	log_info("party %s: peer %s %s%s%s%s", party_id, peer_id, leave_names[why],
	         closed ? "; party closed" : "", new_host[0] ? "; new host " : "", new_host);
	/* The last member's stream stays open for party_closed, which ends every stream. */
	events_publish(r->events, party_id, EVENT_MEMBER_LEFT, NULL,
	               json_pack("{s:s, s:s, s:s, s:b}", "party_id", party_id, "peer_id", peer_id,
	                         "reason", leave_names[why], "closing", closed));
	if (new_host[0])
		events_publish(r->events, party_id, EVENT_HOST_CHANGED, NULL,
		               json_pack("{s:s, s:s, s:s}", "party_id", party_id, "host_id",
		                         new_host, "previous_host_id", peer_id));
	if (closed)
		events_publish(r->events, party_id, EVENT_PARTY_CLOSED, NULL,
		               json_pack("{s:s}", "party_id", party_id));
	return true;
err_store:
	api_error_store(e, rc, err);
err:
	store_rollback(r->store);
	party_info_clear(&party);
	return false;
}

bool registry_leave(struct registry *r, const char *party_id, const char *peer_id,
                    enum leave_reason why, int64_t stale_before_ms, bool *removed,
                    struct api_error *e)
{
	return remove_member(r, party_id, peer_id, why, stale_before_ms, NULL, removed, e);
}

bool registry_kick(struct registry *r, const char *party_id, const char *host_id,
                   const char *peer_id, struct api_error *e)
{
	bool removed;

	return remove_member(r, party_id, peer_id, LEAVE_KICKED, 0, host_id, &removed, e);
}

bool registry_unban(struct registry *r, const char *party_id, const char *host_id,
                    const char *peer_id, struct api_error *e)
{
	struct store_param p[] = { SP_T(party_id), SP_T(peer_id) };
	struct party_info party;
	bool banned;
	errmsg err;
	int rc;

	if (!begin(r, e))
		return false;
	if (!load_party(r, party_id, true, &party, e)) {
		store_rollback(r->store);
		return false;
	}
	if (!require_host(&party, host_id, "let a removed member back in", e))
		goto err;
	if (!is_banned(r, party_id, peer_id, &banned, e))
		goto err;
	if (!banned) {
		api_error_set(e, API_NOT_FOUND, "peer %s was not removed from party %s", peer_id,
		              party_id);
		goto err;
	}
	rc = store_query(r->store, "DELETE FROM bans WHERE party_id = $1 AND peer_id = $2", p, 2,
	                 NULL, NULL, err);
	if (rc) {
		api_error_store(e, rc, err);
		goto err;
	}
	if (!commit(r, e))
		goto err;
	party_info_clear(&party);
	log_info("party %s: peer %s may join again", party_id, peer_id);
	return true;
err:
	store_rollback(r->store);
	party_info_clear(&party);
	return false;
}

/* One row of bans: appended to the array arg. */
static bool ban_row(void *arg, int n, const char *const *c)
{
	json_t *list = arg;
	int64_t at = 0;

	if (n < 3 || !c[0] || !store_col_int(c[2], &at))
		return true;
	json_array_append_new(list, json_pack("{s:s, s:s?, s:I}", "peer_id", c[0], "name", c[1],
	                                      "banned_at", (json_int_t)at));
	return true;
}

bool registry_bans(struct registry *r, const char *party_id, const char *host_id, json_t **out,
                   struct api_error *e)
{
	struct store_param p[] = { SP_T(party_id) };
	struct party_info party;
	json_t *list = json_array();
	errmsg err;
	int rc;

	*out = NULL;
	if (!load_party(r, party_id, false, &party, e)) {
		json_decref(list);
		return false;
	}
	if (!require_host(&party, host_id, "see whom it removed", e))
		goto err;
	rc = store_query(r->store,
	                 "SELECT peer_id, name, banned_at FROM bans WHERE party_id = $1"
	                 " ORDER BY banned_at, peer_id",
	                 p, 1, ban_row, list, err);
	if (rc) {
		api_error_store(e, rc, err);
		goto err;
	}
	party_info_clear(&party);
	*out = list;
	return true;
err:
	party_info_clear(&party);
	json_decref(list);
	return false;
}

bool registry_update(struct registry *r, const char *party_id, const char *peer_id,
                     const struct member_request *req, struct peer_info *out, struct api_error *e)
{
	struct party_info party;
	struct peer_info *m;
	errmsg err;
	int rc;

	if (!begin_member(r, party_id, peer_id, &party, &m, e))
		return false;
	apply_request(m, req);
	overlay_last_seen(r, m, party_id);
	rc = write_member(r, party_id, m, err);
	if (rc) {
		api_error_store(e, rc, err);
		goto err;
	}
	if (!commit(r, e))
		goto err;
	*out = *m;
	party_info_clear(&party);
	publish_member(r, party_id, EVENT_MEMBER_UPDATE, out);
	return true;
err:
	store_rollback(r->store);
	party_info_clear(&party);
	return false;
}

bool registry_get(struct registry *r, const char *party_id, struct party_info *out,
                  struct api_error *e)
{
	if (!load_party(r, party_id, false, out, e))
		return false;
	for (size_t i = 0; i < out->n_members; i++)
		overlay_last_seen(r, &out->members[i], party_id);
	return true;
}

struct one_member {
	struct peer_info *p;
	bool found, bad;
};

static bool one_member_row(void *arg, int n, const char *const *c)
{
	struct one_member *ctx = arg;

	ctx->found = true;
	ctx->bad = !member_from_row(ctx->p, n, c);
	return false;
}

static bool party_exists(struct registry *r, const char *party_id, struct api_error *e)
{
	struct store_param p[] = { SP_T(party_id) };
	int64_t n;
	errmsg err;
	int rc = store_query_int(r->store, "SELECT COUNT(*) FROM parties WHERE party_id = $1", p, 1,
	                         &n, err);

	if (rc) {
		api_error_store(e, rc, err);
		return false;
	}
	if (n == 0)
		api_error_set(e, API_NOT_FOUND, "party %s not found", party_id);
	return n > 0;
}

bool registry_member(struct registry *r, const char *party_id, const char *peer_id,
                     struct peer_info *out, struct api_error *e)
{
	struct store_param p[] = { SP_T(party_id), SP_T(peer_id) };
	struct one_member ctx = { .p = out };
	errmsg err;
	int rc = store_query(r->store,
	                     "SELECT " MEMBER_COLS " FROM members WHERE party_id = $1 "
	                     "AND peer_id = $2",
	                     p, 2, one_member_row, &ctx, err);

	if (rc || ctx.bad) {
		api_error_store(e, rc, rc ? err : "unreadable member row");
		return false;
	}
	if (!ctx.found) {
		if (party_exists(r, party_id, e))
			api_error_set(e, API_NOT_FOUND, "peer %s is not a member of party %s",
			              peer_id, party_id);
		return false;
	}
	overlay_last_seen(r, out, party_id);
	return true;
}

bool registry_require_member(struct registry *r, const char *party_id, const char *peer_id,
                             struct api_error *e)
{
	struct store_param p[] = { SP_T(party_id), SP_T(peer_id) };
	int64_t n;
	errmsg err;
	int rc = store_query_int(
	    r->store, "SELECT COUNT(*) FROM members WHERE party_id = $1 AND peer_id = $2", p, 2, &n,
	    err);

	if (rc) {
		api_error_store(e, rc, err);
		return false;
	}
	if (n > 0)
		return true;
	if (party_exists(r, party_id, e))
		api_error_set(e, API_FORBIDDEN, "you (peer %s) are not a member of party %s",
		              peer_id, party_id);
	return false;
}

struct stale {
	char party_id[PARTY_ID_LEN + 1];
	char peer_id[PEER_ID_MAX + 1];
};

struct stale_ctx {
	struct stale list[256];
	size_t n;
};

static bool stale_row(void *arg, int n, const char *const *c)
{
	struct stale_ctx *ctx = arg;

	if (n >= 2 && c[0] && c[1] && ctx->n < ARRAY_SIZE(ctx->list)) {
		snprintf(ctx->list[ctx->n].party_id, sizeof(ctx->list[0].party_id), "%s", c[0]);
		snprintf(ctx->list[ctx->n].peer_id, sizeof(ctx->list[0].peer_id), "%s", c[1]);
		ctx->n++;
	}
	return ctx->n < ARRAY_SIZE(ctx->list);
}

int registry_expire(struct registry *r, int64_t stale_before_ms)
{
	struct store_param p[] = { SP_I(stale_before_ms) };
	struct stale_ctx *ctx = calloc(1, sizeof(*ctx));
	int removed = 0, rounds = 0;
	errmsg err;

	if (!ctx)
		return -1;
	/* In rounds, so that one cleanup never holds much in memory. */
	do {
		ctx->n = 0;
		if (store_query(r->store,
		                "SELECT party_id, peer_id FROM members WHERE last_seen < $1 "
		                "ORDER BY last_seen LIMIT 256",
		                p, 1, stale_row, ctx, err)) {
			log_error("cleanup: listing stale members: %s", err);
			removed = -1;
			break;
		}
		size_t progress = 0;

		for (size_t i = 0; i < ctx->n; i++) {
			struct api_error e;
			bool gone;

			if (!registry_leave(r, ctx->list[i].party_id, ctx->list[i].peer_id,
			                    LEAVE_EXPIRED, stale_before_ms, &gone, &e)) {
				if (e.status != API_NOT_FOUND)
					log_error("cleanup: party %s peer %s: %s",
					          ctx->list[i].party_id, ctx->list[i].peer_id,
					          e.msg);
				continue;
			}
			progress += gone;
			removed += gone;
		}
		/* Members saved by unwritten heartbeats stay listed: stop when nothing moves. */
		if (!progress)
			break;
	} while (ctx->n == ARRAY_SIZE(ctx->list) && ++rounds < 1000);
	free(ctx);
	return removed;
}

int registry_count(struct registry *r, int64_t *parties, int64_t *members)
{
	int rc = store_query_int(r->store, "SELECT COUNT(*) FROM parties", NULL, 0, parties, NULL);

	if (!rc)
		rc = store_query_int(r->store, "SELECT COUNT(*) FROM members", NULL, 0, members,
		                     NULL);
	return rc;
}
