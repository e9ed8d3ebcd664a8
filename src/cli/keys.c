/* keys.c - the CLI's offline commands: genkey, pubkey, party-id. */
#include "cli/keys.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control/party_id.h"
#include "crypto/key.h"
#include "crypto/secret.h"
#include "util/err.h"

/* Like `wg genkey`: a private key on stdout, warning when it may be readable by others. */
int keys_genkey(int argc, char **argv)
{
	char b64[KEY_B64_LEN + 1];
	struct stat st;
	wg_key priv;

	if (argc != 1) {
		fprintf(stderr, "Usage: lanrage genkey\n");
		return 2;
	}
	if (fstat(1, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & S_IRWXO))
		fprintf(stderr, "Warning: writing private key to world accessible file.\n");
	key_generate_private(priv);
	key_to_base64(b64, priv);
	printf("%s\n", b64);
	secret_zero(priv, sizeof(priv));
	secret_zero(b64, sizeof(b64));
	return fflush(stdout) == 0 ? 0 : 1;
}

/* Like `wg pubkey`: reads a private key on stdin, writes its public key. */
int keys_pubkey(int argc, char **argv)
{
	char line[256], b64[KEY_B64_LEN + 1];
	wg_key priv, pub;
	size_t len;
	errmsg err;
	int ret = 1;

	if (argc != 1) {
		fprintf(stderr, "Usage: lanrage pubkey < private.key\n");
		return 2;
	}
	if (!fgets(line, sizeof(line), stdin)) {
		fprintf(stderr, "lanrage pubkey: no key on standard input\n");
		goto out;
	}
	len = strlen(line);
	while (len > 0 && isspace((unsigned char)line[len - 1]))
		line[--len] = '\0';
	if (!key_from_base64(priv, line, err)) {
		fprintf(stderr, "lanrage pubkey: %s\n", err);
		goto out;
	}
	key_public_from_private(pub, priv);
	key_to_base64(b64, pub);
	printf("%s\n", b64);
	ret = fflush(stdout) == 0 ? 0 : 1;
out:
	secret_zero(line, sizeof(line));
	secret_zero(priv, sizeof(priv));
	return ret;
}

/* A new party id, or with an argument, the canonical form of a typed one. */
int keys_party_id(int argc, char **argv)
{
	char id[PARTY_ID_LEN + 1];
	errmsg err;

	if (argc > 2) {
		fprintf(stderr, "Usage: lanrage party-id [ID]\n");
		return 2;
	}
	if (argc == 1) {
		party_id_generate(id);
	} else if (!party_id_normalize(id, argv[1], err)) {
		fprintf(stderr, "lanrage: %s\n", err);
		return 1;
	}
	printf("%s\n", id);
	return 0;
}
