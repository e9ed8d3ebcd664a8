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
 * holds it until stdin closes; a line "del ADDR/LEN" on stdin removes that
 * address (twice: the second time is no error) and prints "deleted".  Every
 * step goes through netlink or ioctl.
 */
static bool parse_cidr(const char *s, struct addr *a, int *len)
{
	char ip[ADDR_STRLEN];
	const char *slash = strchr(s, '/');
	uint64_t n;

	if (!slash || (size_t)(slash - s) >= sizeof(ip))
		return false;
	memcpy(ip, s, (size_t)(slash - s));
	ip[slash - s] = '\0';
	if (!addr_parse_ip(a, ip, NULL) || !num_parse_u64(slash + 1, 0, 128, &n))
		return false;
	*len = (int)n;
	return true;
}

int main(int argc, char **argv)
{
	char line[128];
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
		struct addr a;
		int len;

		if (!parse_cidr(argv[i], &a, &len))
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
	while (fgets(line, sizeof(line), stdin)) {
		struct addr a;
		int len;

		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "del ", 4) != 0 || !parse_cidr(line + 4, &a, &len))
			continue;
		if ((ret = iface_del_address(tun->name, &a, len)) < 0 ||
		    (ret = iface_del_address(tun->name, &a, len)) < 0)
			printf("delete failed: %s\n", strerror(-ret));
		else
			printf("deleted %s\n", line + 4);
		fflush(stdout);
	}
	tun_destroy(tun);
	return 0;
}
