/* The GSM modem channel (core-internal): the modem pool, the scheduler that gives every free
 * modem the most urgent due message, send results, retries, and what the pool's send watchdog reports. */
#pragma once

#include <stdbool.h>

struct gw;

/* Register the channel ("gsm", the default) and its due work (the scheduler, once a second). */
int gw_gsm_init(struct gw *gw);
/* Start the modem pool with the configured modems; stop it (the workers' last events are
 * delivered; what they read is committed without deleting it from the SIMs). */
int gw_gsm_start(struct gw *gw);
void gw_gsm_stop(struct gw *gw);

/* Give every free, ready modem the most urgent due message, now. */
void gw_sched_kick(struct gw *gw);
