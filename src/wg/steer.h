/* steer.h - sparse traffic kept on the CPU it comes from: queue steering and worker pinning. */
#ifndef LANRAGE_WG_STEER_H
#define LANRAGE_WG_STEER_H

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <sys/types.h>

#include "tun/tun.h"

/*
 * Waking a thread on another CPU costs far more than running it where the
 * waker is: the other CPU may be asleep, and on a virtual machine a halted
 * virtual CPU waits for its host (100-250 us here, against a few us for a
 * switch on the same CPU); a laptop's deep idle states cost about as much.
 * A ping through two tunnel ends crosses CPUs up to four times.
 *
 * So while traffic is sparse (a game's ticks, pings), every packet goes to the
 * worker that runs on the CPU it came from: the TUN picks its queue with an
 * eBPF program that returns the sending CPU, the UDP sockets' reuseport group
 * picks its socket with a classic BPF program that returns the receiving CPU,
 * and worker i runs only on the CPUs c with c % n == i (n workers).  Under
 * dense traffic that would put an application and both directions of its
 * transfer on one CPU (TCP at 40 % of what it is spread out), so there the
 * programs come off and the workers may run anywhere again.
 */

struct steer {
	int prog_fd; /* the TUN's program; -1 if none could be loaded */
	int n;       /* workers */
	cpu_set_t any;
	cpu_set_t own[TUN_MAX_QUEUES];
};

/*
 * Sets s up for n workers on the CPUs this process may use.  false when it
 * cannot be (one worker, a worker with no CPU of its own, no eBPF for the
 * TUN), with the reason in why (WHY_LEN); s is then inert.
 */
enum { STEER_WHY_LEN = 160 };
bool steer_init(struct steer *s, int n, char *why);

/* Splits the CPUs in any among n workers, c to c % n: the worker that a CPU's packets go to.
 * -1 when one of them gets none (two workers on CPUs 0 and 2); else 0. */
int steer_partition(const cpu_set_t *any, int n, cpu_set_t own[]);
void steer_clear(struct steer *s);

/* Attaches (local) or detaches the programs on a TUN queue and a socket of the group; 0 or
 * -errno.  Either applies to the whole device or group. */
int steer_tun(const struct steer *s, int tun_fd, bool local);
int steer_udp(const struct steer *s, int sock_fd, bool local);

/* Confines worker id (thread tid) to its own CPUs (local), or lets it run on any; 0 or -errno. */
int steer_pin(const struct steer *s, pid_t tid, int id, bool local);

#endif
