/* G.711 mu-law and A-law (gateway/call/media_g711.c): known code points, round trips, the quantisation
 * error bound, the tables against the computed functions, and every 16-bit input against spandsp's
 * independent implementation. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <spandsp.h>

#include "gateway/call/media_g711.h"
#include "tests/unit/testlib.h"

int main(void)
{
	int c, x, bad_rt_u = 0, bad_rt_a = 0, bad_err_u = 0, bad_err_a = 0, bad_tab = 0, bad_sp_u = 0, bad_sp_a = 0;

	media_g711_init();

	CHECK(media_lin2ulaw(0) == 0xff, "mu-law: 0 codes as 0xff");
	CHECK(media_ulaw2lin(0xff) == 0 && media_ulaw2lin(0x7f) == 0, "mu-law: 0xff and 0x7f decode to 0");
	CHECK(media_ulaw2lin(0x80) == 32124 && media_ulaw2lin(0x00) == -32124, "mu-law: extremes +-32124");
	CHECK(media_lin2ulaw(32767) == 0x80 && media_lin2ulaw(-32768) == 0x00, "mu-law: full scale saturates");
	CHECK(media_ulaw2lin(0xfe) == 8 && media_ulaw2lin(0x7e) == -8, "mu-law: smallest step +-8");
	CHECK(media_lin2alaw(0) == 0xd5, "A-law: 0 codes as 0xd5");
	CHECK(media_alaw2lin(0xd5) == 8 && media_alaw2lin(0x55) == -8, "A-law: 0xd5/0x55 decode to +-8");
	CHECK(media_alaw2lin(0xaa) == 32256 && media_alaw2lin(0x2a) == -32256, "A-law: extremes +-32256");
	CHECK(media_lin2alaw(32767) == 0xaa && media_lin2alaw(-32768) == 0x2a, "A-law: full scale saturates");

	for (c = 0; c < 256; c++) {
		if (c != 0x7f && media_lin2ulaw(media_ulaw2lin(c)) != c)
			bad_rt_u++;
		if (media_lin2alaw(media_alaw2lin(c)) != c)
			bad_rt_a++;
	}
	CHECK(!bad_rt_u, "mu-law: every code but negative zero survives decode+encode");
	CHECK(!bad_rt_a, "A-law: every code survives decode+encode");

	for (x = -32768; x <= 32767; x++) {
		int16_t s = (int16_t)x;
		int eu = abs(media_ulaw2lin(media_lin2ulaw(s)) - x), ea = abs(media_alaw2lin(media_lin2alaw(s)) - x);

		if (abs(x) <= 32000 && eu > abs(x) / 16 + 8)
			bad_err_u++;
		if (abs(x) <= 32000 && ea > abs(x) / 16 + 16)
			bad_err_a++;
		if (media_lin2ulaw(s) != media_lin2ulaw_calc(s) || media_lin2alaw(s) != media_lin2alaw_calc(s))
			bad_tab++;
		if (media_lin2ulaw(s) != linear_to_ulaw(x))
			bad_sp_u++;
		if (media_lin2alaw(s) != linear_to_alaw(x))
			bad_sp_a++;
	}
	for (c = 0; c < 256; c++) {
		if (media_ulaw2lin(c) != ulaw_to_linear(c))
			bad_sp_u++;
		if (media_alaw2lin(c) != alaw_to_linear(c))
			bad_sp_a++;
	}
	CHECK(!bad_err_u, "mu-law: error within |x|/16 + 8 everywhere below clipping");
	CHECK(!bad_err_a, "A-law: error within |x|/16 + 16 everywhere below clipping");
	CHECK(!bad_tab, "the 64 KiB tables equal the computed coders for every input");
	if (bad_sp_u || bad_sp_a)
		printf("     (differences: mu-law %d, A-law %d)\n", bad_sp_u, bad_sp_a);
	CHECK(!bad_sp_u, "mu-law: identical to spandsp's coder for all 65536 inputs and 256 codes");
	CHECK(!bad_sp_a, "A-law: identical to spandsp's coder for all 65536 inputs and 256 codes");

	{
		uint8_t enc[4];
		int16_t in[4] = {0, 1000, -1000, 32767}, dec[4];

		media_g711_encode(8, in, enc, 4);
		media_g711_decode(8, enc, dec, 4);
		CHECK(enc[0] == 0xd5 && abs(dec[1] - 1000) <= 32 && abs(dec[2] + 1000) <= 32,
		      "buffer coding by payload type 8 is A-law");
		media_g711_encode(0, in, enc, 4);
		CHECK(enc[0] == 0xff && enc[3] == 0x80, "buffer coding by payload type 0 is mu-law");
	}
	printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
	return failures ? 1 : 0;
}
