/* Senders whose messages are stored but not routed: blocked by staff, or parked after a flood
 * (see db.h; schema step 015_senders.sql). */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <talloc.h>
#include <osmocom/core/utils.h>

#include "db/db_priv.h"

static const struct db_stmt_def stmts[] = {
	DB_SQL(SENDER_HELD, "SELECT kind, coalesce(until, 0) FROM sender_block WHERE number = :number "
			    "AND kind IN ('blocked', 'parked') AND (until IS NULL OR until > :now)"),
	DB_SQL(SENDER_HOLD,
	       "INSERT INTO sender_block (number, kind, reason, by, created, until) "
	       "VALUES (:number, :kind, :reason, :by, :now, :until) ON CONFLICT (number) DO UPDATE SET "
	       "kind = excluded.kind, reason = excluded.reason, by = excluded.by, created = excluded.created, "
	       "until = excluded.until WHERE sender_block.kind IN ('parked', 'released') OR excluded.kind = 'blocked'"),
	DB_SQL(SENDER_RELEASE, "UPDATE sender_block SET kind = 'released', until = NULL, created = :now, by = :by "
			       "WHERE number = :number AND kind IN ('blocked', 'parked')"),
	DB_SQL(SENDER_RELEASED, "SELECT count(*) FROM sender_block WHERE number = :number AND kind = 'released' "
				"AND created >= :since"),
	DB_SQL(SENDER_EXEMPT,
	       "SELECT (SELECT count(*) FROM device WHERE number = :number) + (SELECT count(*) FROM "
	       "phone WHERE number = :number AND state = 'active' AND role IN ('staff', 'grid_worker'))"),
	DB_SQL(SENDER_LIST, "SELECT number, kind, coalesce(until, 0), reason, by FROM sender_block "
			    "WHERE kind <> 'released' AND (until IS NULL OR until > :now) ORDER BY created DESC"),
};
DB_STMT_TABLE(db_stmts_sender, stmts);

struct held {
	int kind;
	int64_t until;
};

static void held_row(void *data, struct db_row *st)
{
	struct held *h = data;

	h->kind = !strcmp(db_col_text(st, 0), "blocked") ? 1 : 2;
	h->until = db_col_int64(st, 1);
}

int db_sender_held(struct db_context *dbc, const char *number, int64_t now, int64_t *until)
{
	struct db_q *q = db_q(dbc, DB_STMT_SENDER_HELD);
	struct held h = {0, 0};
	int rc;

	db_bind_text(q, ":number", number);
	db_bind_int(q, ":now", now);
	rc = db_row(q, held_row, &h);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	if (until)
		*until = h.until;
	return h.kind;
}

int db_sender_hold(struct db_context *dbc, const char *number, bool block, const char *reason, const char *by,
		   int64_t now, int64_t until)
{
	struct db_q *q = db_q(dbc, DB_STMT_SENDER_HOLD);

	db_bind_text(q, ":number", number);
	db_bind_text(q, ":kind", block ? "blocked" : "parked");
	db_bind_text(q, ":reason", reason ? reason : "");
	db_bind_text(q, ":by", by ? by : "");
	db_bind_int(q, ":now", now);
	if (until)
		db_bind_int(q, ":until", until);
	else
		db_bind_null(q, ":until");
	return db_exec(q);
}

int db_sender_release(struct db_context *dbc, const char *number, const char *by, int64_t now)
{
	struct db_q *q = db_q(dbc, DB_STMT_SENDER_RELEASE);
	int rc;

	db_bind_text(q, ":number", number);
	db_bind_text(q, ":by", by);
	db_bind_int(q, ":now", now);
	rc = db_exec(q);
	return rc < 0 ? rc : db_changes(dbc) > 0;
}

int db_sender_released(struct db_context *dbc, const char *number, int64_t since)
{
	struct db_q *q = db_q(dbc, DB_STMT_SENDER_RELEASED);
	int64_t n = 0;
	int rc;

	db_bind_text(q, ":number", number);
	db_bind_int(q, ":since", since);
	rc = db_int64(q, &n);
	return rc < 0 ? rc : n > 0;
}

int db_sender_exempt(struct db_context *dbc, const char *number)
{
	struct db_q *q = db_q(dbc, DB_STMT_SENDER_EXEMPT);
	int64_t n = 0;
	int rc;

	db_bind_text(q, ":number", number);
	rc = db_int64(q, &n);
	return rc < 0 ? rc : n > 0;
}

static char *fmt_sender(void *ctx, struct db_row *st)
{
	char t[32] = "released";

	if (db_col_int64(st, 2))
		db_fmt_time(db_col_int64(st, 2), t, sizeof(t));
	return talloc_asprintf(ctx, "%-16s %-7s until %s (%s) by %s", db_col_text(st, 0), db_col_text(st, 1), t,
			       db_col_text(st, 3)[0] ? db_col_text(st, 3) : "-", db_col_text(st, 4));
}

int db_sender_list(struct db_context *dbc, int64_t now, void (*cb)(void *data, const char *line), void *data)
{
	struct db_q *q = db_q(dbc, DB_STMT_SENDER_LIST);

	db_bind_int(q, ":now", now);
	return db_lines(q, fmt_sender, cb, data);
}
