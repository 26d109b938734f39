/* The gateway's one clock (gateway/core/clock.h). */
#include <osmocom/core/timer_compat.h>
#include <osmocom/core/timer.h>

#include "gateway/core/clock.h"
#include "gateway/core/due.h"

static long clock_offset_s;

time_t gw_now(void)
{
	struct timespec ts;

	osmo_clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + clock_offset_s;
}

time_t gw_mono(void)
{
	struct timespec ts;

	osmo_clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

long gw_clock_offset(void)
{
	return clock_offset_s;
}

void gw_clock_set_offset(long offset_s)
{
	clock_offset_s = offset_s;
	gw_due_kick();
}
