/* replay.h - the sliding window that drops replayed and too-old data packets. */
#ifndef LANRAGE_WG_REPLAY_H
#define LANRAGE_WG_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "util/compiler.h"
#include "wg/messages.h"

/*
 * A bitmap ring of REPLAY_BITS_TOTAL bits (RFC 6479): a counter is accepted
 * once, and only while it is no more than REPLAY_WINDOW_SIZE (8128) behind the
 * greatest accepted.  Check only after the packet authenticated, so forgeries
 * cannot move the window.  Owned by one receiving thread.
 */
struct replay_window {
	uint64_t greatest_plus_one; /* 0: nothing accepted yet */
	uint64_t bitmap[REPLAY_BITS_TOTAL / 64];
};

void replay_init(struct replay_window *w);
/* Whether the counter is fresh; if so it is recorded. */
bool replay_check(struct replay_window *w, uint64_t counter) WARN_UNUSED;

#endif
