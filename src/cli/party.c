/* party.c - `lanrage party create/join/leave/kick/bans/unban`: the party id up front, and the
 * line to give friends. */
#include "cli/party.h"

#include <stdio.h>
#include <string.h>

#include "cli/table.h"
#include "control/peer.h"

static void usage(void)
{
	fprintf(stderr,
	        "Usage: lanrage party create NAME\n"
	        "       lanrage party join PARTY-ID\n"
	        "       lanrage party leave\n"
	        "       lanrage party kick PEER   (the host: a name, peer id or virtual IP;\n"
	        "                                  it may not join this party again)\n"
	        "       lanrage party bans        (the host: whom it removed)\n"
	        "       lanrage party unban PEER  (the host: let it join again; a name\n"
	        "                                  from `bans', or a peer id)\n");
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

/* The host's removed members as a table (name, peer id, when). */
static void print_bans(const json_t *r)
{
	static const char *const keys[] = { "name", "peer_id", "removed_at" };
	static const char *const heads[] = { "NAME", "PEER ID", "REMOVED AT" };
	const json_t *list = json_object_get(r, "removed");

	if (json_array_size(list) == 0)
		printf("Nobody was removed from the party.\n");
	else
		table_print(list, keys, heads, 3);
}

/*
 * `unban PEER': the peer id of the one removed member of that name, from the
 * list; else PEER itself when it is a peer id (the server says whether that
 * one was removed).  EXIT_OK with id set, or printed why not.
 */
static int unban_target(struct client *c, const char *peer, char id[PEER_ID_MAX + 1])
{
	const json_t *list, *b, *found = NULL;
	json_t *r = NULL;
	size_t i, n = 0;
	int rc;

	rc = client_call(c, "GET", "/api/party/bans", NULL, CLIENT_PARTY_TIMEOUT_MS, &r);
	if (rc != EXIT_OK)
		return rc;
	list = json_object_get(r, "removed");
	json_array_foreach(list, i, b)
	{
		if (strcmp(str(b, "name", ""), peer) == 0) {
			found = b;
			n++;
		}
	}
	if (n == 1)
		snprintf(id, PEER_ID_MAX + 1, "%s", str(found, "peer_id", ""));
	else if (n == 0 && peer_id_valid(peer))
		snprintf(id, PEER_ID_MAX + 1, "%s", peer);
	else if (n == 0)
		fprintf(stderr,
		        "lanrage: nobody called `%s' was removed from the party "
		        "(lanrage party bans lists whom)\n",
		        peer);
	else
		fprintf(stderr,
		        "lanrage: %zu removed members are called `%s': give the peer id "
		        "(lanrage party bans lists them)\n",
		        n, peer);
	json_decref(r);
	return n == 1 || (n == 0 && peer_id_valid(peer)) ? EXIT_OK : EXIT_REFUSED;
}

int party_command(struct client *c, int argc, char **argv)
{
	char id[PEER_ID_MAX + 1];
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
		rc = unban_target(c, argv[2], id);
		if (rc != EXIT_OK)
			return rc;
		body = json_pack("{s:s}", "peer", id);
		rc = client_call(c, "POST", "/api/party/unban", body, CLIENT_PARTY_TIMEOUT_MS, &r);
	} else if (strcmp(sub, "bans") == 0 && argc == 2) {
		rc = client_call(c, "GET", "/api/party/bans", NULL, CLIENT_PARTY_TIMEOUT_MS, &r);
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
		else if (strcmp(sub, "bans") == 0)
			print_bans(r);
		else
			print_party(r, strcmp(sub, "create") == 0);
	}
	json_decref(r);
	return rc;
}
