/* Supervision of the bound watches (see db.h, "watch supervision"; schema step
 * 014_watch_supervision.sql). */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <talloc.h>
#include <osmocom/core/utils.h>

#include "db/db_priv.h"

static const struct db_stmt_def stmts[] = {
	DB_SQL(WATCH_SILENT, "SELECT id, number, seen FROM (SELECT d.id, d.number, coalesce((SELECT max(m.recv_ts) "
			     "FROM sms_in m WHERE m.sender = d.number), d.created) AS seen FROM device d "
			     "WHERE EXISTS (SELECT 1 FROM binding b WHERE b.device_id = d.id AND b.state = 'approved') "
			     "AND NOT EXISTS (SELECT 1 FROM device_supervision s WHERE s.device_id = d.id "
			     "AND s.kind = 'silent' AND s.closed_at IS NULL)) w WHERE seen < :since ORDER BY id"),
	DB_SQL(WATCH_OPEN, "INSERT INTO device_supervision (device_id, kind, last_seen_at, opened_at, told) "
			   "VALUES (:dev, :kind, :seen, :now, :told)"),
	DB_SQL(WATCH_CLOSE, "UPDATE device_supervision SET closed_at = :now WHERE device_id = :dev "
			    "AND kind = :kind AND closed_at IS NULL"),
	DB_SQL(WATCH_IS_OPEN, "SELECT count(*) FROM device_supervision WHERE device_id = :dev AND kind = :kind "
			      "AND closed_at IS NULL"),
	DB_SQL(LOCATE_WATCHES, "SELECT b.device_id FROM binding b JOIN phone p ON p.id = b.phone_id "
			       "WHERE p.number = :number AND b.state = 'approved' ORDER BY b.device_id"),
	DB_SQL(LOCATE_ADD, "INSERT INTO sos_locate (device_id, number, created) VALUES (:dev, :number, :now)"),
	DB_SQL(LOCATE_OPEN, "SELECT DISTINCT number FROM sos_locate WHERE device_id = :dev AND answered_at IS NULL "
			    "AND created >= :since ORDER BY number"),
	DB_SQL(LOCATE_ANSWERED, "UPDATE sos_locate SET answered_at = :now WHERE device_id = :dev "
				"AND answered_at IS NULL AND created >= :since"),
	DB_SQL(WATCH_LIST, "SELECT d.number, d.person, s.kind, s.last_seen_at, s.told FROM device_supervision s "
			   "JOIN device d ON d.id = s.device_id WHERE s.closed_at IS NULL ORDER BY s.opened_at"),
};
DB_STMT_TABLE(db_stmts_watch, stmts);

static void silent_fill(void *elem, void *ctx, struct db_row *st)
{
	struct db_watch_silent *w = elem;

	(void)ctx;
	w->device_id = db_col_int64(st, 0);
	db_col_copy(st, 1, w->number, sizeof(w->number));
	w->last_seen = db_col_int64(st, 2);
}

int db_watch_silent(struct db_context *dbc, void *ctx, int64_t since, struct db_watch_silent **out)
{
	struct db_q *q = db_q(dbc, DB_STMT_WATCH_SILENT);

	db_bind_int(q, ":since", since);
	return db_collect(q, ctx, sizeof(**out), silent_fill, (void **)out);
}

int db_watch_open(struct db_context *dbc, int64_t device_id, const char *kind, int64_t last_seen, int64_t now, int told)
{
	struct db_q *q = db_q(dbc, DB_STMT_WATCH_OPEN);

	db_bind_int(q, ":dev", device_id);
	db_bind_text(q, ":kind", kind);
	db_bind_int(q, ":seen", last_seen);
	db_bind_int(q, ":now", now);
	db_bind_int(q, ":told", told);
	return db_exec(q);
}

int db_watch_close(struct db_context *dbc, int64_t device_id, const char *kind, int64_t now)
{
	struct db_q *q = db_q(dbc, DB_STMT_WATCH_CLOSE);
	int rc;

	db_bind_int(q, ":dev", device_id);
	db_bind_text(q, ":kind", kind);
	db_bind_int(q, ":now", now);
	rc = db_exec(q);
	return rc < 0 ? rc : db_changes(dbc) > 0;
}

int db_watch_is_open(struct db_context *dbc, int64_t device_id, const char *kind)
{
	struct db_q *q = db_q(dbc, DB_STMT_WATCH_IS_OPEN);
	int64_t n = 0;
	int rc;

	db_bind_int(q, ":dev", device_id);
	db_bind_text(q, ":kind", kind);
	rc = db_int64(q, &n);
	return rc < 0 ? rc : n > 0;
}

/* ---- locate on demand ---- */

int db_locate_watches(struct db_context *dbc, void *ctx, const char *number, int64_t **ids)
{
	struct db_q *q = db_q(dbc, DB_STMT_LOCATE_WATCHES);

	db_bind_text(q, ":number", number);
	return db_collect_ids(q, ctx, ids);
}

int db_locate_add(struct db_context *dbc, int64_t device_id, const char *number, int64_t now)
{
	struct db_q *q = db_q(dbc, DB_STMT_LOCATE_ADD);

	db_bind_int(q, ":dev", device_id);
	db_bind_text(q, ":number", number);
	db_bind_int(q, ":now", now);
	return db_exec(q);
}

int db_locate_take(struct db_context *dbc, void *ctx, int64_t device_id, int64_t since, int64_t now, char ***numbers)
{
	struct db_q *q = db_q(dbc, DB_STMT_LOCATE_OPEN);
	unsigned n = 0;
	int rc;

	*numbers = NULL;
	db_bind_int(q, ":dev", device_id);
	db_bind_int(q, ":since", since);
	rc = db_lines_add(q, db_fmt_col0, ctx, numbers, &n);
	if (rc <= 0)
		return rc;
	q = db_q(dbc, DB_STMT_LOCATE_ANSWERED);
	db_bind_int(q, ":dev", device_id);
	db_bind_int(q, ":since", since);
	db_bind_int(q, ":now", now);
	rc = db_exec(q);
	return rc < 0 ? rc : (int)n;
}

static char *fmt_watch(void *ctx, struct db_row *st)
{
	char t[32];

	db_fmt_time(db_col_int64(st, 3), t, sizeof(t));
	return talloc_asprintf(ctx, "%-16s %-8s %s since %s, told %d", db_col_text(st, 0),
			       db_col_text(st, 1)[0] ? db_col_text(st, 1) : "-", db_col_text(st, 2), t,
			       db_col_int(st, 4));
}

int db_watch_list(struct db_context *dbc, void (*cb)(void *data, const char *line), void *data)
{
	return db_lines(db_q(dbc, DB_STMT_WATCH_LIST), fmt_watch, cb, data);
}
