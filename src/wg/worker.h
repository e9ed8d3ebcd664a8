/* worker.h - the packet workers: both directions, run to completion, spin before sleep. */
#ifndef LANRAGE_WG_WORKER_H
#define LANRAGE_WG_WORKER_H

#include "wg/device.h"

enum { WORKER_BATCH = 64 };

/* Per-thread buffers, allocated once when a worker starts. */
struct worker_io {
	struct wg_worker *w;
	uint8_t *tx_bufs;
	struct udp_pkt tx_out[WORKER_BATCH];
	int tx_n;
	uint8_t *rx_bufs;
	struct udp_pkt rx_pkts[WORKER_BATCH];
};

/* 0 or -errno. */
int workers_start(struct wg_device *dev) WARN_UNUSED;
void workers_stop(struct wg_device *dev);

#endif
