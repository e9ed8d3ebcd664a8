/* evrun.c - a service's main loop: run until SIGINT or SIGTERM. */
#include "util/evrun.h"

#include <signal.h>

#include "util/log.h"

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	log_info("signal %d: stopping", (int)sig);
	event_base_loopexit(arg, NULL);
}

int evrun_until_signal(struct event_base *base)
{
	struct event *sigint = evsignal_new(base, SIGINT, on_signal, base);
	struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, base);
	int ret = -1;

	if (sigint && sigterm && event_add(sigint, NULL) == 0 && event_add(sigterm, NULL) == 0) {
		event_base_dispatch(base);
		ret = 0;
	} else {
		log_error("cannot catch SIGINT and SIGTERM");
	}
	if (sigint)
		event_free(sigint);
	if (sigterm)
		event_free(sigterm);
	return ret;
}
