/* server.c - the control server: its modules, wired to one libevent loop. */
#include "server/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/http.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "crypto/secret.h"
#include "nat/relay_token.h"
#include "server/cleanup.h"
#include "server/http.h"
#include "util/err.h"
#include "util/file.h"
#include "util/log.h"

/* evhttp refuses bodies above this itself; our own limit (a JSON 413) sits below it. */
enum { HTTP_HARD_BODY_LIMIT = 1 << 20, HTTP_MAX_HEADERS = 16 * 1024, HTTP_TIMEOUT_SEC = 60 };

void config_defaults(struct server_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->listen_addr, sizeof(cfg->listen_addr), "127.0.0.1");
	cfg->port = CONFIG_DEFAULT_PORT;
	snprintf(cfg->db_url, sizeof(cfg->db_url), "sqlite:lanrage-control.db");
	snprintf(cfg->network, sizeof(cfg->network), "10.66.0.0/16");
	cfg->max_party_size = CONFIG_DEFAULT_MAX_PARTY_SIZE;
	cfg->max_body_bytes = CONFIG_DEFAULT_MAX_BODY_BYTES;
	cfg->cleanup_interval_ms = CONFIG_DEFAULT_CLEANUP_MS;
	cfg->peer_timeout_ms = CONFIG_DEFAULT_PEER_TIMEOUT_MS;
	cfg->relay_timeout_ms = CONFIG_DEFAULT_RELAY_TIMEOUT_MS;
	cfg->token_ttl_ms = CONFIG_DEFAULT_TOKEN_TTL_MS;
	cfg->heartbeat_flush_ms = CONFIG_DEFAULT_HEARTBEAT_FLUSH_MS;
	cfg->events_ping_ms = CONFIG_DEFAULT_EVENTS_PING_MS;
	cfg->challenge_ttl_ms = CONFIG_DEFAULT_CHALLENGE_TTL_MS;
	cfg->auth_rate = CONFIG_DEFAULT_AUTH_RATE;
	cfg->relay_token_ttl_ms = CONFIG_DEFAULT_RELAY_TOKEN_TTL_MS;
}

static int load_relay_secret(struct server *srv, char *err)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (!srv->cfg.relay_secret_file[0])
		return 0;
	rc = file_read_all(srv->cfg.relay_secret_file, 4096, &text, &len);
	if (rc) {
		err_set(err, "relay secret file %s: %s", srv->cfg.relay_secret_file, strerror(-rc));
		return rc;
	}
	/* Trimmed as the relays trim it; the token key is derived once, here. */
	if (!relay_token_key(srv->relay_token_key, text, len, err)) {
		err_prefix(err, "relay secret file %s", srv->cfg.relay_secret_file);
		rc = -EINVAL;
	} else {
		crypto_generichash((uint8_t *)srv->relay_secret_hash, 32, (const uint8_t *)text,
		                   relay_secret_trim(text, len), NULL, 0);
		srv->has_relay_secret = true;
	}
	secret_zero(text, len);
	free(text);
	return rc;
}

static int write_port_file(struct server *srv, char *err)
{
	char text[16];
	int n = snprintf(text, sizeof(text), "%u\n", srv->port);
	int rc;

	if (!srv->cfg.port_file[0])
		return 0;
	rc = file_write_atomic(srv->cfg.port_file, text, (size_t)n, 0644);
	if (rc)
		err_set(err, "port file %s: %s", srv->cfg.port_file, strerror(-rc));
	return rc;
}

static int bind_http(struct server *srv, char *err)
{
	struct evhttp_bound_socket *sock;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	srv->http = evhttp_new(srv->base);
	if (!srv->http)
		return -ENOMEM;
	evhttp_set_max_body_size(srv->http, HTTP_HARD_BODY_LIMIT);
	evhttp_set_max_headers_size(srv->http, HTTP_MAX_HEADERS);
	evhttp_set_timeout(srv->http, HTTP_TIMEOUT_SEC);
	http_init(srv, srv->http);
	sock = evhttp_bind_socket_with_handle(srv->http, srv->cfg.listen_addr, srv->cfg.port);
	if (!sock) {
		err_set(err, "cannot listen on %s port %u: %s", srv->cfg.listen_addr, srv->cfg.port,
		        strerror(errno));
		return -EADDRINUSE;
	}
	if (getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss, &len) != 0)
		return -errno;
	srv->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
	                                           : ((struct sockaddr_in *)&ss)->sin_port);
	return 0;
}

int server_start(struct server *srv, const struct server_config *cfg, struct event_base *base,
                 char *err)
{
	int rc;

	memset(srv, 0, sizeof(*srv));
	srv->cfg = *cfg;
	srv->base = base;
	ratelimit_init(&srv->auth_limit, cfg->auth_rate);
	rc = load_relay_secret(srv, err);
	if (rc)
		return rc;
	rc = store_open(&srv->store, cfg->db_url, err);
	if (rc)
		return rc;
	rc = auth_init(&srv->auth, &srv->store, cfg->token_ttl_ms, cfg->challenge_ttl_ms, err);
	if (rc)
		goto err_store;
	rc = heartbeat_start(&srv->heartbeat, &srv->store, cfg->heartbeat_flush_ms, err);
	if (rc)
		goto err_auth;
	rc = events_start(&srv->events, base, &srv->store, cfg->events_ping_ms, err);
	if (rc)
		goto err_heartbeat;
	srv->registry = (struct registry){ .store = &srv->store,
		                           .events = &srv->events,
		                           .heartbeat = &srv->heartbeat,
		                           .max_party_size = cfg->max_party_size };
	snprintf(srv->registry.network, sizeof(srv->registry.network), "%s", cfg->network);
	rc = bind_http(srv, err);
	if (rc)
		goto err_events;
	rc = cleanup_start(srv);
	if (rc) {
		err_set(err, "cannot start the cleanup timer");
		goto err_http;
	}
	rc = write_port_file(srv, err);
	if (rc)
		goto err_cleanup;
	log_info("lanrage-control %s listening on %s port %u (%s)", LANRAGE_VERSION,
	         cfg->listen_addr, srv->port, srv->store.ops->name);
	return 0;
err_cleanup:
	cleanup_stop(srv);
err_http:
	evhttp_free(srv->http);
err_events:
	events_stop(&srv->events);
err_heartbeat:
	heartbeat_stop(&srv->heartbeat);
err_auth:
	auth_clear(&srv->auth);
err_store:
	store_close(&srv->store);
	secret_zero(srv->relay_token_key, sizeof(srv->relay_token_key));
	return rc;
}

void server_stop(struct server *srv)
{
	cleanup_stop(srv);
	events_stop(&srv->events);
	evhttp_free(srv->http);
	heartbeat_stop(&srv->heartbeat);
	auth_clear(&srv->auth);
	store_close(&srv->store);
	secret_zero(srv->relay_token_key, sizeof(srv->relay_token_key));
	log_info("lanrage-control stopped");
}
