/* Key presses (gateway/call/media_dtmf.c): RFC 4733 telephone-event parsing, where repeated packets and
 * end-bit retransmissions count once, and in-band DTMF (spandsp) on tone pairs generated here and
 * passed through G.711 like real RTP audio. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <talloc.h>

#include "gateway/call/media_dtmf.h"
#include "gateway/call/media_g711.h"
#include "tests/unit/testlib.h"

/* Feed one event packet and append a reported digit to got[]. */
static int feed(struct media_te_rx *st, unsigned ev, int end, unsigned dur, uint32_t ts, char *got)
{
	uint8_t p[4] = {ev, (end ? 0x80 : 0) | 10, dur >> 8, dur & 0xff};
	int d = media_te_feed(st, p, sizeof(p), ts);

	if (d > 0)
		got[strlen(got)] = d;
	return d;
}

/* A whole key press as a well-behaved sender does it: three packets while the key is down, then
 * the end packet three times. */
static void press(struct media_te_rx *st, unsigned ev, uint32_t ts, char *got)
{
	feed(st, ev, 0, 160, ts, got);
	feed(st, ev, 0, 320, ts, got);
	feed(st, ev, 0, 480, ts, got);
	feed(st, ev, 1, 800, ts, got);
	feed(st, ev, 1, 800, ts, got);
	feed(st, ev, 1, 800, ts, got);
}

static void test_rfc4733(void)
{
	struct media_te_rx st = {0};
	char got[32] = "";
	uint8_t shortp[3] = {1, 0, 0};
	unsigned d;
	int ok = 1;

	for (d = 0; d < 16; d++)
		ok &= media_te_event(media_te_digit(d)) == (int)d;
	CHECK(ok && media_te_digit(11) == '#' && media_te_digit(10) == '*' && media_te_digit(16) == 0 &&
		      media_te_event('x') == -1 && media_te_event('a') == 12,
	      "event codes 0-15 map to 0-9 * # A-D and back");

	press(&st, 1, 1000, got);
	CHECK(!strcmp(got, "1"), "one press (3 packets + 3 end retransmissions) counts once");
	press(&st, 1, 3000, got);
	CHECK(!strcmp(got, "11"), "the same key pressed again (new timestamp) counts again");
	feed(&st, 11, 1, 800, 5000, got);
	feed(&st, 11, 1, 800, 5000, got);
	CHECK(!strcmp(got, "11#"), "a press whose start packets were lost counts once from its end packets");
	feed(&st, 11, 0, 480, 5000, got);
	CHECK(!strcmp(got, "11#"), "a late start packet after the end does not count again");
	/* a long press: the duration field overflows at 65535 and the sender starts a new segment */
	feed(&st, 5, 0, 160, 10000, got);
	feed(&st, 5, 0, 65535, 10000, got);
	feed(&st, 5, 0, 160, 10000 + 65535, got);
	feed(&st, 5, 1, 4000, 10000 + 65535, got);
	CHECK(!strcmp(got, "11#5"), "a long press split into two segments counts once");
	feed(&st, 16, 0, 160, 90000, got);
	feed(&st, 16, 1, 800, 90000, got);
	CHECK(!strcmp(got, "11#5"), "flash (event 16) is not a key");
	press(&st, 0, 100000, got);
	press(&st, 9, 101000, got);
	CHECK(!strcmp(got, "11#509"), "different keys in a row each count");
	CHECK(media_te_feed(&st, shortp, sizeof(shortp), 200000) == -EINVAL, "a 3-byte payload is rejected");
}

static char ib_got[32];

static void ib_cb(void *data, char digit)
{
	size_t n = strlen(ib_got);

	(void)data;
	if (n + 1 < sizeof(ib_got))
		ib_got[n] = digit;
}

/* ms of the tone pair of `digit` (or silence for 0) through mu-law, in 20 ms packets as the leg
 * hears them. */
static void tone(struct media_inband *ib, char digit, unsigned ms, uint32_t *t)
{
	static const char keys[] = "123A456B789C*0#D";
	static const double lo[] = {697, 770, 852, 941}, hi[] = {1209, 1336, 1477, 1633};
	const char *k = digit ? strchr(keys, digit) : NULL;
	unsigned left = ms * 8;

	while (left > 0) {
		unsigned n = left < 160 ? left : 160, i;
		int16_t s[160];
		uint8_t u[160];

		for (i = 0; i < n; i++, (*t)++) {
			double v = 0;

			if (k) {
				unsigned idx = k - keys;

				v = 6000 * sin(2 * M_PI * lo[idx / 4] * *t / 8000.0) +
				    6000 * sin(2 * M_PI * hi[idx % 4] * *t / 8000.0);
			}
			s[i] = (int16_t)lrint(v);
		}
		media_g711_encode(0, s, u, n);
		media_g711_decode(0, u, s, n);
		media_inband_feed(ib, s, n);
		left -= n;
	}
}

static void test_inband(void)
{
	void *ctx = talloc_named_const(NULL, 0, "dtmf_test");
	struct media_inband *ib = media_inband_alloc(ctx, ib_cb, NULL);
	const char *seq = "1#50*9";
	uint32_t t = 0;
	size_t i;

	CHECK(ib != NULL, "in-band detector allocated");
	tone(ib, 0, 200, &t);
	for (i = 0; seq[i]; i++) {
		tone(ib, seq[i], 100, &t);
		tone(ib, 0, 100, &t);
	}
	printf("     in-band heard \"%s\"\n", ib_got);
	CHECK(!strcmp(ib_got, seq), "in-band: a sequence of tone pairs through mu-law is heard once each");
	/* a long single tone is still one press, and a lone 1 kHz tone is none */
	memset(ib_got, 0, sizeof(ib_got));
	tone(ib, '7', 1500, &t);
	tone(ib, 0, 100, &t);
	{
		int16_t s[8000];
		unsigned k;

		for (k = 0; k < 8000; k++)
			s[k] = (int16_t)lrint(8000 * sin(2 * M_PI * 1000 * k / 8000.0));
		media_inband_feed(ib, s, 8000);
	}
	printf("     then heard \"%s\"\n", ib_got);
	CHECK(!strcmp(ib_got, "7"), "in-band: a 1.5 s press counts once, a 1 kHz tone is no key");
	media_inband_free(ib);
	talloc_free(ctx);
}

int main(void)
{
	media_g711_init();
	test_rfc4733();
	test_inband();
	printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
	return failures ? 1 : 0;
}
