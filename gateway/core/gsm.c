/* The GSM modem channel (gateway/core/gsm.h): the scheduler gives every free, ready modem the
 * most urgent due message; send results, retries with back-off, and what the pool's send watchdog
 * reports (a modem reset, a message given back to the queue).
 *
 * Rules (../shared/DESIGN.md): an outgoing SMS is "sent" only after the modem returned a
 * reference for every part; after a crash the sends cut off go back to the queue.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <osmocom/core/logging.h>
#include <osmocom/core/rate_ctr.h>
#include <osmocom/core/talloc.h>
#include <osmocom/core/timer.h>
#include <osmocom/core/utils.h>

#include "db/db.h"
#include "gateway/core/due.h"
#include "modem/mdm_errors.h"
#include "gateway/core/gsm.h"
#include "gateway/core/gw.h"
#include "gateway/core/inbox.h"
#include "gateway/core/outbox.h"
#include "gateway/core/ring.h"

static void mctr_inc(struct gw_modem *m, unsigned idx, unsigned n)
{
	if (m->ctrs)
		rate_ctr_add(rate_ctr_group_get_ctr(m->ctrs, idx), n);
}

/* ---- scheduler ---- */

static struct osmo_timer_list kick_timer;
static unsigned rr_next;

static void kick_cb(void *data)
{
	gw_sched_kick(data);
}

/* Run the scheduler once the current event has been handled (and its transaction committed). */
static void sched_kick_later(struct gw *gw)
{
	if (!osmo_timer_pending(&kick_timer)) {
		osmo_timer_setup(&kick_timer, kick_cb, gw);
		osmo_timer_schedule(&kick_timer, 0, 0);
	}
}

/* An SOS is waiting and no modem is free: take back a less urgent send that a worker has not
 * started yet (its modem is still reading what came in, e.g. this very SOS) and give that modem
 * the SOS. The message taken back is queued again as it was. */
static bool preempt_for_sos(struct gw *gw, time_t now)
{
	if (!db_sms_out_waiting(gw->db, DB_PRIO_SOS, now))
		return false;
	for (unsigned i = 0; i < gw->nmodems; i++) {
		struct gw_modem *m = &gw->modem[i];
		int rc;

		if (!m->job || m->job_prio <= DB_PRIO_SOS || m->job_abandoned || m->state != MDM_ST_READY)
			continue;
		if (mdm_withdraw(gw->pool, i, m->job) < 0)
			continue;
		rc = db_sms_out_release(gw->db, m->job);
		if (rc < 0)
			LOGP(DSMS, LOGL_ERROR, "message %" PRId64 " taken back from %s but not requeued: %s\n", m->job,
			     m->cfg.name, strerror(-rc));
		else
			LOGP(DSMS, LOGL_INFO,
			     "message %" PRId64 " taken back from %s before it started: an SOS goes first\n", m->job,
			     m->cfg.name);
		m->job = 0;
		return true;
	}
	return false;
}

static bool resume_stored(struct gw *gw, struct gw_modem *m, time_t now);

/* Give every free, ready modem the most urgent due message. Modems are visited round-robin
 * so that a burst (an SOS fan-out) spreads over all of them. */
void gw_sched_kick(struct gw *gw)
{
	static bool preempting;
	time_t now = gw_now();
	unsigned nready = 0;
	void *tmp;

	if (gw->quitting || !gw->pool)
		return;
	/* what must go out without the database first (emergency.c) */
	gw_emergency_kick(gw);
	/* the database cannot commit: a claim would not hold (the degraded state's retry kicks again) */
	if (gw->db_degraded)
		return;
	for (unsigned i = 0; i < gw->nmodems; i++)
		nready += gw->modem[i].state == MDM_ST_READY && !gw->modem[i].health.no_service;
	tmp = talloc_new(gw);
	for (unsigned k = 0; k < gw->nmodems; k++) {
		unsigned i = (rr_next + k) % gw->nmodems;
		struct gw_modem *m = &gw->modem[i];
		struct db_sms_out out;
		int rc;

		if (m->state != MDM_ST_READY || m->job || mdm_is_busy(gw->pool, i))
			continue;
		/* not registered: it would only refuse (+CMS ERROR: 331), an attempt lost each time */
		if (m->health.no_service)
			continue;
		if (resume_stored(gw, m, now))
			continue;
		/* A message that failed on this modem waits for another one while another is ready. */
		if (nready > 1)
			rc = db_sms_out_claim_other(gw->db, tmp, m->cfg.name, now, &out);
		else
			rc = db_sms_out_claim(gw->db, tmp, m->cfg.name, now, &out);
		if (rc == -ENOENT && nready > 1)
			continue;
		if (rc == -ENOENT)
			break;
		if (rc < 0) {
			gw_ctr_inc(gw, GW_CTR_DB_ERRORS);
			if (!gw_db_fault(gw, rc, "outbox claim"))
				LOGP(DSMS, LOGL_ERROR, "cannot claim from the outbox: %s\n", strerror(-rc));
			break;
		}
		rc = mdm_send(gw->pool, i, out.id, out.dest, out.text);
		if (rc < 0) {
			LOGP(DSMS, LOGL_NOTICE, "modem %s refused message %" PRId64 ": %s; back to the queue\n",
			     m->cfg.name, out.id, strerror(-rc));
			gw_out_record(gw, GW_OUT_RETRY, out.id, "modem not ready", now, -1, 0);
			continue;
		}
		LOGP(DSMS, LOGL_INFO, "message %" PRId64 " (prio %d, attempt %d) -> %s on %s\n", out.id, out.prio,
		     out.attempts, out.dest, m->cfg.name);
		m->job = out.id;
		m->job_prio = out.prio;
		m->job_started = gw_mono();
		m->job_abandoned = false;
		m->job_attempts = out.attempts;
		m->job_resume = false;
		rr_next = (i + 1) % gw->nmodems;
	}
	talloc_free(tmp);
	if (!preempting) {
		preempting = true;
		if (preempt_for_sos(gw, now))
			gw_sched_kick(gw);
		preempting = false;
	}
}

static unsigned count_refs(const char *refs)
{
	unsigned n = refs[0] ? 1 : 0;

	for (; *refs; refs++)
		n += *refs == ',';
	return n;
}

/* Store-and-send: a part refused after others went out (or the copies not read back): the row stays
 * 'sending' with its copies, read back later, so that no part goes twice. Each time is an attempt,
 * backed off as a retry is; once they run out it fails for good (its copies go), as a retry does:
 * a refusal that never ends must not keep it stored, and silent, for ever. */
static void kept_stored(struct gw *gw, struct gw_modem *m, const struct mdm_event *ev, time_t now)
{
	int64_t job = ev->u.send.job;
	unsigned attempts = 0, limit = gw->cfg.max_attempts * (ev->u.send.cls == MDM_ERR_MODEM ? 3 : 1);
	char reason[200];
	int rc;

	snprintf(reason, sizeof(reason), "%s: %s", m->cfg.name, ev->u.send.reason);
	rc = db_sms_out_kept(gw->db, job, reason, &attempts);
	if (rc == 0 && attempts >= limit) {
		char why[260];

		snprintf(why, sizeof(why), "%s (after %u attempts; stored, %u part(s) on the SIM)", reason, attempts,
			 ev->u.send.stored.n);
		gw_out_record(gw, GW_OUT_FAIL, job, why, 0, (int)m->idx, &ev->u.send.stored);
		mctr_inc(m, GW_MDM_CTR_FAILED, 1);
		gw_ctr_inc(gw, GW_CTR_OUT_FAILED);
		LOGP(DSMS, LOGL_ERROR, "message %" PRId64 " failed for good: %s\n", job, why);
		return;
	}
	if (rc < 0 && rc != -ENOENT)
		gw_ctr_inc(gw, GW_CTR_DB_ERRORS);
	m->stored_after = now + (rc == 0 ? gw_outbox_backoff(gw, attempts) : 30);
	LOGP(DSMS, LOGL_NOTICE,
	     "message %" PRId64
	     " stays stored on %s (SIM index %d, %u part(s); attempt %u of %u), read back in %lds: %s\n",
	     job, m->cfg.name, ev->u.send.stored.index[0], ev->u.send.stored.n, attempts, limit,
	     (long)(m->stored_after - now), ev->u.send.reason);
}

static void send_result(struct gw *gw, struct gw_modem *m, const struct mdm_event *ev)
{
	time_t now = gw_now();
	int64_t job = ev->u.send.job;
	unsigned attempts;
	int rc = 0;

	if (m->job != job) {
		LOGP(DSMS, LOGL_ERROR, "modem %s answered for message %" PRId64 " but was sending %" PRId64 "\n",
		     m->cfg.name, job, m->job);
		return;
	}
	attempts = m->job_attempts;
	m->job = 0;
	if (job < 0) {
		/* sent without the database (emergency.c): nothing to record */
		m->job_abandoned = false;
		gw_emergency_result(gw, m, ev);
		return;
	}
	if (m->job_resume && !ev->u.send.keep && ev->u.send.cls != MDM_OK) {
		/* read back after a crash and not found stored: queued again, it may go out twice */
		db_stat_add(gw->db, "out_possible_dup", 1);
		LOGP(DSMS, LOGL_NOTICE, "message %" PRId64 " was not found stored on %s: queued again (%s)\n", job,
		     m->cfg.name, ev->u.send.reason);
	}
	m->job_resume = false;
	if (ev->u.send.keep && !m->job_abandoned) {
		kept_stored(gw, m, ev, now);
		return;
	}
	if (m->job_abandoned) {
		m->job_abandoned = false;
		if (ev->u.send.cls == MDM_OK) {
			/* The watchdog had given it back to the queue: it may go out twice. Counted. */
			gw_ctr_inc(gw, GW_CTR_OUT_LATE_DUP);
			db_stat_add(gw->db, "out_late_dup", 1);
			LOGP(DSMS, LOGL_NOTICE,
			     "message %" PRId64 " was accepted by %s after the watchdog gave it up\n", job,
			     m->cfg.name);
		}
		return;
	}
	switch (ev->u.send.cls) {
	case MDM_OK:
		m->last_progress = now;
		rc = gw_out_record(gw, GW_OUT_SENT, job, ev->u.send.refs, now, (int)m->idx, &ev->u.send.stored);
		mctr_inc(m, GW_MDM_CTR_SENT, 1);
		mctr_inc(m, GW_MDM_CTR_PARTS, count_refs(ev->u.send.refs));
		gw_ctr_inc(gw, GW_CTR_OUT_SENT);
		LOGP(DSMS, LOGL_INFO, "message %" PRId64 " sent on %s, refs %s\n", job, m->cfg.name, ev->u.send.refs);
		break;
	case MDM_ERR_TRANSIENT:
	case MDM_ERR_MODEM: {
		char reason[200];
		unsigned limit = gw->cfg.max_attempts;
		time_t next = now;

		snprintf(reason, sizeof(reason), "%s: %s", m->cfg.name, ev->u.send.reason);
		if (mdm_err_no_service(ev->u.send.reason) && !m->health.no_service) {
			/* until its health poll finds it registered again */
			m->health.no_service = true;
			LOGP(DMDM, LOGL_NOTICE, "modem %s has no network service: it is given no messages\n",
			     m->cfg.name);
		}
		if (ev->u.send.cls == MDM_ERR_MODEM) {
			/* not the message's fault: straight back to the queue for another modem */
			m->last_progress = 0;
			limit *= 3;
		} else {
			m->last_progress = now;
			next = now + gw_outbox_backoff(gw, attempts);
		}
		if (attempts >= limit) {
			char why[260];

			snprintf(why, sizeof(why), "%s (after %u attempts)", reason, attempts);
			rc = gw_out_record(gw, GW_OUT_FAIL, job, why, 0, (int)m->idx, &ev->u.send.stored);
			mctr_inc(m, GW_MDM_CTR_FAILED, 1);
			gw_ctr_inc(gw, GW_CTR_OUT_FAILED);
			LOGP(DSMS, LOGL_ERROR, "message %" PRId64 " failed for good: %s\n", job, why);
		} else {
			rc = gw_out_record(gw, GW_OUT_RETRY, job, reason, next, (int)m->idx, &ev->u.send.stored);
			mctr_inc(m, GW_MDM_CTR_RETRIED, 1);
			gw_ctr_inc(gw, GW_CTR_OUT_RETRIED);
			LOGP(DSMS, LOGL_NOTICE, "message %" PRId64 " will be retried in %lds: %s\n", job,
			     (long)(next - now), reason);
		}
		break;
	}
	case MDM_ERR_PERMANENT: {
		char reason[200];

		m->last_progress = now;
		snprintf(reason, sizeof(reason), "%s: %s", m->cfg.name, ev->u.send.reason);
		rc = gw_out_record(gw, GW_OUT_FAIL, job, reason, 0, (int)m->idx, &ev->u.send.stored);
		mctr_inc(m, GW_MDM_CTR_FAILED, 1);
		gw_ctr_inc(gw, GW_CTR_OUT_FAILED);
		LOGP(DSMS, LOGL_ERROR, "message %" PRId64 " failed: %s\n", job, reason);
		break;
	}
	}
	/* recorded (its SIM copy deleted then), or kept until the database commits again */
	if (rc < 0) {
		gw_ctr_inc(gw, GW_CTR_DB_ERRORS);
		LOGP(DSMS, LOGL_ERROR, "cannot record the outcome of message %" PRId64 ": %s\n", job, strerror(-rc));
	}
}

/* Store-and-send: job's parts were written at the SIM indexes stored on m; sent once committed. */
static void send_stored(struct gw *gw, struct gw_modem *m, const struct mdm_event *ev)
{
	int rc = -ESRCH;

	if (ev->u.send.job < 0) {
		/* an emergency send (emergency.c): no row to hold the index; its copy is deleted after */
		mdm_stored_committed(gw->pool, m->idx, ev->u.send.job, m->job == ev->u.send.job);
		return;
	}
	if (m->job == ev->u.send.job && !m->job_abandoned)
		rc = db_sms_out_stored(gw->db, ev->u.send.job, m->cfg.name, ev->u.send.stored.index,
				       ev->u.send.stored.n);
	if (rc < 0) {
		LOGP(DSMS, LOGL_ERROR,
		     "message %" PRId64 " stored at %d (%u part(s)) on %s, indexes not committed (%s): not sent\n",
		     ev->u.send.job, ev->u.send.stored.index[0], ev->u.send.stored.n, m->cfg.name, strerror(-rc));
		gw_db_fault(gw, rc, "store-and-send index");
	}
	mdm_stored_committed(gw->pool, m->idx, ev->u.send.job, rc == 0);
}

struct stored_first {
	int64_t id;
	struct mdm_copies copies;
	bool bad; /* its parts are not 1..n, or more than a send takes */
};

/* The copies of the first message listed (by message, then part). */
static void stored_first(void *data, int64_t id, int part, int index)
{
	struct stored_first *f = data;

	if (!f->id)
		f->id = id;
	if (f->id != id)
		return;
	if (f->copies.n >= MDM_STORE_PARTS || part != (int)f->copies.n + 1) {
		f->bad = true;
		return;
	}
	f->copies.index[f->copies.n++] = index;
}

/* Store-and-send after a crash: a message this modem had stored (still 'sending', with its SIM
 * index) is read back there before anything new. true when one was handed over. */
static bool resume_stored(struct gw *gw, struct gw_modem *m, time_t now)
{
	struct stored_first f = {.id = 0};
	int rc;

	if (m->stored_after > now)
		return false;
	rc = db_sms_out_stored_list(gw->db, m->cfg.name, true, stored_first, &f);
	if (rc <= 0 || !f.id)
		return false;
	if (f.bad) {
		/* not what this linlid stores: not read back (the copies go once it is recorded) */
		LOGP(DSMS, LOGL_ERROR, "message %" PRId64 " has copies on %s that are not parts 1..%u: queued again\n",
		     f.id, m->cfg.name, f.copies.n);
		db_stat_add(gw->db, "out_possible_dup", 1);
		gw_out_record(gw, GW_OUT_RETRY, f.id, "stored copies unreadable: sent again", now, (int)m->idx,
			      &f.copies);
		return false;
	}
	rc = mdm_send_stored(gw->pool, m->idx, f.id, &f.copies);
	if (rc < 0)
		return false;
	LOGP(DSMS, LOGL_NOTICE,
	     "message %" PRId64 " was stored at SIM index %d (%u part(s)) on %s when linlid stopped: read back\n", f.id,
	     f.copies.index[0], f.copies.n, m->cfg.name);
	m->job = f.id;
	m->job_prio = 0;
	m->job_started = gw_mono();
	m->job_abandoned = false;
	m->job_attempts = 1;
	m->job_resume = true;
	return true;
}

struct stale {
	struct gw *gw;
	struct gw_modem *m;
};

static void stale_copy(void *data, int64_t id, int part, int index)
{
	struct stale *s = data;

	(void)id;
	(void)part;
	mdm_delete(s->gw->pool, s->m->idx, 0, index);
}

/* Store-and-send, once a connection: the outgoing messages stored on m's SIM. Those no message
 * refers to were left by a crash between AT+CMGW and the commit of their indexes (nothing was sent
 * from them): they go. Nothing is deleted while the database cannot say. */
static void sim_out(struct gw *gw, struct gw_modem *m, const struct mdm_event *ev)
{
	unsigned gone = 0;

	for (unsigned k = 0; k < ev->u.sim_out.n; k++) {
		int rc = db_sms_out_copy_known(gw->db, m->cfg.name, ev->u.sim_out.index[k]);

		if (rc < 0) {
			LOGP(DSMS, LOGL_ERROR,
			     "modem %s: cannot tell which stored outgoing messages are known (%s): kept\n", m->cfg.name,
			     strerror(-rc));
			return;
		}
		if (rc == 0 && mdm_delete(gw->pool, m->idx, 0, ev->u.sim_out.index[k]) == 0)
			gone++;
	}
	if (gone)
		LOGP(DSMS, LOGL_NOTICE,
		     "modem %s: %u stored outgoing message(s) on the SIM that no message refers to (left by a crash "
		     "before their index was committed, never sent): deleted\n",
		     m->cfg.name, gone);
}

/* The pool's send watchdog reset modem m: its send has not been answered for send-timeout. */
static void send_reset(struct gw_modem *m, const struct mdm_event *ev)
{
	if (m->job != ev->u.watchdog.job || m->job_abandoned)
		return;
	LOGP(DMDM, LOGL_ERROR, "modem %s has not answered message %" PRId64 " for %lds: resetting it\n", m->cfg.name,
	     m->job, (long)ev->u.watchdog.waited_s);
	mctr_inc(m, GW_MDM_CTR_RESET, 1);
}

/* Still no answer after twice send-timeout, even after the reset: the worker is stuck, the others
 * take its message. The modem keeps the job (it stays busy) until its late answer comes. */
static void send_stuck(struct gw *gw, struct gw_modem *m, const struct mdm_event *ev)
{
	if (m->job != ev->u.watchdog.job || m->job_abandoned)
		return;
	LOGP(DMDM, LOGL_ERROR, "modem %s still stuck: message %" PRId64 " goes to the other modems\n", m->cfg.name,
	     m->job);
	if (m->job < 0) {
		gw_emergency_stuck(gw, m);
		return;
	}
	gw_out_record(gw, GW_OUT_RETRY, m->job, "modem stopped answering", gw_now(), -1, 0);
	m->job_abandoned = true;
	mctr_inc(m, GW_MDM_CTR_RETRIED, 1);
}

/* ---- modem events ---- */

static void mdm_event(struct mdm_pool *pool, struct mdm_event *ev, void *data)
{
	struct gw *gw = data;
	struct gw_modem *m;
	time_t now = gw_now();

	(void)pool;
	if (ev->modem >= gw->nmodems) {
		mdm_event_free(ev);
		return;
	}
	m = &gw->modem[ev->modem];
	switch (ev->type) {
	case MDM_EV_STATE:
		if (m->state != ev->u.state.state)
			LOGP(DMDM, ev->u.state.state == MDM_ST_LOST ? LOGL_ERROR : LOGL_NOTICE, "modem %s: %s%s%s\n",
			     m->cfg.name, mdm_state_name(ev->u.state.state), ev->u.state.reason[0] ? ": " : "",
			     ev->u.state.reason);
		m->state = ev->u.state.state;
		OSMO_STRLCPY_ARRAY(m->reason, ev->u.state.reason);
		if (ev->u.state.imei[0])
			OSMO_STRLCPY_ARRAY(m->imei, ev->u.state.imei);
		if (ev->u.state.model[0])
			OSMO_STRLCPY_ARRAY(m->model, ev->u.state.model);
		if (m->state == MDM_ST_READY) {
			/* store-and-send: copies whose outcome is recorded but whose delete was not confirmed */
			struct stale sc = {gw, m};

			db_sms_out_stored_list(gw->db, m->cfg.name, false, stale_copy, &sc);
			m->ready_since = now;
			m->last_progress = now;
			sched_kick_later(gw);
		}
		mdm_event_free(ev);
		break;
	case MDM_EV_SMS_IN:
	case MDM_EV_REPORT:
		m->last_progress = now;
		gw_inbox_push(gw, ev);
		break;
	case MDM_EV_SEND_RESULT:
		send_result(gw, m, ev);
		mdm_event_free(ev);
		sched_kick_later(gw);
		break;
	case MDM_EV_STORED:
		send_stored(gw, m, ev);
		mdm_event_free(ev);
		break;
	case MDM_EV_SIM_OUT:
		sim_out(gw, m, ev);
		mdm_event_free(ev);
		break;
	case MDM_EV_DELETED:
		if (ev->u.del.rc == 0 || ev->u.del.rc == -ENOENT)
			db_sms_out_stored_gone(gw->db, m->cfg.name, ev->u.del.location);
		if (ev->u.del.rc < 0)
			LOGP(DMDM, LOGL_ERROR,
			     "modem %s: cannot delete stored message %d:%d (%s); "
			     "it is stored already and will be recognised if read again\n",
			     m->cfg.name, ev->u.del.folder, ev->u.del.location, strerror(-ev->u.del.rc));
		mdm_event_free(ev);
		break;
	case MDM_EV_HEALTH:
		m->health.signal_pct = ev->u.health.signal_pct;
		m->health.registered = ev->u.health.registered;
		if (m->health.no_service != ev->u.health.no_service)
			LOGP(DMDM, LOGL_NOTICE, "modem %s: %s\n", m->cfg.name,
			     ev->u.health.no_service ? "not registered: it is given no messages"
						     : "registered again: it sends again");
		m->health.no_service = ev->u.health.no_service;
		if (!m->health.no_service)
			sched_kick_later(gw);
		OSMO_STRLCPY_ARRAY(m->health.network, ev->u.health.network);
		OSMO_STRLCPY_ARRAY(m->health.sim, ev->u.health.sim);
		m->health.sim_used = ev->u.health.sim_used;
		m->health.sim_size = ev->u.health.sim_size;
		m->health.at = now;
		m->last_progress = now;
		mdm_event_free(ev);
		break;
	case MDM_EV_RING:
		gw_ring(gw, ev->modem, ev->u.ring.caller);
		mdm_event_free(ev);
		break;
	case MDM_EV_SEND_RESET:
		send_reset(m, ev);
		mdm_event_free(ev);
		break;
	case MDM_EV_SEND_STUCK:
		send_stuck(gw, m, ev);
		mdm_event_free(ev);
		sched_kick_later(gw);
		break;
	default:
		mdm_event_free(ev);
		break;
	}
}

/* Due work, once a second: whatever became due in the queue (a retry's back-off ended) goes out.
 * (The send watchdog is the pool's: MDM_EV_SEND_RESET, MDM_EV_SEND_STUCK.) */
static time_t modems_due(struct gw *gw, time_t now, void *data)
{
	(void)data;
	gw_sched_kick(gw);
	return now + 1;
}

/* ---- the channel ---- */

static void gsm_kick(struct gw *gw)
{
	sched_kick_later(gw);
}

static bool gsm_idle(struct gw *gw)
{
	for (unsigned i = 0; i < gw->nmodems; i++)
		if (gw->modem[i].job && !gw->modem[i].job_abandoned)
			return false;
	return llist_empty(&gw->inbox);
}

static const struct gw_channel gsm_channel = {
	.name = "gsm",
	.kick = gsm_kick,
	.idle = gsm_idle,
	.stop = gw_gsm_stop,
};

int gw_gsm_init(struct gw *gw)
{
	int rc = gw_channel_add(gw, &gsm_channel);

	return rc < 0 ? rc : gw_due_register(gw, "modems", modems_due, NULL);
}

int gw_gsm_start(struct gw *gw)
{
	struct mdm_cfg cfg[GW_MAX_MODEMS];
	const char *names[GW_MAX_MODEMS];
	int n = 0;

	for (unsigned i = 0; i < gw->nmodems; i++)
		names[i] = gw->modem[i].cfg.name;
	/* store-and-send: what a modem no longer configured had stored cannot be read back */
	if (db_sms_out_stored_orphans(gw->db, names, gw->nmodems, &n) == 0 && n)
		LOGP(DSMS, LOGL_NOTICE,
		     "%d message(s) stored on a modem no longer configured: queued again (counted in "
		     "out_possible_dup)\n",
		     n);
	for (unsigned i = 0; i < gw->nmodems; i++) {
		cfg[i] = gw->modem[i].cfg;
		cfg[i].watchdog_s = gw->cfg.send_timeout_s;
		gw->modem[i].ctrs = gw_modem_ctrs_alloc(gw, i);
	}
	if (!gw->nmodems)
		LOGP(DSMS, LOGL_ERROR, "no modem configured: nothing will be sent or received\n");
	gw->pool = mdm_pool_start(gw, cfg, gw->nmodems, mdm_event, gw);
	if (!gw->pool) {
		LOGP(DSMS, LOGL_FATAL, "cannot start the modem pool\n");
		return -ENOMEM;
	}
	sched_kick_later(gw);
	return 0;
}

void gw_gsm_stop(struct gw *gw)
{
	struct mdm_pool *pool = gw->pool;

	osmo_timer_del(&kick_timer);
	if (!pool)
		return;
	mdm_pool_stop(pool);
	/* the workers are gone: commit without deleting; the next start reads them again and
	 * recognises them as stored */
	gw->pool = NULL;
	while (!llist_empty(&gw->inbox) && gw->inbox_len) {
		unsigned before = gw->inbox_len;

		gw_inbox_flush(gw);
		if (gw->inbox_len >= before)
			break;
	}
}
