/* A link-time stand-in for the modem workers (modem/mdm_worker.c and its parts, which need
 * libgammu and a modem): mdm_pool.c starts these threads instead. Each reports READY, takes the
 * commands the pool queues, holds a send until the test answers it, and on a reset either answers
 * the send MDM_ERR_MODEM and reconnects (as a real worker does) or ignores it (a worker stuck in a
 * call that does not return). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "modem/mdm.h"

#define FAKE_WORKERS_MAX 4

enum fake_on_reset {
	FAKE_RESET_ANSWERS, /* answer the send held MDM_ERR_MODEM "modem reset", CONNECTING, READY */
	FAKE_RESET_IGNORED, /* note it, answer nothing */
};

/* What every fake worker does on a reset, from now on. */
void fake_worker_on_reset(enum fake_on_reset how);

/* Have worker idx answer the send it holds with cls (the answer comes from its thread). false when
 * it holds none. */
bool fake_worker_answer(unsigned idx, enum mdm_err_class cls);

/* The job worker idx holds (0 none) and the resets it saw. */
int64_t fake_worker_job(unsigned idx);
unsigned fake_worker_resets(unsigned idx);
