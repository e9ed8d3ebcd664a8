/* device.h - a WireGuard interface: peers, configuration, threads; the API programs use. */
#ifndef LANRAGE_WG_DEVICE_H
#define LANRAGE_WG_DEVICE_H

#include <event2/event.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "tun/tun.h"
#include "udp/udp.h"
#include "util/addr.h"
#include "util/compiler.h"
#include "util/door.h"
#include "util/endpoint.h"
#include "util/grace.h"
#include "util/prefix.h"
#include "wg/allowedips.h"
#include "wg/arrival.h"
#include "wg/cookie.h"
#include "wg/index.h"
#include "wg/noise.h"
#include "wg/ratelimit.h"
#include "wg/steer.h"

/*
 * Threads.  One control thread runs the caller's libevent loop and owns all
 * mutable state: configuration, peers, handshakes, timers.  Packet workers,
 * one per TUN queue, each with its own UDP socket of a SO_REUSEPORT group,
 * move data both ways, run to completion (a packet written to the TUN may be
 * answered at once by the kernel, and the same worker picks the answer up),
 * and spin briefly before they sleep, so a reply expected within microseconds
 * costs no wake-up.  Workers read the routing table and the keypair index
 * through atomic pointers to immutable snapshots (freed after a grace
 * period), read a peer's current keypair through an atomic pointer, and
 * report to the control thread through the door.  No lock is held across a
 * system call.
 */

/* Protocol times (the paper, section 6.1).  Tests shorten them. */
struct wg_timing {
	uint64_t rekey_after_ns;   /* 120 s */
	uint64_t reject_after_ns;  /* 180 s */
	uint64_t rekey_attempt_ns; /* 90 s */
	uint64_t rekey_timeout_ns; /* 5 s */
	uint64_t keepalive_ns;     /* 10 s */
	uint64_t rekey_after_messages;
};

void wg_timing_default(struct wg_timing *t);
/* Divides every time by scale (>= 1): LANRAGE_WG_TIME_SCALE in tests. */
void wg_timing_scale(struct wg_timing *t, unsigned scale);

/* How a device runs. */
struct wg_config {
	struct wg_timing timing;
	int socket_buffer;     /* bytes per UDP socket, each way: the longest queue we accept */
	unsigned spin_us;      /* how long an idle worker polls before it sleeps */
	unsigned busy_spin_us; /* ...while traffic is dense (turns under 1 ms apart) */
	bool predict;          /* sleep until just before periodic traffic is due (arrival.h) */
	int worker_nice;       /* the workers' nice value, so other work cannot keep them waiting */
	bool cpu_local;        /* sparse traffic stays on the CPU it comes from (steer.h) */
	bool priority;         /* small packets other than TCP go by the priority lane (steer.h) */
	unsigned prio_budget_pct; /* ...which closes while a priority worker is busier than this */
	/* CoDel on what waits in our sockets (codel.h): target 0 turns it off. */
	unsigned aqm_target_us, aqm_interval_us;
	/* ...judging a datagram's wait only with this many read behind it: a wait with no queue
	 * (the worker was off the CPU) is no standing queue, and dropping would only starve TCP. */
	unsigned aqm_min_backlog;
	/*
	 * A LAN's broadcast, for games that find each other by it: IPv4
	 * datagrams to 255.255.255.255, to broadcast4 (the virtual LAN's own,
	 * e.g. 10.66.255.255; 0.0.0.0: none) or to a multicast group
	 * (224.0.0.0/4), and IPv6 datagrams to a multicast group (ff00::/8),
	 * which no peer's allowed IPs hold, go to every peer.
	 * Off by default: WireGuard drops them, having no route (lanrage-wg).
	 */
	bool broadcast;
	uint8_t broadcast4[4];
};

/*
 * Polling for 200 us after traffic catches the rest of a burst and a quick
 * reply; the ticks of a game are caught by waking just before each is due
 * (predict), not by polling between them, which would keep a core busy.
 * Under load (dense traffic) a worker polls 20 ms: a woken thread would queue
 * for a CPU.
 */
enum {
	WG_DEFAULT_SOCKET_BUFFER = 512 << 10,
	WG_DEFAULT_SPIN_US = 200,
	WG_DEFAULT_BUSY_SPIN_US = 20000,
	WG_DEFAULT_NICE = 0
};
enum {
	WG_DEFAULT_AQM_TARGET_US = 500,
	WG_DEFAULT_AQM_INTERVAL_US = 10000,
	WG_DEFAULT_AQM_MIN_BACKLOG = 4
};
void wg_config_default(struct wg_config *cfg);

/*
 * How many TUN queues a device with this configuration wants for workers
 * bulk workers: twice as many with the priority lane (steer.h), whose
 * workers have queues of their own.
 */
int wg_config_queues(const struct wg_config *cfg, int workers);
enum { WG_MAX_WORKERS = TUN_MAX_QUEUES / 2, WG_DEFAULT_PRIO_BUDGET_PCT = 20 };

enum wg_timer_id {
	TIMER_RETRANSMIT_HANDSHAKE,
	TIMER_SEND_KEEPALIVE,
	TIMER_NEW_HANDSHAKE,
	TIMER_ZERO_KEY_MATERIAL,
	TIMER_PERSISTENT_KEEPALIVE,
	TIMER_COUNT
};

/* A peer timer: any thread moves the deadline; only the control thread fires it (timers.c). */
struct wg_timer {
	_Atomic uint64_t deadline_ns;  /* monotonic; 0: not pending */
	_Atomic uint64_t scheduled_ns; /* when ev fires; 0: not scheduled (control thread writes) */
	_Atomic uint64_t kick_ns;      /* the deadline a worker's last kick asked for */
	struct event *ev;
	struct wg_peer *peer;
	enum wg_timer_id id;
};

struct wg_staged {
	uint8_t *data; /* MAX_PACKET bytes, allocated on first use and kept */
	size_t len;
};

/* Owned by the device (its peer list); freed after a grace period once removed. */
struct wg_peer {
	struct wg_device *dev;
	struct wg_peer *next; /* device list */
	uint8_t public_key[NOISE_PUBLIC_KEY_LEN];
	char name[17]; /* key fingerprint, for logs */
	_Atomic bool dead;

	/* Control thread. */
	struct noise_handshake handshake;
	struct cookie_maker cookie;
	struct noise_keypair *kp_previous;
	struct noise_keypair *kp_next;
	uint64_t last_sent_handshake_ns;
	unsigned handshake_attempts;

	/* Read by workers. */
	_Atomic(struct noise_keypair *) kp_current;
	_Atomic uint16_t keepalive_interval_sec;

	pthread_mutex_t endpoint_lock; /* workers take it: priority inheritance (pi_mutex.h) */
	struct endpoint endpoint;      /* direct, or through a relay */

	_Atomic uint64_t rx_bytes;
	_Atomic uint64_t tx_bytes;
	_Atomic int64_t last_handshake_wall_ns;
	_Atomic bool handshake_requested;
	_Atomic bool rekey_requested;
	_Atomic bool need_another_keepalive;
	_Atomic bool sent_lastminute_handshake;

	struct wg_timer timers[TIMER_COUNT];

	pthread_mutex_t staged_lock;
	struct wg_staged staged[MAX_STAGED_PACKETS];
	unsigned staged_head, staged_len;
};

/*
 * Drop and event counters, all relaxed atomics, one list for the struct and
 * for wg_device_format_stats.
 */
/* clang-format off */
#define WG_STATS(X)                                                             \
	X(rx_data) X(rx_keepalive) X(rx_short) X(rx_unknown) X(rx_no_keypair)   \
	X(rx_expired) X(rx_bad_auth) X(rx_replay) X(rx_bad_inner)               \
	X(rx_not_allowed) X(rx_handshake) X(rx_other) X(rx_tun_failed)          \
	X(rx_queue_full) X(rx_aqm_dropped) X(rx_express)                        \
	X(tx_data) X(tx_keepalive) X(tx_no_route) X(tx_no_endpoint)             \
	X(tx_bad_packet) X(tx_staged) X(tx_staged_dropped) X(tx_send_failed)    \
	X(tx_broadcast)                                                          \
	X(hs_bad_mac) X(hs_cookie_sent) X(hs_ratelimited) X(hs_rejected)        \
	X(hs_initiation_sent) X(hs_initiation_received) X(hs_response_sent)     \
	X(hs_response_received) X(hs_cookie_received) X(hs_completed)        \
	X(worker_contended) X(cpu_local_on) X(cpu_local_off) X(timer_kicks) \
	X(timed_wakes) X(prio_packets) X(prio_received) X(prio_closed)
/* clang-format on */

struct wg_stats {
#define WG_STAT_FIELD(name) _Atomic uint64_t name;
	WG_STATS(WG_STAT_FIELD)
#undef WG_STAT_FIELD
};

/* Counts one event in dev's stats. */
#define STAT(dev, name) atomic_fetch_add_explicit(&(dev)->stats.name, 1, memory_order_relaxed)

/* What workers tell the control thread through the door. */
enum wg_door_event {
	WG_EV_TIMER_KICK,   /* ptr: struct wg_timer, armed while idle */
	WG_EV_NEED_KEYPAIR, /* ptr: peer; packets are staged */
	WG_EV_REKEY,        /* ptr: peer; its session is getting old */
	WG_EV_CONFIRM,      /* ptr: keypair; data arrived under a responder's new keypair */
	WG_EV_TUN_GONE,     /* the interface was deleted */
};

/*
 * Hands datagrams of other protocols (STUN, probes, relay control) to their
 * owner, on the control thread.  src is relayed when the datagram came inside
 * a relay Data frame (a probe through a relay).
 */
typedef void (*wg_other_packet_fn)(void *ctx, const uint8_t *data, size_t len,
                                   const struct endpoint *src);

enum wg_steer_mode {
	WG_STEER_OFF,    /* not possible here, or turned off: the kernel's flow hashing */
	WG_STEER_SPREAD, /* dense traffic: the kernel's flow hashing, workers on any CPU */
	WG_STEER_LOCAL,  /* sparse traffic: each packet to the worker on its CPU */
};

/*
 * A packet worker; its id is its TUN queue, its socket and its grace slot.
 * With the priority lane, ids from steer.n on are priority workers.
 */
struct wg_worker {
	struct wg_device *dev;
	int id;
	pthread_t thread;
	pid_t tid; /* while it runs; under steer_lock */
};

struct wg_device {
	struct event_base *base;
	struct tun *tun;
	struct wg_config config;
	struct wg_timing timing;
	pthread_t control_thread;

	/* Control thread. */
	struct noise_local local;
	struct cookie_checker cookie_checker;
	struct ratelimit ratelimit;
	struct index_table index;
	struct allowedips routes_edit;
	struct wg_peer *peers;
	size_t n_peers;
	uint16_t listen_port; /* configured; 0: any */
	uint32_t fwmark;
	uint64_t last_under_load_ns;
	struct event *door_ev;
	struct event *collect_ev;
	bool dirty; /* routes or index changed since the last publish */
	wg_other_packet_fn other_packet;
	void *other_packet_ctx;
	void (*on_tun_gone)(void *ctx);
	void *on_tun_gone_ctx;

	/* Shared with workers.  udp[0] also carries the control thread's messages. */
	struct udp_socket udp[TUN_MAX_QUEUES];
	int n_workers;
	_Atomic(struct allowedips *) routes;
	_Atomic(struct kp_index *) kp_index;
	_Atomic bool stopping;
	_Atomic bool tun_gone;
	struct door door;
	struct grace grace;
	int wake_fd; /* eventfd: wakes workers blocked in poll */
	struct wg_worker workers[TUN_MAX_QUEUES];
	bool workers_running;
	struct wg_stats stats;
	/*
	 * CPU-local steering (steer.h): the mode, and when a worker last saw
	 * dense traffic.  The worker that changes the mode holds steer_lock and
	 * pins or unpins every worker.
	 */
	struct steer steer;
	bool steer_ready; /* steer_init done (at the first start) */
	pthread_mutex_t steer_lock;
	_Atomic int steer_mode; /* enum wg_steer_mode */
	_Atomic uint64_t dense_ns;
	/*
	 * The priority lane (steer.h), when steer.n_prio: open, or closed until
	 * prio_until_ns for prio_hold_ns (under steer_lock) after a priority
	 * worker was too busy.
	 */
	_Atomic bool prio_open;
	_Atomic uint64_t prio_until_ns;
	uint64_t prio_hold_ns;
	/* While CPU-local, the workers' arrivals pooled (arrival.h). */
	struct arrival_pool arrivals;
};

/*
 * Creates a device on tun (taking ownership), one worker per TUN queue, its
 * control thread being the caller's.  cfg NULL: defaults.
 */
struct wg_device *wg_device_create(struct event_base *base, struct tun *tun,
                                   const struct wg_config *cfg, char *err);
/* Binds the UDP port and starts the workers; 0 or -errno. */
int wg_device_start(struct wg_device *dev) WARN_UNUSED;
void wg_device_destroy(struct wg_device *dev);

/* Configuration, control thread only.  Changes reach workers at wg_device_commit. */
void wg_device_set_private_key(struct wg_device *dev, const uint8_t *key);
int wg_device_set_listen_port(struct wg_device *dev, uint16_t port) WARN_UNUSED;
int wg_device_set_fwmark(struct wg_device *dev, uint32_t fwmark) WARN_UNUSED;
struct wg_peer *wg_device_find_peer(struct wg_device *dev, const uint8_t *public_key);
struct wg_peer *wg_device_add_peer(struct wg_device *dev, const uint8_t *public_key);
void wg_device_remove_peer(struct wg_device *dev, struct wg_peer *peer);
void wg_device_remove_all_peers(struct wg_device *dev);
void wg_device_commit(struct wg_device *dev);
/* Whether the device's own public key is this one (such a peer is ignored). */
bool wg_device_is_own_key(const struct wg_device *dev, const uint8_t *public_key);
void wg_device_set_other_packet_handler(struct wg_device *dev, wg_other_packet_fn fn, void *ctx);
/* Called on the control thread when the interface disappears (ip link del). */
void wg_device_set_tun_gone_handler(struct wg_device *dev, void (*fn)(void *ctx), void *ctx);
/* The UDP port in use (0 before start). */
uint16_t wg_device_port(const struct wg_device *dev);
/*
 * The priority lane (steer.h): "open"; "closed" for a while, by a flood of
 * small packets; or "off" (turned off, or the kernel refused its programs).
 */
const char *wg_device_priority_lane(const struct wg_device *dev);
/* Sends a datagram of another protocol from the device's socket (through a relay if to is relayed);
 * 0 or -errno. */
int wg_device_send_raw(struct wg_device *dev, const void *data, size_t len,
                       const struct endpoint *to) WARN_UNUSED;

void wg_peer_set_preshared_key(struct wg_peer *peer, const uint8_t *psk);
/* A direct address, or a relay and the header that names the peer there. */
void wg_peer_set_endpoint(struct wg_peer *peer, const struct endpoint *endpoint);
void wg_peer_get_endpoint(struct wg_peer *peer, struct endpoint *out);
/* A way to the peer was just found: without a session, start a handshake now. */
void wg_peer_connect(struct wg_peer *peer);
/* Whether the peer has a session that can carry data now. */
bool wg_peer_has_session(struct wg_peer *peer);
/* 0 disables; turning it on sends a keepalive at once. */
void wg_peer_set_persistent_keepalive(struct wg_peer *peer, uint16_t seconds);
bool wg_peer_add_allowed_ip(struct wg_peer *peer, const struct prefix *p) WARN_UNUSED;
bool wg_peer_remove_allowed_ip(struct wg_peer *peer, const struct prefix *p);
void wg_peer_clear_allowed_ips(struct wg_peer *peer);

/* Counters as "name value" lines into buf; returns the length. */
size_t wg_device_format_stats(struct wg_device *dev, char *buf, size_t len);

#endif
