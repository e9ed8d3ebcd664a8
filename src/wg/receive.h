/* receive.h - everything the device receives: data in the rx worker, handshakes on control. */
#ifndef LANRAGE_WG_RECEIVE_H
#define LANRAGE_WG_RECEIVE_H

#include "wg/device.h"
#include "wg/worker.h"

/* A worker's receiving half: UDP -> classify -> decrypt -> check -> TUN, in batches. */
bool receive_io_init(struct worker_io *io);
void receive_io_clear(struct worker_io *io);
/* Handles what waits on the worker's socket (a batch at most); returns how many slots. */
int receive_from_udp(struct worker_io *io, uint64_t now_ns);

/*
 * One datagram as a worker handles it: data decrypted and queued for the TUN,
 * handshakes and other protocols for the control thread.  receive_flush
 * writes what is queued.  For callers that are packet workers themselves
 * (announcing their grace epoch), with io from receive_io_init.
 */
void receive_datagram(struct worker_io *io, uint8_t *data, size_t len, const struct addr *src);
void receive_flush(struct worker_io *io);

/* Control thread: an initiation, response or cookie reply from the door. */
void receive_handshake(struct wg_device *dev, const uint8_t *data, size_t len,
                       const struct endpoint *src);

#endif
