/* steer.c - sparse traffic kept on the CPU it comes from: queue steering and worker pinning. */
#include "wg/steer.h"

#include <errno.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <linux/if_tun.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SO_DETACH_REUSEPORT_BPF
#define SO_DETACH_REUSEPORT_BPF 68 /* Linux 5.8 */
#endif

/* The TUN's program: the queue is the CPU that sends the packet (the TUN takes it modulo n). */
static int load_cpu_program(void)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_get_smp_processor_id },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	char license[] = "GPL";
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	attr.insns = (uint64_t)(uintptr_t)insns;
	attr.insn_cnt = sizeof(insns) / sizeof(insns[0]);
	attr.license = (uint64_t)(uintptr_t)license;
	return (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
}

int steer_partition(const cpu_set_t *any, int n, cpu_set_t own[])
{
	for (int i = 0; i < n; i++)
		CPU_ZERO(&own[i]);
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (CPU_ISSET(c, any))
			CPU_SET(c, &own[c % n]);
	}
	for (int i = 0; i < n; i++) {
		if (CPU_COUNT(&own[i]) == 0)
			return -1;
	}
	return 0;
}

bool steer_init(struct steer *s, int n, char *why)
{
	memset(s, 0, sizeof(*s));
	s->prog_fd = -1;
	s->n = n;
	if (n < 2 || n > TUN_MAX_QUEUES) {
		snprintf(why, STEER_WHY_LEN, n < 2 ? "one worker" : "more workers than TUN queues");
		return false;
	}
	if (sched_getaffinity(0, sizeof(s->any), &s->any) < 0) {
		snprintf(why, STEER_WHY_LEN, "cannot read the CPUs allowed: %s", strerror(errno));
		return false;
	}
	if (steer_partition(&s->any, n, s->own) < 0) {
		snprintf(why, STEER_WHY_LEN, "fewer CPUs of the right numbers than workers");
		return false;
	}
	s->prog_fd = load_cpu_program();
	if (s->prog_fd < 0) {
		snprintf(why, STEER_WHY_LEN, "cannot load the TUN's queue program: %s%s",
		         strerror(errno), errno == EPERM ? " (needs CAP_BPF)" : "");
		return false;
	}
	return true;
}

void steer_clear(struct steer *s)
{
	if (s->prog_fd >= 0)
		close(s->prog_fd);
	s->prog_fd = -1;
}

int steer_tun(const struct steer *s, int tun_fd, bool local)
{
	int fd = local ? s->prog_fd : -1;

	if (local && fd < 0)
		return -EINVAL;
	return ioctl(tun_fd, TUNSETSTEERINGEBPF, &fd) < 0 ? -errno : 0;
}

int steer_udp(const struct steer *s, int sock_fd, bool local)
{
	/* The socket of the CPU that received the datagram (modulo n). */
	struct sock_filter code[] = {
		{ BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)(SKF_AD_OFF + SKF_AD_CPU) },
		{ BPF_ALU | BPF_MOD | BPF_K, 0, 0, (uint32_t)s->n },
		{ BPF_RET | BPF_A, 0, 0, 0 },
	};
	struct sock_fprog prog = { .len = sizeof(code) / sizeof(code[0]), .filter = code };
	int ret, ignored = 0; /* detaching takes an int that the kernel does not read */

	if (local)
		ret =
		    setsockopt(sock_fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog));
	else
		ret = setsockopt(sock_fd, SOL_SOCKET, SO_DETACH_REUSEPORT_BPF, &ignored,
		                 sizeof(ignored));
	/* Detaching what was never attached is no failure. */
	return ret < 0 && !(errno == ENOENT && !local) ? -errno : 0;
}

int steer_pin(const struct steer *s, pid_t tid, int id, bool local)
{
	const cpu_set_t *set = local ? &s->own[id] : &s->any;

	return sched_setaffinity(tid, sizeof(*set), set) < 0 ? -errno : 0;
}
