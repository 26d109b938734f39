/* Due work: one timer for the whole gateway, set to the earliest time any feature asked for.
 *
 * A feature registers a hook at start-up; the hook does whatever has come due at now (inside its
 * own transaction) and returns the next time it wants to run. Things that change due times
 * behind the hook's back (a message routed, linlictl writing the database from another process,
 * the test clock moving) are caught by gw_due_kick() and by the longest wait, GW_DUE_MAX_WAIT_S:
 * the database is the truth, the hooks read it again. */
#pragma once

#include <time.h>

struct gw;

#define GW_DUE_MAX_WAIT_S 1

/* Do what is due at now; return the next time to be called (<= now: as soon as possible, 0:
 * nothing known, the longest wait). */
typedef time_t (*gw_due_fn)(struct gw *gw, time_t now, void *data);

/* Register hook fn under name (for the logs and `show due`); hooks run in registration order; a
 * name registered again gets the new fn. 0, or -ENOSPC when the table is full. */
int gw_due_register(struct gw *gw, const char *name, gw_due_fn fn, void *data);

/* Run every hook at the next loop iteration, whatever time it asked for. */
void gw_due_kick(void);

/* Start the timer (the hooks run once at once); stop it. */
void gw_due_start(struct gw *gw);
void gw_due_stop(void);

/* For `show due`: hook i's name and next time; -ENOENT past the last. */
int gw_due_get(unsigned i, const char **name, time_t *next);
