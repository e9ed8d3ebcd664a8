/* main.c - lanrage, the command-line client: local commands, and lanraged's API. */
#include <stdio.h>
#include <string.h>

#include "cli/client.h"
#include "cli/keys.h"
#include "cli/library.h"
#include "cli/nat.h"
#include "cli/party.h"
#include "cli/setting.h"
#include "cli/show.h"
#include "cli/ui.h"
#include "crypto/rand.h"

/* Commands that need no daemon. */
static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;
	const char *help;
} local_commands[] = {
	{ "genkey", keys_genkey, "genkey", "print a new private key (base64, as `wg genkey`)" },
	{ "pubkey", keys_pubkey, "pubkey", "read a private key on stdin, print its public key" },
	{ "party-id", keys_party_id, "party-id [ID]",
	  "print a new party id, or check and normalise one" },
};

/* Commands over lanraged's local API. */
static const struct api_command {
	const char *name;
	int (*run)(struct client *c, int argc, char **argv);
	const char *args;
	const char *help;
} api_commands[] = {
	{ "status", show_status, "", "The daemon: identity, interface, control plane, NAT, party" },
	{ "party", party_command, "create NAME | join ID | leave",
	  "Create, join or leave a party" },
	{ "peers", show_peers, "", "The party's members: address, state, path, RTT, NAT" },
	{ "ping", show_ping, "PEER [-c N]", "Ping a member through the tunnel" },
	{ "nat", show_nat, "[--stun HOST[:PORT]]",
	  "NAT type: as lanraged found it, or standalone with --stun" },
	{ "settings", setting_command, "[get KEY | set KEY VALUE | unset KEY]",
	  "lanraged's settings and where each comes from" },
	{ "ui", ui_command, "", "Print the address that opens the web UI in a browser, signed in" },
	{ "favorites", favorites_command, "[add NAME ADDRESS [GAME] | remove ID]",
	  "Game servers kept for later" },
	{ "profiles", profiles_command, "[show NAME | set NAME JSON [GAME] | remove NAME]",
	  "Per-game profiles (JSON objects) kept by lanraged" },
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: lanrage [--api ADDR:PORT] [--token-file PATH] [--json] COMMAND [ARGS]\n"
	    "\n"
	    "Commands over lanraged's local API:\n"
	    "  status                  the daemon: identity, interface, control plane, NAT, party\n"
	    "  party create NAME       create a party; prints the id to give friends\n"
	    "  party join ID           join a friend's party\n"
	    "  party leave             leave the party\n"
	    "  party kick PEER         (the host) remove a member; it may not join again\n"
	    "  party bans              (the host) the members it removed\n"
	    "  party unban PEER        (the host) let a removed member join again\n"
	    "  peers                   the members: virtual IP, state, path, RTT, NAT type\n"
	    "  ping PEER [-c N]        ping a member (name, peer id or virtual IP) N times\n"
	    "  nat                     the NAT type lanraged found\n"
	    "  settings                every setting, its value and where it comes from\n"
	    "  settings get KEY        one setting's value\n"
	    "  settings set KEY VALUE  store a setting in lanraged's database\n"
	    "  settings unset KEY      forget a stored setting\n"
	    "  ui                      the address of the web UI, signed in (keep it private)\n"
	    "  favorites               the game servers kept (favorites add NAME ADDRESS [GAME],\n"
	    "                          favorites remove ID)\n"
	    "  profiles                the game profiles kept (profiles show NAME,\n"
	    "                          profiles set NAME JSON-OBJECT [GAME], profiles remove "
	    "NAME)\n"
	    "\n"
	    "Local commands:\n"
	    "  nat --stun HOST[:PORT]  find this host's NAT type without lanraged (RFC 5780)\n");
	for (size_t i = 0; i < sizeof(local_commands) / sizeof(local_commands[0]); i++)
		fprintf(f, "  %-23s %s\n", local_commands[i].usage, local_commands[i].help);
	fprintf(f, "  %-23s %s\n", "version", "the version");
	fprintf(f, "\nOptions (before or after the command):\n"
	           "  --api ADDR:PORT    lanraged's API (127.0.0.1:8666)\n"
	           "  --token-file PATH  the API token (/var/lib/lanrage/api.token as root,\n"
	           "                     else ~/.local/state/lanrage/api.token)\n"
	           "  --json             print the API's JSON answer as it is\n"
	           "  --                 what follows is arguments, not options\n"
	           "\nExit status:\n"
	           "  0  success\n"
	           "  1  lanraged refused or failed (its error is printed); ping: no reply\n"
	           "  2  usage error\n"
	           "  3  lanraged not reachable (is lanraged running?)\n"
	           "  4  the token file cannot be read\n");
}

static bool is_help(const char *a)
{
	return strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0 || strcmp(a, "help") == 0;
}

/* `lanrage nat --stun ...` (and its --help) is the standalone RFC 5780 run. */
static bool nat_standalone(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--stun") == 0 || is_help(argv[i]))
			return true;
	}
	return false;
}

static int run_api(const struct api_command *cmd, struct client *c, int argc, char **argv)
{
	int rc = client_options(c, &argc, argv);

	if (rc == EXIT_OK) {
		if (argc > 1 && is_help(argv[1])) {
			printf("Usage: lanrage %s %s\n%s.\n", cmd->name, cmd->args, cmd->help);
			return EXIT_OK;
		}
		rc = cmd->run(c, argc, argv);
	}
	client_clear(c);
	return rc;
}

int main(int argc, char **argv)
{
	char json_flag[] = "--json";
	struct client c;
	int first, rc;

	client_init(&c);
	/* Global options before the command; those after it are taken by run_api. */
	for (first = 1; first < argc; first++) {
		if (strcmp(argv[first], "--json") == 0) {
			c.json = true;
		} else if (strcmp(argv[first], "--api") == 0 ||
		           strcmp(argv[first], "--token-file") == 0) {
			char *pair[] = { argv[0], argv[first],
				         first + 1 < argc ? argv[first + 1] : NULL, NULL };
			int n = pair[2] ? 3 : 2;

			if (client_options(&c, &n, pair) != EXIT_OK)
				return EXIT_USAGE;
			first++;
		} else {
			break;
		}
	}
	argc -= first - 1;
	argv += first - 1;
	if (argc < 2 || is_help(argv[1])) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("lanrage %s\n", LANRAGE_VERSION);
		return EXIT_OK;
	}
	if (!rand_init()) {
		fprintf(stderr, "lanrage: cannot initialise the crypto library\n");
		return EXIT_REFUSED;
	}
	for (size_t i = 0; i < sizeof(local_commands) / sizeof(local_commands[0]); i++) {
		if (strcmp(argv[1], local_commands[i].name) == 0)
			return local_commands[i].run(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "nat") == 0 && nat_standalone(argc - 1, argv + 1)) {
		/* A --json given before `nat' belongs to it too. */
		if (c.json && argc < 64) {
			char *args[66];

			memcpy(args, argv + 1, sizeof(char *) * (size_t)(argc - 1));
			args[argc - 1] = json_flag;
			args[argc] = NULL;
			return nat_command(argc, args);
		}
		return nat_command(argc - 1, argv + 1);
	}
	for (size_t i = 0; i < sizeof(api_commands) / sizeof(api_commands[0]); i++) {
		if (strcmp(argv[1], api_commands[i].name) == 0) {
			rc = run_api(&api_commands[i], &c, argc - 1, argv + 1);
			return rc;
		}
	}
	fprintf(stderr, "lanrage: unknown command `%s'\n\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
