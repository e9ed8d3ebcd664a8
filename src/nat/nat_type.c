/* nat_type.c - NAT types and which pairs of them can connect directly. */
#include "nat/nat_type.h"

#include <ctype.h>
#include <string.h>

static const char *const names[NAT_TYPE_COUNT] = {
	[NAT_UNKNOWN] = "unknown",
	[NAT_OPEN] = "open",
	[NAT_FULL_CONE] = "full_cone",
	[NAT_RESTRICTED_CONE] = "restricted_cone",
	[NAT_PORT_RESTRICTED_CONE] = "port_restricted_cone",
	[NAT_SYMMETRIC] = "symmetric",
};

/*
 * Seed 000, Appendix A, as data.  Rows and columns in enum order:
 * unknown, open, full cone, restricted cone, port-restricted cone, symmetric.
 *   open:                 all known types
 *   full cone:            open, full, restricted, port-restricted
 *   restricted cone:      open, full, restricted
 *   port-restricted cone: open, full
 *   symmetric:            open
 *   unknown:              none (relay)
 */
static const bool direct[NAT_TYPE_COUNT][NAT_TYPE_COUNT] = {
	/*              unk  open   full   restr  port   sym */
	[NAT_UNKNOWN] = { 0, 0, 0, 0, 0, 0 },
	[NAT_OPEN] = { 0, 1, 1, 1, 1, 1 },
	[NAT_FULL_CONE] = { 0, 1, 1, 1, 1, 0 },
	[NAT_RESTRICTED_CONE] = { 0, 1, 1, 1, 0, 0 },
	[NAT_PORT_RESTRICTED_CONE] = { 0, 1, 1, 0, 0, 0 },
	[NAT_SYMMETRIC] = { 0, 1, 0, 0, 0, 0 },
};

const char *nat_type_name(enum nat_type type)
{
	if ((unsigned)type >= NAT_TYPE_COUNT)
		return "unknown";
	return names[type];
}

bool nat_type_parse(const char *s, enum nat_type *out)
{
	char norm[32];
	size_t len = strlen(s);

	if (len == 0 || len >= sizeof(norm))
		return false;
	for (size_t i = 0; i <= len; i++)
		norm[i] = s[i] == '-' ? '_' : (char)tolower((unsigned char)s[i]);
	for (int t = 0; t < NAT_TYPE_COUNT; t++) {
		if (strcmp(norm, names[t]) == 0) {
			*out = (enum nat_type)t;
			return true;
		}
	}
	return false;
}

bool nat_type_can_direct(enum nat_type a, enum nat_type b)
{
	if ((unsigned)a >= NAT_TYPE_COUNT || (unsigned)b >= NAT_TYPE_COUNT)
		return false;
	return direct[a][b];
}

bool nat_type_can_punch(enum nat_type a, enum nat_type b)
{
	bool strict_a = a == NAT_PORT_RESTRICTED_CONE || a == NAT_SYMMETRIC;
	bool strict_b = b == NAT_PORT_RESTRICTED_CONE || b == NAT_SYMMETRIC;

	if ((unsigned)a >= NAT_TYPE_COUNT || (unsigned)b >= NAT_TYPE_COUNT || a == NAT_UNKNOWN ||
	    b == NAT_UNKNOWN)
		return false;
	/* A symmetric NAT's fresh ports never get through a filter keyed on exact ports. */
	return !((a == NAT_SYMMETRIC && strict_b) || (b == NAT_SYMMETRIC && strict_a));
}
