/* peer.h - a peer's keypairs, staged packets and endpoint. */
#ifndef LANRAGE_WG_PEER_H
#define LANRAGE_WG_PEER_H

#include "wg/device.h"

/* The largest packet a peer carries: MTU 65535 would not fit, but any real one does. */
enum { MAX_PACKET = 2048 };

/* Control thread. */
struct wg_peer *peer_create(struct wg_device *dev, const uint8_t *public_key);
/* Unlinks nothing: the caller unlinked the peer and waited a grace period. */
void peer_free(struct wg_peer *peer);

/* Installs a fresh keypair: an initiator's becomes current, a responder's next. */
void peer_add_keypair(struct wg_peer *peer, struct noise_keypair *kp);
/* A responder's next keypair saw data: it becomes current. */
void peer_confirm_keypair(struct wg_peer *peer, struct noise_keypair *kp);
/* Stops sending under the current keys (forcing a handshake); receiving goes on. */
void peer_expire_current(struct wg_peer *peer);
/* Forgets the index of the handshake in progress, if it has one (not a keypair's). */
void peer_drop_handshake_index(struct wg_peer *peer);
/* Drops every keypair and any handshake in progress, erasing the keys. */
void peer_zero_keys(struct wg_peer *peer);

/* Whether kp may still encrypt at monotonic time now. */
static inline bool keypair_can_send(struct noise_keypair *kp, uint64_t now_ns,
                                    const struct wg_timing *t)
{
	return kp && keypair_age_ns(kp, now_ns) < t->reject_after_ns &&
	       atomic_load_explicit(&kp->send_counter, memory_order_relaxed) <
	           REJECT_AFTER_MESSAGES;
}

/* Any thread: keeps a packet until a session exists (oldest dropped past MAX_STAGED_PACKETS). */
void peer_stage_packet(struct wg_peer *peer, const uint8_t *data, size_t len);
/* Control thread: sends the staged packets under the current keypair, if one can send. */
void peer_send_staged(struct wg_peer *peer);
/* Drops all staged packets. */
void peer_flush_staged(struct wg_peer *peer);

/* Any thread; updates only on change. */
void peer_update_endpoint(struct wg_peer *peer, const struct endpoint *src);

/* Any thread: ask the control thread for a handshake, once until it acts. */
void peer_request_keypair(struct wg_peer *peer);
void peer_request_rekey(struct wg_peer *peer);

#endif
