/* rendezvous.c - candidate exchange through a shared directory: the lab's signalling shim. */
#include "punch/rendezvous.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/file.h"
#include "util/jsonx.h"

static void file_of(char *path, size_t len, const char *dir, const wg_key pub)
{
	char fp[KEY_FINGERPRINT_LEN + 1];

	key_fingerprint(fp, pub);
	snprintf(path, len, "%s/%s.json", dir, fp);
}

int rendezvous_publish(const char *dir, const wg_key self_pub, const struct addr *addrs,
                       const enum cand_kind *kinds, size_t n, char *err)
{
	char path[4096], b64[KEY_B64_LEN + 1], buf[ADDR_STRLEN];
	json_t *root = json_object(), *list = json_array();
	int ret;

	key_to_base64(b64, self_pub);
	json_object_set_new(root, "key", json_string(b64));
	for (size_t i = 0; i < n; i++) {
		json_t *c = json_object();

		json_object_set_new(c, "endpoint", json_string(addr_format(&addrs[i], buf)));
		json_object_set_new(c, "kind", json_string(cand_kind_name(kinds[i])));
		json_array_append_new(list, c);
	}
	json_object_set_new(root, "candidates", list);
	file_of(path, sizeof(path), dir, self_pub);
	ret = jsonx_write_file(path, root, 0644);
	json_decref(root);
	if (ret < 0)
		err_set(err, "%s: %s", path, strerror(-ret));
	return ret;
}

static bool kind_parse(const char *s, enum cand_kind *out)
{
	static const enum cand_kind all[] = { CAND_LOCAL, CAND_REFLEXIVE, CAND_PEER_REFLEXIVE };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (strcmp(s, cand_kind_name(all[i])) == 0) {
			*out = all[i];
			return true;
		}
	}
	return false;
}

bool rendezvous_parse(const char *text, size_t len, const wg_key peer_pub, struct addr *addrs,
                      enum cand_kind *kinds, size_t max, size_t *n, char *err)
{
	char b64[KEY_B64_LEN + 1], want[KEY_B64_LEN + 1], ep[ADDR_STRLEN], kind[32];
	json_t *root, *list, *c;
	bool ok = false;
	size_t i;

	*n = 0;
	root = jsonx_parse_object(text, len, err);
	if (!root)
		return false;
	key_to_base64(want, peer_pub);
	if (!jsonx_get_str(root, "key", b64, sizeof(b64), true, NULL, err))
		goto out;
	if (strcmp(b64, want) != 0) {
		err_set(err, "written for another key");
		goto out;
	}
	list = json_object_get(root, "candidates");
	if (!json_is_array(list)) {
		err_set(err, "field 'candidates': expected an array");
		goto out;
	}
	json_array_foreach(list, i, c)
	{
		if (*n == max)
			break;
		if (!jsonx_get_str(c, "endpoint", ep, sizeof(ep), true, NULL, err) ||
		    !jsonx_get_str(c, "kind", kind, sizeof(kind), true, NULL, err) ||
		    !addr_parse(&addrs[*n], ep, err)) {
			err_prefix(err, "candidate %zu", i);
			goto out;
		}
		if (!kind_parse(kind, &kinds[*n])) {
			err_set(err, "candidate %zu: unknown kind `%s'", i, kind);
			goto out;
		}
		(*n)++;
	}
	ok = true;
out:
	json_decref(root);
	if (!ok)
		*n = 0;
	return ok;
}

int rendezvous_read(const char *dir, const wg_key peer_pub, struct addr *addrs,
                    enum cand_kind *kinds, size_t max, size_t *n, char *err)
{
	char path[4096];
	size_t len;
	char *text;
	bool ok;
	int ret;

	*n = 0;
	file_of(path, sizeof(path), dir, peer_pub);
	ret = file_read_all(path, RENDEZVOUS_MAX_FILE, &text, &len);
	if (ret == -ENOENT)
		return 0;
	if (ret < 0) {
		err_set(err, "%s: %s", path, strerror(-ret));
		return ret;
	}
	ok = rendezvous_parse(text, len, peer_pub, addrs, kinds, max, n, err);
	free(text);
	if (!ok) {
		err_prefix(err, "%s", path);
		return -EINVAL;
	}
	return 1;
}
