/* stun_client.h - STUN Binding transactions with RFC 8489 retransmission: a pure core. */
#ifndef LANRAGE_NAT_STUN_CLIENT_H
#define LANRAGE_NAT_STUN_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nat/send_ops.h"
#include "nat/stun.h"
#include "util/addr.h"
#include "util/compiler.h"

/*
 * RFC 8489 6.2.1: the first request at 0, then after RTO, 2 RTO, 4 RTO, ...
 * until Rc requests are out; the transaction fails Rm x RTO after the last.
 * With the defaults: sends at 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s; timeout 39.5 s.
 */
enum {
	STUN_RTO_MS = 500,
	STUN_RC = 7,
	STUN_RM = 16,
	STUN_RC_MAX = 16,
	STUN_RTO_MAX_MS = 60000,
	STUN_CLIENT_MAX_TXNS = 8,
};

struct stun_client_config {
	uint32_t rto_ms; /* initial RTO, 1..STUN_RTO_MAX_MS */
	uint32_t rc;     /* requests, 1..STUN_RC_MAX */
	uint32_t rm;     /* final wait, in initial RTOs, >= 1 */
};

/* The RFC's schedule: { STUN_RTO_MS, STUN_RC, STUN_RM }. */
extern const struct stun_client_config stun_client_rfc_schedule;

/* Checks ranges; err names the bad field. */
bool stun_client_config_valid(const struct stun_client_config *cfg, char *err) WARN_UNUSED;
/* Milliseconds from the first request to the timeout. */
uint64_t stun_client_config_total_ms(const struct stun_client_config *cfg);

enum stun_outcome {
	STUN_OUTCOME_SUCCESS,   /* a success response with a mapped address */
	STUN_OUTCOME_ERROR,     /* an error response: error_code */
	STUN_OUTCOME_TIMEOUT,   /* no answer after every retransmission */
	STUN_OUTCOME_NO_MAPPED, /* a success response without any mapped address */
};

const char *stun_outcome_name(enum stun_outcome o);

struct stun_result {
	enum stun_outcome outcome;
	struct addr server; /* where the requests went */
	uint32_t change;    /* CHANGE-REQUEST flags asked for */
	struct addr from;   /* the response's source address */
	struct addr mapped; /* XOR-MAPPED-ADDRESS, else MAPPED-ADDRESS */
	/* Both present and different: something on the path rewrote MAPPED-ADDRESS. */
	bool mapped_mismatch;
	struct addr other;  /* OTHER-ADDRESS (or CHANGED-ADDRESS), unset when absent */
	struct addr origin; /* RESPONSE-ORIGIN (or SOURCE-ADDRESS), unset when absent */
	uint16_t error_code;
	uint32_t requests;   /* requests sent */
	uint32_t send_fails; /* sends the socket refused */
	uint64_t elapsed_ns; /* first request to the outcome */
	uint64_t at_ns;      /* when the outcome was decided (the caller's clock) */
	/* Round trip of an answer to the first request; 0 when retransmitted (Karn). */
	uint64_t rtt_ns;
};

typedef void stun_done_fn(void *ctx, int handle, const struct stun_result *r);

struct stun_txn {
	bool active;
	uint8_t txid[STUN_TXID_LEN];
	struct addr server;
	uint32_t change;
	struct stun_client_config cfg;
	uint32_t sent, send_fails;
	uint64_t started_ns, next_ns;
	stun_done_fn *done;
	void *ctx;
};

struct stun_client_stats {
	uint64_t sent, send_fails, answered, timeouts, not_ours;
	uint64_t malformed[STUN_VERDICT_COUNT];
};

/* Embedded in its owner (discovery, traversal); no allocation. */
struct stun_client {
	struct send_ops ops;
	struct stun_txn txns[STUN_CLIENT_MAX_TXNS];
	struct stun_client_stats stats;
};

void stun_client_init(struct stun_client *c, const struct send_ops *ops);

/*
 * Starts a Binding transaction to server (CHANGE-REQUEST when change != 0)
 * and sends the first request now.  cfg NULL means the RFC schedule.  Returns
 * a handle >= 0, or -ENOSPC when STUN_CLIENT_MAX_TXNS are running, -EINVAL for
 * a bad schedule.  Unless cancelled, done is called exactly once, from
 * stun_client_input or stun_client_timer, and may start new transactions.
 */
int stun_client_start(struct stun_client *c, const struct addr *server, uint32_t change,
                      const struct stun_client_config *cfg, uint64_t now_ns, stun_done_fn *done,
                      void *ctx) WARN_UNUSED;

enum stun_client_verdict {
	STUN_CLIENT_ACCEPTED,     /* a response to one of our transactions */
	STUN_CLIENT_NOT_OURS,     /* valid STUN, but no transaction of ours */
	STUN_CLIENT_NOT_RESPONSE, /* a request or indication: not for a client */
	STUN_CLIENT_MALFORMED,    /* stats.malformed[] says why */
};

/*
 * A datagram from `from` that the demultiplexer took for STUN.  Responses are
 * matched on the transaction id only: RFC 5780 answers come from other
 * addresses than the request went to.  Never reads past len.
 */
enum stun_client_verdict stun_client_input(struct stun_client *c, const uint8_t *pkt, size_t len,
                                           const struct addr *from, uint64_t now_ns);

/* Retransmits and times out what is due; returns the next deadline (UINT64_MAX: none). */
uint64_t stun_client_timer(struct stun_client *c, uint64_t now_ns);
uint64_t stun_client_next_deadline(const struct stun_client *c);
/* Forgets a transaction without calling its done. */
void stun_client_cancel(struct stun_client *c, int handle);
bool stun_client_busy(const struct stun_client *c);

#endif
