/* now.h - monotonic and wall clocks, and ISO 8601 timestamps. */
#ifndef LANRAGE_UTIL_NOW_H
#define LANRAGE_UTIL_NOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/compiler.h"

enum { NS_PER_MS = 1000000, NS_PER_SEC = 1000000000, MS_PER_SEC = 1000 };

/* "2026-11-21T20:00:00.123Z", with room for any int fields gcc can imagine. */
enum { NOW_ISO8601_LEN = 80 };

/* Monotonic time since an arbitrary start; never goes backwards. */
uint64_t now_mono_ns(void);
uint64_t now_mono_ms(void);

/* Wall-clock time since the Unix epoch (for records, not timers). */
int64_t now_wall_ms(void);
int64_t now_wall_ns(void);

/* Formats wall_ms as UTC ISO 8601 with milliseconds; returns buf. */
const char *now_format_iso8601(int64_t wall_ms, char buf[NOW_ISO8601_LEN]);

/*
 * Parses "YYYY-MM-DDTHH:MM:SS[.fraction][Z|+HH:MM|-HH:MM]" (a missing zone is UTC,
 * as Python's isoformat() writes it).  Rejects anything else.
 */
bool now_parse_iso8601(const char *s, int64_t *wall_ms) WARN_UNUSED;

#endif
