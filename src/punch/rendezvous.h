/* rendezvous.h - candidate exchange through a shared directory: the lab's signalling shim. */
#ifndef LANRAGE_PUNCH_RENDEZVOUS_H
#define LANRAGE_PUNCH_RENDEZVOUS_H

#include <stdbool.h>
#include <stddef.h>

#include "crypto/key.h"
#include "nat/path.h"
#include "util/addr.h"
#include "util/compiler.h"

/*
 * Each side writes DIR/<key fingerprint>.json, atomically:
 *   {"key": "<base64 public key>",
 *    "candidates": [{"endpoint": "203.0.113.6:40000", "kind": "reflexive"}, ...]}
 * and polls for its peer's.  The daemon will carry the same candidates over the
 * control server's event stream instead; the path engine does not care how
 * they came.
 */
enum { RENDEZVOUS_MAX_FILE = 16384 };

int rendezvous_publish(const char *dir, const wg_key self_pub, const struct addr *addrs,
                       const enum cand_kind *kinds, size_t n, char *err) WARN_UNUSED;

/* Parses a peer's file (text need not be NUL-terminated); err names what is wrong. */
bool rendezvous_parse(const char *text, size_t len, const wg_key peer_pub, struct addr *addrs,
                      enum cand_kind *kinds, size_t max, size_t *n, char *err) WARN_UNUSED;

/* 1 and the candidates when the peer's file is there, 0 when not yet, -errno on error. */
int rendezvous_read(const char *dir, const wg_key peer_pub, struct addr *addrs,
                    enum cand_kind *kinds, size_t max, size_t *n, char *err) WARN_UNUSED;

#endif
