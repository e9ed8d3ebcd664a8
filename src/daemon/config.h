/* config.h - lanraged's configuration: defaults < settings database < config file < flags. */
#ifndef LANRAGE_DAEMON_CONFIG_H
#define LANRAGE_DAEMON_CONFIG_H

#include <jansson.h>
#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/peer.h"
#include "util/addr.h"
#include "util/compiler.h"
#include "util/prefix.h"

struct settings;

enum relay_mode {
	RELAY_AUTO,   /* direct when possible, a relay when not (default) */
	RELAY_NEVER,  /* direct only */
	RELAY_ALWAYS, /* relay only (testing, networks that drop peer-to-peer UDP) */
};

const char *relay_mode_name(enum relay_mode m);
bool relay_mode_parse(const char *s, enum relay_mode *out) WARN_UNUSED;

/* Which of a game's broadcasts and multicasts reach the party (docs/DAEMON.md). */
enum lan_broadcast {
	LAN_BROADCAST_ALL,   /* also 255.255.255.255 from the wildcard address (a route) */
	LAN_BROADCAST_BOUND, /* what is sent on lanrage0: its own broadcast, bound sockets */
	LAN_BROADCAST_OFF,   /* none: WireGuard's behaviour */
};

const char *lan_broadcast_name(enum lan_broadcast m);
bool lan_broadcast_parse(const char *s, enum lan_broadcast *out) WARN_UNUSED;

enum { CONFIG_URL_MAX = 255, CONFIG_STUN_MAX = 4, CONFIG_LOG_LEVEL_MAX = 15, CONFIG_MCAST_MAX = 8 };

/* The keys, in the order docs/DAEMON.md and --help list them. */
enum config_key {
	CONFIG_STATE_DIR,
	CONFIG_INTERFACE,
	CONFIG_LISTEN_PORT,
	CONFIG_MTU,
	CONFIG_CONTROL_URL,
	CONFIG_DISCOVERY_DIR,
	CONFIG_PEER_NAME,
	CONFIG_API,
	CONFIG_NETWORK,
	CONFIG_DEGRADED_RTT_MS,
	CONFIG_KEEPALIVE_SEC,
	CONFIG_RELAY,
	CONFIG_STUN,
	CONFIG_LOG_LEVEL,
	CONFIG_LAN_BROADCAST,
	CONFIG_LAN_MULTICAST,
	CONFIG_IPV6_PATHS,
	CONFIG_KEY_COUNT
};

/* Where a key's value came from; a later source overrides an earlier one. */
enum config_source {
	CONFIG_FROM_DEFAULT,
	CONFIG_FROM_DATABASE,
	CONFIG_FROM_FILE,
	CONFIG_FROM_FLAG,
};

const char *config_source_name(enum config_source s); /* "default", "database", "file", "flag" */

/*
 * Every setting has one key, used alike by flags (--key value, '_' as '-'),
 * the config file (key = value lines, # comments) and the settings database
 * (the settings table); docs/DAEMON.md lists them.
 */
struct daemon_config {
	char state_dir[PATH_MAX]; /* state_dir: /var/lib/lanrage (root), else ~/.local/state/lanrage
	                           */
	char config_file[PATH_MAX]; /* the file read: --config, or <state_dir>/lanraged.conf if it
	                               exists; "" = none */
	char interface[IFNAMSIZ];   /* interface: lanrage0 */
	uint16_t listen_port;       /* listen_port: 51820; 0 = any free port */
	int mtu;                    /* mtu: 1412 (1420 less the relay's 5 bytes, rounded to 4) */
	char control_url[CONFIG_URL_MAX + 1]; /* control_url: "" = local discovery */
	char discovery_dir[PATH_MAX];         /* discovery_dir: <state_dir>/discovery */
	char peer_name[PEER_NAME_MAX + 1];    /* peer_name: the host name */
	struct addr api_addr;                 /* api: 127.0.0.1:8666 (loopback only) */
	char network[32];         /* network: 10.66.0.0/16 (local mode's address pool) */
	uint32_t degraded_rtt_ms; /* degraded_rtt_ms: 200 */
	uint32_t keepalive_sec;   /* keepalive_sec: 25 (persistent keepalive of every peer) */
	enum relay_mode relay;    /* relay: auto */
	struct addr stun[CONFIG_STUN_MAX]; /* stun: "ip:port,ip:port"; default: the control server's
	                                      host, port 3478 */
	int n_stun;
	char log_level[CONFIG_LOG_LEVEL_MAX + 1]; /* log_level: info */
	enum lan_broadcast lan_broadcast;         /* lan_broadcast: all */
	/* lan_multicast: 224.0.2.60 (Minecraft's LAN worlds); routed here with lan_broadcast = all
	 */
	struct prefix lan_multicast[CONFIG_MCAST_MAX];
	int n_lan_multicast;
	bool ipv6_paths; /* ipv6_paths: on (offer our IPv6 global address, try the others') */
	uint8_t source[CONFIG_KEY_COUNT]; /* enum config_source of each key */
};

/* Every key at its default, source CONFIG_FROM_DEFAULT. */
void config_default(struct daemon_config *cfg);
/*
 * The default state directory: /var/lib/lanrage for root, else
 * $HOME/.local/state/lanrage.  The CLI finds api.token through it.
 */
void config_default_state_dir(char *out, size_t outsz);

/*
 * Builds the configuration from argv (lanraged's flags), the config file and
 * the settings database at <state_dir>/settings.db, opened into *settings
 * (the caller closes it), recording each key's source.  Creates state_dir
 * (mode 0700) when missing.  Derived defaults follow: discovery_dir from
 * state_dir, stun from a numeric control_url host.  Returns 0, 1 when
 * --help or --version was handled (printed), or -errno with err naming the
 * flag, file line or setting.
 */
int config_load(struct daemon_config *cfg, int argc, char **argv, struct settings **settings,
                char *err) WARN_UNUSED;

/* Sets one key from text (flags, file and database all come here); err quotes the value. */
bool config_set(struct daemon_config *cfg, const char *key, const char *value,
                char *err) WARN_UNUSED;

/*
 * For backend.setting_changed: takes the settings database's value of k into
 * cfg (source database), or the default when the row is gone, unless the
 * config file or a flag sets k (then cfg keeps that value).  0 or -errno.
 */
int config_apply_stored(struct daemon_config *cfg, struct settings *settings, enum config_key k,
                        char *err) WARN_UNUSED;

/* The key's name ("mtu"), and the key of a name (false when unknown). */
const char *config_key_name(enum config_key k);
bool config_key_lookup(const char *name, enum config_key *out) WARN_UNUSED;
/* Whether the key may live in the settings database (all but state_dir). */
bool config_key_storable(enum config_key k);
/* Whether the value is a number (JSON number, settings type int). */
bool config_key_numeric(enum config_key k);
/* The value as text, in the form config_set takes; returns out. */
const char *config_get(const struct daemon_config *cfg, enum config_key k, char *out, size_t outsz);
/* The value as JSON: a number for numeric keys, else a string (new reference). */
json_t *config_get_json(const struct daemon_config *cfg, enum config_key k);

#endif
