/* device.c - a WireGuard interface: peers, configuration, threads. */
#include "wg/device.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "crypto/secret.h"
#include "util/err.h"
#include "util/log.h"
#include "util/now.h"
#include "wg/peer.h"
#include "wg/receive.h"
#include "wg/send.h"
#include "wg/timers.h"
#include "wg/worker.h"

enum { DOOR_EVENTS = 16384, COLLECT_INTERVAL_US = 2000 };

void wg_timing_default(struct wg_timing *t)
{
	t->rekey_after_ns = 120ull * NS_PER_SEC;
	t->reject_after_ns = 180ull * NS_PER_SEC;
	t->rekey_attempt_ns = 90ull * NS_PER_SEC;
	t->rekey_timeout_ns = 5ull * NS_PER_SEC;
	t->keepalive_ns = 10ull * NS_PER_SEC;
	t->rekey_after_messages = REKEY_AFTER_MESSAGES;
}

void wg_config_default(struct wg_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg)); /* what is not named here is off */
	wg_timing_default(&cfg->timing);
	cfg->socket_buffer = WG_DEFAULT_SOCKET_BUFFER;
	cfg->spin_us = WG_DEFAULT_SPIN_US;
	cfg->busy_spin_us = WG_DEFAULT_BUSY_SPIN_US;
	cfg->predict = true;
	cfg->worker_nice = WG_DEFAULT_NICE;
	cfg->cpu_local = true;
	cfg->priority = true;
	cfg->prio_budget_pct = WG_DEFAULT_PRIO_BUDGET_PCT;
	cfg->aqm_target_us = WG_DEFAULT_AQM_TARGET_US;
	cfg->aqm_interval_us = WG_DEFAULT_AQM_INTERVAL_US;
	cfg->aqm_min_backlog = WG_DEFAULT_AQM_MIN_BACKLOG;
}

int wg_config_queues(const struct wg_config *cfg, int workers)
{
	if (workers < 1)
		workers = 1;
	if (workers > WG_MAX_WORKERS)
		workers = WG_MAX_WORKERS;
	return cfg->priority ? workers * 2 : workers;
}

void wg_timing_scale(struct wg_timing *t, unsigned scale)
{
	if (scale <= 1)
		return;
	t->rekey_after_ns /= scale;
	t->reject_after_ns /= scale;
	t->rekey_attempt_ns /= scale;
	t->rekey_timeout_ns /= scale;
	t->keepalive_ns /= scale;
}

/* ---- publishing snapshots to the workers ---- */

static void release_routes(void *ctx, void *ptr)
{
	allowedips_free_clone(ptr);
}

static void release_kp_index(void *ctx, void *ptr)
{
	free(ptr);
}

static void schedule_collect(struct wg_device *dev)
{
	struct timeval tv = { 0, COLLECT_INTERVAL_US };

	if (dev->grace.n_items && !evtimer_pending(dev->collect_ev, NULL))
		evtimer_add(dev->collect_ev, &tv);
}

void wg_device_commit(struct wg_device *dev)
{
	struct allowedips *routes;
	struct kp_index *kpi;

	if (!dev->dirty)
		return;
	routes = allowedips_clone(&dev->routes_edit);
	kpi = kp_index_build(&dev->index);
	if (!routes || !kpi) {
		/* Keep the old snapshots; the next commit tries again. */
		log_error("%s: out of memory publishing the peer table", dev->tun->name);
		allowedips_free_clone(routes);
		free(kpi);
		return;
	}
	routes = atomic_exchange(&dev->routes, routes);
	kpi = atomic_exchange(&dev->kp_index, kpi);
	if (!grace_defer(&dev->grace, release_routes, NULL, routes) ||
	    !grace_defer(&dev->grace, release_kp_index, NULL, kpi))
		log_error("%s: out of memory; an old peer table is leaked", dev->tun->name);
	dev->dirty = false;
	schedule_collect(dev);
}

/* ---- the door: what workers report ---- */

static void on_door_event(void *ctx, const struct door_event *ev)
{
	struct wg_device *dev = ctx;
	struct wg_peer *peer;
	struct noise_keypair *kp;

	switch (ev->type) {
	case WG_EV_TIMER_KICK:
		timers_kick(ev->ptr);
		break;
	case WG_EV_NEED_KEYPAIR:
		peer = ev->ptr;
		atomic_store(&peer->handshake_requested, false);
		if (atomic_load(&peer->dead))
			break;
		if (keypair_can_send(atomic_load(&peer->kp_current), now_mono_ns(), &dev->timing))
			peer_send_staged(peer);
		else
			send_handshake_initiation(peer, false);
		break;
	case WG_EV_REKEY:
		peer = ev->ptr;
		atomic_store(&peer->rekey_requested, false);
		if (!atomic_load(&peer->dead))
			send_handshake_initiation(peer, false);
		break;
	case WG_EV_CONFIRM:
		kp = ev->ptr;
		peer = kp->peer;
		if (atomic_load(&peer->dead) || peer->kp_next != kp)
			break;
		peer_confirm_keypair(peer, kp);
		dev->dirty = true;
		wg_device_commit(dev);
		atomic_fetch_add_explicit(&dev->stats.hs_completed, 1, memory_order_relaxed);
		log_debug("peer %s: handshake complete (responder)", peer->name);
		timers_handshake_complete(peer);
		peer_send_staged(peer);
		break;
	case WG_EV_TUN_GONE:
		if (dev->on_tun_gone)
			dev->on_tun_gone(dev->on_tun_gone_ctx);
		break;
	}
}

static void on_door_packet(void *ctx, const struct door_packet *pkt)
{
	struct wg_device *dev = ctx;

	/* As the workers sorted them: a STUN answer starts with 0x01 too, but not with 01 00 00 00.
	 */
	if (pkt->len >= 4 && pkt->data[0] >= MSG_INITIATION && pkt->data[0] <= MSG_COOKIE_REPLY &&
	    !pkt->data[1] && !pkt->data[2] && !pkt->data[3]) {
		receive_handshake(dev, pkt->data, pkt->len, &pkt->src);
		wg_device_commit(dev);
	} else if (dev->other_packet) {
		dev->other_packet(dev->other_packet_ctx, pkt->data, pkt->len, &pkt->src);
	}
}

static void drain_door(void *ctx)
{
	struct wg_device *dev = ctx;

	door_drain(&dev->door, on_door_event, on_door_packet, dev);
}

static void on_door(evutil_socket_t fd, short what, void *ctx)
{
	drain_door(ctx);
}

static void on_collect(evutil_socket_t fd, short what, void *ctx)
{
	struct wg_device *dev = ctx;

	/*
	 * Events pushed by a worker before it passed the grace period may name what
	 * is about to be released: handle them first (the door is FIFO).
	 */
	grace_collect(&dev->grace, drain_door, dev);
	schedule_collect(dev);
}

/* ---- lifecycle ---- */

struct wg_device *wg_device_create(struct event_base *base, struct tun *tun,
                                   const struct wg_config *cfg, char *err)
{
	struct wg_device *dev = calloc(1, sizeof(*dev));
	int ret;

	if (!dev) {
		err_set(err, "out of memory");
		return NULL;
	}
	dev->base = base;
	dev->tun = tun;
	dev->control_thread = pthread_self();
	dev->n_workers = tun->n_queues;
	for (int i = 0; i < TUN_MAX_QUEUES; i++)
		dev->udp[i].fd = -1;
	dev->wake_fd = -1;
	for (int i = 0; i < 4; i++)
		dev->steer.prog_fd[i] = -1;
	dev->steer.n = dev->n_workers;
	pthread_mutex_init(&dev->steer_lock, NULL);
	arrival_pool_init(&dev->arrivals);
	if (cfg)
		dev->config = *cfg;
	else
		wg_config_default(&dev->config);
	dev->timing = dev->config.timing;
	allowedips_init(&dev->routes_edit);
	grace_init(&dev->grace, dev->n_workers);
	cookie_checker_init(&dev->cookie_checker, NULL);
	ret = door_init(&dev->door, DOOR_EVENTS, MAX_QUEUED_HANDSHAKES);
	if (ret < 0) {
		err_set(err, "cannot create the worker queue: %s", strerror(-ret));
		goto err_dev;
	}
	dev->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (dev->wake_fd < 0 || !index_init(&dev->index) || !ratelimit_init(&dev->ratelimit)) {
		err_set(err, "out of memory");
		goto err_door;
	}
	dev->door_ev = event_new(base, dev->door.efd, EV_READ | EV_PERSIST, on_door, dev);
	dev->collect_ev = evtimer_new(base, on_collect, dev);
	if (!dev->door_ev || !dev->collect_ev || event_add(dev->door_ev, NULL) < 0) {
		err_set(err, "cannot register events");
		goto err_events;
	}
	dev->dirty = true;
	wg_device_commit(dev);
	if (!atomic_load(&dev->routes)) {
		err_set(err, "out of memory");
		goto err_events;
	}
	return dev;

err_events:
	if (dev->door_ev)
		event_free(dev->door_ev);
	if (dev->collect_ev)
		event_free(dev->collect_ev);
	ratelimit_clear(&dev->ratelimit);
	index_clear(&dev->index);
err_door:
	if (dev->wake_fd >= 0)
		close(dev->wake_fd);
	door_clear(&dev->door);
err_dev:
	pthread_mutex_destroy(&dev->steer_lock);
	arrival_pool_clear(&dev->arrivals);
	free(dev);
	return NULL;
}

static int open_sockets(struct wg_device *dev, struct udp_socket *socks, uint16_t port)
{
	int ret =
	    udp_open_group(socks, dev->n_workers, port, dev->fwmark, dev->config.socket_buffer);

	/* Without the kernel's stamps there is no sojourn to measure: no AQM, nothing else lost. */
	for (int i = 0; ret == 0 && dev->config.aqm_target_us && i < dev->n_workers; i++) {
		if (udp_enable_timestamps(&socks[i]) < 0)
			log_ratelimited(LL_INFO, "%s: no receive timestamps; queue control off",
			                dev->tun->name);
	}
	/* The priority lane's sockets mark what they send (steer.h). */
	for (int i = dev->steer.n, e; ret == 0 && i < dev->n_workers; i++) {
		if ((e = udp_set_dscp(&socks[i], STEER_PRIO_DSCP)) < 0)
			log_ratelimited(LL_INFO, "%s: cannot mark priority datagrams: %s",
			                dev->tun->name, strerror(-e));
	}
	/* Without it replies leave from whatever source the routing table picks. */
	for (int i = 0, e; ret == 0 && i < dev->n_workers; i++) {
		if ((e = udp_enable_pktinfo(&socks[i])) < 0)
			log_ratelimited(LL_INFO, "%s: no destination addresses on receive: %s",
			                dev->tun->name, strerror(-e));
	}
	return ret;
}

static void close_sockets(struct udp_socket *socks, int n)
{
	for (int i = 0; i < n; i++)
		udp_close(&socks[i]);
}

int wg_device_start(struct wg_device *dev)
{
	char why[STEER_WHY_LEN];
	int ret;

	if ((dev->config.cpu_local || dev->config.priority) && !dev->steer_ready) {
		dev->steer_ready = true;
		if (!steer_init(&dev->steer, dev->n_workers, dev->config.cpu_local,
		                dev->config.priority, why))
			log_info("%s: packets go to workers by flow only: %s", dev->tun->name, why);
		else if (why[0])
			log_info("%s: %s", dev->tun->name, why);
		if (dev->steer.local)
			atomic_store(&dev->steer_mode, WG_STEER_LOCAL);
		if (dev->steer.n_prio)
			atomic_store(&dev->prio_open, true);
	}
	ret = open_sockets(dev, dev->udp, dev->listen_port);
	if (ret < 0)
		return ret;
	ret = workers_start(dev);
	if (ret < 0)
		close_sockets(dev->udp, dev->n_workers);
	return ret;
}

uint16_t wg_device_port(const struct wg_device *dev)
{
	return dev->udp[0].fd >= 0 ? dev->udp[0].port : 0;
}

const char *wg_device_priority_lane(const struct wg_device *dev)
{
	if (!dev->steer.n_prio)
		return "off";
	return atomic_load(&dev->prio_open) ? "open" : "closed";
}

void wg_device_destroy(struct wg_device *dev)
{
	if (!dev)
		return;
	workers_stop(dev);
	wg_device_remove_all_peers(dev);
	/* The workers are gone: everything deferred can go now. */
	door_drain(&dev->door, on_door_event, on_door_packet, dev);
	grace_clear(&dev->grace);
	allowedips_free_clone(atomic_load(&dev->routes));
	free(atomic_load(&dev->kp_index));
	allowedips_clear(&dev->routes_edit);
	close_sockets(dev->udp, dev->n_workers);
	event_free(dev->door_ev);
	event_free(dev->collect_ev);
	ratelimit_clear(&dev->ratelimit);
	index_clear(&dev->index);
	door_clear(&dev->door);
	close(dev->wake_fd);
	steer_clear(&dev->steer);
	pthread_mutex_destroy(&dev->steer_lock);
	arrival_pool_clear(&dev->arrivals);
	tun_destroy(dev->tun);
	noise_local_clear(&dev->local);
	secret_zero(&dev->cookie_checker, sizeof(dev->cookie_checker));
	free(dev);
}

/* ---- configuration ---- */

bool wg_device_is_own_key(const struct wg_device *dev, const uint8_t *public_key)
{
	return dev->local.has_identity &&
	       memcmp(dev->local.public_key, public_key, NOISE_PUBLIC_KEY_LEN) == 0;
}

void wg_device_set_private_key(struct wg_device *dev, const uint8_t *key)
{
	static const uint8_t zero[NOISE_PUBLIC_KEY_LEN];
	struct wg_peer *peer, *next;

	if (!key)
		key = zero;
	if (secret_equal(dev->local.private_key, key, NOISE_PUBLIC_KEY_LEN))
		return;
	noise_local_set(&dev->local, key);
	cookie_checker_init(&dev->cookie_checker,
	                    dev->local.has_identity ? dev->local.public_key : NULL);
	for (peer = dev->peers; peer; peer = next) {
		next = peer->next;
		/* A peer with our own key would be talking to ourselves. */
		if (wg_device_is_own_key(dev, peer->public_key)) {
			wg_device_remove_peer(dev, peer);
			continue;
		}
		peer_drop_handshake_index(peer);
		noise_handshake_set_local(&peer->handshake, &dev->local);
		peer_expire_current(peer);
	}
	dev->dirty = true;
}

int wg_device_set_listen_port(struct wg_device *dev, uint16_t port)
{
	struct udp_socket fresh[TUN_MAX_QUEUES];
	bool bound = dev->udp[0].fd >= 0;
	int ret;

	if (bound && (port == dev->udp[0].port || (port == 0 && dev->listen_port == 0))) {
		dev->listen_port = port;
		return 0;
	}
	dev->listen_port = port;
	if (!bound)
		return 0;
	/* Bind the new port first: on failure the old one stays in service. */
	ret = open_sockets(dev, fresh, port);
	if (ret < 0)
		return ret;
	workers_stop(dev);
	close_sockets(dev->udp, dev->n_workers);
	memcpy(dev->udp, fresh, sizeof(fresh[0]) * (size_t)dev->n_workers);
	return workers_start(dev);
}

int wg_device_set_fwmark(struct wg_device *dev, uint32_t fwmark)
{
	dev->fwmark = fwmark;
	for (int i = 0; i < dev->n_workers && dev->udp[i].fd >= 0; i++) {
		int ret = udp_set_fwmark(&dev->udp[i], fwmark);

		if (ret < 0)
			return ret;
	}
	return 0;
}

struct wg_peer *wg_device_find_peer(struct wg_device *dev, const uint8_t *public_key)
{
	for (struct wg_peer *p = dev->peers; p; p = p->next) {
		if (memcmp(p->public_key, public_key, NOISE_PUBLIC_KEY_LEN) == 0)
			return p;
	}
	return NULL;
}

struct wg_peer *wg_device_add_peer(struct wg_device *dev, const uint8_t *public_key)
{
	struct wg_peer *peer;

	if (wg_device_is_own_key(dev, public_key))
		return NULL;
	peer = peer_create(dev, public_key);
	if (!peer)
		return NULL;
	peer->next = dev->peers;
	dev->peers = peer;
	dev->n_peers++;
	log_debug("%s: peer %s added", dev->tun->name, peer->name);
	return peer;
}

static void release_peer(void *ctx, void *ptr)
{
	peer_free(ptr);
}

void wg_device_remove_peer(struct wg_device *dev, struct wg_peer *peer)
{
	struct wg_peer **link;

	for (link = &dev->peers; *link && *link != peer; link = &(*link)->next)
		;
	if (!*link)
		return;
	*link = peer->next;
	dev->n_peers--;
	/* Unlink and mark dead; workers may still hold it until the grace period ends. */
	atomic_store(&peer->dead, true);
	allowedips_remove_by_peer(&dev->routes_edit, peer);
	dev->dirty = true;
	peer_zero_keys(peer);
	peer_flush_staged(peer);
	timers_stop(peer);
	wg_device_commit(dev);
	log_debug("%s: peer %s removed", dev->tun->name, peer->name);
	if (!grace_defer(&dev->grace, release_peer, NULL, peer))
		log_error("%s: out of memory; a removed peer is leaked", dev->tun->name);
	schedule_collect(dev);
}

void wg_device_remove_all_peers(struct wg_device *dev)
{
	while (dev->peers)
		wg_device_remove_peer(dev, dev->peers);
}

void wg_device_set_other_packet_handler(struct wg_device *dev, wg_other_packet_fn fn, void *ctx)
{
	dev->other_packet = fn;
	dev->other_packet_ctx = ctx;
}

void wg_device_set_tun_gone_handler(struct wg_device *dev, void (*fn)(void *ctx), void *ctx)
{
	dev->on_tun_gone = fn;
	dev->on_tun_gone_ctx = ctx;
}

int wg_device_send_raw(struct wg_device *dev, const void *data, size_t len,
                       const struct endpoint *to)
{
	if (dev->udp[0].fd < 0)
		return -ENOTCONN;
	return udp_send_endpoint(&dev->udp[0], data, len, to);
}

void wg_peer_set_preshared_key(struct wg_peer *peer, const uint8_t *psk)
{
	noise_handshake_set_psk(&peer->handshake, psk);
}

void wg_peer_set_endpoint(struct wg_peer *peer, const struct endpoint *endpoint)
{
	peer_update_endpoint(peer, endpoint);
}

void wg_peer_connect(struct wg_peer *peer)
{
	struct noise_keypair *kp = atomic_load(&peer->kp_current);

	if (keypair_can_send(kp, now_mono_ns(), &peer->dev->timing))
		return;
	/* An attempt made while the way was unknown must not hold this one back. */
	peer->last_sent_handshake_ns = 0;
	send_handshake_initiation(peer, false);
}

bool wg_peer_has_session(struct wg_peer *peer)
{
	return keypair_can_send(atomic_load(&peer->kp_current), now_mono_ns(), &peer->dev->timing);
}

void wg_peer_get_endpoint(struct wg_peer *peer, struct endpoint *out)
{
	pthread_mutex_lock(&peer->endpoint_lock);
	*out = peer->endpoint;
	pthread_mutex_unlock(&peer->endpoint_lock);
}

void wg_peer_set_persistent_keepalive(struct wg_peer *peer, uint16_t seconds)
{
	uint16_t old = atomic_exchange(&peer->keepalive_interval_sec, seconds);

	timers_persistent_keepalive_changed(peer);
	if (!old && seconds && peer->dev->workers_running)
		send_keepalive(peer);
}

bool wg_peer_add_allowed_ip(struct wg_peer *peer, const struct prefix *p)
{
	peer->dev->dirty = true;
	return allowedips_insert(&peer->dev->routes_edit, p, peer);
}

bool wg_peer_remove_allowed_ip(struct wg_peer *peer, const struct prefix *p)
{
	peer->dev->dirty = true;
	return allowedips_remove(&peer->dev->routes_edit, p, peer);
}

void wg_peer_clear_allowed_ips(struct wg_peer *peer)
{
	peer->dev->dirty = true;
	allowedips_remove_by_peer(&peer->dev->routes_edit, peer);
}

size_t wg_device_format_stats(struct wg_device *dev, char *buf, size_t len)
{
	const struct wg_stats *st = &dev->stats;
	size_t n = 0;
	int w;

#define WG_STAT_LINE(name)                                                                         \
	w = snprintf(buf + n, len - n, "%s=%llu\n", #name,                                         \
	             (unsigned long long)atomic_load_explicit(&st->name, memory_order_relaxed));   \
	if (w > 0 && (size_t)w < len - n)                                                          \
		n += (size_t)w;
	WG_STATS(WG_STAT_LINE)
#undef WG_STAT_LINE
	/* Not a count: whether packets go to the worker on their CPU now (steer.h). */
	w = snprintf(buf + n, len - n, "cpu_local=%d\n",
	             atomic_load(&dev->steer_mode) == WG_STEER_LOCAL);
	if (w > 0 && (size_t)w < len - n)
		n += (size_t)w;
	/* Nor this: whether small packets go by the priority lane now. */
	w = snprintf(buf + n, len - n, "priority=%d\n",
	             dev->steer.n_prio > 0 && atomic_load(&dev->prio_open));
	if (w > 0 && (size_t)w < len - n)
		n += (size_t)w;
	return n;
}
