/* main.c - lanrage-stun, a standalone STUN server (the control server and relay embed the same). */
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "crypto/rand.h"
#include "nat/stun_listener.h"
#include "nat/stun_server.h"
#include "util/err.h"
#include "util/evrun.h"
#include "util/log.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: lanrage-stun [--listen ADDR:PORT] [--alternate ADDR:PORT]\n"
	           "                    [--software TEXT] [--log-level error|info|debug]\n\n"
	           "Answers STUN Binding requests (RFC 8489, RFC 3489 clients too) on ADDR:PORT\n"
	           "(default 0.0.0.0:3478).  With --alternate, a second address and port, it\n"
	           "also answers CHANGE-REQUEST for RFC 5780 NAT behaviour discovery, listening\n"
	           "on all four combinations of the two addresses and ports.\n");
}

int main(int argc, char **argv)
{
	struct stun_server_config cfg = { .software = "LANrage " LANRAGE_VERSION };
	static struct stun_server server;
	struct stun_listener listener;
	struct event_base *base;
	enum log_level level = LL_INFO;
	char list[4 * ADDR_STRLEN + 8] = "";
	errmsg err;
	int ret = 1;

	log_init("lanrage-stun");
	if (!addr_parse(&cfg.primary, "0.0.0.0:3478", err))
		return 1;
	addr_clear(&cfg.alternate);
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
			usage(stdout);
			return 0;
		}
		if (!val) {
			usage(stderr);
			return 2;
		}
		i++;
		if (!strcmp(arg, "--listen")) {
			if (!addr_parse(&cfg.primary, val, err))
				goto bad;
		} else if (!strcmp(arg, "--alternate")) {
			if (!addr_parse(&cfg.alternate, val, err))
				goto bad;
		} else if (!strcmp(arg, "--software")) {
			cfg.software = val;
		} else if (!strcmp(arg, "--log-level")) {
			if (!log_level_parse(val, &level)) {
				err_set(err, "Unknown log level `%s'", val);
				goto bad;
			}
		} else {
			usage(stderr);
			return 2;
		}
	}
	log_set_level(level);
	if (!rand_init())
		return 1;
	if (!stun_server_init(&server, &cfg, err))
		goto bad;
	base = event_base_new();
	if (!base)
		return 1;
	if (stun_listener_start(&listener, base, &server, err) < 0) {
		log_error("%s", err);
		goto out_base;
	}
	for (unsigned i = 0; i < server.n_sockets; i++) {
		char buf[ADDR_STRLEN];

		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
		         addr_format(&server.local[i], buf));
	}
	log_info("listening on %s (RFC 5780 %s)", list,
	         stun_server_rfc5780(&server) ? "behaviour discovery" : "off: no --alternate");
	if (evrun_until_signal(base) < 0)
		goto out_listener;
	log_info("stopping: %llu requests, %llu answered, %llu errors, %llu rate-limited, %llu "
	         "not requests, %llu malformed",
	         (unsigned long long)server.stats.requests,
	         (unsigned long long)server.stats.success, (unsigned long long)server.stats.errors,
	         (unsigned long long)server.stats.ratelimited,
	         (unsigned long long)server.stats.not_request,
	         (unsigned long long)(server.stats.malformed[STUN_DROP_NOT_STUN] +
	                              server.stats.malformed[STUN_DROP_LENGTH] +
	                              server.stats.malformed[STUN_DROP_TRUNCATED] +
	                              server.stats.malformed[STUN_DROP_BAD_ATTR] +
	                              server.stats.malformed[STUN_DROP_FINGERPRINT]));
	ret = 0;
out_listener:
	stun_listener_stop(&listener);
out_base:
	event_base_free(base);
	return ret;
bad:
	fprintf(stderr, "lanrage-stun: %s\n", err);
	return 2;
}
