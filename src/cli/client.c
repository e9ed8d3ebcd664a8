/* client.c - a small blocking HTTP/1.1 client for lanraged's local API, with deadlines. */
#include "cli/client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crypto/secret.h"
#include "daemon/config.h"
#include "util/err.h"
#include "util/now.h"
#include "util/num.h"

void client_init(struct client *c)
{
	char dir[PATH_MAX - 16];
	bool ok;

	memset(c, 0, sizeof(*c));
	ok = addr_parse(&c->api, "127.0.0.1:8666", NULL);
	(void)ok;
	config_default_state_dir(dir, sizeof(dir));
	snprintf(c->token_path, sizeof(c->token_path), "%s/api.token", dir);
}

void client_clear(struct client *c)
{
	secret_zero(c->token, sizeof(c->token));
	free(c->raw);
	c->raw = NULL;
}

int client_options(struct client *c, int *argc, char **argv)
{
	int out = 1;

	for (int i = 1; i < *argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			/* What follows is arguments, even if it looks like an option. */
			while (++i < *argc)
				argv[out++] = argv[i];
			break;
		}
		if (strcmp(a, "--json") == 0) {
			c->json = true;
			continue;
		}
		if (strcmp(a, "--api") == 0 || strcmp(a, "--token-file") == 0) {
			if (i + 1 >= *argc) {
				fprintf(stderr, "lanrage: %s needs a value\n", a);
				return EXIT_USAGE;
			}
			if (a[2] == 'a' && !addr_parse(&c->api, argv[i + 1], NULL)) {
				fprintf(
				    stderr,
				    "lanrage: Unable to parse endpoint: `%s' (expected ADDR:PORT, "
				    "like 127.0.0.1:8666)\n",
				    argv[i + 1]);
				return EXIT_USAGE;
			}
			if (a[2] == 't' && snprintf(c->token_path, sizeof(c->token_path), "%s",
			                            argv[i + 1]) >= (int)sizeof(c->token_path)) {
				fprintf(stderr, "lanrage: --token-file: path too long\n");
				return EXIT_USAGE;
			}
			i++;
			continue;
		}
		argv[out++] = argv[i];
	}
	*argc = out;
	argv[out] = NULL;
	return EXIT_OK;
}

/* Milliseconds left until deadline (monotonic ms), at least 0. */
static int left_ms(uint64_t deadline)
{
	uint64_t now = now_mono_ms();

	return now >= deadline ? 0 : (int)(deadline - now);
}

static int wait_fd(int fd, short events, uint64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n;

	do {
		n = poll(&p, 1, left_ms(deadline));
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == 0 ? -ETIMEDOUT : 0;
}

static int connect_to(const struct addr *a, uint64_t deadline)
{
	int fd = socket(a->sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	socklen_t len = sizeof(int);
	int ret, soerr = 0;

	if (fd < 0)
		return -errno;
	if (connect(fd, &a->sa, addr_len(a)) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		ret = -errno;
		goto err;
	}
	ret = wait_fd(fd, POLLOUT, deadline);
	if (ret < 0)
		goto err;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0 || soerr) {
		ret = soerr ? -soerr : -errno;
		goto err;
	}
	return fd;
err:
	close(fd);
	return ret;
}

static int send_all(int fd, const char *p, size_t len, uint64_t deadline)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			int ret = wait_fd(fd, POLLOUT, deadline);

			if (ret < 0)
				return ret;
			continue;
		}
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads until the server closes (we ask for Connection: close). */
static int recv_all(int fd, char **out, size_t *outlen, uint64_t deadline)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	int ret;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len + 1 == cap) {
			char *bigger = cap >= CLIENT_REPLY_MAX ? NULL : realloc(buf, cap * 2);

			if (!bigger) {
				ret = -EFBIG;
				goto err;
			}
			buf = bigger;
			cap *= 2;
		}
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n > 0) {
			len += (size_t)n;
			continue;
		}
		if (n == 0)
			break;
		if (errno != EAGAIN && errno != EINTR) {
			ret = -errno;
			goto err;
		}
		ret = wait_fd(fd, POLLIN, deadline);
		if (ret < 0)
			goto err;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
err:
	free(buf);
	return ret;
}

bool client_parse_response(char *resp, size_t len, int *status, char **body)
{
	char *end = strstr(resp, "\r\n\r\n");
	uint64_t code;
	char digits[4];

	if (len < 12 || strncmp(resp, "HTTP/1.", 7) != 0 || resp[8] != ' ' || !end)
		return false;
	memcpy(digits, resp + 9, 3);
	digits[3] = '\0';
	if (!num_parse_u64(digits, 100, 599, &code))
		return false;
	*status = (int)code;
	*body = end + 4;
	return true;
}

static int unreachable(const struct client *c, const char *why)
{
	char buf[ADDR_STRLEN];

	fprintf(stderr, "lanrage: cannot reach lanraged at %s: %s (is lanraged running?)\n",
	        addr_format(&c->api, buf), why);
	return EXIT_UNREACHABLE;
}

static int load_token(struct client *c)
{
	errmsg err;
	int ret;

	if (c->token[0])
		return EXIT_OK;
	ret = api_token_read(c->token_path, c->token, err);
	if (ret == 0)
		return EXIT_OK;
	fprintf(stderr, "lanrage: cannot read the API token: %s\n", err);
	if (ret == -ENOENT)
		fprintf(stderr, "lanrage: lanraged writes it when it starts; is lanraged running "
		                "with this state directory?  Or pass --token-file PATH.\n");
	else if (ret == -EACCES || ret == -EPERM)
		fprintf(stderr,
		        "lanrage: run as the user lanraged runs as (root: sudo lanrage ...), "
		        "or pass --token-file PATH.\n");
	return EXIT_TOKEN;
}

/* Prints the daemon's {"error"} (or the raw body) for a non-2xx answer. */
static int refused(const struct client *c, int status, const json_t *reply)
{
	const char *msg = json_string_value(json_object_get(reply, "error"));

	if (c->json && c->raw)
		fputs(c->raw, stdout);
	if (status == 401)
		fprintf(stderr, "lanrage: lanraged refused the token in %s (%s)\n", c->token_path,
		        msg ? msg : "401");
	else
		fprintf(stderr, "lanrage: %s (HTTP %d)\n", msg ? msg : "lanraged refused", status);
	return EXIT_REFUSED;
}

int client_call(struct client *c, const char *method, const char *path, const json_t *body,
                int timeout_ms, json_t **reply)
{
	uint64_t deadline = now_mono_ms() + (uint64_t)timeout_ms;
	char host[ADDR_STRLEN], *req = NULL, *text = NULL, *resp = NULL, *rbody;
	size_t rlen = 0, reqlen;
	int fd, ret, status, n;

	*reply = NULL;
	free(c->raw);
	c->raw = NULL;
	ret = load_token(c);
	if (ret != EXIT_OK)
		return ret;
	text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	addr_format(&c->api, host);
	n = asprintf(&req,
	             "%s %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
	             "User-Agent: lanrage/%s\r\nAccept: application/json\r\n"
	             "Connection: close\r\n%sContent-Length: %zu\r\n\r\n%s",
	             method, path, host, c->token, LANRAGE_VERSION,
	             text ? "Content-Type: application/json\r\n" : "",
	             text ? strlen(text) : (size_t)0, text ? text : "");
	free(text);
	if (n < 0) {
		fprintf(stderr, "lanrage: out of memory\n");
		return EXIT_REFUSED;
	}
	reqlen = (size_t)n;
	fd = connect_to(&c->api, deadline);
	if (fd < 0) {
		ret = unreachable(c, fd == -ETIMEDOUT ? "no answer" : strerror(-fd));
		goto out;
	}
	ret = send_all(fd, req, reqlen, deadline);
	if (ret == 0)
		ret = recv_all(fd, &resp, &rlen, deadline);
	close(fd);
	if (ret == -ETIMEDOUT) {
		char why[64];

		snprintf(why, sizeof(why), "no answer within %d s", timeout_ms / 1000);
		ret = unreachable(c, why);
		goto out;
	}
	if (ret < 0) {
		ret = unreachable(c, strerror(-ret));
		goto out;
	}
	if (!client_parse_response(resp, rlen, &status, &rbody)) {
		ret = unreachable(c, "the answer is not HTTP (is something else on that port?)");
		goto out;
	}
	c->raw = strdup(rbody);
	*reply = json_loads(rbody, 0, NULL);
	if (status < 200 || status > 299) {
		ret = refused(c, status, *reply);
		json_decref(*reply);
		*reply = NULL;
		goto out;
	}
	if (!*reply || !c->raw) {
		fprintf(stderr, "lanrage: lanraged's answer is not JSON\n");
		json_decref(*reply);
		*reply = NULL;
		ret = EXIT_REFUSED;
		goto out;
	}
	ret = EXIT_OK;
out:
	secret_zero(req, reqlen);
	free(req);
	free(resp);
	return ret;
}

bool client_print_raw(const struct client *c)
{
	if (!c->json)
		return false;
	fputs(c->raw ? c->raw : "{}\n", stdout);
	return true;
}
