/* state.c - the daemon's state file. */
#include "daemon/state.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "control/party_id.h"
#include "util/err.h"
#include "util/file.h"
#include "util/jsonx.h"
#include "util/log.h"
#include "util/now.h"

enum { STATE_MAX_BYTES = 64 << 10 };

json_t *state_to_json(const struct daemon_state *st)
{
	char ip[ADDR_STRLEN], when[NOW_ISO8601_LEN];
	json_t *o = json_object();

	json_object_set_new(o, "version", json_integer(1));
	json_object_set_new(o, "party_id",
	                    st->party_id[0] ? json_string(st->party_id) : json_null());
	json_object_set_new(o, "party_name",
	                    st->party_id[0] ? json_string(st->party_name) : json_null());
	json_object_set_new(o, "mode", json_string(st->mode));
	json_object_set_new(o, "where", json_string(st->where));
	json_object_set_new(o, "virtual_ip",
	                    addr_is_set(&st->virtual_ip)
	                        ? json_string(addr_format_ip(&st->virtual_ip, ip))
	                        : json_null());
	json_object_set_new(o, "joined_at",
	                    st->joined_at_ms
	                        ? json_string(now_format_iso8601(st->joined_at_ms, when))
	                        : json_null());
	return o;
}

bool state_from_json(struct daemon_state *st, const json_t *obj, char *err)
{
	char ip[ADDR_STRLEN] = "", when[NOW_ISO8601_LEN] = "";
	bool has_party = false, has_ip = false, has_when = false;
	int64_t version = 1;

	memset(st, 0, sizeof(*st));
	addr_clear(&st->virtual_ip);
	if (!json_is_object(obj)) {
		err_set(err, "not a JSON object");
		return false;
	}
	if (!jsonx_get_int(obj, "version", 1, 1, &version, false, NULL, err) ||
	    !jsonx_get_str(obj, "party_id", st->party_id, sizeof(st->party_id), false, &has_party,
	                   err) ||
	    !jsonx_get_str(obj, "party_name", st->party_name, sizeof(st->party_name), false, NULL,
	                   err) ||
	    !jsonx_get_str(obj, "mode", st->mode, sizeof(st->mode), false, NULL, err) ||
	    !jsonx_get_str(obj, "where", st->where, sizeof(st->where), false, NULL, err) ||
	    !jsonx_get_str(obj, "virtual_ip", ip, sizeof(ip), false, &has_ip, err) ||
	    !jsonx_get_str(obj, "joined_at", when, sizeof(when), false, &has_when, err))
		return false;
	if (has_party && !party_id_valid(st->party_id)) {
		err_set(err, "field 'party_id': not a party id: `%s'", st->party_id);
		return false;
	}
	if (has_party && st->party_name[0] && !party_name_valid(st->party_name)) {
		err_set(err, "field 'party_name': not a valid name");
		return false;
	}
	if (st->mode[0] && strcmp(st->mode, "remote") != 0 && strcmp(st->mode, "local") != 0) {
		err_set(err, "field 'mode': `%s' is neither remote nor local", st->mode);
		return false;
	}
	if (has_ip &&
	    (!addr_parse_ip(&st->virtual_ip, ip, NULL) || st->virtual_ip.sa.sa_family != AF_INET)) {
		err_set(err, "field 'virtual_ip': not an IPv4 address: `%s'", ip);
		return false;
	}
	if (has_when && !now_parse_iso8601(when, &st->joined_at_ms)) {
		err_set(err, "field 'joined_at': not an ISO 8601 time: `%s'", when);
		return false;
	}
	return true;
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
	struct state_store *s = arg;

	if (state_store_flush(s) < 0)
		/* Try again soon: the directory may be back (a full disk freed). */
		state_store_changed(s);
}

int state_store_open(struct state_store *s, struct event_base *base, const char *path, char *err)
{
	struct stat stbuf;
	json_t *obj;

	memset(s, 0, sizeof(*s));
	addr_clear(&s->st.virtual_ip);
	if (snprintf(s->path, sizeof(s->path), "%s", path) >= (int)sizeof(s->path)) {
		err_set(err, "state file path too long");
		return -ENAMETOOLONG;
	}
	s->flush_ev = evtimer_new(base, on_flush, s);
	if (!s->flush_ev)
		return -ENOMEM;
	if (stat(path, &stbuf) < 0) {
		if (errno == ENOENT)
			return 0;
		err_set(err, "%s: %s", path, strerror(errno));
		return -errno;
	}
	obj = jsonx_read_file(path, STATE_MAX_BYTES, err);
	if (obj && state_from_json(&s->st, obj, err)) {
		json_decref(obj);
		return 0;
	}
	json_decref(obj);
	{
		char aside[PATH_MAX + 16];
		errmsg why;

		snprintf(why, sizeof(why), "%s", err ? err : "");
		snprintf(aside, sizeof(aside), "%s.corrupt", path);
		if (rename(path, aside) == 0)
			err_set(err, "%s cannot be read (%s); kept as %s, starting in no party",
			        path, why, aside);
		else
			err_set(err, "%s cannot be read (%s), starting in no party", path, why);
	}
	memset(&s->st, 0, sizeof(s->st));
	addr_clear(&s->st.virtual_ip);
	return 0;
}

void state_store_changed(struct state_store *s)
{
	struct timeval tv = { 0, STATE_FLUSH_MS * 1000 };

	s->dirty = true;
	if (!evtimer_pending(s->flush_ev, NULL))
		evtimer_add(s->flush_ev, &tv);
}

int state_store_flush(struct state_store *s)
{
	json_t *o;
	int ret;

	if (!s->dirty)
		return 0;
	o = state_to_json(&s->st);
	ret = jsonx_write_file(s->path, o, 0600);
	json_decref(o);
	if (ret < 0) {
		log_ratelimited(LL_ERROR, "cannot write %s: %s", s->path, strerror(-ret));
		return ret;
	}
	s->dirty = false;
	s->writes++;
	return 0;
}

void state_store_close(struct state_store *s)
{
	if (!s->flush_ev)
		return;
	if (state_store_flush(s) < 0)
		log_error("the last state changes were not saved to %s", s->path);
	event_free(s->flush_ev);
	s->flush_ev = NULL;
}
