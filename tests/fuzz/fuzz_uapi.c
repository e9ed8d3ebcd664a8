/* fuzz_uapi.c - the UAPI set operation, line by line, then get. */
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/rand.h"
#include "crypto/secret.h"
#include "fuzz.h"
#include "util/grace.h"
#include "wg/device.h"
#include "wg/uapi.h"

static struct event_base *base;
static struct wg_device *dev;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uapi_set set;
	char *text, *line, *save = NULL, *out;
	size_t len;
	struct tun *tun;

	if (!dev) {
		if (!rand_init() || tun_pipe_create(&tun, "fuzz0", 1420) < 0)
			abort();
		base = event_base_new();
		dev = wg_device_create(base, tun, NULL, NULL);
		if (!dev)
			abort();
	}
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	uapi_set_begin(&set, dev);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		uapi_set_line(&set, line);
	(void)uapi_set_end(&set);
	out = uapi_get(dev, &len);
	if (out) {
		secret_zero(out, len);
		free(out);
	}
	/* Start the next input from a clean device. */
	wg_device_remove_all_peers(dev);
	wg_device_set_private_key(dev, NULL);
	wg_device_commit(dev);
	event_base_loop(base, EVLOOP_NONBLOCK);
	grace_collect(&dev->grace, NULL, NULL);
	free(text);
	return 0;
}
