/* report.h - what the local API reads from the daemon: status, members, NAT; and pings. */
#ifndef LANRAGE_DAEMON_REPORT_H
#define LANRAGE_DAEMON_REPORT_H

#include <jansson.h>

#include "util/addr.h"

struct api_req;

/* The api_backend reads (docs/LOCAL_API.md has the shapes); ctx is the daemon. */
json_t *report_status(void *ctx);
json_t *report_peers(void *ctx);
json_t *report_nat(void *ctx);
/* ICMP echo to a member's virtual IP through the tunnel (lanrage ping). */
void report_ping(void *ctx, struct api_req *req, const char *peer, unsigned count);

/* An address as a JSON string without port, or null when unset. */
json_t *report_vip_json(const struct addr *vip);

#endif
