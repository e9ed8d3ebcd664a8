/* metrics.h - the relay's counters as Prometheus text, served on a small HTTP port. */
#ifndef LANRAGE_RELAY_METRICS_H
#define LANRAGE_RELAY_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "relay/engine.h"
#include "util/addr.h"
#include "util/compiler.h"

struct event_base;
struct evhttp;
struct evbuffer;

/* Everything a scrape shows besides the counters. */
struct metrics_gauges {
	size_t sessions, max_sessions;
	uint64_t uptime_sec;
	int registered; /* 1 registered with the control server, 0 not (yet), -1 standalone */
};

typedef void metrics_sample_fn(void *arg, const struct relay_stats **stats,
                               struct metrics_gauges *g);

/* Owned by the relay; loop thread only. */
struct metrics_http {
	struct evhttp *http;
	metrics_sample_fn *sample;
	void *arg;
	uint16_t port; /* bound */
};

/* Writes the exposition: lanrage_relay_* counters, drops by reason, gauges. */
void metrics_write(const struct relay_stats *st, const struct metrics_gauges *g,
                   struct evbuffer *out);

/* GET /metrics on addr; other paths 404, other methods 405, both with {"error"}. */
int metrics_start(struct metrics_http *m, struct event_base *base, const struct addr *addr,
                  metrics_sample_fn *sample, void *arg, char *err) WARN_UNUSED;
void metrics_stop(struct metrics_http *m);

#endif
