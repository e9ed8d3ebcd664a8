/* tunctl.c - test tool: makes a TUN interface with the tun module and configures it with iface. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tun/iface.h"
#include "tun/tun.h"
#include "util/addr.h"
#include "util/num.h"

/*
 * tunctl NAME MTU ADDR/LEN... : creates NAME (two queues, offloads), sets the
 * MTU, adds each address, brings it up, prints "ready" and the offloads, and
 * holds it until stdin closes.  Every step goes through netlink or ioctl.
 */
int main(int argc, char **argv)
{
	struct tun *tun;
	uint64_t mtu;
	bool up = false;
	int ret;

	if (argc < 3 || !num_parse_u64(argv[2], 68, 65535, &mtu)) {
		fprintf(stderr, "usage: tunctl NAME MTU [ADDR/LEN...]\n");
		return 2;
	}
	ret = tun_linux_create(&tun, argv[1], 2, true);
	if (ret < 0) {
		fprintf(stderr, "tunctl: create %s: %s\n", argv[1], strerror(-ret));
		return 1;
	}
	if ((ret = iface_set_mtu(tun->name, (int)mtu)) < 0) {
		fprintf(stderr, "tunctl: mtu: %s\n", strerror(-ret));
		return 1;
	}
	for (int i = 3; i < argc; i++) {
		char ip[ADDR_STRLEN];
		const char *slash = strchr(argv[i], '/');
		uint64_t len;
		struct addr a;

		if (!slash || (size_t)(slash - argv[i]) >= sizeof(ip))
			return 2;
		memcpy(ip, argv[i], (size_t)(slash - argv[i]));
		ip[slash - argv[i]] = '\0';
		if (!addr_parse_ip(&a, ip, NULL) || !num_parse_u64(slash + 1, 0, 128, &len))
			return 2;
		if ((ret = iface_add_address(tun->name, &a, (int)len)) < 0 ||
		    (ret = iface_add_address(tun->name, &a, (int)len)) < 0) {
			fprintf(stderr, "tunctl: address %s: %s\n", argv[i], strerror(-ret));
			return 1;
		}
	}
	if ((ret = iface_set_up(tun->name, true)) < 0 || (ret = iface_is_up(tun->name, &up)) < 0 ||
	    !up || !iface_exists(tun->name)) {
		fprintf(stderr, "tunctl: up: %s\n", strerror(-ret));
		return 1;
	}
	printf("ready %s queues=%d vnet=%d tso=%d uso=%d\n", tun->name, tun->n_queues, tun->vnet,
	       tun->tso, tun->uso);
	fflush(stdout);
	while (getchar() != EOF)
		;
	tun_destroy(tun);
	return 0;
}
