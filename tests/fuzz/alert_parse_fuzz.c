/* alert_parse (gateway/sos/alert.h) on arbitrary bytes, without a NUL (len is authoritative),
 * then alert_to_json of what it read: it must always fit a buffer of a sensible size. */
#include <stdio.h>

#include "gateway/sos/alert.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct alert_info a;
	char json[512];

	alert_parse((const char *)data, size, &a);
	if (a.has_pos && (a.lat < -90 || a.lat > 90 || a.lon < -180 || a.lon > 180))
		abort(); /* the header's promise: a position is always in range */
	if (alert_to_json(&a, json, sizeof(json)) < 0)
		abort();
	alert_is_alarm(&a);
	return 0;
}
