/* discovery.h - RFC 5780 NAT behaviour discovery and the seeds' NAT type: a pure core. */
#ifndef LANRAGE_NAT_DISCOVERY_H
#define LANRAGE_NAT_DISCOVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nat/nat_type.h"
#include "nat/stun_client.h"
#include "util/addr.h"
#include "util/compiler.h"

/* RFC 4787 4.1: how a NAT picks the external endpoint. */
enum nat_mapping {
	NAT_MAPPING_UNKNOWN,
	NAT_MAPPING_NONE, /* no translation: the mapped endpoint is our own */
	NAT_MAPPING_EI,   /* endpoint-independent */
	NAT_MAPPING_AD,   /* address-dependent */
	NAT_MAPPING_APD,  /* address and port-dependent */
};

/* RFC 4787 5: what a NAT lets in to a mapping. */
enum nat_filtering {
	NAT_FILTERING_UNKNOWN,
	NAT_FILTERING_EI,  /* endpoint-independent */
	NAT_FILTERING_AD,  /* address-dependent */
	NAT_FILTERING_APD, /* address and port-dependent */
};

/* Words for people ("address and port-dependent") and keys for JSON ("address_port_dependent"). */
const char *nat_mapping_name(enum nat_mapping m);
const char *nat_filtering_name(enum nat_filtering f);
const char *nat_mapping_key(enum nat_mapping m);
const char *nat_filtering_key(enum nat_filtering f);

/*
 * The tests, in the order they run.  Filtering tests come before the mapping
 * tests II and III: those send to the alternate address, which would open the
 * very filters the filtering tests probe, and they all share one socket.
 */
enum discovery_test {
	DISC_BINDING,     /* mapping test I (RFC 5780 4.3), also filtering test I (4.4) */
	DISC_FILTER_II,   /* CHANGE-REQUEST change IP and port: answered = EI filtering */
	DISC_FILTER_III,  /* CHANGE-REQUEST change port: answered = AD filtering */
	DISC_MAPPING_II,  /* to the alternate IP, primary port */
	DISC_MAPPING_III, /* to the alternate IP and port */
	DISC_TEST_COUNT
};

const char *discovery_test_name(enum discovery_test t);

enum { DISC_MAX_LOCALS = 32, DISC_REASON_LEN = 192 };

struct discovery_config {
	struct addr server; /* A1:P1 */
	/* For tests that expect an answer (the binding, the mapping tests). */
	struct stun_client_config schedule;
	/*
	 * For the filtering tests, where silence is the answer: fewer requests,
	 * so a port-restricted NAT is found in seconds, not after 39.5 s.
	 */
	struct stun_client_config quiet_schedule;
	/* The host's own addresses (port = the socket's), for "open". */
	struct addr locals[DISC_MAX_LOCALS];
	size_t n_locals;
	/* Stop after the binding test: candidate gathering needs only the mapping. */
	bool binding_only;
};

/* Defaults: the RFC schedule, and 3 requests + 2 RTOs (2.5 s) for quiet tests. */
void discovery_config_init(struct discovery_config *cfg, const struct addr *server);

struct discovery_step {
	bool ran;
	struct addr target;
	uint32_t change;
	struct stun_result result;
	/* Answered from where the test asked (the changed address and/or port). */
	bool from_expected;
};

struct discovery_report {
	enum nat_type type;
	enum nat_mapping mapping;
	enum nat_filtering filtering;
	struct addr mapped; /* from the binding test; unset when it failed */
	struct addr other;  /* the server's OTHER-ADDRESS; unset when absent */
	bool alg;           /* MAPPED-ADDRESS != XOR-MAPPED-ADDRESS somewhere */
	struct discovery_step steps[DISC_TEST_COUNT];
	/* Why the type is unknown, or what else is worth saying; "" when nothing. */
	char reason[DISC_REASON_LEN];
	uint64_t elapsed_ns;
};

typedef void discovery_done_fn(void *ctx, const struct discovery_report *r);

enum discovery_phase {
	DISC_IDLE,
	DISC_PHASE_BINDING,
	DISC_PHASE_FILTERING,
	DISC_PHASE_MAPPING,
	DISC_DONE,
};

/* Owned by whoever runs it; uses (does not own) a STUN client on the shared socket. */
struct discovery {
	struct discovery_config cfg;
	struct stun_client *client;
	enum discovery_phase phase;
	int handles[DISC_TEST_COUNT];
	unsigned pending;
	uint64_t started_ns;
	struct discovery_report report;
	discovery_done_fn *done;
	void *ctx;
};

/*
 * Starts discovery against cfg->server; the client's input and timer entry
 * points drive it.  done is called once with the report.  Returns 0, or
 * -errno when the first request cannot even be started.
 */
int discovery_start(struct discovery *d, struct stun_client *client,
                    const struct discovery_config *cfg, uint64_t now_ns, discovery_done_fn *done,
                    void *ctx) WARN_UNUSED;
/* Stops a running discovery without calling done. */
void discovery_cancel(struct discovery *d);

/* The classification rule, also for tests: mapping x filtering -> the seeds' type. */
enum nat_type discovery_classify(enum nat_mapping m, enum nat_filtering f);

#endif
