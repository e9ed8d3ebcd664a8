/* main.c - lanrage-wg: the userspace WireGuard data plane alone, configured with `wg`. */
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "crypto/rand.h"
#include "tun/iface.h"
#include "util/num.h"
#include "util/err.h"
#include "util/log.h"
#include "wg/device.h"
#include "wg/ipc.h"

enum { DEFAULT_MTU = 1420 };

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: lanrage-wg [-f|--foreground] INTERFACE\n"
	        "       lanrage-wg --stats INTERFACE\n"
	        "\n"
	        "Creates the TUN interface INTERFACE and runs a userspace WireGuard device on\n"
	        "it, configured with `wg` over /var/run/wireguard/INTERFACE.sock, like\n"
	        "wireguard-go.  Without -f it moves to the background once ready.\n"
	        "--stats prints a running device's packet and drop counters.\n"
	        "\n"
	        "Environment:\n"
	        "  LOG_LEVEL=error|info|debug   how much to log (default info)\n"
	        "  WG_PROCESS_FOREGROUND=1      same as -f\n"
	        "  LANRAGE_WG_SOCKET_DIR=DIR    socket directory (default /var/run/wireguard)\n"
	        "  LANRAGE_WG_WORKERS=N         packet workers (default: cores, at most 4)\n"
	        "  LANRAGE_WG_SPIN_US=N         polling after traffic before a worker sleeps\n"
	        "                               (default 200; more costs CPU, saves latency)\n"
	        "  LANRAGE_WG_BUSY_SPIN_US=N    ...while traffic is dense (default 20000)\n"
	        "  LANRAGE_WG_PREDICT=0|1       wake just before periodic traffic is due\n"
	        "                               (default 1)\n"
	        "  LANRAGE_WG_SOCKET_BUFFER=B   UDP socket buffer bytes (default 524288)\n"
	        "  LANRAGE_WG_OFFLOAD=0|1       segmentation offloads (TSO/GSO/GRO; default 1)\n"
	        "  LANRAGE_WG_NICE=N            the packet workers' nice value (default 0)\n"
	        "  LANRAGE_WG_CPU_LOCAL=0|1     sparse traffic handled on the CPU it comes from\n"
	        "                               (default 1; needs CAP_BPF)\n"
	        "  LANRAGE_WG_PRIORITY=0|1      small packets other than TCP (games, pings) by\n"
	        "                               real-time workers of their own (default 1;\n"
	        "                               needs CAP_BPF and CAP_SYS_NICE)\n"
	        "  LANRAGE_WG_PRIO_BUDGET_PCT=N ...which stand aside while busier than this\n"
	        "                               (default 20)\n"
	        "  LANRAGE_WG_AQM_TARGET_US=N   queue control: drop bulk TCP that waited longer\n"
	        "                               than this in our socket (default 500; 0 off)\n"
	        "  LANRAGE_WG_AQM_INTERVAL_US=N ...for this long (default 10000)\n"
	        "  LANRAGE_WG_AQM_MIN_BACKLOG=N ...with this many datagrams queued behind it "
	        "(default 4)\n"
	        "  LANRAGE_WG_TIME_SCALE=N      tests only: run protocol timers N times faster\n"
	        "  LANRAGE_WG_REKEY_AFTER_MESSAGES=N  tests only: rekey after N messages\n");
}

/* Asks a running device for its counters over the UAPI socket ("stats=1"). */
static int print_stats(const char *ifname)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *dir = getenv("LANRAGE_WG_SOCKET_DIR");
	char buf[8192];
	size_t len = 0;
	ssize_t n;
	int fd;

	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s.sock",
	             dir ? dir : "/var/run/wireguard", ifname) >= (int)sizeof(sa.sun_path)) {
		fprintf(stderr, "lanrage-wg: interface name too long\n");
		return 2;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "lanrage-wg: %s: %s\n", sa.sun_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	if (write(fd, "stats=1\n\n", 9) != 9) {
		fprintf(stderr, "lanrage-wg: %s: %s\n", sa.sun_path, strerror(errno));
		close(fd);
		return 1;
	}
	while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0) {
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, "errno="))
			break;
	}
	close(fd);
	buf[len] = '\0';
	if (!strstr(buf, "errno=0")) {
		fprintf(stderr, "lanrage-wg: %s: no statistics in the reply\n", sa.sun_path);
		return 1;
	}
	*strstr(buf, "errno=") = '\0';
	fputs(buf, stdout);
	return 0;
}

struct program {
	struct event_base *base;
	int exit_code;
};

static void stop(void *ctx)
{
	struct program *prog = ctx;

	event_base_loopbreak(prog->base);
}

static void on_signal(evutil_socket_t sig, short what, void *ctx)
{
	log_info("received %s, shutting down", strsignal((int)sig));
	stop(ctx);
}

static void on_tun_gone(void *ctx)
{
	log_info("the interface was removed, shutting down");
	stop(ctx);
}

/* Forks; the parent exits once the child reports readiness on the pipe (or fails). */
static int daemonize(int *ready_fd)
{
	int fds[2];
	pid_t pid;
	char status = 1;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(fds[1]);
		if (read(fds[0], &status, 1) != 1)
			status = 1;
		_exit(status);
	}
	close(fds[0]);
	setsid();
	*ready_fd = fds[1];
	return 0;
}

static void report_ready(int ready_fd, char status)
{
	if (ready_fd < 0)
		return;
	if (write(ready_fd, &status, 1) < 0)
		return;
	close(ready_fd);
	if (status == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			close(null);
		}
	}
}

/* Reads an optional numeric setting from the environment within [min, max]. */
static bool env_number(const char *name, long long min, long long max, long long *out)
{
	const char *v = getenv(name);
	int64_t n;

	if (!v)
		return true;
	if (!num_parse_i64(v, min, max, &n)) {
		fprintf(stderr, "lanrage-wg: %s must be a number from %lld to %lld\n", name, min,
		        max);
		return false;
	}
	*out = n;
	return true;
}

static bool read_config(struct wg_config *cfg, int *queues, bool *offload)
{
	long long scale = 1, msgs = 0, buffer = WG_DEFAULT_SOCKET_BUFFER, spin = WG_DEFAULT_SPIN_US;
	long long busy_spin = WG_DEFAULT_BUSY_SPIN_US;
	long long offloads = 1, nice = WG_DEFAULT_NICE, predict = 1, cpu_local = 1, prio = 1;
	long long prio_budget = WG_DEFAULT_PRIO_BUDGET_PCT;
	long long aqm_target = WG_DEFAULT_AQM_TARGET_US, aqm_interval = WG_DEFAULT_AQM_INTERVAL_US;
	long long aqm_backlog = WG_DEFAULT_AQM_MIN_BACKLOG;
	long long workers = sysconf(_SC_NPROCESSORS_ONLN);
	struct wg_timing *t = &cfg->timing;

	if (workers < 1)
		workers = 1;
	if (workers > 4)
		workers = 4;
	if (!env_number("LANRAGE_WG_TIME_SCALE", 1, 1000, &scale) ||
	    !env_number("LANRAGE_WG_REKEY_AFTER_MESSAGES", 0, INT64_MAX, &msgs) ||
	    !env_number("LANRAGE_WG_SOCKET_BUFFER", 0, 1 << 30, &buffer) ||
	    !env_number("LANRAGE_WG_SPIN_US", 0, 100000, &spin) ||
	    !env_number("LANRAGE_WG_BUSY_SPIN_US", 0, 100000, &busy_spin) ||
	    !env_number("LANRAGE_WG_WORKERS", 1, WG_MAX_WORKERS, &workers) ||
	    !env_number("LANRAGE_WG_OFFLOAD", 0, 1, &offloads) ||
	    !env_number("LANRAGE_WG_PREDICT", 0, 1, &predict) ||
	    !env_number("LANRAGE_WG_NICE", -20, 19, &nice) ||
	    !env_number("LANRAGE_WG_CPU_LOCAL", 0, 1, &cpu_local) ||
	    !env_number("LANRAGE_WG_PRIORITY", 0, 1, &prio) ||
	    !env_number("LANRAGE_WG_PRIO_BUDGET_PCT", 1, 100, &prio_budget) ||
	    !env_number("LANRAGE_WG_AQM_TARGET_US", 0, 1000000, &aqm_target) ||
	    !env_number("LANRAGE_WG_AQM_INTERVAL_US", 1000, 10000000, &aqm_interval) ||
	    !env_number("LANRAGE_WG_AQM_MIN_BACKLOG", 0, 4096, &aqm_backlog))
		return false;
	*offload = offloads;
	wg_config_default(cfg);
	cfg->socket_buffer = (int)buffer;
	cfg->spin_us = (unsigned)spin;
	cfg->busy_spin_us = (unsigned)busy_spin;
	cfg->predict = predict;
	cfg->worker_nice = (int)nice;
	cfg->cpu_local = cpu_local;
	cfg->priority = prio;
	cfg->prio_budget_pct = (unsigned)prio_budget;
	cfg->aqm_target_us = (unsigned)aqm_target;
	cfg->aqm_interval_us = (unsigned)aqm_interval;
	cfg->aqm_min_backlog = (unsigned)aqm_backlog;
	*queues = wg_config_queues(cfg, (int)workers);
	if (scale > 1) {
		wg_timing_scale(t, (unsigned)scale);
		log_info("test setting: protocol timers run %lld times faster", scale);
	}
	if (msgs) {
		t->rekey_after_messages = (uint64_t)msgs;
		log_info("test setting: rekey after %lld messages", msgs);
	}
	return true;
}

int main(int argc, char **argv)
{
	struct program prog = { .exit_code = 1 };
	const char *ifname = NULL, *level = getenv("LOG_LEVEL");
	bool foreground =
	    getenv("WG_PROCESS_FOREGROUND") && strcmp(getenv("WG_PROCESS_FOREGROUND"), "1") == 0;
	struct event *sigint = NULL, *sigterm = NULL;
	struct wg_device *dev = NULL;
	struct ipc *ipc = NULL;
	struct wg_config cfg;
	struct tun *tun;
	enum log_level ll;
	int ready_fd = -1, queues, ret;
	bool offload;
	errmsg err;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-f") == 0 || strcmp(argv[i], "--foreground") == 0) {
			foreground = true;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--stats") == 0 && i + 1 < argc) {
			return print_stats(argv[i + 1]);
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("lanrage-wg %s\n", LANRAGE_VERSION);
			return 0;
		} else if (!ifname && argv[i][0] != '-') {
			ifname = argv[i];
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (!ifname) {
		usage(stderr);
		return 2;
	}
	log_init("lanrage-wg");
	if (level) {
		if (!log_level_parse(level, &ll)) {
			fprintf(stderr, "lanrage-wg: LOG_LEVEL must be error, info or debug\n");
			return 2;
		}
		log_set_level(ll);
	}
	if (strlen(ifname) >= IF_NAMESIZE || strchr(ifname, '/')) {
		fprintf(stderr, "lanrage-wg: invalid interface name `%s'\n", ifname);
		return 2;
	}
	if (!read_config(&cfg, &queues, &offload))
		return 2;
	if (!rand_init()) {
		fprintf(stderr, "lanrage-wg: cannot initialise the crypto library\n");
		return 1;
	}
	if (!foreground && daemonize(&ready_fd) < 0) {
		fprintf(stderr, "lanrage-wg: cannot move to the background: %s\n", strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);

	ret = tun_linux_create(&tun, ifname, queues, offload);
	if (ret < 0) {
		log_error("%s: cannot create the TUN interface: %s", ifname, strerror(-ret));
		goto out;
	}
	if ((ret = iface_set_mtu(tun->name, DEFAULT_MTU)) < 0) {
		log_error("%s: cannot set the MTU: %s", tun->name, strerror(-ret));
		tun_destroy(tun);
		goto out;
	}
	tun->mtu = DEFAULT_MTU;
	prog.base = event_base_new();
	if (!prog.base) {
		log_error("cannot create the event loop");
		tun_destroy(tun);
		goto out;
	}
	dev = wg_device_create(prog.base, tun, &cfg, err);
	if (!dev) {
		log_error("%s: %s", ifname, err);
		tun_destroy(tun);
		goto out;
	}
	wg_device_set_tun_gone_handler(dev, on_tun_gone, &prog);
	ret = wg_device_start(dev);
	if (ret < 0) {
		log_error("%s: cannot start: %s", ifname, strerror(-ret));
		goto out;
	}
	ipc = ipc_create(dev, getenv("LANRAGE_WG_SOCKET_DIR"), stop, &prog, err);
	if (!ipc) {
		log_error("%s: UAPI socket: %s", ifname, err);
		goto out;
	}
	sigint = evsignal_new(prog.base, SIGINT, on_signal, &prog);
	sigterm = evsignal_new(prog.base, SIGTERM, on_signal, &prog);
	if (!sigint || !sigterm || evsignal_add(sigint, NULL) < 0 ||
	    evsignal_add(sigterm, NULL) < 0) {
		log_error("cannot handle signals");
		goto out;
	}
	log_info("%s: up (UDP port %u, MTU %d, %d worker%s, %d priority, offloads:%s%s%s%s)",
	         ifname, wg_device_port(dev), tun->mtu, dev->steer.n, dev->steer.n == 1 ? "" : "s",
	         dev->steer.n_prio, tun->tso ? " tso" : "", tun->uso ? " uso" : "",
	         dev->udp[0].gso ? " udp-gso" : "", dev->udp[0].gro ? " udp-gro" : "");

	report_ready(ready_fd, 0);
	ready_fd = -1;
	event_base_dispatch(prog.base);
	prog.exit_code = 0;
out:
	report_ready(ready_fd, 1);
	if (sigint)
		event_free(sigint);
	if (sigterm)
		event_free(sigterm);
	ipc_destroy(ipc);
	wg_device_destroy(dev);
	if (prog.base)
		event_base_free(prog.base);
	log_info("%s: down", ifname);
	return prog.exit_code;
}
