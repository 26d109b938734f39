/* The emergency path: while the database cannot commit (dbstate.c), received messages wait in
 * memory and on the SIM, and nothing is claimed from the outbox. An SOS alarm must not wait for a
 * disk to be freed, so each waiting message is shown once to the feature that registered for it
 * (the SOS module, which reads what it needs: reads still work under another process's lock and
 * on a full disk) and what that feature sends goes straight to a free modem, recorded nowhere but
 * in the log. When the database commits again the message is stored and routed as always (its
 * alerts then go out once more, through the outbox). */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <talloc.h>
#include <osmocom/core/logging.h>
#include <osmocom/core/utils.h>

#include "db/db.h"
#include "gateway/core/gw.h"
#include "modem/mdm.h"

#define EMERGENCY_TRIES 3

struct emergency_msg {
	struct llist_head list;
	unsigned tries;
	char number[32];
	char text[];
};

void gw_emergency_set(struct gw *gw, gw_emergency_fn fn)
{
	gw->emergency_fn = fn;
}

void gw_emergency_examine(struct gw *gw)
{
	struct mdm_event *ev;

	llist_for_each_entry (ev, &gw->inbox, list) {
		if (ev->examined)
			continue;
		ev->examined = true;
		/* a part of a longer message is not an alarm a watch sends; a report is no message */
		if (ev->type != MDM_EV_SMS_IN || ev->u.sms.is_part || !ev->u.sms.text || !gw->emergency_fn)
			continue;
		gw->emergency_fn(gw, ev->u.sms.sender, ev->u.sms.text);
	}
}

int gw_emergency_send(struct gw *gw, const char *number, const char *text)
{
	size_t len = strlen(text);
	struct emergency_msg *e;

	if (gw->emergency_len >= GW_EMERGENCY_MAX) {
		LOGP(DSMS, LOGL_ERROR, "emergency: %u messages wait already; not sent to %s: %s\n", gw->emergency_len,
		     number, text);
		return -ENOSPC;
	}
	e = talloc_size(gw, sizeof(*e) + len + 1);
	if (!e)
		return -ENOMEM;
	talloc_set_name_const(e, "emergency_msg");
	e->tries = 0;
	OSMO_STRLCPY_ARRAY(e->number, number);
	memcpy(e->text, text, len + 1);
	llist_add_tail(&e->list, &gw->emergency);
	gw->emergency_len++;
	gw_emergency_kick(gw);
	return 0;
}

void gw_emergency_kick(struct gw *gw)
{
	if (gw->quitting || !gw->pool)
		return;
	for (unsigned i = 0; i < gw->nmodems && !llist_empty(&gw->emergency); i++) {
		struct gw_modem *m = &gw->modem[i];
		struct emergency_msg *e = llist_first_entry(&gw->emergency, struct emergency_msg, list);
		int64_t job = -(++gw->emergency_seq);

		if (m->state != MDM_ST_READY || m->job || mdm_is_busy(gw->pool, i))
			continue;
		if (mdm_send(gw->pool, i, job, e->number, e->text) < 0)
			continue;
		llist_del(&e->list);
		gw->emergency_len--;
		e->tries++;
		m->job = job;
		m->job_prio = DB_PRIO_SOS;
		m->job_started = gw_mono();
		m->job_abandoned = false;
		m->job_attempts = e->tries;
		m->job_resume = false;
		/* kept with the modem until its result: tried again on failure */
		m->emergency = e;
		LOGP(DSMS, LOGL_NOTICE, "emergency: to %s on %s without the database (try %u): %s\n", e->number,
		     m->cfg.name, e->tries, e->text);
	}
}

void gw_emergency_stuck(struct gw *gw, struct gw_modem *m)
{
	struct emergency_msg *e = m->emergency;

	m->job_abandoned = true;
	m->emergency = NULL;
	if (!e)
		return;
	/* to the next free modem; a late answer from this one is only logged */
	llist_add(&e->list, &gw->emergency);
	gw->emergency_len++;
	gw_emergency_kick(gw);
}

void gw_emergency_result(struct gw *gw, struct gw_modem *m, const struct mdm_event *ev)
{
	struct emergency_msg *e = m->emergency;

	m->emergency = NULL;
	for (unsigned k = 0; k < ev->u.send.stored.n; k++)
		mdm_delete(gw->pool, m->idx, 0, ev->u.send.stored.index[k]); /* nothing refers to its copies */
	if (!e) {
		LOGP(DSMS, LOGL_NOTICE, "emergency: late answer from %s (%s), after it was given to another modem\n",
		     m->cfg.name, ev->u.send.cls == MDM_OK ? "sent" : ev->u.send.reason);
		return;
	}
	if (ev->u.send.cls == MDM_OK) {
		LOGP(DSMS, LOGL_NOTICE, "emergency: sent to %s on %s (refs %s); not in the database\n", e->number,
		     m->cfg.name, ev->u.send.refs);
		talloc_free(e);
		return;
	}
	if (e->tries >= EMERGENCY_TRIES || ev->u.send.cls == MDM_ERR_PERMANENT) {
		LOGP(DSMS, LOGL_ERROR,
		     "emergency: to %s failed on %s after %u tries (%s); it goes out through the "
		     "outbox once the database commits\n",
		     e->number, m->cfg.name, e->tries, ev->u.send.reason);
		talloc_free(e);
		return;
	}
	LOGP(DSMS, LOGL_NOTICE, "emergency: to %s failed on %s (%s); tried again\n", e->number, m->cfg.name,
	     ev->u.send.reason);
	llist_add(&e->list, &gw->emergency);
	gw->emergency_len++;
}

void gw_emergency_stop(struct gw *gw)
{
	struct emergency_msg *e, *n;

	llist_for_each_entry_safe (e, n, &gw->emergency, list) {
		LOGP(DSMS, LOGL_ERROR, "emergency: not sent to %s (linlid stops): %s\n", e->number, e->text);
		llist_del(&e->list);
		talloc_free(e);
	}
	gw->emergency_len = 0;
}
