/* receive.h - everything the device receives: data in the rx worker, handshakes on control. */
#ifndef LANRAGE_WG_RECEIVE_H
#define LANRAGE_WG_RECEIVE_H

#include "wg/device.h"

/* The rx worker: UDP -> classify -> decrypt -> check -> TUN, in batches. */
void *receive_worker(void *dev);

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
