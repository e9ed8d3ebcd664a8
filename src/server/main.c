/* main.c - lanrage-control: flags in, modules wired, one loop until SIGTERM. */
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/rand.h"
#include "nat/stun.h"
#include "nat/stun_listener.h"
#include "server/server.h"
#include "util/num.h"
#include "util/addr.h"
#include "util/err.h"
#include "util/evrun.h"
#include "util/log.h"

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: lanrage-control [options]\n"
	    "  --listen ADDR            numeric address to listen on (127.0.0.1)\n"
	    "  --port N                 TCP port, 0 for any free one (%d)\n"
	    "  --port-file PATH         write the bound port there once listening\n"
	    "  --db URL                 sqlite:///path/control.db (default "
	    "sqlite:lanrage-control.db)\n"
	    "                           or postgresql://user@host/db (libpq URI)\n"
	    "  --network CIDR           every party's virtual network (10.66.0.0/16)\n"
	    "  --max-party-size N       members per party (%d)\n"
	    "  --max-body BYTES         largest request body (%d)\n"
	    "  --relay-secret-file PATH relays register with this secret, and members get relay\n"
	    "                           tokens; without it, neither\n"
	    "  --relay-token-ttl DUR    relay token lifetime (1h)\n"
	    "  --cleanup-interval DUR   how often to sweep (60s)\n"
	    "  --peer-timeout DUR       members not seen this long are removed (5m)\n"
	    "  --relay-timeout DUR      relays not seen this long are removed (10m)\n"
	    "  --token-ttl DUR          token lifetime (24h)\n"
	    "  --challenge-ttl DUR      registration challenge lifetime (60s)\n"
	    "  --auth-rate N            /auth requests per second per client address, 0 for no\n"
	    "                           limit (%d; bursts of twice that)\n"
	    "  --heartbeat-flush DUR    how often heartbeats are written (1s)\n"
	    "  --events-ping DUR        keepalive comment on event streams, 100ms-30s (15s)\n"
	    "  --log-level LEVEL        error, info or debug (info)\n"
	    "  --stun ADDR:PORT         answer STUN there (the --listen address, port 3478);\n"
	    "                           `none' for no STUN server\n"
	    "  --stun-alternate ADDR:PORT  a second address and port, for RFC 5780 NAT\n"
	    "                           behaviour discovery\n"
	    "DUR is a number with ms, s, m or h (seconds when bare).\n",
	    CONFIG_DEFAULT_PORT, CONFIG_DEFAULT_MAX_PARTY_SIZE, CONFIG_DEFAULT_MAX_BODY_BYTES,
	    CONFIG_DEFAULT_AUTH_RATE);
}

static bool parse_duration(const char *s, int64_t *out_ms)
{
	uint64_t ms;

	if (!num_parse_duration_ms(s, &ms) || ms == 0)
		return false;
	*out_ms = (int64_t)ms;
	return true;
}

static bool copy_arg(char *dst, size_t size, const char *src)
{
	return (size_t)snprintf(dst, size, "%s", src) < size;
}

int main(int argc, char **argv)
{
	enum {
		OPT_LISTEN = 256,
		OPT_PORT,
		OPT_PORT_FILE,
		OPT_DB,
		OPT_NETWORK,
		OPT_MAX_PARTY,
		OPT_MAX_BODY,
		OPT_RELAY_SECRET,
		OPT_CLEANUP,
		OPT_PEER_TIMEOUT,
		OPT_RELAY_TIMEOUT,
		OPT_TOKEN_TTL,
		OPT_CHALLENGE_TTL,
		OPT_HB_FLUSH,
		OPT_EVENTS_PING,
		OPT_LOG_LEVEL,
		OPT_AUTH_RATE,
		OPT_STUN,
		OPT_STUN_ALTERNATE,
		OPT_RELAY_TOKEN_TTL,
		OPT_HELP,
		OPT_VERSION,
	};
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "port", required_argument, NULL, OPT_PORT },
		{ "port-file", required_argument, NULL, OPT_PORT_FILE },
		{ "db", required_argument, NULL, OPT_DB },
		{ "network", required_argument, NULL, OPT_NETWORK },
		{ "max-party-size", required_argument, NULL, OPT_MAX_PARTY },
		{ "max-body", required_argument, NULL, OPT_MAX_BODY },
		{ "relay-secret-file", required_argument, NULL, OPT_RELAY_SECRET },
		{ "cleanup-interval", required_argument, NULL, OPT_CLEANUP },
		{ "peer-timeout", required_argument, NULL, OPT_PEER_TIMEOUT },
		{ "relay-timeout", required_argument, NULL, OPT_RELAY_TIMEOUT },
		{ "token-ttl", required_argument, NULL, OPT_TOKEN_TTL },
		{ "challenge-ttl", required_argument, NULL, OPT_CHALLENGE_TTL },
		{ "heartbeat-flush", required_argument, NULL, OPT_HB_FLUSH },
		{ "events-ping", required_argument, NULL, OPT_EVENTS_PING },
		{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
		{ "auth-rate", required_argument, NULL, OPT_AUTH_RATE },
		{ "stun", required_argument, NULL, OPT_STUN },
		{ "stun-alternate", required_argument, NULL, OPT_STUN_ALTERNATE },
		{ "relay-token-ttl", required_argument, NULL, OPT_RELAY_TOKEN_TTL },
		{ "help", no_argument, NULL, OPT_HELP },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	struct stun_server_config stun_cfg = { .software = "LANrage " LANRAGE_VERSION };
	static struct stun_server stun;
	struct stun_listener stun_listener;
	char stun_spec[ADDR_STRLEN + 8] = "";
	bool stun_on = false;
	struct server_config cfg;
	struct server srv;
	struct event_base *base;
	int status;
	enum log_level level;
	uint64_t n;
	errmsg err;
	int opt, rc;

	log_init("lanrage-control");
	config_defaults(&cfg);
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		bool ok = true;

		switch (opt) {
		case OPT_LISTEN:
			ok = copy_arg(cfg.listen_addr, sizeof(cfg.listen_addr), optarg);
			break;
		case OPT_PORT:
			ok = num_parse_u64(optarg, 0, 65535, &n);
			cfg.port = (uint16_t)n;
			break;
		case OPT_PORT_FILE:
			ok = copy_arg(cfg.port_file, sizeof(cfg.port_file), optarg);
			break;
		case OPT_DB:
			ok = copy_arg(cfg.db_url, sizeof(cfg.db_url), optarg);
			break;
		case OPT_NETWORK:
			ok = copy_arg(cfg.network, sizeof(cfg.network), optarg);
			break;
		case OPT_MAX_PARTY:
			ok = num_parse_u64(optarg, 1, PARTY_MEMBERS_MAX, &n);
			cfg.max_party_size = (size_t)n;
			break;
		case OPT_MAX_BODY:
			ok = num_parse_u64(optarg, 256, 1 << 20, &n);
			cfg.max_body_bytes = (size_t)n;
			break;
		case OPT_RELAY_SECRET:
			ok = copy_arg(cfg.relay_secret_file, sizeof(cfg.relay_secret_file), optarg);
			break;
		case OPT_CLEANUP:
			ok = parse_duration(optarg, &cfg.cleanup_interval_ms);
			break;
		case OPT_PEER_TIMEOUT:
			ok = parse_duration(optarg, &cfg.peer_timeout_ms);
			break;
		case OPT_RELAY_TIMEOUT:
			ok = parse_duration(optarg, &cfg.relay_timeout_ms);
			break;
		case OPT_TOKEN_TTL:
			ok = parse_duration(optarg, &cfg.token_ttl_ms);
			break;
		case OPT_CHALLENGE_TTL:
			ok = parse_duration(optarg, &cfg.challenge_ttl_ms);
			break;
		case OPT_HB_FLUSH:
			ok = parse_duration(optarg, &cfg.heartbeat_flush_ms);
			break;
		case OPT_EVENTS_PING:
			/* Clients give up on a stream silent for 45 s. */
			ok = parse_duration(optarg, &cfg.events_ping_ms) &&
			     cfg.events_ping_ms >= 100 && cfg.events_ping_ms <= 30000;
			break;
		case OPT_LOG_LEVEL:
			ok = log_level_parse(optarg, &level);
			if (ok)
				log_set_level(level);
			break;
		case OPT_AUTH_RATE:
			ok = num_parse_u64(optarg, 0, 1000000, &n);
			cfg.auth_rate = (double)n;
			break;
		case OPT_STUN:
			ok = copy_arg(stun_spec, sizeof(stun_spec), optarg);
			break;
		case OPT_STUN_ALTERNATE:
			ok = addr_parse(&stun_cfg.alternate, optarg, NULL);
			break;
		case OPT_RELAY_TOKEN_TTL:
			/* The token's expiry is u32 Unix seconds: a year is plenty. */
			ok = parse_duration(optarg, &cfg.relay_token_ttl_ms) &&
			     cfg.relay_token_ttl_ms >= 1000 &&
			     cfg.relay_token_ttl_ms <= 366LL * 24 * 3600 * 1000;
			break;
		case OPT_HELP:
			usage(stdout);
			return 0;
		case OPT_VERSION:
			printf("lanrage-control %s\n", LANRAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
		if (!ok) {
			fprintf(stderr, "lanrage-control: bad value for --%s: `%s'\n",
			        opts[opt - OPT_LISTEN].name, optarg);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (!rand_init()) {
		fprintf(stderr, "lanrage-control: cannot initialise libsodium\n");
		return 1;
	}
	/* The STUN server (nat/stun_server): on the HTTP address, port 3478, unless told. */
	if (!stun_spec[0])
		snprintf(stun_spec, sizeof(stun_spec), "%s%s%s:%d",
		         strchr(cfg.listen_addr, ':') ? "[" : "", cfg.listen_addr,
		         strchr(cfg.listen_addr, ':') ? "]" : "", STUN_DEFAULT_PORT);
	stun_on = strcmp(stun_spec, "none") != 0;
	if (stun_on && (!addr_parse(&stun_cfg.primary, stun_spec, err) ||
	                !stun_server_init(&stun, &stun_cfg, err))) {
		fprintf(stderr, "lanrage-control: --stun: %s\n", err);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();
	if (!base)
		return 1;
	rc = server_start(&srv, &cfg, base, err);
	if (rc) {
		log_error("cannot start: %s", err);
		event_base_free(base);
		return 1;
	}
	if (stun_on && stun_listener_start(&stun_listener, base, &stun, err) < 0) {
		log_error("cannot start the STUN server: %s (use --stun ADDR:PORT or --stun none)",
		          err);
		server_stop(&srv);
		event_base_free(base);
		return 1;
	}
	if (stun_on)
		log_info("STUN on %s%s", stun_spec,
		         stun_server_rfc5780(&stun) ? " with RFC 5780 behaviour discovery" : "");
	status = evrun_until_signal(base) < 0 ? 1 : 0;
	if (stun_on)
		stun_listener_stop(&stun_listener);
	server_stop(&srv);
	event_base_free(base);
	libevent_global_shutdown();
	return status;
}
