/* replay.c - the sliding window that drops replayed and too-old data packets. */
#include "wg/replay.h"

#include <string.h>

enum { WORDS = REPLAY_BITS_TOTAL / 64 };

void replay_init(struct replay_window *w)
{
	memset(w, 0, sizeof(*w));
}

bool replay_check(struct replay_window *w, uint64_t counter)
{
	uint64_t c, word, bit;

	if (counter >= REJECT_AFTER_MESSAGES)
		return false;
	/* Shift by one so that 0 in greatest_plus_one means "none yet". */
	c = counter + 1;
	if (c + REPLAY_WINDOW_SIZE < w->greatest_plus_one)
		return false;
	word = c / 64;
	if (c > w->greatest_plus_one) {
		uint64_t current = w->greatest_plus_one / 64, ahead = word - current;

		/* Clear the words the window moves over (all of them after a big jump). */
		if (ahead > WORDS)
			ahead = WORDS;
		for (uint64_t i = 1; i <= ahead; i++)
			w->bitmap[(current + i) % WORDS] = 0;
		w->greatest_plus_one = c;
	}
	bit = 1ull << (c % 64);
	if (w->bitmap[word % WORDS] & bit)
		return false;
	w->bitmap[word % WORDS] |= bit;
	return true;
}
