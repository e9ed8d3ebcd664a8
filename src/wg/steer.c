/* steer.c - which worker a packet goes to: CPU-local steering, the priority lane, pinning. */
#include "wg/steer.h"

#include <errno.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_tun.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "nat/relay_wire.h"
#include "udp/udp.h"

#ifndef SO_DETACH_REUSEPORT_BPF
#define SO_DETACH_REUSEPORT_BPF 68 /* Linux 5.8 */
#endif

#define IPPROTO_TCP_ 6

/*
 * The programs are small enough to write out, and each is built for its
 * flags and worker counts.  A program under construction: instructions, and
 * jumps to labels resolved once all are placed.
 */
enum { PROG_MAX = 48, LABELS = 4 };

struct prog {
	struct bpf_insn insn[PROG_MAX];
	int n;
	int label[LABELS];     /* instruction index, -1 unplaced */
	int jump_to[PROG_MAX]; /* label of the jump at this index, -1 none */
};

static void emit(struct prog *p, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	p->jump_to[p->n] = -1;
	p->insn[p->n++] = (struct bpf_insn){
		.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm
	};
}

/* if (r0 op imm) goto label */
static void jump(struct prog *p, uint8_t op, int32_t imm, int label)
{
	emit(p, BPF_JMP | op | BPF_K, BPF_REG_0, 0, 0, imm);
	p->jump_to[p->n - 1] = label;
}

static void place(struct prog *p, int label)
{
	p->label[label] = p->n;
}

static void resolve(struct prog *p)
{
	for (int i = 0; i < p->n; i++) {
		if (p->jump_to[i] >= 0)
			p->insn[i].off = (int16_t)(p->label[p->jump_to[i]] - i - 1);
	}
}

/* r0 = this CPU % mod + add; exit */
static void cpu_return(struct prog *p, int mod, int add)
{
	emit(p, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_get_smp_processor_id);
	emit(p, BPF_ALU64 | BPF_MOD | BPF_K, BPF_REG_0, 0, 0, mod);
	if (add)
		emit(p, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_0, 0, 0, add);
	emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

/* r0 = byte k of the packet (the IP header for a TUN); needs the context in r6. */
static void load_byte(struct prog *p, int32_t k)
{
	emit(p, BPF_LD | BPF_ABS | BPF_B, 0, 0, 0, k);
}

/*
 * The TUN's program: the queue a packet leaving the kernel goes to.
 * Priority: IPv4 or IPv6, not TCP, short: the priority worker of this CPU.
 * The rest: the bulk worker of this CPU (local), or one by flow: the socket's
 * hash, or the addresses when it has none.
 */
enum { L_BULK, L_V4, L_PROTO, L_MIX };

static int load_tun_program(const struct steer *s, int flags)
{
	struct prog p = { .n = 0, .label = { -1, -1, -1, -1 } };
	char license[] = "GPL";
	union bpf_attr attr;

	emit(&p, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_1, 0, 0);
	if (flags & STEER_PRIO) {
		load_byte(&p, 0);
		emit(&p, BPF_ALU64 | BPF_RSH | BPF_K, BPF_REG_0, 0, 0, 4);
		jump(&p, BPF_JEQ, 4, L_V4);
		jump(&p, BPF_JNE, 6, L_BULK);
		load_byte(&p, 6); /* IPv6: the next header */
		emit(&p, BPF_JMP | BPF_JA, 0, 0, 0, 0);
		p.jump_to[p.n - 1] = L_PROTO;
		place(&p, L_V4);
		load_byte(&p, 9); /* IPv4: the protocol */
		place(&p, L_PROTO);
		jump(&p, BPF_JEQ, IPPROTO_TCP_, L_BULK);
		emit(&p, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_0, BPF_REG_6,
		     offsetof(struct __sk_buff, len), 0);
		jump(&p, BPF_JGT, STEER_PRIO_MAX_IP, L_BULK);
		cpu_return(&p, s->n_prio, s->n);
	}
	place(&p, L_BULK);
	if (flags & STEER_LOCAL) {
		cpu_return(&p, s->n, 0);
	} else {
		emit(&p, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_0, BPF_REG_6,
		     offsetof(struct __sk_buff, hash), 0);
		jump(&p, BPF_JNE, 0, L_MIX);
		emit(&p, BPF_LD | BPF_ABS | BPF_W, 0, 0, 0, 12);
		emit(&p, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_7, BPF_REG_0, 0, 0);
		emit(&p, BPF_LD | BPF_ABS | BPF_W, 0, 0, 0, 16);
		emit(&p, BPF_ALU64 | BPF_XOR | BPF_X, BPF_REG_0, BPF_REG_7, 0, 0);
		place(&p, L_MIX);
		emit(&p, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_7, BPF_REG_0, 0, 0);
		emit(&p, BPF_ALU64 | BPF_RSH | BPF_K, BPF_REG_7, 0, 0, 16);
		emit(&p, BPF_ALU64 | BPF_XOR | BPF_X, BPF_REG_0, BPF_REG_7, 0, 0);
		emit(&p, BPF_ALU64 | BPF_MOD | BPF_K, BPF_REG_0, 0, 0, s->n);
		emit(&p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	}
	resolve(&p);
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	attr.insns = (uint64_t)(uintptr_t)p.insn;
	attr.insn_cnt = (uint32_t)p.n;
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

static void no_steering(struct steer *s, int n_queues)
{
	steer_clear(s);
	s->n = n_queues;
	s->n_prio = 0;
	s->local = false;
}

bool steer_init(struct steer *s, int n_queues, bool local, bool prio, char *why)
{
	int n = n_queues;

	memset(s, 0, sizeof(*s));
	for (int i = 0; i < 4; i++)
		s->prog_fd[i] = -1;
	no_steering(s, n_queues);
	why[0] = '\0';
	if (prio && n_queues % 2 == 0) {
		n = n_queues / 2;
	} else if (prio) {
		snprintf(why, STEER_WHY_LEN, "no priority lane: an odd number of queues (%d)",
		         n_queues);
		prio = false;
	}
	if (local && n < 2) {
		snprintf(why, STEER_WHY_LEN, "no CPU-local steering: one worker");
		local = false;
	}
	if (!local && !prio)
		return false;
	if (sched_getaffinity(0, sizeof(s->any), &s->any) < 0) {
		snprintf(why, STEER_WHY_LEN, "cannot read the CPUs allowed: %s", strerror(errno));
		return false;
	}
	if (steer_partition(&s->any, n, s->own) < 0) {
		snprintf(why, STEER_WHY_LEN, "fewer CPUs of the right numbers than workers");
		return false;
	}
	s->n = n;
	s->n_prio = prio ? n : 0;
	s->local = local;
	for (int f = 0; f < 4; f++) {
		if (((f & STEER_LOCAL) && !local) || ((f & STEER_PRIO) && !prio) ||
		    (f == 0 && !prio))
			continue;
		s->prog_fd[f] = load_tun_program(s, f);
		if (s->prog_fd[f] < 0) {
			int e = errno;

			snprintf(why, STEER_WHY_LEN, "cannot load the TUN's queue program: %s%s",
			         strerror(e), e == EPERM ? " (needs CAP_BPF)" : "");
			no_steering(s, n_queues);
			return false;
		}
	}
	return true;
}

void steer_clear(struct steer *s)
{
	for (int i = 0; i < 4; i++) {
		if (s->prog_fd[i] >= 0)
			close(s->prog_fd[i]);
		s->prog_fd[i] = -1;
	}
}

int steer_tun(const struct steer *s, int tun_fd, int flags)
{
	int fd = s->prog_fd[flags & 3];

	if (fd < 0 && (flags || s->n_prio))
		return -EINVAL;
	return ioctl(tun_fd, TUNSETSTEERINGEBPF, &fd) < 0 ? -errno : 0;
}

/*
 * The group's program, classic BPF, which sees a datagram from its payload on.
 * Priority: a data message of STEER_PRIO_MAX_DGRAM bytes at most, or a relay's
 * data frame holding one, marked EF: the priority socket of the receiving
 * CPU.  The rest: the bulk socket of the receiving CPU (local), or one by the
 * sender's address.
 */
static int udp_program(const struct steer *s, int flags, struct sock_filter *code)
{
	int n = 0;

#define OP(c, t, f, k)                                                                             \
	code[n++] = (struct sock_filter)                                                           \
	{                                                                                          \
		(c), (t), (f), (uint32_t)(k)                                                       \
	}
	if (flags & STEER_PRIO) {
		/* (Jumps count the instructions they skip; bulk starts at 24.) */
		OP(BPF_LD | BPF_B | BPF_ABS, 0, 0, 0);
		OP(BPF_JMP | BPF_JEQ | BPF_K, 0, 2, 4); /* a data message */
		OP(BPF_LD | BPF_IMM, 0, 0, STEER_PRIO_MAX_DGRAM);
		OP(BPF_JMP | BPF_JA, 0, 0, 4);
		OP(BPF_JMP | BPF_JEQ | BPF_K, 0, 19, RELAY_DATA); /* a relay's frame */
		OP(BPF_LD | BPF_B | BPF_ABS, 0, 0, RELAY_DATA_HDR_LEN);
		OP(BPF_JMP | BPF_JEQ | BPF_K, 0, 17, 4); /* holding a data message */
		OP(BPF_LD | BPF_IMM, 0, 0, RELAY_DATA_HDR_LEN + STEER_PRIO_MAX_DGRAM);
		OP(BPF_MISC | BPF_TAX, 0, 0, 0);
		OP(BPF_LD | BPF_W | BPF_LEN, 0, 0, 0);
		OP(BPF_JMP | BPF_JGT | BPF_X, UDP_BPF_DSCP_LEN + 5, 0,
		   0); /* longer than the limit */
		n += udp_bpf_load_dscp(code + n);
		OP(BPF_JMP | BPF_JEQ | BPF_K, 0, 4, STEER_PRIO_DSCP << 2); /* marked EF */
		OP(BPF_LD | BPF_W | BPF_ABS, 0, 0, SKF_AD_OFF + SKF_AD_CPU);
		OP(BPF_ALU | BPF_MOD | BPF_K, 0, 0, s->n_prio);
		OP(BPF_ALU | BPF_ADD | BPF_K, 0, 0, s->n);
		OP(BPF_RET | BPF_A, 0, 0, 0);
	}
	if (flags & STEER_LOCAL) {
		OP(BPF_LD | BPF_W | BPF_ABS, 0, 0, SKF_AD_OFF + SKF_AD_CPU);
	} else {
		/* The low word of the source address, either family. */
		OP(BPF_LD | BPF_W | BPF_ABS, 0, 0, SKF_AD_OFF + SKF_AD_PROTOCOL);
		OP(BPF_JMP | BPF_JEQ | BPF_K, 0, 2, ETH_P_IPV6);
		OP(BPF_LD | BPF_W | BPF_ABS, 0, 0, SKF_NET_OFF + 20);
		OP(BPF_JMP | BPF_JA, 0, 0, 1);
		OP(BPF_LD | BPF_W | BPF_ABS, 0, 0, SKF_NET_OFF + 12);
		OP(BPF_MISC | BPF_TAX, 0, 0, 0);
		OP(BPF_ALU | BPF_RSH | BPF_K, 0, 0, 16);
		OP(BPF_ALU | BPF_XOR | BPF_X, 0, 0, 0);
	}
	OP(BPF_ALU | BPF_MOD | BPF_K, 0, 0, s->n);
	OP(BPF_RET | BPF_A, 0, 0, 0);
#undef OP
	return n;
}

int steer_udp(const struct steer *s, int sock_fd, int flags)
{
	struct sock_filter code[40];
	struct sock_fprog prog = { .len = 0, .filter = code };
	int ret, ignored = 0; /* detaching takes an int that the kernel does not read */

	if (!flags && !s->n_prio) {
		ret = setsockopt(sock_fd, SOL_SOCKET, SO_DETACH_REUSEPORT_BPF, &ignored,
		                 sizeof(ignored));
		/* Detaching what was never attached is no failure. */
		return ret < 0 && errno != ENOENT ? -errno : 0;
	}
	prog.len = (unsigned short)udp_program(s, flags, code);
	ret = setsockopt(sock_fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog));
	return ret < 0 ? -errno : 0;
}

int steer_pin(const struct steer *s, pid_t tid, int id, bool local)
{
	const cpu_set_t *set = &s->any;

	if (id >= s->n)
		set = &s->own[id - s->n];
	else if (local)
		set = &s->own[id];
	return sched_setaffinity(tid, sizeof(*set), set) < 0 ? -errno : 0;
}
