/* metrics.c - the relay's counters as Prometheus text, served on a small HTTP port. */
#include "relay/metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <string.h>

#include "util/err.h"

enum { METRICS_MAX_HEADERS = 8192, METRICS_MAX_BODY = 1024, METRICS_TIMEOUT_SEC = 10 };

static void counter(struct evbuffer *out, const char *name, const char *help, uint64_t v)
{
	evbuffer_add_printf(out, "# HELP lanrage_relay_%s_total %s.\n", name, help);
	evbuffer_add_printf(out, "# TYPE lanrage_relay_%s_total counter\n", name);
	evbuffer_add_printf(out, "lanrage_relay_%s_total %llu\n", name, (unsigned long long)v);
}

static void gauge(struct evbuffer *out, const char *name, const char *help, long long v)
{
	evbuffer_add_printf(out, "# HELP lanrage_relay_%s %s.\n# TYPE lanrage_relay_%s gauge\n",
	                    name, help, name);
	evbuffer_add_printf(out, "lanrage_relay_%s %lld\n", name, v);
}

void metrics_write(const struct relay_stats *st, const struct metrics_gauges *g,
                   struct evbuffer *out)
{
#define RELAY_STAT_COUNTER(name, help) counter(out, #name, help, st->name);
	RELAY_STATS(RELAY_STAT_COUNTER)
#undef RELAY_STAT_COUNTER
	evbuffer_add_printf(out,
	                    "# HELP lanrage_relay_dropped_total Datagrams dropped, by reason.\n"
	                    "# TYPE lanrage_relay_dropped_total counter\n");
	/* Every reason, zeros included, so a dashboard sees the series before the first drop. */
	for (int v = RELAY_OK + 1; v < RELAY_VERDICT_COUNT; v++) {
		if (v == RELAY_DROP_UNEXPECTED)
			continue; /* a member's verdict, never the relay's */
		evbuffer_add_printf(out, "lanrage_relay_dropped_total{reason=\"%s\"} %llu\n",
		                    relay_verdict_label((enum relay_verdict)v),
		                    (unsigned long long)st->dropped[v]);
	}
	gauge(out, "sessions", "Bound members now", (long long)g->sessions);
	gauge(out, "max_sessions", "The client limit (--max-clients)", (long long)g->max_sessions);
	gauge(out, "uptime_seconds", "Seconds since start", (long long)g->uptime_sec);
	gauge(out, "registered",
	      "1 when the last announcement to the control server succeeded, 0 when not, -1 "
	      "standalone",
	      g->registered);
}

static void reply_error(struct evhttp_request *req, int status, const char *reason, const char *msg)
{
	struct evbuffer *buf = evbuffer_new();

	if (!buf) {
		evhttp_send_error(req, 503, NULL);
		return;
	}
	/* msg is ours, never the client's bytes: no JSON escaping needed. */
	evbuffer_add_printf(buf, "{\"error\": \"%s\"}\n", msg);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	                  "application/json");
	evhttp_send_reply(req, status, reason, buf);
	evbuffer_free(buf);
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct metrics_http *m = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	const struct relay_stats *st = NULL;
	struct metrics_gauges g = { 0 };
	struct evbuffer *buf;

	if (!path || strcmp(path, "/metrics") != 0) {
		reply_error(req, 404, "Not Found", "no such resource; try GET /metrics");
		return;
	}
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET");
		reply_error(req, 405, "Method Not Allowed", "only GET on /metrics");
		return;
	}
	buf = evbuffer_new();
	if (!buf) {
		evhttp_send_error(req, 503, NULL);
		return;
	}
	m->sample(m->arg, &st, &g);
	metrics_write(st, &g, buf);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	                  "text/plain; version=0.0.4");
	evhttp_send_reply(req, 200, "OK", buf);
	evbuffer_free(buf);
}

int metrics_start(struct metrics_http *m, struct event_base *base, const struct addr *addr,
                  metrics_sample_fn *sample, void *arg, char *err)
{
	struct evhttp_bound_socket *sock;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char ip[ADDR_STRLEN];

	memset(m, 0, sizeof(*m));
	m->sample = sample;
	m->arg = arg;
	m->http = evhttp_new(base);
	if (!m->http) {
		err_set(err, "metrics: cannot make an HTTP server");
		return -ENOMEM;
	}
	evhttp_set_max_headers_size(m->http, METRICS_MAX_HEADERS);
	evhttp_set_max_body_size(m->http, METRICS_MAX_BODY);
	evhttp_set_timeout(m->http, METRICS_TIMEOUT_SEC);
	evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	                                        EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	                                        EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
	evhttp_set_gencb(m->http, on_request, m);
	sock = evhttp_bind_socket_with_handle(m->http, addr_format_ip(addr, ip), addr_port(addr));
	if (!sock) {
		int e = errno;

		err_set(err, "metrics: cannot listen on %s port %u: %s", ip, addr_port(addr),
		        strerror(e));
		evhttp_free(m->http);
		m->http = NULL;
		return e ? -e : -EADDRINUSE;
	}
	if (getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss, &len) == 0)
		m->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
		                                         : ((struct sockaddr_in *)&ss)->sin_port);
	return 0;
}

void metrics_stop(struct metrics_http *m)
{
	if (m->http)
		evhttp_free(m->http);
	m->http = NULL;
}
