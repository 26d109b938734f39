/* One rate limiter for everything that must not repeat too often per key (a number): at most
 * max events per key in a sliding window of window_s seconds, counted from the first event of
 * the window. Keys live in a fixed table of sets of LIMIT_WAYS slots; a full set forgets its
 * least recently used key (which at worst lets that key through once more), never the key
 * being counted, so a collision cannot reset a busy sender's count. */
#pragma once

#include <stdbool.h>
#include <time.h>

struct gw_limit;

/* A limiter of about nkeys keys, under talloc ctx. */
struct gw_limit *gw_limit_alloc(void *ctx, unsigned nkeys, unsigned max, unsigned window_s);

/* Whether key may have one more event at now; if so it is counted. */
bool gw_limit_take(struct gw_limit *l, const char *key, time_t now);

/* How many more events key may have at now (without counting one). */
unsigned gw_limit_left(struct gw_limit *l, const char *key, time_t now);

/* Change the limits (the VTY); counts already taken stay. */
void gw_limit_set(struct gw_limit *l, unsigned max, unsigned window_s);
