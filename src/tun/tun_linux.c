/* tun_linux.c - the Linux TUN device (/dev/net/tun). */
#include "tun/tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "tun/iface.h"

static ssize_t linux_read(struct tun *tun, int queue, void *buf, size_t len)
{
	ssize_t n = read(tun->fds[queue], buf, len);

	return n < 0 ? -errno : n;
}

static ssize_t linux_write(struct tun *tun, int queue, const void *buf, size_t len)
{
	ssize_t n = write(tun->fds[queue], buf, len);

	return n < 0 ? -errno : n;
}

static void linux_destroy(struct tun *tun)
{
	for (int i = 0; i < tun->n_queues; i++)
		close(tun->fds[i]);
	free(tun);
}

static const struct tun_ops linux_ops = {
	.read = linux_read,
	.write = linux_write,
	.destroy = linux_destroy,
};

/* Opens one queue of the interface; the fd, or -errno. */
static int open_queue(const char *name, bool multi, char actual[IF_NAMESIZE])
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK), ret;

	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (multi ? IFF_MULTI_QUEUE : 0);
	strcpy(ifr.ifr_name, name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	memcpy(actual, ifr.ifr_name, IF_NAMESIZE);
	return fd;
}

int tun_linux_create(struct tun **out, const char *name, int n_queues)
{
	struct tun *tun;
	int ret;

	if (strlen(name) >= IF_NAMESIZE || strchr(name, '/') || n_queues < 1 ||
	    n_queues > TUN_MAX_QUEUES)
		return -EINVAL;
	tun = calloc(1, sizeof(*tun));
	if (!tun)
		return -ENOMEM;
	tun->ops = &linux_ops;
	tun->peer_fd = -1;
	for (int i = 0; i < n_queues; i++) {
		/* The first queue fixes the name (a pattern like "wg%d" is filled in). */
		ret = open_queue(i ? tun->name : name, n_queues > 1, tun->name);
		if (ret < 0)
			goto err;
		tun->fds[tun->n_queues++] = ret;
	}
	ret = iface_get_mtu(tun->name, &tun->mtu);
	if (ret < 0)
		goto err;
	*out = tun;
	return 0;
err:
	linux_destroy(tun);
	return ret;
}
