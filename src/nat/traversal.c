/* traversal.c - NAT traversal on one UDP socket: STUN, discovery and path probes behind one door.
 */
#include "nat/traversal.h"

#include <string.h>

#include "nat/probe.h"
#include "nat/stun.h"

int traversal_init(struct traversal *t, const struct send_ops *ops, const wg_key self_priv,
                   size_t max_peers, uint64_t counter_start, const struct path_config *cfg,
                   path_event_fn *on_path, void *ctx)
{
	memset(t, 0, sizeof(*t));
	t->ops = *ops;
	for (int i = 0; i < DISC_TEST_COUNT; i++)
		t->disc.handles[i] = -1;
	stun_client_init(&t->stun, ops);
	return path_table_init(&t->paths, self_priv, max_peers, counter_start, cfg, ops, on_path,
	                       ctx);
}

void traversal_clear(struct traversal *t)
{
	discovery_cancel(&t->disc);
	path_table_clear(&t->paths);
}

int traversal_discover(struct traversal *t, const struct discovery_config *cfg, uint64_t now_ns,
                       discovery_done_fn *done, void *ctx)
{
	discovery_cancel(&t->disc);
	return discovery_start(&t->disc, &t->stun, cfg, now_ns, done, ctx);
}

enum traversal_rx traversal_input(struct traversal *t, const uint8_t *pkt, size_t len,
                                  const struct endpoint *from, uint64_t now_ns)
{
	/* STUN answers come straight from the server, never through a relay. */
	if (stun_is(pkt, len) && !endpoint_is_relayed(from)) {
		t->rx_stun++;
		stun_client_input(&t->stun, pkt, len, &from->addr, now_ns);
		return TRAVERSAL_STUN;
	}
	if (probe_is(pkt, len)) {
		t->rx_probe++;
		path_input(&t->paths, pkt, len, from, now_ns);
		return TRAVERSAL_PROBE;
	}
	t->rx_not_ours++;
	return TRAVERSAL_NOT_OURS;
}

uint64_t traversal_timer(struct traversal *t, uint64_t now_ns)
{
	uint64_t a = stun_client_timer(&t->stun, now_ns);
	uint64_t b = path_timer(&t->paths, now_ns);

	return a < b ? a : b;
}
