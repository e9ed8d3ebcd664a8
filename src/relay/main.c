/* main.c - lanrage-relay: flags in, the relay started, one loop until SIGTERM. */
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/rand.h"
#include "relay/relay.h"
#include "util/err.h"
#include "util/evrun.h"
#include "util/log.h"
#include "util/num.h"

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: lanrage-relay --relay-secret-file PATH [options]\n"
	        "Forwards traffic between members of one party that hold a token from the\n"
	        "control server (docs/RELAY.md); answers STUN on the same port.\n"
	        "  --relay-secret-file PATH  the secret the control server has (required; mode "
	        "0600)\n"
	        "  --listen ADDR:PORT       UDP address ([::]:%d, dual-stack)\n"
	        "  --max-clients N          sessions at most (%d)\n"
	        "  --stale-timeout DUR      a session without bind or data this long ends (5m)\n"
	        "  --rate-pps N             datagrams per second per source IP, 0 for no limit\n"
	        "                           (%d)\n"
	        "  --rate-burst N           bucket size of that limit (the --rate-pps value)\n"
	        "  --block CIDR             ignore these sources (repeatable)\n"
	        "  --block-file PATH        one CIDR a line, `#' comments; re-read on SIGHUP\n"
	        "  --metrics ADDR:PORT      Prometheus text on GET /metrics (127.0.0.1:%d);\n"
	        "                           `none' for no HTTP port\n"
	        "  --stats-interval DUR     a stats line in the log this often, 0 for never (30s)\n"
	        "  --no-stun                do not answer STUN on the relay's port\n"
	        "  --control URL            register with this control server (http://host:port);\n"
	        "                           without it the relay runs standalone\n"
	        "  --relay-id ID            the relay's name there (the host name)\n"
	        "  --region NAME            its region (default)\n"
	        "  --public-ip IP           the address members should use (the --listen address\n"
	        "                           if it is a specific one; required otherwise)\n"
	        "  --announce-interval DUR  how often to register again (60s)\n"
	        "  --port-file PATH         write the bound UDP port there\n"
	        "  --log-level LEVEL        error, info or debug (info)\n"
	        "  --help, --version\n"
	        "DUR is a number with ms, s, m or h (seconds when bare).\n",
	        RELAY_DEFAULT_PORT, ENGINE_DEFAULT_MAX_CLIENTS, ENGINE_DEFAULT_RATE_PPS,
	        RELAY_CONFIG_METRICS_PORT);
}

static bool parse_duration(const char *s, uint64_t *out_ms, bool zero_ok)
{
	return num_parse_duration_ms(s, out_ms) && (zero_ok || *out_ms > 0);
}

static bool copy_arg(char *dst, size_t size, const char *src)
{
	return (size_t)snprintf(dst, size, "%s", src) < size;
}

/* Ids and regions as the control server takes them: A-Za-z0-9._- */
static bool name_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (; *s; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-'))
			return false;
	}
	return true;
}

static bool is_wildcard(const struct addr *a)
{
	static const struct in6_addr any6 = IN6ADDR_ANY_INIT;

	if (a->sa.sa_family == AF_INET)
		return a->in4.sin_addr.s_addr == htonl(INADDR_ANY);
	return memcmp(&a->in6.sin6_addr, &any6, sizeof(any6)) == 0;
}

int main(int argc, char **argv)
{
	enum {
		OPT_SECRET = 256,
		OPT_LISTEN,
		OPT_MAX_CLIENTS,
		OPT_STALE,
		OPT_RATE,
		OPT_BURST,
		OPT_BLOCK,
		OPT_BLOCK_FILE,
		OPT_METRICS,
		OPT_STATS,
		OPT_NO_STUN,
		OPT_CONTROL,
		OPT_RELAY_ID,
		OPT_REGION,
		OPT_PUBLIC_IP,
		OPT_ANNOUNCE,
		OPT_PORT_FILE,
		OPT_LOG_LEVEL,
		OPT_HELP,
		OPT_VERSION,
	};
	static const struct option opts[] = {
		{ "relay-secret-file", required_argument, NULL, OPT_SECRET },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "max-clients", required_argument, NULL, OPT_MAX_CLIENTS },
		{ "stale-timeout", required_argument, NULL, OPT_STALE },
		{ "rate-pps", required_argument, NULL, OPT_RATE },
		{ "rate-burst", required_argument, NULL, OPT_BURST },
		{ "block", required_argument, NULL, OPT_BLOCK },
		{ "block-file", required_argument, NULL, OPT_BLOCK_FILE },
		{ "metrics", required_argument, NULL, OPT_METRICS },
		{ "stats-interval", required_argument, NULL, OPT_STATS },
		{ "no-stun", no_argument, NULL, OPT_NO_STUN },
		{ "control", required_argument, NULL, OPT_CONTROL },
		{ "relay-id", required_argument, NULL, OPT_RELAY_ID },
		{ "region", required_argument, NULL, OPT_REGION },
		{ "public-ip", required_argument, NULL, OPT_PUBLIC_IP },
		{ "announce-interval", required_argument, NULL, OPT_ANNOUNCE },
		{ "port-file", required_argument, NULL, OPT_PORT_FILE },
		{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
		{ "help", no_argument, NULL, OPT_HELP },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	static struct blocklist block;
	static struct relay relay;
	struct relay_config cfg;
	struct event_base *base;
	int status;
	enum log_level level;
	errmsg err = "";
	uint64_t n;
	int opt;

	log_init("lanrage-relay");
	relay_config_defaults(&cfg);
	cfg.block_flags = &block;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		bool ok = true;

		switch (opt) {
		case OPT_SECRET:
			ok = copy_arg(cfg.secret_file, sizeof(cfg.secret_file), optarg);
			break;
		case OPT_LISTEN:
			ok = addr_parse(&cfg.listen, optarg, err);
			break;
		case OPT_MAX_CLIENTS:
			ok = num_parse_u64(optarg, 1, 1000000, &n);
			cfg.max_clients = (size_t)n;
			break;
		case OPT_STALE:
			ok = parse_duration(optarg, &cfg.stale_ms, false);
			break;
		case OPT_RATE:
			ok = num_parse_u64(optarg, 0, 100000000, &n);
			cfg.rate_pps = (uint32_t)n;
			break;
		case OPT_BURST:
			ok = num_parse_u64(optarg, 1, 100000000, &n);
			cfg.rate_burst = (uint32_t)n;
			break;
		case OPT_BLOCK:
			ok = blocklist_add(&block, optarg, err);
			break;
		case OPT_BLOCK_FILE:
			ok = copy_arg(cfg.block_file, sizeof(cfg.block_file), optarg);
			break;
		case OPT_METRICS:
			cfg.metrics_on = strcmp(optarg, "none") != 0;
			ok = !cfg.metrics_on || addr_parse(&cfg.metrics, optarg, err);
			break;
		case OPT_STATS:
			ok = parse_duration(optarg, &cfg.stats_ms, true);
			break;
		case OPT_NO_STUN:
			cfg.stun_on = false;
			break;
		case OPT_CONTROL:
			ok = copy_arg(cfg.control_url, sizeof(cfg.control_url), optarg);
			break;
		case OPT_RELAY_ID:
			ok = name_ok(optarg, 64) &&
			     copy_arg(cfg.relay_id, sizeof(cfg.relay_id), optarg);
			break;
		case OPT_REGION:
			ok =
			    name_ok(optarg, 32) && copy_arg(cfg.region, sizeof(cfg.region), optarg);
			break;
		case OPT_PUBLIC_IP:
			ok = addr_parse_ip(&cfg.public_ip, optarg, err);
			break;
		case OPT_ANNOUNCE:
			ok = parse_duration(optarg, &cfg.announce_ms, false);
			break;
		case OPT_PORT_FILE:
			ok = copy_arg(cfg.port_file, sizeof(cfg.port_file), optarg);
			break;
		case OPT_LOG_LEVEL:
			ok = log_level_parse(optarg, &level);
			if (ok)
				log_set_level(level);
			break;
		case OPT_HELP:
			usage(stdout);
			return 0;
		case OPT_VERSION:
			printf("lanrage-relay %s\n", LANRAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
		if (!ok) {
			fprintf(stderr, "lanrage-relay: bad value for --%s: `%s'%s%s\n",
			        opts[opt - OPT_SECRET].name, optarg, err[0] ? ": " : "", err);
			return 2;
		}
		err[0] = '\0';
	}
	if (optind != argc) {
		fprintf(stderr, "lanrage-relay: unexpected argument `%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (!cfg.secret_file[0]) {
		fprintf(stderr,
		        "lanrage-relay: --relay-secret-file is required: tokens are checked "
		        "with the secret the control server has\n");
		return 2;
	}
	if (!addr_is_set(&cfg.public_ip) && !is_wildcard(&cfg.listen)) {
		cfg.public_ip = cfg.listen;
		addr_set_port(&cfg.public_ip, 0);
	}
	if (cfg.control_url[0]) {
		if (!addr_is_set(&cfg.public_ip)) {
			fprintf(stderr,
			        "lanrage-relay: --control needs --public-ip when listening on "
			        "a wildcard address (what should members use?)\n");
			return 2;
		}
		if (!cfg.relay_id[0] && (gethostname(cfg.relay_id, sizeof(cfg.relay_id) - 1) != 0 ||
		                         !name_ok(cfg.relay_id, 64))) {
			fprintf(stderr,
			        "lanrage-relay: the host name is no relay id; use --relay-id\n");
			return 2;
		}
	}
	if (!rand_init()) {
		fprintf(stderr, "lanrage-relay: cannot initialise libsodium\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();
	if (!base)
		return 1;
	if (relay_start(&relay, &cfg, base, err) != 0) {
		log_error("cannot start: %s", err);
		event_base_free(base);
		return 1;
	}
	status = evrun_until_signal(base) < 0 ? 1 : 0;
	relay_stop(&relay);
	event_base_free(base);
	libevent_global_shutdown();
	return status;
}
