/* peer.h - a party member's record (the seeds' PeerInfo/Peer): validation and JSON. */
#ifndef LANRAGE_CONTROL_PEER_H
#define LANRAGE_CONTROL_PEER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "crypto/key.h"
#include "nat/nat_type.h"
#include "util/addr.h"
#include "util/compiler.h"

enum { PEER_ID_MAX = 64, PEER_NAME_MAX = 64 };

/*
 * What the control plane knows of one member.  Endpoints and the virtual IP
 * are AF_UNSPEC while unknown; times are wall-clock ms (0 = never).
 */
struct peer_info {
	char id[PEER_ID_MAX + 1];
	char name[PEER_NAME_MAX + 1];
	wg_key public_key;
	enum nat_type nat_type;
	struct addr public_endpoint;
	struct addr local_endpoint;
	struct addr global_endpoint; /* an IPv6 global address of its own (addr_is_global6) */
	struct addr virtual_ip;      /* port 0 */
	int64_t joined_at_ms;
	int64_t last_seen_ms;
};

void peer_info_init(struct peer_info *p);

/* The stable id of the peer holding this public key (key_fingerprint). */
void peer_id_from_key(char out[PEER_ID_MAX + 1], const wg_key pub);
/* 1-64 characters of [A-Za-z0-9._-]. */
bool peer_id_valid(const char *id);
/* 1-64 bytes of printable UTF-8, not only spaces. */
bool peer_name_valid(const char *name);

/* Every field checked; err names the first bad one. */
bool peer_info_validate(const struct peer_info *p, char *err) WARN_UNUSED;

/*
 * JSON form, with the seeds' field names: peer_id, name, public_key (base64),
 * nat_type, public_ip, public_port, local_ip, local_port, global_ip,
 * global_port (ours: no such field in the seeds), virtual_ip,
 * joined_at, last_seen (ISO 8601 UTC); unknown values are null.
 */
json_t *peer_info_to_json(const struct peer_info *p);
/* Parses and validates; unknown fields are ignored.  err names the field. */
bool peer_info_from_json(struct peer_info *p, const json_t *obj, char *err) WARN_UNUSED;

#endif
