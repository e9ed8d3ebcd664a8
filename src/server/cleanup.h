/* cleanup.h - the periodic sweep: stale members, empty parties, expired tokens, old relays. */
#ifndef LANRAGE_SERVER_CLEANUP_H
#define LANRAGE_SERVER_CLEANUP_H

#include "util/compiler.h"

struct server;

/* Arms the timer (every cfg.cleanup_interval_ms). */
int cleanup_start(struct server *srv) WARN_UNUSED;
void cleanup_stop(struct server *srv);
/* One pass, now. */
void cleanup_run(struct server *srv);

#endif
