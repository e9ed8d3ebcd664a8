/* metrics.h - request counters and the Prometheus text exposition. */
#ifndef LANRAGE_SERVER_METRICS_H
#define LANRAGE_SERVER_METRICS_H

#include <stdint.h>

#include "server/route.h"

struct evbuffer;

/* Statuses counted by name; anything else is counted as "other". */
enum { METRICS_STATUSES = 12, METRICS_LATENCY_BUCKETS = 9 };

/* Gauges sampled at scrape time. */
struct metrics_gauges {
	int64_t parties, peers, relays, subscribers, tokens_cached;
	uint64_t events_published, events_delivered, tokens_issued, heartbeats_written;
	uint64_t relay_tokens_issued;
};

/* Owned by the server; loop thread only. */
struct metrics {
	uint64_t requests[ROUTE_COUNT + 1][METRICS_STATUSES];
	uint64_t latency[METRICS_LATENCY_BUCKETS]; /* cumulative on output */
	uint64_t latency_count;
	double latency_sum_sec;
};

void metrics_request(struct metrics *m, enum route_id route, int status, uint64_t elapsed_ns);
void metrics_write(const struct metrics *m, const struct metrics_gauges *g, struct evbuffer *out);

#endif
