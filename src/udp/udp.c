/* udp.c - one UDP socket for every protocol, with batched receive and send. */
#include "udp/udp.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { MAX_BATCH = 128 };

int udp_enable_timestamps(struct udp_socket *s)
{
	int on = 1;

	if (setsockopt(s->fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on)) < 0)
		return -errno;
	return 0;
}

int udp_enable_pktinfo(struct udp_socket *s)
{
	int on = 1, ret;

	if (s->family == AF_INET6)
		ret = setsockopt(s->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on));
	else
		ret = setsockopt(s->fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on));
	return ret < 0 ? -errno : 0;
}

int udp_enable_recvtos(struct udp_socket *s)
{
	int on = 1;

	/* A dual-stack socket reports IPv4 with the first, IPv6 with the second. */
	if (setsockopt(s->fd, IPPROTO_IP, IP_RECVTOS, &on, sizeof(on)) < 0)
		return -errno;
	if (s->family == AF_INET6 &&
	    setsockopt(s->fd, IPPROTO_IPV6, IPV6_RECVTCLASS, &on, sizeof(on)) < 0)
		return -errno;
	return 0;
}

int udp_set_dscp(struct udp_socket *s, int dscp)
{
	int tos = dscp << 2;

	/* A dual-stack socket sends IPv4 with the first, IPv6 with the second. */
	if (setsockopt(s->fd, IPPROTO_IP, IP_TOS, &tos, sizeof(tos)) < 0)
		return -errno;
	if (s->family == AF_INET6 &&
	    setsockopt(s->fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof(tos)) < 0)
		return -errno;
	return 0;
}

int udp_set_fwmark(struct udp_socket *s, uint32_t fwmark)
{
	if (setsockopt(s->fd, SOL_SOCKET, SO_MARK, &fwmark, sizeof(fwmark)) < 0)
		return -errno;
	return 0;
}

/*
 * Binds s to local (IPv4 or IPv6; the IPv6 wildcard is dual-stack); group:
 * SO_REUSEPORT; size: the buffers (0: the system's); gro: turn on UDP_GRO
 * where the kernel has it.
 */
static int bind_local(struct udp_socket *s, const struct addr *local, bool group, int size,
                      bool gro)
{
	union {
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
	} sa;
	socklen_t salen = addr_len(local);
	int family = local->sa.sa_family, fd, off = 0, on = 1, ret;
	/* A specific IPv6 address takes IPv6 only; the wildcard is dual-stack. */
	int v6only = family == AF_INET6 && !IN6_IS_ADDR_UNSPECIFIED(&local->in6.sin6_addr);

	fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	memset(&sa, 0, sizeof(sa));
	if (family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) < 0)
		goto err;
	memcpy(&sa, &local->sa, salen);
	if (group && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) < 0)
		goto err;
	/* Forcing a size needs CAP_NET_ADMIN; without it, ask within the system limits. */
	if (size > 0) {
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	}
	if (bind(fd, (struct sockaddr *)&sa, salen) < 0)
		goto err;
	if (getsockname(fd, (struct sockaddr *)&sa, &salen) < 0)
		goto err;
	/* Segmentation offloads where the kernel has them (Linux 4.18 and 5.0). */
	s->gso = setsockopt(fd, SOL_UDP, UDP_SEGMENT, &off, sizeof(off)) == 0;
	s->gro = gro && setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof(on)) == 0;
	s->fd = fd;
	s->family = family;
	s->port = ntohs(family == AF_INET6 ? sa.in6.sin6_port : sa.in4.sin_port);
	return 0;
err:
	ret = -errno;
	close(fd);
	return ret;
}

/*
 * SO_REUSEPORT lets any socket of the same user join a group, so a second
 * instance of a program on the same port would take part of the first's
 * traffic, both running as if nothing were wrong.  So a group first binds its
 * port with a plain socket, which fails where anyone holds the port, and
 * frees it for the group: this returns the port probe bound (with port 0,
 * the free one the kernel gave it) and closes probe.
 */
static uint16_t claim_port(struct udp_socket *probe)
{
	uint16_t port = probe->port;

	udp_close(probe);
	return port;
}

static int open_addr_one(struct udp_socket *s, const struct addr *local, bool group, int buffer,
                         bool gro)
{
	static const struct in6_addr any6 = IN6ADDR_ANY_INIT;
	int ret;

	if (local->sa.sa_family != AF_INET && local->sa.sa_family != AF_INET6)
		return -EAFNOSUPPORT;
	ret = bind_local(s, local, group, buffer, gro);
	/* The IPv6 wildcard on a host without IPv6: the IPv4 one. */
	if ((ret == -EAFNOSUPPORT || ret == -EADDRNOTAVAIL) && local->sa.sa_family == AF_INET6 &&
	    memcmp(&local->in6.sin6_addr, &any6, sizeof(any6)) == 0) {
		struct addr any4 = { .in4 = { .sin_family = AF_INET,
			                      .sin_port = local->in6.sin6_port } };

		ret = bind_local(s, &any4, group, buffer, gro);
	}
	if (ret < 0)
		s->fd = -1;
	return ret;
}

int udp_open_addr(struct udp_socket *s, const struct addr *local, int buffer, bool gro)
{
	return open_addr_one(s, local, false, buffer, gro);
}

int udp_open_addr_group(struct udp_socket *socks, int n, const struct addr *local, int buffer,
                        bool gro)
{
	struct udp_socket probe;
	struct addr at = *local;
	int ret;

	for (int i = 0; i < n; i++)
		socks[i].fd = -1;
	if (n > 1) {
		ret = open_addr_one(&probe, local, false, 0, false);
		if (ret < 0)
			return ret;
		addr_set_port(&at, claim_port(&probe));
	}
	for (int i = 0; i < n; i++) {
		ret = open_addr_one(&socks[i], &at, n > 1, buffer, gro);
		if (ret < 0) {
			while (i-- > 0)
				udp_close(&socks[i]);
			return ret;
		}
	}
	return 0;
}

int udp_open_group(struct udp_socket *socks, int n, uint16_t port, uint32_t fwmark, int buffer)
{
	/* The IPv6 wildcard, dual-stack (or IPv4 on a host without IPv6). */
	struct addr any = { .in6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) } };
	int ret = udp_open_addr_group(socks, n, &any, buffer, true);

	for (int i = 0; ret == 0 && fwmark && i < n; i++)
		ret = udp_set_fwmark(&socks[i], fwmark);
	if (ret < 0) {
		for (int i = 0; i < n; i++)
			udp_close(&socks[i]);
	}
	return ret;
}

int udp_open(struct udp_socket *s, uint16_t port, uint32_t fwmark)
{
	return udp_open_group(s, 1, port, fwmark, 0);
}

int udp_bpf_load_dscp(struct sock_filter *code)
{
	/* Jumps count the instructions they skip. */
	static const struct sock_filter load[UDP_BPF_DSCP_LEN] = {
		{ BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)(SKF_AD_OFF + SKF_AD_PROTOCOL) },
		{ BPF_JMP | BPF_JEQ | BPF_K, 3, 0, ETH_P_IPV6 },
		{ BPF_LD | BPF_B | BPF_ABS, 0, 0, (uint32_t)(SKF_NET_OFF + 1) }, /* IPv4: the TOS */
		{ BPF_ALU | BPF_AND | BPF_K, 0, 0, 0xfc },
		{ BPF_JMP | BPF_JA, 0, 0, 3 },
		{ BPF_LD | BPF_H | BPF_ABS, 0, 0, (uint32_t)SKF_NET_OFF }, /* IPv6: the class */
		{ BPF_ALU | BPF_RSH | BPF_K, 0, 0, 4 },
		{ BPF_ALU | BPF_AND | BPF_K, 0, 0, 0xfc },
	};

	memcpy(code, load, sizeof(load));
	return UDP_BPF_DSCP_LEN;
}

int udp_group_lane(struct udp_socket *first, int dscp, size_t max_len)
{
	struct sock_filter code[UDP_BPF_DSCP_LEN + 5] = {
		{ BPF_LD | BPF_W | BPF_LEN, 0, 0, 0 },
		{ BPF_JMP | BPF_JGT | BPF_K, UDP_BPF_DSCP_LEN + 2, 0,
		  (uint32_t)max_len }, /* to 0 */
	};
	int n = 2;
	struct sock_fprog prog = { .len = sizeof(code) / sizeof(code[0]), .filter = code };

	n += udp_bpf_load_dscp(code + n);
	code[n++] = (struct sock_filter){ BPF_JMP | BPF_JEQ | BPF_K, 0, 1, (uint32_t)dscp << 2 };
	code[n++] = (struct sock_filter){ BPF_RET | BPF_K, 0, 0, 1 }; /* marked: the second */
	code[n++] = (struct sock_filter){ BPF_RET | BPF_K, 0, 0, 0 };

	if (setsockopt(first->fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog)) < 0)
		return -errno;
	return 0;
}

void udp_close(struct udp_socket *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/* Fills sa for sending to a on socket s; its length, or 0 if unreachable from s. */
static socklen_t to_sockaddr(const struct udp_socket *s, const struct addr *a,
                             struct sockaddr_in6 *sa)
{
	if (a->sa.sa_family == AF_INET && s->family == AF_INET6) {
		memset(sa, 0, sizeof(*sa));
		sa->sin6_family = AF_INET6;
		sa->sin6_port = a->in4.sin_port;
		sa->sin6_addr.s6_addr[10] = 0xff;
		sa->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&sa->sin6_addr.s6_addr[12], &a->in4.sin_addr, 4);
		return sizeof(*sa);
	}
	if (a->sa.sa_family != s->family)
		return 0;
	memcpy(sa, &a->sa, addr_len(a));
	return addr_len(a);
}

static void from_sockaddr(struct addr *out, const struct sockaddr_in6 *sa, socklen_t len)
{
	if (sa->sin6_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&sa->sin6_addr)) {
		struct in_addr v4;

		memcpy(&v4, &sa->sin6_addr.s6_addr[12], 4);
		addr_from_in4(out, v4, ntohs(sa->sin6_port));
		return;
	}
	if (!addr_from_sockaddr(out, (const struct sockaddr *)sa, len))
		addr_clear(out);
}

/* An address the datagram came to, IPv4 ones plain (a dual-stack socket maps them). */
static void from_in6(struct addr *out, const struct in6_addr *ip, uint32_t ifindex)
{
	if (IN6_IS_ADDR_V4MAPPED(ip)) {
		struct in_addr v4;

		memcpy(&v4, &ip->s6_addr[12], 4);
		addr_from_in4(out, v4, 0);
		return;
	}
	memset(out, 0, sizeof(*out));
	out->in6.sin6_family = AF_INET6;
	out->in6.sin6_addr = *ip;
	/* The interface matters only where the address is not unique. */
	if (IN6_IS_ADDR_LINKLOCAL(ip))
		out->in6.sin6_scope_id = ifindex;
}

/*
 * What a received message's control data says: its GRO segment size, the
 * kernel's stamp, the address it came to and its TOS byte.
 */
static void read_cmsgs(struct msghdr *m, struct udp_pkt *p)
{
	p->seg = 0;
	p->rx_wall_ns = 0;
	p->tos = 0;
	addr_clear(&p->local);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			from_in6(&p->local, &pi.ipi6_addr, (uint32_t)pi.ipi6_ifindex);
		} else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			addr_from_in4(&p->local, pi.ipi_addr, 0);
		} else if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
			int v;

			memcpy(&v, CMSG_DATA(c), sizeof(v));
			p->seg = v > 0 ? (size_t)v : 0;
		} else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;

			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			p->rx_wall_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
		} else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS) {
			p->tos = *CMSG_DATA(c); /* one byte */
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_TCLASS) {
			int v;

			memcpy(&v, CMSG_DATA(c), sizeof(v));
			p->tos = (uint8_t)v;
		}
	}
}

void udp_rx_init(struct udp_rx *rx, struct udp_pkt *pkts, int n)
{
	if (n > UDP_RECV_MAX)
		n = UDP_RECV_MAX;
	rx->pkts = pkts;
	rx->n = n;
	for (int i = 0; i < n; i++) {
		struct msghdr *h = &rx->msgs[i].msg_hdr;

		rx->iov[i].iov_base = pkts[i].data;
		rx->iov[i].iov_len = pkts[i].cap;
		memset(h, 0, sizeof(*h));
		h->msg_iov = &rx->iov[i];
		h->msg_iovlen = 1;
		h->msg_name = &rx->names[i];
		h->msg_namelen = sizeof(rx->names[i]);
		h->msg_control = rx->ctl[i].buf;
		h->msg_controllen = sizeof(rx->ctl[i].buf);
	}
}

int udp_recv_prepared_from(struct udp_socket *s, struct udp_rx *rx, int first)
{
	int got;

	if (first >= rx->n)
		return 0;
	got = recvmmsg(s->fd, rx->msgs + first, (unsigned)(rx->n - first), MSG_DONTWAIT, NULL);
	if (got < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	for (int i = first; i < first + got; i++) {
		struct msghdr *h = &rx->msgs[i].msg_hdr;
		struct udp_pkt *p = &rx->pkts[i];

		/* A datagram larger than the slot is truncated; mark it so it is dropped. */
		p->len = (h->msg_flags & MSG_TRUNC) ? 0 : rx->msgs[i].msg_len;
		read_cmsgs(h, p);
		if (p->seg >= p->len)
			p->seg = 0;
		from_sockaddr(&p->addr, &rx->names[i], h->msg_namelen);
		/* Only what the kernel wrote needs resetting for the next call. */
		h->msg_namelen = sizeof(rx->names[i]);
		h->msg_controllen = sizeof(rx->ctl[i].buf);
		h->msg_flags = 0;
	}
	return got;
}

int udp_recv_prepared(struct udp_socket *s, struct udp_rx *rx)
{
	return udp_recv_prepared_from(s, rx, 0);
}

int udp_recv_batch(struct udp_socket *s, struct udp_pkt *pkts, int n)
{
	struct udp_rx rx;

	udp_rx_init(&rx, pkts, n);
	return udp_recv_prepared(s, &rx);
}

/*
 * A batch of datagrams to send, in kernel form: one message per datagram, or,
 * on a GSO socket, per run of datagrams to one address that are all seg bytes
 * but the last (UDP_SEGMENT: the kernel builds one packet and cuts it as late
 * as it can, and a GRO receiver may take the run whole).  first and count map
 * messages back to pkts; datagrams without a usable address are left out.
 */
struct out_batch {
	struct mmsghdr msgs[MAX_BATCH];
	struct iovec iov[MAX_BATCH];
	struct sockaddr_in6 names[MAX_BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t)) + CMSG_SPACE(sizeof(struct in6_pktinfo)) +
		         CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl[MAX_BATCH];
	int first[MAX_BATCH], count[MAX_BATCH];
	bool sourced[MAX_BATCH]; /* the message names its source */
	int m;
};

/*
 * Writes the control message that sends from local (IPV6_PKTINFO, IPv4 ones
 * mapped, on a dual-stack socket; IP_PKTINFO on an IPv4 one) at c; its space,
 * or 0 when local is unset or not of to's family.
 */
static size_t put_source(const struct udp_socket *s, const struct addr *local,
                         const struct addr *to, struct cmsghdr *c)
{
	struct in6_pktinfo pi6 = { .ipi6_ifindex = 0 };
	struct in_pktinfo pi4 = { .ipi_ifindex = 0 };

	if (!addr_is_set(local) || local->sa.sa_family != to->sa.sa_family)
		return 0;
	if (s->family == AF_INET) {
		pi4.ipi_spec_dst = local->in4.sin_addr;
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi4));
		memcpy(CMSG_DATA(c), &pi4, sizeof(pi4));
		return CMSG_SPACE(sizeof(pi4));
	}
	if (local->sa.sa_family == AF_INET) {
		pi6.ipi6_addr.s6_addr[10] = 0xff;
		pi6.ipi6_addr.s6_addr[11] = 0xff;
		memcpy(&pi6.ipi6_addr.s6_addr[12], &local->in4.sin_addr, 4);
	} else {
		pi6.ipi6_addr = local->in6.sin6_addr;
		pi6.ipi6_ifindex = (int)local->in6.sin6_scope_id;
	}
	c->cmsg_level = IPPROTO_IPV6;
	c->cmsg_type = IPV6_PKTINFO;
	c->cmsg_len = CMSG_LEN(sizeof(pi6));
	memcpy(CMSG_DATA(c), &pi6, sizeof(pi6));
	return CMSG_SPACE(sizeof(pi6));
}

/* Writes the control message that sends with TOS byte tos (0: the socket's) at c; its space. */
static size_t put_tos(uint8_t tos, const struct addr *to, struct cmsghdr *c)
{
	int v = tos;

	if (!tos)
		return 0;
	/* An IPv4 destination takes IP_TOS, also on a dual-stack socket. */
	c->cmsg_level = to->sa.sa_family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
	c->cmsg_type = to->sa.sa_family == AF_INET ? IP_TOS : IPV6_TCLASS;
	c->cmsg_len = CMSG_LEN(sizeof(v));
	memcpy(CMSG_DATA(c), &v, sizeof(v));
	return CMSG_SPACE(sizeof(v));
}

/*
 * What the kernel says of a source the host no longer has (EINVAL, or no
 * route from it), when the same datagram may well go from another.
 */
static bool source_refused(int err)
{
	return err == EINVAL || err == EADDRNOTAVAIL || err == ENETUNREACH || err == EHOSTUNREACH;
}

/* How many of pkts[i..n) can follow pkts[i] in one GSO message. */
static int gso_run(const struct udp_pkt *pkts, int i, int n)
{
	size_t seg = pkts[i].len, total = seg;
	int j = i + 1;

	while (j < n && j - i < UDP_GSO_MAX_SEGS && pkts[j].len && pkts[j].len <= seg &&
	       total + pkts[j].len <= UDP_MAX_PAYLOAD && addr_equal(&pkts[j].addr, &pkts[i].addr) &&
	       addr_equal_ip(&pkts[j].local, &pkts[i].local) && pkts[j].tos == pkts[i].tos) {
		total += pkts[j].len;
		/* Only the last piece may be shorter. */
		if (pkts[j++].len < seg)
			break;
	}
	return j - i;
}

static void fill_batch(struct udp_socket *s, const struct udp_pkt *pkts, int n, struct out_batch *b,
                       bool *failed)
{
	int k = 0;

	if (n > MAX_BATCH)
		n = MAX_BATCH;
	b->m = 0;
	for (int i = 0; i < n;) {
		int m = b->m, run;
		socklen_t len = to_sockaddr(s, &pkts[i].addr, &b->names[m]);
		size_t src_len;
		struct msghdr *h = &b->msgs[m].msg_hdr;

		if (!len) {
			if (failed)
				failed[i] = true;
			i++;
			continue;
		}
		run = s->gso && pkts[i].len ? gso_run(pkts, i, n) : 1;
		memset(h, 0, sizeof(*h));
		h->msg_iov = &b->iov[k];
		h->msg_iovlen = (size_t)run;
		h->msg_name = &b->names[m];
		h->msg_namelen = len;
		h->msg_control = b->ctl[m].buf;
		h->msg_controllen = 0;
		if (run > 1) {
			struct cmsghdr *c = (struct cmsghdr *)b->ctl[m].buf;
			uint16_t seg = (uint16_t)pkts[i].len;

			c->cmsg_level = SOL_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(seg));
			memcpy(CMSG_DATA(c), &seg, sizeof(seg));
			h->msg_controllen = CMSG_SPACE(sizeof(seg));
		}
		src_len = put_source(s, &pkts[i].local, &pkts[i].addr,
		                     (struct cmsghdr *)(b->ctl[m].buf + h->msg_controllen));
		h->msg_controllen += src_len;
		b->sourced[m] = src_len != 0;
		h->msg_controllen += put_tos(pkts[i].tos, &pkts[i].addr,
		                             (struct cmsghdr *)(b->ctl[m].buf + h->msg_controllen));
		if (!h->msg_controllen)
			h->msg_control = NULL;
		for (int j = 0; j < run; j++, k++) {
			b->iov[k].iov_base = pkts[i + j].data;
			b->iov[k].iov_len = pkts[i + j].len;
			if (failed)
				failed[i + j] = false;
		}
		b->first[m] = i;
		b->count[m] = run;
		b->m++;
		i += run;
	}
}

/*
 * Message idx of b was refused with err.  A GSO message that the path cannot
 * take whole (EINVAL: a piece over the path MTU; EIO: no checksum offload)
 * goes again one datagram at a time, as does one from a source the host no
 * longer has, from the routing table's choice.  Returns how many of its
 * datagrams went; flags the others in failed (may be NULL).
 */
static int send_apart(struct udp_socket *s, struct out_batch *b, int idx, int err, bool *failed)
{
	struct msghdr one = b->msgs[idx].msg_hdr;
	bool retry = (b->count[idx] > 1 && (err == EINVAL || err == EIO || err == EMSGSIZE)) ||
	             (b->sourced[idx] && source_refused(err));
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} tos;
	int sent = 0;

	/* Each datagram alone, from the routing table's source, with its TOS byte still. */
	one.msg_control = NULL;
	one.msg_controllen = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&b->msgs[idx].msg_hdr); c;
	     c = CMSG_NXTHDR(&b->msgs[idx].msg_hdr, c)) {
		if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS) ||
		    (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_TCLASS)) {
			memcpy(tos.buf, c, CMSG_SPACE(sizeof(int)));
			one.msg_control = tos.buf;
			one.msg_controllen = sizeof(tos.buf);
		}
	}
	one.msg_iovlen = 1;
	for (int j = 0; j < b->count[idx]; j++) {
		bool ok;

		one.msg_iov = b->msgs[idx].msg_hdr.msg_iov + j;
		ok = retry && sendmsg(s->fd, &one, MSG_DONTWAIT) >= 0;
		sent += ok;
		if (failed)
			failed[b->first[idx] + j] = !ok;
	}
	return sent;
}

static int datagrams(const struct out_batch *b, int from, int msgs)
{
	int n = 0;

	for (int i = from; i < from + msgs; i++)
		n += b->count[i];
	return n;
}

int udp_send_batch(struct udp_socket *s, const struct udp_pkt *pkts, int n)
{
	struct out_batch b;
	int sent = 0, done = 0;

	fill_batch(s, pkts, n, &b, NULL);
	while (done < b.m) {
		int r = sendmmsg(s->fd, b.msgs + done, (unsigned)(b.m - done), MSG_DONTWAIT);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			/* One bad message (e.g. unreachable) must not block the rest. */
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				sent += send_apart(s, &b, done, errno, NULL);
				done++;
				continue;
			}
			/* A full send buffer: wait a little for room (backpressure), then give up.
			 */
			if (poll(&(struct pollfd){ .fd = s->fd, .events = POLLOUT }, 1, 100) <= 0)
				break;
			continue;
		}
		sent += datagrams(&b, done, r);
		done += r;
	}
	return sent;
}

int udp_send(struct udp_socket *s, const void *data, size_t len, const struct addr *to)
{
	struct sockaddr_in6 sa;
	socklen_t salen = to_sockaddr(s, to, &sa);

	if (!salen)
		return -EAFNOSUPPORT;
	if (sendto(s->fd, data, len, MSG_DONTWAIT, (struct sockaddr *)&sa, salen) < 0)
		return -errno;
	return 0;
}

int udp_send_endpoint(struct udp_socket *s, const void *data, size_t len, const struct endpoint *to)
{
	struct sockaddr_in6 sa;
	socklen_t salen = to_sockaddr(s, &to->addr, &sa);
	struct iovec iov[2] = {
		{ .iov_base = (void *)to->hdr, .iov_len = to->hdr_len },
		{ .iov_base = (void *)data, .iov_len = len },
	};
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} ctl;
	struct msghdr m = { .msg_name = &sa,
		            .msg_namelen = salen,
		            .msg_iov = iov,
		            .msg_iovlen = 2,
		            .msg_control = ctl.buf };

	if (!salen)
		return -EAFNOSUPPORT;
	m.msg_controllen = put_source(s, &to->local, &to->addr, &ctl.align);
	if (!m.msg_controllen)
		m.msg_control = NULL;
	if (sendmsg(s->fd, &m, MSG_DONTWAIT) >= 0)
		return 0;
	if (!m.msg_control || !source_refused(errno))
		return -errno;
	m.msg_control = NULL;
	m.msg_controllen = 0;
	return sendmsg(s->fd, &m, MSG_DONTWAIT) < 0 ? -errno : 0;
}

int udp_send_batch_nowait(struct udp_socket *s, const struct udp_pkt *pkts, int n, bool *failed)
{
	struct out_batch b;
	int sent = 0, done = 0;

	fill_batch(s, pkts, n, &b, failed);
	while (done < b.m) {
		int r = sendmmsg(s->fd, b.msgs + done, (unsigned)(b.m - done), MSG_DONTWAIT);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			/* sendmmsg stops at the first message refused: skip it, go on. */
			sent += send_apart(s, &b, done, errno, failed);
			done++;
			continue;
		}
		sent += datagrams(&b, done, r);
		done += r;
	}
	return sent;
}
