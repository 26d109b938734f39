/* Errands (跑腿), volunteer points (积分), registration by SMS (注册), the staff actions on them,
 * and the daily digest: see gateway/request/request.h, "errands, points, registration". Runs inside the
 * caller's transaction like the rest of the request handling. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <osmocom/core/logging.h>
#include <osmocom/core/talloc.h>
#include <osmocom/core/utils.h>

#include "db/db.h"
#include "gateway/core/gw.h"
#include "gateway/core/outbox.h"
#include "gateway/request/request.h"
#include "gateway/request/request_priv.h"
#include "gateway/request/workday.h"

/* ---- text ---- */

/* The next group of ASCII digits at or after *p, without leading zeros ("0" stays "0"); false
 * when there is none. */
static bool next_digits(const char **p, char *out, size_t len)
{
	const char *s = *p;
	size_t n = 0;

	while (*s && !(*s >= '0' && *s <= '9'))
		s++;
	if (!*s)
		return false;
	while (*s == '0' && s[1] >= '0' && s[1] <= '9')
		s++;
	while (*s >= '0' && *s <= '9') {
		if (n + 1 < len)
			out[n++] = *s;
		s++;
	}
	out[n] = '\0';
	*p = s;
	return true;
}

int rq_address_parse(const char *s, char building[16], char unit[16], char room[16])
{
	char g[4][16];
	int n = 0;

	while (n < 4 && next_digits(&s, g[n], sizeof(g[n])))
		n++;
	if (n < 2 || n > 3)
		return -EINVAL;
	OSMO_STRLCPY_ARRAY(g[3], "");
	snprintf(building, 16, "%s", g[0]);
	snprintf(unit, 16, "%s", n == 3 ? g[1] : "");
	snprintf(room, 16, "%s", g[n - 1]);
	return 0;
}

/* The first digit group of a column ("3幢" -> "3"), "" when it has none. */
static void col_digits(const char *col, char out[16])
{
	if (!next_digits(&col, out, 16))
		out[0] = '\0';
}

bool rq_address_match(const char *hh_building, const char *hh_unit, const char *hh_room, const char *building,
		      const char *unit, const char *room)
{
	char b[16], u[16], r[16];

	col_digits(hh_building, b);
	col_digits(hh_unit, u);
	col_digits(hh_room, r);
	/* an address without a unit ("3号楼501") fits any unit; uniqueness is the caller's business */
	return !strcmp(b, building) && !strcmp(r, room) && (!unit[0] || !strcmp(u, unit));
}

int rq_date_parse(const char *s, char out[11])
{
	int y, m, d, n = 0;
	char sep1, sep2;
	int yy, mm, dd;

	if (strlen(s) == 8 && strspn(s, "0123456789") == 8)
		n = sscanf(s, "%4d%2d%2d", &y, &m, &d) == 3 ? 3 : 0;
	else if (sscanf(s, "%d%c%d%c%d%n", &y, &sep1, &m, &sep2, &d, &n) == 5 && !s[n] && sep1 == sep2 &&
		 (sep1 == '-' || sep1 == '/' || sep1 == '.'))
		n = 3;
	else
		n = 0;
	if (n != 3 || y < 1970 || y > 2200 || m < 1 || m > 12 || d < 1 || d > 31)
		return -EINVAL;
	/* a real day: the round trip through the day number keeps it (2026-02-30 does not) */
	wd_date(wd_day(y, m, d), &yy, &mm, &dd);
	if (yy != y || mm != m || dd != d)
		return -EINVAL;
	snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
	return 0;
}

/* ---- errands ---- */

struct phones {
	struct db_phone p[256];
	int n;
};

static void phones_cb(void *data, const struct db_phone *p)
{
	struct phones *l = data;

	if (l->n < (int)ARRAY_SIZE(l->p))
		l->p[l->n++] = *p;
}

static bool en(const char *lang)
{
	return lang && !strcmp(lang, "en");
}

/* Who a phone is in a text: its name, or its number when it has none. */
static const char *who(const struct db_phone *p)
{
	return p->name[0] ? p->name : p->number;
}

static const char *addr_or(const struct db_request *r, const char *lang)
{
	return r->address[0] ? r->address : en(lang) ? "(no address)" : "（无住址）";
}

static const char *name_or(const struct db_request *r, const char *lang)
{
	return r->reporter_name[0] ? r->reporter_name : en(lang) ? "unregistered" : "未登记号码";
}

/* A text about errand r (keys ref address name number text runner) to one phone. */
static int send_about(struct rq_env *e, const struct db_request *r, const char *runner, const struct db_phone *to,
		      int prio, const char *tpl)
{
	const char *keys[] = {"ref", "address", "name", "number", "text", "runner"};
	const char *vals[] = {r->ref, addr_or(r, to->lang), name_or(r, to->lang), r->reporter, r->text, runner};

	return rq_send_tpl(e, to->number, to->lang, prio, tpl, keys, vals, ARRAY_SIZE(keys));
}

int rq_errand(struct rq_env *e, struct rq_msg *m)
{
	struct phones *runners = talloc_zero(e->ctx, struct phones);
	char text[600], n[16];
	struct db_request r;
	int rc;

	if (!runners)
		return -ENOMEM;
	rq_orig_rest(e, m, m->args, text, sizeof(text));
	if (!text[0]) {
		snprintf(m->note, m->notelen, "errand keyword alone: help sent");
		return rq_send_tpl(e, m->sender, m->lang, DB_PRIO_REPLY, "errand_help", NULL, NULL, 0);
	}
	rq_new(e, m, "errand", text, &r);
	OSMO_STRLCPY_ARRAY(r.state, "received");
	rc = rq_add_with_ref(e, &r);
	if (rc == 0)
		rc = db_request_event_add(e->db, r.id, m->sender, e->now, NULL, "received",
					  m->known ? "errand" : "errand, unverified number");
	if (rc == 0)
		rc = db_request_get(e->db, e->ctx, NULL, r.id, &r); /* address, reporter's name */
	if (rc == 0)
		rc = db_role_foreach(e->db, "runner", phones_cb, runners);
	if (rc < 0)
		return rc;
	snprintf(n, sizeof(n), "%d", runners->n);
	if (!rq_may_fan_out(e, m)) {
		const char *keys[] = {"ref"};
		const char *vals[] = {r.ref};

		rc = rq_transition(
			e, &r, "dispatched", "system",
			"to the duty staff's list; not offered to each runner (the sender is over its limit)");
		if (rc == 0)
			rc = rq_send_tpl(e, m->sender, m->lang, DB_PRIO_REPLY, "fanout_limited", keys, vals, 1);
		snprintf(m->note, m->notelen, "errand %s created, to the staff's list (fan-out limit)", r.ref);
		return rc;
	}
	if (!runners->n) {
		const char *keys[] = {"ref"};
		const char *vals[] = {r.ref};

		LOGP(DRT, LOGL_NOTICE, "errand %s: no phone with role runner, sent to the staff\n", r.ref);
		rc = rq_transition(e, &r, "dispatched", "system", "no runner: to the duty staff");
		if (rc == 0)
			rc = rq_notify_assignee(e, &r, "跑腿", "Errand");
		if (rc == 0)
			rc = rq_send_tpl(e, m->sender, m->lang, DB_PRIO_REPLY, "errand_no_runner", keys, vals, 1);
		snprintf(m->note, m->notelen, "errand %s created, no runner: to the duty staff", r.ref);
		return rc;
	}
	rc = rq_transition(e, &r, "dispatched", "system", talloc_asprintf(e->ctx, "offered to %s runners", n));
	for (int i = 0; rc == 0 && i < runners->n; i++)
		rc = send_about(e, &r, "", &runners->p[i], DB_PRIO_STAFF, "errand_offer");
	if (rc == 0) {
		const char *keys[] = {"ref", "n"};
		const char *vals[] = {r.ref, n};

		rc = rq_send_tpl(e, m->sender, m->lang, DB_PRIO_REPLY, "errand_ok", keys, vals, 2);
	}
	snprintf(m->note, m->notelen, "errand %s created, offered to %s runners", r.ref, n);
	return rc;
}

/* The errand a runner's command names: 0 with *r, or 1 when a reply already went out (malformed,
 * unknown, not an errand), -errno. */
static int runner_errand(struct rq_env *e, struct rq_msg *m, const char *what, struct db_request *r, char ref[8])
{
	const char *ukeys[] = {"usage"};
	const char *uvals[] = {en(m->lang)
				       ? talloc_asprintf(e->ctx, "%s 123456", !strcmp(what, "take") ? "JD" : "WC")
				       : talloc_asprintf(e->ctx, "%s 单号", !strcmp(what, "take") ? "接单" : "完成")};
	const char *rkeys[] = {"ref"};
	const char *rvals[] = {ref};
	int rc;

	rc = rq_parse_ref(m->args, ref, NULL);
	if (rc < 0) {
		snprintf(m->note, m->notelen, "%s: %s", what, rc == -ENOENT ? "no ref" : "malformed ref");
		rc = rq_send_err(e, m->sender, m->lang, rc == -ENOENT ? "usage" : "bad_ref", ukeys, uvals, 1);
		return rc < 0 ? rc : 1;
	}
	rc = db_request_get(e->db, e->ctx, ref, 0, r);
	if (rc == -ENOENT) {
		snprintf(m->note, m->notelen, "%s: unknown ref %s", what, ref);
		rc = rq_send_err(e, m->sender, m->lang, "unknown_ref", rkeys, rvals, 1);
		return rc < 0 ? rc : 1;
	}
	if (rc < 0)
		return rc;
	if (strcmp(r->kind, "errand")) {
		snprintf(m->note, m->notelen, "%s %s refused: not an errand", what, ref);
		rc = rq_send_err(e, m->sender, m->lang, "not_errand", rkeys, rvals, 1);
		return rc < 0 ? rc : 1;
	}
	return 0;
}

static int bad_state(struct rq_env *e, struct rq_msg *m, const struct db_request *r, const char *action_zh,
		     const char *action_en)
{
	const char *keys[] = {"ref", "state", "action"};
	const char *vals[] = {r->ref, rq_state_label(r->state, m->lang), en(m->lang) ? action_en : action_zh};

	snprintf(m->note, m->notelen, "%s %s refused: state %s", action_en, r->ref, r->state);
	return rq_send_err(e, m->sender, m->lang, "bad_state", keys, vals, ARRAY_SIZE(keys));
}

int rq_errand_take(struct rq_env *e, struct rq_msg *m)
{
	struct phones *runners = talloc_zero(e->ctx, struct phones);
	struct db_request r;
	struct db_phone owner;
	char ref[8];
	int rc;

	if (!runners)
		return -ENOMEM;
	rc = runner_errand(e, m, "take", &r, ref);
	if (rc)
		return rc < 0 ? rc : 0;
	if (r.assignee_phone_id && strcmp(r.state, "dispatched")) {
		const char *keys[] = {"ref", "runner"};
		const char *vals[] = {r.ref, en(m->lang) ? "you" : "您"};

		if (!db_request_state_open(r.state))
			return bad_state(e, m, &r, "接单", "take");
		if (r.assignee_phone_id != m->ph.id) {
			rc = db_phone_get_id(e->db, r.assignee_phone_id, &owner);
			if (rc < 0)
				return rc;
			vals[1] = who(&owner);
		}
		LOGP(DRT, LOGL_INFO, "%s tried to take errand %s, taken already by %s\n", m->sender, r.ref, vals[1]);
		snprintf(m->note, m->notelen, "take %s refused: already taken by %s", r.ref, vals[1]);
		return rq_send_err(e, m->sender, m->lang, "errand_already", keys, vals, 2);
	}
	if (strcmp(r.state, "dispatched"))
		return bad_state(e, m, &r, "接单", "take");
	/* a runner earns points for helping others: not for an errand of its own household, which it
	 * could report, take, finish and confirm alone */
	if (r.reporter_phone_id == m->ph.id || (r.household_id && r.household_id == m->ph.household_id)) {
		const char *keys[] = {"ref"};
		const char *vals[] = {r.ref};

		LOGP(DRT, LOGL_NOTICE, "%s tried to take errand %s of its own household: refused\n", m->sender, r.ref);
		snprintf(m->note, m->notelen, "take %s refused: the runner's own household", r.ref);
		return rq_send_err(e, m->sender, m->lang, "errand_own", keys, vals, 1);
	}

	r.assignee_phone_id = m->ph.id;
	rc = rq_transition(e, &r, "accepted", m->sender, talloc_asprintf(e->ctx, "taken by %s", who(&m->ph)));
	if (rc == 0)
		rc = send_about(e, &r, who(&m->ph), &m->ph, DB_PRIO_REPLY, "errand_taken");
	/* the other runners: nothing left to do */
	if (rc == 0)
		rc = db_role_foreach(e->db, "runner", phones_cb, runners);
	for (int i = 0; rc >= 0 && i < runners->n; i++)
		if (runners->p[i].id != m->ph.id)
			rc = send_about(e, &r, who(&m->ph), &runners->p[i], DB_PRIO_REPLY, "errand_taken_other");
	if (rc >= 0) {
		const char *keys[] = {"ref", "runner", "number"};
		const char *vals[] = {r.ref, who(&m->ph), m->ph.number};

		rc = rq_send_tpl(e, r.reporter, r.reporter_lang, DB_PRIO_REPLY, "errand_taken_resident", keys, vals, 3);
	}
	snprintf(m->note, m->notelen, "errand %s taken by %s", r.ref, m->sender);
	return rc < 0 ? rc : 0;
}

int rq_errand_done(struct rq_env *e, struct rq_msg *m)
{
	struct db_request r;
	struct db_phone rep;
	char ref[8];
	int rc;

	rc = runner_errand(e, m, "done", &r, ref);
	if (rc)
		return rc < 0 ? rc : 0;
	if (r.assignee_phone_id != m->ph.id) {
		const char *keys[] = {"ref"};
		const char *vals[] = {r.ref};

		LOGP(DRT, LOGL_NOTICE, "%s tried to mark errand %s done, not theirs: refused\n", m->sender, r.ref);
		snprintf(m->note, m->notelen, "done %s refused: not the runner", r.ref);
		return rq_send_err(e, m->sender, m->lang, "not_yours", keys, vals, 1);
	}
	if (strcmp(r.state, "accepted") && strcmp(r.state, "in_progress"))
		return bad_state(e, m, &r, "完成", "mark done");
	rc = rq_transition(e, &r, "closed", m->sender, "done");
	if (rc == 0) {
		const char *keys[] = {"ref"};
		const char *vals[] = {r.ref};

		rc = rq_send_tpl(e, m->sender, m->lang, DB_PRIO_REPLY, "errand_done_runner", keys, vals, 1);
	}
	if (rc == 0) {
		memset(&rep, 0, sizeof(rep));
		OSMO_STRLCPY_ARRAY(rep.number, r.reporter);
		OSMO_STRLCPY_ARRAY(rep.lang, r.reporter_lang);
		rc = send_about(e, &r, who(&m->ph), &rep, DB_PRIO_REPLY, "errand_done");
	}
	snprintf(m->note, m->notelen, "errand %s done by %s, waiting for confirmation", r.ref, m->sender);
	return rc;
}

int rq_errand_answer(struct rq_env *e, struct rq_msg *m, struct db_request *r, bool confirm)
{
	const char *keys[] = {"ref", "points", "balance"};
	const char *vals[3] = {r->ref};
	struct db_phone runner;
	int rc;

	memset(&runner, 0, sizeof(runner));
	if (r->assignee_phone_id) {
		rc = db_phone_get_id(e->db, r->assignee_phone_id, &runner);
		if (rc < 0 && rc != -ENOENT)
			return rc;
	}
	if (!confirm) {
		struct rq_staff_list l;

		OSMO_STRLCPY_ARRAY(r->rating, "有异议");
		rc = rq_transition(e, r, "reopened", m->sender, "有异议，转工作人员");
		if (rc == 0)
			rc = rq_staff_get(e, &l);
		for (int i = 0; rc == 0 && i < l.n; i++)
			rc = send_about(e, r, runner.id ? who(&runner) : "-", &l.p[i], DB_PRIO_STAFF,
					"errand_disputed_staff");
		if (rc == 0)
			rc = rq_send_tpl(e, m->sender, m->lang, DB_PRIO_REPLY, "errand_disputed", keys, vals, 1);
		snprintf(m->note, m->notelen, "errand %s disputed: to the duty staff", r->ref);
		return rc;
	}
	OSMO_STRLCPY_ARRAY(r->rating, "确认");
	rc = rq_transition(e, r, "visited", m->sender, "确认");
	if (rc == 0)
		rc = rq_send_tpl(e, m->sender, m->lang, DB_PRIO_REPLY, "errand_confirmed", keys, vals, 1);
	if (rc == 0 && runner.id && e->errand_points) {
		char pts[16], bal[24];
		int64_t balance;

		rc = db_points_add(e->db, runner.id, e->errand_points, talloc_asprintf(e->ctx, "跑腿%s", r->ref), r->id,
				   "system", e->now);
		if (rc == -EEXIST) {
			/* cannot happen through the states (visited once); the ledger says no anyway */
			LOGP(DRT, LOGL_ERROR, "errand %s: its runner was credited already\n", r->ref);
			rc = 0;
		} else if (rc == 0) {
			rc = db_points_balance(e->db, runner.id, &balance);
			snprintf(pts, sizeof(pts), "%u", e->errand_points);
			snprintf(bal, sizeof(bal), "%" PRId64, balance);
			vals[1] = pts;
			vals[2] = bal;
			if (rc >= 0)
				rc = rq_send_tpl(e, runner.number, runner.lang, DB_PRIO_REPLY, "errand_credited", keys,
						 vals, 3);
		}
	}
	snprintf(m->note, m->notelen, "errand %s confirmed, runner %s credited %u", r->ref,
		 runner.id ? runner.number : "-", runner.id ? e->errand_points : 0);
	return rc < 0 ? rc : 0;
}

/* ---- points ---- */

/* "+10跑腿123456(11/23)；+5志愿服务(11/20)" from the newest entries. */
static char *entries_text(void *ctx, const struct db_points_entry *x, int n, const char *lang)
{
	char *s = talloc_strdup(ctx, "");

	for (int i = 0; i < n; i++) {
		time_t t = (time_t)x[i].at;
		struct tm tm;

		localtime_r(&t, &tm);
		s = talloc_asprintf_append(s, "%s%+ld%s%s(%d/%d)", i ? (en(lang) ? "; " : "；") : "", x[i].delta,
					   en(lang) ? " " : "", x[i].reason, tm.tm_mon + 1, tm.tm_mday);
	}
	return s;
}

int rq_points(struct rq_env *e, struct rq_msg *m)
{
	struct db_points_entry x[3];
	int64_t balance;
	char bal[24];
	int n, rc;

	if (!m->known) {
		snprintf(m->note, m->notelen, "points: not a registered phone");
		return rq_send_tpl(e, m->sender, m->lang, DB_PRIO_REPLY, "points_none", NULL, NULL, 0);
	}
	rc = db_points_balance(e->db, m->ph.id, &balance);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		snprintf(m->note, m->notelen, "points: none");
		return rq_send_tpl(e, m->sender, m->lang, DB_PRIO_REPLY, "points_none", NULL, NULL, 0);
	}
	n = db_points_last(e->db, m->ph.id, x, ARRAY_SIZE(x));
	if (n < 0)
		return n;
	snprintf(bal, sizeof(bal), "%" PRId64, balance);
	{
		const char *keys[] = {"balance", "entries"};
		const char *vals[] = {bal, entries_text(e->ctx, x, n, m->lang)};

		snprintf(m->note, m->notelen, "points: balance %s sent", bal);
		return rq_send_tpl(e, m->sender, m->lang, DB_PRIO_REPLY, "points", keys, vals, 2);
	}
}

int rq_points_award(struct rq_env *e, const char *number, long n, const char *reason, const char *actor,
		    int64_t *balance, char *err, size_t errlen)
{
	struct db_phone ph;
	char num[32], delta[24], bal[24];
	int rc;

	err[0] = '\0';
	if (!n || n < -100000 || n > 100000) {
		snprintf(err, errlen, "points must be a whole number from -100000 to 100000, not 0");
		return -EINVAL;
	}
	if (!reason || !reason[0]) {
		snprintf(err, errlen, "give a reason: it is kept in the ledger");
		return -EINVAL;
	}
	if (db_number_norm(number, num, sizeof(num)) < 0 || (rc = db_phone_get(e->db, num, &ph)) == -ENOENT) {
		snprintf(err, errlen, "%s is not a phone in the database", number);
		return -ENOENT;
	}
	if (rc < 0)
		return rc;
	rc = db_points_add(e->db, ph.id, n, reason, 0, actor, e->now);
	if (rc == 0)
		rc = db_points_balance(e->db, ph.id, balance);
	if (rc < 0)
		return rc;
	snprintf(delta, sizeof(delta), "%+ld", n);
	snprintf(bal, sizeof(bal), "%" PRId64, *balance);
	{
		const char *keys[] = {"delta", "reason", "balance"};
		const char *vals[] = {delta, reason, bal};

		return rq_send_tpl(e, ph.number, ph.lang, DB_PRIO_REPLY, "points_award", keys, vals, 3);
	}
}

/* ---- registration ---- */

struct hh_match {
	const char *b, *u, *r;
	int64_t id;
	int n;
};

static void hh_cb(void *data, int64_t id, const char *building, const char *unit, const char *room)
{
	struct hh_match *h = data;

	if (rq_address_match(building, unit, room, h->b, h->u, h->r)) {
		h->id = id;
		h->n++;
	}
}

int rq_register(struct rq_env *e, struct rq_msg *m)
{
	char text[200], name[64], address[64], b[16], u[16], r_[16], hhaddr[96] = "";
	const char *keys[] = {"name", "address", "number"};
	const char *vals[] = {name, address, m->sender};
	struct db_registration reg;
	struct hh_match h = {.b = b, .u = u, .r = r_};
	bool name_match;
	const char *p;
	size_t nl;
	int rc;

	if (m->known) {
		if (m->ph.household_id &&
		    (rc = db_household_address(e->db, m->ph.household_id, hhaddr, sizeof(hhaddr))) < 0 && rc != -ENOENT)
			return rc;
		vals[1] = hhaddr[0] ? hhaddr : en(m->lang) ? "no household" : "无住户";
		snprintf(m->note, m->notelen, "register: known already");
		return rq_send_tpl(e, m->sender, m->lang, DB_PRIO_REPLY, "register_known", keys, vals, 2);
	}
	if (m->pending) {
		snprintf(m->note, m->notelen, "register: waiting for approval already");
		return rq_send_tpl(e, m->sender, m->lang, DB_PRIO_REPLY, "register_waiting", NULL, NULL, 0);
	}
	/* "<name> <address>": the address starts at the first digit, the name is what comes before */
	rq_orig_rest(e, m, m->args, text, sizeof(text));
	p = text + strcspn(text, "0123456789");
	nl = p - text;
	while (nl && (text[nl - 1] == ' ' || text[nl - 1] == ',' || text[nl - 1] == '-'))
		nl--;
	if (!*p || !nl || nl >= sizeof(name) || strlen(p) >= sizeof(address) || rq_address_parse(p, b, u, r_) < 0) {
		snprintf(m->note, m->notelen, "register: no name and address: help sent");
		return rq_send_err(e, m->sender, m->lang, "register_help", NULL, NULL, 0);
	}
	memcpy(name, text, nl);
	name[nl] = '\0';
	OSMO_STRLCPY_ARRAY(address, p);

	rc = db_household_by_room(e->db, r_, hh_cb, &h);
	if (rc < 0)
		return rc;
	memset(&reg, 0, sizeof(reg));
	OSMO_STRLCPY_ARRAY(reg.number, m->sender);
	OSMO_STRLCPY_ARRAY(reg.name, name);
	OSMO_STRLCPY_ARRAY(reg.address, address);
	reg.created = e->now;
	reg.household_id = h.n == 1 ? h.id : 0;
	/* Never linked at once: a neighbour knows a resident's name and address, and a linked number
	 * sees the household's requests, rates and reopens them, confirms errands and asks for watch
	 * bindings in the household's name. A name that matches a person of the one household the
	 * address names is only a hint for the staff, who approve (or reject) every registration. */
	rc = reg.household_id ? db_household_has_name(e->db, reg.household_id, name) : 0;
	if (rc < 0)
		return rc;
	name_match = rc > 0;
	OSMO_STRLCPY_ARRAY(reg.state, "pending");
	rc = db_phone_register(e->db, m->sender, name, 0, false, &reg.phone_id);
	if (rc == 0)
		rc = db_registration_add(e->db, &reg);
	if (rc < 0)
		return rc;
	if (rq_may_fan_out(e, m)) {
		struct rq_staff_list l;

		rc = rq_staff_get(e, &l);
		for (int i = 0; rc == 0 && i < l.n; i++)
			rc = rq_send_tpl(e, l.p[i].number, l.p[i].lang, DB_PRIO_STAFF,
					 name_match ? "register_staff_match" : "register_staff", keys, vals, 3);
	}
	if (rc == 0)
		rc = rq_send_tpl(e, m->sender, m->lang, DB_PRIO_REPLY, "register_pending", keys, vals, 2);
	snprintf(m->note, m->notelen, "registration pending (%s)",
		 h.n == 1 && name_match ? "household and name matched"
		 : h.n == 1		? "household matched, name not"
		 : h.n			? "several households match"
					: "no household match");
	return rc;
}

/* The pending registration of number, or -ENOENT with a reason in err. */
static int pending_reg(struct rq_env *e, const char *number, struct db_registration *reg, char *err, size_t errlen)
{
	char num[32];
	int rc;

	err[0] = '\0';
	if (db_number_norm(number, num, sizeof(num)) < 0 ||
	    (rc = db_registration_pending(e->db, num, reg)) == -ENOENT) {
		snprintf(err, errlen, "no pending registration for %s (linlictl register list)", number);
		return -ENOENT;
	}
	return rc;
}

int rq_register_approve(struct rq_env *e, const char *number, const char *household_code, const char *actor, char *err,
			size_t errlen)
{
	struct db_registration reg;
	struct db_phone ph;
	char address[96];
	int64_t hh;
	int rc;

	rc = pending_reg(e, number, &reg, err, errlen);
	if (rc < 0)
		return rc;
	hh = reg.household_id;
	if (household_code) {
		rc = db_household_find(e->db, household_code, &hh, address, sizeof(address));
		if (rc == -ENOENT)
			snprintf(err, errlen, "no household %s", household_code);
		if (rc < 0)
			return rc;
	} else if (hh) {
		rc = db_household_address(e->db, hh, address, sizeof(address));
		if (rc < 0)
			return rc;
	} else {
		snprintf(err, errlen,
			 "the address \"%s\" matches no single household: give its code "
			 "(linlictl register approve %s HOUSEHOLD)",
			 reg.address, reg.number);
		return -EINVAL;
	}
	rc = db_registration_decide(e->db, &reg, "approved", hh, actor, e->now, NULL);
	if (rc == -ENOENT)
		snprintf(err, errlen, "the registration of %s is no longer pending", reg.number);
	if (rc < 0)
		return rc;
	rc = db_phone_get(e->db, reg.number, &ph);
	if (rc < 0)
		return rc;
	{
		const char *keys[] = {"address"};
		const char *vals[] = {address};

		return rq_send_tpl(e, reg.number, ph.lang, DB_PRIO_REPLY, "register_approved", keys, vals, 1);
	}
}

int rq_register_reject(struct rq_env *e, const char *number, const char *reason, const char *actor, char *err,
		       size_t errlen)
{
	struct db_registration reg;
	int rc;

	rc = pending_reg(e, number, &reg, err, errlen);
	if (rc < 0)
		return rc;
	if (!reason || !reason[0])
		reason = "信息无法核实";
	rc = db_registration_decide(e->db, &reg, "rejected", reg.household_id, actor, e->now, reason);
	if (rc < 0)
		return rc;
	{
		const char *keys[] = {"reason"};
		const char *vals[] = {reason};

		return rq_send_tpl(e, reg.number, "zh-CN", DB_PRIO_REPLY, "register_rejected", keys, vals, 1);
	}
}

/* ---- the daily digest ---- */

int rq_digest(struct rq_env *e)
{
	struct rq_staff_list l;
	char *refs, open[16], overdue[16], date[32];
	int nopen, nover, rc;

	rc = db_request_digest(e->db, e->ctx, e->now, 3, &nopen, &nover, &refs);
	if (rc == 0)
		rc = rq_staff_get(e, &l);
	if (rc < 0)
		return rc;
	snprintf(open, sizeof(open), "%d", nopen);
	snprintf(overdue, sizeof(overdue), "%d", nover);
	for (int i = 0; i < l.n; i++) {
		const char *keys[] = {"date", "open", "overdue", "refs"};
		const char *vals[] = {date, open, overdue, refs[0] ? refs : en(l.p[i].lang) ? "none" : "无"};

		rq_date(e->now, l.p[i].lang, date, sizeof(date));
		rc = rq_send_tpl(e, l.p[i].number, l.p[i].lang, DB_PRIO_STAFF, "digest", keys, vals, 4);
		if (rc < 0)
			return rc;
	}
	LOGP(DRT, LOGL_NOTICE, "daily digest to %d staff: %d open, %d overdue\n", l.n, nopen, nover);
	return l.n;
}

/* The local time at hh:mm of the day of now, plus days. */
static time_t day_at(time_t now, unsigned min, int days)
{
	struct tm tm;

	if (!localtime_r(&now, &tm))
		return now + 60;
	tm.tm_hour = min / 60;
	tm.tm_min = min % 60;
	tm.tm_sec = 0;
	tm.tm_mday += days;
	tm.tm_isdst = -1;
	return mktime(&tm);
}

/* The day known to be done: saves a database read per wake-up. */
static char digest_done_day[48];

time_t gw_digest_due(struct gw *gw, time_t now, void *data)
{
	char day[48], last[48] = "";
	struct rq_env e;
	struct tm tm;
	void *tmp;
	int rc;

	(void)data;
	if (!rq_cfg.digest || !localtime_r(&now, &tm))
		return now + 60;
	if (tm.tm_hour * 60 + tm.tm_min < (int)rq_cfg.digest_min)
		return day_at(now, rq_cfg.digest_min, 0);
	snprintf(day, sizeof(day), "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	if (!strcmp(day, digest_done_day))
		return day_at(now, rq_cfg.digest_min, 1);
	rc = db_setting_get(gw->db, "digest-last-day", last, sizeof(last));
	if (rc < 0 && rc != -ENOENT)
		return now + 1;
	/* a day at or before the last one sent: done (a clock moved back does not send it twice) */
	if (rc == 0 && strcmp(day, last) <= 0) {
		OSMO_STRLCPY_ARRAY(digest_done_day, day);
		return day_at(now, rq_cfg.digest_min, 1);
	}
	tmp = talloc_new(gw);
	gw_request_env(gw, &e, tmp, now);
	rc = db_begin(gw->db);
	if (rc == 0) {
		rc = rq_digest(&e);
		if (rc >= 0)
			rc = db_setting_set(gw->db, "digest-last-day", day);
		if (rc < 0 || db_commit(gw->db) < 0) {
			db_rollback(gw->db);
			LOGP(DRT, LOGL_ERROR, "daily digest failed: %s\n", strerror(rc < 0 ? -rc : EIO));
		} else {
			OSMO_STRLCPY_ARRAY(digest_done_day, day);
			gw_outbox_kick(gw);
		}
	}
	talloc_free(tmp);
	return rc < 0 ? now + 1 : day_at(now, rq_cfg.digest_min, 1);
}
