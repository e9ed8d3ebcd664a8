/* relays.h - the relay manager: the relays there are, how far each is, where each pair meets. */
#ifndef LANRAGE_DAEMON_RELAYS_H
#define LANRAGE_DAEMON_RELAYS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/addr.h"
#include "util/endpoint.h"

struct conn;
struct conn_manager;
struct ctl;
struct event_base;

struct relays;

enum { RELAY_ID_MAX = 64 };

/*
 * The daemon makes one in remote mode (relays come from the control server)
 * and gives it to the connection manager; it sends through the data plane's
 * socket and learns relay control frames from it.  on_moved runs when a
 * relay sees us at a new address: the NAT in front of us may have changed.
 */
struct relays *relays_create(struct event_base *base, struct ctl *ctl, struct conn_manager *cm,
                             void (*on_moved)(void *ctx), void *moved_ctx);
/* Unbinds from every relay and frees. */
void relays_destroy(struct relays *r);

/*
 * The pair (self, c) needs a relay: fills out with up to max relayed
 * endpoints for c (a relay's address and c's tag there), the pair's relay
 * first and the next best second, so that probing has measured the second
 * when the first dies.  0 while that is still being arranged (relays listed,
 * bound, measured).
 */
size_t relays_endpoints_for(struct relays *r, const struct conn *c, struct endpoint *out,
                            size_t max);
/* The pair no longer needs a relay (a direct path, or the member left). */
void relays_release(struct relays *r, const struct conn *c);
/* A relay control frame (0xE1-0xEF) the data plane handed over. */
void relays_input(struct relays *r, const uint8_t *data, size_t len, const struct addr *from);
/* A member's signal: its round trips to the relays ({"relay_rtts": {...}}). */
void relays_on_signal(struct relays *r, const char *from, const json_t *data);
/*
 * The round trips a member's relay_rtts signal carries (docs/PROTOCOL.md,
 * "Meeting on a relay"): up to max relay ids and milliseconds; entries that
 * are not 1-60000 ms or not a sane id are skipped.  Returns how many.
 */
size_t relays_parse_rtts(const json_t *data, char ids[][RELAY_ID_MAX + 1], uint32_t *ms,
                         size_t max);
/* The member left the party. */
void relays_forget_pair(struct relays *r, const char *peer_id);
/* The relay's id for status output, or NULL when it is not one we know. */
const char *relays_name(const struct relays *r, const struct addr *relay);

#endif
