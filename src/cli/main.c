/* main.c - lanrage, the command-line client. */
#include <stdio.h>
#include <string.h>

#include "cli/keys.h"
#include "cli/nat.h"
#include "crypto/rand.h"

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "genkey", keys_genkey, "Print a new private key (base64, as `wg genkey`)" },
	{ "pubkey", keys_pubkey, "Read a private key on stdin, print its public key" },
	{ "party-id", keys_party_id, "Print a new party id, or check and normalise one" },
	{ "nat", nat_command, "Find this host's NAT type with a STUN server (RFC 5780)" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: lanrage COMMAND [ARGS]\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "  %-10s %s\n", "version", "Print the version");
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("lanrage %s\n", LANRAGE_VERSION);
		return 0;
	}
	if (!rand_init()) {
		fprintf(stderr, "lanrage: cannot initialise the crypto library\n");
		return 1;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	}
	fprintf(stderr, "lanrage: unknown command `%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}
