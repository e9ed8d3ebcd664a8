/* config.h - the relay's settings, filled from flags by main.c. */
#ifndef LANRAGE_RELAY_CONFIG_H
#define LANRAGE_RELAY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "relay/blocklist.h"
#include "util/addr.h"

enum {
	RELAY_CONFIG_STATS_MS = 30 * 1000,
	RELAY_CONFIG_ANNOUNCE_MS = 60 * 1000,
	RELAY_CONFIG_METRICS_PORT = 9180,
	RELAY_CONFIG_CAPACITY_DEFAULT = 100,
	RELAY_CONFIG_SOCKET_BUFFER = 1 << 20,
};

/* Durations are milliseconds.  Owned by main; the relay keeps a copy. */
struct relay_config {
	struct addr listen; /* [::]:51820 (dual-stack) by default */
	size_t max_clients;
	uint64_t stale_ms;
	uint32_t rate_pps, rate_burst; /* per source IP; 0: no limit */
	bool metrics_on;
	struct addr metrics; /* 127.0.0.1:9180 */
	uint64_t stats_ms;   /* 0: no periodic log line */
	bool stun_on;        /* answer STUN on the relay's socket */
	char secret_file[512];
	/* Registration: control_url "" runs standalone. */
	char control_url[512];
	char relay_id[65];
	char region[33];
	struct addr public_ip; /* what members should use (port ignored); unset: listen's */
	uint64_t announce_ms;
	char block_file[512];          /* re-read on SIGHUP */
	struct blocklist *block_flags; /* --block prefixes (owned by main) */
	char port_file[512];           /* "" or where to write the bound UDP port */
};

void relay_config_defaults(struct relay_config *cfg);

#endif
