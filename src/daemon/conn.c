/* conn.c - the connection manager. */
#include "daemon/conn.h"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "control/ipam.h"
#include "daemon/relays.h"
#include "nat/relay_wire.h"
#include "util/log.h"
#include "util/now.h"
#include "util/prefix.h"
#include "wg/device.h"

enum {
	TICK_MS = 250,
	RETRY_MIN_MS = 5000,
};

const char *conn_state_name(enum conn_state s)
{
	switch (s) {
	case CONN_CONNECTING:
		return "connecting";
	case CONN_CONNECTED:
		return "connected";
	case CONN_DEGRADED:
		return "degraded";
	case CONN_FAILED:
		return "failed";
	}
	return "?";
}

void conn_config_default(struct conn_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->degraded_rtt_ms = 200;
	cfg->relay_after_ms = 3000;
	cfg->failed_after_ms = 20000;
	cfg->cleanup_after_ms = 60000;
	cfg->retry_max_ms = 300000;
	cfg->keepalive_sec = 25;
	cfg->relay = RELAY_AUTO;
	cfg->path = path_config_default;
}

/* The member's virtual IP as the one prefix it may use. */
/*
 * Routes the member's virtual IP to its peer, and the IPv6 addresses derived
 * from it (ipam_v6_of): a game's packets from those are the member's too.
 */
static bool allow_vip(struct wg_peer *wg, const struct addr *vip)
{
	struct prefix p = { .family = AF_INET, .len = 32, .v4 = vip->in4.sin_addr };

	if (!wg_peer_add_allowed_ip(wg, &p))
		return false;
	for (int ll = 0; ll < 2; ll++) {
		p = (struct prefix){ .family = AF_INET6, .len = 128 };
		ipam_v6_of(vip->in4.sin_addr, ll, &p.v6);
		if (!wg_peer_add_allowed_ip(wg, &p))
			return false;
	}
	return true;
}

static uint64_t ms_ns(uint32_t ms)
{
	return (uint64_t)ms * NS_PER_MS;
}

/* The cores send through the data plane's socket (through a relay when the endpoint says so). */
static int dev_send(void *ctx, const struct endpoint *to, const uint8_t *buf, size_t len)
{
	struct conn_manager *cm = ctx;

	return wg_device_send_raw(cm->dev, buf, len, to);
}

static void arm_trav(struct conn_manager *cm, uint64_t next_ns, uint64_t now_ns)
{
	struct timeval tv;
	uint64_t wait;

	cm->next_trav_ns = next_ns;
	if (next_ns == UINT64_MAX) {
		evtimer_del(cm->trav_timer);
		return;
	}
	wait = next_ns > now_ns ? next_ns - now_ns : 0;
	tv.tv_sec = (time_t)(wait / NS_PER_SEC);
	tv.tv_usec = (suseconds_t)(wait % NS_PER_SEC / 1000);
	evtimer_add(cm->trav_timer, &tv);
}

void conn_kick(struct conn_manager *cm)
{
	uint64_t now = now_mono_ns();

	arm_trav(cm, traversal_timer(&cm->trav, now), now);
}

static void on_trav_timer(evutil_socket_t fd, short what, void *arg)
{
	conn_kick(arg);
}

static struct conn *conn_by_path(struct conn_manager *cm, const struct path_peer *p)
{
	int idx = (int)(p - cm->trav.paths.peers);

	for (size_t i = 0; i < cm->max_conns; i++) {
		if (cm->conns[i].active && cm->conns[i].path == idx)
			return &cm->conns[i];
	}
	return NULL;
}

const struct path_candidate *conn_path(const struct conn_manager *cm, const struct conn *c)
{
	return c->path >= 0 ? path_current(&cm->trav.paths, (size_t)c->path) : NULL;
}

/* Tells WireGuard about the current path, and starts a handshake over it. */
static void apply_path(struct conn_manager *cm, struct conn *c)
{
	const struct path_candidate *cur = conn_path(cm, c);
	char buf[ENDPOINT_STRLEN];

	if (!c->wg)
		return;
	if (!cur) {
		if (endpoint_is_set(&c->applied))
			log_info("peer %s (%s): lost its path %s; searching", c->name, c->peer_id,
			         endpoint_format(&c->applied, buf));
		return;
	}
	if (endpoint_equal(&c->applied, &cur->ep))
		return;
	c->applied = cur->ep;
	c->no_path_since_ns = 0;
	wg_peer_set_endpoint(c->wg, &cur->ep);
	/*
	 * Both ends find the path at the same moment.  Only the one with the
	 * lower key starts the handshake: two crossing initiations would each
	 * replace the handshake the other answers (one per peer), and neither
	 * side would get a session until a retransmission 5 s later.
	 */
	if (memcmp(cm->trav.paths.self_pub, c->pub, KEY_LEN) < 0)
		wg_peer_connect(c->wg);
	log_info("peer %s (%s): %s path %s (%s), rtt %.1f ms", c->name, c->peer_id,
	         endpoint_is_relayed(&cur->ep) ? "relayed" : "direct",
	         endpoint_format(&cur->ep, buf), cand_kind_name(cur->kind),
	         (double)cur->srtt_ns / NS_PER_MS);
}

static void on_path(void *ctx, const struct path_peer *p)
{
	struct conn_manager *cm = ctx;
	struct conn *c = conn_by_path(cm, p);

	if (c)
		apply_path(cm, c);
}

/* Whether both ends have an IPv6 global address: a direct path with no NAT to punch. */
static bool both_global(const struct conn_manager *cm, const struct conn *c)
{
	return addr_is_set(&c->global_ep) && addr_is_set(&cm->self_global);
}

/* The member's candidates: its addresses (unless relay-only), and a relay when it needs one. */
static size_t candidates(struct conn_manager *cm, struct conn *c, struct endpoint *eps,
                         enum cand_kind *kinds)
{
	size_t n = 0;

	if (cm->cfg.relay != RELAY_ALWAYS) {
		if (addr_is_set(&c->local_ep)) {
			endpoint_from_addr(&eps[n], &c->local_ep);
			kinds[n++] = CAND_LOCAL;
		}
		if (addr_is_set(&c->public_ep)) {
			endpoint_from_addr(&eps[n], &c->public_ep);
			kinds[n++] = CAND_REFLEXIVE;
		}
		/* Only if we have one too: a host without IPv6 cannot reach it. */
		if (both_global(cm, c)) {
			endpoint_from_addr(&eps[n], &c->global_ep);
			kinds[n++] = CAND_GLOBAL;
		}
	}
	if (c->wants_relay && cm->relays) {
		size_t m = relays_endpoints_for(cm->relays, c, &eps[n], 2);

		for (size_t i = 0; i < m; i++)
			kinds[n++] = CAND_RELAY;
	}
	return n;
}

/* Whether the candidate list differs from what probing has (the kinds we give it). */
static void update_candidates(struct conn_manager *cm, struct conn *c, bool force)
{
	struct endpoint eps[5];
	enum cand_kind kinds[5];
	size_t n = candidates(cm, c, eps, kinds);
	const struct path_peer *p;
	bool same = true;

	if (c->path < 0)
		return;
	p = &cm->trav.paths.peers[c->path];
	for (size_t i = 0; i < n && same; i++) {
		bool found = false;

		for (size_t j = 0; j < p->n_cand && !found; j++)
			found = endpoint_equal(&p->cand[j].ep, &eps[i]);
		same = found;
	}
	/* An address withdrawn is a change too (learned and relayed candidates stay anyway). */
	for (size_t j = 0; j < p->n_cand && same; j++) {
		bool found = path_candidate_kept(&p->cand[j]);

		for (size_t i = 0; i < n && !found; i++)
			found = endpoint_equal(&p->cand[j].ep, &eps[i]);
		same = found;
	}
	if (same && !force)
		return;
	if (log_get_level() >= LL_DEBUG) {
		char list[5 * (ENDPOINT_STRLEN + 16)] = "", buf[ENDPOINT_STRLEN];

		for (size_t i = 0; i < n; i++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s (%s)",
			         i ? ", " : "", endpoint_format(&eps[i], buf),
			         cand_kind_name(kinds[i]));
		log_debug("peer %s: candidates %s", c->peer_id, n ? list : "none");
	}
	path_set_candidates(&cm->trav.paths, (size_t)c->path, eps, kinds, n, now_mono_ns());
	conn_kick(cm);
}

static void set_state(struct conn *c, enum conn_state s, uint64_t now_ns)
{
	if (c->state == s)
		return;
	log_info("peer %s (%s): %s -> %s", c->name, c->peer_id, conn_state_name(c->state),
	         conn_state_name(s));
	c->state = s;
	c->state_since_ns = now_ns;
}

/* Configures the member's WireGuard peer and starts probing it: a new attempt. */
static bool setup(struct conn_manager *cm, struct conn *c, uint64_t now_ns)
{
	int idx;

	c->wg = wg_device_add_peer(cm->dev, c->pub);
	if (!c->wg) {
		log_error("peer %s (%s): cannot add it to the interface", c->name, c->peer_id);
		return false;
	}
	if (!allow_vip(c->wg, &c->vip)) {
		log_error("peer %s (%s): cannot route its virtual IP", c->name, c->peer_id);
		wg_device_remove_peer(cm->dev, c->wg);
		c->wg = NULL;
		return false;
	}
	wg_peer_set_persistent_keepalive(c->wg, cm->cfg.keepalive_sec);
	wg_device_commit(cm->dev);
	idx = path_add_peer(&cm->trav.paths, c->pub, now_ns);
	if (idx < 0) {
		log_error("peer %s (%s): cannot probe it: %s", c->name, c->peer_id, strerror(-idx));
		wg_device_remove_peer(cm->dev, c->wg);
		wg_device_commit(cm->dev);
		c->wg = NULL;
		return false;
	}
	c->path = idx;
	c->attempt_ns = now_ns;
	c->no_path_since_ns = now_ns;
	endpoint_clear(&c->applied);
	c->state = CONN_CONNECTING;
	c->state_since_ns = now_ns;
	/* With IPv6 on both sides no NAT is in the way: the relay only if that fails too. */
	c->wants_relay =
	    cm->cfg.relay == RELAY_ALWAYS ||
	    (cm->cfg.relay == RELAY_AUTO && !nat_type_can_punch(cm->self_nat, c->nat) &&
	     cm->self_nat != NAT_UNKNOWN && c->nat != NAT_UNKNOWN && !both_global(cm, c));
	update_candidates(cm, c, true);
	return true;
}

/* Ends the attempt: WireGuard peer and probing state go; the member stays. */
static void teardown(struct conn_manager *cm, struct conn *c)
{
	if (cm->relays && c->wants_relay)
		relays_release(cm->relays, c);
	c->wants_relay = false;
	if (c->path >= 0)
		path_remove_peer(&cm->trav.paths, (size_t)c->path);
	c->path = -1;
	if (c->wg) {
		wg_device_remove_peer(cm->dev, c->wg);
		wg_device_commit(cm->dev);
	}
	c->wg = NULL;
	endpoint_clear(&c->applied);
}

/* One step of a member's state machine (conn.h). */
static void step(struct conn_manager *cm, struct conn *c, uint64_t now_ns)
{
	const struct path_candidate *cur;
	bool direct, want;

	if (!c->wg) {
		if (now_ns >= c->retry_at_ns) {
			log_info("peer %s (%s): trying again", c->name, c->peer_id);
			setup(cm, c, now_ns);
		}
		return;
	}
	cur = conn_path(cm, c);
	direct = cur && !endpoint_is_relayed(&cur->ep);
	/* A relay when there is no direct path soon enough, or none can be. */
	want = cm->cfg.relay == RELAY_ALWAYS ||
	       (cm->cfg.relay == RELAY_AUTO && !direct &&
	        (now_ns - c->attempt_ns >= ms_ns(cm->cfg.relay_after_ms) || c->wants_relay));
	if (want != c->wants_relay) {
		c->wants_relay = want;
		if (!want && cm->relays)
			relays_release(cm->relays, c);
		else
			log_info("peer %s (%s): no direct path yet; looking for a relay", c->name,
			         c->peer_id);
	}
	update_candidates(cm, c, false);
	if (cur) {
		/* One lost probe is noise; two in a row are not. */
		bool slow = cur->srtt_ns > ms_ns(cm->cfg.degraded_rtt_ms) || cur->misses >= 2;

		apply_path(cm, c);
		c->no_path_since_ns = 0;
		if (!wg_peer_has_session(c->wg))
			set_state(c, c->state == CONN_CONNECTED ? CONN_DEGRADED : CONN_CONNECTING,
			          now_ns);
		else
			set_state(c, slow ? CONN_DEGRADED : CONN_CONNECTED, now_ns);
		return;
	}
	if (!c->no_path_since_ns)
		c->no_path_since_ns = now_ns;
	if (now_ns - c->no_path_since_ns >= ms_ns(cm->cfg.failed_after_ms)) {
		set_state(c, CONN_FAILED, now_ns);
	} else if (c->state == CONN_CONNECTED) {
		set_state(c, CONN_DEGRADED, now_ns);
	}
	if (c->state == CONN_FAILED &&
	    now_ns - c->state_since_ns >= ms_ns(cm->cfg.cleanup_after_ms)) {
		uint64_t backoff = ms_ns(RETRY_MIN_MS) << (c->cleanups < 16 ? c->cleanups : 16);

		if (backoff > ms_ns(cm->cfg.retry_max_ms))
			backoff = ms_ns(cm->cfg.retry_max_ms);
		c->cleanups++;
		log_info("peer %s (%s): unreachable for %u s; cleaned up, next try in %llu s",
		         c->name, c->peer_id,
		         (unsigned)((now_ns - c->no_path_since_ns) / NS_PER_SEC),
		         (unsigned long long)(backoff / NS_PER_SEC));
		teardown(cm, c);
		c->retry_at_ns = now_ns + backoff;
	}
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct conn_manager *cm = arg;
	uint64_t now = now_mono_ns();

	for (size_t i = 0; i < cm->max_conns; i++) {
		if (cm->conns[i].active)
			step(cm, &cm->conns[i], now);
	}
}

int conn_manager_init(struct conn_manager *cm, struct event_base *base, struct wg_device *dev,
                      const wg_key self_priv, size_t max_members, const struct conn_config *cfg)
{
	struct send_ops ops = { .send = dev_send, .ctx = cm };
	struct timeval tick = { 0, TICK_MS * 1000 };
	int ret;

	memset(cm, 0, sizeof(*cm));
	cm->base = base;
	cm->dev = dev;
	cm->cfg = *cfg;
	cm->self_nat = NAT_UNKNOWN;
	cm->max_conns = max_members;
	cm->conns = calloc(max_members, sizeof(*cm->conns));
	cm->trav_timer = evtimer_new(base, on_trav_timer, cm);
	cm->tick = event_new(base, -1, EV_PERSIST, on_tick, cm);
	if (!cm->conns || !cm->trav_timer || !cm->tick) {
		conn_manager_clear(cm);
		return -ENOMEM;
	}
	/* Probe counters grow across restarts (docs/PROTOCOL.md, "Counters"). */
	ret = traversal_init(&cm->trav, &ops, self_priv, max_members, (uint64_t)now_wall_ms() << 20,
	                     &cfg->path, on_path, cm);
	if (ret < 0) {
		conn_manager_clear(cm);
		return ret;
	}
	evtimer_add(cm->tick, &tick);
	return 0;
}

void conn_manager_clear(struct conn_manager *cm)
{
	if (cm->conns) {
		conn_remove_all(cm);
		free(cm->conns);
	}
	if (cm->trav_timer)
		event_free(cm->trav_timer);
	if (cm->tick)
		event_free(cm->tick);
	traversal_clear(&cm->trav);
	memset(cm, 0, sizeof(*cm));
}

void conn_manager_set_relays(struct conn_manager *cm, struct relays *relays)
{
	cm->relays = relays;
}

void conn_set_self_nat(struct conn_manager *cm, enum nat_type nat)
{
	cm->self_nat = nat;
}

void conn_set_self_global(struct conn_manager *cm, const struct addr *global)
{
	if (addr_equal(&cm->self_global, global))
		return;
	cm->self_global = *global;
	for (size_t i = 0; i < cm->max_conns; i++) {
		if (cm->conns[i].active)
			update_candidates(cm, &cm->conns[i], true);
	}
}

struct conn *conn_find(struct conn_manager *cm, const char *peer_id)
{
	for (size_t i = 0; i < cm->max_conns; i++) {
		if (cm->conns[i].active && strcmp(cm->conns[i].peer_id, peer_id) == 0)
			return &cm->conns[i];
	}
	return NULL;
}

struct conn *conn_lookup(struct conn_manager *cm, const char *what)
{
	struct conn *c = conn_find(cm, what);
	struct addr ip;

	if (c)
		return c;
	if (addr_parse_ip(&ip, what, NULL)) {
		for (size_t i = 0; i < cm->max_conns; i++) {
			if (cm->conns[i].active && addr_equal_ip(&cm->conns[i].vip, &ip))
				return &cm->conns[i];
		}
	}
	for (size_t i = 0; i < cm->max_conns; i++) {
		if (cm->conns[i].active && strcasecmp(cm->conns[i].name, what) == 0)
			return &cm->conns[i];
	}
	return NULL;
}

size_t conn_count(const struct conn_manager *cm, bool connected_only)
{
	size_t n = 0;

	for (size_t i = 0; i < cm->max_conns; i++) {
		const struct conn *c = &cm->conns[i];

		n += c->active &&
		     (!connected_only || c->state == CONN_CONNECTED || c->state == CONN_DEGRADED);
	}
	return n;
}

bool conn_upsert(struct conn_manager *cm, const struct peer_info *m)
{
	struct conn *c = conn_find(cm, m->id);
	bool fresh = !c, moved;

	if (m->virtual_ip.sa.sa_family != AF_INET) {
		log_info("peer %s (%s): no virtual IP yet; waiting", m->name, m->id);
		return false;
	}
	if (!c) {
		for (size_t i = 0; i < cm->max_conns && !c; i++) {
			if (!cm->conns[i].active)
				c = &cm->conns[i];
		}
		if (!c) {
			log_error(
			    "peer %s (%s): the party is larger than %zu members; not connected",
			    m->name, m->id, cm->max_conns);
			return false;
		}
		memset(c, 0, sizeof(*c));
		c->path = -1;
		memcpy(c->pub, m->public_key, KEY_LEN);
		snprintf(c->peer_id, sizeof(c->peer_id), "%s", m->id);
	} else if (!key_equal(c->pub, m->public_key)) {
		/* Peer ids come from keys, so this is a new identity under a colliding id. */
		log_error("peer %s (%s): its key changed; ignored", m->name, m->id);
		return false;
	}
	moved = !fresh && !addr_equal_ip(&c->vip, &m->virtual_ip);
	snprintf(c->name, sizeof(c->name), "%s", m->name);
	c->nat = m->nat_type;
	c->public_ep = m->public_endpoint;
	c->local_ep = m->local_endpoint;
	c->global_ep = m->global_endpoint;
	c->vip = m->virtual_ip;
	if (fresh) {
		char ip[ADDR_STRLEN];

		c->active = true;
		log_info("peer %s (%s): joined at %s (NAT %s)", c->name, c->peer_id,
		         addr_format_ip(&c->vip, ip), nat_type_name(c->nat));
		return setup(cm, c, now_mono_ns());
	}
	if (moved && c->wg) {
		wg_peer_clear_allowed_ips(c->wg);
		if (!allow_vip(c->wg, &c->vip))
			log_error("peer %s (%s): cannot route its new virtual IP", c->name,
			          c->peer_id);
		wg_device_commit(cm->dev);
	}
	update_candidates(cm, c, false);
	return true;
}

void conn_remove(struct conn_manager *cm, struct conn *c)
{
	log_info("peer %s (%s): removed", c->name, c->peer_id);
	teardown(cm, c);
	if (cm->relays)
		relays_forget_pair(cm->relays, c->peer_id);
	memset(c, 0, sizeof(*c));
	c->path = -1;
}

void conn_remove_all(struct conn_manager *cm)
{
	for (size_t i = 0; i < cm->max_conns; i++) {
		if (cm->conns[i].active)
			conn_remove(cm, &cm->conns[i]);
	}
}

void conn_input(struct conn_manager *cm, const uint8_t *data, size_t len,
                const struct endpoint *from)
{
	uint64_t now = now_mono_ns();

	if (len && data[0] > RELAY_DATA && data[0] <= RELAY_FIRST_BYTE_MAX) {
		if (cm->relays && !endpoint_is_relayed(from))
			relays_input(cm->relays, data, len, &from->addr);
		return;
	}
	traversal_input(&cm->trav, data, len, from, now);
	arm_trav(cm, traversal_timer(&cm->trav, now), now);
}

/* What probing knows of each address of the member: for `lanrage peers --json` and bug reports. */
static json_t *candidates_json(const struct conn_manager *cm, const struct conn *c,
                               const struct path_candidate *cur)
{
	const struct path_peer *p = c->path >= 0 ? &cm->trav.paths.peers[c->path] : NULL;
	json_t *list = json_array();
	char buf[ENDPOINT_STRLEN];

	for (size_t i = 0; p && i < p->n_cand; i++) {
		const struct path_candidate *k = &p->cand[i];
		const char *relay = endpoint_is_relayed(&k->ep) && cm->relays
		                        ? relays_name(cm->relays, &k->ep.addr)
		                        : NULL;

		json_array_append_new(
		    list,
		    json_pack("{s:s, s:s, s:o, s:b, s:I, s:I, s:o}", "endpoint",
		              endpoint_format(&k->ep, buf), "kind", cand_kind_name(k->kind),
		              "relay", relay ? json_string(relay) : json_null(), "current",
		              k == cur, "pings", (json_int_t)k->pings, "pongs",
		              (json_int_t)k->pongs, "rtt_ms",
		              k->pongs ? json_real((double)k->srtt_ns / NS_PER_MS) : json_null()));
	}
	return list;
}

json_t *conn_to_json(const struct conn_manager *cm, const struct conn *c)
{
	const struct path_candidate *cur = conn_path(cm, c);
	char ip[ADDR_STRLEN], ep[ADDR_STRLEN], when[NOW_ISO8601_LEN];
	int64_t hs = c->wg ? atomic_load(&c->wg->last_handshake_wall_ns) : 0;
	const char *relay = NULL;
	json_t *o = json_object();

	if (cur && endpoint_is_relayed(&cur->ep) && cm->relays)
		relay = relays_name(cm->relays, &cur->ep.addr);
	json_object_set_new(o, "peer_id", json_string(c->peer_id));
	json_object_set_new(o, "name", json_string(c->name));
	json_object_set_new(o, "virtual_ip", json_string(addr_format_ip(&c->vip, ip)));
	json_object_set_new(o, "self", json_false());
	json_object_set_new(o, "state", json_string(conn_state_name(c->state)));
	json_object_set_new(o, "path",
	                    json_string(!cur                            ? "none"
	                                : endpoint_is_relayed(&cur->ep) ? "relay"
	                                                                : "direct"));
	json_object_set_new(o, "endpoint",
	                    cur ? json_string(addr_format(&cur->ep.addr, ep)) : json_null());
	json_object_set_new(o, "relay", relay ? json_string(relay) : json_null());
	json_object_set_new(o, "rtt_ms",
	                    cur && cur->pongs ? json_real((double)cur->srtt_ns / NS_PER_MS)
	                                      : json_null());
	json_object_set_new(o, "nat_type", json_string(nat_type_name(c->nat)));
	json_object_set_new(o, "last_handshake",
	                    hs ? json_string(now_format_iso8601(hs / NS_PER_MS, when))
	                       : json_null());
	json_object_set_new(o, "rx_bytes",
	                    json_integer(c->wg ? (json_int_t)atomic_load(&c->wg->rx_bytes) : 0));
	json_object_set_new(o, "tx_bytes",
	                    json_integer(c->wg ? (json_int_t)atomic_load(&c->wg->tx_bytes) : 0));
	json_object_set_new(o, "candidates", candidates_json(cm, c, cur));
	return o;
}
