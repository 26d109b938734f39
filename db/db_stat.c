/* Counters, settings, the queue counts and the listings of the show commands. */

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <talloc.h>
#include <osmocom/core/utils.h>

#include "db/db_priv.h"

static const struct db_stmt_def stmts[] = {
	DB_SQL(STAT_ADD, "INSERT INTO stat (name, value) VALUES (:name, :delta)"
			 " ON CONFLICT (name) DO UPDATE SET value = stat.value + excluded.value"),
	DB_SQL(STAT_GET, "SELECT value FROM stat WHERE name = :name"),
	DB_SQL(STAT_ALL, "SELECT name, value FROM stat ORDER BY name"),
	DB_SQL(SETTING_SET, "INSERT INTO setting (name, value) VALUES (:name, :value)"
			    " ON CONFLICT (name) DO UPDATE SET value = excluded.value"),
	DB_SQL(SETTING_GET, "SELECT value FROM setting WHERE name = :name"),
	DB_SQL(SMS_IN_COUNTS, "SELECT state, count(*) FROM sms_in GROUP BY state"),
	DB_SQL(PART_OPEN_COUNT, "SELECT count(*) FROM sms_in_part WHERE msg_id IS NULL"),
	DB_SQL(SMS_OUT_COUNTS, "SELECT state, count(*) FROM sms_out GROUP BY state"),
	DB_SQL(SMS_IN_LIST,
	       "SELECT id, datetime(recv_ts, 'unixepoch', 'localtime'), channel, coalesce(modem, '-'),"
	       " sender, state, flags, text, coalesce(note, '') FROM sms_in ORDER BY id DESC LIMIT :limit"),
	DB_SQL(SMS_OUT_LIST, "SELECT id, datetime(created, 'unixepoch', 'localtime'), prio, channel, dest, state,"
			     " attempts, coalesce(modem, last_modem, '-'), coalesce(refs, ''), delivery,"
			     " coalesce(error, ''), text FROM sms_out ORDER BY id DESC LIMIT :limit"),
};
DB_STMT_TABLE(db_stmts_stat, stmts);

/* ---- counters ---- */

int db_stat_add(struct db_context *dbc, const char *name, int64_t delta)
{
	struct db_q *q = db_q(dbc, DB_STMT_STAT_ADD);

	db_bind_text(q, ":name", name);
	db_bind_int(q, ":delta", delta);
	return db_exec(q);
}

int64_t db_stat_get(struct db_context *dbc, const char *name)
{
	struct db_q *q = db_q(dbc, DB_STMT_STAT_GET);
	int64_t val = 0;

	db_bind_text(q, ":name", name);
	/* absent: 0; an error is logged by the run */
	if (db_int64(q, &val) < 0)
		val = 0;
	return val;
}

struct stat_entry {
	char *name;
	int64_t value;
};

static void stat_fill(void *elem, void *ctx, struct db_row *st)
{
	struct stat_entry *e = elem;

	e->name = talloc_strdup(ctx, db_col_text(st, 0));
	e->value = db_col_int64(st, 1);
}

int db_stat_foreach(struct db_context *dbc, void (*cb)(void *data, const char *name, int64_t value), void *data)
{
	void *tmp = talloc_new(dbc);
	struct stat_entry *e;
	int n = db_collect(db_q(dbc, DB_STMT_STAT_ALL), tmp, sizeof(*e), stat_fill, (void **)&e);

	for (int i = 0; i < n; i++)
		cb(data, e[i].name, e[i].value);
	talloc_free(tmp);
	return n;
}

/* ---- settings ---- */

int db_setting_set(struct db_context *dbc, const char *name, const char *value)
{
	struct db_q *q = db_q(dbc, DB_STMT_SETTING_SET);

	db_bind_text(q, ":name", name);
	db_bind_text(q, ":value", value);
	return db_exec(q);
}

int db_setting_get(struct db_context *dbc, const char *name, char *buf, size_t len)
{
	struct db_q *q = db_q(dbc, DB_STMT_SETTING_GET);

	db_bind_text(q, ":name", name);
	return db_row_text(q, buf, len);
}

/* ---- queue counts ---- */

struct state_counts {
	const char *const *names;
	int64_t *counts;
	unsigned n;
};

static void state_count_row(void *data, struct db_row *st)
{
	struct state_counts *c = data;
	const char *state = db_col_text(st, 0);

	for (unsigned i = 0; i < c->n; i++)
		if (!strcmp(state, c->names[i]))
			c->counts[i] = db_col_int64(st, 1);
}

int db_sms_out_counts(struct db_context *dbc, int64_t counts[_NUM_DB_OUT])
{
	static const char *const names[_NUM_DB_OUT] = {
		[DB_OUT_QUEUED] = "queued",
		[DB_OUT_SENDING] = "sending",
		[DB_OUT_SENT] = "sent",
		[DB_OUT_FAILED] = "failed",
	};
	struct state_counts c = {names, counts, _NUM_DB_OUT};
	int rc;

	memset(counts, 0, sizeof(int64_t) * _NUM_DB_OUT);
	rc = db_rows(db_q(dbc, DB_STMT_SMS_OUT_COUNTS), state_count_row, &c);
	return rc < 0 ? rc : 0;
}

int db_sms_in_counts(struct db_context *dbc, int64_t *n_new, int64_t *n_done, int64_t *n_parts_waiting)
{
	static const char *const names[] = {"new", "done"};
	int64_t counts[2] = {0, 0}, waiting;
	struct state_counts c = {names, counts, 2};
	int rc;

	*n_new = *n_done = 0;
	rc = db_rows(db_q(dbc, DB_STMT_SMS_IN_COUNTS), state_count_row, &c);
	if (rc < 0)
		return rc;
	*n_new = counts[0];
	*n_done = counts[1];
	rc = db_int64(db_q(dbc, DB_STMT_PART_OPEN_COUNT), &waiting);
	if (rc < 0)
		return rc;
	if (n_parts_waiting)
		*n_parts_waiting = waiting;
	return 0;
}

/* ---- listings ---- */

/* One line of text for a listing: control characters become spaces, long text is cut at a
 * character boundary. */
static char *one_line(void *ctx, const char *s, size_t max)
{
	size_t len = s ? strlen(s) : 0, cut = len;
	char *r;

	if (len > max) {
		cut = max;
		while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
			cut--;
	}
	r = talloc_strndup(ctx, s ? s : "", cut);
	for (char *p = r; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	if (cut < len)
		r = talloc_strdup_append(r, "…");
	return r;
}

static char *fmt_in(void *ctx, struct db_row *st)
{
	unsigned flags = (unsigned)db_col_int64(st, 6);
	const char *note = db_col_text(st, 8);

	/* #12 2024-05-01 10:00:00 gsm/m1 +8613800138000 new [INCOMPLETE] 报事 ... (note) */
	return talloc_asprintf(ctx, "#%" PRId64 " %s %s/%s %s %s%s%s %s%s%s%s", (int64_t)db_col_int64(st, 0),
			       db_col_text(st, 1), db_col_text(st, 2), db_col_text(st, 3), db_col_text(st, 4),
			       db_col_text(st, 5), flags & DB_SMS_IN_INCOMPLETE ? " [INCOMPLETE]" : "",
			       flags & DB_SMS_IN_BAD_TEXT ? " [BAD_TEXT]" : "", one_line(ctx, db_col_text(st, 7), 160),
			       *note ? " (" : "", *note ? one_line(ctx, note, 80) : "", *note ? ")" : "");
}

static char *fmt_out(void *ctx, struct db_row *st)
{
	const char *refs = db_col_text(st, 8), *err = db_col_text(st, 10);

	/* #7 2024-05-01 10:00:00 p2 gsm +8613800138000 sent x1 m1 refs=12 delivery=pending 已受理... */
	return talloc_asprintf(ctx, "#%" PRId64 " %s p%d %s %s %s x%d %s%s%s delivery=%s %s%s%s%s",
			       (int64_t)db_col_int64(st, 0), db_col_text(st, 1), db_col_int(st, 2), db_col_text(st, 3),
			       db_col_text(st, 4), db_col_text(st, 5), db_col_int(st, 6), db_col_text(st, 7),
			       *refs ? " refs=" : "", refs, db_col_text(st, 9), one_line(ctx, db_col_text(st, 11), 160),
			       *err ? " (" : "", *err ? one_line(ctx, err, 120) : "", *err ? ")" : "");
}

int db_sms_in_list(struct db_context *dbc, int limit, void (*cb)(void *data, const char *line), void *data)
{
	struct db_q *q = db_q(dbc, DB_STMT_SMS_IN_LIST);

	db_bind_int(q, ":limit", limit < 0 ? 0 : limit);
	return db_lines(q, fmt_in, cb, data);
}

int db_sms_out_list(struct db_context *dbc, int limit, void (*cb)(void *data, const char *line), void *data)
{
	struct db_q *q = db_q(dbc, DB_STMT_SMS_OUT_LIST);

	db_bind_int(q, ":limit", limit < 0 ? 0 : limit);
	return db_lines(q, fmt_out, cb, data);
}
