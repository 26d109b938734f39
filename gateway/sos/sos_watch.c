/* SOS: supervision of the bound watches (issue 12). A watch is the one link between an old
 * person and help; one that is off, flat or out of coverage fails silently, at the moment it is
 * needed. So a watch with an approved contact that has sent nothing at all (an alarm, a
 * position, a battery report, a call, any text) for watch-silent-hours is an open supervision:
 * its step-1 contacts and the household's grid worker are told once, plainly not an SOS and with
 * no escalation ladder; its next message of any kind closes it and they are told it is back.
 * A watch whose report says its battery is low is one too (kind battery): told once when it
 * opens (the step-1 contacts by sos_notice.c's 【低电量】 when the report is a low-battery
 * alert), not again while it stays low, and told when a report shows the battery good. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <talloc.h>
#include <osmocom/core/logging.h>
#include <osmocom/core/utils.h>

#include "db/db.h"
#include "gateway/core/clock.h"
#include "gateway/core/gw.h"
#include "gateway/sos/sos.h"
#include "gateway/sos/sos_priv.h"

#define WATCH_CHECK_S 60 /* look for silent watches once a minute */

struct tell {
	struct gw *gw;
	const char *text;
	char seen[8][32]; /* numbers told already: a bound grid worker is told once */
	unsigned nseen;
	int told, rc;
};

static void tell_one(void *data, const struct db_sos_contact *c)
{
	struct tell *t = data;
	int rc;

	if (t->rc < 0)
		return;
	for (unsigned i = 0; i < t->nseen; i++)
		if (!strcmp(t->seen[i], c->number))
			return;
	if (t->nseen < ARRAY_SIZE(t->seen))
		OSMO_STRLCPY_ARRAY(t->seen[t->nseen++], c->number);
	rc = sos_reply(t->gw, c->number, t->text, DB_PRIO_STAFF);
	if (rc < 0)
		t->rc = rc;
	else
		t->told++;
}

/* text to the watch's contacts of one rung (1, or DB_SOS_RUNG_GRID); how many, or -errno. */
static int tell_rung(struct gw *gw, int64_t device_id, int rung, const char *text)
{
	struct tell t = {.gw = gw, .text = text};
	int rc = db_sos_contacts(gw->db, device_id, rung, tell_one, &t);

	if (rc < 0)
		return rc;
	return t.rc < 0 ? t.rc : t.told;
}

/* text to the watch's step-1 contacts and its household's grid worker; how many, or -errno. */
static int tell(struct gw *gw, int64_t device_id, const char *text)
{
	struct tell t = {.gw = gw, .text = text};
	int rc = db_sos_contacts(gw->db, device_id, 1, tell_one, &t);

	if (rc >= 0 && t.rc >= 0)
		rc = db_sos_contacts(gw->db, device_id, DB_SOS_RUNG_GRID, tell_one, &t);
	if (rc < 0)
		return rc;
	return t.rc < 0 ? t.rc : t.told;
}

int sos_watch_seen(struct gw *gw, const struct db_device *dev)
{
	time_t now = gw_now();
	char text[200];
	struct tm tm;
	int rc = db_watch_close(gw->db, dev->id, "silent", now);

	if (rc <= 0)
		return rc;
	localtime_r(&now, &tm);
	snprintf(text, sizeof(text), "【手表恢复】%s的手表%02d:%02d恢复联系。", person_of(dev), tm.tm_hour, tm.tm_min);
	rc = tell(gw, dev->id, text);
	if (rc >= 0)
		LOGP(DRT, LOGL_NOTICE, "watch %s (%s) is heard from again: %d told\n", dev->number, person_of(dev), rc);
	return rc < 0 ? rc : 0;
}

/* What a battery value says: 1 low, 0 good, -1 it does not say. A percentage is low at or below
 * 15% (the level at which watches start to shed features; DOMAIN.md); a voltage of a single
 * Li-ion cell below 3.45 V is low, from 3.70 V it is good, in between it does not say. */
static int battery_state(const char *v)
{
	char *end;
	double x;

	if (!v[0])
		return -1;
	x = strtod(v, &end);
	if (end == v)
		return -1;
	while (*end == ' ')
		end++;
	if (*end == '%')
		return x <= 15 ? 1 : 0;
	if (!strncasecmp(end, "mv", 2))
		x /= 1000;
	else if (*end != 'V' && *end != 'v')
		return -1;
	return x < 3.45 ? 1 : x >= 3.70 ? 0 : -1;
}

int sos_watch_battery(struct gw *gw, const struct db_device *dev, const struct alert_info *a, const char **note)
{
	int level = a->kind == ALERT_LOW_BATTERY || a->battery_low ? 1 : battery_state(a->battery);
	const char *value = a->battery[0] ? a->battery : "低";
	time_t now = gw_now();
	char text[300];
	int open, told, rc;

	if (level < 0)
		return 0;
	open = db_watch_is_open(gw->db, dev->id, "battery");
	if (open < 0)
		return open;
	if (level == 0) {
		if (!open)
			return 0;
		rc = db_watch_close(gw->db, dev->id, "battery", now);
		if (rc <= 0)
			return rc;
		snprintf(text, sizeof(text), "【电量恢复】%s的手表电量%s，已恢复正常。", person_of(dev), value);
		told = tell(gw, dev->id, text);
		if (told < 0)
			return told;
		LOGP(DRT, LOGL_NOTICE, "watch %s (%s): battery good again (%s): %d told\n", dev->number, person_of(dev),
		     value, told);
		return 0;
	}
	if (open) {
		if (a->kind == ALERT_LOW_BATTERY) {
			*note = sos_note_printf("low battery (%s) again: its contacts were told when it began", value);
			return 1;
		}
		return 0;
	}
	/* a low-battery alert: the step-1 contacts get sos_notice's 【低电量】 and the grid worker
	 * this; a low value in another report (an alarm, a position): both get this */
	snprintf(text, sizeof(text),
		 "【手表电量低】%s的手表电量%s，请尽快充电，否则手表可能关机、无法求救。（不是求救）", person_of(dev),
		 value);
	told = a->kind == ALERT_LOW_BATTERY ? tell_rung(gw, dev->id, DB_SOS_RUNG_GRID, text) : tell(gw, dev->id, text);
	if (told < 0)
		return told;
	rc = db_watch_open(gw->db, dev->id, "battery", now, now, told);
	if (rc < 0)
		return rc;
	LOGP(DRT, LOGL_NOTICE, "watch %s (%s): battery low (%s): under supervision, %d told\n", dev->number,
	     person_of(dev), value, told);
	return 0;
}

/* Open a supervision for each watch silent since before now - hours, in one transaction. */
static int check(struct gw *gw, time_t now)
{
	void *ctx = talloc_new(gw);
	struct db_watch_silent *w = NULL;
	struct db_device dev;
	char text[300];
	int n, rc;

	rc = db_begin(gw->db);
	if (rc < 0)
		goto out;
	n = db_watch_silent(gw->db, ctx, now - (time_t)sos_cfg.silent_hours * 3600, &w);
	rc = n < 0 ? n : 0;
	for (int i = 0; rc >= 0 && i < n; i++) {
		int told;

		rc = db_device_get(gw->db, w[i].number, 0, &dev);
		if (rc < 0)
			break;
		snprintf(text, sizeof(text),
			 "【手表失联】%s的手表已超过%u小时没有任何消息，可能没电、关机或不在服务区，请尽快查看。"
			 "（不是求救）",
			 person_of(&dev), sos_cfg.silent_hours);
		told = tell(gw, dev.id, text);
		rc = told < 0 ? told : db_watch_open(gw->db, dev.id, "silent", w[i].last_seen, now, told);
		if (rc >= 0)
			LOGP(DRT, LOGL_NOTICE, "watch %s (%s) silent for more than %u h: %d told\n", dev.number,
			     person_of(&dev), sos_cfg.silent_hours, told);
	}
	if (rc >= 0)
		rc = db_commit(gw->db);
out:
	if (rc < 0) {
		db_rollback(gw->db);
		LOGP(DRT, LOGL_ERROR, "watch supervision: %s (tried again in a minute)\n", strerror(-rc));
	}
	talloc_free(ctx);
	return rc;
}

time_t sos_watch_due(struct gw *gw, time_t now, void *data)
{
	static time_t next;

	(void)data;
	if (!sos_cfg.silent_hours)
		return now + WATCH_CHECK_S;
	/* the test clock may jump back: never wait longer than one check */
	if (now >= next || next - now > WATCH_CHECK_S) {
		check(gw, now);
		next = now + WATCH_CHECK_S;
	}
	return next;
}
