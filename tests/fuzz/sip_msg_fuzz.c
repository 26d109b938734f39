/* The evapi stream (gateway/sip/sip_msg.h) as linlid reads it: netstrings cut from arbitrary
 * bytes with sip_ns_parse, each payload decoded by sip_evt_parse; and the whole input as one
 * payload too. */
#include "gateway/sip/sip_msg.h"
#include "tests/fuzz/fuzz.h"

static volatile unsigned sink;

static void one_event(const char *payload, size_t plen)
{
	struct sip_evt ev;
	char err[256];

	if (sip_evt_parse(payload, plen, &ev, err, sizeof(err)) == 0) {
		for (size_t i = 0; ev.body && i < ev.body_len; i++)
			sink += (unsigned char)ev.body[i]; /* body_len bytes are readable */
		sip_evt_free(&ev);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data, *payload;
	size_t off = 0, plen, consumed;

	while (off < size && sip_ns_parse(buf + off, size - off, 65536, &payload, &plen, &consumed) == 1) {
		if (consumed == 0 || consumed > size - off || payload < buf + off || payload + plen > buf + size)
			abort();
		one_event(payload, plen);
		off += consumed;
	}
	one_event(buf, size);
	return 0;
}
