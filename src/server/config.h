/* config.h - the control server's settings, filled from flags by main.c. */
#ifndef LANRAGE_SERVER_CONFIG_H
#define LANRAGE_SERVER_CONFIG_H

#include <stddef.h>
#include <stdint.h>

enum {
	CONFIG_DEFAULT_PORT = 8667,
	CONFIG_DEFAULT_MAX_PARTY_SIZE = 64,
	CONFIG_DEFAULT_MAX_BODY_BYTES = 64 * 1024,
	CONFIG_DEFAULT_CLEANUP_MS = 60 * 1000,
	CONFIG_DEFAULT_PEER_TIMEOUT_MS = 5 * 60 * 1000,
	CONFIG_DEFAULT_RELAY_TIMEOUT_MS = 10 * 60 * 1000,
	CONFIG_DEFAULT_TOKEN_TTL_MS = 24 * 60 * 60 * 1000,
	CONFIG_DEFAULT_HEARTBEAT_FLUSH_MS = 1000,
	CONFIG_DEFAULT_EVENTS_PING_MS = 15 * 1000,
	CONFIG_DEFAULT_CHALLENGE_TTL_MS = 60 * 1000,
	CONFIG_DEFAULT_AUTH_RATE = 20, /* per second per address */
	CONFIG_DEFAULT_RELAY_TOKEN_TTL_MS = 60 * 60 * 1000,
};

/* Durations are milliseconds. */
struct server_config {
	char listen_addr[64]; /* numeric IP */
	uint16_t port;        /* 0: any free port */
	char port_file[512];  /* "" or where to write the bound port */
	char db_url[512];
	char network[64]; /* virtual network of every party */
	char relay_secret_file[512];
	size_t max_party_size;
	size_t max_body_bytes;
	int64_t cleanup_interval_ms;
	int64_t peer_timeout_ms;
	int64_t relay_timeout_ms;
	int64_t token_ttl_ms;
	int64_t heartbeat_flush_ms;
	int64_t events_ping_ms;
	int64_t challenge_ttl_ms;
	int64_t relay_token_ttl_ms; /* relay tokens (docs/PROTOCOL.md) live this long */
	double auth_rate;           /* registrations per second per address; 0: unlimited */
};

void config_defaults(struct server_config *cfg);

#endif
