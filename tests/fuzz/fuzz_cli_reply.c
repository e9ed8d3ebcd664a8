/* fuzz_cli_reply.c - the CLI's reading of an HTTP answer, from whatever listens on the API's port.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *body;
	int status;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	if (client_parse_response(buf, size, &status, &body)) {
		/* A status the CLI can map, and a body inside what was read. */
		if (status < 100 || status > 599 || body < buf || body > buf + size)
			abort();
		json_decref(json_loads(body, 0, NULL));
	}
	free(buf);
	return 0;
}
