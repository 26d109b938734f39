/* The outbox: queued messages (sms_out), their claim by a modem or the SIP channel, the outcome
 * of each attempt, crash recovery and status reports. */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <talloc.h>
#include <osmocom/core/utils.h>

#include "db/db_priv.h"

static const struct db_stmt_def stmts[] = {
	DB_SQL(SMS_OUT_ADD,
	       "INSERT INTO sms_out (dest, channel, text, prio, state, attempts, next_try, created, delivery)"
	       " VALUES (:dest, :channel, :text, :prio, 'queued', 0, 0, :now, 'none')"),
	/* One statement, so the pick and the mark cannot be separated. The subquery walks the
	 * sms_out_queue index in (prio, id) order and filters next_try inside the index. */
	DB_SQL(SMS_OUT_CLAIM, "UPDATE sms_out SET state = 'sending', modem = :modem, attempts = attempts + 1"
			      " WHERE id = (SELECT id FROM sms_out WHERE state = 'queued' AND channel = :channel"
			      " AND next_try <= :now AND (:avoid = '' OR last_modem IS NULL OR last_modem != :avoid)"
			      " ORDER BY prio, id LIMIT 1)"
			      " RETURNING id, prio, dest, text, attempts, created, coalesce(last_modem, '')"),
	DB_SQL(SMS_OUT_RELEASE, "UPDATE sms_out SET state = 'queued', attempts = max(attempts - 1, 0), modem = NULL"
				" WHERE id = :id AND state = 'sending'"),
	DB_SQL(SMS_OUT_WAITING, "SELECT 1 FROM sms_out WHERE state = 'queued' AND channel = 'gsm'"
				" AND prio <= :prio AND next_try <= :now LIMIT 1"),
	DB_SQL(SMS_OUT_AVOID, "UPDATE sms_out SET last_modem = :modem WHERE id = :id AND state = 'queued'"),
	DB_SQL(SMS_OUT_SENT, "UPDATE sms_out SET state = 'sent', refs = :refs, parts = :parts, sent_at = :now,"
			     " error = NULL, delivery = 'pending' WHERE id = :id AND state = 'sending'"),
	DB_SQL(SMS_OUT_RETRY,
	       "UPDATE sms_out SET state = 'queued', next_try = :next_try, error = :reason,"
	       " last_modem = coalesce(modem, last_modem), modem = NULL WHERE id = :id AND state = 'sending'"),
	/* store-and-send: a part refused after others went out, the row stays 'sending' with its copies */
	DB_SQL(SMS_OUT_KEPT, "UPDATE sms_out SET attempts = attempts + 1, error = :reason WHERE id = :id"
			     " AND state = 'sending' RETURNING attempts"),
	DB_SQL(SMS_OUT_FAIL, "UPDATE sms_out SET state = 'failed', error = :reason WHERE id = :id"
			     " AND state IN ('queued', 'sending')"),
	/* rows with copies on a SIM (store-and-send) stay 'sending': they are read back on their modem */
	DB_SQL(SMS_OUT_RECOVER, "UPDATE sms_out SET state = 'queued', last_modem = coalesce(modem, last_modem),"
				" modem = NULL WHERE state = 'sending'"
				" AND NOT EXISTS (SELECT 1 FROM sms_out_copy c WHERE c.out_id = sms_out.id)"),
	DB_SQL(SMS_OUT_IS_SENDING, "SELECT 1 FROM sms_out WHERE id = :id AND state = 'sending'"),
	/* an index the SIM gives again is free there: a copy recorded at it is gone */
	DB_SQL(SMS_OUT_STORED, "INSERT OR REPLACE INTO sms_out_copy (modem, sim_index, out_id, part)"
			       " VALUES (:modem, :index, :id, :part)"),
	/* sending: the rows to read back; not sending: copies whose delete was not confirmed */
	DB_SQL(SMS_OUT_STORED_LIST,
	       "SELECT c.out_id, c.part, c.sim_index FROM sms_out_copy c JOIN sms_out o ON o.id = c.out_id"
	       " WHERE c.modem = :modem AND (o.state = 'sending') = :sending ORDER BY c.out_id, c.part"),
	DB_SQL(SMS_OUT_COPY_KNOWN, "SELECT 1 FROM sms_out_copy WHERE modem = :modem AND sim_index = :index"),
	DB_SQL(SMS_OUT_STORED_ALL, "SELECT DISTINCT o.id, c.modem FROM sms_out_copy c JOIN sms_out o ON o.id = c.out_id"
				   " WHERE o.state = 'sending'"),
	DB_SQL(SMS_OUT_RECOVER_ONE, "UPDATE sms_out SET state = 'queued', last_modem = coalesce(modem, last_modem),"
				    " modem = NULL WHERE id = :id AND state = 'sending'"),
	/* copies on a modem no longer configured: nobody can read or delete them */
	DB_SQL(SMS_OUT_COPIES_FORGET, "DELETE FROM sms_out_copy WHERE out_id = :id"),
	DB_SQL(SMS_OUT_STORED_GONE, "DELETE FROM sms_out_copy WHERE modem = :modem AND sim_index = :index"
				    " AND NOT EXISTS (SELECT 1 FROM sms_out o WHERE o.id = out_id"
				    " AND o.state = 'sending')"),
	DB_SQL(SMS_OUT_REPORT_FIND, "SELECT id FROM sms_out WHERE state = 'sent' AND modem = :modem"
				    " AND (',' || refs || ',') LIKE :pattern ORDER BY sent_at DESC, id DESC LIMIT 1"),
	/* 'failed' is final; a later 'pending' report (another part) does not undo 'delivered' */
	DB_SQL(SMS_OUT_REPORT_SET,
	       "UPDATE sms_out SET report_status = :status,"
	       " delivery = CASE WHEN delivery = 'failed' THEN 'failed' WHEN :status >= 64 THEN 'failed'"
	       "  WHEN :status < 32 THEN 'delivered' WHEN delivery = 'delivered' THEN 'delivered' ELSE 'pending' END,"
	       " delivered_at = CASE WHEN :status < 32 AND delivery != 'failed' THEN :ts ELSE delivered_at END"
	       " WHERE id = :id"),
	/* the console's queue view: sms_out_queue walks state 'queued' */
	DB_SQL(SMS_OUT_QUEUE_STATS,
	       "SELECT prio, count(*), min(created) FROM sms_out WHERE state = 'queued' GROUP BY prio"),
	DB_SQL(SMS_OUT_FAILED_SINCE, "SELECT count(*) FROM sms_out WHERE state = 'failed' AND created >= :since"),
	DB_SQL(SMS_OUT_GET, "SELECT id, dest, state, delivery, coalesce(parts, 0), attempts, prio, coalesce(error, ''),"
			    " created, coalesce(sent_at, 0), coalesce(delivered_at, 0) FROM sms_out WHERE id = :id"),
	/* the send API's delivery callbacks (db.h) */
	DB_SQL(SMS_OUT_SET_CALLBACK, "UPDATE sms_out SET callback_url = :url WHERE id = :id"),
	DB_SQL(CALLBACK_DUE,
	       "SELECT id, callback_url, ev, dest, coalesce(error, ''), callback_tries FROM"
	       " (SELECT id, callback_url, dest, error, callback_tries, callback_told,"
	       /* sent is told first, even when the report came before the first try */
	       "   CASE WHEN state = 'failed' THEN 'failed'"
	       "   WHEN state = 'sent' AND coalesce(callback_told, '') = '' THEN 'sent'"
	       "   WHEN delivery = 'delivered' THEN 'delivered' WHEN delivery = 'failed' THEN 'failed'"
	       "   WHEN state = 'sent' THEN 'sent' END AS ev"
	       "  FROM sms_out WHERE callback_url IS NOT NULL"
	       "  AND coalesce(callback_told, '') NOT IN ('delivered', 'failed') AND callback_next <= :now)"
	       " WHERE ev IS NOT NULL AND ev != coalesce(callback_told, '') ORDER BY id LIMIT :n"),
	DB_SQL(CALLBACK_TRY_ADD, "INSERT INTO sms_callback (sms_out_id, at, event, http_status, error)"
				 " VALUES (:id, :now, :event, :status, :error)"),
	DB_SQL(CALLBACK_TOLD, "UPDATE sms_out SET callback_told = :event, callback_tries = 0, callback_next = 0"
			      " WHERE id = :id"),
	DB_SQL(CALLBACK_RETRY, "UPDATE sms_out SET callback_tries = callback_tries + 1, callback_next = :next"
			       " WHERE id = :id"),
};
DB_STMT_TABLE(db_stmts_outbox, stmts);

int db_sms_out_add_channel(struct db_context *dbc, const char *channel, const char *dest, const char *text, int prio,
			   int64_t *id_out)
{
	struct db_q *q;
	int rc;

	if (id_out)
		*id_out = 0;
	if (!dest || !*dest || !text)
		return -EINVAL;
	q = db_q(dbc, DB_STMT_SMS_OUT_ADD);
	db_bind_text(q, ":dest", dest);
	db_bind_text(q, ":channel", channel);
	db_bind_text(q, ":text", text);
	db_bind_int(q, ":prio", prio);
	db_bind_int(q, ":now", time(NULL));
	rc = db_exec(q);
	if (rc == 0 && id_out)
		*id_out = db_last_id(dbc);
	return rc;
}

int db_sms_out_add(struct db_context *dbc, const char *dest, const char *text, int prio, int64_t *id_out)
{
	return db_sms_out_add_channel(dbc, "gsm", dest, text, prio, id_out);
}

struct claim_row {
	void *ctx;
	struct db_sms_out *out;
};

static void claim_row(void *data, struct db_row *st)
{
	struct claim_row *c = data;
	struct db_sms_out *out = c->out;

	out->id = db_col_int64(st, 0);
	out->prio = db_col_int(st, 1);
	db_col_copy(st, 2, out->dest, sizeof(out->dest));
	out->text = db_col_dup(c->ctx, st, 3);
	out->attempts = db_col_int(st, 4);
	out->created = db_col_int64(st, 5);
	db_col_copy(st, 6, out->last_modem, sizeof(out->last_modem));
}

static int claim(struct db_context *dbc, void *ctx, const char *channel, const char *modem, const char *avoid,
		 int64_t now, struct db_sms_out *out)
{
	struct db_q *q = db_q(dbc, DB_STMT_SMS_OUT_CLAIM);
	struct claim_row c = {ctx, out};
	int rc;

	memset(out, 0, sizeof(*out));
	db_bind_text(q, ":modem", modem);
	db_bind_text(q, ":channel", channel);
	db_bind_text(q, ":avoid", avoid);
	db_bind_int(q, ":now", now);
	/* RETURNING: the update is complete only once the statement has run to its end (db_row) */
	rc = db_row(q, claim_row, &c);
	if (rc == 0 && !out->text)
		rc = -ENOMEM;
	return rc;
}

int db_sms_out_claim_channel(struct db_context *dbc, void *ctx, const char *channel, const char *modem, int64_t now,
			     struct db_sms_out *out)
{
	return claim(dbc, ctx, channel, modem, "", now, out);
}

int db_sms_out_claim(struct db_context *dbc, void *ctx, const char *modem, int64_t now, struct db_sms_out *out)
{
	return claim(dbc, ctx, "gsm", modem, "", now, out);
}

int db_sms_out_claim_other(struct db_context *dbc, void *ctx, const char *modem, int64_t now, struct db_sms_out *out)
{
	return claim(dbc, ctx, "gsm", modem, modem, now, out);
}

int db_sms_out_release(struct db_context *dbc, int64_t id)
{
	struct db_q *q = db_q(dbc, DB_STMT_SMS_OUT_RELEASE);

	db_bind_int(q, ":id", id);
	return db_exec_one(q);
}

bool db_sms_out_waiting(struct db_context *dbc, int prio, int64_t now)
{
	struct db_q *q = db_q(dbc, DB_STMT_SMS_OUT_WAITING);

	db_bind_int(q, ":prio", prio);
	db_bind_int(q, ":now", now);
	return db_row(q, NULL, NULL) == 0;
}

int db_sms_out_avoid(struct db_context *dbc, int64_t id, const char *modem)
{
	struct db_q *q = db_q(dbc, DB_STMT_SMS_OUT_AVOID);

	db_bind_int(q, ":id", id);
	db_bind_text(q, ":modem", modem);
	return db_exec_one(q);
}

int db_sms_out_sent(struct db_context *dbc, int64_t id, const char *refs, int64_t now)
{
	struct db_q *q;
	unsigned parts = 0;

	if (!refs)
		refs = "";
	if (*refs)
		parts = 1;
	for (const char *p = refs; *p; p++)
		parts += *p == ',';
	q = db_q(dbc, DB_STMT_SMS_OUT_SENT);
	db_bind_int(q, ":id", id);
	db_bind_text(q, ":refs", refs);
	db_bind_int(q, ":parts", parts);
	db_bind_int(q, ":now", now);
	return db_exec_one(q);
}

int db_sms_out_retry(struct db_context *dbc, int64_t id, int64_t next_try, const char *reason)
{
	struct db_q *q = db_q(dbc, DB_STMT_SMS_OUT_RETRY);

	db_bind_int(q, ":id", id);
	db_bind_int(q, ":next_try", next_try);
	db_bind_text(q, ":reason", reason);
	return db_exec_one(q);
}

int db_sms_out_kept(struct db_context *dbc, int64_t id, const char *reason, unsigned *attempts)
{
	struct db_q *q = db_q(dbc, DB_STMT_SMS_OUT_KEPT);
	int64_t n = 0;
	int rc;

	db_bind_int(q, ":id", id);
	db_bind_text(q, ":reason", reason);
	rc = db_int64(q, &n);
	if (rc == 0 && attempts)
		*attempts = n < 0 ? 0 : (unsigned)n;
	return rc;
}

int db_sms_out_fail(struct db_context *dbc, int64_t id, const char *reason)
{
	struct db_q *q = db_q(dbc, DB_STMT_SMS_OUT_FAIL);

	db_bind_int(q, ":id", id);
	db_bind_text(q, ":reason", reason);
	return db_exec_one(q);
}

int db_sms_out_recover(struct db_context *dbc, int *n)
{
	int rc, changed = 0;

	if (n)
		*n = 0;
	rc = db_sp_begin(dbc);
	if (rc < 0)
		return rc;
	rc = db_exec(db_q(dbc, DB_STMT_SMS_OUT_RECOVER));
	if (rc == 0) {
		changed = db_changes(dbc);
		if (changed)
			rc = db_stat_add(dbc, "out_possible_dup", changed);
	}
	rc = db_sp_end(dbc, rc);
	if (rc == 0 && n)
		*n = changed;
	return rc;
}

int db_sms_out_stored(struct db_context *dbc, int64_t id, const char *modem, const int *index, unsigned n)
{
	struct db_q *q;
	int64_t one;
	int rc;

	if (!modem || !*modem || !index || !n)
		return -EINVAL;
	for (unsigned k = 0; k < n; k++)
		if (index[k] <= 0)
			return -EINVAL;
	rc = db_sp_begin(dbc);
	if (rc < 0)
		return rc;
	q = db_q(dbc, DB_STMT_SMS_OUT_IS_SENDING);
	db_bind_int(q, ":id", id);
	rc = db_int64(q, &one);
	for (unsigned k = 0; k < n && rc == 0; k++) {
		q = db_q(dbc, DB_STMT_SMS_OUT_STORED);
		db_bind_text(q, ":modem", modem);
		db_bind_int(q, ":index", index[k]);
		db_bind_int(q, ":id", id);
		db_bind_int(q, ":part", k + 1);
		rc = db_exec(q);
	}
	return db_sp_end(dbc, rc);
}

struct stored_list {
	void (*cb)(void *data, int64_t id, int part, int index);
	void *data;
	int n;
};

static void stored_row(void *data, struct db_row *st)
{
	struct stored_list *l = data;

	l->cb(l->data, db_col_int64(st, 0), db_col_int(st, 1), db_col_int(st, 2));
	l->n++;
}

int db_sms_out_stored_list(struct db_context *dbc, const char *modem, bool sending,
			   void (*cb)(void *data, int64_t id, int part, int index), void *data)
{
	struct db_q *q = db_q(dbc, DB_STMT_SMS_OUT_STORED_LIST);
	struct stored_list l = {cb, data, 0};
	int rc;

	db_bind_text(q, ":modem", modem);
	db_bind_int(q, ":sending", sending);
	rc = db_rows(q, stored_row, &l);
	return rc < 0 ? rc : l.n;
}

int db_sms_out_copy_known(struct db_context *dbc, const char *modem, int index)
{
	struct db_q *q = db_q(dbc, DB_STMT_SMS_OUT_COPY_KNOWN);
	int64_t one;
	int rc;

	db_bind_text(q, ":modem", modem);
	db_bind_int(q, ":index", index);
	rc = db_int64(q, &one);
	return rc == -ENOENT ? 0 : rc < 0 ? rc : 1;
}

struct orphans {
	const char *const *names;
	unsigned n;
	int64_t ids[64];
	unsigned nids;
};

static void orphan_row(void *data, struct db_row *st)
{
	struct orphans *o = data;
	const char *m = db_col_text_or_null(st, 1);

	for (unsigned i = 0; i < o->n; i++)
		if (m && !strcmp(m, o->names[i]))
			return;
	if (o->nids < ARRAY_SIZE(o->ids))
		o->ids[o->nids++] = db_col_int64(st, 0);
}

int db_sms_out_stored_orphans(struct db_context *dbc, const char *const *names, unsigned n, int *requeued)
{
	struct orphans o = {.names = names, .n = n};
	int rc, done = 0;

	if (requeued)
		*requeued = 0;
	rc = db_rows(db_q(dbc, DB_STMT_SMS_OUT_STORED_ALL), orphan_row, &o);
	if (rc < 0)
		return rc;
	if (!o.nids)
		return 0;
	rc = db_sp_begin(dbc);
	if (rc < 0)
		return rc;
	for (unsigned i = 0; i < o.nids && rc == 0; i++) {
		struct db_q *q = db_q(dbc, DB_STMT_SMS_OUT_RECOVER_ONE);

		db_bind_int(q, ":id", o.ids[i]);
		rc = db_exec(q);
		if (rc == 0)
			done += db_changes(dbc);
		if (rc == 0) {
			q = db_q(dbc, DB_STMT_SMS_OUT_COPIES_FORGET);
			db_bind_int(q, ":id", o.ids[i]);
			rc = db_exec(q);
		}
	}
	if (rc == 0 && done)
		rc = db_stat_add(dbc, "out_possible_dup", done);
	rc = db_sp_end(dbc, rc);
	if (rc == 0 && requeued)
		*requeued = done;
	return rc;
}

int db_sms_out_stored_gone(struct db_context *dbc, const char *modem, int index)
{
	struct db_q *q = db_q(dbc, DB_STMT_SMS_OUT_STORED_GONE);

	db_bind_text(q, ":modem", modem);
	db_bind_int(q, ":index", index);
	return db_exec(q);
}

int db_sms_out_report(struct db_context *dbc, const char *modem, unsigned mr, unsigned status, int64_t ts)
{
	struct db_q *q = db_q(dbc, DB_STMT_SMS_OUT_REPORT_FIND);
	char pattern[24];
	int64_t id;
	int rc;

	snprintf(pattern, sizeof(pattern), "%%,%u,%%", mr);
	db_bind_text(q, ":modem", modem);
	db_bind_text(q, ":pattern", pattern);
	rc = db_int64(q, &id);
	if (rc < 0)
		return rc;
	q = db_q(dbc, DB_STMT_SMS_OUT_REPORT_SET);
	db_bind_int(q, ":id", id);
	db_bind_int(q, ":status", status);
	db_bind_int(q, ":ts", ts);
	return db_exec_one(q);
}

static void queue_stat_row(void *data, struct db_row *st)
{
	struct db_queue_stat *stat = data;
	int prio = db_col_int(st, 0);

	if (prio < DB_PRIO_SOS || prio > DB_PRIO_BULK)
		prio = DB_PRIO_BULK; /* a priority of no name counts with the least urgent */
	stat[prio].depth += db_col_int64(st, 1);
	if (!stat[prio].oldest || db_col_int64(st, 2) < stat[prio].oldest)
		stat[prio].oldest = db_col_int64(st, 2);
}

int db_sms_out_queue_stats(struct db_context *dbc, struct db_queue_stat stat[4])
{
	int rc;

	memset(stat, 0, 4 * sizeof(*stat));
	rc = db_rows(db_q(dbc, DB_STMT_SMS_OUT_QUEUE_STATS), queue_stat_row, stat);
	return rc < 0 ? rc : 0;
}

int db_sms_out_failed_since(struct db_context *dbc, int64_t since, int64_t *n)
{
	struct db_q *q = db_q(dbc, DB_STMT_SMS_OUT_FAILED_SINCE);

	db_bind_int(q, ":since", since);
	return db_int64(q, n);
}

static void out_info_row(void *data, struct db_row *st)
{
	struct db_sms_out_info *o = data;

	memset(o, 0, sizeof(*o));
	o->id = db_col_int64(st, 0);
	db_col_copy(st, 1, o->dest, sizeof(o->dest));
	db_col_copy(st, 2, o->state, sizeof(o->state));
	db_col_copy(st, 3, o->delivery, sizeof(o->delivery));
	o->parts = db_col_int(st, 4);
	o->attempts = db_col_int(st, 5);
	o->prio = db_col_int(st, 6);
	db_col_copy(st, 7, o->error, sizeof(o->error));
	o->created = db_col_int64(st, 8);
	o->sent_at = db_col_int64(st, 9);
	o->delivered_at = db_col_int64(st, 10);
}

int db_sms_out_get(struct db_context *dbc, int64_t id, struct db_sms_out_info *out)
{
	struct db_q *q = db_q(dbc, DB_STMT_SMS_OUT_GET);

	db_bind_int(q, ":id", id);
	return db_row(q, out_info_row, out);
}

int db_sms_out_set_callback(struct db_context *dbc, int64_t id, const char *url)
{
	struct db_q *q = db_q(dbc, DB_STMT_SMS_OUT_SET_CALLBACK);

	db_bind_int(q, ":id", id);
	db_bind_text(q, ":url", url);
	return db_exec_one(q);
}

static void callback_fill(void *elem, void *ctx, struct db_row *st)
{
	struct db_callback *c = elem;

	(void)ctx;
	c->id = db_col_int64(st, 0);
	db_col_copy(st, 1, c->url, sizeof(c->url));
	db_col_copy(st, 2, c->event, sizeof(c->event));
	db_col_copy(st, 3, c->dest, sizeof(c->dest));
	db_col_copy(st, 4, c->error, sizeof(c->error));
	c->tries = db_col_int(st, 5);
}

int db_callback_due(struct db_context *dbc, void *ctx, int64_t now, int n, struct db_callback **out)
{
	struct db_q *q = db_q(dbc, DB_STMT_CALLBACK_DUE);

	db_bind_int(q, ":now", now);
	db_bind_int(q, ":n", n);
	return db_collect(q, ctx, sizeof(**out), callback_fill, (void **)out);
}

int db_callback_result(struct db_context *dbc, int64_t id, const char *event, int http_status, const char *error,
		       bool told, int64_t now, int64_t next_try)
{
	struct db_q *q;
	int rc;

	rc = db_sp_begin(dbc);
	if (rc < 0)
		return rc;
	q = db_q(dbc, DB_STMT_CALLBACK_TRY_ADD);
	db_bind_int(q, ":id", id);
	db_bind_int(q, ":now", now);
	db_bind_text(q, ":event", event);
	if (http_status)
		db_bind_int(q, ":status", http_status);
	else
		db_bind_null(q, ":status");
	db_bind_text(q, ":error", error);
	rc = db_exec(q);
	if (rc == 0 && told) {
		q = db_q(dbc, DB_STMT_CALLBACK_TOLD);
		db_bind_int(q, ":id", id);
		db_bind_text(q, ":event", event);
		rc = db_exec_one(q);
	} else if (rc == 0) {
		q = db_q(dbc, DB_STMT_CALLBACK_RETRY);
		db_bind_int(q, ":id", id);
		db_bind_int(q, ":next", next_try);
		rc = db_exec_one(q);
	}
	return db_sp_end(dbc, rc);
}
