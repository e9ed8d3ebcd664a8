/* partymgr.h - the party manager: create, join, leave, rejoin; the mesh follows the control plane.
 */
#ifndef LANRAGE_DAEMON_PARTYMGR_H
#define LANRAGE_DAEMON_PARTYMGR_H

#include <jansson.h>

#include "control/ctl.h"

struct daemon;
struct api_req;

/*
 * The daemon is in at most one party, remembered in its state file.  The
 * control plane's view of the party is the truth: every member it lists is
 * configured (a WireGuard peer and a connection), every member it stops
 * listing is removed.  Operations run one at a time; a party saved by an
 * earlier run is rejoined on start (same virtual IP) and retried with backoff
 * while the control plane cannot be reached.
 */
int partymgr_init(struct daemon *d);
void partymgr_clear(struct daemon *d);
/* The callbacks the control plane calls. */
void partymgr_events(struct daemon *d, struct ctl_events *ev);
/* After start: rejoins the saved party, if it belongs to this control plane. */
void partymgr_resume(struct daemon *d);
/* Leaves the party locally: connections, address and state go; why is logged. */
void partymgr_forget(struct daemon *d, const char *why);

/* The API's party operations (api_backend). */
void partymgr_create(void *ctx, struct api_req *req, const char *name);
void partymgr_join(void *ctx, struct api_req *req, const char *party_id);
void partymgr_leave(void *ctx, struct api_req *req);
/* The host removes a member (name, peer id or virtual IP) for good: not from this party again. */
void partymgr_kick(void *ctx, struct api_req *req, const char *peer);
/* The host lets a removed peer (its peer id: it is no member to name) join again. */
void partymgr_unban(void *ctx, struct api_req *req, const char *peer_id);
void partymgr_bans(void *ctx, struct api_req *req);

/* The party as the API shows it: {"party_id", "name", ...}, or null. */
json_t *partymgr_party_json(const struct daemon *d);

#endif
