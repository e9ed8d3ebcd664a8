/* udp.h - one UDP socket for every protocol, with batched receive and send. */
#ifndef LANRAGE_UDP_UDP_H
#define LANRAGE_UDP_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include "util/addr.h"
#include "util/endpoint.h"
#include "util/compiler.h"

/*
 * A dual-stack socket (IPv6 with IPv4-mapped addresses; IPv4 only where the
 * host has no IPv6).  Addresses in and out are plain: IPv4 peers appear as
 * AF_INET, never as ::ffff:a.b.c.d.  Non-blocking; poll on fd.
 */
struct udp_socket {
	int fd;
	int family; /* AF_INET6 (dual-stack) or AF_INET */
	uint16_t port;
	bool gso; /* sends equal-sized datagrams to one peer as one (UDP_SEGMENT) */
	bool gro; /* receives runs of them as one (UDP_GRO): see udp_pkt.seg */
};

/*
 * A datagram slot in a batch: data/cap supplied by the caller, len and addr
 * filled in.  On a GRO socket one slot may hold a run of datagrams from one
 * sender: all of seg bytes but the last (seg 0: a single datagram); cap should
 * then be 64 KiB.
 */
struct udp_pkt {
	uint8_t *data;
	size_t len;
	size_t cap;
	size_t seg;
	struct addr addr;
	/*
	 * Our own address on the path: received, the one the datagram came to
	 * (udp_enable_pktinfo); sent, the source it goes from.  Unset: the
	 * routing table picks the source, as it would for an unbound socket.
	 */
	struct addr local;
	/* when the kernel took it in (CLOCK_REALTIME; udp_enable_timestamps), or 0 */
	uint64_t rx_wall_ns;
	/*
	 * The IP header's TOS (IPv4) or traffic class (IPv6) byte: received, what
	 * the datagram carried (udp_enable_recvtos), else 0; sent, nonzero: the
	 * byte it goes with instead of the socket's (udp_set_dscp).
	 */
	uint8_t tos;
};

enum { UDP_MAX_PAYLOAD = 65507, UDP_GSO_MAX_SEGS = 64 };

/*
 * Binds n sockets to one port (0: any free one) as a SO_REUSEPORT group, so
 * that the kernel spreads peers over them (each peer's datagrams stay on one
 * socket); fwmark 0 means none.  buffer sets the send and receive buffers in
 * bytes (0: the system default): short queues keep latency low under load.
 * 0 or -errno.
 */
int udp_open_group(struct udp_socket *socks, int n, uint16_t port, uint32_t fwmark,
                   int buffer) WARN_UNUSED;
/* A single socket; as udp_open_group with n = 1 and default buffers. */
int udp_open(struct udp_socket *s, uint16_t port, uint32_t fwmark) WARN_UNUSED;
/*
 * A single socket bound to local: the IPv6 wildcard is dual-stack (as
 * udp_open), a specific address takes its own family only.  gro asks for
 * UDP_GRO (see udp_pkt.seg).  0 or -errno.
 */
int udp_open_addr(struct udp_socket *s, const struct addr *local, int buffer, bool gro) WARN_UNUSED;
/* n such sockets as a SO_REUSEPORT group on local's address and port (0: any free one). */
int udp_open_addr_group(struct udp_socket *socks, int n, const struct addr *local, int buffer,
                        bool gro) WARN_UNUSED;
/*
 * Of a group of two, the second socket takes the datagrams marked with DSCP
 * dscp that are max_len bytes at most, the first the rest (a classic BPF
 * program on the group, given through its first socket).  0 or -errno.
 */
int udp_group_lane(struct udp_socket *first, int dscp, size_t max_len) WARN_UNUSED;
/*
 * Writes at code the classic BPF instructions of a reuseport program that
 * load a datagram's DSCP, shifted left by 2 as in its TOS or traffic class
 * byte (the ECN bits cleared), into A; returns how many (UDP_BPF_DSCP_LEN).
 * Their jumps stay inside them.
 */
enum { UDP_BPF_DSCP_LEN = 8 };
struct sock_filter;
int udp_bpf_load_dscp(struct sock_filter *code);
void udp_close(struct udp_socket *s);
/* Marks every datagram the socket sends with this DSCP (0-63); 0 or -errno. */
int udp_set_dscp(struct udp_socket *s, int dscp) WARN_UNUSED;
int udp_set_fwmark(struct udp_socket *s, uint32_t fwmark) WARN_UNUSED;
/* Asks the kernel to stamp each received datagram (SO_TIMESTAMPNS): 0 or -errno. */
int udp_enable_timestamps(struct udp_socket *s) WARN_UNUSED;

/*
 * Asks the kernel for the address each datagram came to (udp_pkt.local), so
 * that replies can go from it: on a host with several addresses the routing
 * table's choice may be another one, which a NAT or a stateful firewall in
 * front of the peer drops.  0 or -errno.
 */
int udp_enable_pktinfo(struct udp_socket *s) WARN_UNUSED;
/* Datagrams received from now on say the TOS or traffic class they carried (tos); 0 or -errno. */
int udp_enable_recvtos(struct udp_socket *s) WARN_UNUSED;

/* Receives up to n datagrams without blocking: count, 0 when none wait, or -errno. */
int udp_recv_batch(struct udp_socket *s, struct udp_pkt *pkts, int n);

/*
 * The same with the kernel's descriptors set up once, for a loop that polls
 * often (most calls find nothing, or a GRO run or two): udp_rx_init binds rx
 * to pkts[0..n) (n at most UDP_RECV_MAX; their data and cap must not change
 * after), udp_recv_prepared fills pkts[0..count) as udp_recv_batch does.
 */
enum { UDP_RECV_MAX = 128 };
struct udp_rx {
	struct udp_pkt *pkts;
	int n;
	struct mmsghdr msgs[UDP_RECV_MAX];
	struct iovec iov[UDP_RECV_MAX];
	struct sockaddr_in6 names[UDP_RECV_MAX];
	union {
		char buf[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct timespec)) +
		         CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl[UDP_RECV_MAX];
};
void udp_rx_init(struct udp_rx *rx, struct udp_pkt *pkts, int n);
int udp_recv_prepared(struct udp_socket *s, struct udp_rx *rx);
/* The same into pkts[first..n) only: what arrived while pkts[0..first) wait their turn. */
int udp_recv_prepared_from(struct udp_socket *s, struct udp_rx *rx, int first);
/*
 * Sends n datagrams, each to its addr, from its local if set; on a GSO socket,
 * runs of equal-sized ones to the same address from the same source go as
 * one.  A source the host no longer has is dropped (the routing table picks
 * one instead).  Returns how many datagrams went.
 */
int udp_send_batch(struct udp_socket *s, const struct udp_pkt *pkts, int n);
/*
 * As udp_send_batch, but never waits for room: a datagram the kernel refuses
 * (a full buffer, an unreachable address) is skipped and flagged in
 * failed[i] (failed may be NULL).  Returns how many went.
 */
int udp_send_batch_nowait(struct udp_socket *s, const struct udp_pkt *pkts, int n, bool *failed);
/* One datagram; 0 or -errno. */
int udp_send(struct udp_socket *s, const void *data, size_t len, const struct addr *to);
/*
 * One datagram to an endpoint: its header (if relayed), then data, from the
 * endpoint's local address if set (as udp_send_batch); 0 or -errno.
 */
int udp_send_endpoint(struct udp_socket *s, const void *data, size_t len,
                      const struct endpoint *to);

#endif
