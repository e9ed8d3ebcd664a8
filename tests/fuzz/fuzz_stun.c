/* fuzz_stun.c - the STUN decoder, the server core and the client core on hostile datagrams. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/rand.h"
#include "fuzz.h"
#include "nat/stun.h"
#include "nat/stun_client.h"
#include "nat/stun_server.h"
#include "util/err.h"

static int discard(void *ctx, const struct endpoint *to, const uint8_t *buf, size_t len)
{
	return 0;
}

static void check_decoded(const struct stun_msg *m, const uint8_t *data, size_t size)
{
	uint8_t buf[STUN_MAX_LEN];
	struct stun_writer w;
	struct stun_msg back;
	size_t n;

	/* Pointers stay inside the datagram. */
	if (m->software && (m->software < data || m->software + m->software_len > data + size))
		abort();
	if (m->error_reason &&
	    (m->error_reason < data || m->error_reason + m->error_reason_len > data + size))
		abort();
	if (m->n_unknown > STUN_MAX_UNKNOWN || m->n_unknown_listed > STUN_MAX_UNKNOWN)
		abort();
	/* Addresses survive our encoder and decoder unchanged. */
	stun_writer_init(&w, buf, sizeof(buf), m->type, m->txid);
	if (m->has & STUN_HAS_XOR_MAPPED)
		stun_put_addr(&w, STUN_ATTR_XOR_MAPPED_ADDRESS, &m->xor_mapped);
	if (m->has & STUN_HAS_MAPPED)
		stun_put_addr(&w, STUN_ATTR_MAPPED_ADDRESS, &m->mapped);
	if (m->has & STUN_HAS_OTHER)
		stun_put_addr(&w, STUN_ATTR_OTHER_ADDRESS, &m->other);
	if (m->has & STUN_HAS_CHANGE)
		stun_put_u32(&w, STUN_ATTR_CHANGE_REQUEST, m->change);
	n = stun_writer_finish(&w, !m->classic);
	if (!n || stun_consume(&back, buf, n, true) != STUN_OK)
		abort();
	if (((m->has & STUN_HAS_XOR_MAPPED) && !addr_equal(&back.xor_mapped, &m->xor_mapped)) ||
	    ((m->has & STUN_HAS_MAPPED) && !addr_equal(&back.mapped, &m->mapped)) ||
	    ((m->has & STUN_HAS_OTHER) && !addr_equal(&back.other, &m->other)) ||
	    back.change != m->change)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct stun_server server;
	static bool ready;
	struct send_ops ops = { .send = discard };
	struct stun_client client;
	struct stun_msg m;
	struct addr from;
	uint8_t out[STUN_MAX_LEN];
	size_t out_len;
	unsigned out_sock;
	errmsg err;

	if (!ready) {
		struct stun_server_config cfg = { .software = "fuzz" };

		if (!rand_init() || !addr_parse(&cfg.primary, "198.51.100.1:3478", err) ||
		    !addr_parse(&cfg.alternate, "198.51.100.2:3479", err) ||
		    !stun_server_init(&server, &cfg, err))
			abort();
		ready = true;
	}
	if (!addr_parse(&from, "203.0.113.7:40000", err))
		abort();

	for (int classic = 0; classic < 2; classic++) {
		if (stun_consume(&m, data, size, classic) == STUN_OK)
			check_decoded(&m, data, size);
	}
	if (stun_is(data, size) && stun_consume(&m, data, size, false) == STUN_DROP_NOT_STUN)
		abort();

	/* Whatever the server answers is itself a valid message for the same transaction. */
	for (unsigned sock = 0; sock < STUN_SERVER_SOCKETS; sock++) {
		if (stun_server_handle(&server, sock, &from, data, size, 0, out, sizeof(out),
		                       &out_len, &out_sock) == STUN_SERVER_REPLY) {
			struct stun_msg req;

			if (stun_consume(&m, out, out_len, true) != STUN_OK || out_sock >= 4 ||
			    stun_consume(&req, data, size, true) != STUN_OK ||
			    memcmp(m.txid, req.txid, STUN_TXID_LEN) != 0)
				abort();
		}
	}

	/* The client, with a transaction that this input may answer. */
	stun_client_init(&client, &ops);
	if (stun_client_start(&client, &from, 0, NULL, 0, NULL, NULL) != 0)
		abort();
	if (size >= STUN_HEADER_LEN)
		memcpy(client.txns[0].txid, data + 4, STUN_TXID_LEN);
	stun_client_input(&client, data, size, &from, 1);
	stun_client_timer(&client, 1);
	return 0;
}
