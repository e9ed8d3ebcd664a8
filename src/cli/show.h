/* show.h - `lanrage status`, `peers`, `ping`, and `nat` without --stun: reads from lanraged. */
#ifndef LANRAGE_CLI_SHOW_H
#define LANRAGE_CLI_SHOW_H

#include "cli/client.h"

/* Each takes the command's argv (argv[0] the command) and returns an enum client_exit. */
int show_status(struct client *c, int argc, char **argv);
int show_peers(struct client *c, int argc, char **argv);
/* Exit 1 when no probe was answered, as ping(8). */
int show_ping(struct client *c, int argc, char **argv);
int show_nat(struct client *c, int argc, char **argv);

#endif
