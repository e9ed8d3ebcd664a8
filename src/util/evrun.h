/* evrun.h - a service's main loop: run until SIGINT or SIGTERM. */
#ifndef LANRAGE_UTIL_EVRUN_H
#define LANRAGE_UTIL_EVRUN_H

#include <event2/event.h>

#include "util/compiler.h"

/*
 * Dispatches base until SIGINT or SIGTERM arrives (logged) or the loop is
 * told to exit.  0, or -1 when the signals cannot be caught (nothing ran).
 */
int evrun_until_signal(struct event_base *base) WARN_UNUSED;

#endif
