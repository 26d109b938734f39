/* The group call's parsers (gateway/call/): call_sdp_parse on arbitrary bytes, and the RFC 4733
 * telephone-event receiver fed the input as a stream of 8-byte records (4-byte timestamp, 4-byte
 * payload, both as they come off the wire). */
#include "gateway/call/call_sdp.h"
#include "gateway/call/media_dtmf.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct media_te_rx st = {0};
	struct call_sdp sdp;
	char err[256];

	if (call_sdp_parse((const char *)data, size, &sdp, err, sizeof(err)) == 0 &&
	    (strnlen(sdp.ip, sizeof(sdp.ip)) == sizeof(sdp.ip) || (sdp.pt != 0 && sdp.pt != 8)))
		abort();
	for (size_t off = 0; off + 4 <= size; off += 8) {
		uint32_t ts = (uint32_t)data[off] << 24 | data[off + 1] << 16 | data[off + 2] << 8 | data[off + 3];
		size_t len = size - off - 4 < 4 ? size - off - 4 : 4;

		media_te_feed(&st, data + off + 4, len, ts);
	}
	return 0;
}
