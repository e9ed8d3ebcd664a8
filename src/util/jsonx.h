/* jsonx.h - typed, bounded field access over jansson, and JSON files. */
#ifndef LANRAGE_UTIL_JSONX_H
#define LANRAGE_UTIL_JSONX_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/compiler.h"

/*
 * Field getters.  Each names the field in err when it is missing (and required),
 * of the wrong type, too long or out of range.  An absent optional field, or a
 * JSON null, leaves *out untouched and returns true with *present false (present
 * may be NULL).
 */
bool jsonx_get_str(const json_t *obj, const char *key, char *out, size_t outsz, bool required,
                   bool *present, char *err) WARN_UNUSED;
bool jsonx_get_int(const json_t *obj, const char *key, int64_t min, int64_t max, int64_t *out,
                   bool required, bool *present, char *err) WARN_UNUSED;
bool jsonx_get_bool(const json_t *obj, const char *key, bool *out, bool required, bool *present,
                    char *err) WARN_UNUSED;

/* Parses text (at most len bytes, need not be NUL-terminated) that must be a JSON object. */
json_t *jsonx_parse_object(const char *text, size_t len, char *err);

/* Reads a JSON object from a file of at most max bytes; NULL with err on failure. */
json_t *jsonx_read_file(const char *path, size_t max, char *err);
/* Writes compact JSON atomically (file_write_atomic) with mode; 0 or -errno. */
int jsonx_write_file(const char *path, const json_t *value, mode_t mode) WARN_UNUSED;

#endif
