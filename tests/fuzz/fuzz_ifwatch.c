/* fuzz_ifwatch.c - rtnetlink messages: the scan for address notices, the IPv6 address pick. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "nat/ifwatch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Aligned as the kernel's buffers are; the scan reads headers by memcpy anyway. */
	static uint8_t buf[65536] __attribute__((aligned(8)));

	if (size > sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	ifwatch_scan(buf, size);
	{
		struct in6_addr a;
		bool done = false;
		int rank = 0;

		/* Whatever it picks must be a global address. */
		if (ifwatch_pick_global6(buf, size, &a, &rank, &done) &&
		    (a.s6_addr[0] & 0xe0) != 0x20)
			abort();
	}
	return 0;
}
