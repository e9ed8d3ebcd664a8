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

#endif
