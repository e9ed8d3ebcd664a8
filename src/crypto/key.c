/* key.c - WireGuard keys: base64 and hex forms, generation, key files. */
#include "crypto/key.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/secret.h"
#include "crypto/x25519.h"
#include "util/err.h"
#include "util/file.h"

void key_to_base64(char out[KEY_B64_LEN + 1], const wg_key key)
{
	sodium_bin2base64(out, KEY_B64_LEN + 1, key, KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
}

bool key_from_base64(wg_key out, const char *s, char *err)
{
	uint8_t tmp[KEY_LEN];
	size_t bin_len = 0;
	const char *end = NULL;

	if (!s || strlen(s) != KEY_B64_LEN || s[KEY_B64_LEN - 1] != '=')
		goto bad;
	if (sodium_base642bin(tmp, sizeof(tmp), s, KEY_B64_LEN, NULL, &bin_len, &end,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    bin_len != KEY_LEN || end != s + KEY_B64_LEN)
		goto bad;
	memcpy(out, tmp, KEY_LEN);
	secret_zero(tmp, sizeof(tmp));
	return true;
bad:
	secret_zero(tmp, sizeof(tmp));
	err_set(err, "not a valid key (expected 44 base64 characters ending in '=')");
	return false;
}

void key_to_hex(char out[KEY_HEX_LEN + 1], const wg_key key)
{
	static const char digits[] = "0123456789abcdef";

	/* Not sodium_bin2hex: the UAPI wants lowercase, and this is branch-free too. */
	for (int i = 0; i < KEY_LEN; i++) {
		out[2 * i] = digits[key[i] >> 4];
		out[2 * i + 1] = digits[key[i] & 15];
	}
	out[KEY_HEX_LEN] = '\0';
}

bool key_from_hex(wg_key out, const char *s, char *err)
{
	uint8_t tmp[KEY_LEN];
	size_t bin_len = 0;

	if (!s || strlen(s) != KEY_HEX_LEN ||
	    sodium_hex2bin(tmp, sizeof(tmp), s, KEY_HEX_LEN, NULL, &bin_len, NULL) != 0 ||
	    bin_len != KEY_LEN) {
		secret_zero(tmp, sizeof(tmp));
		err_set(err, "not a valid key (expected 64 hex digits)");
		return false;
	}
	memcpy(out, tmp, KEY_LEN);
	secret_zero(tmp, sizeof(tmp));
	return true;
}

void key_generate_private(wg_key priv)
{
	x25519_generate(priv);
}

void key_public_from_private(wg_key pub, const wg_key priv)
{
	x25519_base(pub, priv);
}

bool key_is_zero(const wg_key key)
{
	return secret_is_zero(key, KEY_LEN);
}

bool key_equal(const wg_key a, const wg_key b)
{
	return secret_equal(a, b, KEY_LEN);
}

void key_fingerprint(char out[KEY_FINGERPRINT_LEN + 1], const wg_key pub)
{
	static const char context[] = "lanrage peer id v1";
	uint8_t hash[crypto_generichash_BYTES_MIN];

	/* BLAKE2b keyed with a context string (>= 16 bytes, as libsodium requires). */
	crypto_generichash(hash, sizeof(hash), pub, KEY_LEN, (const uint8_t *)context,
	                   sizeof(context) - 1);
	sodium_bin2hex(out, KEY_FINGERPRINT_LEN + 1, hash, KEY_FINGERPRINT_LEN / 2);
}

int key_load_file(const char *path, wg_key out, char *err)
{
	char buf[128];
	struct stat st;
	ssize_t n;
	size_t len;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		ret = -errno;
		err_set(err, "%s: %s", path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		err_set(err, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		err_set(err, "%s: not a regular file", path);
		goto out;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		ret = -EACCES;
		err_set(err, "%s: permissions %04o are too open (run: chmod 600 %s)", path,
		        (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		ret = -errno;
		err_set(err, "%s: %s", path, strerror(errno));
		goto out;
	}
	len = (size_t)n;
	while (len > 0 && isspace((unsigned char)buf[len - 1]))
		len--;
	buf[len] = '\0';
	if (!key_from_base64(out, buf, err)) {
		err_prefix(err, "%s", path);
		ret = -EINVAL;
		goto out;
	}
	ret = 0;
out:
	secret_zero(buf, sizeof(buf));
	close(fd);
	return ret;
}

int key_save_file(const char *path, const wg_key key, char *err)
{
	char buf[KEY_B64_LEN + 2];
	int ret;

	key_to_base64(buf, key);
	buf[KEY_B64_LEN] = '\n';
	buf[KEY_B64_LEN + 1] = '\0';
	ret = file_write_atomic(path, buf, KEY_B64_LEN + 1, 0600);
	secret_zero(buf, sizeof(buf));
	if (ret < 0)
		err_set(err, "%s: %s", path, strerror(-ret));
	return ret;
}
