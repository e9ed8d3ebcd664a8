/* config.c - lanraged's settings: one table of keys, their validators, and the four sources. */
#include "daemon/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/conffile.h"
#include "daemon/settings.h"
#include "util/err.h"
#include "util/file.h"
#include "util/log.h"
#include "util/num.h"
#include "util/prefix.h"

enum { STUN_DEFAULT_PORT = 3478, NETWORK_MIN_LEN = 8, NETWORK_MAX_LEN = 30 };

/* ---- named modes: relay, lan_broadcast ---- */

static const char *mode_name(const char *const *names, size_t n, unsigned m)
{
	return m < n && names[m] ? names[m] : "?";
}

static bool mode_parse(const char *const *names, size_t n, const char *s, unsigned *out)
{
	for (unsigned m = 0; m < n; m++) {
		if (names[m] && strcmp(s, names[m]) == 0) {
			*out = m;
			return true;
		}
	}
	return false;
}

static const char *const relay_names[] = {
	[RELAY_AUTO] = "auto",
	[RELAY_NEVER] = "never",
	[RELAY_ALWAYS] = "always",
};

const char *relay_mode_name(enum relay_mode m)
{
	return mode_name(relay_names, ARRAY_SIZE(relay_names), (unsigned)m);
}

bool relay_mode_parse(const char *s, enum relay_mode *out)
{
	unsigned m;

	if (!mode_parse(relay_names, ARRAY_SIZE(relay_names), s, &m))
		return false;
	*out = (enum relay_mode)m;
	return true;
}

static const char *const lan_broadcast_names[] = {
	[LAN_BROADCAST_ALL] = "all",
	[LAN_BROADCAST_BOUND] = "bound",
	[LAN_BROADCAST_OFF] = "off",
};

const char *lan_broadcast_name(enum lan_broadcast m)
{
	return mode_name(lan_broadcast_names, ARRAY_SIZE(lan_broadcast_names), (unsigned)m);
}

bool lan_broadcast_parse(const char *s, enum lan_broadcast *out)
{
	unsigned m;

	if (!mode_parse(lan_broadcast_names, ARRAY_SIZE(lan_broadcast_names), s, &m))
		return false;
	*out = (enum lan_broadcast)m;
	return true;
}

const char *config_source_name(enum config_source s)
{
	static const char *const names[] = { "default", "database", "file", "flag" };

	return (unsigned)s < ARRAY_SIZE(names) ? names[s] : "?";
}

/* ---- validators: each sets one field or says why not, quoting the value ---- */

static bool set_path(char *out, size_t outsz, const char *v, char *err)
{
	if (v[0] != '/' || strlen(v) >= outsz) {
		err_set(err, "`%.128s' is not an absolute path (of at most %zu bytes)", v,
		        outsz - 1);
		return false;
	}
	memcpy(out, v, strlen(v) + 1);
	return true;
}

static bool set_u32(uint32_t *out, const char *v, uint64_t min, uint64_t max, char *err)
{
	uint64_t n;

	if (!num_parse_u64(v, min, max, &n)) {
		err_set(err, "`%.64s' is not a number from %llu to %llu", v,
		        (unsigned long long)min, (unsigned long long)max);
		return false;
	}
	*out = (uint32_t)n;
	return true;
}

static bool set_state_dir(struct daemon_config *cfg, const char *v, char *err)
{
	return set_path(cfg->state_dir, sizeof(cfg->state_dir), v, err);
}

static bool set_interface(struct daemon_config *cfg, const char *v, char *err)
{
	size_t len = strlen(v);

	if (len == 0 || len >= IFNAMSIZ || strcmp(v, ".") == 0 || strcmp(v, "..") == 0 ||
	    strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") != len) {
		err_set(err, "`%.64s' is not an interface name (1-%d of A-Z a-z 0-9 _ . -)", v,
		        IFNAMSIZ - 1);
		return false;
	}
	memcpy(cfg->interface, v, len + 1);
	return true;
}

static bool set_listen_port(struct daemon_config *cfg, const char *v, char *err)
{
	uint32_t port;

	if (!set_u32(&port, v, 0, 65535, err))
		return false;
	cfg->listen_port = (uint16_t)port;
	return true;
}

static bool set_mtu(struct daemon_config *cfg, const char *v, char *err)
{
	uint32_t mtu;

	if (!set_u32(&mtu, v, 576, 9000, err))
		return false;
	cfg->mtu = (int)mtu;
	return true;
}

/* A host name or IPv4 address, or [IPv6]. */
static bool host_valid(const char *h, size_t len)
{
	char buf[INET6_ADDRSTRLEN + 1];
	struct in6_addr a6;

	if (len >= 2 && h[0] == '[' && h[len - 1] == ']') {
		if (len - 2 >= sizeof(buf))
			return false;
		memcpy(buf, h + 1, len - 2);
		buf[len - 2] = '\0';
		return inet_pton(AF_INET6, buf, &a6) == 1;
	}
	return len > 0 && len <= 253 && h[0] != '-' && h[0] != '.' && h[len - 1] != '-' &&
	       strspn(h, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-") >= len;
}

/* "http://host:port", an optional final '/'; nothing else (no TLS here, no path). */
static bool url_valid(const char *v)
{
	const char *hp, *colon, *port_end;
	char port[8];
	uint64_t n;
	size_t plen;

	if (strncmp(v, "http://", 7) != 0)
		return false;
	hp = v + 7;
	port_end = hp + strlen(hp);
	if (port_end > hp && port_end[-1] == '/')
		port_end--;
	colon = NULL;
	for (const char *q = hp; q < port_end; q++) {
		if (*q == ':')
			colon = q;
	}
	if (!colon || (hp[0] == '[' && colon[-1] != ']'))
		return false;
	plen = (size_t)(port_end - colon - 1);
	if (plen == 0 || plen >= sizeof(port))
		return false;
	memcpy(port, colon + 1, plen);
	port[plen] = '\0';
	return num_parse_u64(port, 1, 65535, &n) && host_valid(hp, (size_t)(colon - hp));
}

static bool set_control_url(struct daemon_config *cfg, const char *v, char *err)
{
	if (v[0] && (strlen(v) > CONFIG_URL_MAX || !url_valid(v))) {
		err_set(err,
		        "`%.128s' is not a URL of the form http://host:port (or empty for "
		        "local discovery)",
		        v);
		return false;
	}
	snprintf(cfg->control_url, sizeof(cfg->control_url), "%s", v);
	/* A trailing '/' would make "http://h:1//parties". */
	if (cfg->control_url[0] && cfg->control_url[strlen(cfg->control_url) - 1] == '/')
		cfg->control_url[strlen(cfg->control_url) - 1] = '\0';
	return true;
}

static bool set_discovery_dir(struct daemon_config *cfg, const char *v, char *err)
{
	return set_path(cfg->discovery_dir, sizeof(cfg->discovery_dir), v, err);
}

static bool set_peer_name(struct daemon_config *cfg, const char *v, char *err)
{
	if (!peer_name_valid(v)) {
		err_set(err,
		        "`%.80s' is not a name (1-%d bytes of printable UTF-8, not only spaces)", v,
		        PEER_NAME_MAX);
		return false;
	}
	snprintf(cfg->peer_name, sizeof(cfg->peer_name), "%s", v);
	return true;
}

static bool set_api(struct daemon_config *cfg, const char *v, char *err)
{
	struct addr a;

	if (!addr_parse(&a, v, err))
		return false;
	if (!addr_is_loopback(&a)) {
		err_set(err,
		        "`%.80s' is not a loopback address (127.0.0.0/8 or [::1]): the API "
		        "must not be reachable from the network",
		        v);
		return false;
	}
	cfg->api_addr = a;
	return true;
}

static bool set_network(struct daemon_config *cfg, const char *v, char *err)
{
	char buf[PREFIX_STRLEN];
	struct prefix p;

	if (!prefix_parse(&p, v, false, err))
		return false;
	if (p.family != AF_INET || p.len < NETWORK_MIN_LEN || p.len > NETWORK_MAX_LEN ||
	    strchr(v, '/') == NULL) {
		err_set(err, "`%.64s' is not an IPv4 network from /%d to /%d (like 10.66.0.0/16)",
		        v, NETWORK_MIN_LEN, NETWORK_MAX_LEN);
		return false;
	}
	snprintf(cfg->network, sizeof(cfg->network), "%s", prefix_format(&p, buf));
	return true;
}

static bool set_degraded_rtt_ms(struct daemon_config *cfg, const char *v, char *err)
{
	return set_u32(&cfg->degraded_rtt_ms, v, 1, 60000, err);
}

static bool set_keepalive_sec(struct daemon_config *cfg, const char *v, char *err)
{
	return set_u32(&cfg->keepalive_sec, v, 0, 3600, err);
}

static bool set_lan_broadcast(struct daemon_config *cfg, const char *v, char *err)
{
	if (!lan_broadcast_parse(v, &cfg->lan_broadcast)) {
		err_set(err, "`%.64s' is not all, bound or off", v);
		return false;
	}
	return true;
}

static bool set_ipv6_paths(struct daemon_config *cfg, const char *v, char *err)
{
	if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0) {
		err_set(err, "`%.64s' is not on or off", v);
		return false;
	}
	cfg->ipv6_paths = v[1] == 'n';
	return true;
}

static bool set_relay(struct daemon_config *cfg, const char *v, char *err)
{
	if (!relay_mode_parse(v, &cfg->relay)) {
		err_set(err, "`%.64s' is not auto, never or always", v);
		return false;
	}
	return true;
}

/*
 * Splits "a, b,c" into at most max items of up to ITEM_MAX bytes, spaces
 * around each dropped; "" is none.  The count, or -1 with err set, which
 * names the items (many: "STUN servers") and their form (form: "ip:port").
 */
enum { ITEM_MAX = ADDR_STRLEN };
static int split_list(const char *v, char items[][ITEM_MAX + 1], int max, const char *many,
                      const char *form, char *err)
{
	const char *p = v;
	int n = 0;

	while (*p) {
		size_t len = strcspn(p, ",");
		const char *s = p, *e = p + len;

		while (s < e && *s == ' ')
			s++;
		while (e > s && e[-1] == ' ')
			e--;
		if (n == max) {
			err_set(err, "at most %d %s", max, many);
			return -1;
		}
		if (e == s || (size_t)(e - s) > ITEM_MAX) {
			err_set(err, "`%.128s' is not a list of %s", v, form);
			return -1;
		}
		memcpy(items[n], s, (size_t)(e - s));
		items[n++][e - s] = '\0';
		p += len;
		if (*p == ',' && !*++p) {
			err_set(err, "`%.128s' ends with a comma", v);
			return -1;
		}
	}
	return n;
}

/* "ip[:port],..." (port 3478 when left out); "" for none. */
static bool set_stun(struct daemon_config *cfg, const char *v, char *err)
{
	struct addr list[CONFIG_STUN_MAX];
	char items[CONFIG_STUN_MAX][ITEM_MAX + 1];
	int n = split_list(v, items, CONFIG_STUN_MAX, "STUN servers", "ip:port", err);

	if (n < 0)
		return false;
	for (int i = 0; i < n; i++) {
		if (!addr_parse(&list[i], items[i], NULL)) {
			if (!addr_parse_ip(&list[i], items[i], NULL)) {
				err_set(err, "Unable to parse endpoint: `%s'", items[i]);
				return false;
			}
			addr_set_port(&list[i], STUN_DEFAULT_PORT);
		}
		if (addr_port(&list[i]) == 0) {
			err_set(err, "STUN server `%s': port must be 1-65535", items[i]);
			return false;
		}
	}
	memcpy(cfg->stun, list, sizeof(list[0]) * (size_t)n);
	cfg->n_stun = n;
	return true;
}

/* "group[/len],..." of IPv4 multicast (224.0.0.0/4); "" for none. */
static bool set_lan_multicast(struct daemon_config *cfg, const char *v, char *err)
{
	struct prefix list[CONFIG_MCAST_MAX];
	char items[CONFIG_MCAST_MAX][ITEM_MAX + 1];
	int n = split_list(v, items, CONFIG_MCAST_MAX, "multicast groups", "group[/length]", err);

	if (n < 0)
		return false;
	for (int i = 0; i < n; i++) {
		if (!prefix_parse(&list[i], items[i], false, err))
			return false;
		if (list[i].family != AF_INET || list[i].len < 4 ||
		    (ntohl(list[i].v4.s_addr) >> 28) != 0xE) {
			err_set(err,
			        "`%s' is not an IPv4 multicast group or range (in 224.0.0.0/4)",
			        items[i]);
			return false;
		}
	}
	memcpy(cfg->lan_multicast, list, sizeof(list[0]) * (size_t)n);
	cfg->n_lan_multicast = n;
	return true;
}

static bool set_log_level(struct daemon_config *cfg, const char *v, char *err)
{
	static const char *const names[] = { "error", "info", "debug" };
	enum log_level level;

	if (!log_level_parse(v, &level) || (unsigned)level >= ARRAY_SIZE(names)) {
		err_set(err, "`%.64s' is not error, info or debug", v);
		return false;
	}
	snprintf(cfg->log_level, sizeof(cfg->log_level), "%s", names[level]);
	return true;
}

/* ---- the key table ---- */

static void get_u32(uint64_t n, char *out, size_t outsz)
{
	snprintf(out, outsz, "%llu", (unsigned long long)n);
}

static void get_stun(const struct daemon_config *cfg, char *out, size_t outsz)
{
	char buf[ADDR_STRLEN];
	size_t used = 0;

	out[0] = '\0';
	for (int i = 0; i < cfg->n_stun && used < outsz; i++) {
		int n = snprintf(out + used, outsz - used, "%s%s", i ? "," : "",
		                 addr_format(&cfg->stun[i], buf));
		used += n > 0 ? (size_t)n : 0;
	}
}

static void get_lan_multicast(const struct daemon_config *cfg, char *out, size_t outsz)
{
	char buf[PREFIX_STRLEN];
	size_t used = 0;

	out[0] = '\0';
	for (int i = 0; i < cfg->n_lan_multicast && used < outsz; i++) {
		const struct prefix *p = &cfg->lan_multicast[i];
		int n = snprintf(out + used, outsz - used, "%s%s", i ? "," : "",
		                 p->len == 32 ? inet_ntop(AF_INET, &p->v4, buf, sizeof(buf))
		                              : prefix_format(p, buf));

		used += n > 0 ? (size_t)n : 0;
	}
}

static const struct key_def {
	const char *name;
	const char *arg; /* for --help */
	const char *help;
	bool numeric;
	bool (*set)(struct daemon_config *cfg, const char *v, char *err);
} keys[CONFIG_KEY_COUNT] = {
	[CONFIG_STATE_DIR] = { "state_dir", "DIR", "key, state, settings.db, api.token", false,
	                       set_state_dir },
	[CONFIG_INTERFACE] = { "interface", "NAME", "the TUN interface", false, set_interface },
	[CONFIG_LISTEN_PORT] = { "listen_port", "PORT", "UDP port, 0 for any", true,
	                         set_listen_port },
	[CONFIG_MTU] = { "mtu", "BYTES", "interface MTU, 576-9000", true, set_mtu },
	[CONFIG_CONTROL_URL] = { "control_url", "URL",
	                         "lanrage-control, http://host:port; empty: local", false,
	                         set_control_url },
	[CONFIG_DISCOVERY_DIR] = { "discovery_dir", "DIR", "local discovery's shared directory",
	                           false, set_discovery_dir },
	[CONFIG_PEER_NAME] = { "peer_name", "NAME", "the name others see", false, set_peer_name },
	[CONFIG_API] = { "api", "ADDR:PORT", "local API address (loopback only)", false, set_api },
	[CONFIG_NETWORK] = { "network", "CIDR", "local discovery's network, /8 to /30", false,
	                     set_network },
	[CONFIG_DEGRADED_RTT_MS] = { "degraded_rtt_ms", "MS", "a path slower than this is degraded",
	                             true, set_degraded_rtt_ms },
	[CONFIG_KEEPALIVE_SEC] = { "keepalive_sec", "SEC", "persistent keepalive, 0-3600 (0: off)",
	                           true, set_keepalive_sec },
	[CONFIG_RELAY] = { "relay", "MODE", "auto, never or always", false, set_relay },
	[CONFIG_STUN] = { "stun", "IP:PORT,...", "empty: the control server's host, port 3478",
	                  false, set_stun },
	[CONFIG_LOG_LEVEL] = { "log_level", "LEVEL", "error, info or debug", false, set_log_level },
	[CONFIG_LAN_BROADCAST] = { "lan_broadcast", "MODE",
	                           "games' broadcasts to the party: all, bound or off", false,
	                           set_lan_broadcast },
	[CONFIG_LAN_MULTICAST] = { "lan_multicast", "GROUP,...",
	                           "multicast groups routed to the party (lan_broadcast = all)",
	                           false, set_lan_multicast },
	[CONFIG_IPV6_PATHS] = { "ipv6_paths", "on|off",
	                        "offer our IPv6 global address, try the others'", false,
	                        set_ipv6_paths },
};

const char *config_key_name(enum config_key k)
{
	return (unsigned)k < CONFIG_KEY_COUNT ? keys[k].name : "?";
}

bool config_key_lookup(const char *name, enum config_key *out)
{
	for (unsigned k = 0; k < CONFIG_KEY_COUNT; k++) {
		if (strcmp(name, keys[k].name) == 0) {
			*out = (enum config_key)k;
			return true;
		}
	}
	return false;
}

bool config_key_storable(enum config_key k)
{
	return k != CONFIG_STATE_DIR;
}

bool config_key_numeric(enum config_key k)
{
	return (unsigned)k < CONFIG_KEY_COUNT && keys[k].numeric;
}

const char *config_get(const struct daemon_config *cfg, enum config_key k, char *out, size_t outsz)
{
	char buf[ADDR_STRLEN];

	switch (k) {
	case CONFIG_STATE_DIR:
		snprintf(out, outsz, "%s", cfg->state_dir);
		break;
	case CONFIG_INTERFACE:
		snprintf(out, outsz, "%s", cfg->interface);
		break;
	case CONFIG_LISTEN_PORT:
		get_u32(cfg->listen_port, out, outsz);
		break;
	case CONFIG_MTU:
		get_u32((uint64_t)cfg->mtu, out, outsz);
		break;
	case CONFIG_CONTROL_URL:
		snprintf(out, outsz, "%s", cfg->control_url);
		break;
	case CONFIG_DISCOVERY_DIR:
		snprintf(out, outsz, "%s", cfg->discovery_dir);
		break;
	case CONFIG_PEER_NAME:
		snprintf(out, outsz, "%s", cfg->peer_name);
		break;
	case CONFIG_API:
		snprintf(out, outsz, "%s", addr_format(&cfg->api_addr, buf));
		break;
	case CONFIG_NETWORK:
		snprintf(out, outsz, "%s", cfg->network);
		break;
	case CONFIG_DEGRADED_RTT_MS:
		get_u32(cfg->degraded_rtt_ms, out, outsz);
		break;
	case CONFIG_KEEPALIVE_SEC:
		get_u32(cfg->keepalive_sec, out, outsz);
		break;
	case CONFIG_RELAY:
		snprintf(out, outsz, "%s", relay_mode_name(cfg->relay));
		break;
	case CONFIG_STUN:
		get_stun(cfg, out, outsz);
		break;
	case CONFIG_LOG_LEVEL:
		snprintf(out, outsz, "%s", cfg->log_level);
		break;
	case CONFIG_LAN_BROADCAST:
		snprintf(out, outsz, "%s", lan_broadcast_name(cfg->lan_broadcast));
		break;
	case CONFIG_LAN_MULTICAST:
		get_lan_multicast(cfg, out, outsz);
		break;
	case CONFIG_IPV6_PATHS:
		snprintf(out, outsz, "%s", cfg->ipv6_paths ? "on" : "off");
		break;
	default:
		snprintf(out, outsz, "%s", "");
		break;
	}
	return out;
}

json_t *config_get_json(const struct daemon_config *cfg, enum config_key k)
{
	char text[PATH_MAX];
	uint64_t n;

	config_get(cfg, k, text, sizeof(text));
	if (config_key_numeric(k) && num_parse_u64(text, 0, UINT32_MAX, &n))
		return json_integer((json_int_t)n);
	return json_string(text);
}

bool config_set(struct daemon_config *cfg, const char *key, const char *value, char *err)
{
	enum config_key k;

	if (!config_key_lookup(key, &k)) {
		err_set(err, "unknown setting `%.64s' (lanraged --help lists them)", key);
		return false;
	}
	if (!keys[k].set(cfg, value, err)) {
		err_prefix(err, "%s", key);
		return false;
	}
	return true;
}

/* Sets a key from one source and records the source; err says where and which key. */
static bool set_from(struct daemon_config *cfg, enum config_key k, const char *value,
                     enum config_source src, const char *where, unsigned line, char *err)
{
	if (!keys[k].set(cfg, value, err)) {
		if (src == CONFIG_FROM_FLAG)
			err_prefix(err, "flag %s", where);
		else if (src == CONFIG_FROM_FILE)
			err_prefix(err, "%s:%u: %s", where, line, keys[k].name);
		else
			err_prefix(err, "settings database %s: setting `%s'", where, keys[k].name);
		return false;
	}
	cfg->source[k] = (uint8_t)src;
	return true;
}

/* ---- defaults ---- */

void config_default_state_dir(char *out, size_t outsz)
{
	const char *home = getenv("HOME");
	struct passwd *pw;

	if (geteuid() == 0) {
		snprintf(out, outsz, "/var/lib/lanrage");
		return;
	}
	if (!home || home[0] != '/') {
		pw = getpwuid(geteuid());
		home = pw && pw->pw_dir && pw->pw_dir[0] == '/' ? pw->pw_dir : "/tmp";
	}
	snprintf(out, outsz, "%s/.local/state/lanrage", home);
}

static void default_peer_name(struct daemon_config *cfg)
{
	char host[256] = "";

	if (gethostname(host, sizeof(host) - 1) < 0 || !peer_name_valid(host))
		snprintf(host, sizeof(host), "lanrage");
	snprintf(cfg->peer_name, sizeof(cfg->peer_name), "%s", host);
}

void config_default(struct daemon_config *cfg)
{
	bool ok;

	memset(cfg, 0, sizeof(*cfg));
	config_default_state_dir(cfg->state_dir, sizeof(cfg->state_dir));
	snprintf(cfg->interface, sizeof(cfg->interface), "lanrage0");
	cfg->listen_port = 51820;
	cfg->mtu = 1412;
	snprintf(cfg->discovery_dir, sizeof(cfg->discovery_dir), "%.*s/discovery",
	         (int)sizeof(cfg->discovery_dir) - 11, cfg->state_dir);
	default_peer_name(cfg);
	ok = addr_parse(&cfg->api_addr, "127.0.0.1:8666", NULL);
	(void)ok;
	snprintf(cfg->network, sizeof(cfg->network), "10.66.0.0/16");
	cfg->degraded_rtt_ms = 200;
	cfg->keepalive_sec = 25;
	cfg->relay = RELAY_AUTO;
	cfg->lan_broadcast = LAN_BROADCAST_ALL;
	cfg->ipv6_paths = true;
	/* Minecraft (Java edition) announces LAN worlds to 224.0.2.60:4445. */
	cfg->lan_multicast[0] =
	    (struct prefix){ .family = AF_INET, .len = 32, .v4 = { .s_addr = htonl(0xE000023Cu) } };
	cfg->n_lan_multicast = 1;
	snprintf(cfg->log_level, sizeof(cfg->log_level), "info");
	/* source[] is all CONFIG_FROM_DEFAULT (0) after the memset. */
}

/* ---- loading ---- */

enum { FLAGS_MAX = 64 };

/* A setting read from a flag or the file, applied once the database is in. */
struct pending {
	enum config_key key;
	const char *value; /* borrowed from argv or the file's entry storage */
	unsigned line;     /* file: its line; flags: 0 */
	char flag[CONFFILE_KEY_MAX + 3];
};

struct load {
	struct pending flags[FLAGS_MAX];
	int n_flags;
	struct pending file[CONFIG_KEY_COUNT];
	char file_values[CONFIG_KEY_COUNT][CONFFILE_LINE_MAX + 1];
	int n_file;
	const char *config_path; /* --config */
	bool verbose;
};

static void usage(FILE *f)
{
	struct daemon_config d;
	char val[PATH_MAX], flag[CONFFILE_KEY_MAX + 3];

	config_default(&d);
	fprintf(f, "Usage: lanraged [--config FILE] [-v] [--KEY VALUE]...\n\n"
	           "The LANrage daemon.  Each setting has one KEY: a flag (--key-name VALUE),\n"
	           "a `key_name = value' line in the config file (--config, or\n"
	           "<state_dir>/lanraged.conf), or a row of <state_dir>/settings.db.\n"
	           "Flags win over the file, the file over the database, the database over\n"
	           "the defaults.  docs/DAEMON.md has the details.\n\n"
	           "Settings (default):\n");
	for (unsigned k = 0; k < CONFIG_KEY_COUNT; k++) {
		snprintf(flag, sizeof(flag), "--%s", keys[k].name);
		for (char *c = flag; *c; c++)
			*c = *c == '_' ? '-' : *c;
		config_get(&d, (enum config_key)k, val, sizeof(val));
		fprintf(f, "  %-18s %-12s %s (%s)\n", flag, keys[k].arg, keys[k].help,
		        val[0] ? val : "none");
	}
	fprintf(f, "\nOther flags:\n"
	           "  --config FILE      read this config file (it must exist)\n"
	           "  -v, --verbose      log_level debug\n"
	           "  --help             this text\n"
	           "  --version          the version\n");
}

/* argv to pending flags; 1 for --help/--version (printed), -EINVAL with err. */
static int parse_flags(struct load *ld, int argc, char **argv, char *err)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *eq, *value;
		char name[CONFFILE_KEY_MAX + 1];
		struct pending *p;
		size_t len;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 1;
		}
		if (strcmp(a, "--version") == 0) {
			printf("lanraged %s\n", LANRAGE_VERSION);
			return 1;
		}
		if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
			ld->verbose = true;
			continue;
		}
		if (strncmp(a, "--", 2) != 0) {
			err_set(err, "unexpected argument `%.64s' (lanraged --help)", a);
			return -EINVAL;
		}
		eq = strchr(a, '=');
		len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
		if (len == 0 || len > CONFFILE_KEY_MAX) {
			err_set(err, "unknown flag `%.64s' (lanraged --help lists them)", a);
			return -EINVAL;
		}
		for (size_t j = 0; j < len; j++)
			name[j] = a[2 + j] == '-' ? '_' : a[2 + j];
		name[len] = '\0';
		if (eq) {
			value = eq + 1;
		} else if (i + 1 < argc) {
			value = argv[++i];
		} else {
			err_set(err, "flag `%.64s' needs a value", a);
			return -EINVAL;
		}
		if (strcmp(name, "config") == 0) {
			ld->config_path = value;
			continue;
		}
		if (ld->n_flags == FLAGS_MAX) {
			err_set(err, "too many flags");
			return -EINVAL;
		}
		p = &ld->flags[ld->n_flags];
		snprintf(p->flag, sizeof(p->flag), "--%.*s", (int)len, a + 2);
		if (!config_key_lookup(name, &p->key)) {
			err_set(err, "unknown flag `%s' (lanraged --help lists them)", p->flag);
			return -EINVAL;
		}
		p->value = value;
		ld->n_flags++;
	}
	return 0;
}

static bool file_entry(void *arg, unsigned line, const char *key, const char *value, char *err)
{
	struct load *ld = arg;
	enum config_key k;

	if (!config_key_lookup(key, &k)) {
		err_set(err, "unknown setting `%s' (lanraged --help lists them)", key);
		return false;
	}
	for (int i = 0; i < ld->n_file; i++) {
		if (ld->file[i].key == k) {
			err_set(err, "`%s' already set on line %u", key, ld->file[i].line);
			return false;
		}
	}
	snprintf(ld->file_values[ld->n_file], sizeof(ld->file_values[0]), "%s", value);
	ld->file[ld->n_file] = (struct pending){
		.key = k,
		.value = ld->file_values[ld->n_file],
		.line = line,
	};
	ld->n_file++;
	return true;
}

/* Reads the config file into ld->file: 1, or 0 when a default file is missing, or -errno. */
static int read_file(struct load *ld, const char *path, bool must_exist, char *err)
{
	errmsg perr;
	unsigned line;
	char *text;
	size_t len;
	int ret;

	ret = file_read_all(path, CONFFILE_MAX_BYTES, &text, &len);
	if (ret == -ENOENT && !must_exist)
		return 0;
	if (ret < 0) {
		err_set(err, "config file %s: %s", path,
		        ret == -EFBIG ? "larger than 64 KiB" : strerror(-ret));
		return ret;
	}
	ret = 1;
	if (!conffile_parse(text, len, file_entry, ld, &line, perr)) {
		err_set(err, "%s:%u: %s", path, line, perr);
		ret = -EINVAL;
	}
	free(text);
	return ret;
}

static bool apply(struct daemon_config *cfg, const struct pending *p, enum config_source src,
                  const char *file, char *err)
{
	return set_from(cfg, p->key, p->value, src, src == CONFIG_FROM_FLAG ? p->flag : file,
	                p->line, err);
}

struct db_walk {
	struct daemon_config *cfg;
	const char *path;
	char *err;
	bool failed;
};

static bool db_entry(void *arg, const struct setting_row *row)
{
	struct db_walk *w = arg;
	enum config_key k;

	if (!config_key_lookup(row->key, &k)) {
		log_debug("settings: %s: `%s' is not a lanraged setting; ignored", w->path,
		          row->key);
		return true;
	}
	if (!config_key_storable(k)) {
		err_set(w->err,
		        "settings database %s: `%s' cannot be set there (use a flag or "
		        "the config file)",
		        w->path, row->key);
		w->failed = true;
		return false;
	}
	if (!set_from(w->cfg, k, row->text, CONFIG_FROM_DATABASE, w->path, 0, w->err)) {
		w->failed = true;
		return false;
	}
	return true;
}

/* Derived defaults: the discovery dir follows state_dir, STUN the control server (again after a
 * change). */
static void derive(struct daemon_config *cfg)
{
	if (cfg->source[CONFIG_DISCOVERY_DIR] == CONFIG_FROM_DEFAULT)
		snprintf(cfg->discovery_dir, sizeof(cfg->discovery_dir), "%.*s/discovery",
		         (int)sizeof(cfg->discovery_dir) - 11, cfg->state_dir);
	if (cfg->source[CONFIG_STUN] == CONFIG_FROM_DEFAULT)
		cfg->n_stun = 0;
	if (cfg->n_stun == 0 && cfg->control_url[0]) {
		char host[CONFIG_URL_MAX + 1];
		const char *h = cfg->control_url + 7;
		size_t len = strcspn(h, "]");

		/* Only a numeric host: the loader does no DNS. */
		if (h[0] == '[')
			snprintf(host, sizeof(host), "%.*s", (int)len - 1, h + 1);
		else
			snprintf(host, sizeof(host), "%.*s", (int)strcspn(h, ":"), h);
		if (addr_parse_ip(&cfg->stun[0], host, NULL)) {
			addr_set_port(&cfg->stun[0], STUN_DEFAULT_PORT);
			cfg->n_stun = 1;
		}
	}
}

int config_apply_stored(struct daemon_config *cfg, struct settings *settings, enum config_key k,
                        char *err)
{
	struct daemon_config defaults;
	enum setting_type type;
	char *text, def[PATH_MAX];
	int ret;

	if ((unsigned)k >= CONFIG_KEY_COUNT || !config_key_storable(k)) {
		err_set(err, "setting `%s' is not kept in the settings database",
		        config_key_name(k));
		return -EINVAL;
	}
	if (cfg->source[k] > CONFIG_FROM_DATABASE)
		return 0;
	ret = settings_get(settings, keys[k].name, &type, &text, err);
	if (ret == -ENOENT) {
		config_default(&defaults);
		config_get(&defaults, k, def, sizeof(def));
		if (!set_from(cfg, k, def, CONFIG_FROM_DEFAULT, "", 0, err))
			return -EINVAL;
		derive(cfg);
		return 0;
	}
	if (ret < 0)
		return ret;
	ret = set_from(cfg, k, text, CONFIG_FROM_DATABASE, settings_path(settings), 0, err)
	          ? 0
	          : -EINVAL;
	free(text);
	derive(cfg);
	return ret;
}

int config_load(struct daemon_config *cfg, int argc, char **argv, struct settings **settings,
                char *err)
{
	struct load *ld = calloc(1, sizeof(*ld));
	char path[PATH_MAX + 32];
	struct db_walk w;
	int ret;

	*settings = NULL;
	if (!ld) {
		err_set(err, "out of memory");
		return -ENOMEM;
	}
	config_default(cfg);
	ret = parse_flags(ld, argc, argv, err);
	if (ret != 0)
		goto out;
	/* Where the file is, then where the database is: flags, then the file, decide. */
	for (int i = 0; i < ld->n_flags; i++) {
		if (ld->flags[i].key == CONFIG_STATE_DIR &&
		    !apply(cfg, &ld->flags[i], CONFIG_FROM_FLAG, NULL, err)) {
			ret = -EINVAL;
			goto out;
		}
	}
	if (ld->config_path)
		snprintf(path, sizeof(path), "%s", ld->config_path);
	else
		snprintf(path, sizeof(path), "%s/lanraged.conf", cfg->state_dir);
	if (strlen(path) >= sizeof(cfg->config_file)) {
		err_set(err, "config file path too long");
		ret = -ENAMETOOLONG;
		goto out;
	}
	ret = read_file(ld, path, ld->config_path != NULL, err);
	if (ret < 0)
		goto out;
	if (ret == 1)
		memcpy(cfg->config_file, path, strlen(path) + 1);
	for (int i = 0; i < ld->n_file; i++) {
		if (ld->file[i].key == CONFIG_STATE_DIR &&
		    cfg->source[CONFIG_STATE_DIR] != CONFIG_FROM_FLAG &&
		    !apply(cfg, &ld->file[i], CONFIG_FROM_FILE, cfg->config_file, err)) {
			ret = -EINVAL;
			goto out;
		}
	}

	ret = file_mkdirs(cfg->state_dir, 0700);
	if (ret < 0) {
		err_set(err, "state directory %s: %s", cfg->state_dir, strerror(-ret));
		goto out;
	}
	snprintf(path, sizeof(path), "%s/settings.db", cfg->state_dir);
	ret = settings_open(settings, path, err);
	if (ret < 0)
		goto out;
	w = (struct db_walk){ .cfg = cfg, .path = path, .err = err };
	ret = settings_list(*settings, db_entry, &w, err);
	if (ret == 0 && w.failed)
		ret = -EINVAL;
	for (int i = 0; ret == 0 && i < ld->n_file; i++) {
		if (ld->file[i].key != CONFIG_STATE_DIR &&
		    !apply(cfg, &ld->file[i], CONFIG_FROM_FILE, cfg->config_file, err))
			ret = -EINVAL;
	}
	for (int i = 0; ret == 0 && i < ld->n_flags; i++) {
		if (ld->flags[i].key != CONFIG_STATE_DIR &&
		    !apply(cfg, &ld->flags[i], CONFIG_FROM_FLAG, NULL, err))
			ret = -EINVAL;
	}
	if (ret == 0 && ld->verbose) {
		snprintf(cfg->log_level, sizeof(cfg->log_level), "debug");
		cfg->source[CONFIG_LOG_LEVEL] = CONFIG_FROM_FLAG;
	}
	if (ret == 0)
		derive(cfg);
	if (ret < 0) {
		settings_close(*settings);
		*settings = NULL;
	}
out:
	free(ld);
	return ret;
}
