/* file.c - whole-file reads and atomic replacement. */
#include "util/file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fsync_parent_dir(const char *path)
{
	char copy[PATH_MAX];
	int fd, ret = 0;

	if (strlen(path) >= sizeof(copy))
		return -ENAMETOOLONG;
	strcpy(copy, path);
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char tmp[PATH_MAX];
	int fd, ret;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, mode) < 0) {
		ret = -errno;
		goto err_tmp;
	}
	ret = write_all(fd, data, len);
	if (ret < 0)
		goto err_tmp;
	if (fsync(fd) < 0) {
		ret = -errno;
		goto err_tmp;
	}
	if (close(fd) < 0) {
		fd = -1;
		ret = -errno;
		goto err_tmp;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		ret = -errno;
		goto err_tmp;
	}
	return fsync_parent_dir(path);

err_tmp:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return ret;
}

int file_read_all(const char *path, size_t max, char **out, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf;
	int fd, ret;

	*out = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = malloc(cap);
	if (!buf) {
		ret = -ENOMEM;
		goto err_fd;
	}
	for (;;) {
		ssize_t r;

		if (n + 1 >= cap) {
			char *bigger;

			cap *= 2;
			bigger = realloc(buf, cap);
			if (!bigger) {
				ret = -ENOMEM;
				goto err_buf;
			}
			buf = bigger;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto err_buf;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			ret = -EFBIG;
			goto err_buf;
		}
	}
	close(fd);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;

err_buf:
	free(buf);
err_fd:
	close(fd);
	return ret;
}

int file_mkdirs(const char *path, mode_t mode)
{
	char copy[PATH_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(copy))
		return -ENAMETOOLONG;
	strcpy(copy, path);
	for (char *p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(copy, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}
