/* api_token.c - the local API's bearer token file and header check. */
#include "daemon/api_token.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/rand.h"
#include "crypto/secret.h"
#include "util/err.h"
#include "util/file.h"

static bool token_valid(const char *s)
{
	return strlen(s) == API_TOKEN_HEX && strspn(s, "0123456789abcdef") == API_TOKEN_HEX;
}

/* Reads path into out; private: refuse group/other permissions. */
static int read_token(const char *path, char out[API_TOKEN_HEX + 1], bool private, char *err)
{
	char buf[API_TOKEN_HEX + 64];
	struct stat st;
	size_t len = 0;
	ssize_t n;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		ret = -errno;
		err_set(err, "token file %s: %s", path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		err_set(err, "token file %s: not a regular file", path);
		goto out;
	}
	if (private && (st.st_mode & (S_IRWXG | S_IRWXO))) {
		ret = -EACCES;
		err_set(err, "token file %s: permissions %04o are too open (run: chmod 600 %s)",
		        path, (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			err_set(err, "token file %s: %s", path, strerror(errno));
			goto out;
		}
		len += (size_t)n;
	}
	while (len > 0 && isspace((unsigned char)buf[len - 1]))
		len--;
	buf[len] = '\0';
	if (!token_valid(buf)) {
		ret = -EINVAL;
		err_set(err, "token file %s: does not hold a token (64 hex digits)%s", path,
		        private ? "; delete it and lanraged makes a new one" : "");
		goto out;
	}
	memcpy(out, buf, API_TOKEN_HEX + 1);
out:
	secret_zero(buf, sizeof(buf));
	close(fd);
	return ret;
}

int api_token_load_or_create(const char *path, char out[API_TOKEN_HEX + 1], char *err)
{
	uint8_t raw[API_TOKEN_BYTES];
	char text[API_TOKEN_HEX + 2];
	int ret = read_token(path, out, true, err);

	if (ret != -ENOENT)
		return ret;
	rand_bytes(raw, sizeof(raw));
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(text + 2 * i, 3, "%02x", raw[i]);
	text[API_TOKEN_HEX] = '\n';
	text[API_TOKEN_HEX + 1] = '\0';
	ret = file_write_atomic(path, text, API_TOKEN_HEX + 1, 0600);
	if (ret < 0) {
		err_set(err, "token file %s cannot be written: %s", path, strerror(-ret));
	} else {
		memcpy(out, text, API_TOKEN_HEX);
		out[API_TOKEN_HEX] = '\0';
	}
	secret_zero(raw, sizeof(raw));
	secret_zero(text, sizeof(text));
	return ret;
}

int api_token_read(const char *path, char out[API_TOKEN_HEX + 1], char *err)
{
	return read_token(path, out, false, err);
}

bool api_token_check(const char *header, const char token[API_TOKEN_HEX + 1])
{
	if (!header || strncasecmp(header, "Bearer ", 7) != 0)
		return false;
	header += 7;
	while (*header == ' ')
		header++;
	return strlen(header) == API_TOKEN_HEX && secret_equal(header, token, API_TOKEN_HEX);
}
