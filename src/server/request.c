/* request.c - API request bodies: parsing and validation. */
#include "server/request.h"

#include <string.h>

#include "util/jsonx.h"

json_t *request_parse_body(const char *data, size_t len, size_t max, struct api_error *e)
{
	errmsg err;
	json_t *obj;

	if (len > max) {
		api_error_set(e, API_PAYLOAD_TOO_LARGE, "request body is %zu bytes, at most %zu",
		              len, max);
		return NULL;
	}
	if (len == 0) {
		api_error_set(e, API_BAD_REQUEST, "request body: expected a JSON object");
		return NULL;
	}
	obj = jsonx_parse_object(data, len, err);
	if (!obj)
		api_error_set(e, API_BAD_REQUEST, "request body: %s", err);
	return obj;
}

static bool bad(struct api_error *e, const char *err)
{
	api_error_set(e, API_BAD_REQUEST, "%s", err);
	return false;
}

static bool get_key(const json_t *obj, const char *field, wg_key out, bool required, bool *present,
                    struct api_error *e)
{
	char text[KEY_B64_LEN + 1];
	bool has;
	errmsg err;

	if (!jsonx_get_str(obj, field, text, sizeof(text), required, &has, err))
		return bad(e, err);
	if (present)
		*present = has;
	if (!has)
		return true;
	if (!key_from_base64(out, text, err)) {
		api_error_set(e, API_BAD_REQUEST, "field '%s': %s", field, err);
		return false;
	}
	if (key_is_zero(out)) {
		api_error_set(e, API_BAD_REQUEST, "field '%s': the all-zero key is not a key",
		              field);
		return false;
	}
	return true;
}

bool request_parse_challenge(const json_t *body, struct challenge_request *out, struct api_error *e)
{
	memset(out, 0, sizeof(*out));
	return get_key(body, "public_key", out->public_key, true, NULL, e);
}

bool request_parse_register(const json_t *body, struct register_request *out, struct api_error *e)
{
	errmsg err;

	memset(out, 0, sizeof(*out));
	if (!get_key(body, "public_key", out->public_key, true, NULL, e))
		return false;
	if (!jsonx_get_str(body, "challenge", out->challenge, sizeof(out->challenge), true, NULL,
	                   err) ||
	    !jsonx_get_str(body, "response", out->response, sizeof(out->response), true, NULL, err))
		return bad(e, err);
	return true;
}

/* An "ip" and "port" pair: both or neither. */
static bool get_endpoint(const json_t *obj, const char *ip_key, const char *port_key,
                         struct addr *out, bool *present, struct api_error *e)
{
	char ip[ADDR_STRLEN];
	bool has_ip, has_port;
	int64_t port = 0;
	errmsg err;

	addr_clear(out);
	if (!jsonx_get_str(obj, ip_key, ip, sizeof(ip), false, &has_ip, err) ||
	    !jsonx_get_int(obj, port_key, 1, 65535, &port, false, &has_port, err))
		return bad(e, err);
	if (has_ip != has_port) {
		api_error_set(e, API_BAD_REQUEST, "field '%s': given without '%s'",
		              has_ip ? ip_key : port_key, has_ip ? port_key : ip_key);
		return false;
	}
	*present = has_ip;
	if (!has_ip)
		return true;
	if (!addr_parse_ip(out, ip, err)) {
		api_error_set(e, API_BAD_REQUEST, "field '%s': %s", ip_key, err);
		return false;
	}
	addr_set_port(out, (uint16_t)port);
	return true;
}

bool request_parse_member(const json_t *obj, bool update, struct member_request *out,
                          struct api_error *e)
{
	char nat[32];
	errmsg err;

	memset(out, 0, sizeof(*out));
	out->nat_type = NAT_UNKNOWN;
	if (!json_is_object(obj))
		return bad(e, "peer: expected a JSON object");
	if (!jsonx_get_str(obj, "name", out->name, sizeof(out->name), !update, &out->has_name,
	                   err) ||
	    !jsonx_get_str(obj, "peer_id", out->peer_id, sizeof(out->peer_id), false,
	                   &out->has_peer_id, err) ||
	    !jsonx_get_str(obj, "nat_type", nat, sizeof(nat), false, &out->has_nat_type, err))
		return bad(e, err);
	if (out->has_name && !peer_name_valid(out->name)) {
		api_error_set(e, API_BAD_REQUEST,
		              "field 'name': must be 1-%d bytes of printable UTF-8", PEER_NAME_MAX);
		return false;
	}
	if (out->has_nat_type && !nat_type_parse(nat, &out->nat_type)) {
		api_error_set(e, API_BAD_REQUEST,
		              "field 'nat_type': unknown NAT type `%s' (open, full_cone, "
		              "restricted_cone, port_restricted_cone, symmetric, unknown)",
		              nat);
		return false;
	}
	if (!get_key(obj, "public_key", out->public_key, false, &out->has_public_key, e) ||
	    !get_endpoint(obj, "public_ip", "public_port", &out->public_endpoint, &out->has_public,
	                  e) ||
	    !get_endpoint(obj, "local_ip", "local_port", &out->local_endpoint, &out->has_local,
	                  e) ||
	    !get_endpoint(obj, "global_ip", "global_port", &out->global_endpoint, &out->has_global,
	                  e))
		return false;
	/* An address can go away (a laptop on another network): null clears it. */
	if (json_is_null(json_object_get(obj, "global_ip")) &&
	    json_is_null(json_object_get(obj, "global_port")))
		out->has_global = true;
	if (addr_is_set(&out->global_endpoint) && !addr_is_global6(&out->global_endpoint)) {
		api_error_set(e, API_BAD_REQUEST,
		              "field 'global_ip': not an IPv6 global unicast address (2000::/3)");
		return false;
	}
	return true;
}

static const json_t *get_peer_object(const json_t *body, struct api_error *e)
{
	const json_t *peer = json_object_get(body, "peer");

	if (!peer || json_is_null(peer)) {
		api_error_set(e, API_BAD_REQUEST, "field 'peer': missing");
		return NULL;
	}
	if (!json_is_object(peer)) {
		api_error_set(e, API_BAD_REQUEST, "field 'peer': expected an object");
		return NULL;
	}
	return peer;
}

bool request_parse_create(const json_t *body, struct create_request *out, struct api_error *e)
{
	const json_t *peer;
	errmsg err;

	memset(out, 0, sizeof(*out));
	if (!jsonx_get_str(body, "name", out->name, sizeof(out->name), true, NULL, err))
		return bad(e, err);
	if (!party_name_valid(out->name)) {
		api_error_set(e, API_BAD_REQUEST,
		              "field 'name': must be 1-%d bytes of printable UTF-8",
		              PARTY_NAME_MAX);
		return false;
	}
	peer = get_peer_object(body, e);
	if (!peer)
		return false;
	if (!request_parse_member(peer, false, &out->peer, e)) {
		api_error_prefix(e, "peer");
		return false;
	}
	return true;
}

bool request_parse_join(const json_t *body, struct member_request *out, struct api_error *e)
{
	const json_t *peer = get_peer_object(body, e);

	memset(out, 0, sizeof(*out));
	if (!peer)
		return false;
	if (!request_parse_member(peer, false, out, e)) {
		api_error_prefix(e, "peer");
		return false;
	}
	return true;
}

bool request_parse_signal(const json_t *body, struct signal_request *out, struct api_error *e)
{
	const json_t *data;
	char *text;
	size_t len;
	errmsg err;

	memset(out, 0, sizeof(*out));
	if (!jsonx_get_str(body, "to", out->to, sizeof(out->to), true, NULL, err))
		return bad(e, err);
	if (!peer_id_valid(out->to))
		return bad(e, "field 'to': not a peer id");
	data = json_object_get(body, "data");
	if (!data)
		return bad(e, "field 'data': missing");
	text = json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY);
	len = text ? strlen(text) : 0;
	free(text);
	if (!len)
		return bad(e, "field 'data': cannot be encoded");
	if (len > REQUEST_SIGNAL_MAX) {
		api_error_set(e, API_PAYLOAD_TOO_LARGE, "field 'data': %zu bytes, at most %d", len,
		              REQUEST_SIGNAL_MAX);
		return false;
	}
	out->data = json_incref((json_t *)data);
	return true;
}

void request_signal_clear(struct signal_request *s)
{
	json_decref(s->data);
	s->data = NULL;
}

bool request_token_valid(const char *s, size_t max)
{
	size_t len = strlen(s);

	return len > 0 && len <= max &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
	           len;
}

bool request_parse_relay(const json_t *body, struct relay_request *out, struct api_error *e)
{
	char ip[ADDR_STRLEN];
	int64_t port;
	errmsg err;

	memset(out, 0, sizeof(*out));
	if (!jsonx_get_str(body, "relay_id", out->relay_id, sizeof(out->relay_id), true, NULL,
	                   err) ||
	    !jsonx_get_str(body, "public_ip", ip, sizeof(ip), true, NULL, err) ||
	    !jsonx_get_int(body, "port", 1, 65535, &port, true, NULL, err) ||
	    !jsonx_get_str(body, "region", out->region, sizeof(out->region), true, NULL, err))
		return bad(e, err);
	out->capacity = 100;
	if (!jsonx_get_int(body, "capacity", 0, RELAY_CAPACITY_MAX, &out->capacity, false, NULL,
	                   err))
		return bad(e, err);
	if (!request_token_valid(out->relay_id, RELAY_ID_MAX))
		return bad(e, "field 'relay_id': must be 1-64 characters of A-Z a-z 0-9 . _ -");
	if (!request_token_valid(out->region, RELAY_REGION_MAX))
		return bad(e, "field 'region': must be 1-32 characters of A-Z a-z 0-9 . _ -");
	if (!addr_parse_ip(&out->endpoint, ip, err)) {
		api_error_set(e, API_BAD_REQUEST, "field 'public_ip': %s", err);
		return false;
	}
	addr_set_port(&out->endpoint, (uint16_t)port);
	return true;
}
