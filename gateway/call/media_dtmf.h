/* gateway/call/media_dtmf.h: key presses from RTP: RFC 4733 telephone-event packets, and in-band DTMF
 * tones (spandsp's dtmf_rx) for peers that offered no telephone-event. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The receiver state of one leg's telephone-event stream. Zero-initialised is ready. */
struct media_te_rx {
	bool have;  /* an event was seen */
	bool ended; /* its end bit was seen */
	char digit;
	uint32_t ts;  /* RTP timestamp of the event (the same in all its packets) */
	uint32_t dur; /* the longest duration seen for it, in samples */
};

/* Feed the payload of one telephone-event packet with its RTP timestamp. Returns the digit
 * ('0'-'9', '*', '#', 'A'-'D') when the packet starts a new key press, 0 for a repetition, an
 * end-bit retransmission, the continuation of a long event, or an event that is not a key
 * (flash, tones), and -EINVAL for a payload shorter than 4 bytes. */
int media_te_feed(struct media_te_rx *st, const uint8_t *payload, size_t len, uint32_t ts);

/* The digit of an RFC 4733 event code 0..15, 0 for any other code. */
char media_te_digit(unsigned event);
/* The event code of a digit, -1 if it has none. */
int media_te_event(char digit);

/* In-band DTMF detector over 8 kHz linear samples; cb once per key press. */
struct media_inband;
struct media_inband *media_inband_alloc(void *ctx, void (*cb)(void *data, char digit), void *data);
void media_inband_feed(struct media_inband *ib, const int16_t *samples, size_t n);
void media_inband_free(struct media_inband *ib);
