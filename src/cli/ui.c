/* ui.c - `lanrage ui`: the address that opens lanraged's web UI signed in. */
#include "cli/ui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/secret.h"

/*
 * The token travels in the address's fragment, which a browser never sends:
 * the page reads it, keeps it in the browser's storage for this origin, and
 * takes it out of the address bar.  The address is printed, not handed to
 * xdg-open: a command line is readable by every local user, the terminal is not.
 */
int ui_command(struct client *c, int argc, char **argv)
{
	char host[ADDR_STRLEN], url[ADDR_STRLEN + API_TOKEN_HEX + 32];
	json_t *st = NULL;
	int rc;

	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "Usage: lanrage ui [--json]\n");
		return EXIT_USAGE;
	}
	/* The daemon is there and takes this token: the address will work. */
	rc = client_call(c, "GET", "/api/status", NULL, CLIENT_TIMEOUT_MS, &st);
	json_decref(st);
	if (rc != EXIT_OK)
		return rc;
	snprintf(url, sizeof(url), "http://%s/#token=%s", addr_format(&c->api, host), c->token);
	if (c->json) {
		json_t *out = json_pack("{s:s}", "url", url);
		char *text = out ? json_dumps(out, JSON_COMPACT) : NULL;

		if (text)
			printf("%s\n", text);
		secret_zero(text, text ? strlen(text) : 0);
		free(text);
		json_decref(out);
	} else {
		printf("lanraged's web UI: open this address in a browser on this machine.\n"
		       "It signs the page in with the API token; do not share it.\n\n  %s\n",
		       url);
	}
	secret_zero(url, sizeof(url));
	return EXIT_OK;
}
