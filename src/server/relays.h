/* relays.h - the relay registry: relays announce themselves, clients list them. */
#ifndef LANRAGE_SERVER_RELAYS_H
#define LANRAGE_SERVER_RELAYS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "server/apierr.h"
#include "server/request.h"
#include "util/compiler.h"

struct store;

/* Registers or refreshes a relay (announcing again is its heartbeat); 201 when new. */
bool relays_put(struct store *s, const struct relay_request *req, bool *created, json_t **out,
                struct api_error *e) WARN_UNUSED;
/* {"relays": [...]} for every relay, or for one region (region may be NULL). */
json_t *relays_list(struct store *s, const char *region, struct api_error *e);
/* Removes relays not seen since before_ms; returns how many, or -errno. */
int relays_expire(struct store *s, int64_t before_ms);
int relays_count(struct store *s, int64_t *n) WARN_UNUSED;

#endif
