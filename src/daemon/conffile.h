/* conffile.h - the syntax of lanraged.conf: `key = value' lines and # comments. */
#ifndef LANRAGE_DAEMON_CONFFILE_H
#define LANRAGE_DAEMON_CONFFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "util/compiler.h"

enum { CONFFILE_MAX_BYTES = 64 * 1024, CONFFILE_LINE_MAX = 1024, CONFFILE_KEY_MAX = 64 };

/*
 * One setting per line:
 *
 *     # a comment
 *     key = value          # a comment after a space
 *     peer_name = "Bob #1" # double quotes keep '#' and spaces; \" and \\ inside
 *     control_url =        # an empty value
 *
 * Keys are [a-z0-9_] ('-' reads as '_', as in flags).  Blank lines, spaces
 * and tabs around keys and values, and a final CR are ignored.  Values are
 * printable UTF-8; NUL and control characters are refused, as are lines over
 * CONFFILE_LINE_MAX bytes.  The parser knows no keys: fn gets each
 * (line, key, value) in order and may refuse it with err.
 */
typedef bool conffile_entry_fn(void *arg, unsigned line, const char *key, const char *value,
                               char *err);

/*
 * Parses len bytes of text (need not be NUL-terminated).  On the first bad
 * line, or the first entry fn refuses, returns false with *bad_line set and
 * err saying what is wrong (without the line number).
 */
bool conffile_parse(const char *text, size_t len, conffile_entry_fn *fn, void *arg,
                    unsigned *bad_line, char *err) WARN_UNUSED;

#endif
