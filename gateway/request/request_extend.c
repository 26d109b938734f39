/* Requests: 延期 asked by SMS (issue 12). The assignee of an open request texts 延期/YQ <ref> <days>
 * <reason>; that is an ask, not the extension: every duty staff phone gets it with a four-digit
 * code and answers 批准/PZ <code> (the extension: rq_extend, which tells the resident and the
 * assignee) or 驳回/BH <code> <reason> (the asker is told the reason). The console's extend (and
 * linlictl request extend) of that request counts as the approval. An ask nobody answers lapses
 * at the request's deadline, at the earliest RQ_T_EXTEND_WAIT after it was made, and the asker is
 * told. A staff phone's own 延期 is the extension at once: the staff are who would approve it.
 * Everything inside the caller's transaction. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <osmocom/core/logging.h>
#include <osmocom/core/talloc.h>
#include <osmocom/core/utils.h>

#include "db/db.h"
#include "gateway/core/gw.h"
#include "gateway/request/request.h"
#include "gateway/request/request_priv.h"

static bool en(const struct rq_msg *m)
{
	return !strcmp(m->lang, "en");
}

/* "3", "3天", "3个工作日", "3日" at the start of normalised s: 0 with *days and *rest (past the
 * separators), -ENOENT when s does not start with a digit. */
static int parse_days(const char *s, unsigned *days, const char **rest)
{
	static const char *const units[] = {"个工作日", "工作日", "天", "日"};
	unsigned long v = 0;
	size_t n = 0;

	while (*s == ' ')
		s++;
	while (s[n] >= '0' && s[n] <= '9' && n < 4)
		v = v * 10 + (unsigned)(s[n++] - '0');
	if (!n)
		return -ENOENT;
	if (s[n] >= '0' && s[n] <= '9')
		v = 9999; /* more than 4 digits: out of range all the same */
	s += n;
	while (*s >= '0' && *s <= '9')
		s++;
	for (unsigned i = 0; i < ARRAY_SIZE(units); i++)
		if (!strncmp(s, units[i], strlen(units[i]))) {
			s += strlen(units[i]);
			break;
		}
	while (*s == ' ' || *s == ',' || *s == ':' || *s == ';' || *s == '.')
		s++;
	*days = (unsigned)v;
	*rest = s;
	return 0;
}

/* A four-digit approval code at the start of normalised args: 0 with code and *rest, -EINVAL. */
static int parse_code(const char *args, char code[8], const char **rest)
{
	const char *p = args;

	while (*p == ' ' || *p == ':' || *p == '#')
		p++;
	if (strspn(p, "0123456789") != 4)
		return -EINVAL;
	memcpy(code, p, 4);
	code[4] = '\0';
	p += 4;
	while (*p == ' ' || *p == ',' || *p == ':' || *p == ';' || *p == '.')
		p++;
	if (rest)
		*rest = p;
	return 0;
}

static void new_code(char code[8])
{
	uint32_t v;

	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = (uint32_t)random();
	snprintf(code, 8, "%04u", 1000 + v % 9000);
}

static int usage(struct rq_env *e, struct rq_msg *m, const char *zh, const char *en_)
{
	const char *keys[] = {"usage"};
	const char *vals[] = {en(m) ? en_ : zh};

	return rq_send_err(e, m->sender, m->lang, "usage", keys, vals, 1);
}

/* The ask to every duty staff phone. */
static int ask_to_staff(struct rq_env *e, const struct rq_msg *m, const struct db_request *r,
			const struct db_extension *x)
{
	const char *keys[] = {"ref", "address", "name", "days", "date", "reason", "code"};
	char days[8], date[32];
	const char *vals[] = {r->ref,
			      r->address[0] ? r->address
			      : r->place[0] ? r->place
					    : "-",
			      m->ph.name[0] ? m->ph.name : m->sender,
			      days,
			      date,
			      x->reason,
			      x->code};
	struct rq_staff_list l;
	int rc;

	snprintf(days, sizeof(days), "%u", x->days);
	rc = rq_staff_get(e, &l);
	for (int i = 0; rc == 0 && i < l.n; i++) {
		rq_date(r->deadline, l.p[i].lang, date, sizeof(date));
		rc = rq_send_tpl(e, l.p[i].number, l.p[i].lang, DB_PRIO_STAFF, "extend_ask_staff", keys, vals,
				 ARRAY_SIZE(keys));
	}
	return rc;
}

/* The extension itself (the staff's own 延期, an approval), and the answer to the staff phone: 0
 * extended, 1 refused and answered (the request is no longer open), -errno. */
static int extend_now(struct rq_env *e, struct rq_msg *m, const char *ref, unsigned days, const char *reason)
{
	const char *keys[] = {"ref", "date", "state"};
	const char *vals[3];
	char err[256], date[32];
	struct db_request r;
	int rc;

	rc = rq_extend(e, ref, days, NULL, reason, m->sender, err, sizeof(err));
	if (rc < 0 && rc != -EPERM)
		return rc; /* days and reason were checked: a database error */
	rc = rc < 0 ? 1 : 0;
	if (db_request_get(e->db, e->ctx, ref, 0, &r) < 0)
		return -EIO; /* rq_extend read it just now */
	vals[0] = r.ref;
	vals[1] = date;
	vals[2] = rq_state_label(r.state, m->lang);
	if (rc == 1) {
		snprintf(m->note, m->notelen, "延期 of %s refused: %s", ref, err);
		rc = rq_send_err(e, m->sender, m->lang, "extend_void", keys, vals, 3);
		return rc < 0 ? rc : 1;
	}
	rq_date(r.deadline, m->lang, date, sizeof(date));
	snprintf(m->note, m->notelen, "request %s extended by %u working days by %s", ref, days, m->sender);
	return rq_send_tpl(e, m->sender, m->lang, DB_PRIO_REPLY, "extend_done", keys, vals, 2);
}

int rq_extend_ask(struct rq_env *e, struct rq_msg *m)
{
	const char *rkeys[] = {"ref"};
	const char *rvals[1];
	const char *rest = NULL, *tail = NULL;
	char ref[8], reason[400] = "";
	struct db_extension x, old;
	struct db_request r;
	unsigned days = 0;
	bool staff = !strcmp(m->ph.role, "staff");
	int rc;

	rc = rq_parse_ref(m->args, ref, &rest);
	if (rc < 0) {
		const char *keys[] = {"usage"};
		const char *vals[] = {en(m) ? "YQ 123456 3 reason" : "延期 单号 天数 原因"};

		snprintf(m->note, m->notelen, "extend_ask: %s", rc == -ENOENT ? "no ref" : "malformed ref");
		return rq_send_err(e, m->sender, m->lang, rc == -ENOENT ? "usage" : "bad_ref", keys, vals, 1);
	}
	rvals[0] = ref;
	rc = db_request_get(e->db, e->ctx, ref, 0, &r);
	if (rc == -ENOENT) {
		snprintf(m->note, m->notelen, "extend_ask: unknown ref %s", ref);
		return rq_send_err(e, m->sender, m->lang, "unknown_ref", rkeys, rvals, 1);
	}
	if (rc < 0)
		return rc;
	if (!staff && r.assignee_phone_id != m->ph.id) {
		LOGP(DRT, LOGL_NOTICE, "%s asked to extend request %s, assigned to %s: refused\n", m->sender, ref,
		     r.assignee[0] ? r.assignee : "the staff");
		snprintf(m->note, m->notelen, "extend_ask %s refused: not the assignee", ref);
		return rq_send_err(e, m->sender, m->lang, "not_yours", rkeys, rvals, 1);
	}
	if (!db_request_state_open(r.state)) {
		const char *keys[] = {"ref", "state", "action"};
		const char *vals[] = {ref, rq_state_label(r.state, m->lang), en(m) ? "extend" : "延期"};

		snprintf(m->note, m->notelen, "extend_ask %s refused: state %s", ref, r.state);
		return rq_send_err(e, m->sender, m->lang, "bad_state", keys, vals, ARRAY_SIZE(keys));
	}
	if (parse_days(rest ? rest : "", &days, &tail) < 0) {
		snprintf(m->note, m->notelen, "extend_ask %s: no days", ref);
		return usage(e, m, "延期 单号 天数 原因", "YQ 123456 3 reason");
	}
	if (days < 1 || days > RQ_EXTEND_MAX_DAYS) {
		const char *keys[] = {"max", "usage"};
		char max[8];
		const char *vals[] = {max, en(m) ? "YQ 123456 3 reason" : "延期 单号 天数 原因"};

		snprintf(max, sizeof(max), "%d", RQ_EXTEND_MAX_DAYS);

		snprintf(m->note, m->notelen, "extend_ask %s refused: %u days", ref, days);
		return rq_send_err(e, m->sender, m->lang, "extend_days", keys, vals, 2);
	}
	if (tail && tail[0])
		rq_orig_rest(e, m, tail, reason, sizeof(reason));
	if (!reason[0]) {
		snprintf(m->note, m->notelen, "extend_ask %s: no reason", ref);
		return usage(e, m, "延期 单号 天数 原因", "YQ 123456 3 reason");
	}
	if (staff) {
		rc = extend_now(e, m, ref, days, reason);
		return rc < 0 ? rc : 0;
	}

	rc = db_extension_asked(e->db, e->ctx, r.id, &old);
	if (rc == 0) {
		snprintf(m->note, m->notelen, "extend_ask %s refused: one waits already (code %s)", ref, old.code);
		return rq_send_err(e, m->sender, m->lang, "extend_pending", rkeys, rvals, 1);
	}
	if (rc != -ENOENT)
		return rc;
	memset(&x, 0, sizeof(x));
	x.request_id = r.id;
	OSMO_STRLCPY_ARRAY(x.asker, m->sender);
	x.days = days;
	x.reason = reason;
	x.created = e->now;
	/* it lapses at the deadline, but an ask made just before it (or of an overdue request) gets
	 * a while for the staff to answer */
	x.expires = e->now + (time_t)osmo_tdef_get(rq_tdefs, RQ_T_EXTEND_WAIT, OSMO_TDEF_S, -1);
	if (r.deadline > x.expires)
		x.expires = r.deadline;
	rc = -EEXIST;
	for (int i = 0; i < 64 && rc == -EEXIST; i++) { /* the code of another waiting ask */
		new_code(x.code);
		rc = db_extension_add(e->db, &x);
	}
	if (rc == 0)
		rc = rq_event(e, &r, m->sender, r.state,
			      talloc_asprintf(e->ctx, "申请延期%u个工作日：%s（审批码%s）", days, reason, x.code));
	if (rc == 0)
		rc = ask_to_staff(e, m, &r, &x);
	if (rc < 0)
		return rc;
	snprintf(m->note, m->notelen, "request %s: extension of %u days asked, code %s", ref, days, x.code);
	{
		const char *keys[] = {"ref", "days"};
		char d[8];
		const char *vals[] = {ref, d};

		snprintf(d, sizeof(d), "%u", days);
		return rq_send_tpl(e, m->sender, m->lang, DB_PRIO_REPLY, "extend_asked", keys, vals, 2);
	}
}

/* The asked ask of code, the refusal answered when there is none: 0 found, 1 answered, -errno. */
static int ask_by_code(struct rq_env *e, struct rq_msg *m, const char *code, struct db_extension *x)
{
	const char *keys[] = {"code"};
	const char *vals[] = {code};
	int rc = db_extension_by_code(e->db, e->ctx, code, x);

	if (rc != -ENOENT)
		return rc;
	snprintf(m->note, m->notelen, "extension code %s: none waiting", code);
	rc = rq_send_err(e, m->sender, m->lang, "extend_no_code", keys, vals, 1);
	return rc < 0 ? rc : 1;
}

int rq_extend_approve(struct rq_env *e, struct rq_msg *m)
{
	struct db_extension x;
	char code[8];
	int rc;

	if (parse_code(m->args, code, NULL) < 0) {
		snprintf(m->note, m->notelen, "extend_approve: no code");
		return usage(e, m, "批准 审批码", "PZ 1234");
	}
	rc = ask_by_code(e, m, code, &x);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	/* rq_extend marks the ask approved (whoever extends the request decides its ask); a request
	 * that is no longer open voids it */
	rc = extend_now(e, m, x.ref, x.days, x.reason);
	if (rc == 1)
		rc = db_extension_decide(e->db, x.id, "void", m->sender, NULL, e->now);
	return rc;
}

int rq_extend_refuse(struct rq_env *e, struct rq_msg *m)
{
	const char *rest = NULL;
	char code[8], reason[400] = "", date[32];
	struct db_extension x;
	struct db_request r;
	int rc;

	if (parse_code(m->args, code, &rest) < 0) {
		snprintf(m->note, m->notelen, "extend_refuse: no code");
		return usage(e, m, "驳回 审批码 原因", "BH 1234 reason");
	}
	if (rest && rest[0])
		rq_orig_rest(e, m, rest, reason, sizeof(reason));
	if (!reason[0]) {
		snprintf(m->note, m->notelen, "extend_refuse %s: no reason", code);
		return usage(e, m, "驳回 审批码 原因", "BH 1234 reason");
	}
	rc = ask_by_code(e, m, code, &x);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	rc = db_extension_decide(e->db, x.id, "refused", m->sender, reason, e->now);
	if (rc == 0)
		rc = db_request_get(e->db, e->ctx, NULL, x.request_id, &r);
	if (rc == 0)
		rc = rq_event(e, &r, m->sender, r.state, talloc_asprintf(e->ctx, "延期申请未获批准：%s", reason));
	if (rc < 0)
		return rc;
	{
		const char *keys[] = {"ref", "reason", "date", "name"};
		const char *vals[] = {r.ref, reason, date, x.asker_name[0] ? x.asker_name : x.asker};

		rq_date(r.deadline, x.asker_lang, date, sizeof(date));
		rc = rq_send_tpl(e, x.asker, x.asker_lang, DB_PRIO_STAFF, "extend_refused", keys, vals, 3);
		if (rc == 0)
			rc = rq_send_tpl(e, m->sender, m->lang, DB_PRIO_REPLY, "extend_refused_staff", keys, vals, 4);
	}
	snprintf(m->note, m->notelen, "extension of %s (code %s) refused by %s", r.ref, code, m->sender);
	return rc;
}

int rq_extension_lapse(struct rq_env *e)
{
	struct db_extension *x;
	struct db_request r;
	int n, rc = 0;

	n = db_extension_lapsed(e->db, e->ctx, e->now, &x);
	for (int i = 0; i < n && rc == 0; i++) {
		bool open;

		rc = db_request_get(e->db, e->ctx, NULL, x[i].request_id, &r);
		if (rc < 0)
			break;
		open = db_request_state_open(r.state);
		rc = db_extension_decide(e->db, x[i].id, open ? "expired" : "void", "system", NULL, e->now);
		if (rc == 0 && open)
			rc = rq_event(e, &r, "system", r.state, "延期申请无人审批，已失效");
		if (rc == 0 && open) {
			const char *keys[] = {"ref"};
			const char *vals[] = {r.ref};

			rc = rq_send_tpl(e, x[i].asker, x[i].asker_lang, DB_PRIO_STAFF, "extend_expired", keys, vals,
					 1);
		}
		LOGP(DRT, LOGL_NOTICE, "extension of %s asked by %s: %s\n", r.ref, x[i].asker,
		     open ? "nobody answered, lapsed" : "the request is closed, void");
	}
	return n < 0 ? n : rc < 0 ? rc : n;
}
