/* ctl_stream.h - ctl_remote's event stream: the party as it changes, and when it breaks. */
#ifndef LANRAGE_CONTROL_CTL_STREAM_H
#define LANRAGE_CONTROL_CTL_STREAM_H

#include "control/ctl_remote.h"

/* Opens the party's stream (once registered); the link is UP at its snapshot. */
void ctl_stream_open(struct ctl_remote *r);
void ctl_stream_close(struct ctl_remote *r);
/* The stream broke or could not open: DOWN, polling, and a retry after backoff. */
void ctl_stream_lost(struct ctl_remote *r, const char *why);

#endif
