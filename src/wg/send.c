/* send.c - everything the device sends: data from the tx worker, and control messages. */
#include "wg/send.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/aead.h"
#include "tun/gso.h"
#include "util/log.h"
#include "util/now.h"
#include "wg/peer.h"
#include "wg/timers.h"

enum {
	/* room for a relay header, the message header, the packet, padding to 16, the tag */
	TX_BUF = ENDPOINT_HDR_MAX + MSG_DATA_HEADER_LEN + MAX_PACKET + MSG_PADDING_MULTIPLE +
	         NOISE_AUTHTAG_LEN,
};

/*
 * Encrypts the packet at buf + MSG_DATA_HEADER_LEN (len bytes, room after it)
 * in place under kp with counter, padding it to a multiple of 16 within the
 * MTU, and writes the header; returns the message length.
 */
static size_t seal_data(struct noise_keypair *kp, uint64_t counter, uint8_t *buf, size_t len,
                        int mtu)
{
	struct msg_data *msg = (struct msg_data *)buf;
	size_t padded = (len + MSG_PADDING_MULTIPLE - 1) & ~(size_t)(MSG_PADDING_MULTIPLE - 1);

	if (padded > (size_t)mtu)
		padded = len > (size_t)mtu ? len : (size_t)mtu;
	memset(msg->encrypted + len, 0, padded - len);
	msg->header.type = MSG_DATA;
	memset(msg->header.reserved, 0, sizeof(msg->header.reserved));
	le32_store(msg->receiver_index, kp->remote_index);
	le64_store(msg->counter, counter);
	aead_seal(msg->encrypted, msg->encrypted, padded, counter, NULL, 0, kp->send_key);
	return MSG_DATA_HEADER_LEN + padded + NOISE_AUTHTAG_LEN;
}

/*
 * Takes a counter from the peer's current keypair; false (and the caller
 * stages the packet) when there is no usable keypair.  Asks for a rekey when
 * the keypair gets old, as the initiator must (the paper, 6.2).
 */
static bool take_counter(struct wg_peer *peer, uint64_t now_ns, struct noise_keypair **kp_out,
                         uint64_t *counter)
{
	const struct wg_timing *t = &peer->dev->timing;
	struct noise_keypair *kp = atomic_load(&peer->kp_current);

	if (!keypair_can_send(kp, now_ns, t))
		return false;
	*counter = atomic_fetch_add_explicit(&kp->send_counter, 1, memory_order_relaxed);
	if (*counter >= REJECT_AFTER_MESSAGES)
		return false;
	if (*counter >= t->rekey_after_messages ||
	    (kp->i_am_initiator && keypair_age_ns(kp, now_ns) >= t->rekey_after_ns))
		peer_request_rekey(peer);
	*kp_out = kp;
	return true;
}

/* The destination address of an IP packet, or 0 if it is not a valid one. */
static int packet_destination(const uint8_t *p, size_t len, const uint8_t **dst)
{
	if (len >= 20 && p[0] >> 4 == 4) {
		*dst = p + 16;
		return AF_INET;
	}
	if (len >= 40 && p[0] >> 4 == 6) {
		*dst = p + 24;
		return AF_INET6;
	}
	return 0;
}

/* A slot's message starts after room for the endpoint's header, written in front when relayed. */
static uint8_t *slot(struct worker_io *io, int i)
{
	return io->tx_bufs + (size_t)i * TX_BUF + ENDPOINT_HDR_MAX;
}

/* Sends what the slots hold and counts it. */
static void flush(struct worker_io *io)
{
	struct wg_device *dev = io->w->dev;
	int sent;

	if (!io->tx_n)
		return;
	sent = udp_send_batch(&dev->udp[io->w->id], io->tx_out, io->tx_n);
	if (sent < 0)
		sent = 0;
	atomic_fetch_add_explicit(&dev->stats.tx_data, (uint64_t)sent, memory_order_relaxed);
	if (sent < io->tx_n)
		atomic_fetch_add_explicit(&dev->stats.tx_send_failed, (uint64_t)(io->tx_n - sent),
		                          memory_order_relaxed);
	io->tx_n = 0;
}

/* Encrypts the packet in the next free slot for peer; queues it for sending or stages it. */
static void seal_for(struct worker_io *io, struct wg_peer *peer, size_t len, uint64_t now_ns)
{
	struct wg_device *dev = io->w->dev;
	uint8_t *buf = slot(io, io->tx_n), *packet = buf + MSG_DATA_HEADER_LEN;
	struct noise_keypair *kp;
	uint64_t counter;
	struct udp_pkt *out;
	size_t hdr_len;

	if (!take_counter(peer, now_ns, &kp, &counter)) {
		peer_stage_packet(peer, packet, len);
		return;
	}
	out = &io->tx_out[io->tx_n];
	pthread_mutex_lock(&peer->endpoint_lock);
	out->addr = peer->endpoint.addr;
	out->local = peer->endpoint.local;
	hdr_len = peer->endpoint.hdr_len;
	memcpy(buf - hdr_len, peer->endpoint.hdr, hdr_len);
	pthread_mutex_unlock(&peer->endpoint_lock);
	if (!addr_is_set(&out->addr)) {
		STAT(dev, tx_no_endpoint);
		return;
	}
	out->data = buf - hdr_len;
	out->len = hdr_len + seal_data(kp, counter, buf, len, dev->tun->mtu);
	io->tx_n++;
	atomic_fetch_add_explicit(&peer->tx_bytes, out->len, memory_order_relaxed);
	timers_any_authenticated_packet_traversal(peer);
	timers_any_authenticated_packet_sent(peer);
	timers_data_sent(peer);
}

/*
 * IPv4 broadcast (limited, or the virtual LAN's), IPv4 multicast and IPv6
 * multicast (ff00::/8): what a LAN delivers to all.
 */
static bool to_everyone(const struct wg_device *dev, int family, const uint8_t *dst)
{
	static const uint8_t all[4] = { 255, 255, 255, 255 };

	if (!dev->config.broadcast)
		return false;
	if (family == AF_INET6)
		return dst[0] == 0xff;
	return memcmp(dst, all, 4) == 0 || (dst[0] & 0xF0) == 224 ||
	       (dev->config.broadcast4[0] && memcmp(dst, dev->config.broadcast4, 4) == 0);
}

/* The packet in the next free slot, in plain, sealed for every peer: a slot per copy. */
static void fan_out(struct worker_io *io, const struct allowedips *routes, size_t len,
                    uint64_t now_ns)
{
	uint8_t plain[MAX_PACKET];

	if (len > sizeof(plain))
		return;
	memcpy(plain, slot(io, io->tx_n) + MSG_DATA_HEADER_LEN, len);
	for (size_t i = 0; i < routes->n_peers; i++) {
		if (io->tx_n == TX_SLOTS)
			flush(io);
		memcpy(slot(io, io->tx_n) + MSG_DATA_HEADER_LEN, plain, len);
		STAT(io->w->dev, tx_broadcast);
		seal_for(io, routes->peers[i], len, now_ns);
	}
}

/* Routes the packet in the next free slot: to its peer, to every peer, or nowhere. */
static void tx_one(struct worker_io *io, const struct allowedips *routes, size_t len,
                   uint64_t now_ns)
{
	struct wg_device *dev = io->w->dev;
	const uint8_t *dst;
	struct wg_peer *peer;
	int family = packet_destination(slot(io, io->tx_n) + MSG_DATA_HEADER_LEN, len, &dst);

	if (!family) {
		STAT(dev, tx_bad_packet);
		return;
	}
	peer = allowedips_lookup(routes, family, dst);
	if (peer) {
		seal_for(io, peer, len, now_ns);
	} else if (to_everyone(dev, family, dst)) {
		fan_out(io, routes, len, now_ns);
	} else {
		STAT(dev, tx_no_route);
	}
}

bool send_io_init(struct worker_io *io)
{
	io->tx_bufs = malloc((size_t)TX_SLOTS * TX_BUF);
	io->tx_stage = malloc((size_t)TX_AHEAD * TX_READ_LEN);
	io->tx_n = 0;
	io->tx_head = io->tx_queued = 0;
	return io->tx_bufs && io->tx_stage;
}

void send_io_clear(struct worker_io *io)
{
	free(io->tx_bufs);
	free(io->tx_stage);
	io->tx_bufs = io->tx_stage = NULL;
}

static uint8_t *ahead(struct worker_io *io, unsigned i)
{
	return io->tx_stage + (size_t)(i % TX_AHEAD) * TX_READ_LEN;
}

/* The interface failed: report it once; the worker stops. */
static int tun_gone(struct worker_io *io, ssize_t err)
{
	struct wg_device *dev = io->w->dev;

	if (!atomic_exchange(&dev->tun_gone, true)) {
		log_error("%s: reading the interface failed: %s; it is gone", dev->tun->name,
		          strerror((int)-err));
		door_push_event(&dev->door, WG_EV_TUN_GONE, NULL);
	}
	flush(io);
	return -1;
}

/* TCP data, which must stay in order behind the rest of its flow; everything else is not. */
static bool bulk(const struct wg_device *dev, const uint8_t *buf, size_t len)
{
	if (dev->tun->vnet) {
		if (len < VNET_HDR_LEN || buf[1] != VNET_GSO_NONE)
			return true;
		buf += VNET_HDR_LEN;
		len -= VNET_HDR_LEN;
	}
	return ip_is_tcp_data(buf, len);
}

/* One read: with a vnet header, a super-packet cut into pieces and checksums completed. */
static void tx_read(struct worker_io *io, const struct allowedips *routes, const uint8_t *buf,
                    size_t len, uint64_t now_ns)
{
	struct wg_device *dev = io->w->dev;
	struct vnet_hdr vh = { 0 };
	struct gso_packet g;

	if (dev->tun->vnet) {
		if (len < VNET_HDR_LEN) {
			STAT(dev, tx_bad_packet);
			return;
		}
		memcpy(&vh, buf, VNET_HDR_LEN);
		buf += VNET_HDR_LEN;
		len -= VNET_HDR_LEN;
	}
	if (!gso_parse(&g, &vh, buf, len)) {
		STAT(dev, tx_bad_packet);
		return;
	}
	for (unsigned i = 0; i < g.segs; i++) {
		size_t piece;

		if (io->tx_n == TX_SLOTS)
			flush(io);
		piece = gso_segment(&g, i, slot(io, io->tx_n) + MSG_DATA_HEADER_LEN, MAX_PACKET);
		if (!piece) {
			STAT(dev, tx_bad_packet);
			continue;
		}
		tx_one(io, routes, piece, now_ns);
	}
}

/*
 * New reads, while read-ahead has room: interactive packets are sealed at
 * once, bulk within the turn's budget when none waits, the rest queued.
 * Returns the reads, or -1 when the interface is gone.
 */
static int read_tun(struct worker_io *io, const struct allowedips *routes, uint64_t now_ns)
{
	struct wg_device *dev = io->w->dev;
	int n = 0;

	while (io->tx_queued < TX_AHEAD) {
		unsigned i = io->tx_head + io->tx_queued;
		uint8_t *buf = ahead(io, i);
		ssize_t r = tun_read(dev->tun, io->w->id, buf, TX_READ_LEN);

		if (r == -EAGAIN || r == -EINTR)
			break;
		if (r < 0)
			return tun_gone(io, r);
		n++;
		if (!bulk(dev, buf, (size_t)r)) {
			tx_read(io, routes, buf, (size_t)r, now_ns);
		} else if (!io->tx_queued && io->tx_n < TX_SLOTS / 2) {
			tx_read(io, routes, buf, (size_t)r, now_ns);
		} else {
			io->tx_len[i % TX_AHEAD] = (size_t)r;
			io->tx_queued++;
		}
	}
	return n;
}

int send_from_tun(struct worker_io *io, uint64_t now_ns)
{
	const struct allowedips *routes = atomic_load(&io->w->dev->routes);
	int n = 0, r;

	/*
	 * With bulk waiting, what came since goes first, on its own: a ping or a
	 * game's packet read now is not held while a turn of bulk is sealed.
	 */
	if (io->tx_queued) {
		r = read_tun(io, routes, now_ns);
		if (r < 0)
			return r;
		n += r;
		flush(io);
	}
	/* The bulk that read-ahead queued, in order. */
	while (io->tx_queued && io->tx_n < TX_SLOTS / 2) {
		tx_read(io, routes, ahead(io, io->tx_head), io->tx_len[io->tx_head % TX_AHEAD],
		        now_ns);
		io->tx_head++;
		io->tx_queued--;
		n++;
	}
	r = read_tun(io, routes, now_ns);
	if (r < 0)
		return r;
	flush(io);
	return n + r;
}

bool send_to_peer(struct wg_peer *peer, const void *data, size_t len)
{
	struct endpoint to;
	int ret;

	wg_peer_get_endpoint(peer, &to);
	if (!endpoint_is_set(&to))
		return false;
	ret = udp_send_endpoint(&peer->dev->udp[0], data, len, &to);
	if (ret < 0) {
		char buf[ENDPOINT_STRLEN];

		log_ratelimited(LL_INFO, "peer %s: sending to %s failed: %s", peer->name,
		                endpoint_format(&to, buf), strerror(-ret));
		STAT(peer->dev, tx_send_failed);
		return false;
	}
	atomic_fetch_add_explicit(&peer->tx_bytes, len, memory_order_relaxed);
	return true;
}

void send_data_one(struct wg_peer *peer, const uint8_t *packet, size_t len)
{
	uint8_t buf[TX_BUF];
	struct noise_keypair *kp;
	uint64_t counter;
	size_t wire;

	if (len > MAX_PACKET || !take_counter(peer, now_mono_ns(), &kp, &counter))
		return;
	if (len)
		memcpy(buf + MSG_DATA_HEADER_LEN, packet, len);
	wire = seal_data(kp, counter, buf, len, peer->dev->tun->mtu);
	if (!send_to_peer(peer, buf, wire)) {
		STAT(peer->dev, tx_no_endpoint);
		return;
	}
	if (len)
		STAT(peer->dev, tx_data);
	else
		STAT(peer->dev, tx_keepalive);
	timers_any_authenticated_packet_traversal(peer);
	timers_any_authenticated_packet_sent(peer);
	if (len)
		timers_data_sent(peer);
}

void send_keepalive(struct wg_peer *peer)
{
	struct noise_keypair *kp = atomic_load(&peer->kp_current);

	/* With packets waiting, send those instead; without keys, a handshake first. */
	pthread_mutex_lock(&peer->staged_lock);
	if (peer->staged_len) {
		pthread_mutex_unlock(&peer->staged_lock);
		peer_send_staged(peer);
		return;
	}
	pthread_mutex_unlock(&peer->staged_lock);
	if (!keypair_can_send(kp, now_mono_ns(), &peer->dev->timing)) {
		send_handshake_initiation(peer, false);
		return;
	}
	send_data_one(peer, NULL, 0);
}

void send_handshake_initiation(struct wg_peer *peer, bool is_retry)
{
	struct wg_device *dev = peer->dev;
	struct msg_initiation msg;
	uint8_t timestamp[NOISE_TIMESTAMP_LEN];
	uint64_t now_ns = now_mono_ns();
	uint32_t index;

	if (!is_retry)
		peer->handshake_attempts = 0;
	/* At most one initiation per REKEY_TIMEOUT, retries aside. */
	if (!is_retry && peer->last_sent_handshake_ns &&
	    now_ns - peer->last_sent_handshake_ns < dev->timing.rekey_timeout_ns)
		return;
	if (!dev->local.has_identity)
		return;
	peer_drop_handshake_index(peer);
	if (!index_insert(&dev->index, peer, &index)) {
		log_error("peer %s: out of memory for a handshake", peer->name);
		return;
	}
	noise_tai64n(timestamp, now_wall_ns());
	if (!noise_create_initiation(&peer->handshake, &dev->local, index, timestamp, &msg)) {
		index_remove(&dev->index, index);
		log_ratelimited(LL_INFO, "peer %s: cannot start a handshake (bad public key?)",
		                peer->name);
		return;
	}
	peer->last_sent_handshake_ns = now_ns;
	cookie_add_macs(&peer->cookie, (uint8_t *)&msg, sizeof(msg), now_ns);
	timers_any_authenticated_packet_traversal(peer);
	timers_any_authenticated_packet_sent(peer);
	if (send_to_peer(peer, &msg, sizeof(msg))) {
		STAT(dev, hs_initiation_sent);
		log_debug("peer %s: sent handshake initiation", peer->name);
	}
	/* Retry even without an endpoint: one may be learned meanwhile. */
	timers_handshake_initiated(peer);
}

void send_handshake_response(struct wg_peer *peer)
{
	struct wg_device *dev = peer->dev;
	struct msg_response msg;
	struct noise_keypair *kp;
	uint64_t now_ns = now_mono_ns();
	uint32_t index;

	peer_drop_handshake_index(peer);
	if (!index_insert(&dev->index, peer, &index))
		return;
	if (!noise_create_response(&peer->handshake, index, &msg)) {
		index_remove(&dev->index, index);
		return;
	}
	cookie_add_macs(&peer->cookie, (uint8_t *)&msg, sizeof(msg), now_ns);
	kp = malloc(sizeof(*kp));
	if (!kp || !noise_begin_session(&peer->handshake, kp, now_ns)) {
		free(kp);
		index_remove(&dev->index, index);
		return;
	}
	index_find(&dev->index, index)->kp = kp;
	dev->dirty = true;
	peer_add_keypair(peer, kp);
	wg_device_commit(dev);
	timers_session_derived(peer);
	timers_any_authenticated_packet_traversal(peer);
	timers_any_authenticated_packet_sent(peer);
	if (send_to_peer(peer, &msg, sizeof(msg))) {
		STAT(dev, hs_response_sent);
		log_debug("peer %s: sent handshake response", peer->name);
	}
}

void send_cookie_reply(struct wg_device *dev, const uint8_t *msg, size_t len,
                       const struct endpoint *src)
{
	struct msg_cookie_reply reply;

	cookie_create_reply(&dev->cookie_checker, &reply, msg, len, &src->addr, now_mono_ns());
	if (udp_send_endpoint(&dev->udp[0], &reply, sizeof(reply), src) == 0)
		STAT(dev, hs_cookie_sent);
}
