/* main.c - lanraged: configuration, then the daemon's event loop. */
#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "crypto/rand.h"
#include "daemon/config.h"
#include "daemon/daemon.h"
#include "daemon/settings.h"
#include "util/err.h"
#include "util/log.h"

int main(int argc, char **argv)
{
	static struct daemon d;
	struct daemon_config cfg;
	struct settings *settings = NULL;
	struct event_base *base = NULL;
	enum log_level level;
	errmsg err = "";
	int ret;

	log_init("lanraged");
	if (!rand_init()) {
		fprintf(stderr, "lanraged: cannot initialise the crypto library\n");
		return 1;
	}
	ret = config_load(&cfg, argc, argv, &settings, err);
	if (ret == 1)
		return 0;
	if (ret < 0) {
		fprintf(stderr, "lanraged: %s\n", err);
		settings_close(settings);
		return 2;
	}
	if (log_level_parse(cfg.log_level, &level))
		log_set_level(level);
	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();
	if (!base) {
		log_error("cannot create the event loop");
		settings_close(settings);
		return 1;
	}
	ret = daemon_start(&d, base, &cfg, settings, err);
	if (ret < 0) {
		log_error("%s", err);
		d.exit_code = 1;
	} else {
		event_base_dispatch(base);
	}
	daemon_stop(&d);
	settings_close(settings);
	event_base_free(base);
	log_info("stopped");
	return ret < 0 ? 1 : d.exit_code;
}
