/* gateway/call/media_g711.h: G.711 mu-law (PCMU) and A-law (PCMA) sample coding for the group call mixer. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* One sample, computed (the tables below are built from these). */
uint8_t media_lin2ulaw_calc(int16_t s);
uint8_t media_lin2alaw_calc(int16_t s);
int16_t media_ulaw2lin_calc(uint8_t u);
int16_t media_alaw2lin_calc(uint8_t a);

/* Fast paths through 64 KiB tables, filled on first use (media_g711_init() before the inline ones;
 * the buffer functions below call it themselves; main thread only). */
void media_g711_init(void);
extern uint8_t media_ulaw_enc[65536];
extern uint8_t media_alaw_enc[65536];
extern int16_t media_ulaw_dec[256];
extern int16_t media_alaw_dec[256];

static inline uint8_t media_lin2ulaw(int16_t s)
{
	return media_ulaw_enc[(uint16_t)s];
}

static inline uint8_t media_lin2alaw(int16_t s)
{
	return media_alaw_enc[(uint16_t)s];
}

static inline int16_t media_ulaw2lin(uint8_t u)
{
	return media_ulaw_dec[u];
}

static inline int16_t media_alaw2lin(uint8_t a)
{
	return media_alaw_dec[a];
}

/* Whole buffers, by RTP payload type (0 PCMU, 8 PCMA); pt other than 8 means PCMU. */
void media_g711_decode(int pt, const uint8_t *in, int16_t *out, size_t n);
void media_g711_encode(int pt, const int16_t *in, uint8_t *out, size_t n);
