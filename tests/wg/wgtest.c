/* wgtest.c - a test helper that plays a hostile network: replays captured packets, floods
 * handshakes. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crypto/key.h"
#include "crypto/rand.h"
#include "util/addr.h"
#include "util/now.h"
#include "wg/cookie.h"
#include "wg/messages.h"

static int open_socket(const struct addr *to)
{
	int fd = socket(to->sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || connect(fd, &to->sa, addr_len(to)) < 0) {
		perror("wgtest: socket");
		exit(1);
	}
	return fd;
}

/*
 * replay PCAP HOST:PORT: sends again every WireGuard data message (type 4)
 * found in a pcap capture (Ethernet or Linux cooked, IPv4, UDP).
 */
static int replay(const char *pcap, const char *dest)
{
	uint8_t hdr[24], rec[16], frame[65536];
	struct addr to;
	unsigned linktype;
	int fd, sent = 0;
	FILE *f = fopen(pcap, "rb");

	if (!f || !addr_parse(&to, dest, NULL) || fread(hdr, 1, 24, f) != 24) {
		fprintf(stderr, "wgtest replay: cannot read %s or parse %s\n", pcap, dest);
		return 2;
	}
	linktype = hdr[20] | hdr[21] << 8 | (unsigned)hdr[22] << 16 | (unsigned)hdr[23] << 24;
	fd = open_socket(&to);
	while (fread(rec, 1, 16, f) == 16) {
		unsigned caplen =
		    rec[8] | rec[9] << 8 | (unsigned)rec[10] << 16 | (unsigned)rec[11] << 24;
		size_t l2 = linktype == 113 ? 16 : 14, ihl;
		uint8_t *ip, *udp, *payload;
		size_t plen;

		if (caplen > sizeof(frame) || fread(frame, 1, caplen, f) != caplen)
			break;
		if (caplen < l2 + 28)
			continue;
		ip = frame + l2;
		ihl = (size_t)(ip[0] & 15) * 4;
		if (ip[0] >> 4 != 4 || ip[9] != 17 || caplen < l2 + ihl + 8)
			continue;
		udp = ip + ihl;
		payload = udp + 8;
		plen = caplen - l2 - ihl - 8;
		if (plen < MSG_DATA_MIN_LEN || payload[0] != MSG_DATA)
			continue;
		if (send(fd, payload, plen, 0) == (ssize_t)plen)
			sent++;
	}
	fclose(f);
	close(fd);
	printf("replayed=%d\n", sent);
	return sent > 0 ? 0 : 1;
}

/*
 * flood PUBKEY HOST:PORT SECONDS: sends initiations with a valid mac1 for the
 * responder's key (and garbage inside) as fast as possible; counts the cookie
 * replies that come back and checks each one decrypts.
 */
static int flood(const char *pubkey, const char *dest, const char *seconds)
{
	enum { RING = 1 << 16 };
	static struct {
		uint32_t index;
		uint8_t mac1[MAC_LEN];
	} ring[RING];
	struct cookie_maker maker;
	struct msg_initiation msg;
	struct msg_cookie_reply reply;
	struct addr to;
	wg_key pub;
	uint64_t end;
	long sent = 0, cookies = 0, valid = 0;
	int fd;

	if (!key_from_base64(pub, pubkey, NULL) || !addr_parse(&to, dest, NULL)) {
		fprintf(stderr, "wgtest flood: bad key or endpoint\n");
		return 2;
	}
	cookie_maker_init(&maker, pub);
	fd = open_socket(&to);
	end = now_mono_ns() + (uint64_t)atoi(seconds) * NS_PER_SEC;
	while (now_mono_ns() < end) {
		for (int i = 0; i < 64; i++) {
			rand_bytes(&msg, sizeof(msg));
			msg.header.type = MSG_INITIATION;
			memset(msg.header.reserved, 0, 3);
			cookie_add_macs(&maker, (uint8_t *)&msg, sizeof(msg), now_mono_ns());
			if (send(fd, &msg, sizeof(msg), MSG_DONTWAIT) == sizeof(msg)) {
				uint32_t index = le32_load(msg.sender_index);

				ring[index % RING].index = index;
				memcpy(ring[index % RING].mac1, msg.macs.mac1, MAC_LEN);
				sent++;
			} else if (errno == EAGAIN)
				poll(&(struct pollfd){ .fd = fd, .events = POLLOUT }, 1, 1);
		}
		while (recv(fd, &reply, sizeof(reply), MSG_DONTWAIT) == sizeof(reply)) {
			if (reply.header.type != MSG_COOKIE_REPLY)
				continue;
			cookies++;
			/* A reply is sealed with the mac1 of the message it answers. */
			uint32_t index = le32_load(reply.receiver_index);

			if (ring[index % RING].index != index)
				continue;
			memcpy(maker.last_mac1_sent, ring[index % RING].mac1, MAC_LEN);
			maker.have_sent_mac1 = true;
			valid += cookie_consume_reply(&maker, &reply, now_mono_ns());
		}
	}
	close(fd);
	printf("sent=%ld cookies=%ld valid=%ld\n", sent, cookies, valid);
	return 0;
}

int main(int argc, char **argv)
{
	if (!rand_init())
		return 1;
	if (argc == 4 && strcmp(argv[1], "replay") == 0)
		return replay(argv[2], argv[3]);
	if (argc == 5 && strcmp(argv[1], "flood") == 0)
		return flood(argv[2], argv[3], argv[4]);
	fprintf(stderr, "Usage: wgtest replay PCAP HOST:PORT\n"
	                "       wgtest flood PUBKEY HOST:PORT SECONDS\n");
	return 2;
}
