/* ipc.h - the UAPI unix socket, /var/run/wireguard/IFNAME.sock, served on the control thread. */
#ifndef LANRAGE_WG_IPC_H
#define LANRAGE_WG_IPC_H

#include "util/compiler.h"
#include "wg/device.h"

struct ipc;

/*
 * Listens on dir/IFNAME.sock (dir: /var/run/wireguard unless overridden, for
 * tests), created 0700-only (umask 077), refusing to take over a socket a
 * live process answers on.  on_gone runs when the socket file is deleted, which
 * is how `wg`-style tools ask a userspace implementation to exit.
 */
struct ipc *ipc_create(struct wg_device *dev, const char *dir, void (*on_gone)(void *ctx),
                       void *ctx, char *err);
/* Closes the socket and removes its file. */
void ipc_destroy(struct ipc *ipc);

#endif
