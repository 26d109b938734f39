/* The SOS text commands (gateway/sos/sos.h): sos_norm, sos_is_ack and sos_parse_cmd on an
 * arbitrary C string (the text up to the first NUL, as linlid stores it). */
#include "gateway/sos/sos.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size);
	char norm[512], small[4], arg[64];
	enum sos_cmd cmd;

	sos_norm(text, norm, sizeof(norm));
	sos_norm(text, small, sizeof(small));
	sos_is_ack(text);
	cmd = sos_parse_cmd(text, arg, sizeof(arg));
	if (cmd != SOS_CMD_NONE && strnlen(arg, sizeof(arg)) == sizeof(arg))
		abort();
	sos_parse_cmd(text, small, sizeof(small));
	free(text);
	return 0;
}
