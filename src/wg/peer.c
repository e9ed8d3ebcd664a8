/* peer.c - a peer's keypairs, staged packets and endpoint. */
#include "wg/peer.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/key.h"
#include "crypto/secret.h"
#include "util/log.h"
#include "util/now.h"
#include "util/pi_mutex.h"
#include "wg/send.h"
#include "wg/timers.h"

struct wg_peer *peer_create(struct wg_device *dev, const uint8_t *public_key)
{
	struct wg_peer *peer = calloc(1, sizeof(*peer));

	if (!peer)
		return NULL;
	peer->dev = dev;
	memcpy(peer->public_key, public_key, NOISE_PUBLIC_KEY_LEN);
	key_fingerprint(peer->name, public_key);
	noise_handshake_init(&peer->handshake, &dev->local, public_key);
	cookie_maker_init(&peer->cookie, public_key);
	endpoint_clear(&peer->endpoint);
	pi_mutex_init(&peer->endpoint_lock);
	pi_mutex_init(&peer->staged_lock);
	if (!timers_init(peer)) {
		pthread_mutex_destroy(&peer->staged_lock);
		pthread_mutex_destroy(&peer->endpoint_lock);
		free(peer);
		return NULL;
	}
	return peer;
}

void peer_free(struct wg_peer *peer)
{
	timers_stop(peer);
	for (unsigned i = 0; i < MAX_STAGED_PACKETS; i++) {
		if (peer->staged[i].data) {
			secret_zero(peer->staged[i].data, MAX_PACKET);
			free(peer->staged[i].data);
		}
	}
	pthread_mutex_destroy(&peer->staged_lock);
	pthread_mutex_destroy(&peer->endpoint_lock);
	secret_zero(peer, sizeof(*peer));
	free(peer);
}

static void release_keypair(void *ctx, void *ptr)
{
	struct noise_keypair *kp = ptr;

	noise_keypair_zero(kp);
	pthread_mutex_destroy(&kp->replay_lock);
	free(kp);
}

/* Takes a keypair out of service: out of the index now, freed after the workers pass. */
static void drop_keypair(struct wg_peer *peer, struct noise_keypair *kp)
{
	struct wg_device *dev = peer->dev;

	if (!kp)
		return;
	index_remove(&dev->index, kp->local_index);
	dev->dirty = true;
	/* The index snapshot still holds kp until the next commit, which precedes release. */
	wg_device_commit(dev);
	if (!grace_defer(&dev->grace, release_keypair, NULL, kp)) {
		log_error("peer %s: out of memory; a keypair is leaked", peer->name);
		noise_keypair_zero(kp);
	}
}

void peer_add_keypair(struct wg_peer *peer, struct noise_keypair *kp)
{
	struct noise_keypair *current = atomic_load(&peer->kp_current);

	kp->peer = peer;
	if (kp->i_am_initiator) {
		/*
		 * Our handshake was answered: use the new keys at once.  A next keypair
		 * (we also answered the peer meanwhile) is older than this one.
		 */
		if (peer->kp_next) {
			drop_keypair(peer, peer->kp_previous);
			peer->kp_previous = peer->kp_next;
			peer->kp_next = NULL;
			atomic_store(&peer->kp_current, kp);
			drop_keypair(peer, current);
		} else {
			drop_keypair(peer, peer->kp_previous);
			peer->kp_previous = current;
			atomic_store(&peer->kp_current, kp);
		}
	} else {
		/* We answered: wait for the initiator's first data under these keys. */
		drop_keypair(peer, peer->kp_next);
		peer->kp_next = kp;
		drop_keypair(peer, peer->kp_previous);
		peer->kp_previous = NULL;
	}
}

void peer_confirm_keypair(struct wg_peer *peer, struct noise_keypair *kp)
{
	if (peer->kp_next != kp)
		return;
	drop_keypair(peer, peer->kp_previous);
	peer->kp_previous = atomic_load(&peer->kp_current);
	atomic_store(&peer->kp_current, kp);
	peer->kp_next = NULL;
}

void peer_expire_current(struct wg_peer *peer)
{
	struct noise_keypair *current = atomic_load(&peer->kp_current);

	if (peer->kp_next)
		atomic_store(&peer->kp_next->send_counter, REJECT_AFTER_MESSAGES);
	if (current)
		atomic_store(&current->send_counter, REJECT_AFTER_MESSAGES);
}

void peer_zero_keys(struct wg_peer *peer)
{
	struct noise_keypair *current = atomic_exchange(&peer->kp_current, NULL);

	drop_keypair(peer, peer->kp_previous);
	drop_keypair(peer, current);
	drop_keypair(peer, peer->kp_next);
	peer->kp_previous = peer->kp_next = NULL;
	peer_drop_handshake_index(peer);
	noise_handshake_zero(&peer->handshake);
}

void peer_drop_handshake_index(struct wg_peer *peer)
{
	uint32_t index = peer->handshake.local_index;
	struct index_entry *e = index ? index_find(&peer->dev->index, index) : NULL;

	/* A keypair keeps its handshake's index: only a bare handshake entry goes. */
	if (e && e->peer == peer && !e->kp)
		index_remove(&peer->dev->index, index);
	peer->handshake.local_index = 0;
}

void peer_stage_packet(struct wg_peer *peer, const uint8_t *data, size_t len)
{
	struct wg_staged *slot;
	bool dropped = false;

	if (len > MAX_PACKET)
		return;
	pthread_mutex_lock(&peer->staged_lock);
	if (peer->staged_len == MAX_STAGED_PACKETS) {
		peer->staged_head = (peer->staged_head + 1) % MAX_STAGED_PACKETS;
		peer->staged_len--;
		dropped = true;
	}
	slot = &peer->staged[(peer->staged_head + peer->staged_len) % MAX_STAGED_PACKETS];
	if (!slot->data)
		slot->data = malloc(MAX_PACKET);
	if (slot->data) {
		memcpy(slot->data, data, len);
		slot->len = len;
		peer->staged_len++;
	}
	pthread_mutex_unlock(&peer->staged_lock);
	STAT(peer->dev, tx_staged);
	if (dropped)
		STAT(peer->dev, tx_staged_dropped);
	peer_request_keypair(peer);
}

void peer_send_staged(struct wg_peer *peer)
{
	uint8_t buf[MAX_PACKET];
	size_t len;

	for (;;) {
		struct noise_keypair *kp = atomic_load(&peer->kp_current);

		if (!keypair_can_send(kp, now_mono_ns(), &peer->dev->timing))
			return;
		pthread_mutex_lock(&peer->staged_lock);
		if (!peer->staged_len) {
			pthread_mutex_unlock(&peer->staged_lock);
			return;
		}
		len = peer->staged[peer->staged_head].len;
		memcpy(buf, peer->staged[peer->staged_head].data, len);
		peer->staged_head = (peer->staged_head + 1) % MAX_STAGED_PACKETS;
		peer->staged_len--;
		pthread_mutex_unlock(&peer->staged_lock);
		send_data_one(peer, buf, len);
	}
}

void peer_flush_staged(struct wg_peer *peer)
{
	pthread_mutex_lock(&peer->staged_lock);
	atomic_fetch_add_explicit(&peer->dev->stats.tx_staged_dropped, peer->staged_len,
	                          memory_order_relaxed);
	peer->staged_head = peer->staged_len = 0;
	pthread_mutex_unlock(&peer->staged_lock);
}

void peer_update_endpoint(struct wg_peer *peer, const struct endpoint *src)
{
	bool changed;

	pthread_mutex_lock(&peer->endpoint_lock);
	changed = !endpoint_equal(&peer->endpoint, src) ||
	          !addr_equal_ip(&peer->endpoint.local, &src->local);
	if (changed)
		peer->endpoint = *src;
	pthread_mutex_unlock(&peer->endpoint_lock);
	if (changed) {
		char buf[ENDPOINT_STRLEN];

		log_ratelimited(LL_DEBUG, "peer %s: endpoint is now %s", peer->name,
		                endpoint_format(src, buf));
	}
}

void peer_request_keypair(struct wg_peer *peer)
{
	if (!atomic_exchange(&peer->handshake_requested, true))
		door_push_event(&peer->dev->door, WG_EV_NEED_KEYPAIR, peer);
}

void peer_request_rekey(struct wg_peer *peer)
{
	if (!atomic_exchange(&peer->rekey_requested, true))
		door_push_event(&peer->dev->door, WG_EV_REKEY, peer);
}
