/* control_client.h - the remote control plane: the daemon's client of lanrage-control. */
#ifndef LANRAGE_CONTROL_CONTROL_CLIENT_H
#define LANRAGE_CONTROL_CONTROL_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "control/peer.h"
#include "crypto/key.h"
#include "util/compiler.h"

struct event_base;

/*
 * Every call is asynchronous on the caller's event_base: it queues one HTTP
 * request (register queues two) and calls back once with the outcome.
 * Requests share one keep-alive connection and complete in order; an event
 * stream has a connection of its own.  docs/CONTROL_API.md is the contract.
 * A program using it ignores SIGPIPE: a server may close a connection that is
 * still being written.
 */
struct control_client;

/* What came back.  status 0 means no HTTP answer (error says why). */
struct control_reply {
	int status;
	json_t *body;      /* the parsed JSON body, or NULL; borrowed for the callback */
	const char *error; /* the server's {"error"} or a transport error; NULL on 2xx */
};

typedef void (*control_cb)(const struct control_reply *reply, void *arg);

enum { CONTROL_TOKEN_HEX = 64, CONTROL_TIMEOUT_SEC = 10 };

/* url: "http://host:port" (numeric host or name; no TLS here). */
struct control_client *control_client_create(struct event_base *base, const char *url,
                                             char *err) WARN_UNUSED;
/* Ends pending requests without calling back and zeroes the key and token. */
void control_client_destroy(struct control_client *c);

/* The identity: a copy of the private key is kept (zeroed on destroy). */
void control_client_set_key(struct control_client *c, const wg_key private_key);
const char *control_client_peer_id(const struct control_client *c);
/* After register, or to restore a saved token ("" when none). */
const char *control_client_token(const struct control_client *c);
void control_client_set_token(struct control_client *c, const char *token);

/*
 * Proof of key: asks for a challenge sealed to our public key, opens it with
 * the private key and sends it back; on 200 the token is kept for the calls
 * below.  The reply is register's: {"token", "peer_id", "expires_at"}.
 */
int control_register(struct control_client *c, control_cb cb, void *arg) WARN_UNUSED;

/*
 * How a member describes itself: self's name, nat_type, public and local
 * endpoints (unset endpoints are left out).  Its id and key are the client's.
 */
int control_party_create(struct control_client *c, const char *party_name,
                         const struct peer_info *self, control_cb cb, void *arg) WARN_UNUSED;
int control_party_join(struct control_client *c, const char *party_id, const struct peer_info *self,
                       control_cb cb, void *arg) WARN_UNUSED;
int control_party_leave(struct control_client *c, const char *party_id, control_cb cb,
                        void *arg) WARN_UNUSED;
/* The host removes another member (DELETE of its record). */
int control_party_kick(struct control_client *c, const char *party_id, const char *peer_id,
                       control_cb cb, void *arg) WARN_UNUSED;
int control_party_get(struct control_client *c, const char *party_id, control_cb cb,
                      void *arg) WARN_UNUSED;
int control_party_peers(struct control_client *c, const char *party_id, control_cb cb,
                        void *arg) WARN_UNUSED;
int control_party_peer(struct control_client *c, const char *party_id, const char *peer_id,
                       control_cb cb, void *arg) WARN_UNUSED;
int control_heartbeat(struct control_client *c, const char *party_id, control_cb cb,
                      void *arg) WARN_UNUSED;
/* Sends only what self sets: name, nat_type (when not unknown), endpoints (when set). */
int control_update(struct control_client *c, const char *party_id, const struct peer_info *self,
                   control_cb cb, void *arg) WARN_UNUSED;
/* data (any JSON, at most 4 KiB encoded) reaches member `to` as a "signal" event. */
int control_signal(struct control_client *c, const char *party_id, const char *to,
                   const json_t *data, control_cb cb, void *arg) WARN_UNUSED;
/* All relays, or one region's (region may be NULL). */
int control_relays(struct control_client *c, const char *region, control_cb cb,
                   void *arg) WARN_UNUSED;

/*
 * A relay token for the party (POST /parties/{id}/relay-token; members
 * only): {"token", "session_key" (both base64), "expires_at", "tag"}.
 * docs/PROTOCOL.md "Tokens and keys" says what they are.
 */
int control_relay_token(struct control_client *c, const char *party_id, control_cb cb,
                        void *arg) WARN_UNUSED;
/*
 * A relay announces itself (POST /relays): relay is the JSON body
 * ({"relay_id", "public_ip", "port", "region", "capacity"}), the bearer is
 * the relay secret (the client's key and token play no part).
 */
int control_relay_announce(struct control_client *c, const char *relay_secret, const json_t *relay,
                           control_cb cb, void *arg) WARN_UNUSED;

/*
 * Any request: method "GET", "POST", "DELETE" or "PATCH"; body may be NULL;
 * with_token adds the bearer token.  The calls above are made of this.
 */
int control_request(struct control_client *c, const char *method, const char *path,
                    const json_t *body, bool with_token, control_cb cb, void *arg) WARN_UNUSED;

/*
 * The party's event stream.  on_event gets each event's type and data
 * ("snapshot" first); when the stream ends (the member left, the party
 * closed, the server or network went away) it is called once with type NULL
 * and status the HTTP status (0: transport failure).  Close it before the
 * client is destroyed; closing inside on_event is allowed.
 */
struct control_events;
typedef void (*control_event_cb)(const char *type, json_t *data, int status, void *arg);
struct control_events *control_events_open(struct control_client *c, const char *party_id,
                                           control_event_cb on_event, void *arg) WARN_UNUSED;
void control_events_close(struct control_events *ev);

#endif
