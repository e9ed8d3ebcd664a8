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

/*
 * The daemon makes one in remote mode (relays come from the control server)
 * and gives it to the connection manager; it sends through the data plane's
 * socket and learns relay control frames from it.
 */
struct relays *relays_create(struct event_base *base, struct ctl *ctl, struct conn_manager *cm);
/* Unbinds from every relay and frees. */
void relays_destroy(struct relays *r);

/*
 * The pair (self, c) needs a relay.  Once both members can use the same one,
 * true with *out set to it (the relay's address and c's tag); false while
 * that is still being arranged (relays listed, measured, bound, agreed).
 */
bool relays_endpoint_for(struct relays *r, const struct conn *c, struct endpoint *out);
/* The pair no longer needs a relay (a direct path, or the member left). */
void relays_release(struct relays *r, const struct conn *c);
/* A relay control frame (0xE1-0xEF) the data plane handed over. */
void relays_input(struct relays *r, const uint8_t *data, size_t len, const struct addr *from);
/* A member's signal: its round trips to the relays ({"relay_rtts": {...}}). */
void relays_on_signal(struct relays *r, const char *from, const json_t *data);
/* The member left the party. */
void relays_forget_pair(struct relays *r, const char *peer_id);
/* The relay's id for status output, or NULL when it is not one we know. */
const char *relays_name(const struct relays *r, const struct addr *relay);

#endif
