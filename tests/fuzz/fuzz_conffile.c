/* fuzz_conffile.c - lanraged.conf from untrusted bytes: the syntax, then every key's validator.
 *
 * Accepted entries must have keys of [a-z0-9_] and printable values; a
 * refusal must name a line inside the text and say why; a value a validator
 * accepts must read back in a form it accepts again.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon/conffile.h"
#include "daemon/config.h"
#include "fuzz.h"
#include "util/err.h"
#include "util/utf8.h"

static struct daemon_config cfg;

static bool entry(void *arg, unsigned line, const char *key, const char *value, char *err)
{
	enum config_key k;
	char back[4096];

	if (!*key || strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(key) ||
	    !utf8_is_printable(value, strlen(value)) || line == 0)
		abort();
	err[0] = '\0';
	if (!config_set(&cfg, key, value, err)) {
		if (!err[0])
			abort();
		return true; /* refused values are the validators' business; read on */
	}
	if (!config_key_lookup(key, &k))
		abort();
	config_get(&cfg, k, back, sizeof(back));
	if (!config_set(&cfg, key, back, err))
		abort();
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	static struct daemon_config defaults;
	unsigned line = 0, lines = 1;
	errmsg err = "";

	if (!init) {
		config_default(&defaults);
		init = true;
	}
	cfg = defaults;
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	if (!conffile_parse((const char *)data, size, entry, NULL, &line, err)) {
		if (!err[0] || line > lines || (line == 0 && size <= CONFFILE_MAX_BYTES))
			abort();
	}
	return 0;
}
