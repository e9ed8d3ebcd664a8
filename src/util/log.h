/* log.h - leveled, timestamped log lines on stderr. */
#ifndef LANRAGE_UTIL_LOG_H
#define LANRAGE_UTIL_LOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/compiler.h"

/*
 * Three levels.  Every line names the object it is about (interface, peer id,
 * party id) and never a key: callers pass public identifiers only, and the key
 * module offers no formatting of private keys for logs.
 */
enum log_level { LL_ERROR, LL_INFO, LL_DEBUG };

/* Names the program in every line ("lanraged"); the pointer must stay valid. */
void log_init(const char *program);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* "error", "info", "debug" (case-insensitive). */
bool log_level_parse(const char *s, enum log_level *out) WARN_UNUSED;
/* Where lines go (default 2, stderr); tests capture with a pipe. */
void log_set_fd(int fd);

void log_msg(enum log_level level, const char *fmt, ...) PRINTF_FMT(2, 3);

#define log_error(...) log_msg(LL_ERROR, __VA_ARGS__)
#define log_info(...)  log_msg(LL_INFO, __VA_ARGS__)
#define log_debug(...)                                                                             \
	do {                                                                                       \
		if (log_get_level() >= LL_DEBUG)                                                   \
			log_msg(LL_DEBUG, __VA_ARGS__);                                            \
	} while (0)

/*
 * A per-call-site budget for messages that untrusted traffic can trigger (the
 * data path): at most LOG_RATELIMIT_BURST lines per LOG_RATELIMIT_SEC window.
 */
enum { LOG_RATELIMIT_BURST = 10, LOG_RATELIMIT_SEC = 5 };
struct log_ratelimit {
	_Atomic uint64_t window;
	_Atomic uint32_t count;
};
bool log_ratelimit_allow(struct log_ratelimit *rl);

#define log_ratelimited(level, ...)                                                                \
	do {                                                                                       \
		static struct log_ratelimit rl_;                                                   \
		if (log_get_level() >= (level) && log_ratelimit_allow(&rl_))                       \
			log_msg((level), __VA_ARGS__);                                             \
	} while (0)

#endif
