/* report.c - what the local API reads from the daemon: status, members, NAT; and pings. */
#include "daemon/report.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/api.h"
#include "daemon/daemon.h"
#include "daemon/partymgr.h"
#include "daemon/ping.h"
#include "nat/ifaddr.h"
#include "util/now.h"
#include "wg/device.h"

json_t *report_vip_json(const struct addr *vip)
{
	char ip[ADDR_STRLEN];

	return addr_is_set(vip) ? json_string(addr_format_ip(vip, ip)) : json_null();
}

/* "ip:port" ("[ip]:port" for IPv6), or null when unset. */
static json_t *addr_json(const struct addr *a)
{
	char buf[ADDR_STRLEN];

	return addr_is_set(a) ? json_string(addr_format(a, buf)) : json_null();
}

/* A member's IPv6 address on the virtual LAN, derived from its IPv4 one; null with IPv6 off. */
static json_t *vip6_json(const struct daemon *d, const struct addr *vip)
{
	struct addr v6;

	addr_clear(&v6);
	if (d->ipv6 && addr_is_set(vip))
		daemon_vip6(vip, false, &v6);
	return report_vip_json(&v6);
}

json_t *report_status(void *ctx)
{
	struct daemon *d = ctx;
	json_t *o = json_object(), *iface = json_object(), *ctl = json_object(),
	       *nat = json_object();

	json_object_set_new(o, "version", json_string(LANRAGE_VERSION));
	json_object_set_new(o, "peer_id", json_string(d->id.peer_id));
	json_object_set_new(o, "name", json_string(d->self.name));
	json_object_set_new(o, "public_key", json_string(d->id.public_b64));
	json_object_set_new(o, "virtual_ip", report_vip_json(&d->vip_on_iface));
	json_object_set_new(o, "virtual_ip6", vip6_json(d, &d->vip_on_iface));
	json_object_set_new(iface, "name", json_string(d->cfg.interface));
	json_object_set_new(iface, "mtu", json_integer(d->cfg.mtu));
	json_object_set_new(iface, "listen_port", json_integer(wg_device_port(d->dev)));
	json_object_set_new(iface, "priority_lane", json_string(wg_device_priority_lane(d->dev)));
	json_object_set_new(o, "interface", iface);
	json_object_set_new(ctl, "mode", json_string(daemon_mode(d)));
	json_object_set_new(ctl, "where", json_string(daemon_where(d)));
	json_object_set_new(ctl, "link", json_string(ctl_link_name(d->link)));
	json_object_set_new(ctl, "detail", json_string(d->link_detail));
	json_object_set_new(o, "control", ctl);
	json_object_set_new(o, "party", partymgr_party_json(d));
	json_object_set_new(o, "party_note",
	                    d->party_note[0] ? json_string(d->party_note) : json_null());
	json_object_set_new(nat, "type", json_string(nat_type_name(d->self.nat_type)));
	json_object_set_new(nat, "public_endpoint", addr_json(&d->self.public_endpoint));
	json_object_set_new(nat, "global_endpoint", addr_json(&d->self.global_endpoint));
	json_object_set_new(o, "nat", nat);
	return o;
}

static json_t *self_json(struct daemon *d)
{
	json_t *o = json_object();

	json_object_set_new(o, "peer_id", json_string(d->id.peer_id));
	json_object_set_new(o, "name", json_string(d->self.name));
	json_object_set_new(o, "virtual_ip", report_vip_json(&d->vip_on_iface));
	json_object_set_new(o, "virtual_ip6", vip6_json(d, &d->vip_on_iface));
	json_object_set_new(o, "self", json_true());
	json_object_set_new(o, "state", json_string("self"));
	json_object_set_new(o, "path", json_string("none"));
	json_object_set_new(o, "endpoint", addr_json(&d->self.public_endpoint));
	json_object_set_new(o, "relay", json_null());
	json_object_set_new(o, "rtt_ms", json_null());
	json_object_set_new(o, "nat_type", json_string(nat_type_name(d->self.nat_type)));
	json_object_set_new(o, "last_handshake", json_null());
	json_object_set_new(o, "rx_bytes", json_integer(0));
	json_object_set_new(o, "tx_bytes", json_integer(0));
	json_object_set_new(o, "candidates", json_array());
	return o;
}

json_t *report_peers(void *ctx)
{
	struct daemon *d = ctx;
	json_t *list = json_array();

	if (daemon_in_party(d)) {
		json_array_append_new(list, self_json(d));
		for (size_t i = 0; i < d->cm.max_conns; i++) {
			const struct conn *c = &d->cm.conns[i];
			json_t *o;

			if (!c->active)
				continue;
			o = conn_to_json(&d->cm, c);
			json_object_set_new(o, "virtual_ip6", vip6_json(d, &c->vip));
			json_array_append_new(list, o);
		}
	}
	return json_pack("{s:o, s:o}", "party_id",
	                 daemon_in_party(d) ? json_string(d->state.st.party_id) : json_null(),
	                 "peers", list);
}

json_t *report_nat(void *ctx)
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
	json_object_set_new(o, "public_endpoint", addr_json(&d->self.public_endpoint));
	json_object_set_new(o, "global_endpoint", addr_json(&d->self.global_endpoint));
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

void report_ping(void *ctx, struct api_req *req, const char *peer, unsigned count)
{
	struct daemon *d = ctx;
	struct conn *c;
	struct ping_req *pr;
	const struct path_candidate *cur;
	int ret;

	if (!daemon_in_party(d)) {
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
