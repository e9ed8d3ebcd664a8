/* nat_type.h - NAT types and which pairs of them can connect directly. */
#ifndef LANRAGE_NAT_NAT_TYPE_H
#define LANRAGE_NAT_NAT_TYPE_H

#include <stdbool.h>

#include "util/compiler.h"

/* The seeds' classification (RFC 3489 names; RFC 4787 terms in docs/NAT.md). */
enum nat_type {
	NAT_UNKNOWN,
	NAT_OPEN,
	NAT_FULL_CONE,
	NAT_RESTRICTED_CONE,
	NAT_PORT_RESTRICTED_CONE,
	NAT_SYMMETRIC,
	NAT_TYPE_COUNT
};

/* "unknown", "open", "full_cone", "restricted_cone", "port_restricted_cone", "symmetric". */
const char *nat_type_name(enum nat_type type);
/* The names above, case-insensitive; '-' may stand for '_'. */
bool nat_type_parse(const char *s, enum nat_type *out) WARN_UNUSED;

/*
 * Whether two peers can be expected to connect directly, by the original's
 * compatibility matrix (seed 000, Appendix A): 15 of the 25 ordered pairs of
 * known types.  Unknown requires the relay.  Symmetric in its arguments.
 */
bool nat_type_can_direct(enum nat_type a, enum nat_type b);

/*
 * Whether our hole punching reaches a direct path (docs/NAT.md, measured in
 * the NAT lab): every pair of known types except address and port-dependent
 * filtering facing a symmetric NAT (port-restricted cone or symmetric with
 * symmetric): 22 of the 25 ordered pairs.  A superset of nat_type_can_direct.
 * The daemon may go to a relay at once where this says no; it keeps probing.
 */
bool nat_type_can_punch(enum nat_type a, enum nat_type b);

#endif
