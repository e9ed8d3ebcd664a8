/* test_config.c - lanraged's configuration: validators, the file syntax, and the precedence of
 * sources. */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/conffile.h"
#include "daemon/config.h"
#include "daemon/settings.h"
#include "util/err.h"
#include "util/file.h"

static char dir[64];

static int setup(void **state)
{
	strcpy(dir, "/tmp/lanrage-test-config-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void test_defaults(void **state)
{
	struct daemon_config cfg;
	char v[4096], want[PATH_MAX + 16];

	config_default(&cfg);
	assert_string_equal(config_get(&cfg, CONFIG_INTERFACE, v, sizeof(v)), "lanrage0");
	assert_string_equal(config_get(&cfg, CONFIG_LISTEN_PORT, v, sizeof(v)), "51820");
	assert_string_equal(config_get(&cfg, CONFIG_MTU, v, sizeof(v)), "1412");
	assert_string_equal(config_get(&cfg, CONFIG_CONTROL_URL, v, sizeof(v)), "");
	assert_string_equal(config_get(&cfg, CONFIG_API, v, sizeof(v)), "127.0.0.1:8666");
	assert_string_equal(config_get(&cfg, CONFIG_NETWORK, v, sizeof(v)), "10.66.0.0/16");
	assert_string_equal(config_get(&cfg, CONFIG_DEGRADED_RTT_MS, v, sizeof(v)), "200");
	assert_string_equal(config_get(&cfg, CONFIG_KEEPALIVE_SEC, v, sizeof(v)), "25");
	assert_string_equal(config_get(&cfg, CONFIG_RELAY, v, sizeof(v)), "auto");
	assert_string_equal(config_get(&cfg, CONFIG_STUN, v, sizeof(v)), "");
	assert_string_equal(config_get(&cfg, CONFIG_LOG_LEVEL, v, sizeof(v)), "info");
	assert_string_equal(config_get(&cfg, CONFIG_LAN_BROADCAST, v, sizeof(v)), "all");
	assert_string_equal(config_get(&cfg, CONFIG_LAN_MULTICAST, v, sizeof(v)), "224.0.2.60");
	if (geteuid() == 0)
		snprintf(want, sizeof(want), "/var/lib/lanrage");
	else
		snprintf(want, sizeof(want), "%s/.local/state/lanrage", getenv("HOME"));
	assert_string_equal(config_get(&cfg, CONFIG_STATE_DIR, v, sizeof(v)), want);
	snprintf(want, sizeof(want), "%s/discovery", cfg.state_dir);
	assert_string_equal(cfg.discovery_dir, want);
	assert_true(peer_name_valid(cfg.peer_name));
	for (unsigned k = 0; k < CONFIG_KEY_COUNT; k++) {
		enum config_key back;

		assert_int_equal(cfg.source[k], CONFIG_FROM_DEFAULT);
		assert_true(config_key_lookup(config_key_name((enum config_key)k), &back));
		assert_int_equal(back, k);
	}
	assert_string_equal(config_source_name(CONFIG_FROM_FILE), "file");
}

/* Every validator: what it takes (and how it reads it back), what it refuses (and why). */
static void test_validators(void **state)
{
	static const struct {
		const char *key, *value, *want; /* want: the value read back, or NULL: refused */
		const char *why;                /* for refusals: a piece of the message */
	} cases[] = {
		{ "interface", "lanrage0", "lanrage0", NULL },
		{ "interface", "wg-game.1", "wg-game.1", NULL },
		{ "interface", "", NULL, "interface name" },
		{ "interface", "0123456789abcdef", NULL, "interface name" },
		{ "interface", "a/b", NULL, "interface name" },
		{ "interface", "..", NULL, "interface name" },
		{ "interface", "a b", NULL, "interface name" },
		{ "listen_port", "0", "0", NULL },
		{ "listen_port", "65535", "65535", NULL },
		{ "listen_port", "65536", NULL, "from 0 to 65535" },
		{ "listen_port", "-1", NULL, "from 0 to 65535" },
		{ "listen_port", "51820x", NULL, "not a number" },
		{ "mtu", "576", "576", NULL },
		{ "mtu", "9000", "9000", NULL },
		{ "mtu", "575", NULL, "from 576 to 9000" },
		{ "mtu", "9001", NULL, "from 576 to 9000" },
		{ "control_url", "http://198.51.100.1:8080", "http://198.51.100.1:8080", NULL },
		{ "control_url", "http://control.example.com:80/", "http://control.example.com:80",
		  NULL },
		{ "control_url", "http://[2001:db8::1]:8080", "http://[2001:db8::1]:8080", NULL },
		{ "control_url", "", "", NULL },
		{ "control_url", "https://198.51.100.1:8080", NULL, "http://host:port" },
		{ "control_url", "http://198.51.100.1", NULL, "http://host:port" },
		{ "control_url", "http://198.51.100.1:0", NULL, "http://host:port" },
		{ "control_url", "http://198.51.100.1:8080/api", NULL, "http://host:port" },
		{ "control_url", "http://user@host:80", NULL, "http://host:port" },
		{ "control_url", "http://[::1:80", NULL, "http://host:port" },
		{ "control_url", "198.51.100.1:8080", NULL, "http://host:port" },
		{ "discovery_dir", "/srv/lanrage", "/srv/lanrage", NULL },
		{ "discovery_dir", "relative/dir", NULL, "absolute path" },
		{ "state_dir", "/var/lib/other", "/var/lib/other", NULL },
		{ "state_dir", "", NULL, "absolute path" },
		{ "peer_name", "Bob's gaming PC", "Bob's gaming PC", NULL },
		{ "peer_name", "Zoë", "Zoë", NULL },
		{ "peer_name", "", NULL, "printable UTF-8" },
		{ "peer_name", "   ", NULL, "printable UTF-8" },
		{ "peer_name", "tab\there", NULL, "printable UTF-8" },
		{ "peer_name", "\xc3\x28", NULL, "printable UTF-8" },
		{ "api", "127.0.0.1:8666", "127.0.0.1:8666", NULL },
		{ "api", "127.0.0.53:9000", "127.0.0.53:9000", NULL },
		{ "api", "[::1]:8666", "[::1]:8666", NULL },
		{ "api", "127.0.0.1:0", "127.0.0.1:0", NULL },
		{ "api", "0.0.0.0:8666", NULL, "not a loopback address" },
		{ "api", "192.168.1.5:8666", NULL, "not a loopback address" },
		{ "api", "[::]:8666", NULL, "not a loopback address" },
		{ "api", "localhost:8666", NULL, "localhost:8666" },
		{ "api", "127.0.0.1", NULL, "127.0.0.1" },
		{ "network", "10.66.0.0/16", "10.66.0.0/16", NULL },
		{ "network", "192.168.77.0/24", "192.168.77.0/24", NULL },
		{ "network", "10.0.0.0/8", "10.0.0.0/8", NULL },
		{ "network", "10.66.1.0/16", NULL, "" },
		{ "network", "10.0.0.0/7", NULL, "from /8 to /30" },
		{ "network", "10.66.0.0/31", NULL, "from /8 to /30" },
		{ "network", "10.66.0.1", NULL, "from /8 to /30" },
		{ "network", "fd00::/64", NULL, "IPv4 network" },
		{ "degraded_rtt_ms", "150", "150", NULL },
		{ "degraded_rtt_ms", "0", NULL, "from 1 to 60000" },
		{ "keepalive_sec", "0", "0", NULL },
		{ "keepalive_sec", "3601", NULL, "from 0 to 3600" },
		{ "relay", "auto", "auto", NULL },
		{ "relay", "never", "never", NULL },
		{ "relay", "always", "always", NULL },
		{ "relay", "sometimes", NULL, "auto, never or always" },
		{ "lan_broadcast", "bound", "bound", NULL },
		{ "lan_broadcast", "off", "off", NULL },
		{ "lan_broadcast", "some", NULL, "all, bound or off" },
		{ "stun", "198.51.100.1:3478,203.0.113.1:3479",
		  "198.51.100.1:3478,203.0.113.1:3479", NULL },
		{ "stun", "198.51.100.1", "198.51.100.1:3478", NULL },
		{ "stun", " 198.51.100.1 , [2001:db8::1]:3478 ",
		  "198.51.100.1:3478,[2001:db8::1]:3478", NULL },
		{ "stun", "", "", NULL },
		{ "stun", "1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4,5.5.5.5", NULL, "at most 4" },
		{ "stun", "stun.example.com:3478", NULL, "Unable to parse endpoint" },
		{ "stun", "198.51.100.1:0", NULL, "port must be 1-65535" },
		{ "stun", "198.51.100.1,", NULL, "ends with a comma" },
		{ "stun", "198.51.100.1,,1.2.3.4", NULL, "list of ip:port" },
		{ "ipv6_paths", "off", "off", NULL },
		{ "ipv6_paths", "on", "on", NULL },
		{ "ipv6_paths", "yes", NULL, "not on or off" },
		{ "lan_multicast", "224.0.2.60", "224.0.2.60", NULL },
		{ "lan_multicast", " 224.0.2.60 , 239.255.66.0/24", "224.0.2.60,239.255.66.0/24",
		  NULL },
		{ "lan_multicast", "", "", NULL },
		{ "lan_multicast", "192.168.1.255", NULL, "not an IPv4 multicast group" },
		{ "lan_multicast", "224.0.0.0/3", NULL, "not an IPv4 multicast group" },
		{ "lan_multicast", "ff02::1", NULL, "not an IPv4 multicast group" },
		{ "lan_multicast", "239.255.66.1/24", NULL, "host bits" },
		{ "lan_multicast", "224.0.2.60,", NULL, "ends with a comma" },
		{ "lan_multicast",
		  "224.0.0.1,224.0.0.2,224.0.0.3,224.0.0.4,224.0.0.5,224.0.0.6,"
		  "224.0.0.7,224.0.0.8,224.0.0.9",
		  NULL, "at most 8 multicast groups" },
		{ "log_level", "debug", "debug", NULL },
		{ "log_level", "ERROR", "error", NULL },
		{ "log_level", "verbose", NULL, "error, info or debug" },
		{ "no_such_key", "1", NULL, "unknown setting `no_such_key'" },
	};
	struct daemon_config cfg;
	char v[4096];
	errmsg err;
	json_t *j;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum config_key k;
		bool ok;

		config_default(&cfg);
		ok = config_set(&cfg, cases[i].key, cases[i].value, err);
		if (ok != (cases[i].want != NULL) ||
		    (!ok && (!strstr(err, cases[i].why) ||
		             (config_key_lookup(cases[i].key, &k) && !strstr(err, cases[i].key)))))
			print_error("case %zu (%s = %s): %s\n", i, cases[i].key, cases[i].value,
			            ok ? "accepted" : err);
		assert_int_equal(ok, cases[i].want != NULL);
		if (ok) {
			assert_true(config_key_lookup(cases[i].key, &k));
			assert_string_equal(config_get(&cfg, k, v, sizeof(v)), cases[i].want);
			/* What config_get gives, config_set takes back unchanged. */
			assert_true(config_set(&cfg, cases[i].key, v, err));
		} else {
			assert_non_null(strstr(err, cases[i].why));
		}
	}
	config_default(&cfg);
	assert_true(config_set(&cfg, "mtu", "1400", err));
	j = config_get_json(&cfg, CONFIG_MTU);
	assert_int_equal(json_integer_value(j), 1400);
	json_decref(j);
	j = config_get_json(&cfg, CONFIG_RELAY);
	assert_string_equal(json_string_value(j), "auto");
	json_decref(j);
}

/* ---- the file syntax ---- */

struct entries {
	char text[16][128];
	int n;
	const char *refuse; /* a key the callback refuses */
};

static bool entry(void *arg, unsigned line, const char *key, const char *value, char *err)
{
	struct entries *e = arg;

	if (e->refuse && strcmp(key, e->refuse) == 0) {
		err_set(err, "refused %s", key);
		return false;
	}
	snprintf(e->text[e->n++], sizeof(e->text[0]), "%u:%s=[%s]", line, key, value);
	return true;
}

static void test_file_syntax(void **state)
{
	static const char text[] = "# lanraged.conf\n"
	                           "\n"
	                           "  mtu = 1400   \n"
	                           "peer_name = \"Bob #1 \\\"the\\\" \\\\ best\"  # quoted\n"
	                           "control_url =\n"
	                           "interface=lan#1 # comment\n"
	                           "listen-port\t=\t51821\r\n"
	                           "stun = 198.51.100.1 #\n"
	                           "log_level = debug";
	struct entries e = { .n = 0 };
	unsigned line = 0;
	errmsg err;

	assert_true(conffile_parse(text, strlen(text), entry, &e, &line, err));
	assert_int_equal(e.n, 7);
	assert_string_equal(e.text[0], "3:mtu=[1400]");
	assert_string_equal(e.text[1], "4:peer_name=[Bob #1 \"the\" \\ best]");
	assert_string_equal(e.text[2], "5:control_url=[]");
	assert_string_equal(e.text[3], "6:interface=[lan#1]");
	assert_string_equal(e.text[4], "7:listen_port=[51821]");
	assert_string_equal(e.text[5], "8:stun=[198.51.100.1]");
	assert_string_equal(e.text[6], "9:log_level=[debug]");
}

static void test_file_syntax_errors(void **state)
{
	static const struct {
		const char *text;
		size_t len; /* 0: strlen */
		unsigned line;
		const char *why;
	} cases[] = {
		{ "mtu 1400\n", 0, 1, "expected `key = value'" },
		{ "# ok\n= 3\n", 0, 2, "expected `key = value'" },
		{ "ok = 1\nMTU = 3\n", 0, 2, "keys are a-z 0-9 _" },
		{ "a.b = 3\n", 0, 1, "keys are a-z 0-9 _" },
		{ "name = \"open\n", 0, 1, "missing closing quote" },
		{ "name = \"a\" b\n", 0, 1, "after the closing quote" },
		{ "name = \"a\\n\"\n", 0, 1, "backslash" },
		{ "a = 1\nb = x\ry\n", 0, 2, "control character 0x0d" },
		{ "a = 1\n\nb = x\0y\n", 14, 3, "NUL byte" },
		{ "a = \xff\n", 0, 1, "not printable UTF-8" },
		{ "x = 1\ny = 2\nrefused = 3\n", 0, 3, "refused refused" },
	};
	char longline[CONFFILE_LINE_MAX + 16];
	unsigned line;
	errmsg err;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct entries e = { .refuse = "refused" };
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].text);
		bool ok = conffile_parse(cases[i].text, len, entry, &e, &line, err);

		if (ok || line != cases[i].line || !strstr(err, cases[i].why))
			print_error("case %zu: ok %d line %u: %s\n", i, ok, line, err);
		assert_false(ok);
		assert_int_equal(line, cases[i].line);
		assert_non_null(strstr(err, cases[i].why));
	}
	memset(longline, 'a', sizeof(longline));
	memcpy(longline, "k = ", 4);
	assert_false(
	    conffile_parse(longline, sizeof(longline), entry, &(struct entries){ 0 }, &line, err));
	assert_non_null(strstr(err, "line longer than"));
}

/* ---- loading: the four sources ---- */

static int load(struct daemon_config *cfg, char *err, ...)
{
	char *argv[32] = { "lanraged" };
	struct settings *s;
	int argc = 1, ret, out, devnull;
	va_list ap;

	va_start(ap, err);
	while ((argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	/* --help and --version print on stdout; keep the test's output readable. */
	fflush(stdout);
	out = dup(1);
	devnull = open("/dev/null", O_WRONLY);
	dup2(devnull, 1);
	ret = config_load(cfg, argc, argv, &s, err);
	fflush(stdout);
	dup2(out, 1);
	close(out);
	close(devnull);
	if (ret == 0)
		assert_non_null(s);
	else
		assert_null(s);
	settings_close(s);
	return ret;
}

static void write_text(const char *path, const char *text)
{
	assert_int_equal(file_write_atomic(path, text, strlen(text), 0600), 0);
}

static void store(const char *key, const char *value, bool numeric)
{
	char path[128];
	struct settings *s;
	errmsg err;

	snprintf(path, sizeof(path), "%s/settings.db", dir);
	assert_int_equal(settings_open(&s, path, err), 0);
	assert_int_equal(settings_set(s, key, numeric ? SETTING_INT : SETTING_STRING, value, err),
	                 0);
	settings_close(s);
}

static void test_precedence(void **state)
{
	struct daemon_config cfg;
	char conf[128], disc[160];
	errmsg err;

	/* database < file < flags, key by key. */
	store("mtu", "1300", true);
	store("peer_name", "from-db", false);
	store("keepalive_sec", "10", true);
	store("ui.theme", "dark", false); /* not ours: ignored */
	snprintf(conf, sizeof(conf), "%s/lanraged.conf", dir);
	write_text(conf, "mtu = 1350\nrelay = never\nkeepalive_sec = 15\n");
	assert_int_equal(
	    load(&cfg, err, "--state-dir", dir, "--mtu", "1400", "--keepalive-sec=20", NULL), 0);
	assert_int_equal(cfg.mtu, 1400);
	assert_int_equal(cfg.source[CONFIG_MTU], CONFIG_FROM_FLAG);
	assert_int_equal(cfg.keepalive_sec, 20);
	assert_int_equal(cfg.source[CONFIG_KEEPALIVE_SEC], CONFIG_FROM_FLAG);
	assert_int_equal(cfg.relay, RELAY_NEVER);
	assert_int_equal(cfg.source[CONFIG_RELAY], CONFIG_FROM_FILE);
	assert_string_equal(cfg.peer_name, "from-db");
	assert_int_equal(cfg.source[CONFIG_PEER_NAME], CONFIG_FROM_DATABASE);
	assert_int_equal(cfg.listen_port, 51820);
	assert_int_equal(cfg.source[CONFIG_LISTEN_PORT], CONFIG_FROM_DEFAULT);
	assert_string_equal(cfg.config_file, conf);
	assert_string_equal(cfg.state_dir, dir);
	/* The discovery directory follows the state directory. */
	snprintf(disc, sizeof(disc), "%s/discovery", dir);
	assert_string_equal(cfg.discovery_dir, disc);

	/* Without the flag, the file wins over the database. */
	assert_int_equal(load(&cfg, err, "--state-dir", dir, NULL), 0);
	assert_int_equal(cfg.mtu, 1350);
	assert_int_equal(cfg.source[CONFIG_MTU], CONFIG_FROM_FILE);
	/* Without the file, the database wins over the default. */
	assert_int_equal(unlink(conf), 0);
	assert_int_equal(load(&cfg, err, "--state-dir", dir, NULL), 0);
	assert_int_equal(cfg.mtu, 1300);
	assert_int_equal(cfg.source[CONFIG_MTU], CONFIG_FROM_DATABASE);
	assert_string_equal(cfg.config_file, "");
	/* -v is log_level debug from a flag. */
	assert_int_equal(load(&cfg, err, "-v", "--state-dir", dir, NULL), 0);
	assert_string_equal(cfg.log_level, "debug");
	assert_int_equal(cfg.source[CONFIG_LOG_LEVEL], CONFIG_FROM_FLAG);
}

static void test_config_file_flag_and_state_dir(void **state)
{
	struct daemon_config cfg;
	char conf[128], other[128], db[160];
	struct stat st;
	errmsg err;

	/* An explicit --config may move the state directory. */
	snprintf(conf, sizeof(conf), "%s/my.conf", dir);
	snprintf(other, sizeof(other), "%s/state", dir);
	snprintf(db, sizeof(db), "%s/settings.db", other);
	write_text(conf, "");
	{
		char text[256];

		snprintf(text, sizeof(text),
		         "state_dir = %s\ncontrol_url = http://198.51.100.7:8080\n", other);
		write_text(conf, text);
	}
	assert_int_equal(load(&cfg, err, "--config", conf, NULL), 0);
	assert_string_equal(cfg.state_dir, other);
	assert_int_equal(cfg.source[CONFIG_STATE_DIR], CONFIG_FROM_FILE);
	assert_int_equal(stat(other, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(stat(db, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* STUN defaults to the control server's host, port 3478. */
	assert_int_equal(cfg.n_stun, 1);
	{
		char v[64];

		assert_string_equal(config_get(&cfg, CONFIG_STUN, v, sizeof(v)),
		                    "198.51.100.7:3478");
	}
	/* A flag beats the file for the state directory too. */
	assert_int_equal(load(&cfg, err, "--config", conf, "--state-dir", dir, NULL), 0);
	assert_string_equal(cfg.state_dir, dir);
	/* An explicit file must exist. */
	snprintf(conf, sizeof(conf), "%s/missing.conf", dir);
	assert_int_equal(load(&cfg, err, "--config", conf, NULL), -ENOENT);
	assert_non_null(strstr(err, conf));
}

static void test_load_errors(void **state)
{
	static const struct {
		const char *file; /* lanraged.conf in the state dir, or NULL */
		const char *flag, *value;
		const char *why;
	} cases[] = {
		{ "mtu = 1400\nrelay = maybe\n", NULL, NULL, "lanraged.conf:2: relay: `maybe'" },
		{ "# c\n\nbogus = 1\n", NULL, NULL, "lanraged.conf:3: unknown setting `bogus'" },
		{ "mtu = 1400\nmtu = 1500\n", NULL, NULL,
		  "lanraged.conf:2: `mtu' already set on line 1" },
		{ "mtu 1400\n", NULL, NULL, "lanraged.conf:1: expected `key = value'" },
		{ NULL, "--mtu", "big", "flag --mtu: `big' is not a number" },
		{ NULL, "--api", "0.0.0.0:8666", "flag --api: `0.0.0.0:8666' is not a loopback" },
		{ NULL, "--nope", "1", "unknown flag `--nope'" },
		{ NULL, "--mtu", NULL, "flag `--mtu' needs a value" },
		{ NULL, "stray", NULL, "unexpected argument `stray'" },
		{ NULL, "--state-dir", "relative",
		  "flag --state-dir: `relative' is not an absolute" },
	};
	struct daemon_config cfg;
	char conf[128];
	errmsg err;

	snprintf(conf, sizeof(conf), "%s/lanraged.conf", dir);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret;

		if (cases[i].file)
			write_text(conf, cases[i].file);
		else
			unlink(conf);
		ret = load(&cfg, err, "--state-dir", dir, cases[i].flag, cases[i].value, NULL);
		if (ret != -EINVAL || !strstr(err, cases[i].why))
			print_error("case %zu: %d %s\n", i, ret, err);
		assert_int_equal(ret, -EINVAL);
		assert_non_null(strstr(err, cases[i].why));
	}
	unlink(conf);
	assert_int_equal(load(&cfg, err, "--help", NULL), 1);
	assert_int_equal(load(&cfg, err, "--version", NULL), 1);
}

static void test_bad_database_rows(void **state)
{
	struct daemon_config cfg;
	char path[128];
	errmsg err;

	store("mtu", "12", true);
	assert_int_equal(load(&cfg, err, "--state-dir", dir, NULL), -EINVAL);
	assert_non_null(strstr(err, "settings database"));
	assert_non_null(strstr(err, "setting `mtu': `12' is not a number from 576 to 9000"));
	/* A flag does not hide a bad stored value: the database must be fixed. */
	store("mtu", "1400", true);
	store("state_dir", "/elsewhere", false);
	assert_int_equal(load(&cfg, err, "--state-dir", dir, NULL), -EINVAL);
	assert_non_null(strstr(err, "`state_dir' cannot be set there"));
	/* A file that is no database says so. */
	snprintf(path, sizeof(path), "%s/settings.db", dir);
	unlink(path);
	write_text(path, "garbage garbage garbage garbage garbage garbage garbage garbage\n");
	assert_int_equal(load(&cfg, err, "--state-dir", dir, NULL), -EBADMSG);
	assert_non_null(strstr(err, "not a database"));
}

/* What the daemon does when the API stored a setting. */
static void test_apply_stored(void **state)
{
	struct daemon_config cfg;
	struct settings *s;
	char path[128], v[64];
	errmsg err;

	snprintf(path, sizeof(path), "%s/lanraged.conf", dir);
	write_text(path, "relay = never\n");
	store("control_url", "http://198.51.100.1:8080", false);
	assert_int_equal(load(&cfg, err, "--state-dir", dir, "--listen-port", "1", NULL), 0);
	assert_string_equal(config_get(&cfg, CONFIG_STUN, v, sizeof(v)), "198.51.100.1:3478");
	snprintf(path, sizeof(path), "%s/settings.db", dir);
	assert_int_equal(settings_open(&s, path, err), 0);

	/* A new value in the database takes effect... */
	assert_int_equal(settings_set_int(s, "mtu", 1300, err), 0);
	assert_int_equal(config_apply_stored(&cfg, s, CONFIG_MTU, err), 0);
	assert_int_equal(cfg.mtu, 1300);
	assert_int_equal(cfg.source[CONFIG_MTU], CONFIG_FROM_DATABASE);
	/* ...and what derives from it follows (STUN from the control server). */
	assert_int_equal(settings_set_string(s, "control_url", "http://203.0.113.9:80", err), 0);
	assert_int_equal(config_apply_stored(&cfg, s, CONFIG_CONTROL_URL, err), 0);
	assert_string_equal(config_get(&cfg, CONFIG_STUN, v, sizeof(v)), "203.0.113.9:3478");
	/* A removed row brings the default back. */
	assert_int_equal(settings_delete(s, "mtu", err), 0);
	assert_int_equal(config_apply_stored(&cfg, s, CONFIG_MTU, err), 0);
	assert_int_equal(cfg.mtu, 1412);
	assert_int_equal(cfg.source[CONFIG_MTU], CONFIG_FROM_DEFAULT);
	assert_int_equal(settings_delete(s, "control_url", err), 0);
	assert_int_equal(config_apply_stored(&cfg, s, CONFIG_CONTROL_URL, err), 0);
	assert_int_equal(cfg.n_stun, 0);
	/* The file and flags still win. */
	assert_int_equal(settings_set_string(s, "relay", "always", err), 0);
	assert_int_equal(config_apply_stored(&cfg, s, CONFIG_RELAY, err), 0);
	assert_int_equal(cfg.relay, RELAY_NEVER);
	assert_int_equal(settings_set_int(s, "listen_port", 7, err), 0);
	assert_int_equal(config_apply_stored(&cfg, s, CONFIG_LISTEN_PORT, err), 0);
	assert_int_equal(cfg.listen_port, 1);
	/* A bad row is reported, and cfg keeps its value. */
	assert_int_equal(settings_set_int(s, "mtu", 5, err), 0);
	assert_int_equal(config_apply_stored(&cfg, s, CONFIG_MTU, err), -EINVAL);
	assert_non_null(strstr(err, "mtu"));
	assert_int_equal(cfg.mtu, 1412);
	assert_int_equal(config_apply_stored(&cfg, s, CONFIG_STATE_DIR, err), -EINVAL);
	settings_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_validators),
		cmocka_unit_test(test_file_syntax),
		cmocka_unit_test(test_file_syntax_errors),
		cmocka_unit_test_setup_teardown(test_precedence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_file_flag_and_state_dir, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_load_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_database_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_stored, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
