/* worker.h - the packet workers: both directions, run to completion, spin before sleep. */
#ifndef LANRAGE_WG_WORKER_H
#define LANRAGE_WG_WORKER_H

#include "tun/gro.h"
#include "wg/codel.h"
#include "wg/device.h"

/*
 * A worker alternates between its two directions in short turns, so that
 * what arrives on one side (a game packet, an ACK, a ping reply) never waits
 * long behind bulk work on the other.  A turn is about TX_SLOTS pieces of
 * work (a fraction of a millisecond): on the send side it ends once TX_SLOTS/2
 * pieces are queued (a TUN read may be a super-packet of many pieces); on the
 * receive side after RX_TURN datagrams, the rest of the batch read (a slot may
 * hold a run of dozens) carried over to the next turn.
 */
enum { WORKER_BATCH = 64, TX_SLOTS = 128, RX_TURN = 32 };

/*
 * The receive side's express lane.  Datagrams queue in our socket in arrival
 * order, and a batch read of GRO runs may hold hundreds of a bulk transfer's
 * packets (milliseconds of work): a ping or a game's packet read with them, or
 * arriving while they are handled, would wait for all of them.  So each turn
 * first reads what came since into the batch's free slots, and small datagrams
 * on their own (RX_EXPRESS_MAX bytes: a data message of up to 288 bytes of
 * IP, which holds pings, ACKs, game updates and handshakes) are handled at
 * once, ahead of the runs before them (`rx_express` counts those that
 * overtook any).  The reordering is harmless: the replay window takes
 * counters out of order, and a small TCP segment that overtakes its flow's
 * full ones (a burst's last) costs the receiver one duplicate ACK at most.
 * The send side does the like in send_from_tun.
 */
enum { RX_EXPRESS_MAX = 320 };

/*
 * Read-ahead on the send side: a bulk TCP flow keeps up to a megabyte queued in
 * the TUN (TCP small queues), in FIFO order, and a game packet or ping that
 * arrives behind it would wait for all of it.  So after its turn a worker goes
 * on reading into TX_AHEAD buffers: interactive packets (anything but TCP data)
 * are sent at once, TCP data waits its turn in order.  When the buffers are
 * full, reading stops; nothing is dropped.
 */
enum { TX_AHEAD = 48, TX_READ_LEN = 10 + 65535 };

/* Per-thread buffers, allocated once when a worker starts. */
struct worker_io {
	struct wg_worker *w;
	uint8_t *tx_stage; /* TX_AHEAD reads of TX_READ_LEN, each with its vnet header */
	size_t tx_len[TX_AHEAD];
	unsigned tx_head, tx_queued; /* the bulk reads waiting, a ring over tx_stage */
	uint8_t *tx_bufs;            /* TX_SLOTS pieces, each with room for its header and tag */
	struct udp_pkt tx_out[TX_SLOTS];
	int tx_n;
	uint8_t *rx_bufs;
	struct udp_pkt rx_pkts[WORKER_BATCH];
	struct udp_rx *rx;      /* the kernel's descriptors for rx_pkts, set up once */
	int rx_n, rx_next;      /* slots read; the first not yet handled */
	size_t rx_off;          /* how far into rx_pkts[rx_next]'s run */
	struct gro *gro;        /* decrypted packets waiting to be written */
	struct codel codel;     /* keeps bulk from queueing long in our socket */
	uint64_t rx_sojourn_ns; /* how long the datagram being handled waited for us */
	size_t rx_backlog;      /* datagrams of the last read not yet handled, this one included */
};

/* 0 or -errno. */
int workers_start(struct wg_device *dev) WARN_UNUSED;
void workers_stop(struct wg_device *dev);

#endif
