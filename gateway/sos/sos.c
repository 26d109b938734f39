/* SOS: see sos.h for the contract. Incidents, their fan-out, escalation and acknowledgement, the
 * due hook and the start-up; the texts are in sos_text.c, the bindings in sos_bind.c, the
 * low-battery and position notices in sos_notice.c. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <osmocom/core/logging.h>
#include <osmocom/core/talloc.h>
#include <osmocom/core/tdef.h>
#include <osmocom/core/utils.h>

#include "db/db.h"
#include "gateway/core/due.h"
#include "gateway/core/gw.h"
#include "gateway/core/inbox.h"
#include "gateway/core/outbox.h"
#include "gateway/core/ring.h"
#include "gateway/core/route.h"
#include "gateway/sos/sos.h"
#include "gateway/sos/sos_priv.h"

#define SOS_MOVE_M	     100.0 /* a new position this far from the last is sent on */
#define SOS_ACK_WINDOW_S     ((time_t)osmo_tdef_get(sos_tdefs, SOS_T_ACK_WINDOW, OSMO_TDEF_S, -1))
#define SOS_PROGRAM_WINDOW_S ((time_t)osmo_tdef_get(sos_tdefs, SOS_T_PROGRAM, OSMO_TDEF_S, -1))

struct sos_cfg sos_cfg = {
	.rounds = 2,
	.max_resends = 2,
	.bind_per_sender = 3,
	.bind_per_watch = 3,
	.code_failures = 5,
	.silent_hours = 24,
};

struct osmo_tdef sos_tdefs[] = {
	{.T = SOS_T_STEP,
	 .default_val = 120,
	 .unit = OSMO_TDEF_S,
	 .desc = "Alert the next escalation step when nobody acknowledged an SOS within this (sos-step-delay)"},
	{.T = SOS_T_ACK_WINDOW,
	 .default_val = 1800,
	 .unit = OSMO_TDEF_S,
	 .desc = "Repeats of an alarm within this of its acknowledgement attach to the same incident"},
	{.T = SOS_T_NOTICE,
	 .default_val = 1800,
	 .unit = OSMO_TDEF_S,
	 .desc = "Low-battery and position notices: at most one per watch and kind in this time"},
	{.T = SOS_T_PROGRAM,
	 .default_val = 600,
	 .unit = OSMO_TDEF_S,
	 .desc = "A watch's answer within this of its programming is not an alarm"},
	{.T = SOS_T_CODE,
	 .default_val = 600,
	 .unit = OSMO_TDEF_S,
	 .desc = "A binding's confirmation code (确认 <code>) is good this long"},
	{.T = SOS_T_BIND_WINDOW,
	 .default_val = 3600,
	 .unit = OSMO_TDEF_S,
	 .desc = "The window of the binding limits: requests per number, codes per watch, wrong codes"},
	{.T = SOS_T_LOCATE,
	 .default_val = 600,
	 .unit = OSMO_TDEF_S,
	 .desc = "A watch's position within this of a contact's 定位 goes to the contacts who asked, only to them"},
	{}};

static const struct sos_call_ops *call_ops;

void sos_set_call_ops(const struct sos_call_ops *ops)
{
	call_ops = ops;
}

static bool calls_available(void)
{
	return call_ops && call_ops->available && call_ops->available();
}

/* ---- the gateway ---- */

/* The note of what was done with a message (sms_in.note): one at a time, on the main thread. */
static char note_buf[256];

/* sos_priv.h: the note in one static buffer, overwritten by the next call. */
const char *sos_note_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(note_buf, sizeof(note_buf), fmt, ap);
	va_end(ap);
	return note_buf;
}

static unsigned step_delay(const struct gw *gw)
{
	(void)gw;
	return osmo_tdef_get(sos_tdefs, SOS_T_STEP, OSMO_TDEF_S, -1);
}

static unsigned rounds(const struct gw *gw)
{
	(void)gw;
	return sos_cfg.rounds;
}

/* What to call the sender in a message to others: name (number) or the number. */
void sos_who(struct gw *gw, const char *number, char *buf, size_t len)
{
	struct db_phone ph;

	if (db_phone_get(gw->db, number, &ph) == 0 && ph.name[0])
		snprintf(buf, len, "%s(%s)", ph.name, number);
	else
		snprintf(buf, len, "%s", number);
}

/* Queue text at prio to number and record it as an attempt of the incident. */
static int send_attempt(struct gw *gw, const struct db_sos_incident *inc, int64_t phone_id, const char *number,
			int step, const char *kind, bool location, const char *text, int prio, time_t now)
{
	int64_t id;
	int rc = gw_sms_queue(gw, number, text, prio, &id);

	if (rc < 0) {
		LOGP(DRT, LOGL_ERROR, "incident %" PRId64 ": cannot queue %s to %s: %s\n", inc->id, kind, number,
		     strerror(-rc));
		/* a bad number must not stop the others; a database error must */
		return rc == -EINVAL || rc == -EILSEQ ? 0 : rc;
	}
	return db_sos_attempt_add(gw->db, inc->id, phone_id, number, step, kind, location, id, now);
}

struct fan {
	struct gw *gw;
	const struct db_device *dev;
	const struct db_sos_incident *inc;
	time_t now;
	int rung;
	bool update;	  /* a position update to those alerted with the location */
	bool emergency;	  /* the database cannot commit: straight to the modems, nothing recorded */
	const char *skip; /* a number not to send to */
	int sent, rc;
};

static void fill_text(const struct fan *f, bool located, char *buf, size_t len)
{
	struct sos_alert_text a = {
		.kind = f->inc->kind,
		.person = f->dev->person,
		.watch = f->dev->number,
		.address = f->dev->address,
		.at = f->update ? f->now : (f->inc->created ? f->inc->created : f->now),
		.battery = f->inc->battery,
		.has_pos = f->inc->has_pos,
		.lat = f->inc->lat,
		.lon = f->inc->lon,
		.lbs = !strcmp(f->inc->fix, "lbs"),
		.with_location = located,
		.raw = f->inc->raw,
		.update = f->update,
	};

	if (sos_alert_build(&a, buf, len) < 0) {
		/* cannot happen with these buffers; still say something */
		snprintf(buf, len, "【%s】%s " SOS_ACK_HINT, sos_kind_label(f->inc->kind), person_of(f->dev));
	}
}

static void fan_one(void *data, const struct db_sos_contact *c)
{
	struct fan *f = data;
	char text[600];
	int rc;

	if (f->rc < 0 || (f->skip && !strcmp(c->number, f->skip)))
		return;
	if (f->update && !c->located)
		return;
	fill_text(f, c->located, text, sizeof(text));
	if (f->emergency) {
		if (gw_emergency_send(f->gw, c->number, text) == 0)
			f->sent++;
		return;
	}
	/* the second path: a call as well as the SMS, placed from the tick once this is committed */
	if (!f->update && !sos_cfg.call_off && calls_available() &&
	    db_sos_call_attempt_add(f->gw->db, f->inc->id, c->phone_id, c->number, f->rung, f->now) < 0)
		LOGP(DRT, LOGL_ERROR, "incident %" PRId64 ": cannot record the call to %s; the SMS goes anyway\n",
		     f->inc->id, c->number);
	rc = send_attempt(f->gw, f->inc, c->phone_id, c->number, f->update ? f->inc->step : f->rung,
			  f->update ? "update" : "alert", c->located, text, DB_PRIO_SOS, f->now);
	if (rc < 0)
		f->rc = rc;
	else
		f->sent++;
}

/* Alert the next rung after inc->step (wrapping into the next round), update inc in the
 * database. Nobody left to alert: the incident stays open without a due time (staff see it). */
static int escalate(struct gw *gw, const struct db_device *dev, struct db_sos_incident *inc, time_t now)
{
	struct fan f = {.gw = gw, .dev = dev, .inc = inc, .now = now};
	int rung = db_sos_next_rung(gw->db, dev->id, inc->step);

	if (rung == -ENOENT && inc->step > 0 && (unsigned)inc->round < rounds(gw)) {
		rung = db_sos_next_rung(gw->db, dev->id, 0);
		if (rung > 0)
			inc->round++;
	}
	if (rung == -ENOENT) {
		if (inc->step == 0) {
			/* nobody at all: keep trying (a binding may be approved meanwhile) */
			LOGP(DRT, LOGL_ERROR,
			     "incident %" PRId64 " (watch %s): NOBODY to alert: no approved binding, "
			     "grid worker, staff or neighbour; retrying in %us\n",
			     inc->id, dev->number, step_delay(gw));
			inc->next_at = now + step_delay(gw);
		} else {
			LOGP(DRT, LOGL_ERROR,
			     "incident %" PRId64 " (watch %s): not acknowledged after %d round(s) of "
			     "escalation; left open for staff\n",
			     inc->id, dev->number, inc->round);
			inc->next_at = 0;
		}
		return db_sos_incident_update(gw->db, inc);
	}
	if (rung < 0)
		return rung;
	f.rung = rung;
	inc->step = rung;
	f.rc = db_sos_contacts(gw->db, dev->id, rung, fan_one, &f);
	if (f.rc < 0)
		return f.rc;
	LOGP(DRT, LOGL_NOTICE, "incident %" PRId64 " (watch %s): step %d round %d: %d alert(s) queued\n", inc->id,
	     dev->number, rung, inc->round, f.sent);
	if (!strcmp(inc->state, "raised"))
		OSMO_STRLCPY_ARRAY(inc->state, "notifying");
	if (!inc->first_alert_at && f.sent)
		inc->first_alert_at = now;
	inc->next_at = now + step_delay(gw);
	return db_sos_incident_update(gw->db, inc);
}

static void inc_from_alert(struct db_sos_incident *inc, const struct alert_info *a)
{
	if (a->has_pos && a->datum == ALERT_DATUM_WGS84) {
		inc->has_pos = true;
		inc->lat = a->lat;
		inc->lon = a->lon;
		OSMO_STRLCPY_ARRAY(inc->fix, a->fix == ALERT_FIX_LBS ? "lbs" : a->fix == ALERT_FIX_GPS ? "gps" : "");
	}
	if (a->battery[0])
		OSMO_STRLCPY_ARRAY(inc->battery, a->battery);
}

/* An alarm from a watch: attach to its open incident or raise a new one. */
static int on_alarm(struct gw *gw, const struct db_device *dev, const struct db_sms_in *m, const struct alert_info *a,
		    bool is_alarm, const char **note)
{
	void *tmp = talloc_new(gw);
	struct db_sos_incident inc;
	time_t now = gw_now();
	int rc;

	rc = db_sos_incident_open(gw->db, tmp, dev->id, now - SOS_ACK_WINDOW_S, &inc);
	if (rc == 0) {
		bool moved = false;
		double dist = 0;

		if (a->has_pos && a->datum == ALERT_DATUM_WGS84) {
			dist = inc.has_pos ? sos_distance_m(inc.lat, inc.lon, a->lat, a->lon) : 1e9;
			moved = dist > SOS_MOVE_M;
		}
		if (is_alarm) {
			inc.alarms++;
			inc.last_alarm_at = now;
		}
		if (moved || !inc.has_pos)
			inc_from_alert(&inc, a);
		else if (a->battery[0])
			OSMO_STRLCPY_ARRAY(inc.battery, a->battery);
		rc = db_sos_incident_update(gw->db, &inc);
		if (rc < 0)
			goto out;
		if (moved) {
			struct fan f = {.gw = gw, .dev = dev, .inc = &inc, .now = now, .update = true};

			rc = db_sos_alerted(gw->db, inc.id, fan_one, &f);
			if (rc >= 0)
				rc = f.rc;
			if (rc < 0)
				goto out;
			*note = sos_note_printf("%s attached to incident %" PRId64 "; moved %.0f m: update to %d",
						is_alarm ? "alarm" : "position", inc.id, dist, f.sent);
		} else {
			*note = sos_note_printf("%s attached to incident %" PRId64 " (alarm %d)",
						is_alarm ? "alarm" : "position", inc.id, inc.alarms);
		}
		LOGP(DRT, LOGL_NOTICE, "watch %s: %s\n", dev->number, *note);
		goto out;
	}
	if (rc != -ENOENT)
		goto out;
	if (!is_alarm) {
		rc = 0;
		*note = NULL;
		goto out;
	}
	/* a new incident: the row first, then the alerts, all in the inbox transaction */
	memset(&inc, 0, sizeof(inc));
	inc.device_id = dev->id;
	OSMO_STRLCPY_ARRAY(inc.state, "raised");
	inc.round = 1;
	inc.created = now;
	inc.last_alarm_at = now;
	inc.alarms = 1;
	OSMO_STRLCPY_ARRAY(inc.kind, alert_kind_name(a->kind == ALERT_POSITION ? ALERT_UNKNOWN : a->kind));
	inc.raw = (char *)m->text;
	inc_from_alert(&inc, a);
	rc = db_sos_incident_add(gw->db, &inc);
	if (rc < 0)
		goto out;
	rc = db_sos_event_add(gw->db, inc.id, now, dev->number, NULL, inc.state, inc.kind);
	if (rc < 0)
		goto out;
	LOGP(DRT, LOGL_NOTICE, "watch %s (%s): %s: incident %" PRId64 " raised\n", dev->number, person_of(dev),
	     inc.kind, inc.id);
	rc = escalate(gw, dev, &inc, now);
	if (rc < 0)
		goto out;
	*note = sos_note_printf("SOS: incident %" PRId64 " raised, step %d alerted", inc.id, inc.step);
out:
	talloc_free(tmp);
	return rc;
}

/* The database cannot commit (a full disk, a lock held elsewhere): an alarm from a watch must not
 * wait for it. What is needed is read (reads still work then), the first rung is alerted straight
 * through the modems (gw_emergency_send: nothing recorded), and the log says so. Once the database
 * commits, the message is stored and routed as always: the incident is raised and its alerts go
 * out again through the outbox, so a contact may get this alert twice. A watch that repeats its
 * alarm is alerted for once per SOS_ACK_WINDOW_S. */
static void sos_emergency(struct gw *gw, const char *sender, const char *text)
{
	static struct {
		int64_t device;
		time_t at;
	} recent[16];
	static unsigned next_slot;
	struct db_sos_incident inc;
	struct db_device dev;
	struct alert_info a;
	time_t now = gw_now();
	struct fan f = {.gw = gw, .dev = &dev, .inc = &inc, .now = now, .emergency = true};
	int rung;

	if (db_device_get(gw->db, sender, 0, &dev) < 0)
		return;
	alert_parse(text, strlen(text), &a);
	if (!alert_is_alarm(&a) && !(a.kind == ALERT_POSITION && !strcmp(dev.dialect, "generic")))
		return;
	for (unsigned i = 0; i < ARRAY_SIZE(recent); i++)
		if (recent[i].device == dev.id && now - recent[i].at < SOS_ACK_WINDOW_S) {
			LOGP(DRT, LOGL_NOTICE,
			     "watch %s: alarm again while the database is degraded; alerted at %lds ago\n", dev.number,
			     (long)(now - recent[i].at));
			return;
		}
	memset(&inc, 0, sizeof(inc));
	inc.device_id = dev.id;
	inc.created = now;
	OSMO_STRLCPY_ARRAY(inc.kind, alert_kind_name(a.kind == ALERT_POSITION ? ALERT_UNKNOWN : a.kind));
	inc.raw = (char *)text;
	inc_from_alert(&inc, &a);
	rung = db_sos_next_rung(gw->db, dev.id, 0);
	if (rung < 0) {
		LOGP(DRT, LOGL_ERROR, "watch %s (%s): SOS while the database is degraded, and nobody to alert (%s)\n",
		     dev.number, person_of(&dev), strerror(-rung));
		return;
	}
	f.rung = rung;
	if (db_sos_contacts(gw->db, dev.id, rung, fan_one, &f) < 0 && !f.sent) {
		LOGP(DRT, LOGL_ERROR, "watch %s (%s): SOS while the database is degraded: cannot read its contacts\n",
		     dev.number, person_of(&dev));
		return;
	}
	recent[next_slot].device = dev.id;
	recent[next_slot].at = now;
	next_slot = (next_slot + 1) % ARRAY_SIZE(recent);
	LOGP(DRT, LOGL_ERROR,
	     "watch %s (%s): %s while the database is degraded: step %d alerted directly (%d message(s)); "
	     "the incident is raised once the database commits\n",
	     dev.number, person_of(&dev), inc.kind, rung, f.sent);
}

/* "ok" as a word, "success", "成功": how watches confirm a setting ("Set SOS number OK!",
 * "sos1 ok", "设置成功"). Such answers often name the SOS number, so they parse as sos. */
static bool looks_like_config_answer(const char *text)
{
	char n[200];

	sos_norm(text, n, sizeof(n));
	for (const char *p = n; (p = strstr(p, "ok")); p++) {
		bool before = p > n && p[-1] >= 'a' && p[-1] <= 'z';
		bool after = p[2] >= 'a' && p[2] <= 'z';

		if (!before && !after)
			return true;
	}
	return strstr(n, "success") || strstr(n, "成功");
}

/* Everything a registered watch sends. Nothing from a watch is dropped: what is not clearly a
 * low battery or position report is an alarm, with its text forwarded. */
static int from_watch(struct gw *gw, const struct db_device *dev, const struct db_sms_in *m, const char **note)
{
	struct alert_info a;
	bool is_alarm;
	int rc;

	alert_parse(m->text, strlen(m->text), &a);
	is_alarm = alert_is_alarm(&a);
	/* a watch of unknown make may send its SOS as a bare link (alert.h): an alarm */
	if (a.kind == ALERT_POSITION && !strcmp(dev->dialect, "generic"))
		is_alarm = true;
	/* staff just programmed the watch (linlictl watch program) and it answers: not an alarm.
	 * Only within a few minutes, only without a position, only a text that says ok. */
	if ((a.kind == ALERT_UNKNOWN || a.kind == ALERT_SOS) && !a.has_pos && dev->programmed_at &&
	    gw_now() - dev->programmed_at < SOS_PROGRAM_WINDOW_S && looks_like_config_answer(m->text)) {
		rc = db_device_programmed(gw->db, dev->id, 0, m->text);
		*note = "watch answered its programming";
		return rc;
	}
	/* the battery any message reports (a low one is a supervision, a good one ends it) */
	rc = sos_watch_battery(gw, dev, &a, note);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	if (is_alarm || a.has_pos) {
		*note = NULL;
		rc = on_alarm(gw, dev, m, &a, is_alarm, note);
		if (rc < 0 || *note)
			return rc;
	}
	rc = sos_locate_answer(gw, dev, &a, note);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	return sos_notice(gw, dev, &a, note);
}

struct acked {
	struct gw *gw;
	const struct db_sos_incident *inc;
	const char *acker;
	const char *text;
	time_t now;
	int rc;
};

static void tell_acked(void *data, const struct db_sos_contact *c)
{
	struct acked *k = data;
	int rc;

	if (k->rc < 0 || !strcmp(c->number, k->acker))
		return;
	rc = send_attempt(k->gw, k->inc, c->phone_id, c->number, 0, "ack_notice", false, k->text, DB_PRIO_SOS, k->now);
	if (rc < 0)
		k->rc = rc;
}

/* Acknowledge inc (raised or notifying) as acker: the state, the event row (actor, note), the
 * others alerted are told who responded, the acker gets the thanks when reply_to_acker, and the
 * watch its stop word. The one path of an SMS reply, a pressed 1 and the console. */
static int ack_one(struct gw *gw, struct db_sos_incident *inc, const struct db_device *dev, const char *acker,
		   const char *actor, bool reply_to_acker, const char *note, time_t now)
{
	struct acked k = {.gw = gw, .acker = acker, .now = now, .inc = inc};
	char text[300], by[128], from[16];
	const char *stop;
	int rc;

	sos_who(gw, acker, by, sizeof(by));
	OSMO_STRLCPY_ARRAY(from, inc->state);
	OSMO_STRLCPY_ARRAY(inc->state, "acknowledged");
	inc->acked_at = now;
	OSMO_STRLCPY_ARRAY(inc->acked_by, acker);
	inc->next_at = 0;
	rc = db_sos_incident_update(gw->db, inc);
	if (rc == 0)
		rc = db_sos_event_add(gw->db, inc->id, now, actor, from, inc->state, note);
	if (rc < 0)
		return rc;
	LOGP(DRT, LOGL_NOTICE, "incident %" PRId64 " (watch %s) acknowledged by %s after %lds (%s)\n", inc->id,
	     dev->number, acker, (long)(now - inc->created), actor);
	snprintf(text, sizeof(text), "【已响应】%s的报警已由%s响应", person_of(dev), by);
	k.text = text;
	rc = db_sos_alerted(gw->db, inc->id, tell_acked, &k);
	if (rc >= 0)
		rc = k.rc;
	if (rc < 0)
		return rc;
	if (reply_to_acker) {
		snprintf(text, sizeof(text), "已确认，谢谢。%s%s%s，其他联系人已获通知", person_of(dev),
			 dev->address[0] ? " " : "", dev->address);
		rc = send_attempt(gw, inc, 0, acker, 0, "ack_reply", false, text, DB_PRIO_SOS, now);
		if (rc < 0)
			return rc;
	}
	stop = sos_stop_word(dev->dialect);
	if (stop)
		return send_attempt(gw, inc, 0, dev->number, 0, "stop", false, stop, DB_PRIO_SOS, now);
	return 0;
}

static int ack(struct gw *gw, const char *number, const int64_t *ids, int n, const char **note)
{
	void *tmp = talloc_new(gw);
	time_t now = gw_now();
	int rc = 0, done = 0;

	for (int i = 0; i < n; i++) {
		struct db_sos_incident inc;
		struct db_device dev;
		char text[300];

		rc = db_sos_incident_get(gw->db, tmp, ids[i], &inc);
		if (rc < 0)
			goto out;
		rc = db_device_get(gw->db, NULL, inc.device_id, &dev);
		if (rc < 0)
			goto out;
		if (strcmp(inc.state, "raised") && strcmp(inc.state, "notifying")) {
			/* someone else was first: say who, so nobody wonders whether it worked */
			char first[128];
			struct tm tm;
			time_t at = inc.acked_at;

			localtime_r(&at, &tm);
			sos_who(gw, inc.acked_by, first, sizeof(first));
			snprintf(text, sizeof(text), "%s的报警已由%s于%02d:%02d响应，谢谢。", person_of(&dev), first,
				 tm.tm_hour, tm.tm_min);
			rc = send_attempt(gw, &inc, 0, number, 0, "ack_reply", false, text, DB_PRIO_SOS, now);
			if (rc < 0)
				goto out;
			continue;
		}
		rc = ack_one(gw, &inc, &dev, number, number, true, "reply", now);
		if (rc < 0)
			goto out;
		done++;
	}
	*note = done ? sos_note_printf("acknowledged %d incident(s)", done) : "acknowledgement: already acknowledged";
out:
	talloc_free(tmp);
	return rc;
}

/* Whether number may acknowledge incident id (sos.h: a bound contact or one it alerted). */
static int may_ack(struct gw *gw, void *ctx, const char *number, int64_t id)
{
	int64_t *ids;
	int n = db_sos_ack_candidates(gw->db, ctx, number, 0, &ids);

	for (int i = 0; i < n; i++)
		if (ids[i] == id)
			return 1;
	return n < 0 ? n : 0;
}

int sos_ack_staff(struct gw *gw, int64_t id, const char *staff_number, const char *on_behalf_of, const char *actor,
		  const char *note)
{
	void *tmp = talloc_new(gw);
	struct db_sos_incident inc;
	struct db_device dev;
	char why[400];
	int rc;

	rc = db_sos_incident_get(gw->db, tmp, id, &inc);
	if (rc == 0)
		rc = db_device_get(gw->db, NULL, inc.device_id, &dev);
	if (rc < 0)
		goto out;
	if (strcmp(inc.state, "raised") && strcmp(inc.state, "notifying")) {
		rc = -EALREADY;
		goto out;
	}
	if (on_behalf_of) {
		rc = may_ack(gw, tmp, on_behalf_of, id);
		if (rc <= 0) {
			rc = rc < 0 ? rc : -EPERM;
			goto out;
		}
		snprintf(why, sizeof(why), "on behalf of %s%s%s", on_behalf_of, note && *note ? ": " : "",
			 note ? note : "");
		note = why;
	}
	/* the contact on whose behalf it was gets the thanks as if they had replied; staff acting
	 * for themselves see it on the page */
	rc = ack_one(gw, &inc, &dev, on_behalf_of ? on_behalf_of : staff_number, actor, on_behalf_of != NULL, note,
		     gw_now());
out:
	talloc_free(tmp);
	return rc;
}

/* The contacts alerted for a closed incident that nobody acknowledged are told they need not go. */
struct closed {
	struct gw *gw;
	const struct db_sos_incident *inc;
	const char *text;
	time_t now;
	int rc;
};

static void tell_closed(void *data, const struct db_sos_contact *c)
{
	struct closed *k = data;
	int rc;

	if (k->rc < 0)
		return;
	rc = send_attempt(k->gw, k->inc, c->phone_id, c->number, 0, "close_notice", false, k->text, DB_PRIO_SOS,
			  k->now);
	if (rc < 0)
		k->rc = rc;
}

int sos_close(struct gw *gw, int64_t id, bool false_alarm, const char *actor, const char *note)
{
	void *tmp = talloc_new(gw);
	struct db_sos_incident inc;
	struct db_device dev;
	time_t now = gw_now();
	char text[300], from[16];
	bool unanswered;
	int rc;

	rc = db_sos_incident_get(gw->db, tmp, id, &inc);
	if (rc == 0)
		rc = db_device_get(gw->db, NULL, inc.device_id, &dev);
	if (rc < 0)
		goto out;
	if (!strcmp(inc.state, "resolved") || !strcmp(inc.state, "false_alarm")) {
		rc = -EALREADY;
		goto out;
	}
	unanswered = strcmp(inc.state, "acknowledged") != 0;
	OSMO_STRLCPY_ARRAY(from, inc.state);
	OSMO_STRLCPY_ARRAY(inc.state, false_alarm ? "false_alarm" : "resolved");
	inc.resolved_at = now;
	inc.next_at = 0;
	rc = db_sos_incident_update(gw->db, &inc);
	if (rc == 0)
		rc = db_sos_event_add(gw->db, inc.id, now, actor, from, inc.state, note);
	if (rc < 0)
		goto out;
	LOGP(DRT, LOGL_NOTICE, "incident %" PRId64 " (watch %s): %s -> %s by %s\n", inc.id, dev.number, from, inc.state,
	     actor);
	if (unanswered) {
		/* those alerted were never told that someone responded: tell them it is over, and stop
		 * the watch repeating its alarm */
		struct closed k = {.gw = gw, .inc = &inc, .text = text, .now = now};
		const char *stop = sos_stop_word(dev.dialect);

		sos_closed_text(person_of(&dev), false_alarm, text, sizeof(text));
		rc = db_sos_alerted(gw->db, inc.id, tell_closed, &k);
		if (rc >= 0)
			rc = k.rc;
		if (rc >= 0 && stop)
			rc = send_attempt(gw, &inc, 0, dev.number, 0, "stop", false, stop, DB_PRIO_SOS, now);
		if (rc > 0)
			rc = 0;
	}
out:
	talloc_free(tmp);
	return rc;
}

/* sos_priv.h: queue a reply; a number that cannot be texted is skipped, only a database error fails. */
int sos_reply(struct gw *gw, const char *number, const char *text, int prio)
{
	int64_t id;
	int rc = gw_sms_queue(gw, number, text, prio, &id);

	return rc == -EINVAL || rc == -EILSEQ ? 0 : rc;
}
int gw_sos_route(struct gw *gw, const struct db_sms_in *m, const char **note)
{
	void *tmp = talloc_new(gw);
	struct db_device dev;
	int64_t *ids;
	int rc, n;

	*note = NULL;
	rc = db_device_get(gw->db, m->sender, 0, &dev);
	if (rc == 0) {
		rc = sos_watch_seen(gw, &dev);
		if (rc == 0)
			rc = from_watch(gw, &dev, m, note);
		if (rc == 0 && !*note)
			*note = "from a watch";
		rc = rc < 0 ? rc : 1;
		goto out;
	}
	if (rc != -ENOENT)
		goto out;

	if (sos_is_ack(m->text)) {
		n = db_sos_ack_candidates(gw->db, tmp, m->sender, gw_now() - SOS_ACK_WINDOW_S, &ids);
		if (n < 0) {
			rc = n;
			goto out;
		}
		if (n > 0) {
			rc = ack(gw, m->sender, ids, n, note);
			rc = rc < 0 ? rc : 1;
			goto out;
		}
		/* not a contact: other handlers may want a "1" (a rating); gw_sos_refuse_ack() answers
		 * it at the end of routing if nobody took it */
		rc = 0;
		goto out;
	}

	rc = sos_bind_cmd(gw, m, note);
out:
	talloc_free(tmp);
	return rc;
}

int gw_sos_ack_by_call(struct gw *gw, const char *number, int64_t incident_id, int64_t leg_id)
{
	char raw[96], dedup[64];
	int rc;
	struct db_sms_in in = {
		.channel = "sip",
		.sender = number,
		.text = "1",
		.raw = raw,
		.recv_ts = gw_now(),
		.dedup = dedup,
	};

	snprintf(raw, sizeof(raw), "DTMF 1 in the SOS alert call (incident %" PRId64 ", call leg %" PRId64 ")",
		 incident_id, leg_id);
	snprintf(dedup, sizeof(dedup), "sos-call-ack|%" PRId64, leg_id);
	rc = gw_inbox_add_route(gw, &in);
	return rc < 0 ? rc : 0;
}

int gw_sos_call_note(struct gw *gw, int64_t incident_id, const char *note)
{
	void *tmp = talloc_new(NULL);
	struct db_sos_incident inc;
	int rc;

	rc = db_sos_incident_get(gw->db, tmp, incident_id, &inc);
	if (rc >= 0)
		rc = db_sos_event_add(gw->db, incident_id, gw_now(), "call", inc.state, inc.state, note);
	talloc_free(tmp);
	return rc;
}

int gw_sos_refuse_ack(struct gw *gw, const struct db_sms_in *m, const char **note)
{
	int n, rc;

	*note = NULL;
	if (!sos_is_ack(m->text))
		return 0;
	n = db_sos_open_count(gw->db);
	if (n <= 0)
		return n;
	LOGP(DRT, LOGL_NOTICE, "acknowledgement from %s refused: not a contact of an open incident\n", m->sender);
	*note = "acknowledgement refused: not a bound contact";
	rc = sos_reply(gw, m->sender, "您不是该报警手表的绑定联系人，确认无效。如需帮助请联系社区。", DB_PRIO_REPLY);
	return rc < 0 ? rc : 1;
}

/* ---- the tick ---- */

static int tick_due(struct gw *gw, time_t now)
{
	void *tmp = talloc_new(gw);
	int64_t *ids;
	int n, rc = 0;

	n = db_sos_incident_due(gw->db, tmp, now, &ids);
	for (int i = 0; i < n && rc >= 0; i++) {
		struct db_sos_incident inc;
		struct db_device dev;

		rc = db_sos_incident_get(gw->db, tmp, ids[i], &inc);
		if (rc == 0)
			rc = db_device_get(gw->db, NULL, inc.device_id, &dev);
		if (rc == 0) {
			LOGP(DRT, LOGL_NOTICE,
			     "incident %" PRId64 ": not acknowledged within %us of step %d: escalating\n", inc.id,
			     step_delay(gw), inc.step);
			rc = escalate(gw, &dev, &inc, now);
		}
	}
	talloc_free(tmp);
	return n < 0 ? n : rc;
}

static int tick_resend(struct gw *gw, time_t now)
{
	void *tmp = talloc_new(gw);
	struct db_sos_failed *f;
	int n, rc = 0;

	n = db_sos_failed_alerts(gw->db, tmp, sos_cfg.max_resends, &f);
	for (int i = 0; i < n && rc >= 0; i++) {
		struct db_sos_incident inc = {.id = f[i].incident_id};
		char res[64];
		int64_t id;

		rc = gw_sms_queue(gw, f[i].number, f[i].text, DB_PRIO_SOS, &id);
		if (rc < 0)
			break;
		/* through another modem than the one it failed on, when another is ready */
		if (f[i].modem[0] && (rc = db_sms_out_avoid(gw->db, id, f[i].modem)) < 0)
			break;
		rc = db_sos_attempt_add(gw->db, inc.id, f[i].phone_id, f[i].number, f[i].step, "resend", f[i].location,
					id, now);
		if (rc < 0)
			break;
		snprintf(res, sizeof(res), "failed; sent again as sms #%" PRId64, id);
		rc = db_sos_attempt_result(gw->db, f[i].attempt_id, res);
		LOGP(DRT, LOGL_NOTICE,
		     "incident %" PRId64 ": alert to %s failed (sms #%" PRId64
		     " on %s): sent again, through another modem"
		     " if one is ready\n",
		     inc.id, f[i].number, f[i].sms_out_id, f[i].modem[0] ? f[i].modem : "-");
	}
	talloc_free(tmp);
	return n < 0 ? n : rc;
}

/* Place the alert calls recorded by the fan-out (outside any transaction: call.c writes its own
 * records). An incident acknowledged meanwhile is not called about. */
static void start_calls(struct gw *gw)
{
	void *tmp = talloc_new(gw);
	struct db_sos_call *c;
	int n = db_sos_calls_pending(gw->db, tmp, &c);

	for (int i = 0; i < n; i++) {
		struct sos_call_req a = {
			.incident_id = c[i].incident_id,
			.attempt_id = c[i].attempt_id,
			.phone_id = c[i].phone_id,
			.number = c[i].number,
			.watch = c[i].watch,
			.building = c[i].building,
			.unit = c[i].unit,
		};
		char res[80];
		int rc = -ECANCELED;

		if (c[i].open && db_sos_attempt_result(gw->db, c[i].attempt_id, "calling") == 0)
			rc = call_ops->alert(gw, &a);
		if (rc == 0)
			continue;
		snprintf(res, sizeof(res), "not called: %s",
			 rc == -ECANCELED ? "acknowledged or closed before" : strerror(-rc));
		if (db_sos_attempt_result(gw->db, c[i].attempt_id, res) < 0 || rc != -ECANCELED)
			LOGP(DRT, LOGL_ERROR, "incident %" PRId64 ": alert call to %s: %s\n", c[i].incident_id,
			     c[i].number, res);
	}
	talloc_free(tmp);
}

/* Due work, once a second: due escalation steps, failed alerts sent again, the alert calls the
 * fan-out recorded, first-alert times. Every second, because acknowledgements and linlictl
 * change incidents from outside this hook: the database is the truth. */
static time_t sos_due(struct gw *gw, time_t now, void *data)
{
	int rc;

	(void)data;
	if (calls_available())
		start_calls(gw);
	/* first_sent_at: the time a modem accepted an incident's first alert */
	if (db_sos_fill_first_sent(gw->db) < 0)
		LOGP(DRT, LOGL_ERROR, "SOS: cannot record first-alert times\n");
	if (db_sos_open_count(gw->db) <= 0)
		return now + 1;
	rc = db_begin(gw->db);
	if (rc < 0)
		goto failed;
	rc = tick_due(gw, now);
	if (rc >= 0)
		rc = tick_resend(gw, now);
	if (rc >= 0)
		rc = db_commit(gw->db);
	if (rc >= 0) {
		gw_outbox_kick(gw);
		return now + 1;
	}
	db_rollback(gw->db);
failed:
	LOGP(DRT, LOGL_ERROR, "SOS: database error %s; retrying in a second\n", strerror(-rc));
	return now + 1;
}

/* A watch that calls the community number raises the same alarm as its SMS (many watches call
 * their SOS numbers after texting, some only call): the call is stored as a received message from
 * the watch, text SOS_CALL_TEXT, and routed like one, so the row survives a crash before the
 * alerts are out. */
static int watch_call(struct gw *gw, const char *modem, const char *number, time_t now)
{
	char dedup[96], raw[80];
	struct db_device dev;
	struct db_sms_in in = {
		.channel = "gsm",
		.modem = modem,
		.sender = number,
		.text = SOS_CALL_TEXT,
		.raw = raw,
		.recv_ts = now,
		.dedup = dedup,
	};
	int rc;

	rc = db_device_get(gw->db, number, 0, &dev);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	LOGP(DRT, LOGL_NOTICE, "modem %s: watch %s calls: an alarm\n", modem, number);
	snprintf(raw, sizeof(raw), "RING +CLIP: \"%s\"", number);
	/* one row per call: a call is one RING event (the modem layer merges its repeated RINGs) */
	snprintf(dedup, sizeof(dedup), "ring|%s|%s|%" PRId64, number, modem, (int64_t)now);
	rc = gw_inbox_add_route(gw, &in);
	if (rc < 0)
		LOGP(DRT, LOGL_ERROR,
		     "watch %s called but its alarm could not be stored (%s); it stays unhandled: the watch"
		     " will call or text again\n",
		     number, strerror(-rc));
	return rc < 0 ? rc : 1;
}

int sos_init(struct gw *gw)
{
	int rc;

	osmo_tdefs_reset(sos_tdefs); /* the defaults, before the config file sets any */
	rc = gw_route_add(gw, "sos", gw_sos_route);
	if (rc == 0)
		rc = gw_route_add(gw, "sos-refuse", gw_sos_refuse_ack);
	if (rc == 0)
		rc = gw_due_register(gw, "sos", sos_due, NULL);
	if (rc == 0)
		rc = gw_due_register(gw, "watch-silent", sos_watch_due, NULL);
	if (rc == 0)
		rc = gw_ring_add(gw, "watch-call", watch_call);
	gw_emergency_set(gw, sos_emergency);
	return rc;
}

int sos_start(struct gw *gw)
{
	/* the calls of the previous run ended with it */
	if (db_sos_calls_lost(gw->db) < 0)
		LOGP(DRT, LOGL_ERROR, "SOS: cannot close the calls of the previous run\n");
	if (gw->cfg.community_number && db_setting_set(gw->db, "community-number", gw->cfg.community_number) < 0)
		LOGP(DRT, LOGL_ERROR, "cannot store the community number for linlictl\n");
	return 0;
}
