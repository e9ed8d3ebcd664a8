/* ctl_watch.c - the ctl tests' view of one control plane: what its callbacks reported. */
#include "ctl_watch.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

void party_copy_test(struct party_info *dst, const struct party_info *src)
{
	assert_true(party_info_copy(dst, src));
}

static void on_party(void *ctx, const struct party_info *p)
{
	struct watch *w = ctx;

	party_copy_test(&w->party, p);
	w->n_party++;
	if (p->n_members < w->min_members)
		w->min_members = p->n_members;
}

static void on_gone(void *ctx, const char *why)
{
	struct watch *w = ctx;

	w->n_gone++;
	snprintf(w->gone_why, sizeof(w->gone_why), "%s", why);
	party_info_clear(&w->party);
}

static void on_signal(void *ctx, const char *from, const json_t *data)
{
	struct watch *w = ctx;

	w->n_signal++;
	snprintf(w->signal_from, sizeof(w->signal_from), "%s", from);
	json_decref(w->signal_data);
	w->signal_data = json_deep_copy(data);
}

static void on_link(void *ctx, enum ctl_link link, const char *detail)
{
	struct watch *w = ctx;

	w->link = link;
	if (link == CTL_LINK_DOWN)
		w->n_down++;
	if (link == CTL_LINK_UP)
		w->n_up++;
	snprintf(w->link_detail, sizeof(w->link_detail), "%s", detail ? detail : "");
}

struct ctl_events watch_events(struct watch *w)
{
	struct ctl_events ev = { on_party, on_gone, on_signal, on_link, w };

	memset(w, 0, sizeof(*w));
	w->link = CTL_LINK_CONNECTING;
	w->min_members = SIZE_MAX;
	return ev;
}

void watch_clear(struct watch *w)
{
	party_info_clear(&w->party);
	json_decref(w->signal_data);
	w->signal_data = NULL;
}

void done_cb(void *arg, int status, const char *error, const struct party_info *party)
{
	struct done *d = arg;

	if (d->called)
		fail_msg("a done callback was called twice");
	d->called = true;
	d->status = status;
	snprintf(d->error, sizeof(d->error), "%s", error ? error : "");
	if (party)
		party_copy_test(&d->party, party);
}

static bool is_done(void *arg)
{
	return ((struct done *)arg)->called;
}

void done_wait(struct done *d, int rc, const char *what)
{
	if (rc != 0)
		fail_msg("%s: refused at once: %s", what, strerror(-rc));
	/* Never from inside the call. */
	assert_false(d->called);
	loop_until(is_done, d, HARNESS_DEADLINE_MS, what);
}

void done_clear(struct done *d)
{
	party_info_clear(&d->party);
	memset(d, 0, sizeof(*d));
}

const char *member_vip(const struct party_info *p, const char *peer_id, char *buf)
{
	const struct peer_info *m = party_info_find(p, peer_id);

	buf[0] = '\0';
	if (m && addr_is_set(&m->virtual_ip))
		addr_format_ip(&m->virtual_ip, buf);
	return buf;
}

struct peer_info desc(const char *name)
{
	struct peer_info p;

	peer_info_init(&p);
	snprintf(p.name, sizeof(p.name), "%s", name);
	return p;
}
