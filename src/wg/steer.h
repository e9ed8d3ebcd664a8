/* steer.h - which worker a packet goes to: CPU-local steering, the priority lane, pinning. */
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
 * packets are spread by flow and the workers may run anywhere again.
 *
 * The priority lane.  A packet beside a transfer, or on a machine whose
 * cores a game keeps busy, waits for a worker that the scheduler has put
 * behind other threads: a time slice, milliseconds.  So small packets other
 * than TCP (pings, a game's updates, voice: STEER_PRIO_MAX_IP bytes of IP at
 * most) go to a second set of workers, one per CPU set of the first, pinned
 * there, that run at a real-time priority and never poll: woken by the
 * packet, they take the CPU at once from whatever runs, as the kernel's own
 * network processing would.  Their sockets mark what they send with DSCP
 * EF (expedited forwarding, which home routers and Wi-Fi also serve first),
 * and the receiving end's lane takes small data messages so marked
 * (STEER_PRIO_MAX_DGRAM), also inside a relay's data frame (the relay keeps
 * the mark): the receiver cannot see inside a message, and a
 * TCP download's ACKs, as small, would bring the sender's TCP work into the
 * lane with them (the ACK's arrival makes TCP send, in the context of the
 * thread that wrote it).  Bulk cannot use the lane to starve the machine: TCP
 * never enters it, and a priority worker that uses more than a share of a
 * CPU closes the lane for a while (worker.c).  With the lane the device has
 * 2n queues and sockets: bulk workers 0..n-1, priority workers n..2n-1.
 */
enum { STEER_PRIO_MAX_IP = 512, STEER_PRIO_MAX_DGRAM = 32 + STEER_PRIO_MAX_IP };
enum { STEER_PRIO_DSCP = 46 }; /* EF */

/* Which program: or-ed flags. */
enum { STEER_LOCAL = 1, STEER_PRIO = 2 };

struct steer {
	int prog_fd[4]; /* the TUN's programs, by flags; -1 for none */
	int n;          /* bulk workers */
	int n_prio;     /* priority workers: 0 or n */
	bool local;     /* CPU-local steering possible */
	cpu_set_t any;
	cpu_set_t own[TUN_MAX_QUEUES]; /* by bulk worker; priority worker n + i has own[i] */
};

/*
 * Sets s up for the n_queues workers of a device, with the priority lane
 * (half of them) when prio and CPU-local steering when local, as far as
 * this machine allows: false when neither is possible, with the reasons in
 * why (STEER_WHY_LEN), s then steering nothing (s->n = n_queues, s->n_prio = 0,
 * s->local false).  When true, why may still say what was not possible.
 */
enum { STEER_WHY_LEN = 240 };
bool steer_init(struct steer *s, int n_queues, bool local, bool prio, char *why);

/* Splits the CPUs in any among n workers, c to c % n: the worker that a CPU's packets go to.
 * -1 when one of them gets none (two workers on CPUs 0 and 2); else 0. */
int steer_partition(const cpu_set_t *any, int n, cpu_set_t own[]);
void steer_clear(struct steer *s);

/*
 * Puts the programs for flags on a TUN queue and on a socket of the group (each
 * applies to the whole device or group); 0 or -errno.  Without a priority lane,
 * flags 0 takes them off: the kernel spreads flows itself.
 */
int steer_tun(const struct steer *s, int tun_fd, int flags);
int steer_udp(const struct steer *s, int sock_fd, int flags);

/* Confines bulk worker id (thread tid) to its own CPUs (local) or lets it run on any; a
 * priority worker is always confined.  0 or -errno. */
int steer_pin(const struct steer *s, pid_t tid, int id, bool local);

#endif
