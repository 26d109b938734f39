/* The inbox: received messages (sms_in, deduplicated by key) and the parts of concatenated
 * messages until they are assembled (sms_in_part). */

#include <errno.h>
#include <string.h>

#include <talloc.h>
#include <osmocom/core/utils.h>

#include "db/db_priv.h"

static const struct db_stmt_def stmts[] = {
	DB_SQL(SMS_IN_ADD,
	       "INSERT INTO sms_in (channel, modem, sender, text, raw, smsc_ts, recv_ts, flags, dedup, state)"
	       " VALUES (:channel, :modem, :sender, :text, :raw, :smsc_ts, :recv_ts, :flags, :dedup, 'new')"),
	DB_SQL(SMS_IN_GET, "SELECT id, channel, modem, sender, text, raw, smsc_ts, recv_ts, flags, dedup, state"
			   " FROM sms_in WHERE id = :id"),
	DB_SQL(SMS_IN_DONE, "UPDATE sms_in SET state = 'done', note = :note WHERE id = :id"),
	DB_SQL(SMS_IN_NEW, "SELECT id FROM sms_in WHERE state = 'new' ORDER BY id"),
	/* the newest group of (sender, ref, total) still waiting and not holding this seq yet */
	DB_SQL(PART_FIND_GROUP, "SELECT part_group FROM sms_in_part"
				" WHERE msg_id IS NULL AND sender = :sender AND ref = :ref AND total = :total"
				" GROUP BY part_group HAVING sum(seq = :seq) = 0 ORDER BY part_group DESC LIMIT 1"),
	DB_SQL(PART_ADD, "INSERT INTO sms_in_part (modem, sender, ref, total, seq, text, raw, smsc_ts, recv_ts, flags,"
			 " dedup, part_group) VALUES (:modem, :sender, :ref, :total, :seq, :text, :raw, :smsc_ts,"
			 " :recv_ts, :flags, :dedup, :group)"),
	DB_SQL(PART_SELF_GROUP, "UPDATE sms_in_part SET part_group = id WHERE id = :id"),
	DB_SQL(PART_GROUP_COUNT, "SELECT count(*) FROM sms_in_part WHERE part_group = :group"),
	DB_SQL(PART_GROUP_PARTS, "SELECT seq, total, modem, sender, text, raw, smsc_ts, recv_ts, flags, dedup"
				 " FROM sms_in_part WHERE part_group = :group ORDER BY seq"),
	DB_SQL(PART_GROUP_DONE, "UPDATE sms_in_part SET msg_id = :msg WHERE part_group = :group"),
	DB_SQL(PART_EXPIRED, "SELECT part_group FROM sms_in_part WHERE msg_id IS NULL"
			     " GROUP BY part_group HAVING max(recv_ts) < :before ORDER BY part_group"),
};
DB_STMT_TABLE(db_stmts_inbox, stmts);

int db_sms_in_add(struct db_context *dbc, const struct db_sms_in *m, int64_t *id_out)
{
	struct db_q *q;
	int rc;

	if (id_out)
		*id_out = 0;
	if (!m->sender || !m->text || !m->dedup)
		return -EINVAL;
	q = db_q(dbc, DB_STMT_SMS_IN_ADD);
	db_bind_text(q, ":channel", m->channel ? m->channel : "gsm");
	db_bind_text(q, ":modem", m->modem);
	db_bind_text(q, ":sender", m->sender);
	db_bind_text(q, ":text", m->text);
	db_bind_text(q, ":raw", m->raw);
	db_bind_int(q, ":smsc_ts", m->smsc_ts);
	db_bind_int(q, ":recv_ts", m->recv_ts);
	db_bind_int(q, ":flags", m->flags);
	db_bind_text(q, ":dedup", m->dedup);
	rc = db_exec(q);
	if (rc == 0 && id_out)
		*id_out = db_last_id(dbc);
	return rc;
}

struct in_row {
	void *ctx;
	struct db_sms_in *out;
};

static void sms_in_row(void *data, struct db_row *st)
{
	struct in_row *r = data;
	struct db_sms_in *out = r->out;

	out->id = db_col_int64(st, 0);
	out->channel = db_col_dup(r->ctx, st, 1);
	out->modem = db_col_dup(r->ctx, st, 2);
	out->sender = db_col_dup(r->ctx, st, 3);
	out->text = db_col_dup(r->ctx, st, 4);
	out->raw = db_col_dup(r->ctx, st, 5);
	out->smsc_ts = db_col_int64(st, 6);
	out->recv_ts = db_col_int64(st, 7);
	out->flags = (unsigned)db_col_int64(st, 8);
	out->dedup = db_col_dup(r->ctx, st, 9);
	out->state = db_col_dup(r->ctx, st, 10);
}

int db_sms_in_get(struct db_context *dbc, void *ctx, int64_t id, struct db_sms_in *out)
{
	struct db_q *q = db_q(dbc, DB_STMT_SMS_IN_GET);
	struct in_row r = {ctx, out};

	memset(out, 0, sizeof(*out));
	db_bind_int(q, ":id", id);
	return db_row(q, sms_in_row, &r);
}

int db_sms_in_done(struct db_context *dbc, int64_t id, const char *note)
{
	struct db_q *q = db_q(dbc, DB_STMT_SMS_IN_DONE);

	db_bind_int(q, ":id", id);
	db_bind_text(q, ":note", note);
	return db_exec_one(q);
}

int db_sms_in_foreach_new(struct db_context *dbc, void (*cb)(void *data, int64_t id), void *data)
{
	void *tmp = talloc_new(dbc);
	int64_t *ids;
	int n;

	/* collected first: cb routes each message and uses the database */
	n = db_collect_ids(db_q(dbc, DB_STMT_SMS_IN_NEW), tmp, &ids);
	for (int i = 0; i < n; i++)
		cb(data, ids[i]);
	talloc_free(tmp);
	return n;
}

/* ---- concatenated messages ---- */

struct assembly {
	void *ctx;
	struct db_sms_in m;
	char *text, *raw;
	unsigned expect, total;
};

static void part_row(void *data, struct db_row *st)
{
	struct assembly *a = data;
	unsigned seq = (unsigned)db_col_int(st, 0);
	const char *r = db_col_text_or_null(st, 5);
	int64_t recv_ts = db_col_int64(st, 7);

	a->total = (unsigned)db_col_int(st, 1);
	if (!a->m.sender) {
		/* the first part present speaks for the message */
		a->m.modem = db_col_dup(a->ctx, st, 2);
		a->m.sender = db_col_dup(a->ctx, st, 3);
		a->m.smsc_ts = db_col_int64(st, 6);
		a->m.dedup = talloc_asprintf(a->ctx, "%s#msg", db_col_text(st, 9));
	}
	for (; a->expect < seq; a->expect++)
		a->text = talloc_strdup_append_buffer(a->text, "[…]");
	a->text = talloc_strdup_append_buffer(a->text, db_col_text(st, 4));
	if (r)
		a->raw = a->raw ? talloc_asprintf_append_buffer(a->raw, "\n%s", r) : talloc_strdup(a->ctx, r);
	if (recv_ts > a->m.recv_ts)
		a->m.recv_ts = recv_ts;
	a->m.flags |= (unsigned)db_col_int64(st, 8);
	a->expect = seq + 1;
}

/* Assemble the parts of one group into an sms_in row; missing parts become "[…]". */
static int assemble(struct db_context *dbc, int64_t group, bool incomplete, int64_t *msg_id)
{
	void *tmp = talloc_new(dbc);
	struct assembly a = {
		.ctx = tmp,
		.m = {.channel = "gsm", .flags = incomplete ? DB_SMS_IN_INCOMPLETE : 0},
		.text = talloc_strdup(tmp, ""),
		.expect = 1,
	};
	struct db_q *q = db_q(dbc, DB_STMT_PART_GROUP_PARTS);
	int rc;

	db_bind_int(q, ":group", group);
	rc = db_rows(q, part_row, &a);
	if (rc < 0)
		goto out;
	if (!a.m.sender) {
		rc = -ENOENT;
		goto out;
	}
	for (; a.expect <= a.total; a.expect++)
		a.text = talloc_strdup_append_buffer(a.text, "[…]");
	a.m.text = a.text;
	a.m.raw = a.raw;
	rc = db_sms_in_add(dbc, &a.m, msg_id);
	if (rc < 0)
		goto out;
	q = db_q(dbc, DB_STMT_PART_GROUP_DONE);
	db_bind_int(q, ":msg", *msg_id);
	db_bind_int(q, ":group", group);
	rc = db_exec(q);
out:
	talloc_free(tmp);
	return rc;
}

static int find_group(struct db_context *dbc, const struct db_sms_part *p, int64_t *group)
{
	struct db_q *q = db_q(dbc, DB_STMT_PART_FIND_GROUP);
	int rc;

	*group = 0;
	db_bind_text(q, ":sender", p->sender);
	db_bind_int(q, ":ref", p->ref);
	db_bind_int(q, ":total", p->total);
	db_bind_int(q, ":seq", p->seq);
	rc = db_int64(q, group);
	return rc == -ENOENT ? 0 : rc;
}

static int part_insert(struct db_context *dbc, const struct db_sms_part *p, int64_t *group)
{
	struct db_q *q = db_q(dbc, DB_STMT_PART_ADD);
	int rc;

	db_bind_text(q, ":modem", p->modem);
	db_bind_text(q, ":sender", p->sender);
	db_bind_int(q, ":ref", p->ref);
	db_bind_int(q, ":total", p->total);
	db_bind_int(q, ":seq", p->seq);
	db_bind_text(q, ":text", p->text);
	db_bind_text(q, ":raw", p->raw);
	db_bind_int(q, ":smsc_ts", p->smsc_ts);
	db_bind_int(q, ":recv_ts", p->recv_ts);
	db_bind_int(q, ":flags", p->flags);
	db_bind_text(q, ":dedup", p->dedup);
	db_bind_id(q, ":group", *group);
	rc = db_exec(q);
	if (rc < 0 || *group)
		return rc;
	/* the first part of a new group names the group */
	*group = db_last_id(dbc);
	q = db_q(dbc, DB_STMT_PART_SELF_GROUP);
	db_bind_int(q, ":id", *group);
	return db_exec(q);
}

int db_sms_part_add(struct db_context *dbc, const struct db_sms_part *p, int64_t *msg_id)
{
	struct db_q *q;
	int64_t group, n;
	int rc;

	*msg_id = 0;
	if (!p->sender || !p->text || !p->dedup || p->total < 1 || p->total > 255 || p->seq < 1 || p->seq > p->total)
		return -EINVAL;
	rc = db_sp_begin(dbc);
	if (rc < 0)
		return rc;
	/* A part joins the newest waiting group of its (sender, ref, total) that lacks its seq; a
	 * seq already present means the sender reused the ref for a new message. */
	rc = find_group(dbc, p, &group);
	if (rc < 0)
		goto out;
	rc = part_insert(dbc, p, &group);
	if (rc < 0)
		goto out;
	q = db_q(dbc, DB_STMT_PART_GROUP_COUNT);
	db_bind_int(q, ":group", group);
	rc = db_int64(q, &n);
	if (rc < 0)
		goto out;
	if (n >= p->total)
		rc = assemble(dbc, group, false, msg_id);
out:
	if (rc < 0)
		*msg_id = 0;
	return db_sp_end(dbc, rc);
}

int db_sms_part_expire(struct db_context *dbc, int64_t before, void (*cb)(void *data, int64_t msg_id), void *data)
{
	struct db_q *q = db_q(dbc, DB_STMT_PART_EXPIRED);
	void *tmp = talloc_new(dbc);
	int64_t *groups;
	int n, rc, done = 0;

	db_bind_int(q, ":before", before);
	n = db_collect_ids(q, tmp, &groups);
	if (n < 0) {
		rc = n;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		int64_t msg_id = 0;

		rc = db_sp_begin(dbc);
		if (rc < 0)
			goto out;
		rc = db_sp_end(dbc, assemble(dbc, groups[i], true, &msg_id));
		if (rc < 0)
			goto out;
		done++;
		if (cb)
			cb(data, msg_id);
	}
	rc = done;
out:
	talloc_free(tmp);
	return rc;
}
