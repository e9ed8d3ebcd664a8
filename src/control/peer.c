/* peer.c - a party member's record: validation and JSON. */
#include "control/peer.h"

#include <string.h>

#include "util/err.h"
#include "util/jsonx.h"
#include "util/now.h"
#include "util/utf8.h"

void peer_info_init(struct peer_info *p)
{
	memset(p, 0, sizeof(*p));
	p->nat_type = NAT_UNKNOWN;
	addr_clear(&p->public_endpoint);
	addr_clear(&p->local_endpoint);
	addr_clear(&p->virtual_ip);
}

void peer_id_from_key(char out[PEER_ID_MAX + 1], const wg_key pub)
{
	key_fingerprint(out, pub);
}

bool peer_id_valid(const char *id)
{
	size_t len = strlen(id);

	if (len == 0 || len > PEER_ID_MAX)
		return false;
	return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
	       len;
}

bool peer_name_valid(const char *name)
{
	size_t len = strlen(name);

	return len > 0 && len <= PEER_NAME_MAX && strspn(name, " ") != len &&
	       utf8_is_printable(name, len);
}

static bool endpoint_valid(const struct addr *a, const char *field, char *err)
{
	if (addr_is_set(a) && addr_port(a) == 0) {
		err_set(err, "field '%s': port must be 1-65535", field);
		return false;
	}
	return true;
}

bool peer_info_validate(const struct peer_info *p, char *err)
{
	if (!peer_id_valid(p->id)) {
		err_set(err, "field 'peer_id': must be 1-%d characters of A-Z a-z 0-9 . _ -",
		        PEER_ID_MAX);
		return false;
	}
	if (!peer_name_valid(p->name)) {
		err_set(err, "field 'name': must be 1-%d bytes of printable UTF-8", PEER_NAME_MAX);
		return false;
	}
	if (key_is_zero(p->public_key)) {
		err_set(err, "field 'public_key': the all-zero key is not a public key");
		return false;
	}
	if ((unsigned)p->nat_type >= NAT_TYPE_COUNT) {
		err_set(err, "field 'nat_type': unknown NAT type");
		return false;
	}
	if (addr_is_set(&p->global_endpoint) && !addr_is_global6(&p->global_endpoint)) {
		err_set(err, "field 'global_ip': not an IPv6 global unicast address (2000::/3)");
		return false;
	}
	return endpoint_valid(&p->public_endpoint, "public_port", err) &&
	       endpoint_valid(&p->local_endpoint, "local_port", err) &&
	       endpoint_valid(&p->global_endpoint, "global_port", err);
}

static json_t *json_ip_or_null(const struct addr *a)
{
	char buf[ADDR_STRLEN];

	return addr_is_set(a) ? json_string(addr_format_ip(a, buf)) : json_null();
}

static json_t *json_port_or_null(const struct addr *a)
{
	return addr_is_set(a) ? json_integer(addr_port(a)) : json_null();
}

static json_t *json_time_or_null(int64_t ms)
{
	char buf[NOW_ISO8601_LEN];

	return ms ? json_string(now_format_iso8601(ms, buf)) : json_null();
}

json_t *peer_info_to_json(const struct peer_info *p)
{
	char key[KEY_B64_LEN + 1];

	key_to_base64(key, p->public_key);
	return json_pack(
	    "{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "peer_id", p->id,
	    "name", p->name, "public_key", key, "nat_type", nat_type_name(p->nat_type), "public_ip",
	    json_ip_or_null(&p->public_endpoint), "public_port",
	    json_port_or_null(&p->public_endpoint), "local_ip", json_ip_or_null(&p->local_endpoint),
	    "local_port", json_port_or_null(&p->local_endpoint), "global_ip",
	    json_ip_or_null(&p->global_endpoint), "global_port",
	    json_port_or_null(&p->global_endpoint), "virtual_ip", json_ip_or_null(&p->virtual_ip),
	    "joined_at", json_time_or_null(p->joined_at_ms), "last_seen",
	    json_time_or_null(p->last_seen_ms));
}

/* An "ip" and "port" field pair: both present or both absent. */
static bool endpoint_from_json(struct addr *out, const json_t *obj, const char *ip_key,
                               const char *port_key, char *err)
{
	char ip[ADDR_STRLEN];
	bool has_ip, has_port;
	int64_t port = 0;

	addr_clear(out);
	if (!jsonx_get_str(obj, ip_key, ip, sizeof(ip), false, &has_ip, err) ||
	    !jsonx_get_int(obj, port_key, 1, 65535, &port, false, &has_port, err))
		return false;
	if (has_ip != has_port) {
		err_set(err, "field '%s': given without '%s'", has_ip ? ip_key : port_key,
		        has_ip ? port_key : ip_key);
		return false;
	}
	if (!has_ip)
		return true;
	if (!addr_parse_ip(out, ip, err)) {
		err_prefix(err, "field '%s'", ip_key);
		return false;
	}
	addr_set_port(out, (uint16_t)port);
	return true;
}

static bool time_from_json(int64_t *out, const json_t *obj, const char *key, char *err)
{
	char buf[NOW_ISO8601_LEN + 16];
	bool present;

	*out = 0;
	if (!jsonx_get_str(obj, key, buf, sizeof(buf), false, &present, err))
		return false;
	if (present && !now_parse_iso8601(buf, out)) {
		err_set(err, "field '%s': not an ISO 8601 time: `%s'", key, buf);
		return false;
	}
	return true;
}

bool peer_info_from_json(struct peer_info *p, const json_t *obj, char *err)
{
	char key[KEY_B64_LEN + 1], nat[32], vip[ADDR_STRLEN];
	bool present;

	peer_info_init(p);
	if (!json_is_object(obj)) {
		err_set(err, "peer: expected a JSON object");
		return false;
	}
	if (!jsonx_get_str(obj, "peer_id", p->id, sizeof(p->id), true, NULL, err) ||
	    !jsonx_get_str(obj, "name", p->name, sizeof(p->name), true, NULL, err) ||
	    !jsonx_get_str(obj, "public_key", key, sizeof(key), true, NULL, err))
		return false;
	if (!key_from_base64(p->public_key, key, err)) {
		err_prefix(err, "field 'public_key'");
		return false;
	}
	if (!jsonx_get_str(obj, "nat_type", nat, sizeof(nat), false, &present, err))
		return false;
	if (present && !nat_type_parse(nat, &p->nat_type)) {
		err_set(err, "field 'nat_type': unknown NAT type `%s'", nat);
		return false;
	}
	if (!endpoint_from_json(&p->public_endpoint, obj, "public_ip", "public_port", err) ||
	    !endpoint_from_json(&p->local_endpoint, obj, "local_ip", "local_port", err) ||
	    !endpoint_from_json(&p->global_endpoint, obj, "global_ip", "global_port", err))
		return false;
	if (!jsonx_get_str(obj, "virtual_ip", vip, sizeof(vip), false, &present, err))
		return false;
	if (present && !addr_parse_ip(&p->virtual_ip, vip, err)) {
		err_prefix(err, "field 'virtual_ip'");
		return false;
	}
	if (!time_from_json(&p->joined_at_ms, obj, "joined_at", err) ||
	    !time_from_json(&p->last_seen_ms, obj, "last_seen", err))
		return false;
	return peer_info_validate(p, err);
}
