/* announce.c - the relay registers with the control server (POST /relays), again and again. */
#include "relay/announce.h"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "control/control_client.h"
#include "crypto/secret.h"
#include "util/err.h"
#include "util/log.h"
#include "util/now.h"

enum { ANNOUNCE_RETRY_MIN_MS = 1000 };

static void schedule(struct announce *a, uint64_t ms)
{
	struct timeval tv = { .tv_sec = (time_t)(ms / 1000), .tv_usec = (long)(ms % 1000) * 1000 };

	event_add(a->timer, &tv);
}

static void on_reply(const struct control_reply *r, void *arg)
{
	struct announce *a = arg;

	a->in_flight = false;
	if (r->status == 200 || r->status == 201) {
		a->ok++;
		if (a->state != 1)
			log_info("registered with the control server %s as %s (%s:%u, region %s)",
			         a->url, a->relay_id, a->public_ip, a->port, a->region);
		a->state = 1;
		a->backoff_ms = 0;
		schedule(a, a->interval_ms);
		return;
	}
	a->failed++;
	/* Doubling from 1 s up to the interval; a refusal (4xx) waits the whole interval. */
	if (r->status >= 400 && r->status < 500)
		a->backoff_ms = a->interval_ms;
	else
		a->backoff_ms = a->backoff_ms ? a->backoff_ms * 2 : ANNOUNCE_RETRY_MIN_MS;
	if (a->backoff_ms > a->interval_ms)
		a->backoff_ms = a->interval_ms;
	if (a->state != -1 || r->status >= 400) {
		if (r->status == 401 || r->status == 403)
			log_error("control server %s refused the relay (%d: %s): is "
			          "--relay-secret-file the one it has? retrying every %llu s",
			          a->url, r->status, r->error ? r->error : "",
			          (unsigned long long)(a->backoff_ms / 1000));
		else if (r->status)
			log_error("control server %s answered %d (%s); the relay goes on "
			          "forwarding, retrying in %llu ms",
			          a->url, r->status, r->error ? r->error : "",
			          (unsigned long long)a->backoff_ms);
		else
			log_error("control server %s is unreachable (%s); the relay goes on "
			          "forwarding, retrying with backoff",
			          a->url, r->error ? r->error : "no answer");
	}
	a->state = -1;
	schedule(a, a->backoff_ms);
}

static void send_now(struct announce *a)
{
	json_t *body;
	int rc;

	if (a->in_flight)
		return;
	body = json_pack("{s:s, s:s, s:i, s:s, s:i}", "relay_id", a->relay_id, "public_ip",
	                 a->public_ip, "port", (int)a->port, "region", a->region, "capacity",
	                 (int)a->capacity);
	rc = body ? control_relay_announce(a->client, a->secret, body, on_reply, a) : -ENOMEM;
	json_decref(body);
	if (rc) {
		log_error("cannot announce to %s: %s", a->url, strerror(-rc));
		schedule(a, a->interval_ms);
		return;
	}
	a->in_flight = true;
	a->sent++;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	send_now(arg);
}

static void copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

int announce_start(struct announce *a, struct event_base *base, const struct announce_config *cfg,
                   const char *secret, size_t secret_len, char *err)
{
	memset(a, 0, sizeof(*a));
	copy(a->url, sizeof(a->url), cfg->url);
	copy(a->relay_id, sizeof(a->relay_id), cfg->relay_id);
	copy(a->region, sizeof(a->region), cfg->region);
	copy(a->public_ip, sizeof(a->public_ip), cfg->public_ip);
	a->port = cfg->port;
	a->capacity = cfg->capacity;
	a->interval_ms = cfg->interval_ms ? cfg->interval_ms : 60000;
	a->secret = malloc(secret_len + 1);
	if (!a->secret) {
		err_set(err, "out of memory");
		return -ENOMEM;
	}
	memcpy(a->secret, secret, secret_len);
	a->secret[secret_len] = '\0';
	a->client = control_client_create(base, a->url, err);
	if (!a->client)
		goto err_secret;
	a->timer = evtimer_new(base, on_timer, a);
	if (!a->timer) {
		err_set(err, "libevent: cannot make a timer");
		goto err_client;
	}
	send_now(a);
	return 0;
err_client:
	control_client_destroy(a->client);
	a->client = NULL;
err_secret:
	secret_zero(a->secret, secret_len);
	free(a->secret);
	a->secret = NULL;
	return -EINVAL;
}

void announce_stop(struct announce *a)
{
	if (a->timer)
		event_free(a->timer);
	if (a->client)
		control_client_destroy(a->client);
	if (a->secret) {
		secret_zero(a->secret, strlen(a->secret));
		free(a->secret);
	}
	memset(a, 0, sizeof(*a));
}

bool announce_registered(const struct announce *a)
{
	return a->state == 1;
}
