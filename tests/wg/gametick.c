/*
 * gametick.c - round trips of game-like traffic: one small UDP datagram per
 * tick at a fixed rate (absolute timer, like a game loop), echoed back.
 *
 *   gametick echo PORT                 answers every datagram, until killed
 *   gametick ping HOST PORT HZ COUNT [wander]
 *                                      prints "sent S answered A avg P50 P99" (ms);
 *                                      wander: each tick from a CPU picked at random,
 *                                      as a game thread the scheduler moves about
 *
 * GAMETICK_BYTES=N (ping side) sends N-byte datagrams instead of 64 (8-1400).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { PAYLOAD = 64, MAX_PAYLOAD = 1400 };

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int number(const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < lo || v > hi) {
		fprintf(stderr, "gametick: %s: expected a number from %ld to %ld\n", s, lo, hi);
		exit(2);
	}
	return (int)v;
}

static int echo(int port)
{
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	uint8_t buf[MAX_PAYLOAD];

	if (fd < 0 || bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0) {
		perror("gametick: echo socket");
		return 1;
	}
	for (;;) {
		struct sockaddr_in from;
		socklen_t len = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);

		if (n > 0)
			sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, len);
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Moves the calling thread to a CPU picked at random among those it may use. */
static void wander(void)
{
	static cpu_set_t all;
	static int n;
	cpu_set_t one;
	int pick;

	if (!n) {
		if (sched_getaffinity(0, sizeof(all), &all) < 0 || !(n = CPU_COUNT(&all)))
			return;
	}
	pick = rand() % n;
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (CPU_ISSET(c, &all) && pick-- == 0) {
			CPU_ZERO(&one);
			CPU_SET(c, &one);
			sched_setaffinity(0, sizeof(one), &one);
			return;
		}
	}
}

static int ping(const char *host, int port, int hz, int count, int wandering)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), answered = 0;
	uint64_t *rtt = calloc((size_t)count, sizeof(*rtt)), sum = 0;
	const char *bytes = getenv("GAMETICK_BYTES");
	size_t size = bytes ? (size_t)number(bytes, 8, MAX_PAYLOAD) : PAYLOAD;
	struct timespec next;

	if (inet_pton(AF_INET, host, &to.sin_addr) != 1) {
		fprintf(stderr, "gametick: %s: not an IPv4 address\n", host);
		return 2;
	}
	if (!rtt || fd < 0 || connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0) {
		perror("gametick: ping socket");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (int i = 0; i < count; i++) {
		uint8_t buf[MAX_PAYLOAD] = { 0 };
		uint64_t sent, back;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		next.tv_nsec += 1000000000 / hz;
		if (next.tv_nsec >= 1000000000) {
			next.tv_nsec -= 1000000000;
			next.tv_sec++;
		}
		if (wandering)
			wander();
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
		sent = mono_ns();
		memcpy(buf, &sent, sizeof(sent));
		if (send(fd, buf, size, 0) < 0)
			continue;
		/* Wait for this tick's answer until the next tick; a late one is lost. */
		while (poll(&pfd, 1, 1000 / hz) > 0 &&
		       recv(fd, buf, sizeof(buf), 0) == (ssize_t)size) {
			memcpy(&back, buf, sizeof(back));
			if (back == sent) {
				rtt[answered++] = mono_ns() - sent;
				break;
			}
		}
	}
	if (!answered) {
		printf("sent %d answered 0\n", count);
		return 1;
	}
	qsort(rtt, (size_t)answered, sizeof(*rtt), cmp_u64);
	for (int i = 0; i < answered; i++)
		sum += rtt[i];
	printf("sent %d answered %d avg %.3f p50 %.3f p99 %.3f\n", count, answered,
	       (double)sum / answered / 1e6, (double)rtt[answered / 2] / 1e6,
	       (double)rtt[answered * 99 / 100] / 1e6);
	free(rtt);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "echo") == 0)
		return echo(number(argv[2], 1, 65535));
	if ((argc == 6 || (argc == 7 && strcmp(argv[6], "wander") == 0)) &&
	    strcmp(argv[1], "ping") == 0)
		return ping(argv[2], number(argv[3], 1, 65535), number(argv[4], 1, 1000),
		            number(argv[5], 1, 1000000), argc == 7);
	fprintf(stderr, "usage: gametick echo PORT | gametick ping HOST PORT HZ COUNT [wander]\n");
	return 2;
}
