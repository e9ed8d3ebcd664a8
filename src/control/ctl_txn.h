/* ctl_txn.h - ctl_local's transactions on discovery.json: read, prune, apply, replace. */
#ifndef LANRAGE_CONTROL_CTL_TXN_H
#define LANRAGE_CONTROL_CTL_TXN_H

#include <stdbool.h>

#include "control/ctl_local.h"
#include "control/partyfile.h"
#include "util/compiler.h"

/*
 * One transaction for l's state (create, join, refresh, leave), with the
 * lock held by the caller: read the file, prune, apply, write.  t says how
 * it went and holds the party as written.
 */
void ctl_txn_run(struct ctl_local *l, struct ctl_txn *t);
/*
 * Reads the file into f (empty when missing).  A corrupt file reads as empty
 * (t->corrupt says so); with keep it is first kept under another name, so
 * writing over it loses nothing.  false (t->status 503, t->error) when it
 * cannot be read or must not be written.
 */
bool ctl_txn_read(struct ctl_local *l, struct partyfile *f, bool keep,
                  struct ctl_txn *t) WARN_UNUSED;
/* The file's identity now (exists false when there is none). */
void ctl_txn_stat(const struct ctl_local *l, struct file_id *id);
bool ctl_txn_same_file(const struct file_id *a, const struct file_id *b);

#endif
