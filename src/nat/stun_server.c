/* stun_server.c - a STUN Binding server with RFC 5780 CHANGE-REQUEST: a pure core. */
#include "nat/stun_server.h"

#include <string.h>

#include "crypto/rand.h"
#include "util/err.h"

static bool is_wildcard(const struct addr *a)
{
	static const struct in6_addr any6 = IN6ADDR_ANY_INIT;

	if (a->sa.sa_family == AF_INET)
		return a->in4.sin_addr.s_addr == htonl(INADDR_ANY);
	return memcmp(&a->in6.sin6_addr, &any6, sizeof(any6)) == 0;
}

bool stun_server_init(struct stun_server *s, const struct stun_server_config *cfg, char *err)
{
	char b1[ADDR_STRLEN], b2[ADDR_STRLEN];
	const struct addr *p = &cfg->primary, *a = &cfg->alternate;

	memset(s, 0, sizeof(*s));
	if (!addr_is_set(p)) {
		err_set(err, "STUN server: no listening address");
		return false;
	}
	s->local[STUN_SOCK_PRIMARY] = *p;
	s->n_sockets = 1;
	if (addr_is_set(a)) {
		if (a->sa.sa_family != p->sa.sa_family || is_wildcard(p) || is_wildcard(a) ||
		    addr_equal_ip(p, a) || addr_port(p) == addr_port(a) || addr_port(p) == 0 ||
		    addr_port(a) == 0) {
			err_set(err,
			        "STUN server: alternate `%s' must differ from `%s' in both address "
			        "and port, with specific addresses of one family",
			        addr_format(a, b1), addr_format(p, b2));
			return false;
		}
		/* A1:P2, A2:P1, A2:P2. */
		s->local[STUN_SOCK_ALT_PORT] = *p;
		addr_set_port(&s->local[STUN_SOCK_ALT_PORT], addr_port(a));
		s->local[STUN_SOCK_ALT_IP] = *a;
		addr_set_port(&s->local[STUN_SOCK_ALT_IP], addr_port(p));
		s->local[STUN_SOCK_ALT_BOTH] = *a;
		s->n_sockets = STUN_SERVER_SOCKETS;
	}
	if (cfg->software) {
		size_t n = strlen(cfg->software);

		if (n >= sizeof(s->software)) {
			err_set(err, "STUN server: SOFTWARE too long (%zu bytes)", n);
			return false;
		}
		memcpy(s->software, cfg->software, n + 1);
	}
	s->rate_per_sec = cfg->rate_per_sec ? cfg->rate_per_sec : STUN_RATE_PER_SEC;
	s->rate_burst = cfg->rate_burst ? cfg->rate_burst : STUN_RATE_BURST;
	s->hash_seed = rand_u64();
	return true;
}

bool stun_server_rfc5780(const struct stun_server *s)
{
	return s->n_sockets == STUN_SERVER_SOCKETS;
}

/* The source address alone picks a slot: varying the port buys no fresh bucket. */
static size_t slot_of(const struct stun_server *s, const struct addr *src)
{
	const uint8_t *ip;
	size_t n;
	uint64_t h = s->hash_seed ^ 0xcbf29ce484222325ull;

	if (src->sa.sa_family == AF_INET) {
		ip = (const uint8_t *)&src->in4.sin_addr;
		n = 4;
	} else {
		ip = src->in6.sin6_addr.s6_addr;
		n = 16;
	}
	for (size_t i = 0; i < n; i++) {
		h ^= ip[i];
		h *= 0x100000001b3ull;
	}
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	return (size_t)(h % STUN_RATE_SLOTS);
}

/* Token bucket: rate_per_sec tokens a second up to rate_burst; one per request. */
static bool rate_allow(struct stun_server *s, const struct addr *src, uint64_t now_ns)
{
	struct stun_rate_slot *slot = &s->slots[slot_of(s, src)];
	uint64_t cap = (uint64_t)s->rate_burst * 1000;

	if (!addr_equal_ip(&slot->src, src) || !addr_is_set(&slot->src)) {
		/* A new source (or a colliding one) starts with a full bucket. */
		slot->src = *src;
		slot->tokens_milli = cap;
	} else if (now_ns > slot->last_ns) {
		uint64_t elapsed = now_ns - slot->last_ns;

		if (elapsed > 100ull * 1000000000ull)
			elapsed = 100ull * 1000000000ull;
		slot->tokens_milli += elapsed * s->rate_per_sec / 1000000;
		if (slot->tokens_milli > cap)
			slot->tokens_milli = cap;
	}
	slot->last_ns = now_ns;
	if (slot->tokens_milli < 1000)
		return false;
	slot->tokens_milli -= 1000;
	return true;
}

static size_t error_response(struct stun_server *s, const struct stun_msg *req, uint16_t code,
                             const char *reason, const uint16_t *unknown, size_t n_unknown,
                             uint8_t *out, size_t cap)
{
	struct stun_writer w;

	/* The request's method bits with the error class (RFC 8489 5). */
	stun_writer_init(&w, out, cap, (uint16_t)((req->type & ~0x0110) | STUN_CLASS_ERROR),
	                 req->txid);
	stun_put_error(&w, code, reason);
	if (n_unknown)
		stun_put_unknown_attributes(&w, unknown, n_unknown);
	if (s->software[0])
		stun_put_bytes(&w, STUN_ATTR_SOFTWARE, s->software, strlen(s->software));
	s->stats.errors++;
	return stun_writer_finish(&w, !req->classic);
}

enum stun_server_verdict stun_server_handle(struct stun_server *s, unsigned sock,
                                            const struct addr *from, const uint8_t *pkt, size_t len,
                                            uint64_t now_ns, uint8_t *out, size_t cap,
                                            size_t *out_len, unsigned *out_sock)
{
	static const uint16_t change_attr[] = { STUN_ATTR_CHANGE_REQUEST };
	enum stun_verdict v;
	struct stun_writer w;
	struct stun_msg req;
	unsigned reply_sock;

	*out_len = 0;
	*out_sock = sock;
	if (sock >= s->n_sockets || !addr_is_set(from))
		return STUN_SERVER_DROP_NOT_REQUEST;
	v = stun_consume(&req, pkt, len, true);
	if (v != STUN_OK) {
		s->stats.malformed[v]++;
		return STUN_SERVER_DROP_MALFORMED;
	}
	if (stun_type_class(req.type) != STUN_CLASS_REQUEST) {
		/* Indications and responses are never answered (RFC 8489 6.3.2, 6.3.3). */
		s->stats.not_request++;
		return STUN_SERVER_DROP_NOT_REQUEST;
	}
	if (!rate_allow(s, from, now_ns)) {
		s->stats.ratelimited++;
		return STUN_SERVER_DROP_RATELIMIT;
	}
	s->stats.requests++;

	if (stun_type_method(req.type) != stun_type_method(STUN_BINDING_REQUEST)) {
		*out_len = error_response(s, &req, 400, "Bad Request: only Binding is served", NULL,
		                          0, out, cap);
		return *out_len ? STUN_SERVER_REPLY : STUN_SERVER_DROP_MALFORMED;
	}
	if (req.n_unknown) {
		*out_len = error_response(s, &req, 420, "Unknown Attribute", req.unknown,
		                          req.n_unknown, out, cap);
		return *out_len ? STUN_SERVER_REPLY : STUN_SERVER_DROP_MALFORMED;
	}

	reply_sock = sock;
	if (req.has & STUN_HAS_CHANGE) {
		uint32_t flags = req.change & (STUN_CHANGE_IP | STUN_CHANGE_PORT);

		/* RFC 5780 6.1: without an alternate address and port, 420. */
		if (flags && !stun_server_rfc5780(s)) {
			*out_len = error_response(s, &req, 420, "Unknown Attribute", change_attr, 1,
			                          out, cap);
			return *out_len ? STUN_SERVER_REPLY : STUN_SERVER_DROP_MALFORMED;
		}
		if (flags & STUN_CHANGE_IP)
			reply_sock ^= STUN_SOCK_ALT_IP;
		if (flags & STUN_CHANGE_PORT)
			reply_sock ^= STUN_SOCK_ALT_PORT;
	}

	stun_writer_init(&w, out, cap, STUN_BINDING_SUCCESS, req.txid);
	if (req.classic) {
		/* RFC 3489 11.1: MAPPED-ADDRESS, SOURCE-ADDRESS, CHANGED-ADDRESS. */
		stun_put_addr(&w, STUN_ATTR_MAPPED_ADDRESS, from);
		if (!is_wildcard(&s->local[reply_sock]))
			stun_put_addr(&w, STUN_ATTR_SOURCE_ADDRESS, &s->local[reply_sock]);
		if (stun_server_rfc5780(s))
			stun_put_addr(&w, STUN_ATTR_CHANGED_ADDRESS,
			              &s->local[sock ^ STUN_SOCK_ALT_BOTH]);
	} else {
		/* RFC 8489 14.2; MAPPED-ADDRESS too, so clients can spot ALGs (RFC 5780 3.6). */
		stun_put_addr(&w, STUN_ATTR_XOR_MAPPED_ADDRESS, from);
		stun_put_addr(&w, STUN_ATTR_MAPPED_ADDRESS, from);
		/* RFC 5780 7.3, 7.4: where the response came from, and the other A:P. */
		if (!is_wildcard(&s->local[reply_sock]))
			stun_put_addr(&w, STUN_ATTR_RESPONSE_ORIGIN, &s->local[reply_sock]);
		if (stun_server_rfc5780(s))
			stun_put_addr(&w, STUN_ATTR_OTHER_ADDRESS,
			              &s->local[sock ^ STUN_SOCK_ALT_BOTH]);
	}
	if (s->software[0])
		stun_put_bytes(&w, STUN_ATTR_SOFTWARE, s->software, strlen(s->software));
	*out_len = stun_writer_finish(&w, !req.classic);
	if (!*out_len)
		return STUN_SERVER_DROP_MALFORMED;
	*out_sock = reply_sock;
	s->stats.success++;
	return STUN_SERVER_REPLY;
}
