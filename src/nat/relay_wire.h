/* relay_wire.h - relay frames on the wire (docs/PROTOCOL.md "Relay frames"). */
#ifndef LANRAGE_NAT_RELAY_WIRE_H
#define LANRAGE_NAT_RELAY_WIRE_H

/* A Data frame: the type byte and the 4-byte tag in front of the payload. */
enum { RELAY_DATA = 0xE0, RELAY_DATA_HDR_LEN = 5, RELAY_FIRST_BYTE_MAX = 0xEF };

#endif
