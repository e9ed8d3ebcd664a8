/* setting.h - `lanrage settings [get KEY | set KEY VALUE | unset KEY]` over lanraged's API. */
#ifndef LANRAGE_CLI_SETTING_H
#define LANRAGE_CLI_SETTING_H

#include "cli/client.h"

/* argv[0] is "settings"; returns an enum client_exit. */
int setting_command(struct client *c, int argc, char **argv);

#endif
