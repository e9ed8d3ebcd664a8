/* tun_pipe.c - a TUN fake over a SOCK_SEQPACKET socketpair, for tests without root. */
#include "tun/tun.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static ssize_t pipe_read(struct tun *tun, int queue, void *buf, size_t len)
{
	ssize_t n = recv(tun->fds[queue], buf, len, MSG_DONTWAIT);

	if (n == 0)
		return -EBADFD; /* the far end closed: the "interface" is gone */
	return n < 0 ? -errno : n;
}

static ssize_t pipe_writev(struct tun *tun, int queue, const struct iovec *iov, int n)
{
	struct msghdr msg = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n };
	ssize_t w = sendmsg(tun->fds[queue], &msg, MSG_DONTWAIT | MSG_NOSIGNAL);

	return w < 0 ? -errno : w;
}

static void pipe_destroy(struct tun *tun)
{
	close(tun->fds[0]);
	if (tun->peer_fd >= 0)
		close(tun->peer_fd);
	free(tun);
}

static const struct tun_ops pipe_ops = {
	.read = pipe_read,
	.writev = pipe_writev,
	.destroy = pipe_destroy,
};

int tun_pipe_create(struct tun **out, const char *name, int mtu)
{
	struct tun *tun = calloc(1, sizeof(*tun));
	int fds[2];

	if (!tun)
		return -ENOMEM;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0) {
		int ret = -errno;

		free(tun);
		return ret;
	}
	tun->ops = &pipe_ops;
	tun->fds[0] = fds[0];
	tun->n_queues = 1;
	tun->peer_fd = fds[1];
	tun->mtu = mtu;
	snprintf(tun->name, sizeof(tun->name), "%s", name);
	*out = tun;
	return 0;
}
