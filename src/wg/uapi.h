/* uapi.h - the cross-platform userspace API that `wg` speaks: get and set operations. */
#ifndef LANRAGE_WG_UAPI_H
#define LANRAGE_WG_UAPI_H

#include <stdbool.h>
#include <stddef.h>

#include "wg/device.h"

/* Error numbers in replies are negative, as wireguard-go writes them (wg negates them). */

/*
 * A set operation in progress: key=value lines are applied one at a time, as
 * they arrive; after the first error the rest is skipped until the blank line.
 */
struct uapi_set {
	struct wg_device *dev;
	struct wg_peer *peer; /* NULL: device keys, or an ignored peer block */
	bool in_peer;         /* a public_key line has been seen */
	bool peer_created;    /* this block created the peer (update_only undoes it) */
	int error;            /* 0, or the first negative errno */
};

void uapi_set_begin(struct uapi_set *set, struct wg_device *dev);
/* One line, without its newline. */
void uapi_set_line(struct uapi_set *set, const char *line);
/* Ends the operation, publishing the changes; returns 0 or the negative errno. */
int uapi_set_end(struct uapi_set *set);

/*
 * The get reply without its errno line, in a new buffer of *len bytes that the
 * caller must wipe (it holds the private key) and free; NULL on ENOMEM.
 */
char *uapi_get(struct wg_device *dev, size_t *len);

#endif
