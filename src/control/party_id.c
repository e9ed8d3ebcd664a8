/* party_id.c - party ids: unguessable, and easy to read out and type. */
#include "control/party_id.h"

#include <ctype.h>
#include <string.h>

#include "crypto/rand.h"
#include "util/err.h"

enum { BASE = 32 };

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* Symbol value of a typed character, or -1. */
static int symbol_value(char c)
{
	const char *p;

	c = (char)toupper((unsigned char)c);
	if (c == 'O')
		c = '0';
	else if (c == 'I' || c == 'L')
		c = '1';
	p = c ? strchr(alphabet, c) : NULL;
	return p ? (int)(p - alphabet) : -1;
}

/* Luhn mod N over values[0..n): the sum that is 0 mod N for a valid string. */
static int luhn_sum(const int *values, int n, int first_factor)
{
	int factor = first_factor, sum = 0;

	for (int i = n - 1; i >= 0; i--) {
		int addend = factor * values[i];

		factor = factor == 2 ? 1 : 2;
		sum += addend / BASE + addend % BASE;
	}
	return sum % BASE;
}

static void format(char out[PARTY_ID_LEN + 1], const int *values)
{
	char *p = out;

	for (int i = 0; i < PARTY_ID_SYMBOLS; i++) {
		if (i > 0 && i % 4 == 0)
			*p++ = '-';
		*p++ = alphabet[values[i]];
	}
	*p = '\0';
}

void party_id_generate(char out[PARTY_ID_LEN + 1])
{
	int values[PARTY_ID_SYMBOLS];

	for (int i = 0; i < PARTY_ID_SYMBOLS - 1; i++)
		values[i] = (int)rand_uniform(BASE);
	/* The check symbol makes the full Luhn sum (factor 1 on it) zero. */
	values[PARTY_ID_SYMBOLS - 1] = (BASE - luhn_sum(values, PARTY_ID_SYMBOLS - 1, 2)) % BASE;
	format(out, values);
}

bool party_id_normalize(char out[PARTY_ID_LEN + 1], const char *typed, char *err)
{
	int values[PARTY_ID_SYMBOLS];
	int n = 0;

	for (const char *p = typed; *p; p++) {
		int v;

		if (*p == '-' || *p == ' ')
			continue;
		v = symbol_value(*p);
		if (v < 0 || n == PARTY_ID_SYMBOLS) {
			if (v < 0)
				err_set(err, "party id `%.40s': `%c' is not a party id character",
				        typed, isprint((unsigned char)*p) ? *p : '?');
			else
				err_set(err, "party id `%.40s': too long (expected %d characters)",
				        typed, PARTY_ID_SYMBOLS);
			return false;
		}
		values[n++] = v;
	}
	if (n != PARTY_ID_SYMBOLS) {
		err_set(
		    err,
		    "party id `%.40s': too short (expected %d characters like XXXX-XXXX-XXXX-XXXX)",
		    typed, PARTY_ID_SYMBOLS);
		return false;
	}
	if (luhn_sum(values, PARTY_ID_SYMBOLS, 1) != 0) {
		err_set(err, "party id `%.40s': has a typo (its check character does not match)",
		        typed);
		return false;
	}
	format(out, values);
	return true;
}

bool party_id_valid(const char *s)
{
	char canon[PARTY_ID_LEN + 1];

	return strlen(s) == PARTY_ID_LEN && party_id_normalize(canon, s, NULL) &&
	       strcmp(canon, s) == 0;
}
