/* ui.h - `lanrage ui`: prints the address that opens the web UI signed in. */
#ifndef LANRAGE_CLI_UI_H
#define LANRAGE_CLI_UI_H

#include "cli/client.h"

int ui_command(struct client *c, int argc, char **argv);

#endif
