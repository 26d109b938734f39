/* Internal to modem/: what the pool (main thread, mdm_pool.c) and the workers (one thread per
 * modem, mdm_worker.c and its parts, whose own state is in mdm_wpriv.h) share. Not for use outside
 * modem/. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <osmocom/core/linuxlist.h>

#include "modem/mdm.h"

struct osmo_it_q;
struct mdm_wpriv;

enum mdm_cmd_type {
	MDM_CMD_SEND,
	MDM_CMD_DELETE,
	MDM_CMD_HANGUP, /* reject or end the incoming call (AT+CHUP through libgammu) */
};

/* A command from the main thread to one worker; malloc'd, freed by the worker. */
struct mdm_cmd {
	struct llist_head list;
	enum mdm_cmd_type type;
	int64_t job;
	char dest[32];
	char *text;
	int folder, location;
	struct mdm_copies copies; /* MDM_CMD_SEND after a crash (mdm_send_stored): the parts' SIM copies */
};

struct mdm_worker {
	struct mdm_pool *pool;
	unsigned idx;
	struct mdm_cfg cfg; /* defaults filled in; read-only after start */
	pthread_t thread;
	bool started;

	/* shared with the worker, under lock */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int wake_fd; /* eventfd: written with every command (and reset, stop, inbox committed), so that a
		      * worker waiting on its tty wakes at once, not at the end of its 50 ms wait */
	struct llist_head cmds;
	bool stop;
	bool reset;
	void *sm;	       /* the current GSM_StateMachine, so mdm_reset/stop can abort a call under way */
	int64_t call_deadline; /* CLOCK_MONOTONIC ms by which the gammu call under way must end, 0 none */
	char call_what[32];
	int64_t hold_until; /* CLOCK_MONOTONIC ms: start no command before, unless the inbox is committed */
	int64_t stored_job; /* store-and-send: mdm_stored_committed() said this job's index is committed */
	bool stored_ok;

	/* main thread only */
	bool busy;
	enum mdm_state main_state;
	unsigned watchdog_s;   /* cfg.watchdog_s, or what mdm_set_watchdog said since */
	int64_t send_job;      /* the send outstanding (busy) */
	int64_t send_since_ms; /* when mdm_send handed it over: osmo_clock_gettime(CLOCK_MONOTONIC) */
	bool send_reset;       /* the send watchdog reset the modem for it */
	bool send_stuck;       /* MDM_EV_SEND_STUCK was given for it: the watchdog is done with it */

	/* worker thread only */
	struct mdm_wpriv *p;
};

struct mdm_pool {
	mdm_event_cb cb;
	void *data;
	struct osmo_it_q *q;
	unsigned n;
	bool stopping;
	struct mdm_worker *w;
	struct osmo_timer_list *watchdog;
};

/* Thread body of one worker (arg: struct mdm_worker *). */
void *mdm_worker_main(void *arg);

/* Main-thread watchdog tick (mdm_worker.c, next to the call bracket it watches): aborts gammu calls
 * that overran their deadline (a hung modem can otherwise hold AT+CMGS for gammu's own 30 s). The
 * send watchdog (mdm_cfg.watchdog_s) is the pool's own, in mdm_pool.c. */
void mdm_pool_watchdog(struct mdm_pool *pool);

/* Called by the main thread with w->lock held: make the gammu call under way return soon. */
void mdm_worker_abort_locked(struct mdm_worker *w);

/* Wake worker w if it waits on its tty (any thread). */
void mdm_worker_wake(struct mdm_worker *w);

/* Hand an event (calloc'd) to the main thread. Worker threads only. */
void mdm_pool_emit(struct mdm_pool *pool, struct mdm_event *ev);
