/* library.h - `lanrage favorites` and `lanrage profiles`: what lanraged keeps for the user. */
#ifndef LANRAGE_CLI_LIBRARY_H
#define LANRAGE_CLI_LIBRARY_H

#include "cli/client.h"

/* argv[0] is "favorites": list, add NAME ADDRESS [GAME], remove ID; an enum client_exit. */
int favorites_command(struct client *c, int argc, char **argv);
/* argv[0] is "profiles": list, show NAME, set NAME JSON [GAME], remove NAME. */
int profiles_command(struct client *c, int argc, char **argv);

#endif
