/* netsim.h - an in-memory UDP network with RFC 4787 NATs and a virtual clock, for unit tests. */
#ifndef LANRAGE_TESTS_UNIT_NETSIM_H
#define LANRAGE_TESTS_UNIT_NETSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nat/discovery.h"
#include "nat/send_ops.h"
#include "util/addr.h"

enum {
	SIM_MAX_HOSTS = 8,
	SIM_MAX_ADDRS = 4,
	SIM_MAX_PACKETS = 512,
	SIM_MAX_PKT = 600,
	SIM_MAX_MAPPINGS = 64,
	SIM_MAX_CONTACTS = 16,
};

/* A NAT in front of one host: mapping and filtering as RFC 4787 defines them. */
struct sim_nat {
	enum nat_mapping mapping; /* NONE means no NAT at all */
	enum nat_filtering filtering;
	struct addr public_ip;
	struct sim_mapping {
		struct addr internal, dest; /* dest: what the mapping is keyed on */
		uint16_t ext_port;
		struct addr contacted[SIM_MAX_CONTACTS];
		size_t n_contacted;
	} map[SIM_MAX_MAPPINGS];
	size_t n_map;
	uint16_t next_port;
	uint64_t filtered; /* inbound packets the filter dropped */
};

typedef void sim_rx_fn(void *ctx, const struct addr *to, const struct addr *from,
                       const uint8_t *pkt, size_t len, uint64_t now_ns);
typedef uint64_t sim_timer_fn(void *ctx, uint64_t now_ns);

struct sim_host {
	struct addr addrs[SIM_MAX_ADDRS]; /* its own addresses (internal when behind a NAT) */
	size_t n_addrs;
	struct sim_nat nat;
	sim_rx_fn *rx;
	sim_timer_fn *timer;
	void *ctx;
	uint64_t next_timer_ns;
	struct sim *sim;
	/* send_ops for a core on this host: sends from addrs[send_from]. */
	size_t send_from;
	struct send_ops ops;
};

struct sim_packet {
	uint64_t at_ns;
	struct addr from, to;
	uint8_t data[SIM_MAX_PKT];
	size_t len;
};

struct sim {
	uint64_t now_ns;
	uint64_t latency_ns;
	struct sim_host hosts[SIM_MAX_HOSTS];
	size_t n_hosts;
	struct sim_packet q[SIM_MAX_PACKETS];
	size_t n_q;
	uint64_t delivered, undeliverable;
	/* Extra one-way delay for packets to an address (to make one path slower). */
	struct addr slow_to;
	uint64_t slow_ns;
};

void sim_init(struct sim *s, uint64_t latency_ns);
/* A host with one address; behind a NAT with public_ip unless mapping is NAT_MAPPING_NONE. */
struct sim_host *sim_add_host(struct sim *s, const char *addr, enum nat_mapping mapping,
                              enum nat_filtering filtering, const char *public_ip);
void sim_host_add_addr(struct sim_host *h, const char *addr);
void sim_host_set_handlers(struct sim_host *h, sim_rx_fn *rx, sim_timer_fn *timer, void *ctx);
/* Sends from one of the host's addresses, through its NAT. */
int sim_send(struct sim_host *h, const struct addr *from, const struct addr *to, const uint8_t *buf,
             size_t len);
/* Runs events until stop(ctx) is true or until deadline; returns stop's value. */
bool sim_run(struct sim *s, uint64_t deadline_ns, bool (*stop)(void *ctx), void *ctx);
/* Asks the simulator to poll a host's timer at once (after starting something). */
void sim_kick(struct sim_host *h);

struct addr sim_addr(const char *s);

#endif
