/* The staff inbox: memos from residents and their answers (see db.h, "the staff inbox"; schema
 * step 013_memo.sql). */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <talloc.h>
#include <osmocom/core/utils.h>

#include "db/db_priv.h"

static const struct db_stmt_def stmts[] = {
	DB_SQL(MEMO_WORKER, "SELECT w.number, w.name FROM phone p JOIN household h ON h.id = p.household_id "
			    "JOIN grp g ON g.id = h.grp_id JOIN grid r ON r.id = g.grid_id "
			    "JOIN phone w ON w.id = r.worker_phone_id WHERE p.number = :number AND w.state = 'active'"),
	DB_SQL(MEMO_ADD, "INSERT INTO memo (sender, household_id, to_number, text, created) "
			 "VALUES (:sender, :hh, :to, :text, :now)"),
	DB_SQL(MEMO_GET, "SELECT id, sender, coalesce(household_id, 0), to_number, text, created, "
			 "coalesce(replied_at, 0), coalesce(replied_by, '') FROM memo WHERE id = :id"),
	DB_SQL(MEMO_REPLY, "UPDATE memo SET replied_at = :now, replied_by = :by, reply = :reply WHERE id = :id"),
	DB_SQL(MEMO_STAFF, "SELECT number FROM phone WHERE role = 'staff' AND state = 'active' ORDER BY id"),
	DB_SQL(MEMO_LIST, "SELECT id, created, sender, to_number, text, coalesce(reply, '') FROM memo "
			  "ORDER BY id DESC LIMIT :n"),
};
DB_STMT_TABLE(db_stmts_memo, stmts);

struct worker_row {
	char *worker, *name;
	size_t wlen, nlen;
};

static void worker_fill(void *data, struct db_row *st)
{
	struct worker_row *w = data;

	db_col_copy(st, 0, w->worker, w->wlen);
	db_col_copy(st, 1, w->name, w->nlen);
}

int db_memo_worker(struct db_context *dbc, const char *number, char *worker, size_t wlen, char *name, size_t nlen)
{
	struct db_q *q = db_q(dbc, DB_STMT_MEMO_WORKER);
	struct worker_row w = {worker, name, wlen, nlen};

	db_bind_text(q, ":number", number);
	return db_row(q, worker_fill, &w);
}

int db_memo_add(struct db_context *dbc, const struct db_memo *m, int64_t *id)
{
	struct db_q *q = db_q(dbc, DB_STMT_MEMO_ADD);
	int rc;

	db_bind_text(q, ":sender", m->sender);
	db_bind_id(q, ":hh", m->household_id);
	db_bind_text(q, ":to", m->to_number);
	db_bind_text(q, ":text", m->text);
	db_bind_int(q, ":now", m->created);
	rc = db_exec(q);
	if (rc == 0 && id)
		*id = db_last_id(dbc);
	return rc;
}

struct memo_row {
	void *ctx;
	struct db_memo *m;
};

static void memo_fill(void *data, struct db_row *st)
{
	struct memo_row *r = data;
	struct db_memo *m = r->m;

	m->id = db_col_int64(st, 0);
	db_col_copy(st, 1, m->sender, sizeof(m->sender));
	m->household_id = db_col_int64(st, 2);
	db_col_copy(st, 3, m->to_number, sizeof(m->to_number));
	m->text = db_col_dup(r->ctx, st, 4);
	m->created = db_col_int64(st, 5);
	m->replied_at = db_col_int64(st, 6);
	db_col_copy(st, 7, m->replied_by, sizeof(m->replied_by));
}

int db_memo_get(struct db_context *dbc, void *ctx, int64_t id, struct db_memo *m)
{
	struct db_q *q = db_q(dbc, DB_STMT_MEMO_GET);
	struct memo_row r = {ctx, m};

	memset(m, 0, sizeof(*m));
	db_bind_int(q, ":id", id);
	return db_row(q, memo_fill, &r);
}

int db_memo_reply(struct db_context *dbc, int64_t id, const char *by, const char *reply, int64_t now)
{
	struct db_q *q = db_q(dbc, DB_STMT_MEMO_REPLY);

	db_bind_int(q, ":id", id);
	db_bind_text(q, ":by", by);
	db_bind_text(q, ":reply", reply);
	db_bind_int(q, ":now", now);
	return db_exec_one(q);
}

int db_memo_staff(struct db_context *dbc, void *ctx, char ***numbers)
{
	unsigned n = 0;
	int rc;

	*numbers = NULL;
	rc = db_lines_add(db_q(dbc, DB_STMT_MEMO_STAFF), db_fmt_col0, ctx, numbers, &n);
	return rc < 0 ? rc : (int)n;
}

static char *fmt_memo(void *ctx, struct db_row *st)
{
	char t[32];

	db_fmt_time(db_col_int64(st, 1), t, sizeof(t));
	return talloc_asprintf(ctx, "#%" PRId64 " %s %s -> %s: %s%s%s", (int64_t)db_col_int64(st, 0), t,
			       db_col_text(st, 2), db_col_text(st, 3)[0] ? db_col_text(st, 3) : "staff",
			       db_col_text(st, 4), db_col_text(st, 5)[0] ? " | answered: " : "", db_col_text(st, 5));
}

int db_memo_list(struct db_context *dbc, int limit, void (*cb)(void *data, const char *line), void *data)
{
	struct db_q *q = db_q(dbc, DB_STMT_MEMO_LIST);

	db_bind_int(q, ":n", limit > 0 ? limit : 20);
	return db_lines(q, fmt_memo, cb, data);
}
