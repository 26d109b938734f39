/* The receive side of modem/sms_codec.h and util/utf8.h on arbitrary bytes: the concat UDH, the
 * septet unpacker and the GSM 7-bit decoder, the UTF-16 decoder, and the UTF-8 validator and
 * decoder (which must agree). The first byte picks the fill bits, as a UDH would. */
#include <errno.h>

#include "modem/sms_codec.h"
#include "tests/fuzz/fuzz.h"
#include "util/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t septets[2048];
	static uint16_t units[1024];
	static char out[4096];
	struct sms_concat c;
	size_t bad, i = 0, n;
	uint32_t cp;
	int rc, v;

	rc = sms_udh_parse_concat(data, size, &c);
	if (rc == 0 && (c.total < 1 || c.total > 255 || c.seq < 1 || c.seq > c.total))
		abort();

	/* a TP-UD: fill bits, then septets packed into the octets that follow */
	if (size > 0) {
		size_t want = ((size - 1) * 8) / 7;

		if (want > sizeof(septets))
			want = sizeof(septets);
		n = sms_gsm7_unpack(data + 1, size - 1, want, data[0] % 7, septets);
		sms_gsm7_to_utf8(septets, n, out, sizeof(out));
		sms_gsm7_to_utf8(septets, n, out, 8); /* -ENOSPC with a partial text */
	}
	/* the same bytes as septet values, and as UTF-16 big-endian code units */
	n = size < sizeof(septets) ? size : sizeof(septets);
	sms_gsm7_to_utf8(data, n, out, sizeof(out));
	n = size / 2 < 1024 ? size / 2 : 1024;
	for (size_t k = 0; k < n; k++)
		units[k] = (uint16_t)(data[2 * k] << 8 | data[2 * k + 1]);
	sms_utf16_to_utf8(units, n, out, sizeof(out));
	sms_utf16_to_utf8(units, n, out, 5);

	/* UTF-8: the validator and the decoder agree on where the first bad sequence is */
	v = utf8_validate((const char *)data, size, &bad);
	while (i < size && utf8_next(data, size, &i, &cp) == 0)
		if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			abort();
	if ((v == 0) != (i == size) || (v < 0 && bad != i))
		abort();
	/* valid UTF-8 goes through the send side: split, encode, and back */
	if (v == 0) {
		static struct sms_split sp;

		if (sms_split((const char *)data, size, &sp) > 0 && sp.coding == SMS_CODING_GSM7) {
			rc = sms_utf8_to_gsm7((const char *)data, size, septets, sizeof(septets));
			if (rc >= 0 && sms_gsm7_to_utf8(septets, rc, out, sizeof(out)) >= 0 &&
			    (strlen(out) != size || memcmp(out, data, size) != 0))
				abort(); /* GSM 7-bit round trips exactly */
		}
		sms_utf8_to_utf16((const char *)data, size, units, 1024);
	}
	return 0;
}
