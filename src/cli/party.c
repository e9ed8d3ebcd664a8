/* party.c - `lanrage party create/join/leave/kick`: the party id up front, and the line to give
 * friends. */
#include "cli/party.h"

#include <stdio.h>
#include <string.h>

static void usage(void)
{
	fprintf(stderr,
	        "Usage: lanrage party create NAME\n"
	        "       lanrage party join PARTY-ID\n"
	        "       lanrage party leave\n"
	        "       lanrage party kick PEER   (the host: a name, peer id or virtual IP;\n"
	        "                                  it may not join this party again)\n"
	        "       lanrage party unban PEER-ID (the host: let it join again)\n");
}

static const char *str(const json_t *obj, const char *key, const char *fallback)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s && *s ? s : fallback;
}

static void print_party(const json_t *r, bool created)
{
	const char *id = str(r, "party_id", "?");

	if (created) {
		printf("Party \"%s\" created.\n\n", str(r, "name", "?"));
		printf("    Party ID:  %s\n\n", id);
		printf("Friends join with:\n\n    lanrage party join %s\n\n", id);
	} else {
		printf("Joined party \"%s\" (%s).\n", str(r, "name", "?"), id);
		printf("Members: %lld, connected: %lld.\n",
		       (long long)json_integer_value(json_object_get(r, "members")),
		       (long long)json_integer_value(json_object_get(r, "connected")));
	}
	printf("Your virtual IP: %s\n", str(r, "virtual_ip", "not assigned yet"));
}

int party_command(struct client *c, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";
	json_t *body = NULL, *r = NULL;
	int rc;

	if (strcmp(sub, "create") == 0 && argc == 3) {
		body = json_pack("{s:s}", "name", argv[2]);
		rc = client_call(c, "POST", "/api/party", body, CLIENT_PARTY_TIMEOUT_MS, &r);
	} else if (strcmp(sub, "join") == 0 && argc == 3) {
		body = json_pack("{s:s}", "party_id", argv[2]);
		rc = client_call(c, "POST", "/api/party/join", body, CLIENT_PARTY_TIMEOUT_MS, &r);
	} else if (strcmp(sub, "leave") == 0 && argc == 2) {
		rc = client_call(c, "POST", "/api/party/leave", NULL, CLIENT_PARTY_TIMEOUT_MS, &r);
	} else if (strcmp(sub, "kick") == 0 && argc == 3) {
		body = json_pack("{s:s}", "peer", argv[2]);
		rc = client_call(c, "POST", "/api/party/kick", body, CLIENT_PARTY_TIMEOUT_MS, &r);
	} else if (strcmp(sub, "unban") == 0 && argc == 3) {
		body = json_pack("{s:s}", "peer", argv[2]);
		rc = client_call(c, "POST", "/api/party/unban", body, CLIENT_PARTY_TIMEOUT_MS, &r);
	} else {
		usage();
		return EXIT_USAGE;
	}
	json_decref(body);
	if (rc == EXIT_OK && !client_print_raw(c)) {
		if (strcmp(sub, "leave") == 0)
			printf("Left party %s.\n", str(r, "party_id", "?"));
		else if (strcmp(sub, "kick") == 0)
			printf("Removed %s (%s) from the party; it may not join it again\n"
			       "(lanrage party unban %s lets it).\n",
			       str(r, "name", "?"), str(r, "peer_id", "?"), str(r, "peer_id", "?"));
		else if (strcmp(sub, "unban") == 0)
			printf("%s may join the party again.\n", str(r, "peer_id", "?"));
		else
			print_party(r, strcmp(sub, "create") == 0);
	}
	json_decref(r);
	return rc;
}
