/* The group call's records (006_calls.sql) and the look-ups of the 6995 call: statements prepared
 * on first use and kept (db_stmt_cached), bound by name. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <talloc.h>
#include <osmocom/core/utils.h>

#include "db/db_call.h"
#include "db/db_priv.h"

/* 0 is stored as SQL NULL (ids and times that are not set yet). */
static void bind_opt(sqlite3_stmt *st, const char *p, int64_t v)
{
	if (v)
		db_bind_int64(st, p, v);
	else
		sqlite3_bind_null(st, sqlite3_bind_parameter_index(st, p));
}

int db_call_caller_get(struct db_context *dbc, const char *number, struct db_call_caller *out)
{
	sqlite3_stmt *st = db_stmt_cached(
		dbc, "SELECT p.id, coalesce(h.id, 0), coalesce(h.grp_id, 0), p.number, h.building, h.unit, h.room "
		     "FROM phone p LEFT JOIN household h ON h.id = p.household_id "
		     "WHERE p.number = $number AND p.state = 'active'");
	int rc;

	if (!st)
		return -EIO;
	db_bind_text(st, "$number", number);
	rc = db_cached_row(dbc, st);
	if (rc == 0) {
		memset(out, 0, sizeof(*out));
		out->phone_id = sqlite3_column_int64(st, 0);
		out->household_id = sqlite3_column_int64(st, 1);
		out->grp_id = sqlite3_column_int64(st, 2);
		db_col_copy(st, 3, out->number, sizeof(out->number));
		db_col_copy(st, 4, out->building, sizeof(out->building));
		db_col_copy(st, 5, out->unit, sizeof(out->unit));
		db_col_copy(st, 6, out->room, sizeof(out->room));
	}
	db_stmt_release(dbc, st);
	return rc;
}

static void fill_target(sqlite3_stmt *st, struct db_call_target *t)
{
	t->phone_id = sqlite3_column_int64(st, 0);
	t->household_id = sqlite3_column_int64(st, 1);
	db_col_copy(st, 2, t->number, sizeof(t->number));
}

int db_call_targets(struct db_context *dbc, int64_t grp_id, int64_t except_hh, struct db_call_target *out, int max)
{
	/* the primary phone of each household, or its lowest active phone when it has none */
	sqlite3_stmt *st = db_stmt_cached(
		dbc, "SELECT p.id, h.id, p.number FROM household h JOIN phone p ON p.id = "
		     "coalesce((SELECT pp.id FROM phone pp WHERE pp.id = h.primary_phone_id AND pp.state = 'active'), "
		     "(SELECT min(pa.id) FROM phone pa WHERE pa.household_id = h.id AND pa.state = 'active')) "
		     "WHERE h.grp_id = $grp AND h.id != $except ORDER BY h.id");
	int n = 0, rc = SQLITE_DONE;

	if (!st)
		return -EIO;
	db_bind_int64(st, "$grp", grp_id);
	db_bind_int64(st, "$except", except_hh);
	while (n < max && (rc = sqlite3_step(st)) == SQLITE_ROW)
		fill_target(st, &out[n++]);
	if (n < max && rc != SQLITE_DONE)
		n = db_map_rc(dbc, rc, sqlite3_sql(st));
	db_stmt_release(dbc, st);
	return n;
}

int db_call_escalation(struct db_context *dbc, int64_t grp_id, int rung, struct db_call_target *out)
{
	sqlite3_stmt *st;
	int rc;

	if (rung == 0)
		st = db_stmt_cached(dbc, "SELECT w.id, coalesce(w.household_id, 0), w.number FROM grp "
					 "JOIN grid g ON g.id = grp.grid_id JOIN phone w ON w.id = g.worker_phone_id "
					 "WHERE grp.id = $grp AND w.state = 'active'");
	else if (rung == 1)
		st = db_stmt_cached(dbc, "SELECT id, coalesce(household_id, 0), number FROM phone "
					 "WHERE role = 'staff' AND state = 'active' ORDER BY id LIMIT 1");
	else
		return -ENOENT;
	if (!st)
		return -EIO;
	if (rung == 0)
		db_bind_int64(st, "$grp", grp_id);
	rc = db_cached_row(dbc, st);
	if (rc == 0)
		fill_target(st, out);
	db_stmt_release(dbc, st);
	return rc;
}

int db_call_add(struct db_context *dbc, struct db_call *c)
{
	sqlite3_stmt *st = db_stmt_cached(
		dbc, "INSERT INTO call (caller, caller_phone_id, household_id, grp_id, sip_call_id, state, started, "
		     "started_ms) VALUES ($caller, $phone, $hh, $grp, $callid, $state, $started, $started_ms)");
	int rc;

	if (!st)
		return -EIO;
	db_bind_text(st, "$caller", c->caller);
	bind_opt(st, "$phone", c->caller_phone_id);
	bind_opt(st, "$hh", c->household_id);
	bind_opt(st, "$grp", c->grp_id);
	db_bind_text(st, "$callid", c->sip_call_id);
	db_bind_text(st, "$state", c->state[0] ? c->state : "ringing");
	db_bind_int64(st, "$started", c->started);
	db_bind_int64(st, "$started_ms", c->started_ms);
	rc = db_cached_exec(dbc, st, true);
	if (rc == 0)
		c->id = sqlite3_last_insert_rowid(dbc->db);
	return rc;
}

int db_call_update(struct db_context *dbc, const struct db_call *c)
{
	sqlite3_stmt *st = db_stmt_cached(
		dbc, "UPDATE call SET state = $state, dialed_ms = $dialed, first_join_at = $joined, ended_at = $ended, "
		     "end_reason = $reason, note = $note WHERE id = $id");

	if (!st)
		return -EIO;
	db_bind_text(st, "$state", c->state);
	bind_opt(st, "$dialed", c->dialed_ms);
	bind_opt(st, "$joined", c->first_join_at);
	bind_opt(st, "$ended", c->ended_at);
	db_bind_text(st, "$reason", c->end_reason[0] ? c->end_reason : NULL);
	db_bind_text(st, "$note", c->note[0] ? c->note : NULL);
	db_bind_int64(st, "$id", c->id);
	return db_cached_exec(dbc, st, true);
}

int db_call_leg_add(struct db_context *dbc, struct db_call_leg *l)
{
	sqlite3_stmt *st =
		db_stmt_cached(dbc, "INSERT INTO call_leg (call_id, kind, number, phone_id, household_id, invited_at) "
				    "VALUES ($call, $kind, $number, $phone, $hh, $invited)");
	int rc;

	if (!st)
		return -EIO;
	db_bind_int64(st, "$call", l->call_id);
	db_bind_text(st, "$kind", l->kind);
	db_bind_text(st, "$number", l->number);
	bind_opt(st, "$phone", l->phone_id);
	bind_opt(st, "$hh", l->household_id);
	bind_opt(st, "$invited", l->invited_at);
	rc = db_cached_exec(dbc, st, true);
	if (rc == 0)
		l->id = sqlite3_last_insert_rowid(dbc->db);
	return rc;
}

int db_call_leg_update(struct db_context *dbc, const struct db_call_leg *l)
{
	sqlite3_stmt *st = db_stmt_cached(
		dbc, "UPDATE call_leg SET answered_at = $answered, joined_at = $joined, ended_at = $ended, "
		     "result = $result, sip_status = $status WHERE id = $id");

	if (!st)
		return -EIO;
	bind_opt(st, "$answered", l->answered_at);
	bind_opt(st, "$joined", l->joined_at);
	bind_opt(st, "$ended", l->ended_at);
	db_bind_text(st, "$result", l->result[0] ? l->result : NULL);
	bind_opt(st, "$status", l->sip_status);
	db_bind_int64(st, "$id", l->id);
	return db_cached_exec(dbc, st, true);
}

/* Collect formatted lines first, then hand them to cb (so cb may use the database). */
static int emit_lines(struct db_context *dbc, sqlite3_stmt *st, void (*cb)(void *data, const char *line), void *data)
{
	void *tmp = talloc_new(NULL);
	char **v = talloc_array(tmp, char *, 0);
	size_t n = 0;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = talloc_realloc(tmp, v, char *, n + 1);
		v[n++] = talloc_strdup(v, db_col_text(st, 0));
	}
	rc = rc == SQLITE_DONE ? (int)n : db_map_rc(dbc, rc, sqlite3_sql(st));
	db_stmt_release(dbc, st);
	if (rc >= 0)
		for (size_t i = 0; i < n; i++)
			cb(data, v[i]);
	talloc_free(tmp);
	return rc;
}

#define CALL_LINE                                                                                                      \
	"printf('%d %s %s from %s state %s joined %d/%d%s%s', c.id, "                                                  \
	"datetime(c.started, 'unixepoch'), CASE WHEN c.ended_at IS NULL THEN 'open' ELSE 'ended' END, c.caller, "      \
	"c.state, (SELECT count(*) FROM call_leg l WHERE l.call_id = c.id AND l.joined_at IS NOT NULL "                \
	"AND l.kind != 'caller'), (SELECT count(*) FROM call_leg l WHERE l.call_id = c.id AND l.kind != 'caller'), "   \
	"CASE WHEN c.end_reason IS NULL THEN '' ELSE ' end ' || c.end_reason END, "                                    \
	"CASE WHEN c.note IS NULL THEN '' ELSE ' (' || c.note || ')' END)"

int db_call_list(struct db_context *dbc, int limit, void (*cb)(void *data, const char *line), void *data)
{
	sqlite3_stmt *st = db_stmt_cached(dbc, "SELECT " CALL_LINE " FROM call c ORDER BY c.id DESC LIMIT $limit");

	if (!st)
		return -EIO;
	db_bind_int64(st, "$limit", limit);
	return emit_lines(dbc, st, cb, data);
}

int db_call_show(struct db_context *dbc, int64_t id, void (*cb)(void *data, const char *line), void *data)
{
	sqlite3_stmt *st = db_stmt_cached(dbc, "SELECT " CALL_LINE " FROM call c WHERE c.id = $id");
	int rc;

	if (!st)
		return -EIO;
	db_bind_int64(st, "$id", id);
	rc = emit_lines(dbc, st, cb, data);
	if (rc <= 0)
		return rc < 0 ? rc : -ENOENT;
	st = db_stmt_cached(dbc,
			    "SELECT printf('  leg %d %-11s %-16s invited %s answered %s joined %s ended %s "
			    "result %s sip %s', id, kind, number, coalesce(time(invited_at, 'unixepoch'), '-'), "
			    "coalesce(time(answered_at, 'unixepoch'), '-'), "
			    "coalesce(time(joined_at, 'unixepoch'), '-'), coalesce(time(ended_at, 'unixepoch'), '-'), "
			    "coalesce(result, '-'), coalesce(sip_status, '-')) FROM call_leg WHERE call_id = $id "
			    "ORDER BY id");
	if (!st)
		return -EIO;
	db_bind_int64(st, "$id", id);
	rc = emit_lines(dbc, st, cb, data);
	return rc < 0 ? rc : 0;
}
