/* probe.h - path probe messages (ping/pong, first byte 0xD0-0xDF): wire format and keys. */
#ifndef LANRAGE_NAT_PROBE_H
#define LANRAGE_NAT_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/key.h"
#include "crypto/mac.h"
#include "util/addr.h"
#include "util/compiler.h"

/*
 * docs/PROTOCOL.md "Path probes" specifies every byte.  Both messages are
 * PROBE_LEN bytes, so a ping never draws a larger answer than itself:
 *
 *   0   type      0xD0 ping, 0xD1 pong
 *   1   version   1
 *   2   flags     bit 0: the sender has a direct path to the receiver
 *   3   reserved  0
 *   4   sender    the sender's static public key (32 bytes)
 *   36  counter   u64, grows with every probe the sender sends (replay window)
 *   44  txid      u64, random in a ping, copied into its pong
 *   52  observed  pong: the ping's source address as the receiver saw it,
 *                 16 bytes IPv6 (IPv4 as ::ffff:a.b.c.d) + u16 port; ping: 0
 *   70  reserved  0 (2 bytes)
 *   72  mac       BLAKE2b-128 keyed with the pair's probe key over bytes 0-71
 */
enum {
	PROBE_LEN = 88,
	PROBE_MAC_OFFSET = 72,
	PROBE_VERSION = 1,
	PROBE_PING = 0xD0,
	PROBE_PONG = 0xD1,
	PROBE_FIRST_BYTE_MIN = 0xD0,
	PROBE_FIRST_BYTE_MAX = 0xDF,
	PROBE_F_HAVE_PATH = 0x01,
};

/* Why a probe was dropped (or PROBE_OK).  Counted per reason. */
enum probe_verdict {
	PROBE_OK,
	PROBE_DROP_LENGTH,       /* not exactly PROBE_LEN bytes */
	PROBE_DROP_TYPE,         /* 0xD2-0xDF: reserved types */
	PROBE_DROP_VERSION,      /* another version, or reserved bits set */
	PROBE_DROP_UNKNOWN_PEER, /* the sender's key is not a party member's */
	PROBE_DROP_MAC,          /* not made with the pair's key */
	PROBE_DROP_REPLAY,       /* counter seen before or too old */
	PROBE_DROP_BAD_ADDR,     /* a pong's observed address is not an address */
	PROBE_DROP_STALE,        /* a pong for no ping we have outstanding */
	PROBE_DROP_SOURCE,       /* a pong from elsewhere than the ping went */
	PROBE_DROP_RATE,         /* the peer pings faster than we answer */
	PROBE_VERDICT_COUNT
};

const char *probe_verdict_name(enum probe_verdict v);

struct probe_msg {
	uint8_t type;
	uint8_t flags;
	wg_key sender;
	uint64_t counter;
	uint64_t txid;
	struct addr observed; /* pong only */
};

/* The demultiplexing test for a shared socket: first byte 0xD0-0xDF. */
bool probe_is(const uint8_t *pkt, size_t len);

/*
 * The probe key of a pair: BLAKE2b-256("lanrage probe v1" || X25519(own
 * private, peer public) || lower public key || higher public key).  Both
 * sides derive the same key from what the control plane tells them; nobody
 * else can.  False for a low-order peer key (an all-zero DH result).
 */
bool probe_derive_key(uint8_t key[MAC_KEY_LEN], const wg_key self_priv, const wg_key self_pub,
                      const wg_key peer_pub) WARN_UNUSED;

/* Writes a PROBE_LEN-byte message with its MAC. */
void probe_create(uint8_t out[PROBE_LEN], const struct probe_msg *m,
                  const uint8_t key[MAC_KEY_LEN]);

/*
 * First step on an untrusted datagram, before any key is known: exact
 * length, type, version and reserved bits; copies out the claimed sender.
 */
enum probe_verdict probe_peek(const uint8_t *pkt, size_t len, wg_key sender) WARN_UNUSED;

/* Second step: the MAC under the sender's pair key, then the fields. */
enum probe_verdict probe_consume(struct probe_msg *m, const uint8_t *pkt, size_t len,
                                 const uint8_t key[MAC_KEY_LEN]) WARN_UNUSED;

#endif
