/* registry.h - parties and their members: the rules, over the store. */
#ifndef LANRAGE_SERVER_REGISTRY_H
#define LANRAGE_SERVER_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/party.h"
#include "control/peer.h"
#include "server/apierr.h"
#include "server/request.h"
#include "util/compiler.h"

struct store;
struct events;
struct heartbeat;

/*
 * The rules: a party has one host, a member of it; members get a virtual IP
 * from the party's network (ipam), unique in the party and the same again
 * after leaving and rejoining; when the host leaves, the longest-standing
 * member becomes host; when the last member leaves, the party is gone; a
 * party holds at most max_party_size members.  Every change is one
 * transaction, committed before the API answers, and announced on the event
 * stream after the commit.
 */
struct registry {
	struct store *store;
	struct events *events;
	struct heartbeat *heartbeat;
	size_t max_party_size;
	char network[64];
};

/* Why a member left, as the member_left event says. */
enum leave_reason { LEAVE_LEFT, LEAVE_EXPIRED, LEAVE_KICKED };

/* The registered peer behind a token: its id and key (from registration). */
struct identity {
	char peer_id[PEER_ID_MAX + 1];
	wg_key public_key;
};

bool registry_create(struct registry *r, const struct identity *who,
                     const struct create_request *req, struct party_info *out,
                     struct api_error *e) WARN_UNUSED;
/* Joining again is allowed: the member's description is replaced, its address kept. */
bool registry_join(struct registry *r, const char *party_id, const struct identity *who,
                   const struct member_request *req, struct party_info *out,
                   struct api_error *e) WARN_UNUSED;
/*
 * Removes a member.  With LEAVE_EXPIRED only if its last_seen is still older
 * than stale_before_ms (another instance may have heard from it); *removed
 * says whether it was.
 */
bool registry_leave(struct registry *r, const char *party_id, const char *peer_id,
                    enum leave_reason why, int64_t stale_before_ms, bool *removed,
                    struct api_error *e) WARN_UNUSED;
/*
 * The host removes another member, who may not join this party again: 403
 * unless host_id is the party's host.  (A member's own record is a leave.)
 */
bool registry_kick(struct registry *r, const char *party_id, const char *host_id,
                   const char *peer_id, struct api_error *e) WARN_UNUSED;
/* The host lets a removed peer join again: 403 unless host_id is the host, 404 if not removed. */
bool registry_unban(struct registry *r, const char *party_id, const char *host_id,
                    const char *peer_id, struct api_error *e) WARN_UNUSED;
/* The peers the host removed, oldest first: [{"peer_id", "name" (null if unknown),
 * "banned_at" (ms)}]; 403 unless host_id is the host. */
bool registry_bans(struct registry *r, const char *party_id, const char *host_id, json_t **out,
                   struct api_error *e) WARN_UNUSED;
bool registry_update(struct registry *r, const char *party_id, const char *peer_id,
                     const struct member_request *req, struct peer_info *out,
                     struct api_error *e) WARN_UNUSED;

/* The party with its members (last_seen as fresh as the heartbeats). 404 when gone. */
bool registry_get(struct registry *r, const char *party_id, struct party_info *out,
                  struct api_error *e) WARN_UNUSED;
/* One member; 404 naming the party or the member. */
bool registry_member(struct registry *r, const char *party_id, const char *peer_id,
                     struct peer_info *out, struct api_error *e) WARN_UNUSED;
/* Whether peer_id is a member: 404 for no party, 403 for not a member. */
bool registry_require_member(struct registry *r, const char *party_id, const char *peer_id,
                             struct api_error *e) WARN_UNUSED;

/* Removes members not seen since stale_before_ms; returns how many, or -1. */
int registry_expire(struct registry *r, int64_t stale_before_ms);

int registry_count(struct registry *r, int64_t *parties, int64_t *members) WARN_UNUSED;

#endif
