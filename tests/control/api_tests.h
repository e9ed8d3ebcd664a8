/* api_tests.h - what the API test files share: the servers, the backend, helpers. */
#ifndef LANRAGE_TESTS_CONTROL_API_TESTS_H
#define LANRAGE_TESTS_CONTROL_API_TESTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/party_id.h"
#include "control/peer.h"
#include "harness.h"

extern const char *binary;
extern const char *db; /* "sqlite" or a postgresql:// URL */
extern bool postgres;
extern char relay_secret_file[300];
extern const char *const relay_secret;
/* The server most tests share (flags in group_setup). */
extern struct server_proc main_srv;

void expect_status(const struct reply *r, int status);
/* The --db flag for a new server: a fresh SQLite file, or the shared database. */
void db_flag(char *out, size_t size);
void spawn(struct server_proc *s, const char *db_url, const char *const *extra);
struct peer_info self_desc(const char *name, const char *nat, const char *pub_ip, uint16_t port);
void create_party(struct control_client *c, const char *name, char out[PARTY_ID_LEN + 1]);
void join_party(struct control_client *c, const char *party_id, const char *name);
json_t *get_peer(struct control_client *c, const char *party_id, const char *peer_id,
                 int expect_status);
json_t *get_party(struct control_client *c, const char *party_id, int expect_status);
void expect_raw(const char *method, const char *path, const char *auth, const char *body,
                int status, const char *needle);
void bearer(char *out, size_t size, struct control_client *c);

/* test_control_life.c: expiry, SIGKILL, rate limits, two instances. */
void test_cleanup(void **state);
void test_sigkill_restart(void **state);
void test_auth_rate_limit(void **state);
void test_two_instances(void **state);

#endif
