/* tun_linux.c - the Linux TUN device (/dev/net/tun). */
#include "tun/tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "tun/iface.h"

static ssize_t linux_read(struct tun *tun, void *buf, size_t len)
{
	ssize_t n = read(tun->fd, buf, len);

	return n < 0 ? -errno : n;
}

static ssize_t linux_write(struct tun *tun, const void *buf, size_t len)
{
	ssize_t n = write(tun->fd, buf, len);

	return n < 0 ? -errno : n;
}

static void linux_destroy(struct tun *tun)
{
	close(tun->fd);
	free(tun);
}

static const struct tun_ops linux_ops = {
	.read = linux_read,
	.write = linux_write,
	.destroy = linux_destroy,
};

int tun_linux_create(struct tun **out, const char *name)
{
	struct ifreq ifr;
	struct tun *tun;
	int fd, ret;

	if (strlen(name) >= IF_NAMESIZE || strchr(name, '/'))
		return -EINVAL;
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	strcpy(ifr.ifr_name, name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		ret = -errno;
		goto err_fd;
	}
	tun = calloc(1, sizeof(*tun));
	if (!tun) {
		ret = -ENOMEM;
		goto err_fd;
	}
	tun->ops = &linux_ops;
	tun->fd = fd;
	tun->peer_fd = -1;
	memcpy(tun->name, ifr.ifr_name, IF_NAMESIZE);
	ret = iface_get_mtu(tun->name, &tun->mtu);
	if (ret < 0) {
		free(tun);
		goto err_fd;
	}
	*out = tun;
	return 0;
err_fd:
	close(fd);
	return ret;
}
