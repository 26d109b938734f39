/* G.711 (ITU-T G.711) mu-law and A-law: the segment coding written out, plus lookup tables for the
 * mixer's hot path (one byte per 16-bit sample to encode, one int16 per code to decode). */
#include <stdbool.h>

#include "gateway/call/media_g711.h"

#define ULAW_BIAS 0x84
#define ULAW_CLIP 32635

uint8_t media_ulaw_enc[65536];
uint8_t media_alaw_enc[65536];
int16_t media_ulaw_dec[256];
int16_t media_alaw_dec[256];
static bool g711_ready;

uint8_t media_lin2ulaw_calc(int16_t s)
{
	int v = s, sign = 0, exp, mant;

	if (v < 0) {
		sign = 0x80;
		v = -v;
	}
	if (v > ULAW_CLIP)
		v = ULAW_CLIP;
	v += ULAW_BIAS;
	/* the segment is the position of the highest set bit among bits 7..14 */
	for (exp = 7; exp > 0 && !(v & (0x80 << exp)); exp--)
		;
	mant = (v >> (exp + 3)) & 0x0f;
	return (uint8_t) ~(sign | (exp << 4) | mant);
}

int16_t media_ulaw2lin_calc(uint8_t u)
{
	int exp, mant, v;

	u = ~u;
	exp = (u >> 4) & 7;
	mant = u & 0x0f;
	v = (((mant << 3) + ULAW_BIAS) << exp) - ULAW_BIAS;
	return (int16_t)((u & 0x80) ? -v : v);
}

uint8_t media_lin2alaw_calc(int16_t s)
{
	int v = s >> 3, mask, seg;

	if (v >= 0) {
		mask = 0xd5;
	} else {
		mask = 0x55;
		v = -v - 1;
	}
	/* segment ends of the 13-bit magnitude: 0x1f, 0x3f, ... 0xfff */
	for (seg = 0; seg < 8 && v > (0x20 << seg) - 1; seg++)
		;
	if (seg >= 8)
		return (uint8_t)(0x7f ^ mask);
	if (seg < 2)
		return (uint8_t)(((seg << 4) | ((v >> 1) & 0x0f)) ^ mask);
	return (uint8_t)(((seg << 4) | ((v >> seg) & 0x0f)) ^ mask);
}

int16_t media_alaw2lin_calc(uint8_t a)
{
	int t, seg;

	a ^= 0x55;
	t = (a & 0x0f) << 4;
	seg = (a & 0x70) >> 4;
	if (seg == 0) {
		t += 8;
	} else {
		t += 0x108;
		t <<= seg - 1;
	}
	return (int16_t)((a & 0x80) ? t : -t);
}

void media_g711_init(void)
{
	unsigned i;

	if (g711_ready)
		return;
	for (i = 0; i < 65536; i++) {
		media_ulaw_enc[i] = media_lin2ulaw_calc((int16_t)i);
		media_alaw_enc[i] = media_lin2alaw_calc((int16_t)i);
	}
	for (i = 0; i < 256; i++) {
		media_ulaw_dec[i] = media_ulaw2lin_calc((uint8_t)i);
		media_alaw_dec[i] = media_alaw2lin_calc((uint8_t)i);
	}
	g711_ready = true;
}

void media_g711_decode(int pt, const uint8_t *in, int16_t *out, size_t n)
{
	const int16_t *tab = pt == 8 ? media_alaw_dec : media_ulaw_dec;
	size_t i;

	media_g711_init();
	for (i = 0; i < n; i++)
		out[i] = tab[in[i]];
}

void media_g711_encode(int pt, const int16_t *in, uint8_t *out, size_t n)
{
	const uint8_t *tab = pt == 8 ? media_alaw_enc : media_ulaw_enc;
	size_t i;

	media_g711_init();
	for (i = 0; i < n; i++)
		out[i] = tab[(uint16_t)in[i]];
}
