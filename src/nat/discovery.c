/* discovery.c - RFC 5780 NAT behaviour discovery and the seeds' NAT type: a pure core. */
#include "nat/discovery.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util/now.h"

static const char *const mapping_names[] = {
	[NAT_MAPPING_UNKNOWN] = "unknown",
	[NAT_MAPPING_NONE] = "none (no NAT)",
	[NAT_MAPPING_EI] = "endpoint-independent",
	[NAT_MAPPING_AD] = "address-dependent",
	[NAT_MAPPING_APD] = "address and port-dependent",
};

static const char *const filtering_names[] = {
	[NAT_FILTERING_UNKNOWN] = "unknown",
	[NAT_FILTERING_EI] = "endpoint-independent",
	[NAT_FILTERING_AD] = "address-dependent",
	[NAT_FILTERING_APD] = "address and port-dependent",
};

static const char *const mapping_keys[] = {
	[NAT_MAPPING_UNKNOWN] = "unknown",
	[NAT_MAPPING_NONE] = "none",
	[NAT_MAPPING_EI] = "endpoint_independent",
	[NAT_MAPPING_AD] = "address_dependent",
	[NAT_MAPPING_APD] = "address_port_dependent",
};

static const char *const filtering_keys[] = {
	[NAT_FILTERING_UNKNOWN] = "unknown",
	[NAT_FILTERING_EI] = "endpoint_independent",
	[NAT_FILTERING_AD] = "address_dependent",
	[NAT_FILTERING_APD] = "address_port_dependent",
};

static const char *const test_names[DISC_TEST_COUNT] = {
	[DISC_BINDING] = "binding (mapping test I)",
	[DISC_FILTER_II] = "filtering test II (change IP and port)",
	[DISC_FILTER_III] = "filtering test III (change port)",
	[DISC_MAPPING_II] = "mapping test II (alternate IP)",
	[DISC_MAPPING_III] = "mapping test III (alternate IP and port)",
};

const char *nat_mapping_name(enum nat_mapping m)
{
	return (unsigned)m < ARRAY_SIZE(mapping_names) ? mapping_names[m] : "?";
}

const char *nat_filtering_name(enum nat_filtering f)
{
	return (unsigned)f < ARRAY_SIZE(filtering_names) ? filtering_names[f] : "?";
}

const char *nat_mapping_key(enum nat_mapping m)
{
	return (unsigned)m < ARRAY_SIZE(mapping_keys) ? mapping_keys[m] : "unknown";
}

const char *nat_filtering_key(enum nat_filtering f)
{
	return (unsigned)f < ARRAY_SIZE(filtering_keys) ? filtering_keys[f] : "unknown";
}

const char *discovery_test_name(enum discovery_test t)
{
	return (unsigned)t < DISC_TEST_COUNT ? test_names[t] : "?";
}

void discovery_config_init(struct discovery_config *cfg, const struct addr *server)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->server = *server;
	cfg->schedule = stun_client_rfc_schedule;
	cfg->quiet_schedule =
	    (struct stun_client_config){ .rto_ms = STUN_RTO_MS, .rc = 3, .rm = 2 };
}

enum nat_type discovery_classify(enum nat_mapping m, enum nat_filtering f)
{
	switch (m) {
	case NAT_MAPPING_NONE:
		return NAT_OPEN;
	case NAT_MAPPING_EI:
		switch (f) {
		case NAT_FILTERING_EI:
			return NAT_FULL_CONE;
		case NAT_FILTERING_AD:
			return NAT_RESTRICTED_CONE;
		case NAT_FILTERING_APD:
			return NAT_PORT_RESTRICTED_CONE;
		default:
			return NAT_UNKNOWN;
		}
	case NAT_MAPPING_AD:
	case NAT_MAPPING_APD:
		return NAT_SYMMETRIC;
	default:
		return NAT_UNKNOWN;
	}
}

static void on_result(void *ctx, int handle, const struct stun_result *r);

static int start_test(struct discovery *d, enum discovery_test t, const struct addr *target,
                      uint32_t change, const struct stun_client_config *sched, uint64_t now_ns)
{
	struct discovery_step *s = &d->report.steps[t];
	int h;

	s->ran = true;
	s->target = *target;
	s->change = change;
	h = stun_client_start(d->client, target, change, sched, now_ns, on_result, d);
	if (h < 0)
		return h;
	d->handles[t] = h;
	d->pending++;
	return 0;
}

static void finish(struct discovery *d, enum nat_type type, uint64_t now_ns)
{
	d->report.type = type;
	d->report.elapsed_ns = now_ns - d->started_ns;
	d->phase = DISC_DONE;
	if (d->done)
		d->done(d->ctx, &d->report);
}

static bool is_local(const struct discovery *d, const struct addr *a)
{
	for (size_t i = 0; i < d->cfg.n_locals; i++) {
		if (addr_equal(&d->cfg.locals[i], a))
			return true;
	}
	return false;
}

/* After the binding test: NAT or not, and can the server do RFC 5780? */
static void after_binding(struct discovery *d, uint64_t now_ns)
{
	struct discovery_report *rep = &d->report;
	const struct stun_result *r = &rep->steps[DISC_BINDING].result;
	char b1[ADDR_STRLEN], b2[ADDR_STRLEN];

	switch (r->outcome) {
	case STUN_OUTCOME_SUCCESS:
		break;
	case STUN_OUTCOME_TIMEOUT:
		snprintf(rep->reason, sizeof(rep->reason),
		         "no answer from %s after %u requests in %.1f s",
		         addr_format(&r->server, b1), r->requests,
		         (double)r->elapsed_ns / NS_PER_SEC);
		finish(d, NAT_UNKNOWN, now_ns);
		return;
	case STUN_OUTCOME_ERROR:
		snprintf(rep->reason, sizeof(rep->reason), "%s answered with error %u",
		         addr_format(&r->server, b1), r->error_code);
		finish(d, NAT_UNKNOWN, now_ns);
		return;
	case STUN_OUTCOME_NO_MAPPED:
		snprintf(rep->reason, sizeof(rep->reason), "%s answered without a mapped address",
		         addr_format(&r->server, b1));
		finish(d, NAT_UNKNOWN, now_ns);
		return;
	}
	rep->mapped = r->mapped;
	rep->alg |= r->mapped_mismatch;
	if (is_local(d, &r->mapped))
		rep->mapping = NAT_MAPPING_NONE;
	if (d->cfg.binding_only) {
		if (rep->mapping != NAT_MAPPING_NONE)
			snprintf(rep->reason, sizeof(rep->reason),
			         "binding only: behind a NAT, behaviour not tested");
		finish(d, discovery_classify(rep->mapping, NAT_FILTERING_UNKNOWN), now_ns);
		return;
	}
	if (!addr_is_set(&r->other)) {
		snprintf(rep->reason, sizeof(rep->reason),
		         "%s does not support RFC 5780 behaviour discovery (no OTHER-ADDRESS)%s",
		         addr_format(&r->server, b1),
		         rep->mapping == NAT_MAPPING_NONE ? "; filtering not tested"
		                                          : ", so the NAT's behaviour is unknown");
		finish(d, discovery_classify(rep->mapping, NAT_FILTERING_UNKNOWN), now_ns);
		return;
	}
	if (r->other.sa.sa_family != r->server.sa.sa_family ||
	    addr_equal_ip(&r->other, &r->server) || addr_port(&r->other) == addr_port(&r->server)) {
		snprintf(rep->reason, sizeof(rep->reason),
		         "OTHER-ADDRESS %s is not another address and port than %s",
		         addr_format(&r->other, b1), addr_format(&r->server, b2));
		finish(d, discovery_classify(rep->mapping, NAT_FILTERING_UNKNOWN), now_ns);
		return;
	}
	rep->other = r->other;
	d->phase = DISC_PHASE_FILTERING;
	if (start_test(d, DISC_FILTER_II, &d->cfg.server, STUN_CHANGE_IP | STUN_CHANGE_PORT,
	               &d->cfg.quiet_schedule, now_ns) < 0 ||
	    start_test(d, DISC_FILTER_III, &d->cfg.server, STUN_CHANGE_PORT, &d->cfg.quiet_schedule,
	               now_ns) < 0) {
		discovery_cancel(d);
		snprintf(rep->reason, sizeof(rep->reason), "no room for more STUN transactions");
		finish(d, NAT_UNKNOWN, now_ns);
	}
}

/* Judges one filtering test: answered from where it asked, silent, or broken. */
static int filter_answer(struct discovery *d, enum discovery_test t, const struct addr *expect)
{
	struct discovery_step *s = &d->report.steps[t];
	char b1[ADDR_STRLEN], b2[ADDR_STRLEN];

	if (s->result.outcome == STUN_OUTCOME_TIMEOUT)
		return 0;
	if (s->result.outcome != STUN_OUTCOME_SUCCESS) {
		snprintf(d->report.reason, sizeof(d->report.reason), "%s: %s %u",
		         discovery_test_name(t), stun_outcome_name(s->result.outcome),
		         s->result.error_code);
		return -1;
	}
	s->from_expected = addr_equal(&s->result.from, expect);
	if (!s->from_expected) {
		snprintf(d->report.reason, sizeof(d->report.reason),
		         "%s: answered from %s, not %s: the server ignored CHANGE-REQUEST",
		         discovery_test_name(t), addr_format(&s->result.from, b1),
		         addr_format(expect, b2));
		return -1;
	}
	return 1;
}

static void after_filtering(struct discovery *d, uint64_t now_ns)
{
	struct discovery_report *rep = &d->report;
	struct addr port_changed = d->cfg.server, alt_ip = rep->other;
	int ii, iii;

	addr_set_port(&port_changed, addr_port(&rep->other));
	ii = filter_answer(d, DISC_FILTER_II, &rep->other);
	iii = filter_answer(d, DISC_FILTER_III, &port_changed);
	if (ii < 0 || iii < 0) {
		finish(d, NAT_UNKNOWN, now_ns);
		return;
	}
	rep->filtering = ii ? NAT_FILTERING_EI : iii ? NAT_FILTERING_AD : NAT_FILTERING_APD;
	if (rep->mapping == NAT_MAPPING_NONE) {
		if (rep->filtering != NAT_FILTERING_EI)
			snprintf(rep->reason, sizeof(rep->reason),
			         "no NAT, but a firewall filters (%s)",
			         nat_filtering_name(rep->filtering));
		finish(d, NAT_OPEN, now_ns);
		return;
	}
	d->phase = DISC_PHASE_MAPPING;
	addr_set_port(&alt_ip, addr_port(&d->cfg.server));
	if (start_test(d, DISC_MAPPING_II, &alt_ip, 0, &d->cfg.schedule, now_ns) < 0 ||
	    start_test(d, DISC_MAPPING_III, &rep->other, 0, &d->cfg.schedule, now_ns) < 0) {
		discovery_cancel(d);
		snprintf(rep->reason, sizeof(rep->reason), "no room for more STUN transactions");
		finish(d, NAT_UNKNOWN, now_ns);
	}
}

static void after_mapping(struct discovery *d, uint64_t now_ns)
{
	struct discovery_report *rep = &d->report;
	const struct stun_result *ii = &rep->steps[DISC_MAPPING_II].result;
	const struct stun_result *iii = &rep->steps[DISC_MAPPING_III].result;
	char b1[ADDR_STRLEN];

	if (ii->outcome != STUN_OUTCOME_SUCCESS) {
		snprintf(rep->reason, sizeof(rep->reason), "%s: %s from %s",
		         discovery_test_name(DISC_MAPPING_II), stun_outcome_name(ii->outcome),
		         addr_format(&ii->server, b1));
		finish(d, NAT_UNKNOWN, now_ns);
		return;
	}
	rep->alg |= ii->mapped_mismatch;
	if (addr_equal(&ii->mapped, &rep->mapped)) {
		rep->mapping = NAT_MAPPING_EI;
	} else if (iii->outcome == STUN_OUTCOME_SUCCESS) {
		rep->alg |= iii->mapped_mismatch;
		rep->mapping =
		    addr_equal(&iii->mapped, &ii->mapped) ? NAT_MAPPING_AD : NAT_MAPPING_APD;
	} else {
		/* The mapping changed with the address; whether the port matters is unknown. */
		rep->mapping = NAT_MAPPING_APD;
		snprintf(rep->reason, sizeof(rep->reason),
		         "%s unanswered: address-dependent at least",
		         discovery_test_name(DISC_MAPPING_III));
	}
	finish(d, discovery_classify(rep->mapping, rep->filtering), now_ns);
}

static void on_result(void *ctx, int handle, const struct stun_result *r)
{
	struct discovery *d = ctx;
	uint64_t now_ns = r->at_ns;
	bool ours = false;

	for (int t = 0; t < DISC_TEST_COUNT && !ours; t++) {
		if (d->handles[t] == handle) {
			d->handles[t] = -1;
			d->report.steps[t].result = *r;
			ours = true;
		}
	}
	if (!ours || --d->pending > 0)
		return;
	switch (d->phase) {
	case DISC_PHASE_BINDING:
		after_binding(d, now_ns);
		break;
	case DISC_PHASE_FILTERING:
		after_filtering(d, now_ns);
		break;
	case DISC_PHASE_MAPPING:
		after_mapping(d, now_ns);
		break;
	default:
		break;
	}
}

int discovery_start(struct discovery *d, struct stun_client *client,
                    const struct discovery_config *cfg, uint64_t now_ns, discovery_done_fn *done,
                    void *ctx)
{
	int ret;

	memset(d, 0, sizeof(*d));
	d->cfg = *cfg;
	d->client = client;
	d->done = done;
	d->ctx = ctx;
	d->started_ns = now_ns;
	for (int t = 0; t < DISC_TEST_COUNT; t++) {
		d->handles[t] = -1;
		addr_clear(&d->report.steps[t].target);
	}
	addr_clear(&d->report.mapped);
	addr_clear(&d->report.other);
	d->phase = DISC_PHASE_BINDING;
	ret = start_test(d, DISC_BINDING, &cfg->server, 0, &cfg->schedule, now_ns);
	if (ret < 0)
		d->phase = DISC_IDLE;
	return ret;
}

void discovery_cancel(struct discovery *d)
{
	for (int t = 0; t < DISC_TEST_COUNT; t++) {
		if (d->handles[t] >= 0)
			stun_client_cancel(d->client, d->handles[t]);
		d->handles[t] = -1;
	}
	d->pending = 0;
	if (d->phase != DISC_DONE)
		d->phase = DISC_IDLE;
}
