/* The inbox (gateway/core/inbox.h).
 *
 * Rules (../shared/DESIGN.md): a received SMS is deleted from the SIM only after its row is
 * committed; what the routing of a message queued is committed with it.
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
#include "gateway/core/gsm.h"
#include "gateway/core/gw.h"
#include "gateway/core/inbox.h"
#include "gateway/core/outbox.h"
#include "gateway/core/route.h"

#define INBOX_BATCH_MAX	    512
#define PART_EXPIRY_EVERY_S 5

static void mctr_inc(struct gw_modem *m, unsigned idx, unsigned n)
{
	if (m->ctrs)
		rate_ctr_add(rate_ctr_group_get_ctr(m->ctrs, idx), n);
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
	llist_for_each_entry_safe (ev, ev2, &gw->inbox, list) {
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
	llist_for_each_entry (ev, &batch, list) {
		struct gw_modem *m = &gw->modem[ev->modem];
		int64_t id;

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
		rc = store_in(gw, ev, &id);
		if (rc == -EEXIST) {
			mctr_inc(m, GW_MDM_CTR_DUPLICATE, 1);
			gw_ctr_inc(gw, GW_CTR_IN_DUPLICATES);
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
		gw_ctr_inc(gw, GW_CTR_IN_MESSAGES);
		rc = gw_route(gw, routes[i]);
		/* the database failing under the routing (full, I/O): the whole batch waits, routed then */
		if (rc < 0 && gw_db_fault_kind(rc) >= 0)
			goto rollback;
		if (rc < 0)
			LOGP(DRT, LOGL_ERROR,
			     "message %" PRId64 " stored but not routed (%s); routed at the next start\n", routes[i],
			     strerror(-rc));
	}
	rc = db_commit(gw->db);
	if (rc < 0)
		goto rollback;
	gw_db_ok(gw);

	/* alerts queued by the routing take the next send slots, ahead of the SIM deletions; then
	 * the workers, which held their next command for this commit, may go on */
	gw_sched_kick(gw);
	llist_for_each_entry_safe (ev, ev2, &batch, list) {
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
	gw_outbox_kick(gw);
	gw_due_kick();
	return;

rollback:
	db_rollback(gw->db);
db_failed:
	gw_ctr_inc(gw, GW_CTR_DB_ERRORS);
	talloc_free(routes);
	/* put them back in front; nothing is deleted from the SIM */
	llist_splice(&batch, &gw->inbox);
	gw->inbox_len += n;
	/* a database fault: logged once on entry, the degraded state's retry flushes again */
	if (gw_db_fault(gw, rc, "inbox commit")) {
		LOGP(DSMS, LOGL_DEBUG, "cannot commit %u received message(s): %s; kept on the SIM\n", n, strerror(-rc));
		/* an SOS among them must not wait for the database (emergency.c) */
		gw_emergency_examine(gw);
		return;
	}
	LOGP(DSMS, LOGL_ERROR, "cannot commit %u received message(s): %s; kept on the SIM, retrying\n", n,
	     strerror(-rc));
	flush_later(gw, 1);
}

static void flush_cb(void *data)
{
	gw_inbox_flush(data);
}

void gw_inbox_push(struct gw *gw, struct mdm_event *ev)
{
	llist_add_tail(&ev->list, &gw->inbox);
	gw->inbox_len++;
	/* while the database cannot commit, the degraded state's retry flushes; an SOS goes out
	 * meanwhile by the emergency path */
	if (!gw->db_degraded)
		flush_later(gw, 0);
	else
		gw_emergency_examine(gw);
}

int gw_inbox_add_route(struct gw *gw, const struct db_sms_in *in)
{
	int64_t id;
	int rc = db_begin(gw->db);

	if (rc < 0)
		goto failed;
	rc = db_sms_in_add(gw->db, in, &id);
	if (rc == -EEXIST) {
		db_rollback(gw->db);
		gw_ctr_inc(gw, GW_CTR_IN_DUPLICATES);
		return 1;
	}
	if (rc == 0) {
		gw_ctr_inc(gw, GW_CTR_IN_MESSAGES);
		rc = gw_route(gw, id);
	}
	if (rc == 0)
		rc = db_commit(gw->db);
	if (rc < 0) {
		db_rollback(gw->db);
		goto failed;
	}
	gw_db_ok(gw);
	gw_sched_kick(gw); /* what the routing queued */
	gw_outbox_kick(gw);
	gw_due_kick();
	return 0;
failed:
	gw_ctr_inc(gw, GW_CTR_DB_ERRORS);
	return rc;
}

/* ---- incomplete concatenated messages: stored with the missing parts marked ---- */

static void route_expired(void *data, int64_t id)
{
	struct gw *gw = data;

	gw_ctr_inc(gw, GW_CTR_IN_INCOMPLETE);
	gw_ctr_inc(gw, GW_CTR_IN_MESSAGES);
	if (gw_route(gw, id) < 0)
		LOGP(DRT, LOGL_ERROR, "message %" PRId64 " stored but not routed; routed at the next start\n", id);
}

static time_t expire_parts(struct gw *gw, time_t now, void *data)
{
	int n;

	(void)data;
	if (db_begin(gw->db) < 0)
		goto failed;
	n = db_sms_part_expire(gw->db, now - gw->cfg.part_timeout_s, route_expired, gw);
	if (n < 0 || db_commit(gw->db) < 0) {
		db_rollback(gw->db);
		goto failed;
	}
	if (n > 0) {
		LOGP(DSMS, LOGL_NOTICE, "%d concatenated message(s) stored with parts missing\n", n);
		gw_outbox_kick(gw);
	}
	return now + PART_EXPIRY_EVERY_S;
failed:
	gw_ctr_inc(gw, GW_CTR_DB_ERRORS);
	LOGP(DSMS, LOGL_ERROR, "cannot expire incomplete messages\n");
	return now + PART_EXPIRY_EVERY_S;
}

static void collect_new(void *data, int64_t id)
{
	int64_t **ids = data;
	size_t n = talloc_array_length(*ids);

	*ids = talloc_realloc(NULL, *ids, int64_t, n + 1);
	(*ids)[n] = id;
}

int gw_inbox_start(struct gw *gw)
{
	int64_t *ids = talloc_array(NULL, int64_t, 0);
	int rc;

	rc = db_sms_in_foreach_new(gw->db, collect_new, &ids);
	if (rc >= 0 && talloc_array_length(ids)) {
		LOGP(DRT, LOGL_NOTICE, "routing %zu message(s) received before the restart\n",
		     talloc_array_length(ids));
		rc = db_begin(gw->db);
		if (rc == 0) {
			for (size_t i = 0; i < talloc_array_length(ids); i++)
				gw_route(gw, ids[i]);
			rc = db_commit(gw->db);
			if (rc < 0)
				db_rollback(gw->db);
		}
	}
	talloc_free(ids);
	if (rc < 0)
		LOGP(DRT, LOGL_ERROR, "cannot route the messages received before the restart (%s); they stay stored\n",
		     strerror(-rc));
	return gw_due_register(gw, "part-expiry", expire_parts, NULL);
}
