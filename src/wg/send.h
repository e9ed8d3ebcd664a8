/* send.h - everything the device sends: data from the tx worker, and control messages. */
#ifndef LANRAGE_WG_SEND_H
#define LANRAGE_WG_SEND_H

#include "wg/device.h"
#include "wg/worker.h"

/* A worker's sending half: TUN -> route -> encrypt -> UDP, in batches. */
bool send_io_init(struct worker_io *io);
void send_io_clear(struct worker_io *io);
/*
 * Reads what waits on the worker's TUN queue (a batch at most) and sends it;
 * returns how many reads, or -1 once the interface is gone.
 */
int send_from_tun(struct worker_io *io, uint64_t now_ns);

/* Control thread. */
void send_handshake_initiation(struct wg_peer *peer, bool is_retry);
void send_handshake_response(struct wg_peer *peer);
void send_cookie_reply(struct wg_device *dev, const uint8_t *msg, size_t len,
                       const struct endpoint *src);
void send_keepalive(struct wg_peer *peer);
/* Encrypts and sends one packet under the peer's current keypair (staged packets). */
void send_data_one(struct wg_peer *peer, const uint8_t *packet, size_t len);

/* Sends a handshake message to the peer's endpoint; false when it has none. */
bool send_to_peer(struct wg_peer *peer, const void *data, size_t len);

#endif
