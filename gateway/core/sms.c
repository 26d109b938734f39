/* The SMS pipeline on the main thread: inbox (batched, committed, then deleted from the SIM),
 * outbox scheduler (the most urgent due message to each free modem), send results, retries,
 * the watchdog on real progress, and the expiry of incomplete concatenated messages.
 *
 * Rules (../shared/DESIGN.md): a received SMS is deleted from the SIM only after its row is
 * committed; an outgoing SMS is "sent" only after the modem returned a reference for every part;
 * after a crash everything resumes from the database.
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
#include "gateway/core/gw.h"
#include "gateway/request/request.h"
#include "gateway/sip/sip_msg.h"
#include "gateway/sos/sos.h"
#include "modem/sms_codec.h"

#define INBOX_BATCH_MAX 512

time_t gw_now(void)
{
	struct timespec ts;

	osmo_clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + gw_clock_offset_s;
}

static void mctr_inc(struct gw_modem *m, unsigned idx, unsigned n)
{
	if (m->ctrs)
		rate_ctr_add(rate_ctr_group_get_ctr(m->ctrs, idx), n);
}

static void gctr_inc(struct gw *gw, unsigned idx)
{
	rate_ctr_inc2(gw->ctrs, idx);
}

static uint64_t fnv1a64(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
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
			LOGP(DSMS, LOGL_INFO, "message %" PRId64 " taken back from %s before it started: an SOS goes first\n",
			     m->job, m->cfg.name);
		m->job = 0;
		return true;
	}
	return false;
}

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
	for (unsigned i = 0; i < gw->nmodems; i++)
		nready += gw->modem[i].state == MDM_ST_READY;
	tmp = talloc_new(gw);
	for (unsigned k = 0; k < gw->nmodems; k++) {
		unsigned i = (rr_next + k) % gw->nmodems;
		struct gw_modem *m = &gw->modem[i];
		struct db_sms_out out;
		int rc;

		if (m->state != MDM_ST_READY || m->job || mdm_is_busy(gw->pool, i))
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
			gctr_inc(gw, GW_CTR_DB_ERRORS);
			LOGP(DSMS, LOGL_ERROR, "cannot claim from the outbox: %s\n", strerror(-rc));
			break;
		}
		rc = mdm_send(gw->pool, i, out.id, out.dest, out.text);
		if (rc < 0) {
			LOGP(DSMS, LOGL_NOTICE, "modem %s refused message %" PRId64 ": %s; back to the queue\n",
			     m->cfg.name, out.id, strerror(-rc));
			db_sms_out_retry(gw->db, out.id, now, "modem not ready");
			continue;
		}
		LOGP(DSMS, LOGL_INFO, "message %" PRId64 " (prio %d, attempt %d) -> %s on %s\n", out.id, out.prio,
		     out.attempts, out.dest, m->cfg.name);
		m->job = out.id;
		m->job_prio = out.prio;
		m->job_started = now;
		m->job_abandoned = false;
		m->job_reset = false;
		m->job_attempts = out.attempts;
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

/* Queue a message to dest (normalised here) and have the scheduler look at it after the
 * current event. -EINVAL for a bad number, -EILSEQ for text that is not UTF-8. */
int gw_sms_queue(struct gw *gw, const char *dest, const char *text, int prio, int64_t *id)
{
	char num[32];
	int rc;

	rc = db_number_norm(dest, num, sizeof(num));
	if (rc < 0)
		return rc;
	rc = sms_utf8_validate(text, strlen(text), NULL);
	if (rc < 0)
		return rc;
	/* a SIP number (or the sender of the SIP MESSAGE being answered) is texted by SIP MESSAGE
	 * through Kamailio (gateway/sip/sip_msg.c), everyone else by a modem */
	if (!strcmp(sip_msg_channel_for(gw, num), "sip")) {
		rc = db_sms_out_add_channel(gw->db, "sip", num, text, prio, id);
		if (rc < 0)
			return rc;
		gctr_inc(gw, GW_CTR_OUT_QUEUED);
		sip_msg_kick(gw);
		return 0;
	}
	rc = db_sms_out_add(gw->db, num, text, prio, id);
	if (rc < 0)
		return rc;
	gctr_inc(gw, GW_CTR_OUT_QUEUED);
	sched_kick_later(gw);
	return 0;
}

static unsigned count_refs(const char *refs)
{
	unsigned n = refs[0] ? 1 : 0;

	for (; *refs; refs++)
		n += *refs == ',';
	return n;
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
	if (m->job_abandoned) {
		m->job_abandoned = false;
		if (ev->u.send.cls == MDM_OK) {
			/* The watchdog had given it back to the queue: it may go out twice. Counted. */
			gctr_inc(gw, GW_CTR_OUT_LATE_DUP);
			db_stat_add(gw->db, "out_late_dup", 1);
			LOGP(DSMS, LOGL_NOTICE, "message %" PRId64 " was accepted by %s after the watchdog gave it up\n",
			     job, m->cfg.name);
		}
		return;
	}
	switch (ev->u.send.cls) {
	case MDM_OK:
		m->last_progress = now;
		rc = db_sms_out_sent(gw->db, job, ev->u.send.refs, now);
		mctr_inc(m, GW_MDM_CTR_SENT, 1);
		mctr_inc(m, GW_MDM_CTR_PARTS, count_refs(ev->u.send.refs));
		gctr_inc(gw, GW_CTR_OUT_SENT);
		LOGP(DSMS, LOGL_INFO, "message %" PRId64 " sent on %s, refs %s\n", job, m->cfg.name, ev->u.send.refs);
		break;
	case MDM_ERR_TRANSIENT:
	case MDM_ERR_MODEM: {
		char reason[200];
		unsigned limit = gw->cfg.max_attempts;
		time_t next = now;

		snprintf(reason, sizeof(reason), "%s: %s", m->cfg.name, ev->u.send.reason);
		if (ev->u.send.cls == MDM_ERR_MODEM) {
			/* not the message's fault: straight back to the queue for another modem */
			m->last_progress = 0;
			limit *= 3;
		} else {
			unsigned shift = attempts > 1 ? attempts - 1 : 0;
			unsigned long delay = (unsigned long)gw->cfg.retry_base_s << (shift > 16 ? 16 : shift);

			m->last_progress = now;
			next = now + (time_t)(delay > gw->cfg.retry_max_s ? gw->cfg.retry_max_s : delay);
		}
		if (attempts >= limit) {
			char why[260];

			snprintf(why, sizeof(why), "%s (after %u attempts)", reason, attempts);
			rc = db_sms_out_fail(gw->db, job, why);
			mctr_inc(m, GW_MDM_CTR_FAILED, 1);
			gctr_inc(gw, GW_CTR_OUT_FAILED);
			LOGP(DSMS, LOGL_ERROR, "message %" PRId64 " failed for good: %s\n", job, why);
		} else {
			rc = db_sms_out_retry(gw->db, job, next, reason);
			mctr_inc(m, GW_MDM_CTR_RETRIED, 1);
			gctr_inc(gw, GW_CTR_OUT_RETRIED);
			LOGP(DSMS, LOGL_NOTICE, "message %" PRId64 " will be retried in %lds: %s\n", job,
			     (long)(next - now), reason);
		}
		break;
	}
	case MDM_ERR_PERMANENT: {
		char reason[200];

		m->last_progress = now;
		snprintf(reason, sizeof(reason), "%s: %s", m->cfg.name, ev->u.send.reason);
		rc = db_sms_out_fail(gw->db, job, reason);
		mctr_inc(m, GW_MDM_CTR_FAILED, 1);
		gctr_inc(gw, GW_CTR_OUT_FAILED);
		LOGP(DSMS, LOGL_ERROR, "message %" PRId64 " failed: %s\n", job, reason);
		break;
	}
	}
	if (rc < 0) {
		gctr_inc(gw, GW_CTR_DB_ERRORS);
		LOGP(DSMS, LOGL_ERROR, "cannot record the outcome of message %" PRId64 ": %s\n", job, strerror(-rc));
	}
}

/* ---- inbox: batched commit, then delete from the SIM ---- */

static void flush_cb(void *data);

static void flush_later(struct gw *gw, unsigned delay_s)
{
	if (!osmo_timer_pending(&gw->flush)) {
		osmo_timer_setup(&gw->flush, flush_cb, gw);
		osmo_timer_schedule(&gw->flush, delay_s, 0);
	}
}

/* Store one received message or part. Returns 0 and the id of a complete new message in
 * *msg_id (0 while parts are missing), -EEXIST for a duplicate, other -errno on failure. */
static int store_in(struct gw *gw, const struct mdm_event *ev, int64_t *msg_id)
{
	const char *modem = gw->modem[ev->modem].cfg.name;
	const char *text = ev->u.sms.text ? ev->u.sms.text : "";
	char sender[32], dedup[160];
	time_t now = gw_now();
	unsigned flags = ev->u.sms.bad_text ? DB_SMS_IN_BAD_TEXT : 0;

	if (db_number_norm(ev->u.sms.sender, sender, sizeof(sender)) < 0)
		OSMO_STRLCPY_ARRAY(sender, ev->u.sms.sender[0] ? ev->u.sms.sender : "unknown");

	/* SMS-DELIVER always carries the SMSC time stamp; without one, fall back on where it was stored. */
	if (ev->u.sms.smsc_ts)
		snprintf(dedup, sizeof(dedup), "%s|%" PRId64 "|%u/%u/%u|%016" PRIx64, sender, ev->u.sms.smsc_ts,
			 ev->u.sms.ref, ev->u.sms.total, ev->u.sms.seq, fnv1a64(text));
	else
		snprintf(dedup, sizeof(dedup), "%s|%s:%d:%d|%u/%u/%u|%016" PRIx64, sender, modem, ev->u.sms.folder,
			 ev->u.sms.location, ev->u.sms.ref, ev->u.sms.total, ev->u.sms.seq, fnv1a64(text));

	*msg_id = 0;
	if (ev->u.sms.is_part && ev->u.sms.total > 1) {
		struct db_sms_part p = {
			.modem = modem,
			.sender = sender,
			.ref = ev->u.sms.ref,
			.total = ev->u.sms.total,
			.seq = ev->u.sms.seq,
			.text = text,
			.raw = ev->u.sms.raw,
			.smsc_ts = ev->u.sms.smsc_ts,
			.recv_ts = now,
			.flags = flags,
			.dedup = dedup,
		};
		return db_sms_part_add(gw->db, &p, msg_id);
	} else {
		struct db_sms_in m = {
			.channel = "gsm",
			.modem = modem,
			.sender = sender,
			.text = text,
			.raw = ev->u.sms.raw,
			.smsc_ts = ev->u.sms.smsc_ts,
			.recv_ts = now,
			.flags = flags,
			.dedup = dedup,
		};
		return db_sms_in_add(gw->db, &m, msg_id);
	}
}

/* Commit everything received since the last flush in one transaction (group commit), route
 * the complete messages inside it, and only then ask the modems to delete what was stored.
 * On a database failure nothing is deleted: the messages stay on the SIM and are read again. */
void gw_inbox_flush(struct gw *gw)
{
	struct mdm_event *ev, *ev2;
	LLIST_HEAD(batch);
	int64_t *routes;
	unsigned nroutes = 0, n = 0;
	int rc;

	if (llist_empty(&gw->inbox))
		return;
	llist_for_each_entry_safe(ev, ev2, &gw->inbox, list) {
		if (n++ == INBOX_BATCH_MAX)
			break;
		llist_del(&ev->list);
		llist_add_tail(&ev->list, &batch);
		gw->inbox_len--;
	}
	routes = talloc_array(gw, int64_t, n);

	rc = db_begin(gw->db);
	if (rc < 0)
		goto db_failed;
	llist_for_each_entry(ev, &batch, list) {
		struct gw_modem *m = &gw->modem[ev->modem];

		if (ev->type == MDM_EV_REPORT) {
			rc = db_sms_out_report(gw->db, m->cfg.name, ev->u.report.mr, ev->u.report.status,
					       ev->u.report.ts ? ev->u.report.ts : gw_now());
			if (rc == -ENOENT)
				LOGP(DSMS, LOGL_INFO, "report for ref %u on %s matches no sent message\n",
				     ev->u.report.mr, m->cfg.name);
			else if (rc < 0)
				goto rollback;
			else
				mctr_inc(m, GW_MDM_CTR_REPORTS, 1);
			continue;
		}
		int64_t id;

		rc = store_in(gw, ev, &id);
		if (rc == -EEXIST) {
			mctr_inc(m, GW_MDM_CTR_DUPLICATE, 1);
			gctr_inc(gw, GW_CTR_IN_DUPLICATES);
			LOGP(DSMS, LOGL_NOTICE, "message from %s at %s:%d read again; already stored\n",
			     ev->u.sms.sender, m->cfg.name, ev->u.sms.location);
			continue;
		}
		if (rc < 0)
			goto rollback;
		mctr_inc(m, GW_MDM_CTR_RECEIVED, 1);
		if (id)
			routes[nroutes++] = id;
	}
	for (unsigned i = 0; i < nroutes; i++) {
		gctr_inc(gw, GW_CTR_IN_MESSAGES);
		rc = gw_route(gw, routes[i]);
		if (rc < 0)
			LOGP(DRT, LOGL_ERROR, "message %" PRId64 " stored but not routed (%s); routed at the next start\n",
			     routes[i], strerror(-rc));
	}
	rc = db_commit(gw->db);
	if (rc < 0)
		goto rollback;

	/* alerts queued by the routing take the next send slots, ahead of the SIM deletions; then
	 * the workers, which held their next command for this commit, may go on */
	gw_sched_kick(gw);
	llist_for_each_entry_safe(ev, ev2, &batch, list) {
		int folder = ev->type == MDM_EV_REPORT ? ev->u.report.folder : ev->u.sms.folder;
		int loc = ev->type == MDM_EV_REPORT ? ev->u.report.location : ev->u.sms.location;

		llist_del(&ev->list);
		if (gw->pool && loc > 0)
			mdm_delete(gw->pool, ev->modem, folder, loc);
		mdm_event_free(ev);
	}
	talloc_free(routes);
	mdm_inbox_committed(gw->pool);
	if (!llist_empty(&gw->inbox))
		flush_later(gw, 0);
	sched_kick_later(gw);
	return;

rollback:
	db_rollback(gw->db);
db_failed:
	gctr_inc(gw, GW_CTR_DB_ERRORS);
	LOGP(DSMS, LOGL_ERROR, "cannot commit %u received message(s): %s; kept on the SIM, retrying\n", n,
	     strerror(-rc));
	talloc_free(routes);
	/* put them back in front and try again in a second */
	llist_splice(&batch, &gw->inbox);
	gw->inbox_len += n;
	flush_later(gw, 1);
}

static void flush_cb(void *data)
{
	gw_inbox_flush(data);
}

/* Hand a received event (MDM_EV_SMS_IN or MDM_EV_REPORT) to the inbox; it is committed with
 * whatever else arrives in this loop iteration. Takes ownership of ev. */
void gw_inbox_push(struct gw *gw, struct mdm_event *ev)
{
	llist_add_tail(&ev->list, &gw->inbox);
	gw->inbox_len++;
	flush_later(gw, 0);
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
	case MDM_EV_DELETED:
		if (ev->u.del.rc < 0)
			LOGP(DMDM, LOGL_ERROR, "modem %s: cannot delete stored message %d:%d (%s); "
			     "it is stored already and will be recognised if read again\n",
			     m->cfg.name, ev->u.del.folder, ev->u.del.location, strerror(-ev->u.del.rc));
		mdm_event_free(ev);
		break;
	case MDM_EV_HEALTH:
		m->health.signal_pct = ev->u.health.signal_pct;
		m->health.registered = ev->u.health.registered;
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
	default:
		mdm_event_free(ev);
		break;
	}
}

int gw_inbox_add_route(struct gw *gw, const struct db_sms_in *in)
{
	int64_t id;
	int rc = db_begin(gw->db);

	if (rc < 0)
		return rc;
	rc = db_sms_in_add(gw->db, in, &id);
	if (rc == -EEXIST) {
		/* stored already (its dedup key): nothing more to do */
		db_rollback(gw->db);
		return 0;
	}
	if (rc == 0) {
		gctr_inc(gw, GW_CTR_IN_MESSAGES);
		rc = gw_route(gw, id);
	}
	if (rc == 0)
		rc = db_commit(gw->db);
	if (rc < 0) {
		gctr_inc(gw, GW_CTR_DB_ERRORS);
		db_rollback(gw->db);
		return rc;
	}
	gw_sched_kick(gw); /* what the routing queued */
	return 0;
}

/* ---- the once-a-second tick: watchdog, expiry of incomplete messages, scheduler ---- */

static void route_expired(void *data, int64_t id)
{
	struct gw *gw = data;

	gctr_inc(gw, GW_CTR_IN_INCOMPLETE);
	gctr_inc(gw, GW_CTR_IN_MESSAGES);
	if (gw_route(gw, id) < 0)
		LOGP(DRT, LOGL_ERROR, "message %" PRId64 " stored but not routed; routed at the next start\n", id);
}

static void watchdog(struct gw *gw, time_t now)
{
	for (unsigned i = 0; i < gw->nmodems; i++) {
		struct gw_modem *m = &gw->modem[i];

		if (!m->job || m->job_abandoned)
			continue;
		if (!m->job_reset && now - m->job_started > (time_t)gw->cfg.send_timeout_s) {
			LOGP(DMDM, LOGL_ERROR, "modem %s has not answered message %" PRId64 " for %lds: resetting it\n",
			     m->cfg.name, m->job, (long)(now - m->job_started));
			m->job_reset = true;
			mctr_inc(m, GW_MDM_CTR_RESET, 1);
			mdm_reset(gw->pool, i);
		} else if (now - m->job_started > 2 * (time_t)gw->cfg.send_timeout_s) {
			/* the worker is stuck even after the reset: the others take its message */
			LOGP(DMDM, LOGL_ERROR, "modem %s still stuck: message %" PRId64 " goes to the other modems\n",
			     m->cfg.name, m->job);
			db_sms_out_retry(gw->db, m->job, now, "modem stopped answering");
			m->job_abandoned = true;
			mctr_inc(m, GW_MDM_CTR_RETRIED, 1);
		}
	}
}

static void tick_cb(void *data)
{
	struct gw *gw = data;
	time_t now = gw_now();
	static time_t last_expiry;

	watchdog(gw, now);
	if (now - last_expiry >= 5) {
		last_expiry = now;
		if (db_begin(gw->db) == 0) {
			int n = db_sms_part_expire(gw->db, now - gw->cfg.part_timeout_s, route_expired, gw);

			if (n < 0 || db_commit(gw->db) < 0) {
				db_rollback(gw->db);
				LOGP(DSMS, LOGL_ERROR, "cannot expire incomplete messages\n");
			} else if (n > 0) {
				LOGP(DSMS, LOGL_NOTICE, "%d concatenated message(s) stored with parts missing\n", n);
			}
		}
	}
	gw_sos_tick(gw, now);
	gw_request_tick(gw, now);
	gw_sched_kick(gw);
	osmo_timer_schedule(&gw->tick, 1, 0);
}

/* ---- start and stop ---- */

static void collect_new(void *data, int64_t id)
{
	int64_t **ids = data;
	size_t n = talloc_array_length(*ids);

	*ids = talloc_realloc(NULL, *ids, int64_t, n + 1);
	(*ids)[n] = id;
}

/* Resume from the database (sends cut off by a crash go back to the queue, received messages
 * not yet routed are routed), then start the modem pool and the tick. */
int gw_sms_start(struct gw *gw)
{
	struct mdm_cfg cfg[GW_MAX_MODEMS];
	int64_t *ids = talloc_array(NULL, int64_t, 0);
	int n = 0, rc;

	rc = db_sms_out_recover(gw->db, &n);
	if (rc < 0) {
		LOGP(DSMS, LOGL_FATAL, "cannot recover the outbox: %s\n", strerror(-rc));
		talloc_free(ids);
		return rc;
	}
	if (n)
		LOGP(DSMS, LOGL_NOTICE, "%d message(s) were being sent when linlid stopped: queued again "
		     "(each may reach its recipient twice; counted in out_possible_dup)\n", n);

	gw_route_init(gw);
	rc = db_sms_in_foreach_new(gw->db, collect_new, &ids);
	if (rc >= 0 && talloc_array_length(ids)) {
		LOGP(DRT, LOGL_NOTICE, "routing %zu message(s) received before the restart\n", talloc_array_length(ids));
		if (db_begin(gw->db) == 0) {
			for (size_t i = 0; i < talloc_array_length(ids); i++)
				gw_route(gw, ids[i]);
			if (db_commit(gw->db) < 0)
				db_rollback(gw->db);
		}
	}
	talloc_free(ids);

	for (unsigned i = 0; i < gw->nmodems; i++) {
		cfg[i] = gw->modem[i].cfg;
		gw->modem[i].ctrs = gw_modem_ctrs_alloc(gw, i);
	}
	if (!gw->nmodems)
		LOGP(DSMS, LOGL_ERROR, "no modem configured: nothing will be sent or received\n");
	gw->pool = mdm_pool_start(gw, cfg, gw->nmodems, mdm_event, gw);
	if (!gw->pool) {
		LOGP(DSMS, LOGL_FATAL, "cannot start the modem pool\n");
		return -ENOMEM;
	}
	osmo_timer_setup(&gw->tick, tick_cb, gw);
	osmo_timer_schedule(&gw->tick, 1, 0);
	sched_kick_later(gw);
	sip_msg_start(gw); /* SMS over SIP, when `evapi` is configured */
	return 0;
}

/* Nothing in flight: no send waiting for its modem, no received message waiting for its commit. */
bool gw_sms_idle(struct gw *gw)
{
	for (unsigned i = 0; i < gw->nmodems; i++)
		if (gw->modem[i].job && !gw->modem[i].job_abandoned)
			return false;
	return llist_empty(&gw->inbox) && sip_msg_idle(); /* and no SIP MESSAGE waiting for its answer */
}

/* Stop the workers (their last events are delivered), commit what they read, stop the timers. */
void gw_sms_stop(struct gw *gw)
{
	gw->quitting = true;
	sip_msg_stop(gw);
	osmo_timer_del(&gw->tick);
	osmo_timer_del(&kick_timer);
	if (gw->pool) {
		struct mdm_pool *pool = gw->pool;

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
	osmo_timer_del(&gw->flush);
	while (!llist_empty(&gw->inbox)) {
		struct mdm_event *ev = llist_first_entry(&gw->inbox, struct mdm_event, list);

		llist_del(&ev->list);
		mdm_event_free(ev);
	}
}
