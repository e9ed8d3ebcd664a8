/* daemon.h - lanraged: the interface, the data plane, the control plane, parties, connections, API.
 */
#ifndef LANRAGE_DAEMON_DAEMON_H
#define LANRAGE_DAEMON_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include "control/ctl.h"
#include "control/party.h"
#include "daemon/config.h"
#include "daemon/conn.h"
#include "daemon/identity.h"
#include "daemon/state.h"
#include "nat/discovery.h"
#include "util/compiler.h"
#include "util/prefix.h"

struct event_base;
struct event;
struct api;
struct api_req;
struct ipc;
struct pinger;
struct relays;
struct settings;
struct wg_device;

/* Party operations run one at a time; the API's request waits for the control plane. */
enum party_op { OP_NONE, OP_CREATE, OP_JOIN, OP_LEAVE, OP_REJOIN };

/*
 * The whole program; main.c builds the configuration and runs the loop.
 * Owns everything below; all of it runs on the event loop's thread except
 * the data plane's packet workers.
 */
struct daemon {
	struct event_base *base;
	struct daemon_config cfg;
	struct settings *settings; /* borrowed from main */
	struct identity id;
	struct state_store state;
	struct prefix network;
	struct wg_device *dev;
	struct ipc *ipc;
	struct conn_manager cm;
	bool cm_ready;
	struct relays *relays;
	struct ctl *ctl;
	struct api *api;
	struct pinger *pinger;

	/* The party as the control plane last told it (in no party: n_members 0, id ""). */
	struct party_info party;
	struct peer_info self;
	struct addr vip_on_iface; /* the address lanrage0 has now */
	bool ipv6;                /* lanrage0 gets the IPv6 addresses derived from it too */
	enum ctl_link link;
	char link_detail[256];
	char party_note[256]; /* why we are no longer in the party we were in; "" after a join */

	enum party_op op;
	struct api_req *op_req;
	struct event *rejoin_ev;
	unsigned rejoin_failures;

	/* NAT: the last discovery's outcome. */
	struct discovery_report nat;
	bool nat_done;
	int64_t nat_at_ms;
	struct addr stun[CONFIG_STUN_MAX];
	int n_stun;
	struct event *nat_ev;
	uint64_t moved_at_ns; /* the last rediscovery a relay's report started */
	/* Our addresses changing: rtnetlink (ifwatch), then a short wait for the burst to end. */
	int addr_fd;
	struct event *addr_ev, *addr_settle_ev;

	struct event *sigint, *sigterm;
	int exit_code;
};

/*
 * Sets everything up (identity, interface, data plane, control plane, API)
 * and, when the state says so, starts rejoining the saved party.  On failure
 * err says what failed in words a user can act on.
 */
int daemon_start(struct daemon *d, struct event_base *base, const struct daemon_config *cfg,
                 struct settings *settings, char *err) WARN_UNUSED;
/* Tears down in reverse order; the party membership stays (a restart rejoins). */
void daemon_stop(struct daemon *d);

/* For the daemon's own parts (partymgr.c, report.c). */
bool daemon_in_party(const struct daemon *d);
/* "remote" or "local", and the server URL or discovery directory. */
const char *daemon_mode(const struct daemon *d);
const char *daemon_where(const struct daemon *d);
/* Puts the virtual IP on the interface (replacing the old one); unset removes it. */
void daemon_set_vip(struct daemon *d, const struct addr *vip);
/* The IPv6 address derived from vip (IPv4): unique-local or link-local (ipam_v6_of). */
void daemon_vip6(const struct addr *vip, bool link_local, struct addr *out);
/* Refreshes our description (name, endpoints, NAT type) and publishes changes to the party. */
void daemon_update_self(struct daemon *d);

#endif
