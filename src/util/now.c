/* now.c - monotonic and wall clocks, and ISO 8601 timestamps. */
#include "util/now.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

uint64_t now_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

uint64_t now_mono_ms(void)
{
	return now_mono_ns() / NS_PER_MS;
}

int64_t now_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * MS_PER_SEC + ts.tv_nsec / NS_PER_MS;
}

int64_t now_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

const char *now_format_iso8601(int64_t wall_ms, char buf[NOW_ISO8601_LEN])
{
	time_t sec = (time_t)(wall_ms / MS_PER_SEC);
	int ms = (int)(wall_ms % MS_PER_SEC);
	struct tm tm;

	if (ms < 0) {
		ms += MS_PER_SEC;
		sec -= 1;
	}
	gmtime_r(&sec, &tm);
	snprintf(buf, NOW_ISO8601_LEN, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
	return buf;
}

/* Reads exactly n decimal digits. */
static bool read_digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static bool expect(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

static int days_in_month(int year, int month)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : days[month - 1];
}

bool now_parse_iso8601(const char *s, int64_t *wall_ms)
{
	const char *p = s;
	int year, mon, day, hour, min, sec, ms = 0, off = 0;
	struct tm tm;

	if (!read_digits(&p, 4, &year) || !expect(&p, '-') || !read_digits(&p, 2, &mon) ||
	    !expect(&p, '-') || !read_digits(&p, 2, &day) ||
	    !(expect(&p, 'T') || expect(&p, ' ')) || !read_digits(&p, 2, &hour) ||
	    !expect(&p, ':') || !read_digits(&p, 2, &min) || !expect(&p, ':') ||
	    !read_digits(&p, 2, &sec))
		return false;
	if (mon < 1 || mon > 12 || day < 1 || day > days_in_month(year, mon) || hour > 23 ||
	    min > 59 || sec > 60)
		return false;
	if (expect(&p, '.')) {
		int digits = 0;

		while (isdigit((unsigned char)*p)) {
			if (digits < 3)
				ms = ms * 10 + (*p - '0');
			digits++;
			p++;
		}
		if (digits == 0 || digits > 9)
			return false;
		for (; digits < 3; digits++)
			ms *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1, oh, om;

		p++;
		if (!read_digits(&p, 2, &oh) || !expect(&p, ':') || !read_digits(&p, 2, &om) ||
		    oh > 23 || om > 59)
			return false;
		off = sign * (oh * 3600 + om * 60);
	}
	if (*p != '\0')
		return false;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	*wall_ms = ((int64_t)timegm(&tm) - off) * MS_PER_SEC + ms;
	return true;
}
