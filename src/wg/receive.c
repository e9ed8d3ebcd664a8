/* receive.c - everything the device receives: data in the rx worker, handshakes on control. */
#include "wg/receive.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/aead.h"
#include "crypto/key.h"
#include "nat/relay_wire.h"
#include "tun/gso.h"
#include "util/log.h"
#include "util/now.h"
#include "wg/peer.h"
#include "wg/send.h"
#include "wg/timers.h"

enum {
	RX_BUF = MSG_DATA_HEADER_LEN + MAX_PACKET + MSG_PADDING_MULTIPLE + NOISE_AUTHTAG_LEN,
};

/* STUN (RFC 8489 section 5): first two bits zero and the magic cookie at offset 4. */
static bool is_stun(const uint8_t *p, size_t len)
{
	return len >= 20 && (p[0] & 0xc0) == 0 && p[4] == 0x21 && p[5] == 0x12 && p[6] == 0xa4 &&
	       p[7] == 0x42;
}

static bool is_wireguard(const uint8_t *p, size_t len)
{
	return len >= 4 && p[0] >= MSG_INITIATION && p[0] <= MSG_DATA && !p[1] && !p[2] && !p[3];
}

/*
 * The length and source address of the IP packet inside plain (the rest is
 * padding), or 0 if it is not a well-formed IPv4 or IPv6 packet.
 */
static size_t inner_packet(const uint8_t *plain, size_t len, int *family, const uint8_t **src)
{
	if (len >= 20 && plain[0] >> 4 == 4) {
		size_t total = (size_t)plain[2] << 8 | plain[3];

		if ((plain[0] & 15) < 5 || total < 20 || total > len)
			return 0;
		*family = AF_INET;
		*src = plain + 12;
		return total;
	}
	if (len >= 40 && plain[0] >> 4 == 6) {
		size_t total = 40 + ((size_t)plain[4] << 8 | plain[5]);

		if (total > len)
			return 0;
		*family = AF_INET6;
		*src = plain + 8;
		return total;
	}
	return 0;
}

static void receive_data(struct worker_io *io, const struct kp_index *kpi,
                         const struct allowedips *routes, uint8_t *data, size_t len,
                         const struct endpoint *src, uint64_t now_ns)
{
	struct wg_device *dev = io->w->dev;
	const struct wg_timing *t = &dev->timing;
	struct msg_data *msg = (struct msg_data *)data;
	struct noise_keypair *kp;
	struct wg_peer *peer;
	uint64_t counter;
	const uint8_t *inner_src;
	size_t plain_len, inner_len;
	int family;
	bool fresh;

	if (len < MSG_DATA_MIN_LEN) {
		STAT(dev, rx_short);
		return;
	}
	kp = kp_index_lookup(kpi, le32_load(msg->receiver_index));
	if (!kp) {
		STAT(dev, rx_no_keypair);
		return;
	}
	if (keypair_age_ns(kp, now_ns) >= t->reject_after_ns) {
		STAT(dev, rx_expired);
		return;
	}
	counter = le64_load(msg->counter);
	plain_len = len - MSG_DATA_MIN_LEN;
	if (!aead_open(msg->encrypted, msg->encrypted, len - MSG_DATA_HEADER_LEN, counter, NULL, 0,
	               kp->recv_key)) {
		STAT(dev, rx_bad_auth);
		return;
	}
	/* Only now, authenticated, may the packet move the replay window or the endpoint. */
	pthread_mutex_lock(&kp->replay_lock);
	fresh = replay_check(&kp->replay, counter);
	pthread_mutex_unlock(&kp->replay_lock);
	if (!fresh) {
		STAT(dev, rx_replay);
		return;
	}
	peer = kp->peer;
	atomic_fetch_add_explicit(&peer->rx_bytes, len, memory_order_relaxed);
	peer_update_endpoint(peer, src);
	if (atomic_load_explicit(&kp->unconfirmed, memory_order_relaxed) &&
	    atomic_exchange(&kp->unconfirmed, false))
		door_push_event(&dev->door, WG_EV_CONFIRM, kp);
	/* An initiator's session nearing its end: rekey now rather than stall (the paper, 6.2). */
	if (kp->i_am_initiator && kp == atomic_load(&peer->kp_current) &&
	    keypair_age_ns(kp, now_ns) >=
	        t->reject_after_ns - t->keepalive_ns - t->rekey_timeout_ns &&
	    !atomic_exchange(&peer->sent_lastminute_handshake, true))
		peer_request_rekey(peer);
	timers_any_authenticated_packet_received(peer);
	timers_any_authenticated_packet_traversal(peer);
	if (plain_len == 0) {
		STAT(dev, rx_keepalive);
		return;
	}
	timers_data_received(peer);
	inner_len = inner_packet(msg->encrypted, plain_len, &family, &inner_src);
	if (!inner_len) {
		STAT(dev, rx_bad_inner);
		return;
	}
	/* The source must be one this peer may use: the cryptokey routing rule. */
	if (allowedips_lookup(routes, family, inner_src) != peer) {
		STAT(dev, rx_not_allowed);
		return;
	}
	/* Bulk that waited too long in our socket: CoDel may drop it, so that TCP slows down. */
	if (io->codel.target_ns && ip_is_tcp_data(msg->encrypted, inner_len) &&
	    codel_should_drop(
	        &io->codel,
	        io->rx_backlog >= io->w->dev->config.aqm_min_backlog ? io->rx_sojourn_ns : 0,
	        now_ns)) {
		STAT(dev, rx_aqm_dropped);
		return;
	}
	/* Queued for the TUN; the batch's flush joins runs of TCP segments into one write. */
	if (!gro_add(io->gro, msg->encrypted, inner_len)) {
		receive_flush(io);
		if (!gro_add(io->gro, msg->encrypted, inner_len))
			return;
	}
	STAT(dev, rx_data);
}

/* Relay control frames and probes: not data, for the owner of the other protocols. */
static bool is_ours(const uint8_t *p)
{
	return p[0] >= 0xd0 && p[0] <= RELAY_FIRST_BYTE_MAX && p[0] != RELAY_DATA;
}

static void receive_one(struct worker_io *io, const struct kp_index *kpi,
                        const struct allowedips *routes, struct udp_pkt *p, uint64_t now_ns)
{
	struct wg_device *dev = io->w->dev;
	struct endpoint src;
	uint8_t *data = p->data;
	size_t len = p->len;

	if (len < 4) {
		STAT(dev, rx_short);
		return;
	}
	/* Through a relay: the frame's header names the sender there, and replies go back that way.
	 */
	if (data[0] == RELAY_DATA) {
		if (len < RELAY_DATA_HDR_LEN + 4) {
			STAT(dev, rx_short);
			return;
		}
		endpoint_relayed(&src, &p->addr, data, RELAY_DATA_HDR_LEN);
		data += RELAY_DATA_HDR_LEN;
		len -= RELAY_DATA_HDR_LEN;
		if (data[0] == RELAY_DATA ||
		    (data[0] > RELAY_DATA && data[0] <= RELAY_FIRST_BYTE_MAX)) {
			STAT(dev, rx_unknown);
			return;
		}
	} else {
		endpoint_from_addr(&src, &p->addr);
	}
	src.local = p->local; /* where it came to: replies go from there */
	if (is_wireguard(data, len)) {
		static const size_t exact[] = { [MSG_INITIATION] = MSG_INITIATION_LEN,
			                        [MSG_RESPONSE] = MSG_RESPONSE_LEN,
			                        [MSG_COOKIE_REPLY] = MSG_COOKIE_REPLY_LEN };

		if (data[0] == MSG_DATA) {
			receive_data(io, kpi, routes, data, len, &src, now_ns);
			return;
		}
		if (len != exact[data[0]]) {
			STAT(dev, rx_short);
			return;
		}
		if (door_push_packet(&dev->door, data, len, &src))
			STAT(dev, rx_handshake);
		else
			STAT(dev, rx_queue_full);
		return;
	}
	if ((is_stun(data, len) || is_ours(data)) && dev->other_packet && len <= DOOR_PACKET_MAX) {
		if (door_push_packet(&dev->door, data, len, &src))
			STAT(dev, rx_other);
		else
			STAT(dev, rx_queue_full);
		return;
	}
	STAT(dev, rx_unknown);
}

/* Writes a queued unit to the worker's TUN queue. */
static long write_tun(void *ctx, const struct iovec *iov, int n)
{
	struct worker_io *io = ctx;
	ssize_t w = tun_writev(io->w->dev->tun, io->w->id, iov, n);

	if (w < 0)
		STAT(io->w->dev, rx_tun_failed);
	return (long)w;
}

void receive_flush(struct worker_io *io)
{
	gro_flush(io->gro, write_tun, io);
}

void receive_datagram(struct worker_io *io, uint8_t *data, size_t len, const struct addr *src)
{
	struct udp_pkt p = { .data = data, .len = len, .cap = len, .addr = *src };
	struct wg_device *dev = io->w->dev;

	io->rx_sojourn_ns = 0;
	io->rx_backlog = 0;
	receive_one(io, atomic_load(&dev->kp_index), atomic_load(&dev->routes), &p, now_mono_ns());
}

bool receive_io_init(struct worker_io *io)
{
	struct wg_device *dev = io->w->dev;
	/* A GRO socket may deliver a whole run of datagrams in one slot. */
	size_t cap = dev->udp[io->w->id].gro ? 65536 : RX_BUF;

	io->rx_bufs = malloc((size_t)WORKER_BATCH * cap);
	io->gro = malloc(sizeof(*io->gro));
	io->rx = malloc(sizeof(*io->rx));
	if (!io->rx_bufs || !io->gro || !io->rx) {
		receive_io_clear(io);
		return false;
	}
	gro_init(io->gro, dev->tun->vnet, dev->tun->uso);
	codel_init(&io->codel, (uint64_t)dev->config.aqm_target_us * 1000,
	           (uint64_t)dev->config.aqm_interval_us * 1000);
	io->rx_sojourn_ns = 0;
	io->rx_n = io->rx_next = 0;
	io->rx_off = 0;
	for (int i = 0; i < WORKER_BATCH; i++)
		io->rx_pkts[i] =
		    (struct udp_pkt){ .data = io->rx_bufs + (size_t)i * cap, .cap = cap };
	udp_rx_init(io->rx, io->rx_pkts, WORKER_BATCH);
	return true;
}

void receive_io_clear(struct worker_io *io)
{
	free(io->rx_bufs);
	free(io->gro);
	free(io->rx);
	io->rx_bufs = NULL;
	io->gro = NULL;
	io->rx = NULL;
}

/* How many datagrams a slot holds: a GRO run counts each. */
static size_t slot_count(const struct udp_pkt *q)
{
	return q->seg ? (q->len + q->seg - 1) / q->seg : 1;
}

/* How long the slot's datagrams waited in the socket, for CoDel. */
static void note_sojourn(struct worker_io *io, const struct udp_pkt *p, uint64_t *now_wall)
{
	if (p->rx_wall_ns && !*now_wall)
		*now_wall = (uint64_t)now_wall_ns();
	io->rx_sojourn_ns =
	    p->rx_wall_ns && *now_wall > p->rx_wall_ns ? *now_wall - p->rx_wall_ns : 0;
}

/*
 * The express lane: small datagrams on their own in slots [from, rx_n) (a
 * game's packets, pings, ACKs, handshakes) are handled at once, at most
 * budget of them, ahead of the bulk runs read before them; the in-order pass
 * then skips them (len 0).  Those that overtook something count in
 * rx_express.  See worker.h.
 */
static int express(struct worker_io *io, const struct kp_index *kpi,
                   const struct allowedips *routes, int from, int budget, uint64_t now_ns,
                   uint64_t *now_wall)
{
	bool behind = io->rx_next < from; /* slots read earlier still wait */
	int done = 0;

	for (int i = from; i < io->rx_n && done < budget; i++) {
		struct udp_pkt *p = &io->rx_pkts[i];

		if (p->seg || !p->len || p->len > RX_EXPRESS_MAX) {
			behind = behind || p->len;
			continue;
		}
		if (behind)
			STAT(io->w->dev, rx_express);
		note_sojourn(io, p, now_wall);
		receive_one(io, kpi, routes, p, now_ns);
		p->len = 0;
		if (io->rx_backlog)
			io->rx_backlog--;
		done++;
	}
	return done;
}

int receive_from_udp(struct worker_io *io, uint64_t now_ns)
{
	struct wg_device *dev = io->w->dev;
	struct udp_socket *sock = &dev->udp[io->w->id];
	const struct kp_index *kpi = atomic_load(&dev->kp_index);
	const struct allowedips *routes = atomic_load(&dev->routes);
	uint64_t now_wall = 0;
	int done, n, fresh;

	if (io->rx_next >= io->rx_n) {
		/* A new batch. */
		n = udp_recv_prepared(sock, io->rx);
		io->rx_n = io->rx_next = 0;
		io->rx_off = 0;
		io->rx_backlog = 0;
	} else {
		/* A batch under way: take in what came since, into the free slots after it. */
		n = udp_recv_prepared_from(sock, io->rx, io->rx_n);
	}
	if (n < 0) {
		log_ratelimited(LL_ERROR, "%s: receiving failed: %s", dev->tun->name, strerror(-n));
		n = 0;
	}
	fresh = io->rx_n;
	io->rx_n += n;
	for (int i = fresh; i < io->rx_n; i++)
		io->rx_backlog += slot_count(&io->rx_pkts[i]);
	done = express(io, kpi, routes, fresh, RX_TURN, now_ns, &now_wall);
	/* One turn: RX_TURN datagrams; a run of them from one sender counts each. */
	while (done < RX_TURN && io->rx_next < io->rx_n) {
		struct udp_pkt *p = &io->rx_pkts[io->rx_next];
		size_t seg = p->seg ? p->seg : p->len;

		note_sojourn(io, p, &now_wall);
		while (done < RX_TURN && io->rx_off < p->len) {
			struct udp_pkt one = {
				.data = p->data + io->rx_off,
				.len = p->len - io->rx_off < seg ? p->len - io->rx_off : seg,
				.addr = p->addr,
				.local = p->local,
			};

			receive_one(io, kpi, routes, &one, now_ns);
			io->rx_off += seg;
			if (io->rx_backlog)
				io->rx_backlog--;
			done++;
		}
		if (io->rx_off >= p->len) {
			io->rx_next++;
			io->rx_off = 0;
		}
	}
	/* Queued packets point into the slots: write them before the slots are reused. */
	receive_flush(io);
	return done;
}

static bool under_load(struct wg_device *dev, uint64_t now_ns)
{
	if (door_packets_waiting(&dev->door) >= MAX_QUEUED_HANDSHAKES / 8) {
		dev->last_under_load_ns = now_ns;
		return true;
	}
	return dev->last_under_load_ns && now_ns - dev->last_under_load_ns < NS_PER_SEC;
}

static void receive_initiation(struct wg_device *dev, const struct msg_initiation *msg,
                               const struct endpoint *src, uint64_t now_ns)
{
	struct noise_initiation_state st;
	struct wg_peer *peer;

	if (!noise_consume_initiation_begin(&dev->local, msg, &st)) {
		STAT(dev, hs_rejected);
		return;
	}
	peer = wg_device_find_peer(dev, st.remote_static);
	if (!peer) {
		char fp[17];

		key_fingerprint(fp, st.remote_static);
		log_ratelimited(LL_INFO, "%s: handshake from an unknown peer (key id %s), ignored",
		                dev->tun->name, fp);
		STAT(dev, hs_rejected);
		return;
	}
	if (!noise_consume_initiation_finish(&peer->handshake, &st, msg, now_ns)) {
		log_ratelimited(LL_DEBUG, "peer %s: replayed or too frequent initiation, ignored",
		                peer->name);
		STAT(dev, hs_rejected);
		return;
	}
	STAT(dev, hs_initiation_received);
	log_debug("peer %s: received handshake initiation", peer->name);
	peer_update_endpoint(peer, src);
	timers_any_authenticated_packet_received(peer);
	timers_any_authenticated_packet_traversal(peer);
	send_handshake_response(peer);
}

static void receive_response(struct wg_device *dev, const struct msg_response *msg,
                             const struct endpoint *src, uint64_t now_ns)
{
	struct index_entry *e = index_find(&dev->index, le32_load(msg->receiver_index));
	struct noise_keypair *kp;
	struct wg_peer *peer;

	if (!e || e->kp) {
		STAT(dev, hs_rejected);
		return;
	}
	peer = e->peer;
	if (!noise_consume_response(&peer->handshake, &dev->local, msg)) {
		STAT(dev, hs_rejected);
		return;
	}
	kp = malloc(sizeof(*kp));
	if (!kp || !noise_begin_session(&peer->handshake, kp, now_ns)) {
		free(kp);
		return;
	}
	e->kp = kp;
	dev->dirty = true;
	STAT(dev, hs_response_received);
	STAT(dev, hs_completed);
	log_debug("peer %s: handshake complete (initiator)", peer->name);
	peer_update_endpoint(peer, src);
	peer_add_keypair(peer, kp);
	wg_device_commit(dev);
	timers_session_derived(peer);
	timers_handshake_complete(peer);
	timers_any_authenticated_packet_received(peer);
	timers_any_authenticated_packet_traversal(peer);
	/* Staged packets confirm the session to the responder; without any, a keepalive does. */
	send_keepalive(peer);
}

static void receive_cookie_reply(struct wg_device *dev, const struct msg_cookie_reply *msg,
                                 uint64_t now_ns)
{
	struct index_entry *e = index_find(&dev->index, le32_load(msg->receiver_index));
	struct wg_peer *peer = e ? e->peer : NULL;

	if (!peer || !cookie_consume_reply(&peer->cookie, msg, now_ns)) {
		STAT(dev, hs_rejected);
		return;
	}
	STAT(dev, hs_cookie_received);
	log_debug("peer %s: received a cookie; the next handshake proves our address", peer->name);
}

void receive_handshake(struct wg_device *dev, const uint8_t *data, size_t len,
                       const struct endpoint *src)
{
	uint64_t now_ns = now_mono_ns();
	bool load = under_load(dev, now_ns);
	enum cookie_mac_state mac;

	if (data[0] == MSG_COOKIE_REPLY) {
		receive_cookie_reply(dev, (const struct msg_cookie_reply *)data, now_ns);
		return;
	}
	mac = cookie_validate(&dev->cookie_checker, data, len, &src->addr, load, now_ns);
	if (mac == COOKIE_MAC_INVALID) {
		STAT(dev, hs_bad_mac);
		return;
	}
	if (load) {
		/* Under load a handshake must prove its source address first (mac2), ... */
		if (mac != COOKIE_MAC_VALID_WITH_COOKIE) {
			send_cookie_reply(dev, data, len, src);
			return;
		}
		/* ... and each source gets its fair share. */
		if (!ratelimit_allow(&dev->ratelimit, &src->addr, now_ns)) {
			STAT(dev, hs_ratelimited);
			return;
		}
	}
	if (data[0] == MSG_INITIATION)
		receive_initiation(dev, (const struct msg_initiation *)data, src, now_ns);
	else
		receive_response(dev, (const struct msg_response *)data, src, now_ns);
}
