/* worker.c - the packet workers: both directions, run to completion, spin before sleep. */
#include "wg/worker.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include "util/log.h"
#include "util/now.h"
#include "wg/receive.h"
#include "wg/send.h"

static void *worker_main(void *arg)
{
	struct wg_worker *w = arg;
	struct wg_device *dev = w->dev;
	struct worker_io io = { .w = w };
	struct pollfd pfd[3] = { { .fd = dev->tun->fds[w->id], .events = POLLIN },
		                 { .fd = dev->udp[w->id].fd, .events = POLLIN },
		                 { .fd = dev->wake_fd, .events = POLLIN } };
	uint64_t spin_ns = (uint64_t)dev->config.spin_us * 1000, active_ns = 0;

	/* Without CAP_SYS_NICE this fails, and the worker runs at the normal priority. */
	if (dev->config.worker_nice &&
	    setpriority(PRIO_PROCESS, (id_t)gettid(), dev->config.worker_nice) < 0)
		log_debug("%s: worker %d keeps normal priority: %s", dev->tun->name, w->id,
		          strerror(errno));
	if (!send_io_init(&io) || !receive_io_init(&io)) {
		log_error("%s: out of memory for worker %d", dev->tun->name, w->id);
		goto out;
	}
	while (!atomic_load(&dev->stopping)) {
		uint64_t now_ns;
		int rx, tx;

		grace_online(&dev->grace, w->id);
		now_ns = now_mono_ns();
		rx = receive_from_udp(&io, now_ns);
		tx = send_from_tun(&io, now_ns);
		if (tx < 0)
			break; /* the interface is gone */
		if (rx || tx) {
			active_ns = now_ns;
			continue;
		}
		/*
		 * More traffic is likely soon (a reply, the next game tick): poll a while
		 * before sleeping, since waking a sleeping thread costs tens of
		 * microseconds.  Yielding lets any other runnable thread have the CPU.
		 */
		if (now_ns - active_ns < spin_ns) {
			sched_yield();
			continue;
		}
		grace_offline(&dev->grace, w->id);
		poll(pfd, 3, -1);
		active_ns = now_mono_ns();
	}
out:
	grace_offline(&dev->grace, w->id);
	send_io_clear(&io);
	receive_io_clear(&io);
	return NULL;
}

int workers_start(struct wg_device *dev)
{
	atomic_store(&dev->stopping, false);
	for (int i = 0; i < dev->n_workers; i++) {
		struct wg_worker *w = &dev->workers[i];
		int ret;

		w->dev = dev;
		w->id = i;
		ret = pthread_create(&w->thread, NULL, worker_main, w);
		if (ret) {
			atomic_store(&dev->stopping, true);
			eventfd_write(dev->wake_fd, 1);
			while (i-- > 0)
				pthread_join(dev->workers[i].thread, NULL);
			return -ret;
		}
	}
	dev->workers_running = true;
	return 0;
}

void workers_stop(struct wg_device *dev)
{
	eventfd_t drained;

	if (!dev->workers_running)
		return;
	atomic_store(&dev->stopping, true);
	eventfd_write(dev->wake_fd, 1);
	for (int i = 0; i < dev->n_workers; i++)
		pthread_join(dev->workers[i].thread, NULL);
	eventfd_read(dev->wake_fd, &drained);
	dev->workers_running = false;
}
