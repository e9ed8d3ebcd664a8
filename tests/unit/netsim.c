/* netsim.c - an in-memory UDP network with RFC 4787 NATs and a virtual clock, for unit tests. */
#include "netsim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

struct addr sim_addr(const char *s)
{
	struct addr a;
	errmsg err;

	if (!addr_parse(&a, s, err) && !addr_parse_ip(&a, s, err)) {
		fprintf(stderr, "netsim: %s\n", err);
		abort();
	}
	return a;
}

void sim_init(struct sim *s, uint64_t latency_ns)
{
	memset(s, 0, sizeof(*s));
	s->latency_ns = latency_ns;
	addr_clear(&s->slow_to);
}

/* A relayed endpoint's header goes in front, as the data plane does. */
static int host_send(void *ctx, const struct endpoint *to, const uint8_t *buf, size_t len)
{
	struct sim_host *h = ctx;
	uint8_t framed[SIM_MAX_PKT];

	if (!to->hdr_len)
		return sim_send(h, &h->addrs[h->send_from], &to->addr, buf, len);
	if (len + to->hdr_len > sizeof(framed))
		return -1;
	memcpy(framed, to->hdr, to->hdr_len);
	memcpy(framed + to->hdr_len, buf, len);
	return sim_send(h, &h->addrs[h->send_from], &to->addr, framed, len + to->hdr_len);
}

struct sim_host *sim_add_host(struct sim *s, const char *addr, enum nat_mapping mapping,
                              enum nat_filtering filtering, const char *public_ip)
{
	struct sim_host *h;

	if (s->n_hosts == SIM_MAX_HOSTS)
		abort();
	h = &s->hosts[s->n_hosts++];
	memset(h, 0, sizeof(*h));
	h->sim = s;
	h->addrs[0] = sim_addr(addr);
	h->n_addrs = 1;
	h->nat.mapping = mapping;
	h->nat.filtering = filtering;
	h->nat.next_port = 40000;
	if (public_ip)
		h->nat.public_ip = sim_addr(public_ip);
	else
		addr_clear(&h->nat.public_ip);
	h->next_timer_ns = UINT64_MAX;
	h->ops.send = host_send;
	h->ops.ctx = h;
	return h;
}

void sim_host_add_addr(struct sim_host *h, const char *addr)
{
	if (h->n_addrs == SIM_MAX_ADDRS)
		abort();
	h->addrs[h->n_addrs++] = sim_addr(addr);
}

void sim_host_set_handlers(struct sim_host *h, sim_rx_fn *rx, sim_timer_fn *timer, void *ctx)
{
	h->rx = rx;
	h->timer = timer;
	h->ctx = ctx;
}

void sim_kick(struct sim_host *h)
{
	if (h->timer)
		h->next_timer_ns = h->timer(h->ctx, h->sim->now_ns);
}

static bool behind_nat(const struct sim_host *h)
{
	return h->nat.mapping != NAT_MAPPING_NONE;
}

static bool port_used(const struct sim_nat *n, uint16_t port)
{
	for (size_t i = 0; i < n->n_map; i++) {
		if (n->map[i].ext_port == port)
			return true;
	}
	return false;
}

/* Outbound translation: finds or makes the mapping, remembers the destination. */
static bool nat_out(struct sim_nat *n, const struct addr *from, const struct addr *to,
                    struct addr *out)
{
	struct sim_mapping *m = NULL;
	struct addr key;

	addr_clear(&key);
	if (n->mapping == NAT_MAPPING_AD) {
		key = *to;
		addr_set_port(&key, 0);
	} else if (n->mapping == NAT_MAPPING_APD) {
		key = *to;
	}
	for (size_t i = 0; i < n->n_map && !m; i++) {
		if (addr_equal(&n->map[i].internal, from) &&
		    (addr_equal(&n->map[i].dest, &key) ||
		     (!addr_is_set(&key) && !addr_is_set(&n->map[i].dest))))
			m = &n->map[i];
	}
	if (!m) {
		if (n->n_map == SIM_MAX_MAPPINGS)
			return false;
		m = &n->map[n->n_map++];
		memset(m, 0, sizeof(*m));
		m->internal = *from;
		m->dest = key;
		/* Endpoint-independent mappings preserve the port, like Linux does. */
		if (n->mapping == NAT_MAPPING_EI && !port_used(n, addr_port(from)))
			m->ext_port = addr_port(from);
		else
			m->ext_port = n->next_port++;
	}
	{
		bool known = false;

		for (size_t i = 0; i < m->n_contacted; i++)
			known |= addr_equal(&m->contacted[i], to);
		if (!known && m->n_contacted < SIM_MAX_CONTACTS)
			m->contacted[m->n_contacted++] = *to;
	}
	*out = n->public_ip;
	addr_set_port(out, m->ext_port);
	return true;
}

/* Inbound translation and filtering; false when the NAT drops the packet. */
static bool nat_in(struct sim_nat *n, const struct addr *from, const struct addr *to,
                   struct addr *internal)
{
	for (size_t i = 0; i < n->n_map; i++) {
		struct sim_mapping *m = &n->map[i];
		bool allowed = n->filtering == NAT_FILTERING_EI;

		if (m->ext_port != addr_port(to))
			continue;
		for (size_t c = 0; c < m->n_contacted && !allowed; c++) {
			if (n->filtering == NAT_FILTERING_AD)
				allowed = addr_equal_ip(&m->contacted[c], from);
			else
				allowed = addr_equal(&m->contacted[c], from);
		}
		if (!allowed)
			break;
		*internal = m->internal;
		return true;
	}
	n->filtered++;
	return false;
}

int sim_send(struct sim_host *h, const struct addr *from, const struct addr *to, const uint8_t *buf,
             size_t len)
{
	struct sim *s = h->sim;
	struct sim_packet *p;

	if (len > SIM_MAX_PKT || s->n_q == SIM_MAX_PACKETS)
		return -1;
	p = &s->q[s->n_q];
	if (behind_nat(h)) {
		if (!nat_out(&h->nat, from, to, &p->from))
			return -1;
	} else {
		p->from = *from;
	}
	p->to = *to;
	memcpy(p->data, buf, len);
	p->len = len;
	p->at_ns = s->now_ns + s->latency_ns;
	if (addr_is_set(&s->slow_to) && addr_equal(&s->slow_to, to))
		p->at_ns += s->slow_ns;
	s->n_q++;
	return 0;
}

static void deliver(struct sim *s, const struct sim_packet *p)
{
	for (size_t i = 0; i < s->n_hosts; i++) {
		struct sim_host *h = &s->hosts[i];
		struct addr to = p->to;
		bool mine = false;

		if (behind_nat(h)) {
			if (addr_equal_ip(&h->nat.public_ip, &p->to)) {
				if (!nat_in(&h->nat, &p->from, &p->to, &to))
					return;
				mine = true;
			}
		} else {
			for (size_t a = 0; a < h->n_addrs; a++)
				mine |= addr_equal(&h->addrs[a], &p->to);
		}
		if (!mine)
			continue;
		s->delivered++;
		if (h->rx) {
			h->rx(h->ctx, &to, &p->from, p->data, p->len, s->now_ns);
			sim_kick(h);
		}
		return;
	}
	s->undeliverable++;
}

bool sim_run(struct sim *s, uint64_t deadline_ns, bool (*stop)(void *ctx), void *ctx)
{
	for (;;) {
		uint64_t next = UINT64_MAX;
		size_t pi = SIZE_MAX, hi = SIZE_MAX;

		if (stop && stop(ctx))
			return true;
		for (size_t i = 0; i < s->n_q; i++) {
			if (s->q[i].at_ns < next) {
				next = s->q[i].at_ns;
				pi = i;
			}
		}
		for (size_t i = 0; i < s->n_hosts; i++) {
			if (s->hosts[i].next_timer_ns < next) {
				next = s->hosts[i].next_timer_ns;
				hi = i;
				pi = SIZE_MAX;
			}
		}
		if (next == UINT64_MAX || next > deadline_ns) {
			s->now_ns = deadline_ns;
			return stop ? stop(ctx) : false;
		}
		if (next > s->now_ns)
			s->now_ns = next;
		if (pi != SIZE_MAX) {
			struct sim_packet p = s->q[pi];

			/* Keep arrival order for packets due at the same time. */
			memmove(&s->q[pi], &s->q[pi + 1], (s->n_q - pi - 1) * sizeof(s->q[0]));
			s->n_q--;
			deliver(s, &p);
		} else {
			sim_kick(&s->hosts[hi]);
		}
	}
}
