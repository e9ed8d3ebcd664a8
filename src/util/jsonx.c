/* jsonx.c - typed, bounded field access over jansson, and JSON files. */
#include "util/jsonx.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/file.h"

/* Looks a field up; false when absent or null (then *present is false). */
static const json_t *field(const json_t *obj, const char *key, bool *present)
{
	const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

	if (v && json_is_null(v))
		v = NULL;
	if (present)
		*present = v != NULL;
	return v;
}

static bool missing(const char *key, bool required, char *err)
{
	if (required) {
		err_set(err, "field '%s': missing", key);
		return false;
	}
	return true;
}

bool jsonx_get_str(const json_t *obj, const char *key, char *out, size_t outsz, bool required,
                   bool *present, char *err)
{
	const json_t *v = field(obj, key, present);
	size_t len;

	if (!v)
		return missing(key, required, err);
	if (!json_is_string(v)) {
		err_set(err, "field '%s': expected a string", key);
		return false;
	}
	len = json_string_length(v);
	if (len >= outsz) {
		err_set(err, "field '%s': too long (%zu bytes, at most %zu)", key, len, outsz - 1);
		return false;
	}
	if (memchr(json_string_value(v), '\0', len)) {
		err_set(err, "field '%s': contains a NUL character", key);
		return false;
	}
	memcpy(out, json_string_value(v), len + 1);
	return true;
}

bool jsonx_get_int(const json_t *obj, const char *key, int64_t min, int64_t max, int64_t *out,
                   bool required, bool *present, char *err)
{
	const json_t *v = field(obj, key, present);
	json_int_t n;

	if (!v)
		return missing(key, required, err);
	if (!json_is_integer(v)) {
		err_set(err, "field '%s': expected an integer", key);
		return false;
	}
	n = json_integer_value(v);
	if (n < min || n > max) {
		err_set(err, "field '%s': %lld is out of range [%lld, %lld]", key, (long long)n,
		        (long long)min, (long long)max);
		return false;
	}
	*out = n;
	return true;
}

bool jsonx_get_bool(const json_t *obj, const char *key, bool *out, bool required, bool *present,
                    char *err)
{
	const json_t *v = field(obj, key, present);

	if (!v)
		return missing(key, required, err);
	if (!json_is_boolean(v)) {
		err_set(err, "field '%s': expected true or false", key);
		return false;
	}
	*out = json_is_true(v);
	return true;
}

json_t *jsonx_parse_object(const char *text, size_t len, char *err)
{
	json_error_t jerr;
	json_t *v = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);

	if (!v) {
		err_set(err, "malformed JSON at line %d column %d: %s", jerr.line, jerr.column,
		        jerr.text);
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		err_set(err, "expected a JSON object");
		return NULL;
	}
	return v;
}

json_t *jsonx_read_file(const char *path, size_t max, char *err)
{
	char *text;
	size_t len;
	json_t *v;
	int ret = file_read_all(path, max, &text, &len);

	if (ret < 0) {
		if (ret == -EFBIG)
			err_set(err, "%s: larger than %zu bytes", path, max);
		else
			err_set(err, "%s: %s", path, strerror(-ret));
		return NULL;
	}
	v = jsonx_parse_object(text, len, err);
	free(text);
	if (!v)
		err_prefix(err, "%s", path);
	return v;
}

int jsonx_write_file(const char *path, const json_t *value, mode_t mode)
{
	char *text = json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS);
	int ret;

	if (!text)
		return -ENOMEM;
	ret = file_write_atomic(path, text, strlen(text), mode);
	free(text);
	return ret;
}
