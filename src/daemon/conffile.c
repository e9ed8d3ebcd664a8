/* conffile.c - the config file parser: lines to (key, value) pairs, nothing more. */
#include "daemon/conffile.h"

#include <string.h>

#include "util/err.h"
#include "util/utf8.h"

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* A quoted value: from just after the opening quote to the closing one. */
static bool parse_quoted(const char *p, const char *end, char *out, size_t outsz, char *err)
{
	size_t n = 0;

	for (;;) {
		if (p == end) {
			err_set(err, "missing closing quote");
			return false;
		}
		if (*p == '"')
			break;
		if (*p == '\\') {
			p++;
			if (p == end || (*p != '"' && *p != '\\')) {
				err_set(err, "only \\\" and \\\\ may follow a backslash in quotes");
				return false;
			}
		}
		if (n + 1 >= outsz) {
			err_set(err, "value too long");
			return false;
		}
		out[n++] = *p++;
	}
	out[n] = '\0';
	for (p++; p < end && is_blank(*p); p++)
		;
	if (p < end && *p != '#') {
		err_set(err, "unexpected text after the closing quote");
		return false;
	}
	return true;
}

/* A plain value: up to a '#' that follows a blank, trailing blanks dropped. */
static void parse_plain(const char *p, const char *end, char *out)
{
	const char *stop = p;

	for (const char *q = p; q < end; q++) {
		if (*q == '#' && (q == p || is_blank(q[-1])))
			break;
		stop = q + 1;
	}
	while (stop > p && is_blank(stop[-1]))
		stop--;
	memcpy(out, p, (size_t)(stop - p));
	out[stop - p] = '\0';
}

/* One line, without its newline; calls fn for a setting. */
static bool parse_line(const char *p, const char *end, unsigned line, conffile_entry_fn *fn,
                       void *arg, char *err)
{
	char key[CONFFILE_KEY_MAX + 1], value[CONFFILE_LINE_MAX + 1];
	size_t klen = 0;

	if (end > p && end[-1] == '\r')
		end--;
	if ((size_t)(end - p) > CONFFILE_LINE_MAX) {
		err_set(err, "line longer than %d bytes", CONFFILE_LINE_MAX);
		return false;
	}
	for (const char *q = p; q < end; q++) {
		if ((unsigned char)*q < 0x20 && *q != '\t') {
			err_set(err, "control character 0x%02x", (unsigned char)*q);
			return false;
		}
	}
	while (p < end && is_blank(*p))
		p++;
	if (p == end || *p == '#')
		return true;
	for (; p < end && !is_blank(*p) && *p != '='; p++) {
		char c = *p == '-' ? '_' : *p;

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') ||
		    klen == CONFFILE_KEY_MAX) {
			err_set(err, "expected `key = value' (keys are a-z 0-9 _)");
			return false;
		}
		key[klen++] = c;
	}
	key[klen] = '\0';
	while (p < end && is_blank(*p))
		p++;
	if (klen == 0 || p == end || *p != '=') {
		err_set(err, "expected `key = value'");
		return false;
	}
	for (p++; p < end && is_blank(*p); p++)
		;
	if (p < end && *p == '"') {
		if (!parse_quoted(p + 1, end, value, sizeof(value), err))
			return false;
	} else {
		parse_plain(p, end, value);
	}
	if (!utf8_is_printable(value, strlen(value))) {
		err_set(err, "the value of `%s' is not printable UTF-8", key);
		return false;
	}
	return fn(arg, line, key, value, err);
}

bool conffile_parse(const char *text, size_t len, conffile_entry_fn *fn, void *arg,
                    unsigned *bad_line, char *err)
{
	const char *p = text, *end = text + len;
	unsigned line = 1;

	if (len > CONFFILE_MAX_BYTES) {
		*bad_line = 0;
		err_set(err, "larger than %d bytes", CONFFILE_MAX_BYTES);
		return false;
	}
	if (memchr(text, '\0', len)) {
		*bad_line = 1;
		for (const char *q = text; *q; q++)
			*bad_line += *q == '\n';
		err_set(err, "NUL byte");
		return false;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;

		if (!parse_line(p, eol, line, fn, arg, err)) {
			*bad_line = line;
			return false;
		}
		p = nl ? nl + 1 : end;
		line++;
	}
	return true;
}
