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

#include "control/ipam.h"
#include "control/party_id.h"
#include "daemon/api.h"
#include "daemon/partymgr.h"
#include "daemon/report.h"
#include "daemon/ping.h"
#include "daemon/relays.h"
#include "nat/ifaddr.h"
#include "nat/ifwatch.h"
#include "tun/iface.h"
#include "tun/tun.h"
#include "util/be.h"
#include "util/err.h"
#include "util/file.h"
#include "util/log.h"
#include "util/num.h"
#include "util/now.h"
#include "wg/device.h"
#include "wg/ipc.h"

enum {
	MAX_MEMBERS = 256,
	NAT_REFRESH_SEC = 300,
	ADDR_SETTLE_MS = 300, /* after the last address change of a burst */
};
bool daemon_in_party(const struct daemon *d)
{
	return d->state.st.party_id[0] != '\0';
}

const char *daemon_mode(const struct daemon *d)
{
	return d->cfg.control_url[0] ? "remote" : "local";
}

const char *daemon_where(const struct daemon *d)
{
	return d->cfg.control_url[0] ? d->cfg.control_url : d->cfg.discovery_dir;
}

/* ---- the interface's address: the own virtual IP in the party's network ---- */

/* Routes p to our interface, from the virtual IP (lan_broadcast = all). */
static void route_here(struct daemon *d, const struct prefix *p, const struct addr *vip)
{
	char buf[PREFIX_STRLEN];
	int ret = iface_add_route4(d->cfg.interface, p->v4, p->len, vip->in4.sin_addr);

	if (ret < 0)
		log_error("%s: cannot route %s here (lan_broadcast = all): %s", d->cfg.interface,
		          prefix_format(p, buf), strerror(-ret));
}

void daemon_vip6(const struct addr *vip, bool link_local, struct addr *out)
{
	memset(out, 0, sizeof(*out));
	out->in6.sin6_family = AF_INET6;
	ipam_v6_of(vip->in4.sin_addr, link_local, &out->in6.sin6_addr);
}

/* Adds (add) or removes the IPv6 addresses derived from vip; false if any failed (logged). */
static bool set_vip6(struct daemon *d, const struct addr *vip, bool add)
{
	char ip[ADDR_STRLEN];
	bool ok = true;

	for (int ll = 0; ll < 2; ll++) {
		struct addr a;
		int ret;

		daemon_vip6(vip, ll, &a);
		ret = add ? iface_add_address(d->cfg.interface, &a, 64)
		          : iface_del_address(d->cfg.interface, &a, 64);
		if (ret < 0) {
			log_error("%s: cannot %s %s/64: %s", d->cfg.interface,
			          add ? "add" : "remove", addr_format_ip(&a, ip), strerror(-ret));
			ok = false;
		}
	}
	return ok;
}

void daemon_set_vip(struct daemon *d, const struct addr *vip)
{
	char ip[ADDR_STRLEN], ip6[ADDR_STRLEN];
	int ret;

	if (addr_equal_ip(&d->vip_on_iface, vip) && addr_is_set(vip))
		return;
	if (addr_is_set(&d->vip_on_iface)) {
		ret = iface_del_address(d->cfg.interface, &d->vip_on_iface, d->network.len);
		if (ret < 0)
			log_error("%s: cannot remove %s: %s", d->cfg.interface,
			          addr_format_ip(&d->vip_on_iface, ip), strerror(-ret));
		if (d->ipv6)
			set_vip6(d, &d->vip_on_iface, false);
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
	if (d->ipv6 && set_vip6(d, vip, true)) {
		struct addr ula, ll;

		daemon_vip6(vip, false, &ula);
		daemon_vip6(vip, true, &ll);
		log_info("%s: virtual IPv6 %s/64, link-local %s", d->cfg.interface,
		         addr_format_ip(&ula, ip), addr_format_ip(&ll, ip6));
	} else if (d->ipv6) {
		/* (IPv6 turned off on the interface, say: the status must not claim it.) */
		set_vip6(d, vip, false);
		d->ipv6 = false;
		log_info("%s: the party is IPv4 only here", d->cfg.interface);
	}
	/*
	 * A game that broadcasts from the wildcard address reaches only the
	 * default route's LAN: route 255.255.255.255 here, from the virtual IP
	 * (which takes the route with it when it goes).  The same for the
	 * lan_multicast groups, which a game sends to and joins without naming an
	 * interface: the kernel picks both by route.
	 */
	if (d->cfg.lan_broadcast == LAN_BROADCAST_ALL && vip->sa.sa_family == AF_INET) {
		struct prefix all = { .family = AF_INET,
			              .len = 32,
			              .v4 = { .s_addr = htonl(INADDR_BROADCAST) } };

		route_here(d, &all, vip);
		for (int i = 0; i < d->cfg.n_lan_multicast; i++)
			route_here(d, &d->cfg.lan_multicast[i], vip);
	}
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

/*
 * Our IPv6 global unicast address (2000::/3; a stable one before a temporary
 * one, never one still in duplicate address detection), with the WireGuard
 * port: with IPv6 on both ends no NAT stands between two members, only
 * firewalls that let replies in, which probing from both sides at once
 * opens.  The party's own addresses (unique-local) are not global.
 */
static void find_global_endpoint(struct daemon *d, struct addr *out)
{
	struct in6_addr a;

	addr_clear(out);
	if (!d->cfg.ipv6_paths || !ifwatch_global6(&a))
		return;
	out->in6 = (struct sockaddr_in6){ .sin6_family = AF_INET6, .sin6_addr = a };
	addr_set_port(out, wg_device_port(d->dev));
}

/* Refreshes self; tells the party when something others need changed. */
void daemon_update_self(struct daemon *d)
{
	struct peer_info before = d->self;

	snprintf(d->self.name, sizeof(d->self.name), "%s", d->cfg.peer_name);
	find_local_endpoint(d, &d->self.local_endpoint);
	find_global_endpoint(d, &d->self.global_endpoint);
	conn_set_self_global(&d->cm, &d->self.global_endpoint);
	if (d->nat_done) {
		d->self.nat_type = d->nat.type;
		d->self.public_endpoint = d->nat.mapped;
	}
	if (!daemon_in_party(d) || d->op != OP_NONE)
		return;
	if (strcmp(before.name, d->self.name) != 0 || before.nat_type != d->self.nat_type ||
	    !addr_equal(&before.public_endpoint, &d->self.public_endpoint) ||
	    !addr_equal(&before.local_endpoint, &d->self.local_endpoint) ||
	    !addr_equal(&before.global_endpoint, &d->self.global_endpoint)) {
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
	daemon_update_self(d);
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

/* A relay sees us at a new address: find out what our NAT is now (at most every 10 s). */
static void on_moved(void *ctx)
{
	struct daemon *d = ctx;
	uint64_t now = now_mono_ns();

	if (d->moved_at_ns && now - d->moved_at_ns < 10ull * NS_PER_SEC)
		return;
	d->moved_at_ns = now;
	log_info("our address toward a relay changed: finding our NAT type again");
	start_nat_discovery(d);
	daemon_update_self(d);
}

static void on_nat_timer(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct timeval tv = { NAT_REFRESH_SEC, 0 };

	start_nat_discovery(d);
	daemon_update_self(d);
	evtimer_add(d->nat_ev, &tv);
}

/* Addresses came or went: once the burst is over (an address and its routes come together),
 * describe ourselves afresh, and find the NAT again if our way out may have changed. */
static void on_addr_settled(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct peer_info before = d->self;

	(void)fd;
	(void)what;
	daemon_update_self(d);
	if (!addr_equal(&before.local_endpoint, &d->self.local_endpoint)) {
		log_info("our local address changed: finding our NAT type again");
		start_nat_discovery(d);
	}
}

static void on_addr_change(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct timeval settle = { 0, ADDR_SETTLE_MS * 1000 };

	(void)what;
	if (ifwatch_drain(fd))
		evtimer_add(d->addr_settle_ev, &settle);
}

/* Watches our addresses; without it (no rtnetlink) they are read every NAT_REFRESH_SEC. */
static void watch_addresses(struct daemon *d, struct event_base *base)
{
	d->addr_fd = ifwatch_open();
	if (d->addr_fd < 0) {
		log_info("address changes will be noticed within %d s only: %s", NAT_REFRESH_SEC,
		         strerror(-d->addr_fd));
		return;
	}
	d->addr_ev = event_new(base, d->addr_fd, EV_READ | EV_PERSIST, on_addr_change, d);
	d->addr_settle_ev = evtimer_new(base, on_addr_settled, d);
	if (!d->addr_ev || !d->addr_settle_ev || event_add(d->addr_ev, NULL) < 0)
		log_info("address changes will be noticed within %d s only: out of memory",
		         NAT_REFRESH_SEC);
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

/* A setting stored through the API: what can change live does; the rest waits for a restart. */
static void api_setting_changed(void *ctx, const char *key)
{
	struct daemon *d = ctx;
	enum config_key k;
	errmsg err;

	if (!config_key_lookup(key, &k))
		return;
	if (config_apply_stored(&d->cfg, d->settings, k, err) < 0) {
		log_error("setting %s: %s", key, err);
		return;
	}
	switch (k) {
	case CONFIG_PEER_NAME:
		daemon_update_self(d);
		log_info("setting %s: now `%s'", key, d->cfg.peer_name);
		break;
	case CONFIG_DEGRADED_RTT_MS:
		d->cm.cfg.degraded_rtt_ms = d->cfg.degraded_rtt_ms;
		log_info("setting %s: now %u", key, d->cfg.degraded_rtt_ms);
		break;
	case CONFIG_LOG_LEVEL: {
		enum log_level level;

		if (log_level_parse(d->cfg.log_level, &level))
			log_set_level(level);
		log_info("setting %s: now %s", key, d->cfg.log_level);
		break;
	}
	case CONFIG_LAN_MULTICAST:
		log_info("setting %s changed; it applies from the next party join", key);
		break;
	default:
		log_info("setting %s changed; it takes effect when lanraged restarts", key);
	}
}

static const struct daemon_config *api_config(void *ctx)
{
	return &((struct daemon *)ctx)->cfg;
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
	int queues, ret;

	wg_config_default(&wcfg);
	queues = wg_config_queues(&wcfg, cores < 1 ? 1 : cores > 4 ? 4 : (int)cores);
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
	/* LAN games find each other by broadcast: the virtual LAN's reaches every member. */
	wcfg.broadcast = d->cfg.lan_broadcast != LAN_BROADCAST_OFF;
	if (d->network.len < 31) {
		be32_store(wcfg.broadcast4,
		           ntohl(d->network.v4.s_addr) | ~prefix_mask4(&d->network));
	}
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
	/*
	 * IPv6 in the party: lanrage0 gets addresses derived from the virtual IP
	 * (ipam_v6_of), the link-local one in place of a random one of the
	 * kernel's, so that a game's ff02:: multicast leaves from an address the
	 * other members accept from us.
	 */
	ret = iface_no_auto_link_local(d->cfg.interface);
	d->ipv6 = ret == 0;
	if (ret < 0)
		log_info("%s: no IPv6 in the party (%s): IPv4 only", d->cfg.interface,
		         ret == -ENOENT ? "IPv6 is off on this machine" : strerror(-ret));
	ret = iface_set_up(d->cfg.interface, true);
	if (ret < 0) {
		err_set(err, "%s: cannot bring it up: %s", d->cfg.interface, strerror(-ret));
		return ret;
	}
	return 0;
}

/*
 * Test settings from the environment (docs/DAEMON.md, "Test settings"): the
 * lab shortens timeouts that are minutes long in real life.
 */
static void test_knob(const char *name, uint32_t *value)
{
	const char *v = getenv(name);
	uint64_t n;

	if (!v)
		return;
	if (!num_parse_u64(v, 1, 86400000, &n)) {
		log_error("%s=%s ignored: a number of milliseconds, 1 to 86400000", name, v);
		return;
	}
	*value = (uint32_t)n;
	log_info("test setting: %s=%u", name, *value);
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
		.status = report_status,
		.peers = report_peers,
		.nat = report_nat,
		.party_create = partymgr_create,
		.party_join = partymgr_join,
		.party_leave = partymgr_leave,
		.party_kick = partymgr_kick,
		.party_unban = partymgr_unban,
		.party_bans = partymgr_bans,
		.ping = report_ping,
		.setting_changed = api_setting_changed,
		.config = api_config,
	};
	struct api_backend be = backend;
	struct ctl_events ev;
	struct conn_config ccfg;
	struct ctl_timing timing;
	char path[PATH_MAX + 32];
	errmsg why;
	int ret;

	memset(d, 0, sizeof(*d));
	d->addr_fd = -1;
	be.ctx = d;
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
	test_knob("LANRAGE_CONN_RELAY_AFTER_MS", &ccfg.relay_after_ms);
	test_knob("LANRAGE_CONN_FAILED_MS", &ccfg.failed_after_ms);
	test_knob("LANRAGE_CONN_CLEANUP_MS", &ccfg.cleanup_after_ms);
	ccfg.degraded_rtt_ms = cfg->degraded_rtt_ms;
	ccfg.keepalive_sec = (uint16_t)cfg->keepalive_sec;
	ccfg.relay = cfg->relay;
	ret = conn_manager_init(&d->cm, base, d->dev, d->id.private_key, MAX_MEMBERS, &ccfg);
	if (ret < 0) {
		err_set(err, "connection manager: %s", strerror(-ret));
		return ret;
	}
	d->cm_ready = true;

	partymgr_events(d, &ev);
	ctl_timing_default(&timing);
	test_knob("LANRAGE_CTL_HEARTBEAT_MS", &timing.heartbeat_ms);
	test_knob("LANRAGE_CTL_STALE_MS", &timing.stale_ms);
	if (cfg->control_url[0])
		d->ctl =
		    ctl_remote_create(base, cfg->control_url, d->id.private_key, &timing, &ev, err);
	else
		d->ctl =
		    ctl_local_create(base, cfg->discovery_dir, d->id.public_key, &timing, &ev, err);
	if (!d->ctl)
		return -EINVAL;
	d->link = d->ctl->ops->link(d->ctl);
	if (cfg->control_url[0] && cfg->relay != RELAY_NEVER) {
		d->relays = relays_create(base, d->ctl, &d->cm, on_moved, d);
		if (!d->relays) {
			err_set(err, "relay manager: out of memory");
			return -ENOMEM;
		}
		conn_manager_set_relays(&d->cm, d->relays);
	}

	d->pinger = pinger_create(base, why);
	if (!d->pinger)
		log_info("`lanrage ping` will not work: %s", why);
	snprintf(path, sizeof(path), "%s/api.token", cfg->state_dir);
	d->api = api_create(base, &cfg->api_addr, path, settings, &be, err);
	if (!d->api)
		return -EADDRINUSE;

	d->nat_ev = evtimer_new(base, on_nat_timer, d);
	d->sigint = evsignal_new(base, SIGINT, on_stop_signal, d);
	d->sigterm = evsignal_new(base, SIGTERM, on_stop_signal, d);
	if (partymgr_init(d) < 0 || !d->nat_ev || !d->sigint || !d->sigterm ||
	    evsignal_add(d->sigint, NULL) < 0 || evsignal_add(d->sigterm, NULL) < 0) {
		err_set(err, "cannot set up timers and signals");
		return -ENOMEM;
	}
	choose_stun(d);
	watch_addresses(d, base);
	daemon_update_self(d);
	on_nat_timer(-1, 0, d);

	/* A saved party of this control plane: rejoin it (same virtual IP). */
	partymgr_resume(d);
	{
		char api[ADDR_STRLEN];

		log_info("lanraged %s: peer %s (%s), %s up on UDP port %u, API http://%s, control "
		         "plane %s %s",
		         LANRAGE_VERSION, d->id.peer_id, d->self.name, cfg->interface,
		         wg_device_port(d->dev), addr_format(&cfg->api_addr, api), daemon_mode(d),
		         daemon_where(d));
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
	/* Relays unbind through the data plane, so they go first. */
	if (d->cm_ready)
		conn_manager_set_relays(&d->cm, NULL);
	relays_destroy(d->relays);
	if (d->cm_ready)
		conn_manager_clear(&d->cm);
	ctl_destroy(d->ctl);
	partymgr_clear(d);
	if (d->nat_ev)
		event_free(d->nat_ev);
	if (d->addr_ev)
		event_free(d->addr_ev);
	if (d->addr_settle_ev)
		event_free(d->addr_settle_ev);
	if (d->addr_fd >= 0)
		close(d->addr_fd);
	ipc_destroy(d->ipc);
	wg_device_destroy(d->dev);
	state_store_close(&d->state);
	party_info_clear(&d->party);
	identity_clear(&d->id);
}
