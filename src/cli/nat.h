/* nat.h - `lanrage nat`: NAT type, mapped endpoint and how they were found. */
#ifndef LANRAGE_CLI_NAT_H
#define LANRAGE_CLI_NAT_H

/* Returns a process exit code: 0 type known, 1 unknown or failure, 2 usage. */
int nat_command(int argc, char **argv);

#endif
