/* table.c - aligned columns for the CLI's human output. */
#include "cli/table.h"

#include <stdio.h>

int table_width(const char *s)
{
	int w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

void table_cell(const char *s, int w)
{
	int pad = w - table_width(s);

	printf("%s%*s", s, pad > 0 ? pad : 0, "");
}
