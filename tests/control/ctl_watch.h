/* ctl_watch.h - the ctl tests' view of one control plane: what its callbacks reported. */
#ifndef LANRAGE_TESTS_CONTROL_CTL_WATCH_H
#define LANRAGE_TESTS_CONTROL_CTL_WATCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/ctl.h"

/* Everything one ctl told its daemon, newest last. */
struct watch {
	struct party_info party; /* the last on_party */
	int n_party;
	size_t min_members; /* the fewest members any on_party reported (SIZE_MAX: none yet) */
	int n_gone;
	char gone_why[512];
	int n_signal;
	char signal_from[PEER_ID_MAX + 1];
	json_t *signal_data; /* owned */
	enum ctl_link link;
	int n_down, n_up;
	char link_detail[512];
};

/* The ctl_events that fill w. */
struct ctl_events watch_events(struct watch *w);
void watch_clear(struct watch *w);

/* The outcome of one create, join or leave. */
struct done {
	bool called;
	int status;
	char error[512];
	struct party_info party;
};
void done_cb(void *arg, int status, const char *error, const struct party_info *party);
/* Runs the loop until d is called (the deadline fails the test); clears d first is the caller's. */
void done_wait(struct done *d, int rc, const char *what);
void done_clear(struct done *d);

/* A deep copy of a party record. */
void party_copy_test(struct party_info *dst, const struct party_info *src);
/* The member's virtual IP as text, or "" when absent. */
const char *member_vip(const struct party_info *p, const char *peer_id, char *buf);

/* A description for create/join: name, NAT type unknown, no endpoints. */
struct peer_info desc(const char *name);

#endif
