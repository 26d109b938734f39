/* Errands, the points ledger, registrations, the holiday table and the digest counts (see db.h,
 * "errands, points, registration, holidays, digest"; schema step 004_errands.sql). */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <talloc.h>
#include <osmocom/core/utils.h>

#include "db/db_priv.h"

#define RQ_OPEN_SQL "state NOT IN ('closed', 'visited', 'merged')"

static const struct db_stmt_def stmts[] = {
	DB_SQL(POINTS_ADD, "INSERT INTO points (phone_id, delta, reason, request_id, actor, at) "
			   "VALUES (:phone, :delta, :reason, :rid, :actor, :at)"),
	DB_SQL(POINTS_BALANCE, "SELECT coalesce(sum(delta), 0), count(*) FROM points WHERE phone_id = :phone"),
	DB_SQL(POINTS_LAST, "SELECT delta, reason, at FROM points WHERE phone_id = :phone "
			    "ORDER BY at DESC, id DESC LIMIT :n"),
	DB_SQL(POINTS_LIST_ALL, "SELECT p.number, p.name, p.role, sum(x.delta), count(*) FROM points x "
				"JOIN phone p ON p.id = x.phone_id GROUP BY p.id ORDER BY sum(x.delta) DESC, p.number"),
	DB_SQL(POINTS_LIST_ONE, "SELECT p.number, p.name, p.role, coalesce(sum(x.delta), 0), count(x.id) FROM phone p "
				"LEFT JOIN points x ON x.phone_id = p.id WHERE p.number = :number GROUP BY p.id"),
	DB_SQL(POINTS_ENTRIES, "SELECT x.at, x.delta, x.reason, x.actor, coalesce(r.ref, '') FROM points x "
			       "JOIN phone p ON p.id = x.phone_id LEFT JOIN request r ON r.id = x.request_id "
			       "WHERE p.number = :number ORDER BY x.at DESC, x.id DESC"),
	DB_SQL(PHONE_REGISTER, "INSERT INTO phone (number, name, role, household_id, state) "
			       "VALUES (:number, :name, 'resident', :hh, :state)"),
	DB_SQL(REG_ADD,
	       "INSERT INTO registration (phone_id, number, name, address, household_id, state, created, "
	       "decided_at, decided_by) VALUES (:phone, :number, :name, :address, :hh, :state, :created, "
	       "CASE WHEN :state = 'linked' THEN :created END, CASE WHEN :state = 'linked' THEN 'system' END)"),
	DB_SQL(REG_PENDING, "SELECT id, coalesce(phone_id, 0), number, name, address, coalesce(household_id, 0), "
			    "state, created FROM registration WHERE number = :number AND state = 'pending' "
			    "ORDER BY id DESC LIMIT 1"),
	DB_SQL(REG_DECIDE, "UPDATE registration SET state = :state, household_id = :hh, decided_at = :at, "
			   "decided_by = :by, note = :note WHERE id = :id AND state = 'pending'"),
	DB_SQL(REG_PHONE_APPROVE, "UPDATE phone SET state = 'active', household_id = :hh "
				  "WHERE id = :id AND state = 'pending'"),
	DB_SQL(REG_PHONE_DELETE, "DELETE FROM phone WHERE id = :id AND state = 'pending'"),
	DB_SQL(REG_LIST, "SELECT r.created, r.number, r.state, r.name, r.address, "
			 "coalesce(h.code || ' ' || h.building || h.unit || h.room, ''), coalesce(r.decided_by, '') "
			 "FROM registration r LEFT JOIN household h ON h.id = r.household_id "
			 "WHERE :all OR r.state = 'pending' ORDER BY r.id DESC"),
	DB_SQL(HOLIDAY_SET, "INSERT OR REPLACE INTO holiday (date, kind, name) VALUES (:date, :kind, :name)"),
	DB_SQL(HOLIDAY_REMOVE, "DELETE FROM holiday WHERE date = :date"),
	DB_SQL(HOLIDAY_LIST, "SELECT date, kind, name FROM holiday WHERE date >= :from ORDER BY date"),
	DB_SQL(DIGEST_COUNTS, "SELECT count(*), coalesce(sum((flags & 1) <> 0 OR "
			      "(deadline IS NOT NULL AND deadline < :now)), 0) FROM request "
			      "WHERE kind = 'request' AND " RQ_OPEN_SQL),
	DB_SQL(DIGEST_REFS,
	       "SELECT ref FROM request WHERE kind = 'request' AND " RQ_OPEN_SQL " ORDER BY created, id LIMIT :n"),
	DB_SQL(POINTS_ENTRY_ROWS, "SELECT x.delta, x.reason, x.at, x.actor, coalesce(r.ref, '') FROM points x "
				  "LEFT JOIN request r ON r.id = x.request_id WHERE x.phone_id = :phone "
				  "ORDER BY x.at DESC, x.id DESC LIMIT :n"),
	DB_SQL(REG_QUERY, "SELECT r.id, coalesce(r.phone_id, 0), r.number, r.name, r.address, "
			  "coalesce(r.household_id, 0), r.state, r.created, coalesce(h.code, ''), "
			  "coalesce(h.building || h.unit || h.room, '') "
			  "FROM registration r LEFT JOIN household h ON h.id = r.household_id "
			  "WHERE :state IS NULL OR r.state = :state ORDER BY r.id DESC LIMIT 500"),
};
DB_STMT_TABLE(db_stmts_errand, stmts);

/* ---- points ---- */

int db_points_add(struct db_context *dbc, int64_t phone_id, long delta, const char *reason, int64_t request_id,
		  const char *actor, int64_t at)
{
	struct db_q *q = db_q(dbc, DB_STMT_POINTS_ADD);

	db_bind_int(q, ":phone", phone_id);
	db_bind_int(q, ":delta", delta);
	db_bind_text(q, ":reason", reason);
	db_bind_id(q, ":rid", request_id);
	db_bind_text(q, ":actor", actor);
	db_bind_int(q, ":at", at);
	return db_exec(q);
}

struct balance {
	int64_t sum;
	int n;
};

static void balance_sum_row(void *data, struct db_row *st)
{
	struct balance *b = data;

	b->sum = db_col_int64(st, 0);
	b->n = db_col_int(st, 1);
}

int db_points_balance(struct db_context *dbc, int64_t phone_id, int64_t *balance)
{
	struct db_q *q = db_q(dbc, DB_STMT_POINTS_BALANCE);
	struct balance b = {0, 0};
	int rc;

	db_bind_int(q, ":phone", phone_id);
	rc = db_row(q, balance_sum_row, &b);
	*balance = b.sum;
	return rc < 0 ? rc : b.n;
}

struct entries {
	struct db_points_entry *out;
	int n, max;
};

static void entry_fill_row(void *data, struct db_row *st)
{
	struct entries *e = data;
	struct db_points_entry *x;

	if (e->n >= e->max)
		return;
	x = &e->out[e->n++];
	memset(x, 0, sizeof(*x));
	x->delta = (long)db_col_int64(st, 0);
	db_col_copy(st, 1, x->reason, sizeof(x->reason));
	x->at = db_col_int64(st, 2);
}

int db_points_last(struct db_context *dbc, int64_t phone_id, struct db_points_entry *out, int n)
{
	struct db_q *q = db_q(dbc, DB_STMT_POINTS_LAST);
	struct entries e = {out, 0, n};
	int rc;

	db_bind_int(q, ":phone", phone_id);
	db_bind_int(q, ":n", n);
	rc = db_rows(q, entry_fill_row, &e);
	return rc < 0 ? rc : e.n;
}

static void entry_fill(void *elem, void *ctx, struct db_row *st)
{
	struct db_points_entry *x = elem;

	(void)ctx;
	x->delta = (long)db_col_int64(st, 0);
	db_col_copy(st, 1, x->reason, sizeof(x->reason));
	x->at = db_col_int64(st, 2);
	db_col_copy(st, 3, x->actor, sizeof(x->actor));
	db_col_copy(st, 4, x->ref, sizeof(x->ref));
}

int db_points_entries(struct db_context *dbc, void *ctx, int64_t phone_id, int n, struct db_points_entry **out)
{
	struct db_q *q = db_q(dbc, DB_STMT_POINTS_ENTRY_ROWS);

	db_bind_int(q, ":phone", phone_id);
	db_bind_int(q, ":n", n);
	return db_collect(q, ctx, sizeof(**out), entry_fill, (void **)out);
}

static char *fmt_balance(void *ctx, struct db_row *st)
{
	return talloc_asprintf(ctx, "%-16s %-12s %-11s %6" PRId64 " (%d entries)", db_col_text(st, 0),
			       db_col_text(st, 1)[0] ? db_col_text(st, 1) : "-", db_col_text(st, 2),
			       (int64_t)db_col_int64(st, 3), db_col_int(st, 4));
}

static char *fmt_entry(void *ctx, struct db_row *st)
{
	char t[32];

	db_fmt_time(db_col_int64(st, 0), t, sizeof(t));
	return talloc_asprintf(ctx, "  %s %+6" PRId64 " %s (%s%s%s)", t, (int64_t)db_col_int64(st, 1),
			       db_col_text(st, 2), db_col_text(st, 3), db_col_text(st, 4)[0] ? ", ref " : "",
			       db_col_text(st, 4));
}

int db_points_list(struct db_context *dbc, const char *number, void (*cb)(void *data, const char *line), void *data)
{
	void *tmp;
	char **lines = NULL;
	unsigned n = 0;
	struct db_q *q;
	int rc;

	if (!number)
		return db_lines(db_q(dbc, DB_STMT_POINTS_LIST_ALL), fmt_balance, cb, data);
	tmp = talloc_new(dbc);
	q = db_q(dbc, DB_STMT_POINTS_LIST_ONE);
	db_bind_text(q, ":number", number);
	rc = db_lines_add(q, fmt_balance, tmp, &lines, &n);
	if (rc == 0)
		rc = -ENOENT;
	if (rc < 0)
		goto out;
	q = db_q(dbc, DB_STMT_POINTS_ENTRIES);
	db_bind_text(q, ":number", number);
	rc = db_lines_add(q, fmt_entry, tmp, &lines, &n);
	if (rc < 0)
		goto out;
	for (unsigned i = 0; i < n; i++)
		cb(data, lines[i]);
	rc = (int)n;
out:
	talloc_free(tmp);
	return rc;
}

/* ---- registration ---- */

int db_phone_register(struct db_context *dbc, const char *number, const char *name, int64_t household_id, bool active,
		      int64_t *phone_id)
{
	struct db_q *q = db_q(dbc, DB_STMT_PHONE_REGISTER);
	int rc;

	db_bind_text(q, ":number", number);
	db_bind_text(q, ":name", name);
	db_bind_id(q, ":hh", household_id);
	db_bind_text(q, ":state", active ? "active" : "pending");
	rc = db_exec(q);
	if (rc == 0)
		*phone_id = db_last_id(dbc);
	return rc;
}

int db_registration_add(struct db_context *dbc, struct db_registration *r)
{
	struct db_q *q = db_q(dbc, DB_STMT_REG_ADD);
	int rc;

	db_bind_int(q, ":phone", r->phone_id);
	db_bind_text(q, ":number", r->number);
	db_bind_text(q, ":name", r->name);
	db_bind_text(q, ":address", r->address);
	db_bind_id(q, ":hh", r->household_id);
	db_bind_text(q, ":state", r->state);
	db_bind_int(q, ":created", r->created);
	rc = db_exec(q);
	if (rc == 0)
		r->id = db_last_id(dbc);
	return rc;
}

static void registration_row(void *data, struct db_row *st)
{
	struct db_registration *out = data;

	memset(out, 0, sizeof(*out));
	out->id = db_col_int64(st, 0);
	out->phone_id = db_col_int64(st, 1);
	db_col_copy(st, 2, out->number, sizeof(out->number));
	db_col_copy(st, 3, out->name, sizeof(out->name));
	db_col_copy(st, 4, out->address, sizeof(out->address));
	out->household_id = db_col_int64(st, 5);
	db_col_copy(st, 6, out->state, sizeof(out->state));
	out->created = db_col_int64(st, 7);
}

int db_registration_pending(struct db_context *dbc, const char *number, struct db_registration *out)
{
	struct db_q *q = db_q(dbc, DB_STMT_REG_PENDING);

	db_bind_text(q, ":number", number);
	return db_row(q, registration_row, out);
}

int db_registration_decide(struct db_context *dbc, const struct db_registration *r, const char *state,
			   int64_t household_id, const char *by, int64_t at, const char *note)
{
	bool approve = !strcmp(state, "approved");
	struct db_q *q = db_q(dbc, DB_STMT_REG_DECIDE);
	int rc;

	db_bind_text(q, ":state", state);
	db_bind_id(q, ":hh", household_id);
	db_bind_int(q, ":at", at);
	db_bind_text(q, ":by", by);
	db_bind_text(q, ":note", note && note[0] ? note : NULL);
	db_bind_int(q, ":id", r->id);
	rc = db_exec_one(q);
	if (rc < 0 || !r->phone_id)
		return rc;
	if (approve) {
		q = db_q(dbc, DB_STMT_REG_PHONE_APPROVE);
		db_bind_int(q, ":hh", household_id);
	} else {
		q = db_q(dbc, DB_STMT_REG_PHONE_DELETE);
	}
	db_bind_int(q, ":id", r->phone_id);
	return db_exec_one(q);
}

static char *fmt_registration(void *ctx, struct db_row *st)
{
	char t[32];

	db_fmt_time(db_col_int64(st, 0), t, sizeof(t));
	return talloc_asprintf(ctx, "%s %-16s %-8s %-12s %-16s -> %s%s%s", t, db_col_text(st, 1), db_col_text(st, 2),
			       db_col_text(st, 3), db_col_text(st, 4),
			       db_col_text(st, 5)[0] ? db_col_text(st, 5) : "no household match",
			       db_col_text(st, 6)[0] ? " by " : "", db_col_text(st, 6));
}

int db_registration_list(struct db_context *dbc, bool all, void (*cb)(void *data, const char *line), void *data)
{
	struct db_q *q = db_q(dbc, DB_STMT_REG_LIST);

	db_bind_int(q, ":all", all);
	return db_lines(q, fmt_registration, cb, data);
}

static void registration_fill(void *elem, void *ctx, struct db_row *st)
{
	struct db_registration *r = elem;

	(void)ctx;
	registration_row(r, st);
	db_col_copy(st, 8, r->household, sizeof(r->household));
	db_col_copy(st, 9, r->household_address, sizeof(r->household_address));
}

int db_registration_query(struct db_context *dbc, void *ctx, const char *state, struct db_registration **out)
{
	struct db_q *q = db_q(dbc, DB_STMT_REG_QUERY);

	db_bind_text(q, ":state", state);
	return db_collect(q, ctx, sizeof(**out), registration_fill, (void **)out);
}

/* ---- holidays ---- */

int db_holiday_set(struct db_context *dbc, const char *date, const char *kind, const char *name, bool *replaced)
{
	int rc = db_holiday_kind(dbc, date);
	struct db_q *q;

	if (rc < 0)
		return rc;
	*replaced = rc > 0;
	q = db_q(dbc, DB_STMT_HOLIDAY_SET);
	db_bind_text(q, ":date", date);
	db_bind_text(q, ":kind", kind);
	db_bind_text(q, ":name", name ? name : "");
	return db_exec(q);
}

int db_holiday_remove(struct db_context *dbc, const char *date)
{
	struct db_q *q = db_q(dbc, DB_STMT_HOLIDAY_REMOVE);

	db_bind_text(q, ":date", date);
	return db_exec_one(q);
}

static char *fmt_holiday(void *ctx, struct db_row *st)
{
	static const char *const dow[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	struct tm tm = {0};
	int y, m, d;

	/* the weekday helps to check a 调休 entry: a workday is normally a Saturday or Sunday */
	if (sscanf(db_col_text(st, 0), "%d-%d-%d", &y, &m, &d) == 3) {
		tm.tm_year = y - 1900;
		tm.tm_mon = m - 1;
		tm.tm_mday = d;
		tm.tm_hour = 12;
		tm.tm_isdst = -1;
		mktime(&tm);
	}
	return talloc_asprintf(ctx, "%s %s %-7s %s", db_col_text(st, 0), dow[tm.tm_wday % 7], db_col_text(st, 1),
			       db_col_text(st, 2));
}

int db_holiday_list(struct db_context *dbc, const char *from, void (*cb)(void *data, const char *line), void *data)
{
	struct db_q *q = db_q(dbc, DB_STMT_HOLIDAY_LIST);

	db_bind_text(q, ":from", from ? from : "");
	return db_lines(q, fmt_holiday, cb, data);
}

/* ---- the digest ---- */

struct digest {
	int *open, *overdue;
};

static void digest_row(void *data, struct db_row *st)
{
	struct digest *d = data;

	*d->open = db_col_int(st, 0);
	*d->overdue = db_col_int(st, 1);
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

int db_request_digest(struct db_context *dbc, void *ctx, int64_t now, int n, int *open, int *overdue, char **refs)
{
	struct digest d = {open, overdue};
	struct refs r = {refs, 0};
	struct db_q *q;
	int rc;

	*open = *overdue = 0;
	*refs = talloc_strdup(ctx, "");
	q = db_q(dbc, DB_STMT_DIGEST_COUNTS);
	db_bind_int(q, ":now", now);
	rc = db_row(q, digest_row, &d);
	if (rc < 0)
		return rc;
	q = db_q(dbc, DB_STMT_DIGEST_REFS);
	db_bind_int(q, ":n", n);
	rc = db_rows(q, ref_row, &r);
	return rc < 0 ? rc : 0;
}
