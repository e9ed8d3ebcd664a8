/* ipc.c - the UAPI unix socket, served on the control thread. */
#include "wg/ipc.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "crypto/secret.h"
#include "util/err.h"
#include "util/file.h"
#include "util/log.h"
#include "wg/uapi.h"

enum { MAX_LINE = 4096, MAX_BUFFERED = 1 << 20 };

struct ipc {
	struct wg_device *dev;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int listen_fd;
	int inotify_fd;
	struct event *accept_ev;
	struct event *inotify_ev;
	void (*on_gone)(void *ctx);
	void *ctx;
};

enum conn_state { WANT_OPERATION, WANT_BLANK_AFTER_GET, WANT_BLANK_AFTER_STATS, IN_SET };

struct conn {
	struct ipc *ipc;
	struct bufferevent *bev;
	enum conn_state state;
	struct uapi_set set;
	bool closing;
};

static void conn_free(struct conn *c)
{
	bufferevent_free(c->bev);
	free(c);
}

static void reply_errno(struct conn *c, int error)
{
	evbuffer_add_printf(bufferevent_get_output(c->bev), "errno=%d\n\n", error);
}

static void reply_get(struct conn *c)
{
	size_t len;
	char *text = uapi_get(c->ipc->dev, &len);

	if (!text) {
		reply_errno(c, -ENOMEM);
		return;
	}
	evbuffer_add(bufferevent_get_output(c->bev), text, len);
	secret_zero(text, len);
	free(text);
	reply_errno(c, 0);
}

static void reply_stats(struct conn *c)
{
	char buf[4096];
	size_t len = wg_device_format_stats(c->ipc->dev, buf, sizeof(buf));

	evbuffer_add(bufferevent_get_output(c->bev), buf, len);
	reply_errno(c, 0);
}

/* Handles one line; false to close the connection after flushing. */
static bool on_line(struct conn *c, const char *line)
{
	switch (c->state) {
	case WANT_OPERATION:
		if (strcmp(line, "get=1") == 0) {
			c->state = WANT_BLANK_AFTER_GET;
		} else if (strcmp(line, "set=1") == 0) {
			uapi_set_begin(&c->set, c->ipc->dev);
			c->state = IN_SET;
		} else if (strcmp(line, "stats=1") == 0) {
			c->state = WANT_BLANK_AFTER_STATS;
		} else {
			log_info("%s: unknown UAPI operation, closing", c->ipc->dev->tun->name);
			return false;
		}
		return true;
	case WANT_BLANK_AFTER_GET:
	case WANT_BLANK_AFTER_STATS:
		if (line[0] != '\0') {
			reply_errno(c, -EINVAL);
			return false;
		}
		if (c->state == WANT_BLANK_AFTER_GET)
			reply_get(c);
		else
			reply_stats(c);
		c->state = WANT_OPERATION;
		return true;
	case IN_SET:
		if (line[0] == '\0') {
			reply_errno(c, uapi_set_end(&c->set));
			c->state = WANT_OPERATION;
		} else {
			uapi_set_line(&c->set, line);
		}
		return true;
	}
	return false;
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;
	size_t len;

	while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF))) {
		bool keep = len < MAX_LINE && on_line(c, line);

		secret_zero(line, len);
		free(line);
		if (!keep) {
			c->closing = true;
			break;
		}
	}
	if (!c->closing && evbuffer_get_length(in) > MAX_LINE)
		c->closing = true;
	if (c->closing) {
		bufferevent_disable(bev, EV_READ);
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			conn_free(c);
	}
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->closing)
		conn_free(c);
}

static void on_conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	if (what & BEV_EVENT_EOF && c->state == IN_SET) {
		/* EOF also ends a set. */
		reply_errno(c, uapi_set_end(&c->set));
		c->state = WANT_OPERATION;
		c->closing = true;
		bufferevent_disable(bev, EV_READ);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		conn_free(c);
}

static void on_accept(evutil_socket_t fd, short what, void *arg)
{
	struct ipc *ipc = arg;
	struct conn *c;
	int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (cfd < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(cfd);
		return;
	}
	c->ipc = ipc;
	c->bev = bufferevent_socket_new(ipc->dev->base, cfd, BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev) {
		close(cfd);
		free(c);
		return;
	}
	bufferevent_setcb(c->bev, on_read, on_write, on_conn_event, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, MAX_BUFFERED);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void on_inotify(evutil_socket_t fd, short what, void *arg)
{
	struct ipc *ipc = arg;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool gone = false;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;

			if (ev->mask & (IN_DELETE_SELF | IN_ATTRIB | IN_IGNORED)) {
				struct stat st;

				gone |= stat(ipc->path, &st) < 0;
			}
			p += sizeof(*ev) + ev->len;
		}
	}
	if (gone && ipc->on_gone) {
		log_info("%s: control socket %s was removed, shutting down", ipc->dev->tun->name,
		         ipc->path);
		ipc->on_gone(ipc->ctx);
	}
}

/* A socket file that no process answers on is stale and may be replaced. */
static bool in_use(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool used;

	if (fd < 0)
		return false;
	used = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	close(fd);
	return used;
}

struct ipc *ipc_create(struct wg_device *dev, const char *dir, void (*on_gone)(void *ctx),
                       void *ctx, char *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ipc *ipc = calloc(1, sizeof(*ipc));
	mode_t old_umask;
	int ret;

	if (!ipc) {
		err_set(err, "out of memory");
		return NULL;
	}
	ipc->dev = dev;
	ipc->on_gone = on_gone;
	ipc->ctx = ctx;
	ipc->inotify_fd = -1;
	if (!dir)
		dir = "/var/run/wireguard";
	if (snprintf(ipc->path, sizeof(ipc->path), "%s/%s.sock", dir, dev->tun->name) >=
	    (int)sizeof(ipc->path)) {
		err_set(err, "socket path too long");
		goto err_ipc;
	}
	ret = file_mkdirs(dir, 0755);
	if (ret < 0) {
		err_set(err, "%s: %s", dir, strerror(-ret));
		goto err_ipc;
	}
	strcpy(sa.sun_path, ipc->path);
	ipc->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (ipc->listen_fd < 0) {
		err_set(err, "socket: %s", strerror(errno));
		goto err_ipc;
	}
	old_umask = umask(077);
	ret = bind(ipc->listen_fd, (struct sockaddr *)&sa, sizeof(sa));
	if (ret < 0 && errno == EADDRINUSE) {
		if (in_use(&sa)) {
			umask(old_umask);
			err_set(err, "%s: in use by another process", ipc->path);
			goto err_fd;
		}
		unlink(ipc->path);
		ret = bind(ipc->listen_fd, (struct sockaddr *)&sa, sizeof(sa));
	}
	umask(old_umask);
	if (ret < 0 || listen(ipc->listen_fd, 16) < 0) {
		err_set(err, "%s: %s", ipc->path, strerror(errno));
		goto err_fd;
	}
	ipc->accept_ev = event_new(dev->base, ipc->listen_fd, EV_READ | EV_PERSIST, on_accept, ipc);
	ipc->inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (!ipc->accept_ev || ipc->inotify_fd < 0 ||
	    inotify_add_watch(ipc->inotify_fd, ipc->path, IN_ATTRIB | IN_DELETE_SELF) < 0) {
		err_set(err, "cannot watch %s", ipc->path);
		goto err_unlink;
	}
	ipc->inotify_ev =
	    event_new(dev->base, ipc->inotify_fd, EV_READ | EV_PERSIST, on_inotify, ipc);
	if (!ipc->inotify_ev || event_add(ipc->accept_ev, NULL) < 0 ||
	    event_add(ipc->inotify_ev, NULL) < 0) {
		err_set(err, "cannot register events");
		goto err_unlink;
	}
	return ipc;

err_unlink:
	unlink(ipc->path);
	if (ipc->accept_ev)
		event_free(ipc->accept_ev);
	if (ipc->inotify_ev)
		event_free(ipc->inotify_ev);
	if (ipc->inotify_fd >= 0)
		close(ipc->inotify_fd);
err_fd:
	close(ipc->listen_fd);
err_ipc:
	free(ipc);
	return NULL;
}

void ipc_destroy(struct ipc *ipc)
{
	if (!ipc)
		return;
	event_free(ipc->inotify_ev);
	event_free(ipc->accept_ev);
	close(ipc->inotify_fd);
	close(ipc->listen_fd);
	unlink(ipc->path);
	free(ipc);
}
