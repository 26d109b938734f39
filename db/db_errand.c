/* Errands, the points ledger, registrations, the holiday table and the digest counts (see db.h,
 * "errands, points, registration, holidays, digest"; schema step 004_errands.sql).
 *
 * Statements are prepared on first use and kept (db_stmt_cached), bound by name. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <talloc.h>
#include <osmocom/core/logging.h>
#include <osmocom/core/utils.h>

#include "db/db_priv.h"

#define PHONE_COLS "id, coalesce(household_id, 0), number, name, role, lang"

/* Step a SELECT to its end: 0 after the last row, -errno. */
static int step_rows(struct db_context *dbc, sqlite3_stmt *st, void (*row)(void *data, sqlite3_stmt *st), void *data,
		     int *n)
{
	int rc;

	*n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row(data, st);
		(*n)++;
	}
	return rc == SQLITE_DONE ? 0 : db_map_rc(dbc, rc, sqlite3_sql(st));
}

struct phone_rows {
	struct db_phone *p;
	int n, max;
};

static void phone_row(void *data, sqlite3_stmt *st)
{
	struct phone_rows *r = data;

	if (r->n < r->max)
		db_fill_phone(st, 0, &r->p[r->n++]);
}

int db_role_foreach(struct db_context *dbc, const char *role, void (*cb)(void *data, const struct db_phone *p),
		    void *data)
{
	sqlite3_stmt *st = db_stmt_cached(dbc, "SELECT " PHONE_COLS " FROM phone WHERE role = $role "
					       "AND state = 'active' ORDER BY id");
	struct phone_rows rows = {.max = 256};
	int n, rc;

	if (!st)
		return -EIO;
	rows.p = talloc_array(NULL, struct db_phone, rows.max);
	if (!rows.p) {
		db_stmt_release(dbc, st);
		return -ENOMEM;
	}
	db_bind_text(st, "$role", role);
	/* collected first, so that cb may use the database */
	rc = step_rows(dbc, st, phone_row, &rows, &n);
	db_stmt_release(dbc, st);
	for (int i = 0; rc == 0 && i < rows.n; i++)
		cb(data, &rows.p[i]);
	talloc_free(rows.p);
	return rc < 0 ? rc : rows.n;
}

int db_phone_pending(struct db_context *dbc, int64_t phone_id)
{
	sqlite3_stmt *st = db_stmt_cached(dbc, "SELECT state = 'pending' FROM phone WHERE id = $id");
	int rc;

	if (!st)
		return -EIO;
	db_bind_int64(st, "$id", phone_id);
	rc = db_cached_row(dbc, st);
	if (rc == 0)
		rc = sqlite3_column_int(st, 0) ? 1 : 0;
	db_stmt_release(dbc, st);
	return rc;
}

/* ---- points ---- */

int db_points_add(struct db_context *dbc, int64_t phone_id, long delta, const char *reason, int64_t request_id,
		  const char *actor, int64_t at)
{
	sqlite3_stmt *st = db_stmt_cached(dbc, "INSERT INTO points (phone_id, delta, reason, request_id, actor, at) "
					       "VALUES ($phone, $delta, $reason, $rid, $actor, $at)");

	if (!st)
		return -EIO;
	db_bind_int64(st, "$phone", phone_id);
	db_bind_int64(st, "$delta", delta);
	db_bind_text(st, "$reason", reason);
	if (request_id)
		db_bind_int64(st, "$rid", request_id);
	else
		db_bind_text(st, "$rid", NULL);
	db_bind_text(st, "$actor", actor);
	db_bind_int64(st, "$at", at);
	return db_cached_exec(dbc, st, false);
}

int db_points_balance(struct db_context *dbc, int64_t phone_id, int64_t *balance)
{
	sqlite3_stmt *st = db_stmt_cached(dbc, "SELECT coalesce(sum(delta), 0), count(*) FROM points "
					       "WHERE phone_id = $phone");
	int rc;

	*balance = 0;
	if (!st)
		return -EIO;
	db_bind_int64(st, "$phone", phone_id);
	rc = db_cached_row(dbc, st);
	if (rc == 0) {
		*balance = sqlite3_column_int64(st, 0);
		rc = sqlite3_column_int(st, 1);
	}
	db_stmt_release(dbc, st);
	return rc;
}

int db_points_last(struct db_context *dbc, int64_t phone_id, struct db_points_entry *out, int n)
{
	sqlite3_stmt *st = db_stmt_cached(dbc, "SELECT delta, reason, at FROM points WHERE phone_id = $phone "
					       "ORDER BY at DESC, id DESC LIMIT $n");
	int k = 0, rc = SQLITE_DONE;

	if (!st)
		return -EIO;
	db_bind_int64(st, "$phone", phone_id);
	db_bind_int64(st, "$n", n);
	while (k < n && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		out[k].delta = (long)sqlite3_column_int64(st, 0);
		db_col_copy(st, 1, out[k].reason, sizeof(out[k].reason));
		out[k].at = sqlite3_column_int64(st, 2);
		k++;
	}
	if (k < n && rc != SQLITE_DONE)
		k = db_map_rc(dbc, rc, sqlite3_sql(st));
	db_stmt_release(dbc, st);
	return k;
}

struct lines {
	void *ctx;
	char **l;
	int n;
};

static void lines_add(struct lines *ls, char *line)
{
	ls->l = talloc_realloc(ls->ctx, ls->l, char *, ls->n + 1);
	ls->l[ls->n++] = line;
}

/* Hand the collected lines to cb (after the statement is released, so cb may use the database). */
static int lines_flush(struct lines *ls, int rc, void (*cb)(void *data, const char *line), void *data)
{
	for (int i = 0; rc == 0 && i < ls->n; i++)
		cb(data, ls->l[i]);
	talloc_free(ls->ctx);
	return rc < 0 ? rc : ls->n;
}

static void balance_row(void *data, sqlite3_stmt *st)
{
	struct lines *ls = data;

	lines_add(ls, talloc_asprintf(ls->ctx, "%-16s %-12s %-11s %6" PRId64 " (%d entries)", db_col_text(st, 0),
				      db_col_text(st, 1)[0] ? db_col_text(st, 1) : "-", db_col_text(st, 2),
				      (int64_t)sqlite3_column_int64(st, 3), sqlite3_column_int(st, 4)));
}

static void entry_row(void *data, sqlite3_stmt *st)
{
	struct lines *ls = data;
	char t[32];

	db_fmt_time(sqlite3_column_int64(st, 0), t, sizeof(t));
	lines_add(ls, talloc_asprintf(ls->ctx, "  %s %+6" PRId64 " %s (%s%s%s)", t,
				      (int64_t)sqlite3_column_int64(st, 1), db_col_text(st, 2), db_col_text(st, 3),
				      db_col_text(st, 4)[0] ? ", ref " : "", db_col_text(st, 4)));
}

int db_points_list(struct db_context *dbc, const char *number, void (*cb)(void *data, const char *line), void *data)
{
	struct lines ls = {.ctx = talloc_new(NULL)};
	sqlite3_stmt *st;
	int n, rc;

	if (!number) {
		st = db_stmt_cached(dbc, "SELECT p.number, p.name, p.role, sum(x.delta), count(*) FROM points x "
					 "JOIN phone p ON p.id = x.phone_id GROUP BY p.id "
					 "ORDER BY sum(x.delta) DESC, p.number");
		if (!st)
			return lines_flush(&ls, -EIO, cb, data);
		rc = step_rows(dbc, st, balance_row, &ls, &n);
		db_stmt_release(dbc, st);
		return lines_flush(&ls, rc, cb, data);
	}
	st = db_stmt_cached(dbc, "SELECT p.number, p.name, p.role, coalesce(sum(x.delta), 0), count(x.id) FROM phone p "
				 "LEFT JOIN points x ON x.phone_id = p.id WHERE p.number = $number GROUP BY p.id");
	if (!st)
		return lines_flush(&ls, -EIO, cb, data);
	db_bind_text(st, "$number", number);
	rc = step_rows(dbc, st, balance_row, &ls, &n);
	db_stmt_release(dbc, st);
	if (rc == 0 && n == 0)
		rc = -ENOENT;
	if (rc < 0)
		return lines_flush(&ls, rc, cb, data);
	st = db_stmt_cached(dbc, "SELECT x.at, x.delta, x.reason, x.actor, coalesce(r.ref, '') FROM points x "
				 "JOIN phone p ON p.id = x.phone_id LEFT JOIN request r ON r.id = x.request_id "
				 "WHERE p.number = $number ORDER BY x.at DESC, x.id DESC");
	if (!st)
		return lines_flush(&ls, -EIO, cb, data);
	db_bind_text(st, "$number", number);
	rc = step_rows(dbc, st, entry_row, &ls, &n);
	db_stmt_release(dbc, st);
	return lines_flush(&ls, rc, cb, data);
}

/* ---- registration ---- */

int db_phone_register(struct db_context *dbc, const char *number, const char *name, int64_t household_id, bool active,
		      int64_t *phone_id)
{
	sqlite3_stmt *st = db_stmt_cached(dbc, "INSERT INTO phone (number, name, role, household_id, state) "
					       "VALUES ($number, $name, 'resident', $hh, $state)");
	int rc;

	if (!st)
		return -EIO;
	db_bind_text(st, "$number", number);
	db_bind_text(st, "$name", name);
	if (household_id)
		db_bind_int64(st, "$hh", household_id);
	else
		db_bind_text(st, "$hh", NULL);
	db_bind_text(st, "$state", active ? "active" : "pending");
	rc = db_cached_exec(dbc, st, false);
	if (rc == 0)
		*phone_id = sqlite3_last_insert_rowid(dbc->db);
	return rc;
}

int db_registration_add(struct db_context *dbc, struct db_registration *r)
{
	sqlite3_stmt *st = db_stmt_cached(dbc, "INSERT INTO registration (phone_id, number, name, address, "
					       "household_id, state, created, decided_at, decided_by) VALUES ($phone, "
					       "$number, $name, $address, $hh, $state, $created, "
					       "CASE WHEN $state = 'linked' THEN $created END, "
					       "CASE WHEN $state = 'linked' THEN 'system' END)");
	int rc;

	if (!st)
		return -EIO;
	db_bind_int64(st, "$phone", r->phone_id);
	db_bind_text(st, "$number", r->number);
	db_bind_text(st, "$name", r->name);
	db_bind_text(st, "$address", r->address);
	if (r->household_id)
		db_bind_int64(st, "$hh", r->household_id);
	else
		db_bind_text(st, "$hh", NULL);
	db_bind_text(st, "$state", r->state);
	db_bind_int64(st, "$created", r->created);
	rc = db_cached_exec(dbc, st, false);
	if (rc == 0)
		r->id = sqlite3_last_insert_rowid(dbc->db);
	return rc;
}

int db_registration_pending(struct db_context *dbc, const char *number, struct db_registration *out)
{
	sqlite3_stmt *st = db_stmt_cached(dbc, "SELECT id, coalesce(phone_id, 0), number, name, address, "
					       "coalesce(household_id, 0), state, created FROM registration "
					       "WHERE number = $number AND state = 'pending' ORDER BY id DESC LIMIT 1");
	int rc;

	if (!st)
		return -EIO;
	db_bind_text(st, "$number", number);
	rc = db_cached_row(dbc, st);
	if (rc == 0) {
		memset(out, 0, sizeof(*out));
		out->id = sqlite3_column_int64(st, 0);
		out->phone_id = sqlite3_column_int64(st, 1);
		db_col_copy(st, 2, out->number, sizeof(out->number));
		db_col_copy(st, 3, out->name, sizeof(out->name));
		db_col_copy(st, 4, out->address, sizeof(out->address));
		out->household_id = sqlite3_column_int64(st, 5);
		db_col_copy(st, 6, out->state, sizeof(out->state));
		out->created = sqlite3_column_int64(st, 7);
	}
	db_stmt_release(dbc, st);
	return rc;
}

int db_registration_decide(struct db_context *dbc, const struct db_registration *r, const char *state,
			   int64_t household_id, const char *by, int64_t at, const char *note)
{
	bool approve = !strcmp(state, "approved");
	sqlite3_stmt *st = db_stmt_cached(dbc, "UPDATE registration SET state = $state, household_id = $hh, "
					       "decided_at = $at, decided_by = $by, note = $note "
					       "WHERE id = $id AND state = 'pending'");
	int rc;

	if (!st)
		return -EIO;
	db_bind_text(st, "$state", state);
	if (household_id)
		db_bind_int64(st, "$hh", household_id);
	else
		db_bind_text(st, "$hh", NULL);
	db_bind_int64(st, "$at", at);
	db_bind_text(st, "$by", by);
	db_bind_text(st, "$note", note && note[0] ? note : NULL);
	db_bind_int64(st, "$id", r->id);
	rc = db_cached_exec(dbc, st, true);
	if (rc < 0 || !r->phone_id)
		return rc;
	st = db_stmt_cached(dbc, approve ? "UPDATE phone SET state = 'active', household_id = $hh "
					   "WHERE id = $id AND state = 'pending'"
					 : "DELETE FROM phone WHERE id = $id AND state = 'pending'");
	if (!st)
		return -EIO;
	if (approve)
		db_bind_int64(st, "$hh", household_id);
	db_bind_int64(st, "$id", r->phone_id);
	return db_cached_exec(dbc, st, true);
}

static void registration_row(void *data, sqlite3_stmt *st)
{
	struct lines *ls = data;
	char t[32];

	db_fmt_time(sqlite3_column_int64(st, 0), t, sizeof(t));
	lines_add(ls, talloc_asprintf(ls->ctx, "%s %-16s %-8s %-12s %-16s -> %s%s%s", t, db_col_text(st, 1),
				      db_col_text(st, 2), db_col_text(st, 3), db_col_text(st, 4),
				      db_col_text(st, 5)[0] ? db_col_text(st, 5) : "no household match",
				      db_col_text(st, 6)[0] ? " by " : "", db_col_text(st, 6)));
}

int db_registration_list(struct db_context *dbc, bool all, void (*cb)(void *data, const char *line), void *data)
{
	struct lines ls = {.ctx = talloc_new(NULL)};
	sqlite3_stmt *st = db_stmt_cached(dbc, "SELECT r.created, r.number, r.state, r.name, r.address, "
					       "coalesce(h.code || ' ' || h.building || h.unit || h.room, ''), "
					       "coalesce(r.decided_by, '') FROM registration r "
					       "LEFT JOIN household h ON h.id = r.household_id "
					       "WHERE $all OR r.state = 'pending' ORDER BY r.id DESC");
	int n, rc;

	if (!st)
		return lines_flush(&ls, -EIO, cb, data);
	db_bind_int64(st, "$all", all);
	rc = step_rows(dbc, st, registration_row, &ls, &n);
	db_stmt_release(dbc, st);
	return lines_flush(&ls, rc, cb, data);
}

int db_household_by_room(struct db_context *dbc, const char *room,
			 void (*cb)(void *data, int64_t id, const char *building, const char *unit, const char *room),
			 void *data)
{
	sqlite3_stmt *st = db_stmt_cached(dbc, "SELECT id, building, unit, room FROM household "
					       "WHERE room = $room OR room = $room || '室' ORDER BY id LIMIT 256");
	struct {
		int64_t id;
		char b[32], u[32], r[32];
	} *h = talloc_array(NULL, typeof(*h), 256);
	int n = 0, rc;

	if (!st || !h) {
		talloc_free(h);
		if (st)
			db_stmt_release(dbc, st);
		return -EIO;
	}
	db_bind_text(st, "$room", room);
	while (n < 256 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		h[n].id = sqlite3_column_int64(st, 0);
		db_col_copy(st, 1, h[n].b, sizeof(h[n].b));
		db_col_copy(st, 2, h[n].u, sizeof(h[n].u));
		db_col_copy(st, 3, h[n].r, sizeof(h[n].r));
		n++;
	}
	rc = n == 256 || rc == SQLITE_DONE ? 0 : db_map_rc(dbc, rc, sqlite3_sql(st));
	db_stmt_release(dbc, st);
	for (int i = 0; rc == 0 && i < n; i++)
		cb(data, h[i].id, h[i].b, h[i].u, h[i].r);
	talloc_free(h);
	return rc < 0 ? rc : n;
}

int db_household_find(struct db_context *dbc, const char *code, int64_t *id, char *address, size_t addrlen)
{
	sqlite3_stmt *st = db_stmt_cached(dbc, "SELECT id, building || unit || room FROM household WHERE code = $code");
	int rc;

	if (!st)
		return -EIO;
	db_bind_text(st, "$code", code);
	rc = db_cached_row(dbc, st);
	if (rc == 0) {
		*id = sqlite3_column_int64(st, 0);
		db_col_copy(st, 1, address, addrlen);
	}
	db_stmt_release(dbc, st);
	return rc;
}

int db_household_address(struct db_context *dbc, int64_t id, char *address, size_t addrlen)
{
	sqlite3_stmt *st = db_stmt_cached(dbc, "SELECT building || unit || room FROM household WHERE id = $id");
	int rc;

	if (!st)
		return -EIO;
	db_bind_int64(st, "$id", id);
	rc = db_cached_row(dbc, st);
	if (rc == 0)
		db_col_copy(st, 0, address, addrlen);
	db_stmt_release(dbc, st);
	return rc;
}

int db_household_has_name(struct db_context *dbc, int64_t household_id, const char *name)
{
	sqlite3_stmt *st = db_stmt_cached(dbc, "SELECT 1 FROM phone WHERE household_id = $hh AND name = $name "
					       "AND state = 'active' LIMIT 1");
	int rc;

	if (!st)
		return -EIO;
	db_bind_int64(st, "$hh", household_id);
	db_bind_text(st, "$name", name);
	rc = db_cached_row(dbc, st);
	db_stmt_release(dbc, st);
	return rc == 0 ? 1 : rc == -ENOENT ? 0 : rc;
}

/* ---- holidays ---- */

int db_holiday_set(struct db_context *dbc, const char *date, const char *kind, const char *name, bool *replaced)
{
	int rc = db_holiday_kind(dbc, date);
	sqlite3_stmt *st;

	if (rc < 0)
		return rc;
	*replaced = rc > 0;
	st = db_stmt_cached(dbc, "INSERT OR REPLACE INTO holiday (date, kind, name) VALUES ($date, $kind, $name)");
	if (!st)
		return -EIO;
	db_bind_text(st, "$date", date);
	db_bind_text(st, "$kind", kind);
	db_bind_text(st, "$name", name ? name : "");
	return db_cached_exec(dbc, st, false);
}

int db_holiday_remove(struct db_context *dbc, const char *date)
{
	sqlite3_stmt *st = db_stmt_cached(dbc, "DELETE FROM holiday WHERE date = $date");

	if (!st)
		return -EIO;
	db_bind_text(st, "$date", date);
	return db_cached_exec(dbc, st, true);
}

static void holiday_row(void *data, sqlite3_stmt *st)
{
	struct lines *ls = data;
	int y, m, d;
	static const char *const dow[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	struct tm tm = {0};

	/* the weekday helps to check a 调休 entry: a workday is normally a Saturday or Sunday */
	if (sscanf(db_col_text(st, 0), "%d-%d-%d", &y, &m, &d) == 3) {
		tm.tm_year = y - 1900;
		tm.tm_mon = m - 1;
		tm.tm_mday = d;
		tm.tm_hour = 12;
		tm.tm_isdst = -1;
		mktime(&tm);
	}
	lines_add(ls, talloc_asprintf(ls->ctx, "%s %s %-7s %s", db_col_text(st, 0), dow[tm.tm_wday % 7],
				      db_col_text(st, 1), db_col_text(st, 2)));
}

int db_holiday_list(struct db_context *dbc, const char *from, void (*cb)(void *data, const char *line), void *data)
{
	struct lines ls = {.ctx = talloc_new(NULL)};
	sqlite3_stmt *st =
		db_stmt_cached(dbc, "SELECT date, kind, name FROM holiday WHERE date >= $from ORDER BY date");
	int n, rc;

	if (!st)
		return lines_flush(&ls, -EIO, cb, data);
	db_bind_text(st, "$from", from ? from : "");
	rc = step_rows(dbc, st, holiday_row, &ls, &n);
	db_stmt_release(dbc, st);
	return lines_flush(&ls, rc, cb, data);
}

/* ---- the digest ---- */

int db_request_digest(struct db_context *dbc, void *ctx, int64_t now, int n, int *open, int *overdue, char **refs)
{
	sqlite3_stmt *st =
		db_stmt_cached(dbc, "SELECT count(*), coalesce(sum((flags & 1) <> 0 OR "
				    "(deadline IS NOT NULL AND deadline < $now)), 0) FROM request "
				    "WHERE kind = 'request' AND state NOT IN ('closed', 'visited', 'merged')");
	int k = 0, rc;

	*open = *overdue = 0;
	*refs = talloc_strdup(ctx, "");
	if (!st)
		return -EIO;
	db_bind_int64(st, "$now", now);
	rc = db_cached_row(dbc, st);
	if (rc == 0) {
		*open = sqlite3_column_int(st, 0);
		*overdue = sqlite3_column_int(st, 1);
	}
	db_stmt_release(dbc, st);
	if (rc < 0)
		return rc;
	st = db_stmt_cached(dbc, "SELECT ref FROM request WHERE kind = 'request' AND state NOT IN ('closed', "
				 "'visited', 'merged') ORDER BY created, id LIMIT $n");
	if (!st)
		return -EIO;
	db_bind_int64(st, "$n", n);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*refs = talloc_asprintf_append(*refs, "%s%s", k++ ? " " : "", db_col_text(st, 0));
	rc = rc == SQLITE_DONE ? 0 : db_map_rc(dbc, rc, sqlite3_sql(st));
	db_stmt_release(dbc, st);
	return rc;
}
