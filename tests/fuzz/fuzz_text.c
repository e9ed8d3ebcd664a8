/* fuzz_text.c - the text parsers: endpoints, IPs, prefixes, times, keys, party ids. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "control/party_id.h"
#include "crypto/key.h"
#include "fuzz.h"
#include "nat/nat_type.h"
#include "util/addr.h"
#include "util/err.h"
#include "util/now.h"
#include "util/prefix.h"
#include "util/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), buf[ADDR_STRLEN], pbuf[PREFIX_STRLEN];
	char id[PARTY_ID_LEN + 1], id2[PARTY_ID_LEN + 1];
	struct addr a, b;
	struct prefix p, q;
	enum nat_type t;
	int64_t ms;
	wg_key k;
	errmsg err;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	/* Whatever parses must format back to something that parses the same. */
	if (addr_parse(&a, s, err)) {
		if (!addr_parse(&b, addr_format(&a, buf), err) || !addr_equal(&a, &b))
			abort();
	}
	if (addr_parse_ip(&a, s, err))
		addr_format_ip(&a, buf);
	if (prefix_parse(&p, s, true, err)) {
		if (!prefix_parse(&q, prefix_format(&p, pbuf), false, err) || q.len != p.len)
			abort();
	}
	if (now_parse_iso8601(s, &ms)) {
		char ts[NOW_ISO8601_LEN];
		int64_t back;

		if (ms > -62135596800000ll && ms < 253402300799000ll &&
		    (!now_parse_iso8601(now_format_iso8601(ms, ts), &back) || back != ms))
			abort();
	}
	if (key_from_base64(k, s, err)) {
		char b64[KEY_B64_LEN + 1];

		key_to_base64(b64, k);
	}
	if (key_from_hex(k, s, err)) {
		char hex[KEY_HEX_LEN + 1];

		key_to_hex(hex, k);
	}
	if (party_id_normalize(id, s, err)) {
		if (!party_id_valid(id) || !party_id_normalize(id2, id, err) || strcmp(id, id2))
			abort();
	}
	if (nat_type_parse(s, &t) && (unsigned)t >= NAT_TYPE_COUNT)
		abort();
	utf8_is_printable((const char *)data, size);
	free(s);
	return 0;
}
