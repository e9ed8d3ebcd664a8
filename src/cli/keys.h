/* keys.h - the CLI's offline commands: genkey, pubkey, party-id. */
#ifndef LANRAGE_CLI_KEYS_H
#define LANRAGE_CLI_KEYS_H

/* Each returns a process exit code. */
int keys_genkey(int argc, char **argv);
int keys_pubkey(int argc, char **argv);
int keys_party_id(int argc, char **argv);

#endif
