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

static const char *field(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s && *s ? s : "-";
}

void table_print(const json_t *list, const char *const *keys, const char *const *heads, int n)
{
	const json_t *item;
	int w[8];
	size_t i;

	for (int k = 0; k < n; k++)
		w[k] = table_width(heads[k]);
	json_array_foreach(list, i, item)
	{
		for (int k = 0; k < n; k++) {
			int width = table_width(field(item, keys[k]));

			if (width > w[k])
				w[k] = width;
		}
	}
	for (int k = 0; k < n; k++)
		k < n - 1 ? table_cell(heads[k], w[k] + 2) : (void)printf("%s", heads[k]);
	printf("\n");
	json_array_foreach(list, i, item)
	{
		for (int k = 0; k < n; k++)
			k < n - 1 ? table_cell(field(item, keys[k]), w[k] + 2)
			          : (void)printf("%s", field(item, keys[k]));
		printf("\n");
	}
}
