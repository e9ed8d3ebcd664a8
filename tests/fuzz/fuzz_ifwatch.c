/* fuzz_ifwatch.c - the scan of rtnetlink messages for address notices. */
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
	return 0;
}
