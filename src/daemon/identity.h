/* identity.h - the daemon's key pair, kept in the state directory, and the peer id it gives. */
#ifndef LANRAGE_DAEMON_IDENTITY_H
#define LANRAGE_DAEMON_IDENTITY_H

#include "control/peer.h"
#include "crypto/key.h"
#include "util/compiler.h"

/*
 * A WireGuard key pair is the daemon's identity everywhere: the data plane,
 * the control server's proof of key, path probes and relays.  It is made on
 * the first start and kept in <state_dir>/private.key (mode 0600), so the
 * peer id (derived from the public key) never changes across restarts.
 */
struct identity {
	wg_key private_key; /* secret: zeroed by identity_clear */
	wg_key public_key;
	char peer_id[PEER_ID_MAX + 1];
	char public_b64[KEY_B64_LEN + 1];
};

/* Loads path, or creates it when missing; 0 or -errno with err (never the key). */
int identity_load(struct identity *id, const char *path, char *err) WARN_UNUSED;
void identity_clear(struct identity *id);

#endif
