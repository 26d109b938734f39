/* The gateway's one clock: every due time, throttle and time stamp of linlid reads it.
 *
 * Wall-clock seconds through osmo_clock_gettime(), so unit tests set it with
 * osmo_clock_override_*(); plus an offset that the end-to-end tests move through CTRL
 * (clock-offset, accepted only with `test-clock on`). */
#pragma once

#include <time.h>

/* The current time in seconds (CLOCK_REALTIME, overridable, plus the test offset). */
time_t gw_now(void);

/* Seconds on a clock that only goes forward (CLOCK_MONOTONIC, overridable): for timeouts of
 * work in flight (a modem's send, a SIP MESSAGE's answer), which neither NTP nor the test clock
 * may cut short. */
time_t gw_mono(void);

/* The test offset in seconds (0 unless a test moved it). */
long gw_clock_offset(void);

/* Move the clock by setting the offset; everything waiting for a due time looks again at once
 * (gw_due_kick). */
void gw_clock_set_offset(long offset_s);
