/* tun_linux.c - the Linux TUN device (/dev/net/tun). */
#include "tun/tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "tun/iface.h"
#include "tun/vnet.h"

static ssize_t linux_read(struct tun *tun, int queue, void *buf, size_t len)
{
	ssize_t n = read(tun->fds[queue], buf, len);

	return n < 0 ? -errno : n;
}

static ssize_t linux_writev(struct tun *tun, int queue, const struct iovec *iov, int n)
{
	ssize_t w = writev(tun->fds[queue], iov, n);

	return w < 0 ? -errno : w;
}

static void linux_destroy(struct tun *tun)
{
	for (int i = 0; i < tun->n_queues; i++)
		close(tun->fds[i]);
	free(tun);
}

static const struct tun_ops linux_ops = {
	.read = linux_read,
	.writev = linux_writev,
	.destroy = linux_destroy,
};

/* Opens one queue of the interface; the fd, or -errno. */
static int open_queue(const char *name, bool multi, bool vnet, char actual[IF_NAMESIZE])
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK), ret;

	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags =
	    IFF_TUN | IFF_NO_PI | (multi ? IFF_MULTI_QUEUE : 0) | (vnet ? IFF_VNET_HDR : 0);
	strcpy(ifr.ifr_name, name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	memcpy(actual, ifr.ifr_name, IF_NAMESIZE);
	return fd;
}

/*
 * Asks for checksum, TCP and UDP segmentation offloads, then without UDP
 * (before Linux 6.2), then checksum only.  Offloads apply to the device, so
 * the first queue's answer holds for all.
 */
static void negotiate_offloads(struct tun *tun)
{
	static const struct {
		unsigned flags;
		bool tso, uso;
	} tries[] = {
		{ TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_USO4 | TUN_F_USO6, true, true },
		{ TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6, true, false },
		{ TUN_F_CSUM, false, false },
	};
	int hdr_len = VNET_HDR_LEN;

	if (ioctl(tun->fds[0], TUNSETVNETHDRSZ, &hdr_len) < 0)
		return;
	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		if (ioctl(tun->fds[0], TUNSETOFFLOAD, tries[i].flags) == 0) {
			tun->tso = tries[i].tso;
			tun->uso = tries[i].uso;
			return;
		}
	}
}

int tun_linux_create(struct tun **out, const char *name, int n_queues, bool offload)
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
		ret = open_queue(i ? tun->name : name, n_queues > 1, offload, tun->name);
		if (ret < 0)
			goto err;
		tun->fds[tun->n_queues++] = ret;
	}
	tun->vnet = offload;
	if (offload)
		negotiate_offloads(tun);
	ret = iface_get_mtu(tun->name, &tun->mtu);
	if (ret < 0)
		goto err;
	*out = tun;
	return 0;
err:
	linux_destroy(tun);
	return ret;
}
