/* file.h - whole-file reads and atomic replacement. */
#ifndef LANRAGE_UTIL_FILE_H
#define LANRAGE_UTIL_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include "util/compiler.h"

/*
 * Replaces path with data so that a reader, or a crash at any moment, sees
 * either the old content or the new, never a mix: write a temporary file in
 * the same directory with the given mode, fsync it, rename it over path, fsync
 * the directory.  Returns 0 or -errno.
 */
int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode) WARN_UNUSED;

/*
 * Reads a whole file of at most max bytes into a new NUL-terminated buffer that
 * the caller frees.  Returns 0, -EFBIG when the file is larger than max, or
 * another -errno.
 */
int file_read_all(const char *path, size_t max, char **out, size_t *len) WARN_UNUSED;

/* Creates a directory and its parents with the given mode; 0 or -errno. */
int file_mkdirs(const char *path, mode_t mode) WARN_UNUSED;

#endif
