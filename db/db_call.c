/* The group call's records (006_calls.sql) and the look-ups of the 6995 call. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <talloc.h>
#include <osmocom/core/utils.h>

#include "db/db_call.h"
#include "db/db_priv.h"

#define CALL_LINE                                                                                                      \
	"printf('%d %s %s from %s state %s joined %d/%d%s%s', c.id, "                                                  \
	"datetime(c.started, 'unixepoch'), CASE WHEN c.ended_at IS NULL THEN 'open' ELSE 'ended' END, c.caller, "      \
	"c.state, (SELECT count(*) FROM call_leg l WHERE l.call_id = c.id AND l.joined_at IS NOT NULL "                \
	"AND l.kind != 'caller'), (SELECT count(*) FROM call_leg l WHERE l.call_id = c.id AND l.kind != 'caller'), "   \
	"CASE WHEN c.end_reason IS NULL THEN '' ELSE ' end ' || c.end_reason END, "                                    \
	"CASE WHEN c.note IS NULL THEN '' ELSE ' (' || c.note || ')' END)"

static const struct db_stmt_def stmts[] = {
	DB_SQL(CALL_CALLER_GET, "SELECT p.id, coalesce(h.id, 0), coalesce(h.grp_id, 0), p.number, h.building, h.unit,"
				" h.room FROM phone p LEFT JOIN household h ON h.id = p.household_id"
				" WHERE p.number = :number AND p.state = 'active'"),
	/* the primary phone of each household, or its lowest active phone when it has none */
	DB_SQL(CALL_TARGETS,
	       "SELECT p.id, h.id, p.number FROM household h JOIN phone p ON p.id = "
	       "coalesce((SELECT pp.id FROM phone pp WHERE pp.id = h.primary_phone_id AND pp.state = 'active'), "
	       "(SELECT min(pa.id) FROM phone pa WHERE pa.household_id = h.id AND pa.state = 'active')) "
	       "WHERE h.grp_id = :grp AND h.id != :except ORDER BY h.id LIMIT :max"),
	DB_SQL(CALL_ESC_GRID, "SELECT w.id, coalesce(w.household_id, 0), w.number FROM grp "
			      "JOIN grid g ON g.id = grp.grid_id JOIN phone w ON w.id = g.worker_phone_id "
			      "WHERE grp.id = :grp AND w.state = 'active'"),
	DB_SQL(CALL_ESC_STAFF, "SELECT id, coalesce(household_id, 0), number FROM phone "
			       "WHERE role = 'staff' AND state = 'active' ORDER BY id LIMIT 1"),
	DB_SQL(CALL_ADD,
	       "INSERT INTO call (caller, caller_phone_id, household_id, grp_id, sip_call_id, state, started, "
	       "started_ms) VALUES (:caller, :phone, :hh, :grp, :callid, :state, :started, :started_ms)"),
	DB_SQL(CALL_UPDATE, "UPDATE call SET state = :state, dialed_ms = :dialed, first_join_at = :joined, "
			    "ended_at = :ended, end_reason = :reason, note = :note WHERE id = :id"),
	DB_SQL(CALL_LEG_ADD, "INSERT INTO call_leg (call_id, kind, number, phone_id, household_id, invited_at) "
			     "VALUES (:call, :kind, :number, :phone, :hh, :invited)"),
	DB_SQL(CALL_LEG_UPDATE, "UPDATE call_leg SET answered_at = :answered, joined_at = :joined, ended_at = :ended, "
				"result = :result, sip_status = :status WHERE id = :id"),
	DB_SQL(CALL_LIST, "SELECT " CALL_LINE " FROM call c ORDER BY c.id DESC LIMIT :limit"),
	DB_SQL(CALL_SHOW, "SELECT " CALL_LINE " FROM call c WHERE c.id = :id"),
	DB_SQL(CALL_LEGS,
	       "SELECT printf('  leg %d %-11s %-16s invited %s answered %s joined %s ended %s "
	       "result %s sip %s', id, kind, number, coalesce(time(invited_at, 'unixepoch'), '-'), "
	       "coalesce(time(answered_at, 'unixepoch'), '-'), "
	       "coalesce(time(joined_at, 'unixepoch'), '-'), coalesce(time(ended_at, 'unixepoch'), '-'), "
	       "coalesce(result, '-'), coalesce(CAST(sip_status AS TEXT), '-')) FROM call_leg WHERE call_id = :id "
	       "ORDER BY id"),
	/* the staff console */
	DB_SQL(CALL_ROWS, "SELECT id, caller, coalesce(caller_phone_id, 0), coalesce(household_id, 0),"
			  " coalesce(grp_id, 0), coalesce(sip_call_id, ''), state, started, started_ms,"
			  " coalesce(dialed_ms, 0), coalesce(first_join_at, 0), coalesce(ended_at, 0),"
			  " coalesce(end_reason, ''), coalesce(note, '') FROM call ORDER BY id DESC LIMIT :limit"),
	DB_SQL(CALL_LEG_ROWS, "SELECT id, call_id, kind, number, coalesce(phone_id, 0), coalesce(household_id, 0),"
			      " coalesce(invited_at, 0), coalesce(answered_at, 0), coalesce(joined_at, 0),"
			      " coalesce(ended_at, 0), coalesce(result, ''), coalesce(sip_status, 0) FROM call_leg"
			      " WHERE call_id = :id ORDER BY id"),
	DB_SQL(CALL_ACTIVE, "SELECT count(*) FROM call WHERE state != 'released'"),
	/* the calls of a process that died: no leg of theirs is up any more */
	DB_SQL(CALL_CLOSE_STALE, "UPDATE call SET state = 'released', ended_at = :now, end_reason = :reason,"
				 " note = coalesce(note, :note) WHERE state != 'released' OR ended_at IS NULL"),
	DB_SQL(CALL_LEG_CLOSE_STALE, "UPDATE call_leg SET ended_at = :now, result = coalesce(result, :reason)"
				     " WHERE ended_at IS NULL"),
};
DB_STMT_TABLE(db_stmts_call, stmts);

static void caller_row(void *data, struct db_row *st)
{
	struct db_call_caller *out = data;

	memset(out, 0, sizeof(*out));
	out->phone_id = db_col_int64(st, 0);
	out->household_id = db_col_int64(st, 1);
	out->grp_id = db_col_int64(st, 2);
	db_col_copy(st, 3, out->number, sizeof(out->number));
	db_col_copy(st, 4, out->building, sizeof(out->building));
	db_col_copy(st, 5, out->unit, sizeof(out->unit));
	db_col_copy(st, 6, out->room, sizeof(out->room));
}

int db_call_caller_get(struct db_context *dbc, const char *number, struct db_call_caller *out)
{
	struct db_q *q = db_q(dbc, DB_STMT_CALL_CALLER_GET);

	db_bind_text(q, ":number", number);
	return db_row(q, caller_row, out);
}

static void fill_target(struct db_row *st, struct db_call_target *t)
{
	t->phone_id = db_col_int64(st, 0);
	t->household_id = db_col_int64(st, 1);
	db_col_copy(st, 2, t->number, sizeof(t->number));
}

struct targets {
	struct db_call_target *out;
	int n, max;
};

static void target_row(void *data, struct db_row *st)
{
	struct targets *t = data;

	if (t->n < t->max)
		fill_target(st, &t->out[t->n++]);
}

int db_call_targets(struct db_context *dbc, int64_t grp_id, int64_t except_hh, struct db_call_target *out, int max)
{
	struct db_q *q = db_q(dbc, DB_STMT_CALL_TARGETS);
	struct targets t = {out, 0, max};
	int rc;

	db_bind_int(q, ":grp", grp_id);
	db_bind_int(q, ":except", except_hh);
	db_bind_int(q, ":max", max);
	rc = db_rows(q, target_row, &t);
	return rc < 0 ? rc : t.n;
}

static void target_one_row(void *data, struct db_row *st)
{
	fill_target(st, data);
}

int db_call_escalation(struct db_context *dbc, int64_t grp_id, int rung, struct db_call_target *out)
{
	struct db_q *q;

	if (rung == 0) {
		q = db_q(dbc, DB_STMT_CALL_ESC_GRID);
		db_bind_int(q, ":grp", grp_id);
	} else if (rung == 1) {
		q = db_q(dbc, DB_STMT_CALL_ESC_STAFF);
	} else {
		return -ENOENT;
	}
	return db_row(q, target_one_row, out);
}

int db_call_add(struct db_context *dbc, struct db_call *c)
{
	struct db_q *q = db_q(dbc, DB_STMT_CALL_ADD);
	int rc;

	db_bind_text(q, ":caller", c->caller);
	db_bind_id(q, ":phone", c->caller_phone_id);
	db_bind_id(q, ":hh", c->household_id);
	db_bind_id(q, ":grp", c->grp_id);
	db_bind_text(q, ":callid", c->sip_call_id);
	db_bind_text(q, ":state", c->state[0] ? c->state : "ringing");
	db_bind_int(q, ":started", c->started);
	db_bind_int(q, ":started_ms", c->started_ms);
	rc = db_exec_one(q);
	if (rc == 0)
		c->id = db_last_id(dbc);
	return rc;
}

int db_call_update(struct db_context *dbc, const struct db_call *c)
{
	struct db_q *q = db_q(dbc, DB_STMT_CALL_UPDATE);

	db_bind_text(q, ":state", c->state);
	db_bind_id(q, ":dialed", c->dialed_ms);
	db_bind_id(q, ":joined", c->first_join_at);
	db_bind_id(q, ":ended", c->ended_at);
	db_bind_text(q, ":reason", c->end_reason[0] ? c->end_reason : NULL);
	db_bind_text(q, ":note", c->note[0] ? c->note : NULL);
	db_bind_int(q, ":id", c->id);
	return db_exec_one(q);
}

int db_call_leg_add(struct db_context *dbc, struct db_call_leg *l)
{
	struct db_q *q = db_q(dbc, DB_STMT_CALL_LEG_ADD);
	int rc;

	db_bind_int(q, ":call", l->call_id);
	db_bind_text(q, ":kind", l->kind);
	db_bind_text(q, ":number", l->number);
	db_bind_id(q, ":phone", l->phone_id);
	db_bind_id(q, ":hh", l->household_id);
	db_bind_id(q, ":invited", l->invited_at);
	rc = db_exec_one(q);
	if (rc == 0)
		l->id = db_last_id(dbc);
	return rc;
}

int db_call_leg_update(struct db_context *dbc, const struct db_call_leg *l)
{
	struct db_q *q = db_q(dbc, DB_STMT_CALL_LEG_UPDATE);

	db_bind_id(q, ":answered", l->answered_at);
	db_bind_id(q, ":joined", l->joined_at);
	db_bind_id(q, ":ended", l->ended_at);
	db_bind_text(q, ":result", l->result[0] ? l->result : NULL);
	db_bind_id(q, ":status", l->sip_status);
	db_bind_int(q, ":id", l->id);
	return db_exec_one(q);
}

int db_call_list(struct db_context *dbc, int limit, void (*cb)(void *data, const char *line), void *data)
{
	struct db_q *q = db_q(dbc, DB_STMT_CALL_LIST);

	db_bind_int(q, ":limit", limit);
	return db_lines(q, db_fmt_col0, cb, data);
}

int db_call_show(struct db_context *dbc, int64_t id, void (*cb)(void *data, const char *line), void *data)
{
	void *tmp = talloc_new(dbc);
	char **lines = NULL;
	unsigned n = 0;
	struct db_q *q;
	int rc;

	q = db_q(dbc, DB_STMT_CALL_SHOW);
	db_bind_int(q, ":id", id);
	rc = db_lines_add(q, db_fmt_col0, tmp, &lines, &n);
	if (rc == 0)
		rc = -ENOENT;
	if (rc < 0)
		goto out;
	q = db_q(dbc, DB_STMT_CALL_LEGS);
	db_bind_int(q, ":id", id);
	rc = db_lines_add(q, db_fmt_col0, tmp, &lines, &n);
	if (rc < 0)
		goto out;
	for (unsigned i = 0; i < n; i++)
		cb(data, lines[i]);
	rc = 0;
out:
	talloc_free(tmp);
	return rc;
}

/* ---- the staff console ---- */

static void call_fill(void *elem, void *ctx, struct db_row *st)
{
	struct db_call *c = elem;

	(void)ctx;
	c->id = db_col_int64(st, 0);
	db_col_copy(st, 1, c->caller, sizeof(c->caller));
	c->caller_phone_id = db_col_int64(st, 2);
	c->household_id = db_col_int64(st, 3);
	c->grp_id = db_col_int64(st, 4);
	db_col_copy(st, 5, c->sip_call_id, sizeof(c->sip_call_id));
	db_col_copy(st, 6, c->state, sizeof(c->state));
	c->started = db_col_int64(st, 7);
	c->started_ms = db_col_int64(st, 8);
	c->dialed_ms = db_col_int64(st, 9);
	c->first_join_at = db_col_int64(st, 10);
	c->ended_at = db_col_int64(st, 11);
	db_col_copy(st, 12, c->end_reason, sizeof(c->end_reason));
	db_col_copy(st, 13, c->note, sizeof(c->note));
}

int db_call_rows(struct db_context *dbc, void *ctx, int limit, struct db_call **out)
{
	struct db_q *q = db_q(dbc, DB_STMT_CALL_ROWS);

	db_bind_int(q, ":limit", limit);
	return db_collect(q, ctx, sizeof(**out), call_fill, (void **)out);
}

static void leg_fill(void *elem, void *ctx, struct db_row *st)
{
	struct db_call_leg *l = elem;

	(void)ctx;
	l->id = db_col_int64(st, 0);
	l->call_id = db_col_int64(st, 1);
	db_col_copy(st, 2, l->kind, sizeof(l->kind));
	db_col_copy(st, 3, l->number, sizeof(l->number));
	l->phone_id = db_col_int64(st, 4);
	l->household_id = db_col_int64(st, 5);
	l->invited_at = db_col_int64(st, 6);
	l->answered_at = db_col_int64(st, 7);
	l->joined_at = db_col_int64(st, 8);
	l->ended_at = db_col_int64(st, 9);
	db_col_copy(st, 10, l->result, sizeof(l->result));
	l->sip_status = db_col_int(st, 11);
}

int db_call_leg_rows(struct db_context *dbc, void *ctx, int64_t call_id, struct db_call_leg **out)
{
	struct db_q *q = db_q(dbc, DB_STMT_CALL_LEG_ROWS);

	db_bind_int(q, ":id", call_id);
	return db_collect(q, ctx, sizeof(**out), leg_fill, (void **)out);
}

int db_call_active(struct db_context *dbc)
{
	int64_t n;
	int rc = db_int64(db_q(dbc, DB_STMT_CALL_ACTIVE), &n);

	return rc < 0 ? rc : (int)n;
}

int db_call_close_stale(struct db_context *dbc, int64_t now, const char *reason, const char *note)
{
	struct db_q *q;
	int rc, n;

	rc = db_sp_begin(dbc);
	if (rc < 0)
		return rc;
	q = db_q(dbc, DB_STMT_CALL_CLOSE_STALE);
	db_bind_int(q, ":now", now);
	db_bind_text(q, ":reason", reason);
	db_bind_text(q, ":note", note);
	rc = db_exec(q);
	n = rc < 0 ? rc : db_changes(dbc);
	if (rc == 0) {
		q = db_q(dbc, DB_STMT_CALL_LEG_CLOSE_STALE);
		db_bind_int(q, ":now", now);
		db_bind_text(q, ":reason", reason);
		rc = db_exec(q);
	}
	rc = db_sp_end(dbc, rc);
	return rc < 0 ? rc : n;
}
