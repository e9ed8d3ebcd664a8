/* relays.c - the relay registry. */
#include "server/relays.h"

#include "server/store.h"
#include "util/log.h"
#include "util/now.h"

#define RELAY_COLS "relay_id, public_ip, port, region, capacity, registered_at, last_seen"

static json_t *time_json(const char *col)
{
	char buf[NOW_ISO8601_LEN];
	int64_t ms;

	return store_col_int(col, &ms) ? json_string(now_format_iso8601(ms, buf)) : json_null();
}

static bool relay_row(void *arg, int n, const char *const *c)
{
	json_t *list = arg;
	int64_t port, capacity;

	if (n < 7 || !c[0] || !c[1] || !c[3] || !store_col_int(c[2], &port) ||
	    !store_col_int(c[4], &capacity))
		return true;
	json_array_append_new(list,
	                      json_pack("{s:s, s:s, s:I, s:s, s:I, s:o, s:o}", "relay_id", c[0],
	                                "public_ip", c[1], "port", (json_int_t)port, "region", c[3],
	                                "capacity", (json_int_t)capacity, "registered_at",
	                                time_json(c[5]), "last_seen", time_json(c[6])));
	return true;
}

bool relays_put(struct store *s, const struct relay_request *req, bool *created, json_t **out,
                struct api_error *e)
{
	char ip[ADDR_STRLEN];
	int64_t now = now_wall_ms(), existed = 0;
	struct store_param id[] = { SP_T(req->relay_id) };
	struct store_param p[] = { SP_T(req->relay_id),
		                   SP_T(addr_format_ip(&req->endpoint, ip)),
		                   SP_I(addr_port(&req->endpoint)),
		                   SP_T(req->region),
		                   SP_I(req->capacity),
		                   SP_I(now) };
	json_t *list = json_array();
	errmsg err;
	int rc;

	rc = store_query_int(s, "SELECT COUNT(*) FROM relays WHERE relay_id = $1", id, 1, &existed,
	                     err);
	if (!rc)
		rc = store_query(
		    s,
		    "INSERT INTO relays (" RELAY_COLS ") VALUES ($1, $2, $3, $4, $5, $6, "
		    "$6) ON CONFLICT (relay_id) DO UPDATE SET public_ip = "
		    "excluded.public_ip, port = excluded.port, region = excluded.region, "
		    "capacity = excluded.capacity, last_seen = excluded.last_seen",
		    p, 6, NULL, NULL, err);
	if (!rc)
		rc = store_query(s, "SELECT " RELAY_COLS " FROM relays WHERE relay_id = $1", id, 1,
		                 relay_row, list, err);
	if (rc || json_array_size(list) != 1) {
		json_decref(list);
		api_error_store(e, rc, rc ? err : "relay row vanished");
		return false;
	}
	*created = existed == 0;
	*out = json_incref(json_array_get(list, 0));
	json_decref(list);
	if (*created)
		log_info("relays: %s registered in region %s", req->relay_id, req->region);
	return true;
}

json_t *relays_list(struct store *s, const char *region, struct api_error *e)
{
	json_t *list = json_array();
	struct store_param p[] = { SP_T(region) };
	errmsg err;
	int rc;

	if (region)
		rc = store_query(s,
		                 "SELECT " RELAY_COLS " FROM relays WHERE region = $1 "
		                 "ORDER BY relay_id",
		                 p, 1, relay_row, list, err);
	else
		rc = store_query(s, "SELECT " RELAY_COLS " FROM relays ORDER BY region, relay_id",
		                 NULL, 0, relay_row, list, err);
	if (rc) {
		json_decref(list);
		api_error_store(e, rc, err);
		return NULL;
	}
	return json_pack("{s:o}", "relays", list);
}

int relays_expire(struct store *s, int64_t before_ms)
{
	struct store_param p[] = { SP_I(before_ms) };
	int64_t n = 0;
	errmsg err;
	int rc;

	rc = store_query_int(s, "SELECT COUNT(*) FROM relays WHERE last_seen < $1", p, 1, &n, err);
	if (!rc && n > 0)
		rc = store_query(s, "DELETE FROM relays WHERE last_seen < $1", p, 1, NULL, NULL,
		                 err);
	if (rc) {
		log_error("cleanup: expiring relays: %s", err);
		return rc;
	}
	if (n)
		log_info("cleanup: %lld relays not seen recently removed", (long long)n);
	return (int)n;
}

int relays_count(struct store *s, int64_t *n)
{
	return store_query_int(s, "SELECT COUNT(*) FROM relays", NULL, 0, n, NULL);
}
