/* The degraded-database state (gateway/core/gw.h): set when the database cannot commit (a full
 * disk, an I/O error, a lock held by another process), cleared by a periodic retry.
 *
 * While it is set nothing is claimed from the outbox and nothing is deleted from the SIMs (the
 * inbox flush deletes only after its commit): received messages wait in memory and on the SIM. */
#include <errno.h>
#include <string.h>

#include <osmocom/core/logging.h>
#include <osmocom/core/timer.h>

#include "db/db.h"
#include "gateway/core/clock.h"
#include "gateway/core/gsm.h"
#include "gateway/core/gw.h"
#include "gateway/core/inbox.h"
#include "gateway/core/outbox.h"

#define DB_RETRY_S 2

static const int fault_errs[_GW_DB_FAULTS] = {
	[GW_DB_FAULT_NOSPC] = -ENOSPC,
	[GW_DB_FAULT_IO] = -EIO,
	[GW_DB_FAULT_BUSY] = -EBUSY,
};

static const char *const fault_names[_GW_DB_FAULTS] = {
	[GW_DB_FAULT_NOSPC] = "full",
	[GW_DB_FAULT_IO] = "ioerr",
	[GW_DB_FAULT_BUSY] = "busy",
};

int gw_db_fault_kind(int err)
{
	for (int i = 0; i < _GW_DB_FAULTS; i++)
		if (fault_errs[i] == err)
			return i;
	return -1;
}

const char *gw_db_fault_name(unsigned kind)
{
	return kind < _GW_DB_FAULTS ? fault_names[kind] : "other";
}

static void retry_cb(void *data)
{
	struct gw *gw = data;
	int rc;

	if (!gw->db_degraded)
		return;
	/* what is waiting for its commit is the real test: its commit clears the state */
	if (!llist_empty(&gw->inbox)) {
		gw_inbox_flush(gw);
	} else {
		/* nothing waiting: can a write transaction be taken and committed? */
		rc = db_begin(gw->db);
		if (rc == 0) {
			rc = db_commit(gw->db);
			if (rc < 0)
				db_rollback(gw->db);
		}
		if (rc < 0)
			gw_db_fault(gw, rc, "retry");
		else
			gw_db_ok(gw);
	}
	if (gw->db_degraded && !osmo_timer_pending(&gw->db_retry))
		osmo_timer_schedule(&gw->db_retry, DB_RETRY_S, 0);
}

bool gw_db_fault(struct gw *gw, int err, const char *what)
{
	int kind = gw_db_fault_kind(err);

	if (kind < 0)
		return false;
	gw->db_fault_count[kind]++;
	if (!gw->db_degraded || gw->db_fault_err != err)
		LOGP(DSMS, LOGL_ERROR,
		     "database cannot commit (%s: %s): degraded; SIM deletions and sends held, retrying every %d s\n",
		     what, strerror(-err), DB_RETRY_S);
	if (!gw->db_degraded)
		gw->db_fault_since = gw_mono();
	gw->db_degraded = true;
	gw->db_fault_err = err;
	if (!osmo_timer_pending(&gw->db_retry)) {
		osmo_timer_setup(&gw->db_retry, retry_cb, gw);
		osmo_timer_schedule(&gw->db_retry, DB_RETRY_S, 0);
	}
	return true;
}

void gw_db_ok(struct gw *gw)
{
	if (!gw->db_degraded)
		return;
	LOGP(DSMS, LOGL_NOTICE, "database commits again after %lds (%s): sends and SIM deletions resume\n",
	     (long)(gw_mono() - gw->db_fault_since), strerror(-gw->db_fault_err));
	gw->db_degraded = false;
	gw->db_fault_err = 0;
	osmo_timer_del(&gw->db_retry);
	gw_sched_kick(gw);
	gw_outbox_kick(gw);
}

void gw_db_stop(struct gw *gw)
{
	osmo_timer_del(&gw->db_retry);
}
