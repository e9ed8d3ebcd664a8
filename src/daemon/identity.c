/* identity.c - the daemon's key pair on disk. */
#include "daemon/identity.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "crypto/secret.h"
#include "util/err.h"
#include "util/log.h"

int identity_load(struct identity *id, const char *path, char *err)
{
	struct stat st;
	int ret;

	memset(id, 0, sizeof(*id));
	if (lstat(path, &st) == 0) {
		ret = key_load_file(path, id->private_key, err);
		if (ret < 0)
			return ret;
	} else if (errno == ENOENT) {
		key_generate_private(id->private_key);
		ret = key_save_file(path, id->private_key, err);
		if (ret < 0) {
			identity_clear(id);
			return ret;
		}
		log_info("made a new identity in %s", path);
	} else {
		ret = -errno;
		err_set(err, "%s: %s", path, strerror(errno));
		return ret;
	}
	key_public_from_private(id->public_key, id->private_key);
	key_to_base64(id->public_b64, id->public_key);
	peer_id_from_key(id->peer_id, id->public_key);
	return 0;
}

void identity_clear(struct identity *id)
{
	secret_zero(id, sizeof(*id));
}
