/* Calls ringing a GSM modem (RING / +CLIP). The gateway takes no voice on its modems: every call
 * is rejected (free for the caller), after the features said what the caller meant by it.
 * Features register a hook (a watch's call is an alarm: gateway/sos; a household's missed call
 * starts the group call: gateway/call); the first that takes the call ends the search. */
#pragma once

#include <time.h>

struct gw;

/* A call from number (normalised) to modem. 1 taken, 0 not this hook's, -errno (logged; the
 * call is rejected all the same). */
typedef int (*gw_ring_fn)(struct gw *gw, const char *modem, const char *number, time_t now);

/* 0, -ENOSPC. */
int gw_ring_add(struct gw *gw, const char *name, gw_ring_fn fn);

/* A call ringing modem idx (already merged into one event per call); rejects it. */
void gw_ring(struct gw *gw, unsigned idx, const char *caller);
