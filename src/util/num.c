/* num.c - decimal numbers from flags, environment, config lines: strict, range-checked. */
#include "util/num.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The magnitude of a run of digits; false if empty, not digits, or above limit. */
static bool digits(const char *s, uint64_t limit, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return false;
	for (; *s; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (d > 9 || v > (limit - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

bool num_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v;

	if (!digits(s, max, &v) || v < min)
		return false;
	*out = v;
	return true;
}

bool num_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	bool neg = s && *s == '-';
	uint64_t mag;
	int64_t v;

	if (neg) {
		/* The magnitude of INT64_MIN is one more than INT64_MAX. */
		if (!digits(s + 1, (uint64_t)INT64_MAX + 1, &mag))
			return false;
		v = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
	} else {
		if (!digits(s, INT64_MAX, &mag))
			return false;
		v = (int64_t)mag;
	}
	if (v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool num_parse_duration_ms(const char *s, uint64_t *out_ms)
{
	static const struct {
		const char *unit;
		double ms;
	} units[] = { { "ms", 1 }, { "s", 1000 }, { "", 1000 }, { "m", 60000 }, { "h", 3600000 } };
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	/* Plain decimals only: no sign, space, exponent, hex or NaN. */
	if (errno || end == s || strspn(s, "0123456789.") != (size_t)(end - s) || v > 1e9)
		return false;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit) == 0) {
			*out_ms = (uint64_t)(v * units[i].ms);
			return true;
		}
	}
	return false;
}
