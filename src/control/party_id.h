/* party_id.h - party ids: unguessable, and easy to read out and type. */
#ifndef LANRAGE_CONTROL_PARTY_ID_H
#define LANRAGE_CONTROL_PARTY_ID_H

#include <stdbool.h>

#include "util/compiler.h"

/*
 * A party id is 16 Crockford base32 symbols in groups of four,
 * "7KQ2-M9XD-4HTB-PW3R": 75 random bits (the original had 48) and a Luhn mod 32
 * check symbol that catches any single mistyped symbol and most swaps of two
 * neighbours.  The alphabet has no I, L, O or U; when typed, I and L read as 1,
 * O as 0, case and spaces do not matter, and the dashes are optional.
 */
enum { PARTY_ID_SYMBOLS = 16, PARTY_ID_LEN = 19, PARTY_ID_RANDOM_BITS = 75 };

void party_id_generate(char out[PARTY_ID_LEN + 1]);
/* Brings a typed id to its canonical form; err says what is wrong with it. */
bool party_id_normalize(char out[PARTY_ID_LEN + 1], const char *typed, char *err) WARN_UNUSED;
/* Whether s is a party id in canonical form. */
bool party_id_valid(const char *s);

#endif
