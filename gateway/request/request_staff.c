/* Requests: the staff's actions on one request (linlictl request assign|close, the console):
 * reassign, close, note, extend (延期), reopen (重办). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <osmocom/core/talloc.h>

#include "db/db.h"
#include "gateway/request/request.h"
#include "gateway/request/request_priv.h"
#include "util/utf8.h"

static int staff_get_open(struct rq_env *e, const char *ref, struct db_request *r, char *err, size_t errlen)
{
	int rc = db_request_get(e->db, e->ctx, ref, 0, r);

	if (rc == -ENOENT)
		snprintf(err, errlen, "no request %s", ref);
	if (rc < 0)
		return rc;
	if (!db_request_state_open(r->state)) {
		snprintf(err, errlen, "request %s is %s", ref, r->state);
		return -EPERM;
	}
	return 0;
}

int rq_assign(struct rq_env *e, const char *ref, const char *number, const char *actor, char *err, size_t errlen)
{
	struct db_request r;
	struct db_phone ph;
	char num[32];
	int rc;

	err[0] = '\0';
	rc = staff_get_open(e, ref, &r, err, errlen);
	if (rc < 0)
		return rc;
	if (db_number_norm(number, num, sizeof(num)) < 0 || (rc = db_phone_get(e->db, num, &ph)) == -ENOENT) {
		snprintf(err, errlen, "%s is not a phone in the database", number);
		return -ENOENT;
	}
	if (rc < 0)
		return rc;
	r.assignee_phone_id = ph.id;
	rc = rq_transition(e, &r, "dispatched", actor,
			   talloc_asprintf(e->ctx, "reassigned to %s %s", ph.number, ph.name));
	return rc < 0 ? rc : rq_notify_assignee(e, &r, "改派", "Reassigned");
}

int rq_close(struct rq_env *e, const char *ref, const char *result, const char *actor, char *err, size_t errlen)
{
	struct db_request r;
	int rc;

	err[0] = '\0';
	rc = staff_get_open(e, ref, &r, err, errlen);
	if (rc < 0)
		return rc;
	if (!result || !result[0])
		result = !strcmp(r.reporter_lang, "en") ? "done" : "已处理";
	rc = rq_transition(e, &r, "closed", actor, result);
	if (rc == 0) {
		const char *keys[] = {"ref", "result"};
		const char *vals[] = {r.ref, result};

		rc = rq_send_tpl(e, r.reporter, r.reporter_lang, DB_PRIO_REPLY, "resolved", keys, vals, 2);
	}
	return rc;
}

/* The assignee of r as a phone; 0 (to->id 0 when none) or -errno. */
static int assignee_get(struct rq_env *e, const struct db_request *r, struct db_phone *to)
{
	memset(to, 0, sizeof(*to));
	return r->assignee_phone_id ? db_phone_get_id(e->db, r->assignee_phone_id, to) : 0;
}

static bool blank(const char *s)
{
	return !s || !s[strspn(s, " \t\r\n")];
}

int rq_note(struct rq_env *e, const char *ref, const char *note, const char *actor, char *err, size_t errlen)
{
	struct db_request r;
	struct db_phone to;
	int rc;

	err[0] = '\0';
	if (blank(note)) {
		snprintf(err, errlen, "the note is empty");
		return -EINVAL;
	}
	rc = db_request_get(e->db, e->ctx, ref, 0, &r);
	if (rc == -ENOENT)
		snprintf(err, errlen, "no request %s", ref);
	if (rc < 0)
		return rc;
	if (!strcmp(r.state, "merged")) {
		snprintf(err, errlen, "request %s is merged into another one: note that one", ref);
		return -EPERM;
	}
	rc = rq_event(e, &r, actor, r.state, note);
	if (rc < 0 || !db_request_state_open(r.state))
		return rc;
	rc = assignee_get(e, &r, &to);
	if (rc == 0 && to.id) {
		const char *keys[] = {"ref", "note"};
		const char *vals[] = {r.ref, note};

		rc = rq_send_tpl(e, to.number, to.lang, DB_PRIO_STAFF, "staff_note", keys, vals, 2);
	}
	return rc;
}

/* The end (23:59:59 local) of date "YYYY-MM-DD" (checked by rq_date_parse). */
static time_t day_end(const char *date)
{
	struct tm tm = {.tm_hour = 23, .tm_min = 59, .tm_sec = 59, .tm_isdst = -1};

	if (sscanf(date, "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return mktime(&tm);
}

int rq_extend(struct rq_env *e, const char *ref, unsigned days, const char *date, const char *reason, const char *actor,
	      char *err, size_t errlen)
{
	struct db_request r;
	struct db_phone to;
	char day[11], d_res[32], d_to[32];
	time_t deadline;
	int rc;

	err[0] = '\0';
	if (blank(reason)) {
		snprintf(err, errlen, "give a reason for the extension: the resident is told it");
		return -EINVAL;
	}
	if (date && rq_date_parse(date, day) < 0) {
		snprintf(err, errlen, "\"%s\" is not a date (YYYY-MM-DD)", date);
		return -EINVAL;
	}
	if (!date && (days < 1 || days > RQ_EXTEND_MAX_DAYS)) {
		snprintf(err, errlen, "an extension is 1 to %d working days", RQ_EXTEND_MAX_DAYS);
		return -EINVAL;
	}
	rc = staff_get_open(e, ref, &r, err, errlen);
	if (rc < 0)
		return rc;
	if (date) {
		deadline = day_end(day);
		if (deadline <= e->now || deadline <= r.deadline || deadline > e->now + 366 * 86400) {
			snprintf(err, errlen, "%s is no later deadline: it must be after the current one and %s", day,
				 "within a year");
			return -EINVAL;
		}
	} else {
		deadline = rq_deadline(e->db, r.deadline > e->now ? (time_t)r.deadline : e->now, days);
	}
	r.deadline = deadline;
	r.flags &= ~(DB_REQ_OVERDUE | DB_REQ_REMINDED | DB_REQ_ESCALATED);
	rq_date(deadline, "en", d_to, sizeof(d_to));
	rc = rq_transition(e, &r, "extended", actor, talloc_asprintf(e->ctx, "延期至%s：%s", d_to, reason));
	/* whoever extends it decides the 延期 its assignee asked for by SMS (request_extend.c) */
	if (rc == 0)
		rc = db_extension_decide_asked(e->db, r.id, "approved", actor, e->now);
	if (rc < 0)
		return rc;
	{
		const char *keys[] = {"ref", "date", "reason"};
		const char *vals[] = {r.ref, d_res, reason};

		rq_date(deadline, r.reporter_lang, d_res, sizeof(d_res));
		rc = rq_send_tpl(e, r.reporter, r.reporter_lang, DB_PRIO_REPLY, "extended", keys, vals, 3);
		if (rc == 0)
			rc = assignee_get(e, &r, &to);
		if (rc == 0 && to.id) {
			rq_date(deadline, to.lang, d_res, sizeof(d_res));
			rc = rq_send_tpl(e, to.number, to.lang, DB_PRIO_STAFF, "extended_worker", keys, vals, 3);
		}
	}
	return rc;
}

int rq_reopen(struct rq_env *e, const char *ref, const char *reason, const char *actor, char *err, size_t errlen)
{
	struct db_request r;
	char date[32];
	int rc;

	err[0] = '\0';
	if (blank(reason)) {
		snprintf(err, errlen, "give a reason for reopening: the resident is told it");
		return -EINVAL;
	}
	rc = db_request_get(e->db, e->ctx, ref, 0, &r);
	if (rc == -ENOENT)
		snprintf(err, errlen, "no request %s", ref);
	if (rc < 0)
		return rc;
	if (strcmp(r.state, "closed") && strcmp(r.state, "visited")) {
		snprintf(err, errlen, "request %s is %s: only a closed one can be reopened", ref, r.state);
		return -EPERM;
	}
	r.flags &= ~(DB_REQ_OVERDUE | DB_REQ_REMINDED | DB_REQ_ESCALATED);
	r.deadline = rq_deadline(e->db, e->now, e->deadline_days);
	rc = rq_transition(e, &r, "reopened", actor, reason);
	/* with its assignee: dispatched to it again (who can then 签收/处置/办结 it by SMS); without
	 * one it stays reopened with the duty staff, as a 不满意 rating leaves it */
	if (rc == 0 && r.assignee_phone_id)
		rc = rq_transition(e, &r, "dispatched", actor, "to the assignee again");
	if (rc == 0)
		rc = rq_notify_assignee(e, &r, "重办", "Reopened");
	if (rc == 0) {
		const char *keys[] = {"ref", "date", "reason"};
		const char *vals[] = {r.ref, date, reason};

		rq_date(r.deadline, r.reporter_lang, date, sizeof(date));
		rc = rq_send_tpl(e, r.reporter, r.reporter_lang, DB_PRIO_REPLY, "reopened", keys, vals, 3);
	}
	return rc;
}
