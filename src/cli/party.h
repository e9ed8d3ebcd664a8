/* party.h - `lanrage party create NAME | join ID | leave` over lanraged's API. */
#ifndef LANRAGE_CLI_PARTY_H
#define LANRAGE_CLI_PARTY_H

#include "cli/client.h"

/* argv[0] is "party"; returns an enum client_exit. */
int party_command(struct client *c, int argc, char **argv);

#endif
