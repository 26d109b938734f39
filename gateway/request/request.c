/* Requests (报事) by SMS: see gateway/request.h. The handlers of the SMS commands (rq_handle), what
 * they share (request_priv.h), the gateway glue; the texts are in request_text.c, the staff's
 * actions in request_staff.c, the overdue check in request_overdue.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <osmocom/core/logging.h>
#include <osmocom/core/talloc.h>
#include <osmocom/core/utils.h>

#include "db/db.h"
#include "gateway/core/due.h"
#include "gateway/core/gw.h"
#include "gateway/core/limit.h"
#include "gateway/core/outbox.h"
#include "gateway/core/route.h"
#include "gateway/request/request.h"
#include "gateway/request/request_priv.h"
#include "gateway/core/rules.h"

/* ---- actions ---- */

#define TXT_MAX 1200

/* Expand and queue one text; a recipient we cannot text (a sender ID, a bad number) is logged
 * and skipped, only a database error fails. */
int rq_send_tpl(struct rq_env *e, const char *dest, const char *lang, int prio, const char *name,
		const char *const *keys, const char *const *vals, unsigned n)
{
	char txt[TXT_MAX];
	int rc;

	if (!dest || !dest[0])
		return 0;
	rc = rq_text(e->rules, name, lang, keys, vals, n, txt, sizeof(txt));
	if (rc < 0) {
		LOGP(DRT, LOGL_ERROR, "reply %s (%s) to %s: %s\n", name, lang ? lang : "-", dest, strerror(-rc));
		return 0;
	}
	rc = e->queue(e->queue_data, dest, txt, prio);
	if (rc == -EINVAL || rc == -EILSEQ) {
		LOGP(DRT, LOGL_NOTICE, "cannot text %s (%s): reply %s dropped\n", dest, strerror(-rc), name);
		return 0;
	}
	return rc;
}

/* An error reply, rate-limited per number. */
int rq_send_err(struct rq_env *e, const char *dest, const char *lang, const char *name, const char *const *keys,
		const char *const *vals, unsigned n)
{
	if (e->may_reply && !e->may_reply(e->may_reply_data, dest)) {
		LOGP(DRT, LOGL_INFO, "error reply %s to %s not sent (rate limit)\n", name, dest);
		return 0;
	}
	return rq_send_tpl(e, dest, lang, DB_PRIO_REPLY, name, keys, vals, n);
}

int rq_event(struct rq_env *e, const struct db_request *r, const char *actor, const char *from, const char *note)
{
	return db_request_event_add(e->db, r->id, actor, e->now, from, r->state, note);
}

/* Move r to state, write it back and record the event. */
int rq_transition(struct rq_env *e, struct db_request *r, const char *state, const char *actor, const char *note)
{
	char from[16];
	int rc;

	OSMO_STRLCPY_ARRAY(from, r->state);
	OSMO_STRLCPY_ARRAY(r->state, state);
	r->updated = e->now;
	rc = db_request_update(e->db, r);
	return rc < 0 ? rc : rq_event(e, r, actor, from, note);
}

static void staff_cb(void *data, const struct db_phone *p)
{
	struct rq_staff_list *l = data;

	if (l->n < (int)ARRAY_SIZE(l->p))
		l->p[l->n++] = *p;
}

int rq_staff_get(struct rq_env *e, struct rq_staff_list *l)
{
	int rc;

	l->n = 0;
	rc = db_staff_foreach(e->db, staff_cb, l);
	if (rc == 0)
		LOGP(DRT, LOGL_ERROR, "no phone with role staff: duty staff messages go nowhere\n");
	return rc < 0 ? rc : 0;
}

/* The dispatch text of r to one recipient. */
static int send_dispatch(struct rq_env *e, const struct db_request *r, const struct db_phone *to, const char *tag_zh,
			 const char *tag_en)
{
	bool en = !strcmp(to->lang, "en");
	const char *keys[] = {"tag", "ref", "address", "name", "number", "text", "date"};
	char date[32];
	const char *who = r->reporter_name[0]		  ? r->reporter_name
			  : r->reporter[0]		  ? (en ? "unregistered" : "未登记号码")
			  : !strcmp(r->source, "open311") ? "Open311"
							  : (en ? "staff" : "工作人员");
	const char *vals[] = {en ? tag_en : tag_zh,
			      r->ref,
			      r->address[0] ? r->address
			      : r->place[0] ? r->place
					    : (en ? "(no address)" : "（无住址）"),
			      who,
			      r->reporter,
			      r->text,
			      date};

	/* a request by voice: the text says only how long it is; the words are in the recording */
	if (r->recording[0])
		vals[5] = talloc_asprintf(
			e->ctx, en ? "%s (listen to the recording in the staff console)" : "%s（请在工作台收听录音）",
			r->text);

	rq_date(r->deadline, to->lang, date, sizeof(date));
	return rq_send_tpl(e, to->number, to->lang, DB_PRIO_STAFF, "dispatch", keys, vals, ARRAY_SIZE(keys));
}

/* Send r to its assignee, or to every staff phone when it has none. */
int rq_notify_assignee(struct rq_env *e, const struct db_request *r, const char *tag_zh, const char *tag_en)
{
	struct rq_staff_list l;
	struct db_phone to;
	int rc;

	if (r->assignee_phone_id) {
		rc = db_phone_get_id(e->db, r->assignee_phone_id, &to);
		if (rc < 0)
			return rc;
		return send_dispatch(e, r, &to, tag_zh, tag_en);
	}
	rc = rq_staff_get(e, &l);
	for (int i = 0; rc == 0 && i < l.n; i++)
		rc = send_dispatch(e, r, &l.p[i], tag_zh, tag_en);
	return rc;
}

static void new_ref(char ref[8])
{
	uint32_t v;

	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = (uint32_t)random();
	snprintf(ref, 8, "%06u", 100000 + v % 900000);
}

/* Insert r with a fresh reference. */
int rq_add_with_ref(struct rq_env *e, struct db_request *r)
{
	int rc = -EEXIST;

	for (int i = 0; i < 64 && rc == -EEXIST; i++) {
		new_ref(r->ref);
		rc = db_request_add(e->db, r);
	}
	return rc;
}

/* The original words of a normalised suffix of the message, cut to outlen on a character. */
void rq_orig_rest(struct rq_env *e, const struct rq_msg *m, const char *norm_suffix, char *out, size_t outlen)
{
	char *buf = talloc_size(e->ctx, m->len + 1);
	size_t n;

	if (!buf || rq_orig_suffix(m->text, m->len, norm_suffix, buf, m->len + 1) < 0) {
		out[0] = '\0';
		return;
	}
	n = strlen(buf);
	if (n >= outlen) {
		n = outlen - 1;
		while (n && ((unsigned char)buf[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(out, buf, n);
	out[n] = '\0';
}

void rq_new(struct rq_env *e, const struct rq_msg *m, const char *kind, char *text, struct db_request *r)
{
	memset(r, 0, sizeof(*r));
	OSMO_STRLCPY_ARRAY(r->kind, kind);
	r->reporter_phone_id = m->known ? m->ph.id : 0;
	OSMO_STRLCPY_ARRAY(r->reporter, m->sender);
	r->household_id = m->known ? m->ph.household_id : 0;
	r->text = text;
	r->flags = m->known ? 0 : DB_REQ_UNVERIFIED;
	r->created = e->now;
}

static int report(struct rq_env *e, struct rq_msg *m)
{
	char text[600], date[32];
	struct db_request r, dup;
	int rc;

	rq_orig_rest(e, m, m->args, text, sizeof(text));
	if (!text[0]) {
		snprintf(m->note, m->notelen, "report keyword alone: help sent");
		return rq_send_tpl(e, m->sender, m->lang, DB_PRIO_REPLY, "report_help", NULL, NULL, 0);
	}

	rc = db_request_find_dup(e->db, e->ctx, m->sender, text,
				 e->now - (time_t)osmo_tdef_get(rq_tdefs, RQ_T_DUP, OSMO_TDEF_S, -1), &dup);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	rq_new(e, m, "request", text, &r);
	if (rc == 0) {
		const char *keys[] = {"ref"};
		const char *vals[] = {dup.ref};

		OSMO_STRLCPY_ARRAY(r.state, "merged");
		r.merged_into = dup.id;
		rc = rq_add_with_ref(e, &r);
		if (rc == 0)
			rc = db_request_event_add(e->db, r.id, m->sender, e->now, NULL, "merged",
						  talloc_asprintf(e->ctx, "duplicate of %s", dup.ref));
		if (rc == 0)
			rc = db_request_event_add(e->db, dup.id, m->sender, e->now, dup.state, dup.state,
						  talloc_asprintf(e->ctx, "repeat %s merged", r.ref));
		if (rc == 0)
			rc = rq_send_tpl(e, m->sender, m->lang, DB_PRIO_REPLY, "report_merged", keys, vals, 1);
		snprintf(m->note, m->notelen, "request %s merged into %s", r.ref, dup.ref);
		return rc;
	}

	OSMO_STRLCPY_ARRAY(r.state, "received");
	r.deadline = rq_deadline(e->db, e->now, e->deadline_days);
	rc = rq_add_with_ref(e, &r);
	if (rc < 0)
		return rc;
	rc = db_request_event_add(e->db, r.id, m->sender, e->now, NULL, "received",
				  m->known ? NULL : "unverified number");
	if (rc < 0)
		return rc;
	/* read back: address, reporter's name */
	rc = db_request_get(e->db, e->ctx, NULL, r.id, &r);
	if (rc < 0)
		return rc;
	rq_date(r.deadline, m->lang, date, sizeof(date));
	{
		const char *keys[] = {"ref", "date"};
		const char *vals[] = {r.ref, date};

		rc = rq_send_tpl(e, m->sender, m->lang, DB_PRIO_REPLY, "report_ok", keys, vals, 2);
		if (rc < 0)
			return rc;
	}

	/* dispatch at once: the grid worker of the household, or the duty staff */
	if (r.household_id) {
		struct db_place pl;

		rc = db_request_place(e->db, r.household_id, &pl);
		if (rc < 0 && rc != -ENOENT)
			return rc;
		if (rc == 0 && pl.worker.id)
			r.assignee_phone_id = pl.worker.id;
	}
	if (!r.assignee_phone_id && !rq_may_fan_out(e, m)) {
		/* every staff phone for each report: not for a sender that sent many just now */
		rc = rq_transition(e, &r, "dispatched", "system",
				   "to the duty staff's list; not texted to each (the sender is over its limit)");
		snprintf(m->note, m->notelen, "request %s created, to the staff's list (fan-out limit)", r.ref);
		return rc;
	}
	rc = rq_transition(e, &r, "dispatched", "system",
			   r.assignee_phone_id ? "to the grid worker" : "to the duty staff");
	if (rc == 0)
		rc = rq_notify_assignee(e, &r, "派单", "Job");
	snprintf(m->note, m->notelen, "request %s created, dispatched to %s", r.ref,
		 r.assignee_phone_id ? "the grid worker" : "the duty staff");
	return rc;
}

int rq_report(struct rq_env *e, const struct rq_report_in *in, const char *actor, struct db_request *out, char *err,
	      size_t errlen)
{
	struct db_request r;
	struct db_phone ph;
	bool known = false;
	char num[32] = "", date[32];
	const char *note = NULL;
	int rc;

	err[0] = '\0';
	if (!in->text || !in->text[0]) {
		snprintf(err, errlen, "a request needs a text");
		return -EINVAL;
	}
	if (in->phone && in->phone[0]) {
		if (db_number_norm(in->phone, num, sizeof(num)) < 0 || num[0] != '+') {
			snprintf(err, errlen, "\"%s\" is not a phone number", in->phone);
			return -EINVAL;
		}
		rc = db_phone_get(e->db, num, &ph);
		if (rc < 0 && rc != -ENOENT)
			return rc;
		known = rc == 0;
		if (known && (rc = db_phone_pending(e->db, ph.id)) != 0) {
			if (rc < 0)
				return rc;
			known = false;
		}
	}
	memset(&r, 0, sizeof(r));
	OSMO_STRLCPY_ARRAY(r.kind, "request");
	OSMO_STRLCPY_ARRAY(r.state, "received");
	OSMO_STRLCPY_ARRAY(r.source, in->source ? in->source : "web");
	if (in->service)
		OSMO_STRLCPY_ARRAY(r.service, in->service);
	if (in->place)
		OSMO_STRLCPY_ARRAY(r.place, in->place);
	r.has_pos = in->has_pos;
	r.lat = in->lat;
	r.lon = in->lon;
	if (in->recording) {
		OSMO_STRLCPY_ARRAY(r.recording, in->recording);
		r.recording_s = in->recording_s;
	}
	r.text = talloc_strdup(e->ctx, in->text);
	r.created = e->now;
	r.deadline = rq_deadline(e->db, e->now, e->deadline_days);
	/* Only a phone of the database is the reporter: it gets the SMS of the request as if it had
	 * texted 报事. Another number given by another system is kept in the history, never texted. */
	if (known) {
		r.reporter_phone_id = ph.id;
		r.household_id = ph.household_id;
		OSMO_STRLCPY_ARRAY(r.reporter, ph.number);
	} else if (num[0]) {
		note = talloc_asprintf(e->ctx, "phone %s is not a phone of the database: not linked", num);
	}
	rc = rq_add_with_ref(e, &r);
	if (rc == 0)
		rc = db_request_event_add(e->db, r.id, actor, e->now, NULL, "received", note);
	if (rc == 0)
		rc = db_request_get(e->db, e->ctx, NULL, r.id, &r);
	if (rc < 0)
		return rc;
	if (known) {
		const char *keys[] = {"ref", "date"};
		const char *vals[] = {r.ref, date};

		rq_date(r.deadline, r.reporter_lang, date, sizeof(date));
		rc = rq_send_tpl(e, r.reporter, r.reporter_lang, DB_PRIO_REPLY, "report_ok", keys, vals, 2);
		if (rc < 0)
			return rc;
	}
	if (r.household_id) {
		struct db_place pl;

		rc = db_request_place(e->db, r.household_id, &pl);
		if (rc < 0 && rc != -ENOENT)
			return rc;
		if (rc == 0 && pl.worker.id)
			r.assignee_phone_id = pl.worker.id;
	}
	rc = rq_transition(e, &r, "dispatched", "system",
			   r.assignee_phone_id ? "to the grid worker" : "to the duty staff");
	if (rc == 0)
		rc = rq_notify_assignee(e, &r, "派单", "Job");
	if (rc == 0)
		rc = db_request_get(e->db, e->ctx, NULL, r.id, out);
	return rc;
}

bool rq_may_fan_out(struct rq_env *e, const struct rq_msg *m)
{
	if (!e->may_fan_out || e->may_fan_out(e->may_fan_out_data, m->sender, m->known))
		return true;
	LOGP(DRT, LOGL_NOTICE, "%s is over its fan-out limit: not texted to every staff phone or runner\n", m->sender);
	return false;
}

static bool may_see(const struct rq_msg *m, const struct db_request *r)
{
	if (!strcmp(r->reporter, m->sender))
		return true;
	if (!m->known)
		return false;
	return !strcmp(m->ph.role, "staff") || (m->ph.household_id && m->ph.household_id == r->household_id);
}

static int status(struct rq_env *e, struct rq_msg *m)
{
	struct db_request_event ev;
	struct db_request r;
	char ref[8], note[400] = "", noteline[440] = "";
	int rc;

	rc = rq_parse_ref(m->args, ref, NULL);
	if (rc == -EINVAL) {
		const char *keys[] = {"usage"};
		const char *vals[] = {!strcmp(m->lang, "en") ? "CX 123456" : "查询 单号"};

		snprintf(m->note, m->notelen, "status: malformed ref");
		return rq_send_err(e, m->sender, m->lang, "bad_ref", keys, vals, 1);
	}
	if (rc == 0) {
		rc = db_request_get(e->db, e->ctx, ref, 0, &r);
	} else {
		rc = db_request_latest(e->db, e->ctx, m->sender, m->known ? m->ph.household_id : 0, NULL, &r);
		if (rc == -ENOENT) {
			snprintf(m->note, m->notelen, "status: no request");
			return rq_send_tpl(e, m->sender, m->lang, DB_PRIO_REPLY, "status_none", NULL, NULL, 0);
		}
	}
	if (rc == -ENOENT) {
		const char *keys[] = {"ref"};
		const char *vals[] = {ref};

		snprintf(m->note, m->notelen, "status: unknown ref %s", ref);
		return rq_send_err(e, m->sender, m->lang, "private", keys, vals, 1); /* as for a foreign one */
	}
	if (rc < 0)
		return rc;
	if (!may_see(m, &r)) {
		const char *keys[] = {"ref"};
		const char *vals[] = {r.ref};

		LOGP(DRT, LOGL_NOTICE, "%s asked for request %s of another household: refused\n", m->sender, r.ref);
		snprintf(m->note, m->notelen, "status of %s refused: not the reporter's household", r.ref);
		return rq_send_err(e, m->sender, m->lang, "private", keys, vals, 1);
	}
	/* the newest change as a label in the resident's language: the history's notes are for the
	 * staff (English system notes, remarks) */
	rc = db_request_last_change(e->db, e->ctx, r.id, &ev);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	if (rc == 0) {
		char date[32];

		rq_date(r.deadline, m->lang, date, sizeof(date));
		if (rq_event_label(r.kind, ev.to, r.assignee_phone_id != 0, ev.note, date, m->lang, note,
				   sizeof(note)) > 0)
			snprintf(noteline, sizeof(noteline), "%s%s", !strcmp(m->lang, "en") ? "Last: " : "最新：",
				 note);
	}
	{
		bool en = !strcmp(m->lang, "en");
		const char *keys[] = {"ref", "state", "flag", "note"};
		const char *vals[] = {r.ref, rq_state_label(r.state, m->lang),
				      (r.flags & DB_REQ_OVERDUE) && db_request_state_open(r.state)
					      ? (en ? " (overdue)" : "（超时）")
					      : "",
				      noteline};

		snprintf(m->note, m->notelen, "status of %s sent", r.ref);
		return rq_send_tpl(e, m->sender, m->lang, DB_PRIO_REPLY, "status", keys, vals, ARRAY_SIZE(keys));
	}
}

/* The grid worker commands. */
struct wcmd {
	const char *handler;
	const char *usage_zh, *usage_en;
	const char *action_zh, *action_en;
	bool needs_text;
	const char *to_state;
	const char *from[5]; /* states it applies to */
};

static const struct wcmd wcmds[] = {
	{"accept", "签收 单号", "QS 123456", "签收", "accept", false, "accepted", {"dispatched", "extended"}},
	{"note",
	 "处置 单号 说明",
	 "CZ 123456 note",
	 "处置",
	 "add a note to",
	 true,
	 "in_progress",
	 {"dispatched", "accepted", "in_progress", "extended"}},
	{"resolve",
	 "办结 单号 结果",
	 "BJ 123456 result",
	 "办结",
	 "close",
	 true,
	 "closed",
	 {"dispatched", "accepted", "in_progress", "extended"}},
	{"return",
	 "退回 单号 原因",
	 "TH 123456 reason",
	 "退回",
	 "return",
	 true,
	 "returned",
	 {"dispatched", "accepted", "in_progress", "extended"}},
};

static int worker_cmd(struct rq_env *e, struct rq_msg *m, const struct wcmd *c)
{
	bool en = !strcmp(m->lang, "en");
	const char *ukeys[] = {"usage"};
	const char *uvals[] = {en ? c->usage_en : c->usage_zh};
	const char *rest = NULL;
	const char *rkeys[] = {"ref"};
	const char *rvals[1];
	char ref[8], text[600] = "";
	struct db_request r;
	bool ok = false;
	int rc;

	rc = rq_parse_ref(m->args, ref, &rest);
	if (rc < 0) {
		snprintf(m->note, m->notelen, "%s: %s", c->handler, rc == -ENOENT ? "no ref" : "malformed ref");
		return rq_send_err(e, m->sender, m->lang, rc == -ENOENT ? "usage" : "bad_ref", ukeys, uvals, 1);
	}
	rvals[0] = ref;
	if (rest && rest[0])
		rq_orig_rest(e, m, rest, text, sizeof(text));
	rc = db_request_get(e->db, e->ctx, ref, 0, &r);
	if (rc == -ENOENT) {
		snprintf(m->note, m->notelen, "%s: unknown ref %s", c->handler, ref);
		return rq_send_err(e, m->sender, m->lang, "unknown_ref", rkeys, rvals, 1);
	}
	if (rc < 0)
		return rc;
	if (r.assignee_phone_id != m->ph.id) {
		LOGP(DRT, LOGL_NOTICE, "%s tried to %s request %s, assigned to %s: refused\n", m->sender, c->handler,
		     ref, r.assignee[0] ? r.assignee : "the staff");
		snprintf(m->note, m->notelen, "%s %s refused: not the assignee", c->handler, ref);
		return rq_send_err(e, m->sender, m->lang, "not_yours", rkeys, rvals, 1);
	}
	for (unsigned i = 0; i < ARRAY_SIZE(c->from) && c->from[i]; i++)
		ok |= !strcmp(r.state, c->from[i]);
	if (!ok) {
		const char *keys[] = {"ref", "state", "action"};
		const char *vals[] = {ref, rq_state_label(r.state, m->lang), en ? c->action_en : c->action_zh};

		snprintf(m->note, m->notelen, "%s %s refused: state %s", c->handler, ref, r.state);
		return rq_send_err(e, m->sender, m->lang, "bad_state", keys, vals, ARRAY_SIZE(keys));
	}
	if (c->needs_text && !text[0]) {
		snprintf(m->note, m->notelen, "%s %s: no text", c->handler, ref);
		return rq_send_err(e, m->sender, m->lang, "usage", ukeys, uvals, 1);
	}

	if (!strcmp(c->handler, "return"))
		r.assignee_phone_id = 0;
	rc = rq_transition(e, &r, c->to_state, m->sender, text);
	if (rc < 0)
		return rc;
	snprintf(m->note, m->notelen, "request %s %s by %s", ref, c->to_state, m->sender);
	if (!strcmp(c->handler, "accept"))
		return rq_send_tpl(e, m->sender, m->lang, DB_PRIO_REPLY, "accepted", rkeys, rvals, 1);
	if (!strcmp(c->handler, "note"))
		return rq_send_tpl(e, m->sender, m->lang, DB_PRIO_REPLY, "noted", rkeys, rvals, 1);
	if (!strcmp(c->handler, "resolve")) {
		const char *keys[] = {"ref", "result"};
		const char *vals[] = {ref, text};

		rc = rq_send_tpl(e, r.reporter, r.reporter_lang, DB_PRIO_REPLY, "resolved", keys, vals, 2);
		return rc < 0 ? rc
			      : rq_send_tpl(e, m->sender, m->lang, DB_PRIO_REPLY, "resolved_worker", rkeys, rvals, 1);
	}
	/* return: the duty staff reassign it */
	{
		struct rq_staff_list l;
		const char *keys[] = {"ref", "address", "text", "reason"};
		const char *vals[] = {ref, r.address[0] ? r.address : "-", r.text, text};

		rc = rq_staff_get(e, &l);
		for (int i = 0; rc == 0 && i < l.n; i++)
			rc = rq_send_tpl(e, l.p[i].number, l.p[i].lang, DB_PRIO_STAFF, "returned_staff", keys, vals,
					 ARRAY_SIZE(keys));
		return rc < 0 ? rc
			      : rq_send_tpl(e, m->sender, m->lang, DB_PRIO_REPLY, "returned_worker", rkeys, rvals, 1);
	}
}

static int list(struct rq_env *e, struct rq_msg *m)
{
	char *refs, n[16];
	int rc = db_request_open_refs(e->db, e->ctx, m->ph.id, &refs);
	const char *keys[] = {"n", "refs"};
	const char *vals[] = {n, refs};

	if (rc < 0)
		return rc;
	snprintf(n, sizeof(n), "%d", rc);
	snprintf(m->note, m->notelen, "list: %d open", rc);
	return rq_send_tpl(e, m->sender, m->lang, DB_PRIO_REPLY, rc ? "list" : "list_none", keys, vals, 2);
}

/* A rating reply to the newest closed request of the sender or its household. 0 when there is none
 * (not request business), 1 handled. */
static int rating(struct rq_env *e, struct rq_msg *m, int value)
{
	const char *label = rq_rating_label(value);
	const char *keys[] = {"ref", "rating"};
	const char *vals[2];
	struct db_request r;
	int rc;

	rc = db_request_latest(e->db, e->ctx, m->sender, m->known ? m->ph.household_id : 0, "closed", &r);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	vals[0] = r.ref;
	vals[1] = label;
	if (!strcmp(m->lang, "en"))
		vals[1] = value == 1 ? "satisfied" : value == 2 ? "fairly satisfied" : "unsatisfied";
	OSMO_STRLCPY_ARRAY(r.rating, label);
	rc = rq_transition(e, &r, "visited", m->sender, label);
	if (rc < 0)
		return rc;
	if (value < 3) {
		snprintf(m->note, m->notelen, "request %s rated %d", r.ref, value);
		rc = rq_send_tpl(e, m->sender, m->lang, DB_PRIO_REPLY, "rated", keys, vals, 2);
		return rc < 0 ? rc : 1;
	}
	/* 不满意: reopened, to the duty staff */
	r.assignee_phone_id = 0;
	r.flags &= ~(DB_REQ_OVERDUE | DB_REQ_REMINDED | DB_REQ_ESCALATED);
	r.deadline = rq_deadline(e->db, e->now, e->deadline_days);
	rc = rq_transition(e, &r, "reopened", m->sender, "不满意，重办");
	if (rc == 0)
		rc = rq_notify_assignee(e, &r, "重办", "Reopened");
	if (rc == 0)
		rc = rq_send_tpl(e, m->sender, m->lang, DB_PRIO_REPLY, "rated_reopen", keys, vals, 2);
	snprintf(m->note, m->notelen, "request %s rated 3: reopened to the duty staff", r.ref);
	return rc < 0 ? rc : 1;
}

/* A reply with no keyword: a rating of the sender's newest finished request (rating_v 1..3), or
 * the answer to a finished errand (errand_v 1 confirm, 2 dispute); whichever of the two the newest
 * closed one of the sender (or its household) is. 0 when it is neither (not ours), 1 handled. */
static int closed_answer(struct rq_env *e, struct rq_msg *m, int rating_v, int errand_v)
{
	struct db_request r;
	int rc;

	if (!rating_v && !errand_v)
		return 0;
	rc = db_request_latest(e->db, e->ctx, m->sender, m->known ? m->ph.household_id : 0, "closed", &r);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	if (!strcmp(r.kind, "errand")) {
		if (!errand_v)
			return 0;
		rc = rq_errand_answer(e, m, &r, errand_v == 1);
		return rc < 0 ? rc : 1;
	}
	return rating_v ? rating(e, m, rating_v) : 0;
}
/* The whole normalised text minus the keyword and its separators (rt_match's args, untruncated). */
static char *full_args(void *ctx, const char *text, size_t len, const char *keyword)
{
	size_t max = 4 * len + 16;
	char *norm = talloc_size(ctx, max), *p;
	int n = rt_normalize(text, len, norm, max);

	if (n < 0)
		return talloc_strdup(ctx, "");
	p = norm;
	if (keyword && !strncmp(p, keyword, strlen(keyword)))
		p += strlen(keyword);
	while (*p == ' ' || *p == ',' || *p == ':' || *p == '#' || *p == ';' || *p == '.')
		p++;
	return p;
}

/* The handlers of request_extend.c (their rules carry a role). */
static const char *const ext_handlers[] = {"extend_ask", "extend_approve", "extend_refuse"};

/* 延期 is the assignee's (rule role grid_worker), and the staff's too: theirs is the extension
 * itself (request_extend.c). */
static bool staff_extends(const struct rq_msg *m)
{
	return !strcmp(m->handler, "extend_ask") && m->known && !strcmp(m->ph.role, "staff");
}

/* The role a handler of ours needs when its rule in the rules file names none: an operator's rule
 * without its ROLE column must not open a staff's or a grid worker's command to every number. */
static const char *default_role(const char *handler)
{
	static const struct {
		const char *handler, *role;
	} roles[] = {{"extend_ask", "grid_worker"},
		     {"extend_approve", "staff"},
		     {"extend_refuse", "staff"},
		     {"accept", "grid_worker"},
		     {"note", "grid_worker"},
		     {"resolve", "grid_worker"},
		     {"return", "grid_worker"},
		     {"list", "grid_worker"},
		     {"take", "runner"},
		     {"done", "runner"}};

	for (unsigned i = 0; i < ARRAY_SIZE(roles); i++)
		if (!strcmp(handler, roles[i].handler))
			return roles[i].role;
	return "";
}

static bool replyable(const char *number)
{
	return number[0] == '+' || (number[0] >= '0' && number[0] <= '9');
}

int rq_handle(struct rq_env *e, const char *sender, const char *text, size_t len, unsigned flags, char *note,
	      size_t notelen)
{
	struct rt_match mt;
	struct rq_msg m = {.sender = sender, .text = text, .len = len, .note = note, .notelen = notelen};
	const char *role;
	int rc;

	note[0] = '\0';
	rc = db_phone_get(e->db, sender, &m.ph);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	m.known = rc == 0;
	m.lang = m.known && m.ph.lang[0] ? m.ph.lang : "zh-CN";
	if (m.known) {
		/* a registration waiting for approval is not (yet) a verified phone */
		rc = db_phone_pending(e->db, m.ph.id);
		if (rc < 0)
			return rc;
		m.pending = rc > 0;
		m.known = !m.pending;
	}

	if (!(flags & DB_SMS_IN_BAD_TEXT) && e->rules)
		rc = rt_match(e->rules, text, len, &mt);
	else if (!(flags & DB_SMS_IN_BAD_TEXT))
		return 0;
	if ((flags & DB_SMS_IN_BAD_TEXT) || rc == -EILSEQ) {
		snprintf(note, notelen, "unreadable text: asked to send again");
		if (!replyable(sender))
			return 1;
		rc = rq_send_err(e, sender, m.lang, "bad_text", NULL, NULL, 0);
		return rc < 0 ? rc : 1;
	}
	if (rc < 0)
		return rc;

	if (!mt.rule)
		return closed_answer(e, &m, rq_parse_rating(mt.args), rq_parse_errand_answer(mt.args));
	if (!strcmp(mt.rule->handler, "confirm") && !mt.args[0])
		return closed_answer(e, &m, 0, 1); /* 确认 alone (with a code it was the SOS binding's) */
	m.keyword = mt.keyword;
	m.handler = mt.rule->handler;
	role = mt.rule->role[0] ? mt.rule->role : default_role(m.handler);
	if (role[0] && (!m.known || strcmp(m.ph.role, role)) && !staff_extends(&m)) {
		const char *keys[] = {"keyword", "role"};
		const char *vals[] = {mt.keyword, rq_role_label(role, m.lang)};
		bool ours = false;

		for (unsigned i = 0; i < ARRAY_SIZE(ext_handlers); i++)
			ours |= !strcmp(m.handler, ext_handlers[i]);
		for (unsigned i = 0; i < ARRAY_SIZE(wcmds); i++)
			ours |= !strcmp(m.handler, wcmds[i].handler);
		if (!ours && strcmp(m.handler, "list") && strcmp(m.handler, "take") && strcmp(m.handler, "done"))
			return 0;
		LOGP(DRT, LOGL_NOTICE, "%s (role %s) sent \"%s\", which is only for %s: refused\n", sender,
		     m.known ? m.ph.role : "unknown", mt.keyword, role);
		snprintf(note, notelen, "refused: %s is only for %s (sender role %s)", mt.keyword, role,
			 m.known ? m.ph.role : "unknown");
		rc = rq_send_err(e, sender, m.lang, "refused", keys, vals, 2);
		return rc < 0 ? rc : 1;
	}
	m.args = full_args(e->ctx, text, len, mt.keyword);

	if (!strcmp(m.handler, "report"))
		rc = report(e, &m);
	else if (!strcmp(m.handler, "status"))
		rc = status(e, &m);
	else if (!strcmp(m.handler, "list"))
		rc = list(e, &m);
	else if (!strcmp(m.handler, "errand"))
		rc = rq_errand(e, &m);
	else if (!strcmp(m.handler, "take"))
		rc = rq_errand_take(e, &m);
	else if (!strcmp(m.handler, "done"))
		rc = rq_errand_done(e, &m);
	else if (!strcmp(m.handler, "points"))
		rc = rq_points(e, &m);
	else if (!strcmp(m.handler, "register"))
		rc = rq_register(e, &m);
	else if (!strcmp(m.handler, "extend_ask"))
		rc = rq_extend_ask(e, &m);
	else if (!strcmp(m.handler, "extend_approve"))
		rc = rq_extend_approve(e, &m);
	else if (!strcmp(m.handler, "extend_refuse"))
		rc = rq_extend_refuse(e, &m);
	else {
		rc = 0;
		for (unsigned i = 0; i < ARRAY_SIZE(wcmds); i++)
			if (!strcmp(m.handler, wcmds[i].handler))
				return (rc = worker_cmd(e, &m, &wcmds[i])) < 0 ? rc : 1;
		return 0;
	}
	return rc < 0 ? rc : 1;
}
/* ---- the gateway ---- */

struct rq_cfg rq_cfg = {
	.deadline_days = 3,
	.errand_points = 10,
	.err_max = 5,
	.fanout_unknown = 3,
	.fanout_known = 10,
};

struct osmo_tdef rq_tdefs[] = {
	{.T = RQ_T_ESCALATE,
	 .default_val = 86400,
	 .unit = OSMO_TDEF_S,
	 .desc = "A request still open this long after its reminder: 督办 to the staff"},
	{.T = RQ_T_DUP,
	 .default_val = 600,
	 .unit = OSMO_TDEF_S,
	 .desc = "The same text from the same number within this is merged into one request"},
	{.T = RQ_T_ERR_WINDOW,
	 .default_val = 600,
	 .unit = OSMO_TDEF_S,
	 .desc = "The window of the error-reply limit (at most err-max refusals per number)"},
	{.T = RQ_T_FANOUT,
	 .default_val = 3600,
	 .unit = OSMO_TDEF_S,
	 .desc = "The window of the fan-out limit (texts to every staff phone or runner per sender)"},
	{.T = RQ_T_EXTEND_WAIT,
	 .default_val = 86400,
	 .unit = OSMO_TDEF_S,
	 .desc = "A 延期 ask nobody answers lapses at the request's deadline, but not sooner than this"},
	{}};

/* Error replies (refusals, malformed commands) per number: at most err_max in err_window_s. */
static struct gw_limit *err_limit;

static bool gw_may_reply(void *data, const char *number)
{
	struct gw *gw = data;

	if (!err_limit)
		err_limit = gw_limit_alloc(gw, 1024, rq_cfg.err_max, 0);
	gw_limit_set(err_limit, rq_cfg.err_max, osmo_tdef_get(rq_tdefs, RQ_T_ERR_WINDOW, OSMO_TDEF_S, -1));
	return gw_limit_take(err_limit, number, gw_now());
}

/* Texts to many (every staff phone, every runner) per number: fanout-unknown / fanout-known per
 * RQ_T_FANOUT. */
static struct gw_limit *fanout_limit[2];

static bool gw_may_fan_out(void *data, const char *number, bool known)
{
	struct gw *gw = data;
	struct gw_limit **l = &fanout_limit[known];
	unsigned max = known ? rq_cfg.fanout_known : rq_cfg.fanout_unknown;

	if (!*l)
		*l = gw_limit_alloc(gw, 1024, max, 0);
	gw_limit_set(*l, max, osmo_tdef_get(rq_tdefs, RQ_T_FANOUT, OSMO_TDEF_S, -1));
	return gw_limit_take(*l, number, gw_now());
}

static int gw_queue(void *data, const char *dest, const char *text, int prio)
{
	return gw_sms_queue(data, dest, text, prio, NULL);
}

void gw_request_env(struct gw *gw, struct rq_env *e, void *ctx, time_t now)
{
	memset(e, 0, sizeof(*e));
	e->db = gw->db;
	e->rules = gw->rules;
	e->ctx = ctx;
	e->now = now;
	e->deadline_days = rq_cfg.deadline_days;
	e->queue = gw_queue;
	e->queue_data = gw;
	e->may_reply = gw_may_reply;
	e->may_reply_data = gw;
	e->may_fan_out = gw_may_fan_out;
	e->may_fan_out_data = gw;
	e->errand_points = rq_cfg.errand_points;
}

int gw_request_voice(struct gw *gw, const char *number, const char *path, unsigned seconds, char ref[8])
{
	void *tmp = talloc_new(gw);
	struct rq_report_in in = {.phone = number, .source = "voice", .recording = path, .recording_s = seconds};
	struct db_request out;
	char err[256] = "";
	struct rq_env e;
	int rc;

	gw_request_env(gw, &e, tmp, gw_now());
	in.text = talloc_asprintf(tmp, "（语音报事，%u秒）", seconds);
	rc = db_begin(gw->db);
	if (rc == 0)
		rc = rq_report(&e, &in, number, &out, err, sizeof(err));
	if (rc == 0)
		rc = db_commit(gw->db);
	else
		db_rollback(gw->db);
	if (rc == 0) {
		osmo_strlcpy(ref, out.ref, 8);
		gw_outbox_kick(gw);
		LOGP(DRT, LOGL_NOTICE, "request %s by voice from %s: %u s in %s\n", out.ref, number, seconds, path);
	} else {
		LOGP(DRT, LOGL_ERROR, "the voice request of %s (%s) could not be filed: %s%s%s\n", number, path,
		     strerror(-rc), err[0] ? ": " : "", err);
	}
	talloc_free(tmp);
	return rc;
}

int gw_request_route(struct gw *gw, const struct db_sms_in *m, const char **note)
{
	static char buf[256]; /* the note outlives this call: gw_route stores it */
	void *tmp = talloc_new(gw);
	struct rq_env e;
	int rc;

	gw_request_env(gw, &e, tmp, gw_now());
	rc = rq_handle(&e, m->sender, m->text, strlen(m->text), m->flags, buf, sizeof(buf));
	*note = buf;
	talloc_free(tmp);
	return rc;
}
int rq_init(struct gw *gw)
{
	int rc;

	osmo_tdefs_reset(rq_tdefs); /* the defaults, before the config file sets any */
	rc = gw_route_add(gw, "request", gw_request_route);

	if (rc == 0)
		rc = gw_due_register(gw, "overdue", rq_overdue_due, NULL);
	if (rc == 0)
		rc = gw_due_register(gw, "digest", gw_digest_due, NULL);
	return rc;
}
