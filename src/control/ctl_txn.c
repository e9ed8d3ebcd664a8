/* ctl_txn.c - ctl_local's transactions on discovery.json: read, prune, apply, replace. */
#include "control/ctl_txn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control/ipam.h"
#include "control/party_id.h"
#include "util/file.h"
#include "util/log.h"
#include "util/now.h"

static void file_id_of(struct file_id *id, const struct stat *st)
{
	id->dev = st->st_dev;
	id->ino = st->st_ino;
	id->size = st->st_size;
	id->mtime = st->st_mtim;
	id->exists = true;
}

bool ctl_txn_same_file(const struct file_id *a, const struct file_id *b)
{
	if (!a->exists || !b->exists)
		return a->exists == b->exists;
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

void ctl_txn_stat(const struct ctl_local *l, struct file_id *id)
{
	struct stat st;

	memset(id, 0, sizeof(*id));
	if (stat(l->path, &st) == 0)
		file_id_of(id, &st);
}

/*
 * Keeps a corrupt file under a name of its own before it is replaced: a hard
 * link (the replacing rename leaves the old bytes there), else a copy.
 */
static int keep_corrupt(const struct ctl_local *l, const char *text, size_t len, char *where,
                        size_t where_size)
{
	int64_t ms = now_wall_ms();
	int rc;

	for (int n = 0; n < 100; n++) {
		if (n == 0)
			err_format(where, where_size, "%s.corrupt-%lld", l->path, (long long)ms);
		else
			err_format(where, where_size, "%s.corrupt-%lld-%d", l->path, (long long)ms,
			           n);
		if (link(l->path, where) == 0)
			return 0;
		if (errno == EEXIST)
			continue;
		/* No hard links here (some shared file systems): copy it, unless taken. */
		rc = -errno;
		if (!text)
			return rc; /* too big to have been read: nothing to copy from */
		if (access(where, F_OK) == 0)
			continue;
		return file_write_atomic(where, text, len, FILE_MODE);
	}
	return -EEXIST;
}

/*
 * Reads the file into f (empty when missing).  A corrupt file reads as
 * empty; when keep is set it is first kept under another name, so writing
 * over it loses nothing.  Returns false (t->status 503) when the file cannot
 * be read or must not be written.
 */
bool ctl_txn_read(struct ctl_local *l, struct partyfile *f, bool keep, struct ctl_txn *t)
{
	char *text = NULL, where[PATH_MAX + 64];
	errmsg why = "";
	size_t len = 0;
	int rc = file_read_all(l->path, PARTYFILE_MAX_BYTES, &text, &len);

	t->corrupt[0] = '\0';
	if (rc == -ENOENT || (rc == 0 && len == 0)) {
		free(text);
		partyfile_init(f);
		return true;
	}
	if (rc == -EFBIG) {
		err_set(why, "larger than %d bytes", PARTYFILE_MAX_BYTES);
	} else if (rc < 0) {
		t->status = 503;
		err_format(t->error, sizeof(t->error), "cannot read %s: %s", l->path,
		           strerror(-rc));
		return false;
	} else {
		switch (partyfile_parse(f, text, len, why)) {
		case PARTYFILE_OK:
			free(text);
			return true;
		case PARTYFILE_NEWER:
			free(text);
			partyfile_clear(f);
			t->status = 503;
			err_format(t->error, sizeof(t->error),
			           "%s was written by a newer LANrage (%s); not touching it",
			           l->path, why);
			return false;
		case PARTYFILE_CORRUPT:
			partyfile_clear(f);
			break;
		}
	}
	partyfile_init(f);
	if (!keep) {
		err_format(t->corrupt, sizeof(t->corrupt), "%s is corrupt (%s)", l->path, why);
		free(text);
		return true;
	}
	rc = keep_corrupt(l, text, len, where, sizeof(where));
	free(text);
	if (rc < 0) {
		partyfile_clear(f);
		t->status = 503;
		err_format(
		    t->error, sizeof(t->error),
		    "%s is corrupt (%s) and could not be kept aside (%s); not overwriting it",
		    l->path, why, strerror(-rc));
		return false;
	}
	err_format(t->corrupt, sizeof(t->corrupt), "%s was corrupt (%s); kept as %s", l->path, why,
	           where);
	log_error("local discovery: %s", t->corrupt);
	return true;
}

static bool write_file(struct ctl_local *l, const struct partyfile *f, struct ctl_txn *t)
{
	size_t len;
	char *text = partyfile_dump(f, &len);
	int rc = text ? file_write_atomic(l->path, text, len, FILE_MODE) : -ENOMEM;

	free(text);
	if (rc < 0) {
		t->status = 503;
		err_format(t->error, sizeof(t->error), "cannot write %s: %s", l->path,
		           strerror(-rc));
		return false;
	}
	/*
	 * l->seen stays: the watch reads our own write once more, finds nothing
	 * new, and cannot miss a write that another process made just after it.
	 */
	return true;
}

/*
 * Self's virtual IP in party: the one it holds there, else its previous one
 * (the hint) while free, else a fresh one.
 */
static bool assign_vip(struct ctl_local *l, const struct party_info *party,
                       const struct prefix *network, struct ctl_txn *t)
{
	char cidr[PREFIX_STRLEN];
	const struct peer_info *mine = party_info_find(party, l->peer_id);
	struct ipam ipam;
	struct in_addr ip;
	errmsg err;

	if (mine) {
		l->self.virtual_ip = mine->virtual_ip;
		return true;
	}
	if (!ipam_init(&ipam, prefix_format(network, cidr), err))
		goto fail;
	for (size_t i = 0; i < party->n_members; i++) {
		const struct peer_info *m = &party->members[i];

		/* partyfile_get kept only unique addresses of the network. */
		if (!ipam_reserve(&ipam, m->id, m->virtual_ip.in4.sin_addr, NULL))
			continue;
	}
	if (l->self.virtual_ip.sa.sa_family == AF_INET &&
	    ipam_reserve(&ipam, l->peer_id, l->self.virtual_ip.in4.sin_addr, NULL)) {
		ipam_clear(&ipam);
		return true;
	}
	if (!ipam_alloc(&ipam, l->peer_id, &ip, err)) {
		ipam_clear(&ipam);
		t->status = 409;
		err_format(t->error, sizeof(t->error), "party %s: %s", party->id, err);
		return false;
	}
	ipam_clear(&ipam);
	addr_from_in4(&l->self.virtual_ip, ip, 0);
	return true;
fail:
	t->status = 400;
	err_format(t->error, sizeof(t->error), "party %s: %s", party->id, err);
	return false;
}

/* Writes self (fresh last_seen) into party; party must have room or hold self already. */
static bool put_self(struct ctl_local *l, struct party_info *party, struct ctl_txn *t)
{
	errmsg err;

	l->self.last_seen_ms = now_wall_ms();
	if (!party_info_put(party, &l->self, err)) {
		t->status = 409;
		err_format(t->error, sizeof(t->error), "%s", err);
		return false;
	}
	return true;
}

static void txn_create(struct ctl_local *l, struct partyfile *f, struct ctl_txn *t)
{
	struct party_info *p = &t->party;

	party_info_init(p);
	do
		party_id_generate(p->id);
	while (partyfile_has(f, p->id));
	snprintf(p->name, sizeof(p->name), "%s", l->party_name);
	snprintf(p->host_id, sizeof(p->host_id), "%s", l->peer_id);
	p->created_at_ms = now_wall_ms();
	t->network = l->network;
	l->self.joined_at_ms = p->created_at_ms;
	if (!assign_vip(l, p, &t->network, t) || !put_self(l, p, t))
		return;
	t->have_party = true;
}

static void txn_join(struct ctl_local *l, struct partyfile *f, struct ctl_txn *t)
{
	struct party_info *p = &t->party;
	const struct peer_info *mine;
	errmsg err = "", dropped_err = "";
	size_t dropped = 0;

	switch (partyfile_get(f, l->party_id, p, &t->network, &dropped, dropped_err, err)) {
	case PARTYFILE_MISSING:
		t->status = 404;
		err_format(t->error, sizeof(t->error), "no party %s in %s%s%s", l->party_id,
		           l->path, t->corrupt[0] ? "; " : "", t->corrupt);
		return;
	case PARTYFILE_MALFORMED:
		t->status = 400;
		err_format(t->error, sizeof(t->error), "party %s in %s is malformed: %s",
		           l->party_id, l->path, err);
		return;
	case PARTYFILE_FOUND:
		break;
	}
	if (dropped)
		log_error(
		    "local discovery: party %s: dropped %zu malformed member record(s) in %s: "
		    "%s",
		    l->party_id, dropped, l->path, dropped_err);
	mine = party_info_find(p, l->peer_id);
	l->self.joined_at_ms = mine ? mine->joined_at_ms : now_wall_ms();
	if (!assign_vip(l, p, &t->network, t) || !put_self(l, p, t))
		return;
	if (!party_info_find(p, p->host_id))
		snprintf(p->host_id, sizeof(p->host_id), "%s", l->peer_id);
	t->have_party = true;
}

/* A heartbeat or update: self refreshed, or put back when someone pruned us. */
static void txn_refresh(struct ctl_local *l, struct partyfile *f, struct ctl_txn *t)
{
	struct party_info *p = &t->party;
	errmsg err = "", dropped_err = "";
	size_t dropped = 0;

	switch (partyfile_get(f, l->party_id, p, &t->network, &dropped, dropped_err, err)) {
	case PARTYFILE_MISSING:
		/* Pruned with everyone else (we were away longest): the party lives on in us. */
		log_info("local discovery: party %s was gone from %s; re-creating it", l->party_id,
		         l->path);
		if (!party_info_copy(p, &l->party)) {
			t->status = 503;
			err_format(t->error, sizeof(t->error), "out of memory");
			return;
		}
		while (p->n_members)
			party_info_remove(p, p->members[0].id);
		snprintf(p->host_id, sizeof(p->host_id), "%s", l->peer_id);
		t->network = l->party_network;
		break;
	case PARTYFILE_MALFORMED:
		t->status = 503;
		err_format(t->error, sizeof(t->error), "party %s in %s is malformed: %s",
		           l->party_id, l->path, err);
		return;
	case PARTYFILE_FOUND:
		if (dropped)
			log_ratelimited(LL_ERROR,
			                "local discovery: party %s: dropping %zu malformed member "
			                "record(s) in %s: %s",
			                l->party_id, dropped, l->path, dropped_err);
		break;
	}
	if (!party_info_find(p, l->peer_id)) {
		if (p->n_members)
			log_info(
			    "local discovery: party %s: we had been pruned from %s (suspended?); "
			    "adding ourselves back",
			    l->party_id, l->path);
		if (!assign_vip(l, p, &t->network, t))
			return;
	}
	if (!put_self(l, p, t))
		return;
	if (!party_info_find(p, p->host_id))
		snprintf(p->host_id, sizeof(p->host_id), "%s", l->peer_id);
	t->have_party = true;
}

static void txn_leave(struct ctl_local *l, struct partyfile *f, struct ctl_txn *t)
{
	struct party_info *p = &t->party;
	errmsg err;

	if (partyfile_get(f, l->party_id, p, &t->network, NULL, NULL, err) != PARTYFILE_FOUND ||
	    !party_info_remove(p, l->peer_id))
		return;
	if (strcmp(p->host_id, l->peer_id) == 0) {
		const struct peer_info *next = party_info_longest_member(p);

		snprintf(p->host_id, sizeof(p->host_id), "%s", next ? next->id : "");
	}
	t->have_party = true; /* written back (or removed, when empty) */
}

/* One transaction under the lock held by the caller. */
void ctl_txn_run(struct ctl_local *l, struct ctl_txn *t)
{
	struct partyfile f;
	size_t pruned;
	errmsg err;

	if (!ctl_txn_read(l, &f, true, t))
		return;
	pruned = partyfile_prune(&f, now_wall_ms() - (int64_t)l->t.stale_ms, l->peer_id);
	if (pruned)
		log_info("local discovery: pruned %zu member(s) unseen for %u ms from %s", pruned,
		         l->t.stale_ms, l->path);
	switch (l->state) {
	case LOCAL_CREATING:
		txn_create(l, &f, t);
		break;
	case LOCAL_JOINING:
		txn_join(l, &f, t);
		break;
	case LOCAL_MEMBER:
		txn_refresh(l, &f, t);
		break;
	case LOCAL_LEAVING:
		txn_leave(l, &f, t);
		break;
	case LOCAL_IDLE:
		break;
	}
	if (t->have_party && !partyfile_put(&f, &t->party, &t->network, err)) {
		t->status = 503;
		err_format(t->error, sizeof(t->error), "%s", err);
	}
	if ((t->status == 0 || pruned || t->corrupt[0]) && !write_file(l, &f, t))
		t->have_party = false;
	partyfile_clear(&f);
}
