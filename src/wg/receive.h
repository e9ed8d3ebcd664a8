/* receive.h - everything the device receives: data in the rx worker, handshakes on control. */
#ifndef LANRAGE_WG_RECEIVE_H
#define LANRAGE_WG_RECEIVE_H

#include "wg/device.h"
#include "wg/worker.h"

/* A worker's receiving half: UDP -> classify -> decrypt -> check -> TUN, in batches. */
bool receive_io_init(struct worker_io *io);
void receive_io_clear(struct worker_io *io);
/* Handles what waits on the worker's socket (a batch at most); returns how many. */
int receive_from_udp(struct worker_io *io, uint64_t now_ns);

/*
 * One datagram as the rx worker handles it (data decrypted to the TUN,
 * handshakes and other protocols queued for the control thread).  For callers
 * that are themselves packet workers: announce the grace epoch around it.
 */
void receive_datagram(struct wg_device *dev, uint8_t *data, size_t len, const struct addr *src);

/* Control thread: an initiation, response or cookie reply from the door. */
void receive_handshake(struct wg_device *dev, const uint8_t *data, size_t len,
                       const struct addr *src);

#endif
