/* daemon.c - lanraged's parts wired together, and the party manager. */
#include "daemon/daemon.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/party_id.h"
#include "daemon/api.h"
#include "daemon/ping.h"
#include "daemon/relays.h"
#include "nat/ifaddr.h"
#include "tun/iface.h"
#include "tun/tun.h"
#include "util/err.h"
#include "util/file.h"
#include "util/log.h"
#include "util/now.h"
#include "wg/device.h"
#include "wg/ipc.h"

enum {
	MAX_MEMBERS = 256,
	NAT_REFRESH_SEC = 300,
	REJOIN_MIN_MS = 1000,
	REJOIN_MAX_MS = 30000,
};

static bool in_party(const struct daemon *d)
{
	return d->state.st.party_id[0] != '\0';
}

static const char *mode_name(const struct daemon *d)
{
	return d->cfg.control_url[0] ? "remote" : "local";
}

static const char *where(const struct daemon *d)
{
	return d->cfg.control_url[0] ? d->cfg.control_url : d->cfg.discovery_dir;
}

/* ---- the interface's address: the own virtual IP in the party's network ---- */

static void set_vip(struct daemon *d, const struct addr *vip)
{
	char ip[ADDR_STRLEN];
	int ret;

	if (addr_equal_ip(&d->vip_on_iface, vip) && addr_is_set(vip))
		return;
	if (addr_is_set(&d->vip_on_iface)) {
		ret = iface_del_address(d->cfg.interface, &d->vip_on_iface, d->network.len);
		if (ret < 0)
			log_error("%s: cannot remove %s: %s", d->cfg.interface,
			          addr_format_ip(&d->vip_on_iface, ip), strerror(-ret));
		addr_clear(&d->vip_on_iface);
	}
	if (!addr_is_set(vip))
		return;
	ret = iface_add_address(d->cfg.interface, vip, d->network.len);
	if (ret < 0) {
		log_error("%s: cannot add %s/%u: %s", d->cfg.interface, addr_format_ip(vip, ip),
		          d->network.len, strerror(-ret));
		return;
	}
	d->vip_on_iface = *vip;
	log_info("%s: virtual IP %s/%u", d->cfg.interface, addr_format_ip(vip, ip), d->network.len);
}

/* ---- who we are to the others: name, key, NAT type, endpoints ---- */

/* The first address of ours outside the virtual network: where LAN members reach us. */
static void find_local_endpoint(struct daemon *d, struct addr *out)
{
	struct addr addrs[16];
	int n = ifaddr_list(addrs, 16, AF_INET, false, wg_device_port(d->dev));

	addr_clear(out);
	for (int i = 0; i < n; i++) {
		if (prefix_contains4(&d->network, ntohl(addrs[i].in4.sin_addr.s_addr)))
			continue;
		*out = addrs[i];
		return;
	}
}

/* Refreshes self; tells the party when something others need changed. */
static void update_self(struct daemon *d)
{
	struct peer_info before = d->self;

	snprintf(d->self.name, sizeof(d->self.name), "%s", d->cfg.peer_name);
	find_local_endpoint(d, &d->self.local_endpoint);
	if (d->nat_done) {
		d->self.nat_type = d->nat.type;
		d->self.public_endpoint = d->nat.mapped;
	}
	if (!in_party(d) || d->op != OP_NONE)
		return;
	if (strcmp(before.name, d->self.name) != 0 || before.nat_type != d->self.nat_type ||
	    !addr_equal(&before.public_endpoint, &d->self.public_endpoint) ||
	    !addr_equal(&before.local_endpoint, &d->self.local_endpoint)) {
		int ret = d->ctl->ops->update_self(d->ctl, &d->self);

		if (ret < 0)
			log_info("cannot publish our new description yet: %s", strerror(-ret));
	}
}

static void on_nat(void *ctx, const struct discovery_report *r)
{
	struct daemon *d = ctx;
	char buf[ADDR_STRLEN];

	d->nat = *r;
	d->nat_done = true;
	d->nat_at_ms = now_wall_ms();
	conn_set_self_nat(&d->cm, r->type);
	log_info("NAT: %s (mapping %s, filtering %s), public endpoint %s%s%s",
	         nat_type_name(r->type), nat_mapping_name(r->mapping),
	         nat_filtering_name(r->filtering), addr_format(&r->mapped, buf),
	         r->reason[0] ? "; " : "", r->reason);
	update_self(d);
}

static void start_nat_discovery(struct daemon *d)
{
	struct discovery_config cfg;
	int ret;

	if (!d->n_stun)
		return;
	discovery_config_init(&cfg, &d->stun[0]);
	cfg.n_locals = 0;
	{
		int n = ifaddr_list(cfg.locals, DISC_MAX_LOCALS, AF_UNSPEC, false,
		                    wg_device_port(d->dev));

		cfg.n_locals = n > 0 ? (size_t)n : 0;
	}
	ret = traversal_discover(&d->cm.trav, &cfg, now_mono_ns(), on_nat, d);
	if (ret < 0)
		log_error("NAT discovery cannot start: %s", strerror(-ret));
	conn_kick(&d->cm);
}

static void on_nat_timer(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct timeval tv = { NAT_REFRESH_SEC, 0 };

	start_nat_discovery(d);
	update_self(d);
	evtimer_add(d->nat_ev, &tv);
}

/* STUN servers: configured, or the control server's host on port 3478. */
static void choose_stun(struct daemon *d)
{
	char host[256];
	const char *p, *end;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM }, *res = NULL;

	memcpy(d->stun, d->cfg.stun, sizeof(d->stun));
	d->n_stun = d->cfg.n_stun;
	if (d->n_stun || !d->cfg.control_url[0])
		return;
	p = strstr(d->cfg.control_url, "://");
	p = p ? p + 3 : d->cfg.control_url;
	if (*p == '[') {
		p++;
		end = strchr(p, ']');
	} else {
		end = p + strcspn(p, ":/");
	}
	if (!end || (size_t)(end - p) >= sizeof(host))
		return;
	memcpy(host, p, (size_t)(end - p));
	host[end - p] = '\0';
	if (getaddrinfo(host, "3478", &hints, &res) != 0 || !res) {
		log_info("cannot resolve %s for STUN; NAT type unknown", host);
		return;
	}
	if (addr_from_sockaddr(&d->stun[0], res->ai_addr, res->ai_addrlen))
		d->n_stun = 1;
	freeaddrinfo(res);
}

/* ---- the party manager: the mesh follows the control plane's view ---- */

static void forget_party(struct daemon *d, const char *why)
{
	if (in_party(d))
		log_info("party %s (%s): %s", d->state.st.party_id, d->state.st.party_name, why);
	conn_remove_all(&d->cm);
	set_vip(d, &(struct addr){ .sa.sa_family = AF_UNSPEC });
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

	if (!in_party(d) || strcmp(party->id, d->state.st.party_id) != 0)
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
		set_vip(d, &me->virtual_ip);
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
	forget_party(d, why);
}

static void on_link(void *ctx, enum ctl_link link, const char *detail)
{
	struct daemon *d = ctx;

	if (link != d->link)
		log_info("control plane %s: %s%s%s", where(d), ctl_link_name(link),
		         detail && detail[0] ? ": " : "", detail ? detail : "");
	d->link = link;
	snprintf(d->link_detail, sizeof(d->link_detail), "%s", detail ? detail : "");
}

static void on_signal(void *ctx, const char *from, const json_t *data)
{
	/* Relays arrange pairs with signals (daemon/relays.c); nothing else uses them yet. */
	(void)ctx;
	(void)from;
	(void)data;
}

/* ---- party operations (API requests, and the rejoin after a restart) ---- */

static json_t *party_json(const struct daemon *d)
{
	json_t *o;

	if (!in_party(d))
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

static json_t *vip_json(const struct addr *vip)
{
	char ip[ADDR_STRLEN];

	return addr_is_set(vip) ? json_string(addr_format_ip(vip, ip)) : json_null();
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
	snprintf(d->state.st.mode, sizeof(d->state.st.mode), "%s", mode_name(d));
	snprintf(d->state.st.where, sizeof(d->state.st.where), "%s", where(d));
	if (!d->state.st.joined_at_ms)
		d->state.st.joined_at_ms = now_wall_ms();
	state_store_changed(&d->state);
	d->rejoin_failures = 0;
	d->op = OP_NONE;
	apply_party(d, party);
	update_self(d);
	body = party_json(d);
	json_object_set_new(body, "virtual_ip", vip_json(&d->self.virtual_ip));
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
			forget_party(d, "the party no longer exists");
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

	if (!in_party(d) || d->op != OP_NONE)
		return;
	update_self(d);
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

static bool busy(struct daemon *d, struct api_req *req)
{
	if (d->op == OP_NONE || d->op == OP_REJOIN)
		return false;
	api_fail(req, 409, "another party operation is still running; try again in a moment");
	return true;
}

static void api_party_create(void *ctx, struct api_req *req, const char *name)
{
	struct daemon *d = ctx;
	int ret;

	if (busy(d, req))
		return;
	if (in_party(d)) {
		api_fail(req, 409,
		         "already in party %s (%s); leave it first (`lanrage party leave`)",
		         d->state.st.party_id, d->state.st.party_name);
		return;
	}
	if (!party_name_valid(name)) {
		api_fail(req, 400, "a party name is 1-64 characters of printable text");
		return;
	}
	update_self(d);
	d->op = OP_CREATE;
	d->op_req = req;
	ret = d->ctl->ops->create(d->ctl, name, &d->self, on_created, d);
	if (ret < 0)
		fail_op(d, 503, strerror(-ret));
}

static void api_party_join(void *ctx, struct api_req *req, const char *typed)
{
	struct daemon *d = ctx;
	char id[PARTY_ID_LEN + 1];
	errmsg err;
	int ret;

	if (busy(d, req))
		return;
	if (!party_id_normalize(id, typed, err)) {
		api_fail(req, 400, "%s", err);
		return;
	}
	if (in_party(d) && strcmp(id, d->state.st.party_id) != 0) {
		api_fail(req, 409,
		         "already in party %s (%s); leave it first (`lanrage party leave`)",
		         d->state.st.party_id, d->state.st.party_name);
		return;
	}
	if (d->op == OP_REJOIN) {
		/* The rejoin under way answers this request too. */
		d->op = OP_JOIN;
		d->op_req = req;
		return;
	}
	update_self(d);
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
	forget_party(d, status ? "left (the control plane was not told)" : "left");
	body = json_pack("{s:s, s:s}", "status", "left", "party_id", id);
	if (status && error)
		json_object_set_new(body, "warning", json_string(error));
	finish_op(d, 200, body);
}

static void api_party_leave(void *ctx, struct api_req *req)
{
	struct daemon *d = ctx;
	int ret;

	if (busy(d, req))
		return;
	if (!in_party(d)) {
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

/* ---- reads ---- */

static json_t *api_status(void *ctx)
{
	struct daemon *d = ctx;
	char buf[ADDR_STRLEN];
	json_t *o = json_object(), *iface = json_object(), *ctl = json_object(),
	       *nat = json_object();

	json_object_set_new(o, "version", json_string(LANRAGE_VERSION));
	json_object_set_new(o, "peer_id", json_string(d->id.peer_id));
	json_object_set_new(o, "name", json_string(d->self.name));
	json_object_set_new(o, "public_key", json_string(d->id.public_b64));
	json_object_set_new(o, "virtual_ip", vip_json(&d->vip_on_iface));
	json_object_set_new(iface, "name", json_string(d->cfg.interface));
	json_object_set_new(iface, "mtu", json_integer(d->cfg.mtu));
	json_object_set_new(iface, "listen_port", json_integer(wg_device_port(d->dev)));
	json_object_set_new(o, "interface", iface);
	json_object_set_new(ctl, "mode", json_string(mode_name(d)));
	json_object_set_new(ctl, "where", json_string(where(d)));
	json_object_set_new(ctl, "link", json_string(ctl_link_name(d->link)));
	json_object_set_new(ctl, "detail", json_string(d->link_detail));
	json_object_set_new(o, "control", ctl);
	json_object_set_new(o, "party", party_json(d));
	json_object_set_new(nat, "type", json_string(nat_type_name(d->self.nat_type)));
	json_object_set_new(nat, "public_endpoint",
	                    addr_is_set(&d->self.public_endpoint)
	                        ? json_string(addr_format(&d->self.public_endpoint, buf))
	                        : json_null());
	json_object_set_new(o, "nat", nat);
	return o;
}

static json_t *self_json(struct daemon *d)
{
	char buf[ADDR_STRLEN];
	json_t *o = json_object();

	json_object_set_new(o, "peer_id", json_string(d->id.peer_id));
	json_object_set_new(o, "name", json_string(d->self.name));
	json_object_set_new(o, "virtual_ip", vip_json(&d->vip_on_iface));
	json_object_set_new(o, "self", json_true());
	json_object_set_new(o, "state", json_string("self"));
	json_object_set_new(o, "path", json_string("none"));
	json_object_set_new(o, "endpoint",
	                    addr_is_set(&d->self.public_endpoint)
	                        ? json_string(addr_format(&d->self.public_endpoint, buf))
	                        : json_null());
	json_object_set_new(o, "relay", json_null());
	json_object_set_new(o, "rtt_ms", json_null());
	json_object_set_new(o, "nat_type", json_string(nat_type_name(d->self.nat_type)));
	json_object_set_new(o, "last_handshake", json_null());
	json_object_set_new(o, "rx_bytes", json_integer(0));
	json_object_set_new(o, "tx_bytes", json_integer(0));
	return o;
}

static json_t *api_peers(void *ctx)
{
	struct daemon *d = ctx;
	json_t *list = json_array();

	if (in_party(d)) {
		json_array_append_new(list, self_json(d));
		for (size_t i = 0; i < d->cm.max_conns; i++) {
			if (d->cm.conns[i].active)
				json_array_append_new(list, conn_to_json(&d->cm, &d->cm.conns[i]));
		}
	}
	return json_pack("{s:o, s:o}", "party_id",
	                 in_party(d) ? json_string(d->state.st.party_id) : json_null(), "peers",
	                 list);
}

static json_t *api_nat(void *ctx)
{
	struct daemon *d = ctx;
	char buf[ADDR_STRLEN], when[NOW_ISO8601_LEN];
	json_t *o = json_object(), *locals = json_array(), *stun = json_array();
	struct addr addrs[16];
	int n = ifaddr_list(addrs, 16, AF_UNSPEC, false, wg_device_port(d->dev));

	for (int i = 0; i < n; i++) {
		if (addrs[i].sa.sa_family == AF_INET &&
		    prefix_contains4(&d->network, ntohl(addrs[i].in4.sin_addr.s_addr)))
			continue;
		json_array_append_new(locals, json_string(addr_format(&addrs[i], buf)));
	}
	for (int i = 0; i < d->n_stun; i++)
		json_array_append_new(stun, json_string(addr_format(&d->stun[i], buf)));
	json_object_set_new(o, "type", json_string(nat_type_name(d->self.nat_type)));
	json_object_set_new(o, "mapping",
	                    json_string(d->nat_done ? nat_mapping_key(d->nat.mapping) : "unknown"));
	json_object_set_new(
	    o, "filtering",
	    json_string(d->nat_done ? nat_filtering_key(d->nat.filtering) : "unknown"));
	json_object_set_new(o, "public_endpoint",
	                    addr_is_set(&d->self.public_endpoint)
	                        ? json_string(addr_format(&d->self.public_endpoint, buf))
	                        : json_null());
	json_object_set_new(o, "local_endpoints", locals);
	json_object_set_new(o, "stun_servers", stun);
	json_object_set_new(o, "detected_at",
	                    d->nat_done ? json_string(now_format_iso8601(d->nat_at_ms, when))
	                                : json_null());
	json_object_set_new(o, "detail",
	                    json_string(!d->n_stun     ? "no STUN server configured (stun = ...)"
	                                : !d->nat_done ? "discovery is running"
	                                               : d->nat.reason));
	return o;
}

/* ---- ping ---- */

struct ping_req {
	struct daemon *d;
	struct api_req *req;
	char peer_id[PEER_ID_MAX + 1];
	char name[PEER_NAME_MAX + 1];
	char path[8];
};

static void on_ping_done(void *arg, const struct ping_result *r, int error)
{
	struct ping_req *pr = arg;
	json_t *rtts = json_array(), *body;
	double min = 0, max = 0, sum = 0;

	if (error) {
		api_fail(pr->req, 503, "ping stopped: %s", strerror(-error));
		free(pr);
		return;
	}
	for (unsigned i = 0; i < r->sent; i++) {
		double v = r->rtts_ms[i];

		json_array_append_new(rtts, v >= 0 ? json_real(v) : json_null());
		if (v < 0)
			continue;
		min = sum == 0 || v < min ? v : min;
		max = v > max ? v : max;
		sum += v;
	}
	body = json_pack("{s:s, s:s, s:s, s:i, s:i, s:o}", "peer_id", pr->peer_id, "name", pr->name,
	                 "path", pr->path, "sent", (int)r->sent, "received", (int)r->received,
	                 "rtts_ms", rtts);
	json_object_set_new(body, "min_ms", r->received ? json_real(min) : json_null());
	json_object_set_new(body, "avg_ms",
	                    r->received ? json_real(sum / r->received) : json_null());
	json_object_set_new(body, "max_ms", r->received ? json_real(max) : json_null());
	api_finish(pr->req, 200, body);
	free(pr);
}

static void api_ping(void *ctx, struct api_req *req, const char *peer, unsigned count)
{
	struct daemon *d = ctx;
	struct conn *c;
	struct ping_req *pr;
	const struct path_candidate *cur;
	int ret;

	if (!in_party(d)) {
		api_fail(req, 409, "not in a party");
		return;
	}
	c = conn_lookup(&d->cm, peer);
	if (!c) {
		api_fail(req, 404, "no member `%s' in party %s (peer id, name or virtual IP)", peer,
		         d->state.st.party_id);
		return;
	}
	if (!d->pinger) {
		api_fail(req, 503, "pinging needs a raw ICMP socket (CAP_NET_RAW)");
		return;
	}
	pr = calloc(1, sizeof(*pr));
	if (!pr) {
		api_fail(req, 503, "out of memory");
		return;
	}
	cur = conn_path(&d->cm, c);
	pr->d = d;
	pr->req = req;
	snprintf(pr->peer_id, sizeof(pr->peer_id), "%s", c->peer_id);
	snprintf(pr->name, sizeof(pr->name), "%s", c->name);
	snprintf(pr->path, sizeof(pr->path), "%s",
	         !cur                            ? "none"
	         : endpoint_is_relayed(&cur->ep) ? "relay"
	                                         : "direct");
	ret = pinger_start(d->pinger, &c->vip, count, on_ping_done, pr);
	if (ret < 0) {
		api_fail(req, ret == -EBUSY ? 429 : 400, "cannot ping: %s", strerror(-ret));
		free(pr);
	}
}

static void api_setting_changed(void *ctx, const char *key)
{
	struct daemon *d = ctx;

	(void)d;
	log_info("setting %s changed; it takes effect when lanraged restarts", key);
}

/* ---- the data plane's other packets ---- */

static void on_other_packet(void *ctx, const uint8_t *data, size_t len, const struct endpoint *src)
{
	struct daemon *d = ctx;

	conn_input(&d->cm, data, len, src);
}

static void on_tun_gone(void *ctx)
{
	struct daemon *d = ctx;

	log_error("%s: the interface was removed; stopping", d->cfg.interface);
	d->exit_code = 1;
	event_base_loopexit(d->base, NULL);
}

static void on_ipc_gone(void *ctx)
{
	struct daemon *d = ctx;

	log_info("the UAPI socket was removed; stopping");
	event_base_loopexit(d->base, NULL);
}

/* ---- start and stop ---- */

static int open_interface(struct daemon *d, char *err)
{
	struct wg_config wcfg;
	struct tun *tun;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	int queues = cores < 1 ? 1 : cores > 4 ? 4 : (int)cores, ret;

	ret = tun_linux_create(&tun, d->cfg.interface, queues, true);
	if (ret < 0) {
		err_set(err, "cannot create the interface %s: %s%s", d->cfg.interface,
		        strerror(-ret),
		        ret == -EPERM ? " (lanraged needs root or CAP_NET_ADMIN)" : "");
		return ret;
	}
	ret = iface_set_mtu(tun->name, d->cfg.mtu);
	if (ret < 0) {
		err_set(err, "%s: cannot set the MTU to %d: %s", tun->name, d->cfg.mtu,
		        strerror(-ret));
		tun_destroy(tun);
		return ret;
	}
	tun->mtu = d->cfg.mtu;
	wg_config_default(&wcfg);
	d->dev = wg_device_create(d->base, tun, &wcfg, err);
	if (!d->dev) {
		tun_destroy(tun);
		return -ENOMEM;
	}
	wg_device_set_private_key(d->dev, d->id.private_key);
	ret = wg_device_set_listen_port(d->dev, d->cfg.listen_port);
	if (ret == 0)
		ret = wg_device_start(d->dev);
	if (ret < 0) {
		err_set(err, "cannot use UDP port %u: %s", d->cfg.listen_port, strerror(-ret));
		return ret;
	}
	wg_device_set_tun_gone_handler(d->dev, on_tun_gone, d);
	wg_device_set_other_packet_handler(d->dev, on_other_packet, d);
	ret = iface_set_up(d->cfg.interface, true);
	if (ret < 0) {
		err_set(err, "%s: cannot bring it up: %s", d->cfg.interface, strerror(-ret));
		return ret;
	}
	return 0;
}

static void on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	log_info("signal %d: stopping", (int)sig);
	event_base_loopexit(d->base, NULL);
}

int daemon_start(struct daemon *d, struct event_base *base, const struct daemon_config *cfg,
                 struct settings *settings, char *err)
{
	static const struct api_backend backend = {
		.status = api_status,
		.peers = api_peers,
		.nat = api_nat,
		.party_create = api_party_create,
		.party_join = api_party_join,
		.party_leave = api_party_leave,
		.ping = api_ping,
		.setting_changed = api_setting_changed,
	};
	struct api_backend be = backend;
	struct ctl_events ev = { .on_party = on_party,
		                 .on_party_gone = on_party_gone,
		                 .on_signal = on_signal,
		                 .on_link = on_link,
		                 .ctx = d };
	struct conn_config ccfg;
	struct ctl_timing timing;
	char path[PATH_MAX + 32];
	errmsg why;
	int ret;

	memset(d, 0, sizeof(*d));
	d->base = base;
	d->cfg = *cfg;
	d->settings = settings;
	party_info_init(&d->party);
	peer_info_init(&d->self);
	addr_clear(&d->vip_on_iface);
	if (!prefix_parse(&d->network, cfg->network, false, why) || d->network.family != AF_INET) {
		err_set(err, "network %s: %s", cfg->network, why);
		return -EINVAL;
	}
	ret = file_mkdirs(cfg->state_dir, 0700);
	if (ret < 0) {
		err_set(err, "state directory %s: %s", cfg->state_dir, strerror(-ret));
		return ret;
	}
	snprintf(path, sizeof(path), "%s/private.key", cfg->state_dir);
	ret = identity_load(&d->id, path, err);
	if (ret < 0)
		return ret;
	snprintf(path, sizeof(path), "%s/state.json", cfg->state_dir);
	why[0] = '\0';
	ret = state_store_open(&d->state, base, path, why);
	if (ret < 0) {
		err_set(err, "%s", why);
		return ret;
	}
	if (why[0])
		log_error("%s", why);
	snprintf(d->self.id, sizeof(d->self.id), "%s", d->id.peer_id);
	memcpy(d->self.public_key, d->id.public_key, KEY_LEN);
	snprintf(d->self.name, sizeof(d->self.name), "%s", cfg->peer_name);

	ret = open_interface(d, err);
	if (ret < 0)
		return ret;
	{
		const char *dir = getenv("LANRAGE_WG_SOCKET_DIR");

		d->ipc = ipc_create(d->dev, dir, on_ipc_gone, d, why);
		if (!d->ipc)
			log_info("no UAPI socket (`wg show` will not see %s): %s", cfg->interface,
			         why);
	}
	conn_config_default(&ccfg);
	ccfg.degraded_rtt_ms = cfg->degraded_rtt_ms;
	ccfg.keepalive_sec = (uint16_t)cfg->keepalive_sec;
	ccfg.relay = cfg->relay;
	ret = conn_manager_init(&d->cm, base, d->dev, d->id.private_key, MAX_MEMBERS, &ccfg);
	if (ret < 0) {
		err_set(err, "connection manager: %s", strerror(-ret));
		return ret;
	}
	d->cm_ready = true;

	ctl_timing_default(&timing);
	if (cfg->control_url[0])
		d->ctl =
		    ctl_remote_create(base, cfg->control_url, d->id.private_key, &timing, &ev, err);
	else
		d->ctl =
		    ctl_local_create(base, cfg->discovery_dir, d->id.public_key, &timing, &ev, err);
	if (!d->ctl)
		return -EINVAL;
	d->link = d->ctl->ops->link(d->ctl);

	d->pinger = pinger_create(base, why);
	if (!d->pinger)
		log_info("`lanrage ping` will not work: %s", why);
	snprintf(path, sizeof(path), "%s/api.token", cfg->state_dir);
	d->api = api_create(base, &cfg->api_addr, path, settings, &be, err);
	if (!d->api)
		return -EADDRINUSE;

	d->rejoin_ev = evtimer_new(base, on_rejoin_timer, d);
	d->nat_ev = evtimer_new(base, on_nat_timer, d);
	d->sigint = evsignal_new(base, SIGINT, on_stop_signal, d);
	d->sigterm = evsignal_new(base, SIGTERM, on_stop_signal, d);
	if (!d->rejoin_ev || !d->nat_ev || !d->sigint || !d->sigterm ||
	    evsignal_add(d->sigint, NULL) < 0 || evsignal_add(d->sigterm, NULL) < 0) {
		err_set(err, "cannot set up timers and signals");
		return -ENOMEM;
	}
	choose_stun(d);
	update_self(d);
	on_nat_timer(-1, 0, d);

	/* A saved party of this control plane: rejoin it (same virtual IP). */
	if (in_party(d)) {
		if (strcmp(d->state.st.mode, mode_name(d)) != 0 ||
		    strcmp(d->state.st.where, where(d)) != 0) {
			forget_party(d, "belongs to another control plane; not rejoined");
		} else {
			struct timeval now = { 0, 0 };

			if (addr_is_set(&d->state.st.virtual_ip))
				set_vip(d, &d->state.st.virtual_ip);
			log_info("party %s (%s): rejoining", d->state.st.party_id,
			         d->state.st.party_name);
			evtimer_add(d->rejoin_ev, &now);
		}
	}
	{
		char api[ADDR_STRLEN];

		log_info("lanraged %s: peer %s (%s), %s up on UDP port %u, API http://%s, control "
		         "plane %s %s",
		         LANRAGE_VERSION, d->id.peer_id, d->self.name, cfg->interface,
		         wg_device_port(d->dev), addr_format(&cfg->api_addr, api), mode_name(d),
		         where(d));
	}
	return 0;
}

void daemon_stop(struct daemon *d)
{
	if (d->sigint)
		event_free(d->sigint);
	if (d->sigterm)
		event_free(d->sigterm);
	if (d->op_req)
		api_fail(d->op_req, 503, "lanraged is stopping");
	d->op_req = NULL;
	api_destroy(d->api);
	pinger_destroy(d->pinger);
	ctl_destroy(d->ctl);
	if (d->cm_ready)
		conn_manager_clear(&d->cm);
	if (d->rejoin_ev)
		event_free(d->rejoin_ev);
	if (d->nat_ev)
		event_free(d->nat_ev);
	ipc_destroy(d->ipc);
	wg_device_destroy(d->dev);
	state_store_close(&d->state);
	party_info_clear(&d->party);
	identity_clear(&d->id);
}
