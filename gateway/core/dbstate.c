/* The degraded-database state (gateway/core/gw.h): set when the database cannot commit (a full
 * disk, an I/O error, a lock held by another process), cleared by a periodic retry.
 *
 * While it is set nothing is claimed from the outbox and nothing is deleted from the SIMs (the
 * inbox flush deletes only after its commit): received messages wait in memory and on the SIM. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <talloc.h>

#include <osmocom/core/logging.h>
#include <osmocom/core/timer.h>

#include "db/db.h"
#include "gateway/core/clock.h"
#include "gateway/core/due.h"
#include "gateway/core/gsm.h"
#include "gateway/core/gw.h"
#include "gateway/core/inbox.h"
#include "gateway/core/outbox.h"
#include "modem/mdm.h"

#define DB_RETRY_S 2

/* An outgoing message's outcome the database could not take: recorded by the retry, in order */
struct pending_outcome {
	struct llist_head list;
	enum gw_out_outcome kind;
	int64_t id;
	int64_t at; /* sent: when; retry: the next try */
	int modem;  /* >= 0: delete the SIM copies stored on this modem once recorded */
	struct mdm_copies stored;
	char text[]; /* sent: the part references; retry, fail: the reason */
};

static int write_outcome(struct gw *gw, enum gw_out_outcome kind, int64_t id, const char *text, int64_t at)
{
	switch (kind) {
	case GW_OUT_SENT:
		return db_sms_out_sent(gw->db, id, text, at);
	case GW_OUT_RETRY:
		return db_sms_out_retry(gw->db, id, at, text);
	case GW_OUT_FAIL:
		return db_sms_out_fail(gw->db, id, text);
	}
	return -EINVAL;
}

static void outcome_done(struct gw *gw, int modem, const struct mdm_copies *stored)
{
	/* the outcome is committed: the SIM copies may go */
	for (unsigned k = 0; modem >= 0 && stored && gw->pool && k < stored->n; k++)
		mdm_delete(gw->pool, (unsigned)modem, 0, stored->index[k]);
}

int gw_out_record(struct gw *gw, enum gw_out_outcome kind, int64_t id, const char *text, int64_t at, int modem,
		  const struct mdm_copies *stored)
{
	struct pending_outcome *p;
	int rc;

	/* while outcomes wait, a newer one goes behind them: the rows change in the order they happened */
	if (llist_empty(&gw->db_pending)) {
		rc = write_outcome(gw, kind, id, text, at);
		if (rc == 0) {
			outcome_done(gw, modem, stored);
			return 0;
		}
		if (!gw_db_fault(gw, rc, "outcome"))
			return rc;
	}
	p = talloc_size(gw, sizeof(*p) + strlen(text) + 1);
	if (!p)
		return -ENOMEM;
	talloc_set_name_const(p, "pending_outcome");
	p->kind = kind;
	p->id = id;
	p->at = at;
	p->modem = modem;
	if (stored)
		p->stored = *stored;
	else
		p->stored.n = 0;
	memcpy(p->text, text, strlen(text) + 1);
	llist_add_tail(&p->list, &gw->db_pending);
	gw->db_pending_len++;
	LOGP(DSMS, LOGL_NOTICE, "the outcome of message %" PRId64 " waits for the database (%u waiting)\n", id,
	     gw->db_pending_len);
	return 1;
}

/* Record the waiting outcomes, oldest first. 0 when none is left. */
static int replay_outcomes(struct gw *gw)
{
	struct pending_outcome *p, *n;
	int rc;

	llist_for_each_entry_safe (p, n, &gw->db_pending, list) {
		rc = write_outcome(gw, p->kind, p->id, p->text, p->at);
		if (rc < 0 && gw_db_fault_kind(rc) >= 0)
			return rc;
		if (rc < 0)
			LOGP(DSMS, LOGL_ERROR, "cannot record the outcome of message %" PRId64 ": %s\n", p->id,
			     strerror(-rc));
		else
			outcome_done(gw, p->modem, &p->stored);
		llist_del(&p->list);
		gw->db_pending_len--;
		talloc_free(p);
	}
	return 0;
}

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
	rc = replay_outcomes(gw);
	if (rc < 0) {
		gw_db_fault(gw, rc, "retry");
	} else if (!llist_empty(&gw->inbox)) {
		/* what is waiting for its commit is the real test: its commit clears the state */
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
		osmo_timer_schedule(&gw->db_retry, DB_RETRY_S, 0);
	}
	return true;
}

void gw_db_ok(struct gw *gw)
{
	int rc;

	if (!gw->db_degraded)
		return;
	/* outcomes still waiting keep the state until they are recorded */
	rc = replay_outcomes(gw);
	if (rc < 0) {
		gw_db_fault(gw, rc, "outcome");
		return;
	}
	LOGP(DSMS, LOGL_NOTICE, "database commits again after %lds (%s): sends and SIM deletions resume\n",
	     (long)(gw_mono() - gw->db_fault_since), strerror(-gw->db_fault_err));
	gw->db_degraded = false;
	gw->db_fault_err = 0;
	osmo_timer_del(&gw->db_retry);
	gw_sched_kick(gw);
	gw_outbox_kick(gw);
	gw_due_kick();
}

void gw_db_init(struct gw *gw)
{
	INIT_LLIST_HEAD(&gw->db_pending);
	INIT_LLIST_HEAD(&gw->emergency);
	osmo_timer_setup(&gw->db_retry, retry_cb, gw);
}

void gw_db_stop(struct gw *gw)
{
	osmo_timer_del(&gw->db_retry);
	if (gw->db_pending_len && replay_outcomes(gw) < 0)
		LOGP(DSMS, LOGL_ERROR,
		     "%u outcome(s) not recorded (the database cannot commit): those messages are still 'sending' "
		     "and go out again at the next start\n",
		     gw->db_pending_len);
}
