/* wav2ul: a 16-bit PCM mono WAV (as espeak-ng writes it, 22050 Hz) on stdin to 8 kHz G.711 mu-law
 * on stdout, for the group call prompts (scripts/prompts.sh). Built and run at build time.
 *
 * Resampling: a Blackman-windowed sinc low-pass at 3.6 kHz evaluated at every output instant (the
 * anti-alias filter and the interpolation in one). The leading and trailing silence espeak-ng adds
 * is trimmed to 60 ms and the peak is normalised to -3 dBFS, so every prompt has the same level.
 *
 *   wav2ul < in.wav > out.ul
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/call/media_g711.h"

#define OUT_RATE  8000
#define HALF_TAPS 24 /* input samples each side of the output instant */
#define CUTOFF_HZ 3600.0
#define SILENCE	  150 /* |sample| below this is silence for the trimming */
#define KEEP_MS	  60

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p)
{
	return p[0] | p[1] << 8;
}

static int fail(const char *msg)
{
	fprintf(stderr, "wav2ul: %s\n", msg);
	return 1;
}

int main(void)
{
	size_t cap = 1 << 20, len = 0, n_in, n_out, i, first, last, keep;
	uint8_t *buf = malloc(cap);
	uint32_t rate = 0, pos;
	uint16_t channels = 0, bits = 0;
	int have_data = 0;
	int16_t *in;
	double *out, peak = 0, gain, ratio, fc;
	size_t rd;

	if (!buf)
		return fail("out of memory");
	while ((rd = fread(buf + len, 1, cap - len, stdin)) > 0) {
		len += rd;
		if (len == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf)
				return fail("out of memory");
		}
	}
	if (len < 12 || memcmp(buf, "RIFF", 4) || memcmp(buf + 8, "WAVE", 4))
		return fail("input is not a RIFF/WAVE file");
	/* chunks; espeak-ng --stdout writes a placeholder size in "data": the data runs to the end */
	for (pos = 12; pos + 8 <= len;) {
		uint32_t sz = le32(buf + pos + 4);

		if (!memcmp(buf + pos, "fmt ", 4)) {
			if (sz < 16 || pos + 8 + 16 > len)
				return fail("truncated fmt chunk");
			if (le16(buf + pos + 8) != 1)
				return fail("not PCM");
			channels = le16(buf + pos + 10);
			rate = le32(buf + pos + 12);
			bits = le16(buf + pos + 22);
		} else if (!memcmp(buf + pos, "data", 4)) {
			pos += 8;
			have_data = 1;
			break;
		}
		if (sz > len - pos - 8)
			return fail("truncated chunk");
		pos += 8 + sz + (sz & 1);
	}
	if (!have_data || !rate)
		return fail("no fmt or data chunk");
	if (channels != 1 || bits != 16)
		return fail("only 16-bit mono input is supported");
	n_in = (len - pos) / 2;
	if (!n_in)
		return fail("no samples (did espeak-ng speak?)");
	in = malloc(n_in * sizeof(*in));
	for (i = 0; i < n_in; i++)
		in[i] = (int16_t)le16(buf + pos + 2 * i);

	/* trim silence, keeping KEEP_MS either side */
	for (first = 0; first < n_in && abs(in[first]) < SILENCE; first++)
		;
	for (last = n_in; last > first && abs(in[last - 1]) < SILENCE; last--)
		;
	if (first == last)
		return fail("the input is silent");
	keep = (size_t)rate * KEEP_MS / 1000;
	first = first > keep ? first - keep : 0;
	last = last + keep < n_in ? last + keep : n_in;

	ratio = (double)rate / OUT_RATE;
	fc = (CUTOFF_HZ < rate / 2.0 ? CUTOFF_HZ : rate / 2.0) / rate; /* normalised to the input rate */
	n_out = (size_t)((last - first) / ratio);
	out = calloc(n_out, sizeof(*out));
	for (i = 0; i < n_out; i++) {
		double t = first + i * ratio, acc = 0;
		long c = (long)floor(t), k;

		for (k = c - HALF_TAPS + 1; k <= c + HALF_TAPS; k++) {
			double x = t - k, h, w;

			if (k < (long)first || k >= (long)last)
				continue;
			h = fabs(x) < 1e-9 ? 2 * fc : sin(2 * M_PI * fc * x) / (M_PI * x);
			w = 0.42 + 0.5 * cos(M_PI * x / HALF_TAPS) + 0.08 * cos(2 * M_PI * x / HALF_TAPS);
			acc += in[k] * h * w;
		}
		out[i] = acc;
		if (fabs(acc) > peak)
			peak = fabs(acc);
	}
	gain = peak > 0 ? 32767 * 0.708 / peak : 1;
	media_g711_init();
	for (i = 0; i < n_out; i++) {
		double v = out[i] * gain;
		int s = (int)lrint(v > 32767 ? 32767 : v < -32768 ? -32768 : v);

		putchar(media_lin2ulaw((int16_t)s));
	}
	free(out);
	free(in);
	free(buf);
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : fail("cannot write the output");
}
