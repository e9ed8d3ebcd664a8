/* cleanup.c - the periodic sweep: stale members, empty parties, expired tokens, old relays. */
#include "server/cleanup.h"

#include <errno.h>
#include <event2/event.h>

#include "server/relays.h"
#include "server/server.h"
#include "util/log.h"
#include "util/now.h"

void cleanup_run(struct server *srv)
{
	int64_t now = now_wall_ms();
	errmsg err;
	int n;

	/* Stale means not seen, as far as any written heartbeat says: write ours first. */
	heartbeat_flush(&srv->heartbeat);
	n = registry_expire(&srv->registry, now - srv->cfg.peer_timeout_ms);
	if (n > 0)
		log_info("cleanup: %d members not seen for %lld ms removed", n,
		         (long long)srv->cfg.peer_timeout_ms);
	/* Leaving never leaves a party empty; this catches rows from older versions or hands. */
	if (store_query(&srv->store,
	                "DELETE FROM parties WHERE NOT EXISTS (SELECT 1 FROM members m WHERE "
	                "m.party_id = parties.party_id)",
	                NULL, 0, NULL, NULL, err))
		log_error("cleanup: removing empty parties: %s", err);
	(void)auth_expire(&srv->auth, now);
	(void)relays_expire(&srv->store, now - srv->cfg.relay_timeout_ms);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	cleanup_run(arg);
}

int cleanup_start(struct server *srv)
{
	int64_t ms = srv->cfg.cleanup_interval_ms;
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	srv->cleanup_timer = event_new(srv->base, -1, EV_PERSIST, on_timer, srv);
	if (!srv->cleanup_timer || event_add(srv->cleanup_timer, &tv) != 0)
		return -ENOMEM;
	return 0;
}

void cleanup_stop(struct server *srv)
{
	if (srv->cleanup_timer)
		event_free(srv->cleanup_timer);
	srv->cleanup_timer = NULL;
}
