/* compiler.h - attributes and small macros shared by every module. */
#ifndef LANRAGE_UTIL_COMPILER_H
#define LANRAGE_UTIL_COMPILER_H

#define WARN_UNUSED        __attribute__((warn_unused_result))
#define PRINTF_FMT(fi, ai) __attribute__((format(printf, fi, ai)))
#define ARRAY_SIZE(a)      (sizeof(a) / sizeof((a)[0]))
#define likely(x)          __builtin_expect(!!(x), 1)
#define unlikely(x)        __builtin_expect(!!(x), 0)

#endif
