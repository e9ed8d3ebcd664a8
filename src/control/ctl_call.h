/* ctl_call.h - ctl_remote's requests: registration first, again after a 401, errors for people. */
#ifndef LANRAGE_CONTROL_CTL_CALL_H
#define LANRAGE_CONTROL_CTL_CALL_H

#include "control/ctl_remote.h"

/* A request of this kind for the current party and session; NULL when out of memory. */
struct ctl_call *ctl_call_new(struct ctl_remote *r, enum call_kind kind);
void ctl_call_free(struct ctl_call *k);
void ctl_call_link(struct ctl_remote *r, struct ctl_call *k);
void ctl_call_unlink(struct ctl_remote *r, struct ctl_call *k);
/*
 * Sends k now, or once registered (registering if need be); its reply goes to
 * ctl_remote_dispatch.  -errno (k not taken) when it cannot even be queued.
 */
int ctl_call_submit(struct ctl_call *k) WARN_UNUSED;
/* Sends k now, registered or not (calls that need no token). */
int ctl_call_send_now(struct ctl_call *k) WARN_UNUSED;
/* Fire and forget (heartbeats, polls, updates, rejoins): failures are logged. */
void ctl_call_background(struct ctl_remote *r, enum call_kind kind);
/* Starts proving our key unless registered or already at it. */
void ctl_call_register(struct ctl_remote *r);
/* The register timer: retries registration (or reports that it could not start). */
void ctl_call_on_register_timer(evutil_socket_t fd, short what, void *arg);

/* Why a request got no answer, for people ("cannot reach http://...: connection refused"). */
void ctl_call_transport_error(const struct ctl_remote *r, const struct control_reply *cr,
                              uint64_t sent_ms, char *out, size_t size);
/* An HTTP outcome as a ctl status (400, 404, 409, 503) and a message for people. */
int ctl_call_error(const struct ctl_remote *r, const struct ctl_call *k,
                   const struct control_reply *cr, char *out, size_t size);

#endif
