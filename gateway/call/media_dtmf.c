/* Key presses from RTP: RFC 4733 telephone-event and in-band DTMF through spandsp. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <spandsp.h>
#include <talloc.h>

#include "gateway/call/media_dtmf.h"

static const char te_digits[] = "0123456789*#ABCD";

char media_te_digit(unsigned event)
{
	return event < 16 ? te_digits[event] : 0;
}

int media_te_event(char digit)
{
	const char *p;

	if (digit >= 'a' && digit <= 'd')
		digit -= 'a' - 'A';
	p = digit ? strchr(te_digits, digit) : NULL;
	return p ? (int)(p - te_digits) : -1;
}

/* All packets of one event carry the RTP timestamp of its start (RFC 4733 2.5.1.1), so a new
 * timestamp is a new key press and the same one a repetition or an end retransmission. An event
 * longer than 65535 samples is continued with a new timestamp right after the previous segment
 * (2.5.1.3): that is the same key press when the previous segment had not ended. */
int media_te_feed(struct media_te_rx *st, const uint8_t *payload, size_t len, uint32_t ts)
{
	char digit;
	bool end;
	uint32_t dur;

	if (len < 4)
		return -EINVAL;
	digit = media_te_digit(payload[0]);
	end = payload[1] & 0x80;
	dur = ((uint32_t)payload[2] << 8) | payload[3];

	if (st->have && ts == st->ts) {
		if (dur > st->dur)
			st->dur = dur;
		st->ended |= end;
		return 0;
	}
	if (st->have && !st->ended && digit && digit == st->digit && (uint32_t)(ts - st->ts) > 0 &&
	    (uint32_t)(ts - st->ts) <= st->dur + 1600) {
		/* the next segment of a long press */
		st->ts = ts;
		st->dur = dur;
		st->ended = end;
		return 0;
	}
	st->have = true;
	st->ts = ts;
	st->dur = dur;
	st->ended = end;
	st->digit = digit;
	return digit;
}

struct media_inband {
	dtmf_rx_state_t *rx;
	void (*cb)(void *data, char digit);
	void *data;
};

static void inband_digits(void *user_data, const char *digits, int len)
{
	struct media_inband *ib = user_data;
	int i;

	for (i = 0; i < len; i++)
		ib->cb(ib->data, digits[i]);
}

static int inband_destructor(struct media_inband *ib)
{
	if (ib->rx)
		dtmf_rx_free(ib->rx);
	ib->rx = NULL;
	return 0;
}

struct media_inband *media_inband_alloc(void *ctx, void (*cb)(void *data, char digit), void *data)
{
	struct media_inband *ib = talloc_zero(ctx, struct media_inband);

	if (!ib)
		return NULL;
	ib->cb = cb;
	ib->data = data;
	ib->rx = dtmf_rx_init(NULL, inband_digits, ib);
	if (!ib->rx) {
		talloc_free(ib);
		return NULL;
	}
	talloc_set_destructor(ib, inband_destructor);
	return ib;
}

void media_inband_feed(struct media_inband *ib, const int16_t *samples, size_t n)
{
	while (n > 0) {
		int chunk = n > 4096 ? 4096 : (int)n;

		dtmf_rx(ib->rx, samples, chunk);
		samples += chunk;
		n -= chunk;
	}
}

void media_inband_free(struct media_inband *ib)
{
	talloc_free(ib);
}
