/* log.c - leveled, timestamped log lines on stderr. */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <unistd.h>

#include "util/now.h"

static const char *log_program = "lanrage";
static _Atomic int log_level = LL_INFO;
static _Atomic int log_fd = 2;

static const char *const level_names[] = {
	[LL_ERROR] = "error",
	[LL_INFO] = "info",
	[LL_DEBUG] = "debug",
};

void log_init(const char *program)
{
	log_program = program;
}

void log_set_level(enum log_level level)
{
	atomic_store(&log_level, (int)level);
}

enum log_level log_get_level(void)
{
	return (enum log_level)atomic_load_explicit(&log_level, memory_order_relaxed);
}

bool log_level_parse(const char *s, enum log_level *out)
{
	for (int i = LL_ERROR; i <= LL_DEBUG; i++) {
		if (strcasecmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return true;
		}
	}
	return false;
}

void log_set_fd(int fd)
{
	atomic_store(&log_fd, fd);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[1024], ts[NOW_ISO8601_LEN];
	va_list ap;
	int n, m;

	if ((int)level > atomic_load_explicit(&log_level, memory_order_relaxed))
		return;
	n = snprintf(line, sizeof(line), "%s %s[%d] %s: ", now_format_iso8601(now_wall_ms(), ts),
	             log_program, (int)getpid(), level_names[level]);
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m;
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* One write per line, so lines from several threads never interleave. */
	if (write(atomic_load(&log_fd), line, (size_t)n) < 0)
		return;
}

bool log_ratelimit_allow(struct log_ratelimit *rl)
{
	uint64_t window = now_mono_ms() / (LOG_RATELIMIT_SEC * MS_PER_SEC) + 1;

	if (atomic_load_explicit(&rl->window, memory_order_relaxed) != window) {
		atomic_store_explicit(&rl->window, window, memory_order_relaxed);
		atomic_store_explicit(&rl->count, 0, memory_order_relaxed);
	}
	return atomic_fetch_add_explicit(&rl->count, 1, memory_order_relaxed) < LOG_RATELIMIT_BURST;
}
