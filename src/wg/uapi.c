/* uapi.c - the cross-platform userspace API that `wg` speaks: get and set operations. */
#include "wg/uapi.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/key.h"
#include "crypto/secret.h"
#include "util/num.h"
#include "util/log.h"

void uapi_set_begin(struct uapi_set *set, struct wg_device *dev)
{
	memset(set, 0, sizeof(*set));
	set->dev = dev;
}

static bool parse_key(const char *value, uint8_t key[KEY_LEN])
{
	return key_from_hex(key, value, NULL);
}

static int set_device_key(struct uapi_set *set, const char *key, const char *value)
{
	struct wg_device *dev = set->dev;
	uint64_t v;
	uint8_t k[KEY_LEN];
	int ret;

	if (strcmp(key, "private_key") == 0) {
		if (!parse_key(value, k))
			return -EINVAL;
		wg_device_set_private_key(dev, k);
		secret_zero(k, sizeof(k));
		return 0;
	}
	if (strcmp(key, "listen_port") == 0) {
		if (!num_parse_u64(value, 0, 65535, &v))
			return -EINVAL;
		ret = wg_device_set_listen_port(dev, (uint16_t)v);
		return ret < 0 ? -EADDRINUSE : 0;
	}
	if (strcmp(key, "fwmark") == 0) {
		if (!num_parse_u64(value, 0, UINT32_MAX, &v))
			return -EINVAL;
		return wg_device_set_fwmark(dev, (uint32_t)v) < 0 ? -EADDRINUSE : 0;
	}
	if (strcmp(key, "replace_peers") == 0) {
		if (strcmp(value, "true") != 0)
			return -EINVAL;
		wg_device_remove_all_peers(dev);
		return 0;
	}
	return -EINVAL;
}

static int select_peer(struct uapi_set *set, const char *value)
{
	uint8_t k[KEY_LEN];

	if (!parse_key(value, k))
		return -EINVAL;
	set->in_peer = true;
	set->peer_created = false;
	/* Our own key: the block is accepted and ignored. */
	if (wg_device_is_own_key(set->dev, k)) {
		set->peer = NULL;
		return 0;
	}
	set->peer = wg_device_find_peer(set->dev, k);
	if (!set->peer) {
		set->peer = wg_device_add_peer(set->dev, k);
		if (!set->peer)
			return -ENOMEM;
		set->peer_created = true;
	}
	return 0;
}

static int set_peer_key(struct uapi_set *set, const char *key, const char *value)
{
	struct wg_peer *peer = set->peer;
	struct prefix p;
	struct addr a;
	uint64_t v;
	uint8_t k[KEY_LEN];

	if (strcmp(key, "update_only") == 0) {
		if (strcmp(value, "true") != 0)
			return -EINVAL;
		if (set->peer_created) {
			wg_device_remove_peer(set->dev, peer);
			set->peer = NULL;
		}
		return 0;
	}
	if (strcmp(key, "remove") == 0) {
		if (strcmp(value, "true") != 0)
			return -EINVAL;
		if (peer)
			wg_device_remove_peer(set->dev, peer);
		set->peer = NULL;
		return 0;
	}
	if (strcmp(key, "preshared_key") == 0) {
		if (!parse_key(value, k))
			return -EINVAL;
		if (peer)
			wg_peer_set_preshared_key(peer, k);
		secret_zero(k, sizeof(k));
		return 0;
	}
	if (strcmp(key, "endpoint") == 0) {
		struct endpoint ep;

		if (!addr_parse(&a, value, NULL))
			return -EINVAL;
		endpoint_from_addr(&ep, &a);
		if (peer)
			wg_peer_set_endpoint(peer, &ep);
		return 0;
	}
	if (strcmp(key, "persistent_keepalive_interval") == 0) {
		if (!num_parse_u64(value, 0, 65535, &v))
			return -EINVAL;
		if (peer)
			wg_peer_set_persistent_keepalive(peer, (uint16_t)v);
		return 0;
	}
	if (strcmp(key, "replace_allowed_ips") == 0) {
		if (strcmp(value, "true") != 0)
			return -EINVAL;
		if (peer)
			wg_peer_clear_allowed_ips(peer);
		return 0;
	}
	if (strcmp(key, "allowed_ip") == 0) {
		bool remove = value[0] == '-';

		if (!prefix_parse(&p, value + remove, true, NULL))
			return -EINVAL;
		if (!peer)
			return 0;
		if (remove) {
			wg_peer_remove_allowed_ip(peer, &p);
			return 0;
		}
		return wg_peer_add_allowed_ip(peer, &p) ? 0 : -ENOMEM;
	}
	if (strcmp(key, "protocol_version") == 0)
		return strcmp(value, "1") == 0 ? 0 : -EINVAL;
	return -EINVAL;
}

void uapi_set_line(struct uapi_set *set, const char *line)
{
	char key[64];
	const char *eq = strchr(line, '=');
	size_t klen;

	if (set->error)
		return;
	if (!eq) {
		set->error = -EPROTO;
		return;
	}
	klen = (size_t)(eq - line);
	if (klen >= sizeof(key)) {
		set->error = -EINVAL;
		return;
	}
	memcpy(key, line, klen);
	key[klen] = '\0';
	if (strcmp(key, "public_key") == 0)
		set->error = select_peer(set, eq + 1);
	else if (set->in_peer)
		set->error = set_peer_key(set, key, eq + 1);
	else
		set->error = set_device_key(set, key, eq + 1);
	if (set->error) {
		/* Log the key only: values may be secrets. */
		log_info("%s: configuration key `%s' refused: %s", set->dev->tun->name, key,
		         strerror(-set->error));
	}
}

int uapi_set_end(struct uapi_set *set)
{
	set->dev->dirty = true;
	wg_device_commit(set->dev);
	return set->error;
}

struct out {
	char *buf;
	size_t len, cap;
	bool failed;
};

static void put(struct out *o, const char *fmt, ...) PRINTF_FMT(2, 3);

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->failed = true;
			return;
		}
		if ((size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		/* Not realloc: the old buffer holds the private key and must be wiped. */
		size_t cap = o->cap * 2 + (size_t)n;
		char *bigger = malloc(cap);

		if (!bigger) {
			o->failed = true;
			return;
		}
		memcpy(bigger, o->buf, o->len + 1);
		secret_zero(o->buf, o->cap);
		free(o->buf);
		o->buf = bigger;
		o->cap = cap;
	}
}

static void put_allowed_ip(const struct prefix *p, void *ctx)
{
	char buf[PREFIX_STRLEN];

	put(ctx, "allowed_ip=%s\n", prefix_format(p, buf));
}

char *uapi_get(struct wg_device *dev, size_t *len)
{
	struct out o = { malloc(4096), 0, 4096, false };
	char hex[KEY_HEX_LEN + 1], ep[ADDR_STRLEN];

	if (!o.buf)
		return NULL;
	o.buf[0] = '\0';
	if (dev->local.has_identity) {
		key_to_hex(hex, dev->local.private_key);
		put(&o, "private_key=%s\n", hex);
		secret_zero(hex, sizeof(hex));
	}
	if (wg_device_port(dev))
		put(&o, "listen_port=%u\n", wg_device_port(dev));
	if (dev->fwmark)
		put(&o, "fwmark=%u\n", dev->fwmark);
	for (struct wg_peer *p = dev->peers; p; p = p->next) {
		int64_t hs = atomic_load(&p->last_handshake_wall_ns);
		struct endpoint endpoint;

		key_to_hex(hex, p->public_key);
		put(&o, "public_key=%s\n", hex);
		key_to_hex(hex, p->handshake.preshared_key);
		put(&o, "preshared_key=%s\n", hex);
		secret_zero(hex, sizeof(hex));
		put(&o, "protocol_version=1\n");
		wg_peer_get_endpoint(p, &endpoint);
		/* A relayed peer shows its relay's address: all that wg can say. */
		if (endpoint_is_set(&endpoint))
			put(&o, "endpoint=%s\n", addr_format(&endpoint.addr, ep));
		put(&o, "last_handshake_time_sec=%lld\nlast_handshake_time_nsec=%lld\n",
		    (long long)(hs / 1000000000), (long long)(hs % 1000000000));
		put(&o, "tx_bytes=%llu\nrx_bytes=%llu\n",
		    (unsigned long long)atomic_load(&p->tx_bytes),
		    (unsigned long long)atomic_load(&p->rx_bytes));
		put(&o, "persistent_keepalive_interval=%u\n",
		    (unsigned)atomic_load(&p->keepalive_interval_sec));
		allowedips_walk_peer(&dev->routes_edit, p, put_allowed_ip, &o);
	}
	if (o.failed) {
		secret_zero(o.buf, o.cap);
		free(o.buf);
		return NULL;
	}
	*len = o.len;
	return o.buf;
}
