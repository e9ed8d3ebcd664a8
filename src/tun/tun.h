/* tun.h - a layer-3 virtual interface: packets in and out, behind a small ops table. */
#ifndef LANRAGE_TUN_TUN_H
#define LANRAGE_TUN_TUN_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "util/compiler.h"

struct tun;

/*
 * Reads and writes move one IP packet each, on one of the interface's queues,
 * and never block: read returns -EAGAIN when nothing is waiting (poll on
 * fds[queue]), and -EBADFD/-EIO once the interface is gone.  Several queues
 * let several workers move packets in parallel; the kernel keeps each flow on
 * one queue.  Implementations: the Linux TUN device, and a socketpair fake
 * (one queue) for tests that need no root.
 */
enum { TUN_MAX_QUEUES = 16 };

struct tun_ops {
	ssize_t (*read)(struct tun *tun, int queue, void *buf, size_t len);
	ssize_t (*writev)(struct tun *tun, int queue, const struct iovec *iov, int n);
	void (*destroy)(struct tun *tun);
};

struct tun {
	const struct tun_ops *ops;
	char name[IF_NAMESIZE];
	int fds[TUN_MAX_QUEUES]; /* pollable for reading */
	int n_queues;
	int peer_fd; /* the fake's other end (-1 for a real device) */
	int mtu;
	/*
	 * With vnet headers every packet read or written starts with a struct
	 * vnet_hdr (tun/vnet.h), and reads may return TCP (tso) or UDP (uso)
	 * super-packets of up to 64 KiB with checksums to complete (tun/gso.h).
	 */
	bool vnet;
	bool tso;
	bool uso;
};

static inline ssize_t tun_read(struct tun *tun, int queue, void *buf, size_t len)
{
	return tun->ops->read(tun, queue, buf, len);
}

static inline ssize_t tun_writev(struct tun *tun, int queue, const struct iovec *iov, int n)
{
	return tun->ops->writev(tun, queue, iov, n);
}

static inline void tun_destroy(struct tun *tun)
{
	if (tun)
		tun->ops->destroy(tun);
}

/*
 * Creates (or attaches to) the Linux TUN interface name with n_queues queues,
 * with vnet headers and as many offloads as the kernel grants when offload is
 * set; 0 or -errno.
 */
int tun_linux_create(struct tun **out, const char *name, int n_queues, bool offload) WARN_UNUSED;
/* A fake: packets written to the far end (peer_fd) come out of read, and back. */
int tun_pipe_create(struct tun **out, const char *name, int mtu) WARN_UNUSED;

#endif
