/* num.h - decimal numbers from flags, environment, config lines: strict, range-checked. */
#ifndef LANRAGE_UTIL_NUM_H
#define LANRAGE_UTIL_NUM_H

#include <stdbool.h>
#include <stdint.h>

#include "util/compiler.h"

/*
 * Digits only (no sign, space or trailing text), within [min, max], without
 * overflow.  `-1' for an unsigned value, `12abc', `' and `1e3' are refused.
 */
bool num_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out) WARN_UNUSED;
/* As num_parse_u64, with an optional leading '-'. */
bool num_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out) WARN_UNUSED;
/*
 * A duration for flags: a number (fractions allowed) with ms, s, m or h, or
 * bare seconds ("250ms", "1.5s", "5m", "30"); at most 10^9 units.  0 is a
 * duration; callers that need more say so.
 */
bool num_parse_duration_ms(const char *s, uint64_t *out_ms) WARN_UNUSED;

#endif
