/* ifaddr.c - the host's own IP addresses (getifaddrs). */
#include "nat/ifaddr.h"

#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>

int ifaddr_list(struct addr *out, size_t max, int family, bool with_loopback, uint16_t port)
{
	struct ifaddrs *ifs, *i;
	size_t n = 0;

	if (getifaddrs(&ifs) < 0)
		return -errno;
	for (i = ifs; i && n < max; i = i->ifa_next) {
		struct addr a;
		socklen_t len;

		if (!i->ifa_addr || !(i->ifa_flags & IFF_UP))
			continue;
		if ((i->ifa_flags & IFF_LOOPBACK) && !with_loopback)
			continue;
		if (family != AF_UNSPEC && i->ifa_addr->sa_family != family)
			continue;
		len = i->ifa_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
		                                         : sizeof(struct sockaddr_in);
		if (!addr_from_sockaddr(&a, i->ifa_addr, len))
			continue;
		if (a.sa.sa_family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&a.in6.sin6_addr))
			continue;
		addr_set_port(&a, port);
		out[n++] = a;
	}
	freeifaddrs(ifs);
	return (int)n;
}
