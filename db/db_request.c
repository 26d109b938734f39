/* The requests part of the community database: 报事 requests, their events, the look-ups the
 * request handler needs (where a household is, who its grid worker is, holidays), and the state
 * machine of a request (request.state, CHECK-constrained by db/upgrade/007_states.sql; every
 * change goes through db_request_transition_ok). */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <talloc.h>
#include <osmocom/core/logging.h>
#include <osmocom/core/utils.h>

#include "db/db_priv.h"

#define RQ_OPEN_SQL "r.state NOT IN ('closed', 'visited', 'merged')"

/* The columns fill_request() reads, in order. */
#define RQ_COLS                                                                                                        \
	"r.id, r.ref, r.kind, coalesce(r.reporter_phone_id, 0), r.reporter, coalesce(rp.name, ''), "                   \
	"coalesce(rp.lang, 'zh-CN'), coalesce(r.household_id, 0), "                                                    \
	"coalesce(h.building || h.unit || h.room, ''), r.text, r.state, r.flags, coalesce(r.deadline, 0), "            \
	"coalesce(r.assignee_phone_id, 0), coalesce(ap.number, ''), coalesce(r.rating, ''), "                          \
	"coalesce(r.merged_into, 0), r.created, r.updated, r.source, coalesce(r.service, ''), r.lat, r.lon, "          \
	"coalesce(r.address, ''), coalesce(g.code, ''), coalesce(ap.name, ''), coalesce(r.recording, ''), "            \
	"coalesce(r.recording_s, 0) "                                                                                  \
	"FROM request r LEFT JOIN phone rp ON rp.id = r.reporter_phone_id "                                            \
	"LEFT JOIN household h ON h.id = r.household_id LEFT JOIN phone ap ON ap.id = r.assignee_phone_id "            \
	"LEFT JOIN grp gp ON gp.id = h.grp_id LEFT JOIN grid g ON g.id = gp.grid_id "

/* The conditions of struct db_request_filter (db_request_query), every one off when its
 * parameter is NULL (or 0). */
#define RQ_FILTER_SQL                                                                                                  \
	"WHERE (:state IS NULL OR r.state = :state) AND (:kind IS NULL OR r.kind = :kind) "                            \
	"AND (:grid IS NULL OR g.code = :grid) "                                                                       \
	"AND (:overdue = 0 OR (" RQ_OPEN_SQL " AND ((r.flags & 1) <> 0 OR r.deadline < :now))) "                       \
	"AND (:open = 0 OR (:open = 1) = (" RQ_OPEN_SQL ")) "                                                          \
	"AND (:q IS NULL OR r.ref = :q OR r.reporter = :q OR instr(r.text, :q) > 0 "                                   \
	"OR instr(coalesce(h.building || h.unit || h.room, r.address, ''), :q) > 0) "                                  \
	"AND (:service IS NULL OR coalesce(r.service, 'request') = :service) "                                         \
	"AND (:refs IS NULL OR instr(',' || :refs || ',', ',' || r.ref || ',') > 0) "                                  \
	"AND (:since IS NULL OR r.created >= :since) AND (:until IS NULL OR r.created <= :until) "

/* The columns fill_extension() reads, in order. */
#define EXT_COLS                                                                                                       \
	"x.id, x.request_id, r.ref, x.asker, coalesce(p.name, ''), coalesce(p.lang, 'zh-CN'), x.days, x.reason, "      \
	"x.code, x.state, x.created, x.expires FROM request_extension x JOIN request r ON r.id = x.request_id "        \
	"LEFT JOIN phone p ON p.number = x.asker "

static const struct db_stmt_def stmts[] = {
	DB_SQL(REQ_ADD, "INSERT INTO request (ref, kind, reporter_phone_id, reporter, household_id, "
			"text, state, flags, deadline, assignee_phone_id, merged_into, created, updated, "
			"source, service, lat, lon, address, recording, recording_s) "
			"VALUES (:ref, :kind, :rp, :reporter, :hh, :text, :state, :flags, :deadline, "
			":assignee, :merged, :created, :created, :source, :service, :lat, :lon, :address, "
			":recording, :recording_s)"),
	DB_SQL(REQ_BY_REF, "SELECT " RQ_COLS "WHERE r.ref = :ref"),
	DB_SQL(REQ_BY_ID, "SELECT " RQ_COLS "WHERE r.id = :id"),
	DB_SQL(REQ_STATE, "SELECT state FROM request WHERE id = :id"),
	DB_SQL(REQ_UPDATE, "UPDATE request SET state = :state, flags = :flags, deadline = :deadline, "
			   "assignee_phone_id = :assignee, rating = :rating, merged_into = :merged, "
			   "updated = :updated WHERE id = :id"),
	DB_SQL(REQ_EVENT_ADD, "INSERT INTO request_event (request_id, actor, at, from_state, to_state, note) "
			      "VALUES (:rid, :actor, :at, :from, :to, :note)"),
	/* newest first in the order of request_reporter_number (reporter, created): a walk of that index
	 * needs no sort (created and id grow together) */
	DB_SQL(REQ_FIND_DUP, "SELECT " RQ_COLS "WHERE r.reporter = :reporter AND r.text = :text "
			     "AND r.created >= :since AND " RQ_OPEN_SQL " ORDER BY r.created DESC, r.id DESC LIMIT 1"),
	DB_SQL(REQ_LATEST, "SELECT " RQ_COLS "WHERE (r.reporter = :number OR r.household_id = :hh) "
			   "AND r.state <> 'merged' AND (:state IS NULL OR r.state = :state) "
			   "ORDER BY r.id DESC LIMIT 1"),
	DB_SQL(REQ_DUE, "SELECT r.id FROM request r WHERE " RQ_OPEN_SQL " AND r.deadline IS NOT NULL "
			"AND r.deadline < :now AND ((r.flags & 1) = 0 OR ((r.flags & 4) = 0 "
			"AND r.deadline < :esc)) ORDER BY r.deadline, r.id"),
	DB_SQL(REQ_OPEN_REFS,
	       "SELECT r.ref FROM request r WHERE r.assignee_phone_id = :p AND " RQ_OPEN_SQL " ORDER BY r.id"),
	DB_SQL(REQ_PLACE, "SELECT h.building || h.unit || h.room, coalesce(w.id, 0), "
			  "coalesce(w.household_id, 0), w.number, w.name, w.role, w.lang "
			  "FROM household h JOIN grp ON grp.id = h.grp_id JOIN grid g ON g.id = grp.grid_id "
			  "LEFT JOIN phone w ON w.id = g.worker_phone_id AND w.state = 'active' "
			  "WHERE h.id = :hh"),
	DB_SQL(HOLIDAY_KIND, "SELECT kind = 'off' FROM holiday WHERE date = :date"),
	DB_SQL(REQ_LIST_OPEN, "SELECT " RQ_COLS "WHERE " RQ_OPEN_SQL " ORDER BY r.id DESC LIMIT :n"),
	DB_SQL(REQ_LIST_ALL, "SELECT " RQ_COLS "ORDER BY r.id DESC LIMIT :n"),
	DB_SQL(REQ_EVENTS, "SELECT at, actor, coalesce(from_state, '-'), to_state, coalesce(note, '') "
			   "FROM request_event WHERE request_id = :rid ORDER BY at, id"),
	DB_SQL(REQ_QUERY, "SELECT " RQ_COLS RQ_FILTER_SQL "ORDER BY r.id DESC LIMIT :limit OFFSET :offset"),
	DB_SQL(REQ_QUERY_COUNT,
	       "SELECT count(*) FROM request r LEFT JOIN household h ON h.id = r.household_id "
	       "LEFT JOIN grp gp ON gp.id = h.grp_id LEFT JOIN grid g ON g.id = gp.grid_id " RQ_FILTER_SQL),
	DB_SQL(REQ_EVENT_ROWS, "SELECT at, actor, coalesce(from_state, ''), to_state, note "
			       "FROM request_event WHERE request_id = :rid ORDER BY at, id"),
	DB_SQL(REQ_OPEN_COUNTS, "SELECT r.kind, r.state, count(*), "
				"coalesce(sum((r.flags & 1) <> 0 OR r.deadline < :now), 0) FROM request r "
				"WHERE " RQ_OPEN_SQL " GROUP BY r.kind, r.state ORDER BY r.kind, r.state"),
	/* a change of state (a remark keeps the state: a staff note, a merge, a 延期 ask) */
	DB_SQL(REQ_LAST_CHANGE, "SELECT coalesce(from_state, ''), to_state, coalesce(note, ''), actor "
				"FROM request_event WHERE request_id = :rid "
				"AND (from_state IS NULL OR from_state <> to_state) ORDER BY at DESC, id DESC LIMIT 1"),
	DB_SQL(EXT_ADD, "INSERT INTO request_extension (request_id, asker, days, reason, code, created, expires) "
			"VALUES (:rid, :asker, :days, :reason, :code, :created, :expires)"),
	DB_SQL(EXT_ASKED, "SELECT " EXT_COLS "WHERE x.request_id = :rid AND x.state = 'asked'"),
	DB_SQL(EXT_BY_CODE, "SELECT " EXT_COLS "WHERE x.code = :code AND x.state = 'asked'"),
	DB_SQL(EXT_DECIDE, "UPDATE request_extension SET state = :state, decided_at = :at, decided_by = :by, "
			   "decision = :decision WHERE id = :id AND state = 'asked'"),
	DB_SQL(EXT_DECIDE_ASKED, "UPDATE request_extension SET state = :state, decided_at = :at, decided_by = :by "
				 "WHERE request_id = :rid AND state = 'asked'"),
	DB_SQL(EXT_LAPSED, "SELECT " EXT_COLS "WHERE x.state = 'asked' AND x.expires <= :now ORDER BY x.expires, x.id"),
};
DB_STMT_TABLE(db_stmts_request, stmts);

/* ---- the request's state machine ---- */

static const char *const closed_states[] = {"closed", "visited", "merged"};

bool db_request_state_open(const char *state)
{
	for (unsigned i = 0; i < ARRAY_SIZE(closed_states); i++)
		if (!strcmp(state, closed_states[i]))
			return false;
	return true;
}

/* Every change of request.state the gateway makes (gateway/request.c, gateway/errand.c; the
 * states are DOMAIN.md's). A request is stored first as received (or merged, a duplicate); merged
 * is final. The staff (linlictl, the console) may dispatch, extend or close any open request and
 * reopen a closed one. */
static const struct {
	const char *from, *to;
} request_transitions[] = {
	/* dispatch: at once to the grid worker or duty staff; errands to the runners; 改派 by staff */
	{"received", "dispatched"},
	{"accepted", "dispatched"},
	{"in_progress", "dispatched"},
	{"returned", "dispatched"},
	{"extended", "dispatched"},
	{"reopened", "dispatched"},
	/* the assignee (grid worker or runner): 签收, 处置, 退回; also of a request the staff extended
	 * (it stays with its assignee) */
	{"dispatched", "accepted"},
	{"dispatched", "in_progress"},
	{"accepted", "in_progress"},
	{"dispatched", "returned"},
	{"accepted", "returned"},
	{"in_progress", "returned"},
	{"extended", "accepted"},
	{"extended", "in_progress"},
	{"extended", "returned"},
	/* 延期 by staff (rq_extend): a new deadline for any open request */
	{"received", "extended"},
	{"dispatched", "extended"},
	{"accepted", "extended"},
	{"in_progress", "extended"},
	{"returned", "extended"},
	{"reopened", "extended"},
	/* 办结: by the assignee (from dispatched/accepted/in_progress), or by staff from any open state */
	{"received", "closed"},
	{"dispatched", "closed"},
	{"accepted", "closed"},
	{"in_progress", "closed"},
	{"returned", "closed"},
	{"extended", "closed"},
	{"reopened", "closed"},
	/* the resident's answer: rated (满意/基本满意, errand 确认), or disputed (errand 有异议) */
	{"closed", "visited"},
	{"closed", "reopened"},
	/* rated 不满意: recorded as visited, then reopened to the duty staff; or reopened by staff
	 * (rq_reopen) from closed or visited, then dispatched again to its assignee */
	{"visited", "reopened"},
};

bool db_request_transition_ok(const char *from, const char *to)
{
	if (!strcmp(from, to))
		return true;
	for (unsigned i = 0; i < ARRAY_SIZE(request_transitions); i++)
		if (!strcmp(from, request_transitions[i].from) && !strcmp(to, request_transitions[i].to))
			return true;
	return false;
}

/* ---- requests ---- */

struct rq_row {
	void *ctx;
	struct db_request *r;
};

static void fill_request(void *ctx, struct db_row *st, struct db_request *r)
{
	memset(r, 0, sizeof(*r));
	r->id = db_col_int64(st, 0);
	db_col_copy(st, 1, r->ref, sizeof(r->ref));
	db_col_copy(st, 2, r->kind, sizeof(r->kind));
	r->reporter_phone_id = db_col_int64(st, 3);
	db_col_copy(st, 4, r->reporter, sizeof(r->reporter));
	db_col_copy(st, 5, r->reporter_name, sizeof(r->reporter_name));
	db_col_copy(st, 6, r->reporter_lang, sizeof(r->reporter_lang));
	r->household_id = db_col_int64(st, 7);
	db_col_copy(st, 8, r->address, sizeof(r->address));
	r->text = talloc_strdup(ctx, db_col_text(st, 9));
	db_col_copy(st, 10, r->state, sizeof(r->state));
	r->flags = (unsigned)db_col_int64(st, 11);
	r->deadline = db_col_int64(st, 12);
	r->assignee_phone_id = db_col_int64(st, 13);
	db_col_copy(st, 14, r->assignee, sizeof(r->assignee));
	db_col_copy(st, 15, r->rating, sizeof(r->rating));
	r->merged_into = db_col_int64(st, 16);
	r->created = db_col_int64(st, 17);
	r->updated = db_col_int64(st, 18);
	db_col_copy(st, 19, r->source, sizeof(r->source));
	db_col_copy(st, 20, r->service, sizeof(r->service));
	r->has_pos = !db_col_null(st, 21) && !db_col_null(st, 22);
	r->lat = db_col_double(st, 21);
	r->lon = db_col_double(st, 22);
	db_col_copy(st, 23, r->place, sizeof(r->place));
	db_col_copy(st, 24, r->grid, sizeof(r->grid));
	db_col_copy(st, 25, r->assignee_name, sizeof(r->assignee_name));
	db_col_copy(st, 26, r->recording, sizeof(r->recording));
	r->recording_s = (unsigned)db_col_int64(st, 27);
}

static void request_row(void *data, struct db_row *st)
{
	struct rq_row *r = data;

	fill_request(r->ctx, st, r->r);
}

int db_request_add(struct db_context *dbc, struct db_request *r)
{
	struct db_q *q = db_q(dbc, DB_STMT_REQ_ADD);
	int rc;

	/* a new request may start in any state the schema knows (the gateway uses received and
	 * merged): the machine governs changes */
	db_bind_text(q, ":ref", r->ref);
	db_bind_text(q, ":kind", r->kind[0] ? r->kind : "request");
	db_bind_id(q, ":rp", r->reporter_phone_id);
	db_bind_text(q, ":reporter", r->reporter);
	db_bind_id(q, ":hh", r->household_id);
	db_bind_text(q, ":text", r->text ? r->text : "");
	db_bind_text(q, ":state", r->state);
	db_bind_int(q, ":flags", r->flags);
	db_bind_id(q, ":deadline", r->deadline);
	db_bind_id(q, ":assignee", r->assignee_phone_id);
	db_bind_id(q, ":merged", r->merged_into);
	db_bind_int(q, ":created", r->created);
	db_bind_text(q, ":source", r->source[0] ? r->source : "sms");
	db_bind_text(q, ":service", r->service[0] ? r->service : NULL);
	if (r->has_pos) {
		db_bind_double(q, ":lat", r->lat);
		db_bind_double(q, ":lon", r->lon);
	} else {
		db_bind_null(q, ":lat");
		db_bind_null(q, ":lon");
	}
	db_bind_text(q, ":address", r->place[0] ? r->place : NULL);
	db_bind_text(q, ":recording", r->recording[0] ? r->recording : NULL);
	if (r->recording[0])
		db_bind_int(q, ":recording_s", r->recording_s);
	else
		db_bind_null(q, ":recording_s");
	rc = db_exec(q);
	if (rc == 0) {
		r->id = db_last_id(dbc);
		r->updated = r->created;
	}
	return rc;
}

int db_request_get(struct db_context *dbc, void *ctx, const char *ref, int64_t id, struct db_request *out)
{
	struct rq_row row = {ctx, out};
	struct db_q *q;

	if (ref) {
		q = db_q(dbc, DB_STMT_REQ_BY_REF);
		db_bind_text(q, ":ref", ref);
	} else {
		q = db_q(dbc, DB_STMT_REQ_BY_ID);
		db_bind_int(q, ":id", id);
	}
	return db_row(q, request_row, &row);
}

struct state_buf {
	char s[16];
};

static void state_row(void *data, struct db_row *st)
{
	struct state_buf *b = data;

	db_col_copy(st, 0, b->s, sizeof(b->s));
}

int db_request_update(struct db_context *dbc, const struct db_request *r)
{
	struct state_buf from;
	struct db_q *q = db_q(dbc, DB_STMT_REQ_STATE);
	int rc;

	db_bind_int(q, ":id", r->id);
	rc = db_row(q, state_row, &from);
	if (rc < 0)
		return rc;
	if (!db_request_transition_ok(from.s, r->state)) {
		LOGDB(LOGL_ERROR, "db: request %s: %s -> %s is no transition of a request\n", r->ref, from.s, r->state);
		return -EPERM;
	}
	q = db_q(dbc, DB_STMT_REQ_UPDATE);
	db_bind_text(q, ":state", r->state);
	db_bind_int(q, ":flags", r->flags);
	db_bind_id(q, ":deadline", r->deadline);
	db_bind_id(q, ":assignee", r->assignee_phone_id);
	db_bind_text(q, ":rating", r->rating[0] ? r->rating : NULL);
	db_bind_id(q, ":merged", r->merged_into);
	db_bind_int(q, ":updated", r->updated);
	db_bind_int(q, ":id", r->id);
	return db_exec_one(q);
}

int db_request_event_add(struct db_context *dbc, int64_t request_id, const char *actor, int64_t at,
			 const char *from_state, const char *to_state, const char *note)
{
	struct db_q *q = db_q(dbc, DB_STMT_REQ_EVENT_ADD);

	db_bind_int(q, ":rid", request_id);
	db_bind_text(q, ":actor", actor);
	db_bind_int(q, ":at", at);
	db_bind_text(q, ":from", from_state);
	db_bind_text(q, ":to", to_state);
	db_bind_text(q, ":note", note && note[0] ? note : NULL);
	return db_exec(q);
}

int db_request_find_dup(struct db_context *dbc, void *ctx, const char *reporter, const char *text, int64_t since,
			struct db_request *out)
{
	struct db_q *q = db_q(dbc, DB_STMT_REQ_FIND_DUP);
	struct rq_row row = {ctx, out};

	db_bind_text(q, ":reporter", reporter);
	db_bind_text(q, ":text", text);
	db_bind_int(q, ":since", since);
	return db_row(q, request_row, &row);
}

int db_request_latest(struct db_context *dbc, void *ctx, const char *number, int64_t household_id, const char *state,
		      struct db_request *out)
{
	struct db_q *q = db_q(dbc, DB_STMT_REQ_LATEST);
	struct rq_row row = {ctx, out};

	db_bind_text(q, ":number", number);
	db_bind_int(q, ":hh", household_id > 0 ? household_id : -1);
	db_bind_text(q, ":state", state);
	return db_row(q, request_row, &row);
}

int db_request_due(struct db_context *dbc, void *ctx, int64_t now, int64_t escalate_before, int64_t **ids)
{
	struct db_q *q = db_q(dbc, DB_STMT_REQ_DUE);

	db_bind_int(q, ":now", now);
	db_bind_int(q, ":esc", escalate_before);
	return db_collect_ids(q, ctx, ids);
}

struct refs {
	char **s;
	int n;
};

static void ref_row(void *data, struct db_row *st)
{
	struct refs *r = data;

	*r->s = talloc_asprintf_append(*r->s, "%s%s", r->n++ ? " " : "", db_col_text(st, 0));
}

int db_request_open_refs(struct db_context *dbc, void *ctx, int64_t phone_id, char **refs)
{
	struct db_q *q = db_q(dbc, DB_STMT_REQ_OPEN_REFS);
	struct refs r = {refs, 0};

	*refs = talloc_strdup(ctx, "");
	db_bind_int(q, ":p", phone_id);
	return db_rows(q, ref_row, &r);
}

static void place_row(void *data, struct db_row *st)
{
	struct db_place *out = data;

	db_col_copy(st, 0, out->address, sizeof(out->address));
	db_fill_phone(st, 1, &out->worker);
}

int db_request_place(struct db_context *dbc, int64_t household_id, struct db_place *out)
{
	struct db_q *q = db_q(dbc, DB_STMT_REQ_PLACE);

	db_bind_int(q, ":hh", household_id);
	return db_row(q, place_row, out);
}

int db_holiday_kind(struct db_context *dbc, const char *date)
{
	struct db_q *q = db_q(dbc, DB_STMT_HOLIDAY_KIND);
	int64_t off;
	int rc;

	db_bind_text(q, ":date", date);
	rc = db_int64(q, &off);
	if (rc == -ENOENT)
		return 0;
	return rc < 0 ? rc : off ? 1 : 2;
}

void db_fmt_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!t || !localtime_r(&tt, &tm)) {
		snprintf(buf, len, "-");
		return;
	}
	strftime(buf, len, "%Y-%m-%d %H:%M", &tm);
}

static char *flags_str(void *ctx, unsigned flags)
{
	static const char *const names[] = {"overdue", "reminded", "escalated", "urgent", "unverified"};
	char *s = talloc_strdup(ctx, "");

	for (unsigned i = 0; i < ARRAY_SIZE(names); i++)
		if (flags & (1u << i))
			s = talloc_asprintf_append(s, "%s%s", s[0] ? "," : "", names[i]);
	return s;
}

static char *fmt_request(void *ctx, struct db_row *st)
{
	struct db_request r;
	char dl[32];

	fill_request(ctx, st, &r);
	db_fmt_time(r.deadline, dl, sizeof(dl));
	return talloc_asprintf(ctx, "%s %-11s %-16s due %.10s %s %s -> %s [%s] %s", r.ref, r.state,
			       r.address[0] ? r.address : "-", dl, r.reporter,
			       r.reporter_name[0] ? r.reporter_name : "-", r.assignee[0] ? r.assignee : "staff",
			       flags_str(ctx, r.flags), r.text);
}

int db_request_list(struct db_context *dbc, bool open_only, int limit, void (*cb)(void *data, const char *line),
		    void *data)
{
	struct db_q *q = db_q(dbc, open_only ? DB_STMT_REQ_LIST_OPEN : DB_STMT_REQ_LIST_ALL);

	db_bind_int(q, ":n", limit > 0 ? limit : 50);
	return db_lines(q, fmt_request, cb, data);
}

static char *fmt_event(void *ctx, struct db_row *st)
{
	char t[32];

	db_fmt_time(db_col_int64(st, 0), t, sizeof(t));
	return talloc_asprintf(ctx, "  %s %s %s -> %s%s%s", t, db_col_text(st, 1), db_col_text(st, 2),
			       db_col_text(st, 3), db_col_text(st, 4)[0] ? ": " : "", db_col_text(st, 4));
}

int db_request_show(struct db_context *dbc, const char *ref, void (*cb)(void *data, const char *line), void *data)
{
	void *tmp = talloc_new(dbc);
	struct db_request r;
	struct db_q *q;
	char t1[32], t2[32];
	char **lines;
	unsigned n = 0;
	int rc;

	rc = db_request_get(dbc, tmp, ref, 0, &r);
	if (rc < 0)
		goto out;
	db_fmt_time(r.created, t1, sizeof(t1));
	db_fmt_time(r.deadline, t2, sizeof(t2));
	lines = talloc_array(tmp, char *, 4);
	lines[n++] = talloc_asprintf(lines, "request %s: %s%s%s [%s]", r.ref, r.state, r.rating[0] ? " " : "", r.rating,
				     flags_str(lines, r.flags));
	lines[n++] =
		talloc_asprintf(lines, "  reporter %s %s, %s", r.reporter, r.reporter_name[0] ? r.reporter_name : "-",
				r.address[0] ? r.address : "no household");
	lines[n++] = talloc_asprintf(
		lines, "  created %s, deadline %s, assignee %s%s", t1, t2, r.assignee[0] ? r.assignee : "staff",
		r.merged_into ? talloc_asprintf(lines, ", merged into #%" PRId64, r.merged_into) : "");
	lines[n++] = talloc_asprintf(lines, "  text: %s", r.text);
	q = db_q(dbc, DB_STMT_REQ_EVENTS);
	db_bind_int(q, ":rid", r.id);
	rc = db_lines_add(q, fmt_event, tmp, &lines, &n);
	if (rc < 0)
		goto out;
	for (unsigned i = 0; i < n; i++)
		cb(data, lines[i]);
	rc = 0;
out:
	talloc_free(tmp);
	return rc;
}

/* ---- for the staff console and Open311 ---- */

static void filter_bind(struct db_q *q, const struct db_request_filter *f)
{
	db_bind_text(q, ":state", f->state);
	db_bind_text(q, ":kind", f->kind);
	db_bind_text(q, ":grid", f->grid);
	db_bind_int(q, ":overdue", f->overdue);
	db_bind_int(q, ":now", f->now);
	db_bind_int(q, ":open", f->open);
	db_bind_text(q, ":q", f->q && f->q[0] ? f->q : NULL);
	db_bind_text(q, ":service", f->service);
	db_bind_text(q, ":refs", f->refs);
	db_bind_id(q, ":since", f->since);
	db_bind_id(q, ":until", f->until);
}

static void request_fill(void *elem, void *ctx, struct db_row *st)
{
	fill_request(ctx, st, elem);
}

int db_request_query(struct db_context *dbc, void *ctx, const struct db_request_filter *f, struct db_request **out,
		     int *total)
{
	struct db_q *q;
	int64_t n;
	int rc;

	if (total) {
		q = db_q(dbc, DB_STMT_REQ_QUERY_COUNT);
		filter_bind(q, f);
		rc = db_int64(q, &n);
		if (rc < 0)
			return rc;
		*total = (int)n;
	}
	q = db_q(dbc, DB_STMT_REQ_QUERY);
	filter_bind(q, f);
	db_bind_int(q, ":limit", f->limit > 0 ? f->limit : 50);
	db_bind_int(q, ":offset", f->offset > 0 ? f->offset : 0);
	return db_collect(q, ctx, sizeof(**out), request_fill, (void **)out);
}

static void event_fill(void *elem, void *ctx, struct db_row *st)
{
	struct db_request_event *ev = elem;

	ev->at = db_col_int64(st, 0);
	db_col_copy(st, 1, ev->actor, sizeof(ev->actor));
	db_col_copy(st, 2, ev->from, sizeof(ev->from));
	db_col_copy(st, 3, ev->to, sizeof(ev->to));
	ev->note = db_col_dup(ctx, st, 4);
}

static void last_change_fill(void *elem, void *ctx, struct db_row *st)
{
	struct db_request_event *ev = elem;

	memset(ev, 0, sizeof(*ev));
	db_col_copy(st, 0, ev->from, sizeof(ev->from));
	db_col_copy(st, 1, ev->to, sizeof(ev->to));
	ev->note = db_col_dup(ctx, st, 2);
	db_col_copy(st, 3, ev->actor, sizeof(ev->actor));
}

int db_request_events(struct db_context *dbc, void *ctx, int64_t request_id, struct db_request_event **out)
{
	struct db_q *q = db_q(dbc, DB_STMT_REQ_EVENT_ROWS);

	db_bind_int(q, ":rid", request_id);
	return db_collect(q, ctx, sizeof(**out), event_fill, (void **)out);
}

struct count_cb {
	void (*cb)(void *data, const char *kind, const char *state, int64_t n, int64_t overdue);
	void *data;
};

static void count_row(void *data, struct db_row *st)
{
	struct count_cb *c = data;

	c->cb(c->data, db_col_text(st, 0), db_col_text(st, 1), db_col_int64(st, 2), db_col_int64(st, 3));
}

int db_request_open_counts(struct db_context *dbc, int64_t now,
			   void (*cb)(void *data, const char *kind, const char *state, int64_t n, int64_t overdue),
			   void *data)
{
	struct db_q *q = db_q(dbc, DB_STMT_REQ_OPEN_COUNTS);
	struct count_cb c = {cb, data};

	db_bind_int(q, ":now", now);
	return db_rows(q, count_row, &c);
}

int db_request_last_change(struct db_context *dbc, void *ctx, int64_t request_id, struct db_request_event *out)
{
	struct db_q *q = db_q(dbc, DB_STMT_REQ_LAST_CHANGE);
	struct db_request_event *ev;
	int n;

	db_bind_int(q, ":rid", request_id);
	n = db_collect(q, ctx, sizeof(*ev), last_change_fill, (void **)&ev);
	if (n < 0)
		return n;
	if (!n)
		return -ENOENT;
	*out = ev[0];
	return 0;
}

/* ---- 延期 asked by SMS (upgrade step extension) ---- */

static void fill_extension(void *elem, void *ctx, struct db_row *st)
{
	struct db_extension *x = elem;

	memset(x, 0, sizeof(*x));
	x->id = db_col_int64(st, 0);
	x->request_id = db_col_int64(st, 1);
	db_col_copy(st, 2, x->ref, sizeof(x->ref));
	db_col_copy(st, 3, x->asker, sizeof(x->asker));
	db_col_copy(st, 4, x->asker_name, sizeof(x->asker_name));
	db_col_copy(st, 5, x->asker_lang, sizeof(x->asker_lang));
	x->days = (unsigned)db_col_int64(st, 6);
	x->reason = db_col_dup(ctx, st, 7);
	db_col_copy(st, 8, x->code, sizeof(x->code));
	db_col_copy(st, 9, x->state, sizeof(x->state));
	x->created = db_col_int64(st, 10);
	x->expires = db_col_int64(st, 11);
}

/* The one row of q into *out: 0, -ENOENT, -errno. */
static int ext_one(struct db_q *q, void *ctx, struct db_extension *out)
{
	struct db_extension *x;
	int n = db_collect(q, ctx, sizeof(*x), fill_extension, (void **)&x);

	if (n < 0)
		return n;
	if (!n)
		return -ENOENT;
	*out = x[0];
	return 0;
}

int db_extension_add(struct db_context *dbc, struct db_extension *x)
{
	struct db_q *q = db_q(dbc, DB_STMT_EXT_ADD);
	int rc;

	db_bind_int(q, ":rid", x->request_id);
	db_bind_text(q, ":asker", x->asker);
	db_bind_int(q, ":days", x->days);
	db_bind_text(q, ":reason", x->reason);
	db_bind_text(q, ":code", x->code);
	db_bind_int(q, ":created", x->created);
	db_bind_int(q, ":expires", x->expires);
	rc = db_exec(q);
	if (rc == 0)
		x->id = db_last_id(dbc);
	return rc;
}

int db_extension_asked(struct db_context *dbc, void *ctx, int64_t request_id, struct db_extension *out)
{
	struct db_q *q = db_q(dbc, DB_STMT_EXT_ASKED);

	db_bind_int(q, ":rid", request_id);
	return ext_one(q, ctx, out);
}

int db_extension_by_code(struct db_context *dbc, void *ctx, const char *code, struct db_extension *out)
{
	struct db_q *q = db_q(dbc, DB_STMT_EXT_BY_CODE);

	db_bind_text(q, ":code", code);
	return ext_one(q, ctx, out);
}

int db_extension_decide(struct db_context *dbc, int64_t id, const char *state, const char *by, const char *decision,
			int64_t at)
{
	struct db_q *q = db_q(dbc, DB_STMT_EXT_DECIDE);

	db_bind_text(q, ":state", state);
	db_bind_int(q, ":at", at);
	db_bind_text(q, ":by", by);
	db_bind_text(q, ":decision", decision && decision[0] ? decision : NULL);
	db_bind_int(q, ":id", id);
	return db_exec_one(q);
}

int db_extension_decide_asked(struct db_context *dbc, int64_t request_id, const char *state, const char *by, int64_t at)
{
	struct db_q *q = db_q(dbc, DB_STMT_EXT_DECIDE_ASKED);
	int rc;

	db_bind_text(q, ":state", state);
	db_bind_int(q, ":at", at);
	db_bind_text(q, ":by", by);
	db_bind_int(q, ":rid", request_id);
	rc = db_exec(q);
	return rc < 0 ? rc : db_changes(dbc);
}

int db_extension_lapsed(struct db_context *dbc, void *ctx, int64_t now, struct db_extension **out)
{
	struct db_q *q = db_q(dbc, DB_STMT_EXT_LAPSED);

	db_bind_int(q, ":now", now);
	return db_collect(q, ctx, sizeof(**out), fill_extension, (void **)out);
}
