/* iface.c - configuring a network interface: MTU, up/down, addresses. */
#include "tun/iface.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int with_ifreq(const char *name, unsigned long req, struct ifreq *ifr)
{
	int fd, ret = 0;

	if (strlen(name) >= IF_NAMESIZE)
		return -EINVAL;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	strcpy(ifr->ifr_name, name);
	if (ioctl(fd, req, ifr) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

int iface_get_mtu(const char *name, int *mtu)
{
	struct ifreq ifr = { 0 };
	int ret = with_ifreq(name, SIOCGIFMTU, &ifr);

	if (ret == 0)
		*mtu = ifr.ifr_mtu;
	return ret;
}

int iface_set_mtu(const char *name, int mtu)
{
	struct ifreq ifr = { 0 };

	ifr.ifr_mtu = mtu;
	return with_ifreq(name, SIOCSIFMTU, &ifr);
}

int iface_is_up(const char *name, bool *up)
{
	struct ifreq ifr = { 0 };
	int ret = with_ifreq(name, SIOCGIFFLAGS, &ifr);

	if (ret == 0)
		*up = ifr.ifr_flags & IFF_UP;
	return ret;
}

int iface_set_up(const char *name, bool up)
{
	struct ifreq ifr = { 0 };
	int ret = with_ifreq(name, SIOCGIFFLAGS, &ifr);

	if (ret < 0)
		return ret;
	if (up)
		ifr.ifr_flags |= IFF_UP;
	else
		ifr.ifr_flags &= ~IFF_UP;
	return with_ifreq(name, SIOCSIFFLAGS, &ifr);
}

bool iface_exists(const char *name)
{
	return if_nametoindex(name) != 0;
}

static void add_attr(struct nlmsghdr *nh, int type, const void *data, size_t len)
{
	struct rtattr *rta = (struct rtattr *)((char *)nh + NLMSG_ALIGN(nh->nlmsg_len));

	rta->rta_type = (unsigned short)type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	nh->nlmsg_len = NLMSG_ALIGN(nh->nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

/* Sends one rtnetlink request and reads its ack: 0 or -errno from the kernel. */
static int rtnl_request(struct nlmsghdr *nh)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	char reply[512];
	int fd, ret = 0;
	ssize_t n;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (sendto(fd, nh, nh->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		goto out;
	}
	n = recv(fd, reply, sizeof(reply), 0);
	if (n < 0) {
		ret = -errno;
		goto out;
	}
	if ((size_t)n >= NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
		struct nlmsghdr *rh = (struct nlmsghdr *)reply;

		if (rh->nlmsg_type == NLMSG_ERROR)
			ret = ((struct nlmsgerr *)NLMSG_DATA(rh))->error;
	}
out:
	close(fd);
	return ret;
}

/* RTM_NEWADDR or RTM_DELADDR for addr/prefix_len on the interface; 0 or -errno from the kernel. */
static int change_address(const char *name, int type, const struct addr *addr, int prefix_len)
{
	struct {
		struct nlmsghdr nh;
		struct ifaddrmsg ifa;
		char attrs[64];
	} req;
	unsigned index = if_nametoindex(name);

	if (!index)
		return -ENODEV;
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
	req.nh.nlmsg_type = (unsigned short)type;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	if (type == RTM_NEWADDR)
		req.nh.nlmsg_flags |= NLM_F_CREATE | NLM_F_EXCL;
	req.nh.nlmsg_seq = 1;
	req.ifa.ifa_family = (unsigned char)addr->sa.sa_family;
	req.ifa.ifa_prefixlen = (unsigned char)prefix_len;
	req.ifa.ifa_index = index;
	if (addr->sa.sa_family == AF_INET) {
		add_attr(&req.nh, IFA_LOCAL, &addr->in4.sin_addr, 4);
		add_attr(&req.nh, IFA_ADDRESS, &addr->in4.sin_addr, 4);
		/* The subnet's broadcast address, so that datagrams to it are taken in. */
		if (type == RTM_NEWADDR && prefix_len < 31) {
			struct in_addr b = { .s_addr = addr->in4.sin_addr.s_addr |
				                       htonl(0xFFFFFFFFu >> prefix_len) };

			add_attr(&req.nh, IFA_BROADCAST, &b, 4);
		}
	} else if (addr->sa.sa_family == AF_INET6) {
		/* Our addresses are ours alone on a point-to-point link: nothing to detect. */
		req.ifa.ifa_flags = IFA_F_NODAD;
		add_attr(&req.nh, IFA_ADDRESS, &addr->in6.sin6_addr, 16);
	} else {
		return -EAFNOSUPPORT;
	}
	return rtnl_request(&req.nh);
}

int iface_no_auto_link_local(const char *name)
{
	char path[128];
	int fd, ret = 0;

	if (strchr(name, '/') || strlen(name) >= IF_NAMESIZE)
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/addr_gen_mode", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, "1\n", 2) != 2)
		ret = errno ? -errno : -EIO;
	close(fd);
	return ret;
}

int iface_add_route4(const char *name, struct in_addr dst, int dst_len, struct in_addr src)
{
	struct {
		struct nlmsghdr nh;
		struct rtmsg rt;
		char attrs[64];
	} req;
	unsigned index = if_nametoindex(name);
	int ret;

	if (!index)
		return -ENODEV;
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	req.nh.nlmsg_type = RTM_NEWROUTE;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
	req.nh.nlmsg_seq = 1;
	req.rt.rtm_family = AF_INET;
	req.rt.rtm_dst_len = (unsigned char)dst_len;
	req.rt.rtm_table = RT_TABLE_MAIN;
	req.rt.rtm_protocol = RTPROT_STATIC;
	req.rt.rtm_scope = RT_SCOPE_LINK;
	req.rt.rtm_type = RTN_UNICAST;
	add_attr(&req.nh, RTA_DST, &dst, 4);
	add_attr(&req.nh, RTA_OIF, &index, 4);
	add_attr(&req.nh, RTA_PREFSRC, &src, 4);
	ret = rtnl_request(&req.nh);
	return ret == -EEXIST ? 0 : ret;
}

int iface_add_address(const char *name, const struct addr *addr, int prefix_len)
{
	int ret = change_address(name, RTM_NEWADDR, addr, prefix_len);

	return ret == -EEXIST ? 0 : ret;
}

int iface_del_address(const char *name, const struct addr *addr, int prefix_len)
{
	int ret = change_address(name, RTM_DELADDR, addr, prefix_len);

	return ret == -EADDRNOTAVAIL ? 0 : ret;
}
