/* metrics.c - request counters and the Prometheus text exposition. */
#include "server/metrics.h"

#include <event2/buffer.h>

static const int statuses[METRICS_STATUSES - 1] = { 200, 201, 400, 401, 403, 404,
	                                            405, 409, 413, 429, 503 };

/* Upper bounds in seconds; the last bucket is +Inf. */
static const double latency_le[METRICS_LATENCY_BUCKETS - 1] = { 0.0005, 0.001, 0.002, 0.005,
	                                                        0.01,   0.05,  0.1,   1.0 };

static int status_index(int status)
{
	for (int i = 0; i < METRICS_STATUSES - 1; i++) {
		if (statuses[i] == status)
			return i;
	}
	return METRICS_STATUSES - 1;
}

void metrics_request(struct metrics *m, enum route_id route, int status, uint64_t elapsed_ns)
{
	double sec = (double)elapsed_ns / 1e9;
	int b = 0;

	m->requests[route <= ROUTE_COUNT ? route : ROUTE_COUNT][status_index(status)]++;
	while (b < METRICS_LATENCY_BUCKETS - 1 && sec > latency_le[b])
		b++;
	m->latency[b]++;
	m->latency_count++;
	m->latency_sum_sec += sec;
}

void metrics_write(const struct metrics *m, const struct metrics_gauges *g, struct evbuffer *out)
{
	uint64_t cum = 0;

	evbuffer_add_printf(out, "# HELP lanrage_control_requests_total HTTP requests answered, "
	                         "by route and status.\n"
	                         "# TYPE lanrage_control_requests_total counter\n");
	for (int r = 0; r <= ROUTE_COUNT; r++) {
		for (int s = 0; s < METRICS_STATUSES; s++) {
			if (!m->requests[r][s])
				continue;
			if (s < METRICS_STATUSES - 1)
				evbuffer_add_printf(out,
				                    "lanrage_control_requests_total{route=\"%s\","
				                    "status=\"%d\"} %llu\n",
				                    route_template((enum route_id)r), statuses[s],
				                    (unsigned long long)m->requests[r][s]);
			else
				evbuffer_add_printf(out,
				                    "lanrage_control_requests_total{route=\"%s\","
				                    "status=\"other\"} %llu\n",
				                    route_template((enum route_id)r),
				                    (unsigned long long)m->requests[r][s]);
		}
	}
	evbuffer_add_printf(out, "# HELP lanrage_control_request_duration_seconds Time to answer "
	                         "a request (event streams: to their first byte).\n"
	                         "# TYPE lanrage_control_request_duration_seconds histogram\n");
	for (int b = 0; b < METRICS_LATENCY_BUCKETS; b++) {
		cum += m->latency[b];
		if (b < METRICS_LATENCY_BUCKETS - 1)
			evbuffer_add_printf(
			    out,
			    "lanrage_control_request_duration_seconds_bucket{le=\"%g\"}"
			    " %llu\n",
			    latency_le[b], (unsigned long long)cum);
		else
			evbuffer_add_printf(
			    out,
			    "lanrage_control_request_duration_seconds_bucket{le=\"+Inf\"}"
			    " %llu\n",
			    (unsigned long long)cum);
	}
	evbuffer_add_printf(out,
	                    "lanrage_control_request_duration_seconds_sum %.6f\n"
	                    "lanrage_control_request_duration_seconds_count %llu\n",
	                    m->latency_sum_sec, (unsigned long long)m->latency_count);
	evbuffer_add_printf(
	    out,
	    "# HELP lanrage_control_parties Parties in the database.\n"
	    "# TYPE lanrage_control_parties gauge\nlanrage_control_parties %lld\n"
	    "# HELP lanrage_control_peers Party members in the database.\n"
	    "# TYPE lanrage_control_peers gauge\nlanrage_control_peers %lld\n"
	    "# HELP lanrage_control_relays Registered relays.\n"
	    "# TYPE lanrage_control_relays gauge\nlanrage_control_relays %lld\n"
	    "# HELP lanrage_control_event_subscribers Open event streams on this instance.\n"
	    "# TYPE lanrage_control_event_subscribers gauge\n"
	    "lanrage_control_event_subscribers %lld\n"
	    "# HELP lanrage_control_tokens_cached Tokens in this instance's cache.\n"
	    "# TYPE lanrage_control_tokens_cached gauge\nlanrage_control_tokens_cached %lld\n"
	    "# HELP lanrage_control_tokens_issued_total Tokens issued by this instance.\n"
	    "# TYPE lanrage_control_tokens_issued_total counter\n"
	    "lanrage_control_tokens_issued_total %llu\n"
	    "# HELP lanrage_control_events_published_total Events this instance published.\n"
	    "# TYPE lanrage_control_events_published_total counter\n"
	    "lanrage_control_events_published_total %llu\n"
	    "# HELP lanrage_control_events_delivered_total Events written to subscribers here.\n"
	    "# TYPE lanrage_control_events_delivered_total counter\n"
	    "lanrage_control_events_delivered_total %llu\n"
	    "# HELP lanrage_control_heartbeats_written_total last_seen rows written in batches.\n"
	    "# TYPE lanrage_control_heartbeats_written_total counter\n"
	    "lanrage_control_heartbeats_written_total %llu\n"
	    "# HELP lanrage_control_relay_tokens_issued_total Relay tokens issued by this "
	    "instance.\n"
	    "# TYPE lanrage_control_relay_tokens_issued_total counter\n"
	    "lanrage_control_relay_tokens_issued_total %llu\n",
	    (long long)g->parties, (long long)g->peers, (long long)g->relays,
	    (long long)g->subscribers, (long long)g->tokens_cached,
	    (unsigned long long)g->tokens_issued, (unsigned long long)g->events_published,
	    (unsigned long long)g->events_delivered, (unsigned long long)g->heartbeats_written,
	    (unsigned long long)g->relay_tokens_issued);
}
