/* stun_server.h - a STUN Binding server with RFC 5780 CHANGE-REQUEST: a pure core. */
#ifndef LANRAGE_NAT_STUN_SERVER_H
#define LANRAGE_NAT_STUN_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nat/stun.h"
#include "util/addr.h"
#include "util/compiler.h"

/*
 * The server answers from up to four sockets.  Index bit 0 means "the
 * alternate port", bit 1 "the alternate address" (RFC 5780 names them
 * A1:P1, A1:P2, A2:P1, A2:P2), so a CHANGE-REQUEST is an XOR on the index.
 */
enum {
	STUN_SOCK_PRIMARY = 0,
	STUN_SOCK_ALT_PORT = 1,
	STUN_SOCK_ALT_IP = 2,
	STUN_SOCK_ALT_BOTH = 3,
	STUN_SERVER_SOCKETS = 4,
};

/* Per-source rate limit defaults: a discovery run needs at most ~15 requests. */
enum {
	STUN_RATE_PER_SEC = 20,
	STUN_RATE_BURST = 40,
	STUN_RATE_SLOTS = 512,
	STUN_SOFTWARE_MAX = 64,
};

struct stun_server_config {
	/* A1:P1.  May be a wildcard address (0.0.0.0:3478) when there is no alternate. */
	struct addr primary;
	/* A2:P2, or unset: then OTHER-ADDRESS is never sent and CHANGE-REQUEST gets 420. */
	struct addr alternate;
	/* SOFTWARE attribute, or NULL/"" for none. */
	const char *software;
	/* Requests per second and burst per source address; 0 picks the defaults. */
	uint32_t rate_per_sec, rate_burst;
};

enum stun_server_verdict {
	STUN_SERVER_REPLY,          /* out, out_len, out_sock are set */
	STUN_SERVER_DROP_MALFORMED, /* stats.malformed[] says why */
	STUN_SERVER_DROP_NOT_REQUEST,
	STUN_SERVER_DROP_RATELIMIT,
};

struct stun_server_stats {
	uint64_t requests, success, errors, not_request, ratelimited;
	uint64_t malformed[STUN_VERDICT_COUNT];
};

/* Token bucket per source address, in a fixed table (no allocation per packet). */
struct stun_rate_slot {
	struct addr src;
	uint64_t last_ns;
	uint64_t tokens_milli;
};

/* Owned by the program that embeds it (control server, relay, lanrage-stun). */
struct stun_server {
	struct addr local[STUN_SERVER_SOCKETS];
	unsigned n_sockets; /* 1, or 4 with RFC 5780 */
	char software[STUN_SOFTWARE_MAX];
	uint32_t rate_per_sec, rate_burst;
	uint64_t hash_seed;
	struct stun_rate_slot slots[STUN_RATE_SLOTS];
	struct stun_server_stats stats;
};

/*
 * Checks the configuration: with an alternate, both addresses must be
 * specific, of one family, with different IPs and different ports.  Fills
 * local[] with the addresses the sockets must be bound to.
 */
bool stun_server_init(struct stun_server *s, const struct stun_server_config *cfg,
                      char *err) WARN_UNUSED;

/* Whether the server can answer CHANGE-REQUEST (RFC 5780 behaviour discovery). */
bool stun_server_rfc5780(const struct stun_server *s);

/*
 * One datagram that arrived on socket `sock` from `from` at `now_ns`.  Binding
 * requests (RFC 5389 and RFC 3489 forms) get a success response with
 * XOR-MAPPED-ADDRESS, MAPPED-ADDRESS, RESPONSE-ORIGIN and (with an alternate)
 * OTHER-ADDRESS, sent from the socket the CHANGE-REQUEST names; other requests
 * get 400, unknown comprehension-required attributes 420 (RFC 8489 6.3.1).
 * The response is written to out (cap >= STUN_MAX_LEN) and must be sent from
 * socket *out_sock to `from`.
 */
enum stun_server_verdict stun_server_handle(struct stun_server *s, unsigned sock,
                                            const struct addr *from, const uint8_t *pkt, size_t len,
                                            uint64_t now_ns, uint8_t *out, size_t cap,
                                            size_t *out_len, unsigned *out_sock) WARN_UNUSED;

#endif
