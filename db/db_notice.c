/* Broadcast notices and opting out of them (see db.h, "broadcasts and opt-out"; schema step
 * 012_broadcast.sql). */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <talloc.h>
#include <osmocom/core/utils.h>

#include "db/db_priv.h"

/* the numbers a scope reaches: active phones, not opted out (:kind, :code) */
#define BC_RECIPIENTS_SQL                                                                                              \
	"FROM phone p LEFT JOIN household h ON h.id = p.household_id LEFT JOIN grp g ON g.id = h.grp_id "              \
	"LEFT JOIN grid r ON r.id = g.grid_id WHERE p.state = 'active' "                                               \
	"AND NOT EXISTS (SELECT 1 FROM optout o WHERE o.number = p.number) "                                           \
	"AND (:kind = 'all' OR (:kind = 'role' AND p.role = :code) OR (:kind = 'group' AND g.code = :code) "           \
	"OR (:kind = 'grid' AND r.code = :code))"
#define BC_COLS                                                                                                        \
	"id, sender, scope_kind, scope, scope_label, text, state, coalesce(code, ''), created, send_at, "              \
	"coalesce(queued_at, 0), coalesce(done_at, 0), recipients"

static const struct db_stmt_def stmts[] = {
	DB_SQL(OPTOUT_ADD, "INSERT INTO optout (number, created, via) VALUES (:number, :now, :via) "
			   "ON CONFLICT (number) DO NOTHING"),
	DB_SQL(OPTOUT_DEL, "DELETE FROM optout WHERE number = :number"),
	DB_SQL(OPTOUT_WITHDRAW, "UPDATE sms_out SET state = 'failed', error = 'withdrawn: the number opted out (退订)' "
				"WHERE dest = :number AND state = 'queued' AND broadcast_id IS NOT NULL"),
	DB_SQL(OPTOUT_IS, "SELECT count(*) FROM optout WHERE number = :number"),
	DB_SQL(OPTOUT_LIST, "SELECT o.created, o.number, coalesce(p.name, ''), o.via FROM optout o "
			    "LEFT JOIN phone p ON p.number = o.number ORDER BY o.created DESC, o.number"),
	DB_SQL(BC_GRID_FIND, "SELECT code, name FROM grid WHERE upper(code) = upper(:name) OR name = :name "
			     "ORDER BY id LIMIT 1"),
	DB_SQL(BC_GROUP_FIND, "SELECT code, name FROM grp WHERE upper(code) = upper(:name) OR name = :name "
			      "ORDER BY id LIMIT 1"),
	DB_SQL(BC_COUNT, "SELECT count(*) " BC_RECIPIENTS_SQL),
	DB_SQL(BC_RECIPIENTS, "SELECT p.number " BC_RECIPIENTS_SQL " ORDER BY p.id"),
	DB_SQL(BC_ADD, "INSERT INTO broadcast (sender, scope_kind, scope, scope_label, text, state, code, created, "
		       "send_at) VALUES (:sender, :kind, :scope, :label, :text, :state, :code, :created, :send_at)"),
	DB_SQL(BC_GET, "SELECT " BC_COLS " FROM broadcast WHERE id = :id"),
	DB_SQL(BC_BY_CODE, "SELECT " BC_COLS " FROM broadcast WHERE sender = :sender AND code = :code "
			   "AND state = 'confirm' AND created >= :since ORDER BY id DESC LIMIT 1"),
	DB_SQL(BC_MOVE, "UPDATE broadcast SET state = :to, "
			"queued_at = CASE WHEN :to = 'queued' THEN :now ELSE queued_at END, "
			"done_at = CASE WHEN :to IN ('done', 'cancelled', 'expired') THEN :now ELSE done_at END, "
			"recipients = CASE WHEN :to = 'queued' THEN :n ELSE recipients END "
			"WHERE id = :id AND state = :from"),
	DB_SQL(BC_NEXT, "SELECT " BC_COLS " FROM broadcast WHERE state = 'scheduled' ORDER BY send_at, id LIMIT 1"),
	DB_SQL(BC_EXPIRE, "UPDATE broadcast SET state = 'expired', done_at = :before "
			  "WHERE state = 'confirm' AND created < :before"),
	DB_SQL(BC_TAG, "UPDATE sms_out SET broadcast_id = :b WHERE id = :id"),
	DB_SQL(BC_PROGRESS, "SELECT count(*), coalesce(sum(state = 'queued'), 0), coalesce(sum(state = 'sending'), 0), "
			    "coalesce(sum(state = 'sent'), 0), coalesce(sum(state = 'failed'), 0), "
			    "coalesce(sum(delivery = 'delivered'), 0), coalesce(sum(delivery = 'failed'), 0) "
			    "FROM sms_out WHERE broadcast_id = :id"),
	DB_SQL(BC_FINISHED,
	       "SELECT b.id FROM broadcast b WHERE b.state = 'queued' AND NOT EXISTS "
	       "(SELECT 1 FROM sms_out s WHERE s.broadcast_id = b.id AND (s.state IN ('queued', 'sending') "
	       "OR (s.delivery = 'pending' AND s.sent_at > :before))) ORDER BY b.id"),
	DB_SQL(BC_LIST, "SELECT b.id, b.created, b.state, b.scope_kind, b.scope, b.recipients, "
			"(SELECT count(*) FROM sms_out s WHERE s.broadcast_id = b.id AND s.state = 'sent'), "
			"(SELECT count(*) FROM sms_out s WHERE s.broadcast_id = b.id AND s.delivery = 'delivered'), "
			"(SELECT count(*) FROM sms_out s WHERE s.broadcast_id = b.id AND s.state = 'failed'), "
			"b.sender, b.text FROM broadcast b ORDER BY b.id DESC LIMIT :n"),
};
DB_STMT_TABLE(db_stmts_notice, stmts);

/* ---- opt-out ---- */

int db_optout_set(struct db_context *dbc, const char *number, bool out, const char *via, int64_t now)
{
	struct db_q *q;
	int rc, changed;

	if (!out) {
		q = db_q(dbc, DB_STMT_OPTOUT_DEL);
		db_bind_text(q, ":number", number);
		rc = db_exec(q);
		return rc < 0 ? rc : db_changes(dbc) > 0;
	}
	q = db_q(dbc, DB_STMT_OPTOUT_ADD);
	db_bind_text(q, ":number", number);
	db_bind_int(q, ":now", now);
	db_bind_text(q, ":via", via);
	rc = db_exec(q);
	if (rc < 0)
		return rc;
	changed = db_changes(dbc) > 0;
	/* what is still queued of a broadcast to it goes no further */
	q = db_q(dbc, DB_STMT_OPTOUT_WITHDRAW);
	db_bind_text(q, ":number", number);
	rc = db_exec(q);
	return rc < 0 ? rc : changed;
}

int db_optout_is(struct db_context *dbc, const char *number)
{
	struct db_q *q = db_q(dbc, DB_STMT_OPTOUT_IS);
	int64_t n = 0;
	int rc;

	db_bind_text(q, ":number", number);
	rc = db_int64(q, &n);
	return rc < 0 ? rc : n > 0;
}

static char *fmt_optout(void *ctx, struct db_row *st)
{
	char t[32];

	db_fmt_time(db_col_int64(st, 0), t, sizeof(t));
	return talloc_asprintf(ctx, "%s %-16s %-12s %s", t, db_col_text(st, 1),
			       db_col_text(st, 2)[0] ? db_col_text(st, 2) : "-", db_col_text(st, 3));
}

int db_optout_list(struct db_context *dbc, void (*cb)(void *data, const char *line), void *data)
{
	return db_lines(db_q(dbc, DB_STMT_OPTOUT_LIST), fmt_optout, cb, data);
}

/* ---- scopes ---- */

struct code_name {
	struct db_broadcast_scope *s;
	bool found;
};

static void code_name_row(void *data, struct db_row *st)
{
	struct code_name *c = data;

	db_col_copy(st, 0, c->s->code, sizeof(c->s->code));
	db_col_copy(st, 1, c->s->label, sizeof(c->s->label));
	c->found = true;
}

int db_broadcast_scope_find(struct db_context *dbc, const char *name, struct db_broadcast_scope *s)
{
	static const struct {
		enum db_stmt stmt;
		const char *kind;
	} look[] = {{DB_STMT_BC_GROUP_FIND, "group"}, {DB_STMT_BC_GRID_FIND, "grid"}};
	struct code_name c = {.s = s};

	for (unsigned i = 0; i < ARRAY_SIZE(look); i++) {
		struct db_q *q = db_q(dbc, look[i].stmt);
		int rc;

		db_bind_text(q, ":name", name);
		rc = db_row(q, code_name_row, &c);
		if (rc < 0 && rc != -ENOENT)
			return rc;
		if (c.found) {
			snprintf(s->kind, sizeof(s->kind), "%s", look[i].kind);
			return 0;
		}
	}
	return -ENOENT;
}

static void bind_scope(struct db_q *q, const struct db_broadcast_scope *s)
{
	db_bind_text(q, ":kind", s->kind);
	db_bind_text(q, ":code", s->code);
}

int db_broadcast_count(struct db_context *dbc, const struct db_broadcast_scope *s)
{
	struct db_q *q = db_q(dbc, DB_STMT_BC_COUNT);
	int64_t n = 0;
	int rc;

	bind_scope(q, s);
	rc = db_int64(q, &n);
	return rc < 0 ? rc : (int)n;
}

int db_broadcast_recipients(struct db_context *dbc, const struct db_broadcast_scope *s,
			    int (*cb)(void *data, const char *number), void *data)
{
	void *ctx = talloc_new(NULL);
	char **numbers = NULL;
	unsigned n = 0;
	struct db_q *q = db_q(dbc, DB_STMT_BC_RECIPIENTS);
	int rc;

	/* collected first: cb queues messages, which must not run while this statement steps */
	bind_scope(q, s);
	rc = db_lines_add(q, db_fmt_col0, ctx, &numbers, &n);
	for (unsigned i = 0; rc >= 0 && i < n; i++)
		rc = cb(data, numbers[i]);
	talloc_free(ctx);
	return rc < 0 ? rc : (int)n;
}

/* ---- broadcasts ---- */

struct bc_row {
	void *ctx;
	struct db_broadcast *b;
	bool found;
};

static void bc_fill(void *data, struct db_row *st)
{
	struct bc_row *r = data;
	struct db_broadcast *b = r->b;

	memset(b, 0, sizeof(*b));
	b->id = db_col_int64(st, 0);
	db_col_copy(st, 1, b->sender, sizeof(b->sender));
	db_col_copy(st, 2, b->scope.kind, sizeof(b->scope.kind));
	db_col_copy(st, 3, b->scope.code, sizeof(b->scope.code));
	db_col_copy(st, 4, b->scope.label, sizeof(b->scope.label));
	b->text = db_col_dup(r->ctx, st, 5);
	db_col_copy(st, 6, b->state, sizeof(b->state));
	db_col_copy(st, 7, b->code, sizeof(b->code));
	b->created = db_col_int64(st, 8);
	b->send_at = db_col_int64(st, 9);
	b->queued_at = db_col_int64(st, 10);
	b->done_at = db_col_int64(st, 11);
	b->recipients = db_col_int(st, 12);
	r->found = true;
}

static int bc_one(struct db_q *q, void *ctx, struct db_broadcast *b)
{
	struct bc_row r = {.ctx = ctx, .b = b};
	int rc = db_row(q, bc_fill, &r);

	return rc < 0 ? rc : r.found ? 0 : -ENOENT;
}

int db_broadcast_add(struct db_context *dbc, const struct db_broadcast *b, int64_t *id)
{
	struct db_q *q = db_q(dbc, DB_STMT_BC_ADD);
	int rc;

	db_bind_text(q, ":sender", b->sender);
	db_bind_text(q, ":kind", b->scope.kind);
	db_bind_text(q, ":scope", b->scope.code);
	db_bind_text(q, ":label", b->scope.label);
	db_bind_text(q, ":text", b->text);
	db_bind_text(q, ":state", b->code[0] ? "confirm" : "scheduled");
	if (b->code[0])
		db_bind_text(q, ":code", b->code);
	else
		db_bind_null(q, ":code");
	db_bind_int(q, ":created", b->created);
	db_bind_int(q, ":send_at", b->send_at);
	rc = db_exec(q);
	if (rc == 0 && id)
		*id = db_last_id(dbc);
	return rc;
}

int db_broadcast_get(struct db_context *dbc, void *ctx, int64_t id, struct db_broadcast *b)
{
	struct db_q *q = db_q(dbc, DB_STMT_BC_GET);

	db_bind_int(q, ":id", id);
	return bc_one(q, ctx, b);
}

int db_broadcast_by_code(struct db_context *dbc, void *ctx, const char *sender, const char *code, int64_t since,
			 struct db_broadcast *b)
{
	struct db_q *q = db_q(dbc, DB_STMT_BC_BY_CODE);

	db_bind_text(q, ":sender", sender);
	db_bind_text(q, ":code", code);
	db_bind_int(q, ":since", since);
	return bc_one(q, ctx, b);
}

int db_broadcast_move(struct db_context *dbc, int64_t id, const char *from, const char *to, int64_t now, int recipients)
{
	struct db_q *q = db_q(dbc, DB_STMT_BC_MOVE);

	db_bind_int(q, ":id", id);
	db_bind_text(q, ":from", from);
	db_bind_text(q, ":to", to);
	db_bind_int(q, ":now", now);
	db_bind_int(q, ":n", recipients);
	return db_exec_one(q);
}

int db_broadcast_due(struct db_context *dbc, void *ctx, int64_t now, struct db_broadcast *b, int64_t *next)
{
	int rc = bc_one(db_q(dbc, DB_STMT_BC_NEXT), ctx, b);

	if (next)
		*next = 0;
	if (rc < 0)
		return rc;
	if (b->send_at > now) {
		if (next)
			*next = b->send_at;
		return -ENOENT;
	}
	return 0;
}

int db_broadcast_expire(struct db_context *dbc, int64_t before)
{
	struct db_q *q = db_q(dbc, DB_STMT_BC_EXPIRE);
	int rc;

	db_bind_int(q, ":before", before);
	rc = db_exec(q);
	return rc < 0 ? rc : db_changes(dbc);
}

int db_broadcast_tag(struct db_context *dbc, int64_t msg_id, int64_t id)
{
	struct db_q *q = db_q(dbc, DB_STMT_BC_TAG);

	db_bind_int(q, ":id", msg_id);
	db_bind_int(q, ":b", id);
	return db_exec_one(q);
}

static void progress_row(void *data, struct db_row *st)
{
	struct db_broadcast_progress *p = data;

	p->total = db_col_int(st, 0);
	p->queued = db_col_int(st, 1);
	p->sending = db_col_int(st, 2);
	p->sent = db_col_int(st, 3);
	p->failed = db_col_int(st, 4);
	p->delivered = db_col_int(st, 5);
	p->delivery_failed = db_col_int(st, 6);
}

int db_broadcast_progress(struct db_context *dbc, int64_t id, struct db_broadcast_progress *p)
{
	struct db_q *q = db_q(dbc, DB_STMT_BC_PROGRESS);

	memset(p, 0, sizeof(*p));
	db_bind_int(q, ":id", id);
	return db_row(q, progress_row, p);
}

int db_broadcast_finished(struct db_context *dbc, void *ctx, int64_t before, int64_t **ids)
{
	struct db_q *q = db_q(dbc, DB_STMT_BC_FINISHED);

	db_bind_int(q, ":before", before);
	return db_collect_ids(q, ctx, ids);
}

static char *fmt_broadcast(void *ctx, struct db_row *st)
{
	char t[32];

	db_fmt_time(db_col_int64(st, 1), t, sizeof(t));
	return talloc_asprintf(ctx, "#%" PRId64 " %s %-9s %s %s to %d: sent %d delivered %d failed %d, by %s: %s",
			       (int64_t)db_col_int64(st, 0), t, db_col_text(st, 2), db_col_text(st, 3),
			       db_col_text(st, 4)[0] ? db_col_text(st, 4) : "-", db_col_int(st, 5), db_col_int(st, 6),
			       db_col_int(st, 7), db_col_int(st, 8), db_col_text(st, 9), db_col_text(st, 10));
}

int db_broadcast_list(struct db_context *dbc, int limit, void (*cb)(void *data, const char *line), void *data)
{
	struct db_q *q = db_q(dbc, DB_STMT_BC_LIST);

	db_bind_int(q, ":n", limit > 0 ? limit : 20);
	return db_lines(q, fmt_broadcast, cb, data);
}
