/* key.h - WireGuard keys: base64 and hex forms, generation, key files. */
#ifndef LANRAGE_CRYPTO_KEY_H
#define LANRAGE_CRYPTO_KEY_H

#include <stdbool.h>
#include <stdint.h>

#include "util/compiler.h"

enum { KEY_LEN = 32, KEY_B64_LEN = 44, KEY_HEX_LEN = 64 };

typedef uint8_t wg_key[KEY_LEN];

/*
 * Text forms.  Decoders accept exactly the canonical form (44 base64 characters
 * ending in '=' as `wg` writes them; 64 hex digits) and, because the input may
 * be a private key, never quote it in err.
 */
void key_to_base64(char out[KEY_B64_LEN + 1], const wg_key key);
bool key_from_base64(wg_key out, const char *s, char *err) WARN_UNUSED;
void key_to_hex(char out[KEY_HEX_LEN + 1], const wg_key key);
bool key_from_hex(wg_key out, const char *s, char *err) WARN_UNUSED;

void key_generate_private(wg_key priv);
void key_public_from_private(wg_key pub, const wg_key priv);
bool key_is_zero(const wg_key key);
/* Constant time. */
bool key_equal(const wg_key a, const wg_key b);

/*
 * A short, stable, public name for a public key: 16 lowercase hex digits of a
 * domain-separated BLAKE2b hash.  Peer ids are made this way, and logs name
 * peers by it.  Never call it on a private key.
 */
enum { KEY_FINGERPRINT_LEN = 16 };
void key_fingerprint(char out[KEY_FINGERPRINT_LEN + 1], const wg_key pub);

/*
 * Key files hold the base64 form and a newline, like `wg genkey > file`.
 * Loading refuses anything but a regular file without group or other
 * permissions (a key readable by others is a key to replace, not to use).
 * Saving writes atomically with mode 0600.  Both return 0 or -errno and fill
 * err; key material read is zeroed before return.
 */
int key_load_file(const char *path, wg_key out, char *err) WARN_UNUSED;
int key_save_file(const char *path, const wg_key key, char *err) WARN_UNUSED;

#endif
