/* table.h - aligned columns for the CLI's human output (UTF-8 aware). */
#ifndef LANRAGE_CLI_TABLE_H
#define LANRAGE_CLI_TABLE_H

#include <jansson.h>

/* Display width of UTF-8 text: one column per code point (good enough for names). */
int table_width(const char *s);
/* Prints s padded with spaces to w columns (no padding when w is 0 or too small). */
void table_cell(const char *s, int w);
/*
 * A JSON array of objects as n columns (at most 8): a header line of heads,
 * then each object's string fields keys ("-" for a missing, null or empty one).
 */
void table_print(const json_t *list, const char *const *keys, const char *const *heads, int n);

#endif
