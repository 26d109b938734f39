/* The community database on SQLite: open and upgrade, prepared statements, the SMS queues.
 *
 * Modelled on osmo-hlr's src/db.c: every statement is prepared once at open into an array
 * indexed by enum db_stmt, bound by name, reset after use; the schema version lives in
 * PRAGMA user_version and each numbered step runs in its own transaction. */

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <talloc.h>
#include <osmocom/core/logging.h>
#include <osmocom/core/utils.h>

#include "db/db_priv.h"
#include "db/db_sql.h"

struct db_stmt_def {
	const char *name;
	const char *sql;
};

#define S(idx, nm, text) [idx] = {.name = nm, .sql = text}

static const struct db_stmt_def stmt_defs[_NUM_DB_STMT] = {
	S(DB_STMT_BEGIN, "begin", "BEGIN IMMEDIATE"),
	S(DB_STMT_COMMIT, "commit", "COMMIT"),
	S(DB_STMT_ROLLBACK, "rollback", "ROLLBACK"),
	S(DB_STMT_SAVEPOINT, "savepoint", "SAVEPOINT db_sp"),
	S(DB_STMT_RELEASE, "release", "RELEASE db_sp"),
	S(DB_STMT_ROLLBACK_TO, "rollback_to", "ROLLBACK TO db_sp"),
	S(DB_STMT_USER_VERSION, "user_version", "PRAGMA user_version"),

	S(DB_STMT_PHONE_GET, "phone_get",
	  "SELECT id, coalesce(household_id, 0), number, name, role, lang FROM phone WHERE number = $number"),

	S(DB_STMT_SMS_IN_ADD, "sms_in_add",
	  "INSERT INTO sms_in (channel, modem, sender, text, raw, smsc_ts, recv_ts, flags, dedup, state)"
	  " VALUES ($channel, $modem, $sender, $text, $raw, $smsc_ts, $recv_ts, $flags, $dedup, 'new')"),
	S(DB_STMT_SMS_IN_GET, "sms_in_get",
	  "SELECT id, channel, modem, sender, text, raw, smsc_ts, recv_ts, flags, dedup, state"
	  " FROM sms_in WHERE id = $id"),
	S(DB_STMT_SMS_IN_DONE, "sms_in_done", "UPDATE sms_in SET state = 'done', note = $note WHERE id = $id"),
	S(DB_STMT_SMS_IN_NEW, "sms_in_new", "SELECT id FROM sms_in WHERE state = 'new' ORDER BY id"),
	S(DB_STMT_SMS_IN_LIST, "sms_in_list",
	  "SELECT id, datetime(recv_ts, 'unixepoch', 'localtime'), channel, coalesce(modem, '-'), sender, state,"
	  " flags, text, coalesce(note, '') FROM sms_in ORDER BY id DESC LIMIT $limit"),
	S(DB_STMT_SMS_IN_COUNTS, "sms_in_counts", "SELECT state, count(*) FROM sms_in GROUP BY state"),

	/* the newest group of (sender, ref, total) still waiting and not holding this seq yet */
	S(DB_STMT_PART_FIND_GROUP, "part_find_group",
	  "SELECT part_group FROM sms_in_part"
	  " WHERE msg_id IS NULL AND sender = $sender AND ref = $ref AND total = $total"
	  " GROUP BY part_group HAVING sum(seq = $seq) = 0 ORDER BY part_group DESC LIMIT 1"),
	S(DB_STMT_PART_ADD, "part_add",
	  "INSERT INTO sms_in_part (modem, sender, ref, total, seq, text, raw, smsc_ts, recv_ts, flags, dedup,"
	  " part_group) VALUES ($modem, $sender, $ref, $total, $seq, $text, $raw, $smsc_ts, $recv_ts, $flags,"
	  " $dedup, $group)"),
	S(DB_STMT_PART_SELF_GROUP, "part_self_group", "UPDATE sms_in_part SET part_group = id WHERE id = $id"),
	S(DB_STMT_PART_GROUP_COUNT, "part_group_count", "SELECT count(*) FROM sms_in_part WHERE part_group = $group"),
	S(DB_STMT_PART_GROUP_PARTS, "part_group_parts",
	  "SELECT seq, total, modem, sender, text, raw, smsc_ts, recv_ts, flags, dedup"
	  " FROM sms_in_part WHERE part_group = $group ORDER BY seq"),
	S(DB_STMT_PART_GROUP_DONE, "part_group_done", "UPDATE sms_in_part SET msg_id = $msg WHERE part_group = $group"),
	S(DB_STMT_PART_EXPIRED, "part_expired",
	  "SELECT part_group FROM sms_in_part WHERE msg_id IS NULL"
	  " GROUP BY part_group HAVING max(recv_ts) < $before ORDER BY part_group"),
	S(DB_STMT_PART_OPEN_COUNT, "part_open_count", "SELECT count(*) FROM sms_in_part WHERE msg_id IS NULL"),

	S(DB_STMT_SMS_OUT_ADD, "sms_out_add",
	  "INSERT INTO sms_out (dest, channel, text, prio, state, attempts, next_try, created, delivery)"
	  " VALUES ($dest, $channel, $text, $prio, 'queued', 0, 0, $now, 'none')"),
	/* One statement, so the pick and the mark cannot be separated. The subquery walks the
	 * sms_out_queue index in (prio, id) order and filters next_try inside the index. */
	S(DB_STMT_SMS_OUT_CLAIM, "sms_out_claim",
	  "UPDATE sms_out SET state = 'sending', modem = $modem, attempts = attempts + 1"
	  " WHERE id = (SELECT id FROM sms_out WHERE state = 'queued' AND channel = $channel"
	  " AND next_try <= $now AND ($avoid = '' OR last_modem IS NULL OR last_modem != $avoid)"
	  " ORDER BY prio, id LIMIT 1)"
	  " RETURNING id, prio, dest, text, attempts, created, coalesce(last_modem, '')"),
	S(DB_STMT_SMS_OUT_SENT, "sms_out_sent",
	  "UPDATE sms_out SET state = 'sent', refs = $refs, parts = $parts, sent_at = $now, error = NULL,"
	  " delivery = 'pending' WHERE id = $id AND state = 'sending'"),
	S(DB_STMT_SMS_OUT_RETRY, "sms_out_retry",
	  "UPDATE sms_out SET state = 'queued', next_try = $next_try, error = $reason,"
	  " last_modem = coalesce(modem, last_modem), modem = NULL WHERE id = $id AND state = 'sending'"),
	S(DB_STMT_SMS_OUT_FAIL, "sms_out_fail",
	  "UPDATE sms_out SET state = 'failed', error = $reason WHERE id = $id AND state IN ('queued', 'sending')"),
	S(DB_STMT_SMS_OUT_RECOVER, "sms_out_recover",
	  "UPDATE sms_out SET state = 'queued', last_modem = coalesce(modem, last_modem), modem = NULL"
	  " WHERE state = 'sending'"),
	S(DB_STMT_SMS_OUT_REPORT_FIND, "sms_out_report_find",
	  "SELECT id FROM sms_out WHERE state = 'sent' AND modem = $modem AND (',' || refs || ',') LIKE $pattern"
	  " ORDER BY sent_at DESC, id DESC LIMIT 1"),
	/* 'failed' is final; a later 'pending' report (another part) does not undo 'delivered' */
	S(DB_STMT_SMS_OUT_REPORT_SET, "sms_out_report_set",
	  "UPDATE sms_out SET report_status = $status,"
	  " delivery = CASE WHEN delivery = 'failed' THEN 'failed' WHEN $status >= 64 THEN 'failed'"
	  "  WHEN $status < 32 THEN 'delivered' WHEN delivery = 'delivered' THEN 'delivered' ELSE 'pending' END,"
	  " delivered_at = CASE WHEN $status < 32 AND delivery != 'failed' THEN $ts ELSE delivered_at END"
	  " WHERE id = $id"),
	S(DB_STMT_SMS_OUT_COUNTS, "sms_out_counts", "SELECT state, count(*) FROM sms_out GROUP BY state"),
	S(DB_STMT_SMS_OUT_LIST, "sms_out_list",
	  "SELECT id, datetime(created, 'unixepoch', 'localtime'), prio, channel, dest, state, attempts,"
	  " coalesce(modem, last_modem, '-'), coalesce(refs, ''), delivery, coalesce(error, ''), text"
	  " FROM sms_out ORDER BY id DESC LIMIT $limit"),

	S(DB_STMT_STAT_ADD, "stat_add",
	  "INSERT INTO stat (name, value) VALUES ($name, $delta)"
	  " ON CONFLICT (name) DO UPDATE SET value = value + excluded.value"),
	S(DB_STMT_STAT_GET, "stat_get", "SELECT value FROM stat WHERE name = $name"),
	S(DB_STMT_STAT_ALL, "stat_all", "SELECT name, value FROM stat ORDER BY name"),

	S(DB_STMT_COMMUNITY_GET, "community_get", "SELECT id FROM community WHERE name = $name"),
	S(DB_STMT_COMMUNITY_ADD, "community_add", "INSERT INTO community (name, created) VALUES ($name, $now)"),
	S(DB_STMT_GRID_GET, "grid_get", "SELECT id FROM grid WHERE code = $code"),
	S(DB_STMT_GRID_ADD, "grid_add",
	  "INSERT INTO grid (community_id, code, name, worker_phone_id, created)"
	  " VALUES ($community, $code, $name, $worker, $now)"),
	S(DB_STMT_GRP_GET, "grp_get", "SELECT id FROM grp WHERE code = $code"),
	S(DB_STMT_GRP_ADD, "grp_add",
	  "INSERT INTO grp (grid_id, code, name, created) VALUES ($grid, $code, $name, $now)"),
	S(DB_STMT_HOUSEHOLD_GET, "household_get", "SELECT id FROM household WHERE code = $code"),
	S(DB_STMT_HOUSEHOLD_ADD, "household_add",
	  "INSERT INTO household (grp_id, code, building, unit, room, created)"
	  " VALUES ($grp, $code, $building, $unit, $room, $now)"),
	S(DB_STMT_HOUSEHOLD_SET_PRIMARY, "household_set_primary",
	  "UPDATE household SET primary_phone_id = $phone WHERE id = $id"),
	S(DB_STMT_PHONE_ADD, "phone_add",
	  "INSERT INTO phone (number, name, role, lang, household_id, state, created)"
	  " VALUES ($number, $name, $role, $lang, $household, 'active', $now)"),
	S(DB_STMT_COUNT_GRID, "count_grid", "SELECT count(*) FROM grid"),
	S(DB_STMT_COUNT_GRP, "count_grp", "SELECT count(*) FROM grp"),
	S(DB_STMT_COUNT_HOUSEHOLD, "count_household", "SELECT count(*) FROM household"),
	S(DB_STMT_COUNT_PHONE, "count_phone", "SELECT count(*) FROM phone"),
};

#undef S

/* ---- helpers shared with import.c (db_priv.h) ---- */

/* SQLite result code -> -errno, without a word. */
static int rc_errno(int rc)
{
	switch (rc) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return -EEXIST;
	}
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_FULL:
		return -ENOSPC;
	}
	return -EIO;
}

int db_map_rc(struct db_context *dbc, int rc, const char *what)
{
	int err = rc_errno(rc);

	switch (err) {
	case 0:
	case -EEXIST:
		break;
	case -EBUSY:
		LOGP(DLGLOBAL, LOGL_NOTICE, "db %s: %s: database busy\n", dbc->path, what);
		break;
	default:
		LOGP(DLGLOBAL, LOGL_ERROR, "db %s: %s: %s (%d)\n", dbc->path, what, sqlite3_errmsg(dbc->db), rc);
		break;
	}
	return err;
}

sqlite3_stmt *db_stmt(struct db_context *dbc, enum db_stmt idx)
{
	OSMO_ASSERT(idx < _NUM_DB_STMT && dbc->stmt[idx]);
	return dbc->stmt[idx];
}

const char *db_stmt_name(enum db_stmt idx)
{
	return idx < _NUM_DB_STMT ? stmt_defs[idx].name : "?";
}

void db_done(sqlite3_stmt *stmt)
{
	sqlite3_clear_bindings(stmt);
	sqlite3_reset(stmt);
}

static int bind_index(sqlite3_stmt *stmt, const char *param)
{
	int i = sqlite3_bind_parameter_index(stmt, param);

	/* a wrong name is a bug in this file, found by any test that runs the statement */
	if (i <= 0) {
		LOGP(DLGLOBAL, LOGL_FATAL, "db: no parameter %s in: %s\n", param, sqlite3_sql(stmt));
		OSMO_ASSERT(0);
	}
	return i;
}

int db_bind_text(sqlite3_stmt *stmt, const char *param, const char *text)
{
	int i = bind_index(stmt, param);
	int rc = text ? sqlite3_bind_text(stmt, i, text, -1, SQLITE_STATIC) : sqlite3_bind_null(stmt, i);

	if (rc != SQLITE_OK) {
		LOGP(DLGLOBAL, LOGL_ERROR, "db: cannot bind %s: %s\n", param, sqlite3_errstr(rc));
		return -EIO;
	}
	return 0;
}

int db_bind_int64(sqlite3_stmt *stmt, const char *param, int64_t val)
{
	int rc = sqlite3_bind_int64(stmt, bind_index(stmt, param), val);

	if (rc != SQLITE_OK) {
		LOGP(DLGLOBAL, LOGL_ERROR, "db: cannot bind %s: %s\n", param, sqlite3_errstr(rc));
		return -EIO;
	}
	return 0;
}

int db_step_done(struct db_context *dbc, sqlite3_stmt *stmt, enum db_stmt idx)
{
	int rc = sqlite3_step(stmt);

	if (rc == SQLITE_DONE)
		return 0;
	if (rc == SQLITE_ROW) {
		LOGP(DLGLOBAL, LOGL_ERROR, "db %s: %s returned a row\n", dbc->path, db_stmt_name(idx));
		return -EIO;
	}
	return db_map_rc(dbc, rc, db_stmt_name(idx));
}

int db_run(struct db_context *dbc, enum db_stmt idx)
{
	sqlite3_stmt *stmt = db_stmt(dbc, idx);
	int rc = db_step_done(dbc, stmt, idx);

	db_done(stmt);
	return rc;
}

int db_sp_begin(struct db_context *dbc)
{
	return db_run(dbc, DB_STMT_SAVEPOINT);
}

int db_sp_end(struct db_context *dbc, int rc)
{
	if (rc < 0)
		db_run(dbc, DB_STMT_ROLLBACK_TO);
	db_run(dbc, DB_STMT_RELEASE);
	return rc;
}

void db_col_copy(sqlite3_stmt *stmt, int col, char *buf, size_t len)
{
	const char *t = (const char *)sqlite3_column_text(stmt, col);

	osmo_strlcpy(buf, t ? t : "", len);
}

char *db_col_dup(void *ctx, sqlite3_stmt *stmt, int col)
{
	const char *t = (const char *)sqlite3_column_text(stmt, col);

	return t ? talloc_strdup(ctx, t) : NULL;
}

/* ---- open, upgrade, close ---- */

int db_latest_version(void)
{
	/* schema.sql is version 1, each db/upgrade/NNN_*.sql adds one (checked in db_open) */
	return (int)db_sql_nfiles;
}

/* The embedded files must be schema.sql then 002_..., 003_..., without gaps. */
static int check_sql_files(void)
{
	if (db_sql_nfiles < 1 || strcmp(db_sql_files[0].name, "schema.sql")) {
		LOGP(DLGLOBAL, LOGL_FATAL, "db: the embedded SQL does not start with schema.sql\n");
		return -EINVAL;
	}
	for (unsigned i = 1; i < db_sql_nfiles; i++) {
		char *end;
		long n = strtol(db_sql_files[i].name, &end, 10);

		if (n != (long)i + 1 || *end != '_') {
			LOGP(DLGLOBAL, LOGL_FATAL, "db: upgrade step %s should be numbered %03u\n",
			     db_sql_files[i].name, i + 1);
			return -EINVAL;
		}
	}
	return 0;
}

static int exec_sql(struct db_context *dbc, const char *sql, const char *what)
{
	char *err = NULL;
	int rc = sqlite3_exec(dbc->db, sql, NULL, NULL, &err);

	if (rc != SQLITE_OK) {
		LOGP(DLGLOBAL, LOGL_ERROR, "db %s: %s: %s\n", dbc->path, what, err ? err : sqlite3_errstr(rc));
		sqlite3_free(err);
		return rc_errno(rc) ?: -EIO;
	}
	return 0;
}

/* Read one integer from a one-off statement (used before the statements are prepared). */
static int query_int(struct db_context *dbc, const char *sql, int64_t *val)
{
	sqlite3_stmt *stmt;
	int rc = sqlite3_prepare_v2(dbc->db, sql, -1, &stmt, NULL);

	if (rc != SQLITE_OK)
		return db_map_rc(dbc, rc, sql);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*val = sqlite3_column_int64(stmt, 0);
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? -ENOENT : db_map_rc(dbc, rc, sql);
	}
	sqlite3_finalize(stmt);
	return rc;
}

/* Step 'to' (1 = schema.sql) in one transaction, re-checking the version under the write lock so
 * that two processes opening a fresh file at once do not both run it. */
static int upgrade_step(struct db_context *dbc, int to)
{
	const struct db_sql_file *f = &db_sql_files[to - 1];
	int64_t v, bad = 0;
	char pragma[48];
	int rc;

	rc = exec_sql(dbc, "BEGIN IMMEDIATE", "begin upgrade");
	if (rc < 0)
		return rc;
	rc = query_int(dbc, "PRAGMA user_version", &v);
	if (rc < 0)
		goto rollback;
	if (v >= to)
		goto commit; /* someone else did it meanwhile */
	if (v != to - 1) {
		rc = -EPROTO;
		goto rollback;
	}
	rc = exec_sql(dbc, f->sql, f->name);
	if (rc < 0)
		goto rollback;
	snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", to);
	rc = exec_sql(dbc, pragma, "set user_version");
	if (rc < 0)
		goto rollback;
	/* a step must leave every reference valid */
	rc = query_int(dbc, "SELECT count(*) FROM pragma_foreign_key_check", &bad);
	if (rc < 0)
		goto rollback;
	if (bad) {
		LOGP(DLGLOBAL, LOGL_ERROR, "db %s: step %s leaves %" PRId64 " broken references\n", dbc->path, f->name,
		     bad);
		rc = -EIO;
		goto rollback;
	}
	LOGP(DLGLOBAL, LOGL_NOTICE, "db %s: %s to version %d (%s)\n", dbc->path, to == 1 ? "created" : "upgraded", to,
	     f->name);
commit:
	return exec_sql(dbc, "COMMIT", "commit upgrade");
rollback:
	exec_sql(dbc, "ROLLBACK", "rollback upgrade");
	return rc;
}

static int upgrade(struct db_context *dbc)
{
	int latest = db_latest_version();
	int64_t v;
	int rc;

	rc = query_int(dbc, "PRAGMA user_version", &v);
	if (rc < 0)
		return rc;
	while (v < latest) {
		rc = upgrade_step(dbc, (int)v + 1);
		if (rc < 0) {
			LOGP(DLGLOBAL, LOGL_ERROR, "db %s: cannot upgrade from version %" PRId64 " to %d\n", dbc->path,
			     v, (int)v + 1);
			return rc;
		}
		rc = query_int(dbc, "PRAGMA user_version", &v);
		if (rc < 0)
			return rc;
	}
	if (v > latest) {
		LOGP(DLGLOBAL, LOGL_ERROR,
		     "db %s: version %" PRId64 " is newer than this linli knows (%d); refusing to open it\n", dbc->path,
		     v, latest);
		return -EPROTO;
	}
	return 0;
}

static int set_pragmas(struct db_context *dbc)
{
	sqlite3_stmt *stmt;
	int rc;

	sqlite3_extended_result_codes(dbc->db, 1);
	sqlite3_busy_timeout(dbc->db, 5000);
	rc = exec_sql(dbc, "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL", "pragmas");
	if (rc < 0)
		return rc;
	rc = sqlite3_prepare_v2(dbc->db, "PRAGMA journal_mode = WAL", -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		return db_map_rc(dbc, rc, "journal_mode");
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		const char *mode = (const char *)sqlite3_column_text(stmt, 0);

		/* an in-memory database stays "memory"; anything else is worth a word */
		if (mode && strcmp(mode, "wal") && strcmp(mode, "memory"))
			LOGP(DLGLOBAL, LOGL_NOTICE, "db %s: journal mode is %s, not WAL\n", dbc->path, mode);
		rc = 0;
	} else {
		rc = db_map_rc(dbc, rc, "journal_mode");
	}
	sqlite3_finalize(stmt);
	return rc;
}

static int prepare_all(struct db_context *dbc)
{
	for (unsigned i = 0; i < _NUM_DB_STMT; i++) {
		int rc = sqlite3_prepare_v3(dbc->db, stmt_defs[i].sql, -1, SQLITE_PREPARE_PERSISTENT, &dbc->stmt[i],
					    NULL);

		if (rc != SQLITE_OK) {
			LOGP(DLGLOBAL, LOGL_ERROR, "db %s: cannot prepare %s: %s\n", dbc->path, stmt_defs[i].name,
			     sqlite3_errmsg(dbc->db));
			return -EIO;
		}
	}
	return 0;
}

sqlite3_stmt *db_stmt_cached(struct db_context *dbc, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int rc;

	for (unsigned i = 0; i < dbc->ncache; i++) {
		/* compare the text: a caller may build its SQL in a reused buffer */
		if (strcmp(sqlite3_sql(dbc->cache[i].st), sql))
			continue;
		if (!sqlite3_stmt_busy(dbc->cache[i].st))
			return dbc->cache[i].st;
		break; /* in use further up the stack: a one-off */
	}
	rc = sqlite3_prepare_v3(dbc->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
	if (rc != SQLITE_OK) {
		LOGP(DLGLOBAL, LOGL_ERROR, "db %s: cannot prepare: %s: %s\n", dbc->path, sqlite3_errmsg(dbc->db), sql);
		sqlite3_finalize(st);
		return NULL;
	}
	if (dbc->ncache < DB_CACHE_SLOTS) {
		bool known = false;

		for (unsigned i = 0; i < dbc->ncache && !known; i++)
			known = !strcmp(sqlite3_sql(dbc->cache[i].st), sql);
		if (!known) {
			dbc->cache[dbc->ncache].st = st;
			dbc->ncache++;
		}
	}
	return st;
}

void db_stmt_release(struct db_context *dbc, sqlite3_stmt *st)
{
	if (!st)
		return;
	for (unsigned i = 0; i < dbc->ncache; i++) {
		if (dbc->cache[i].st == st) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return;
		}
	}
	sqlite3_finalize(st);
}

int db_cached_exec(struct db_context *dbc, sqlite3_stmt *st, bool need_change)
{
	int rc;

	if (!st)
		return -EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		rc = need_change && sqlite3_changes(dbc->db) == 0 ? -ENOENT : 0;
	else
		rc = db_map_rc(dbc, rc, sqlite3_sql(st));
	db_stmt_release(dbc, st);
	return rc;
}

int db_cached_row(struct db_context *dbc, sqlite3_stmt *st)
{
	int rc;

	if (!st)
		return -EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return -ENOENT;
	return db_map_rc(dbc, rc, sqlite3_sql(st));
}

const char *db_col_text(sqlite3_stmt *st, int col)
{
	const char *t = (const char *)sqlite3_column_text(st, col);

	return t ? t : "";
}

static int db_destructor(struct db_context *dbc)
{
	for (unsigned i = 0; i < _NUM_DB_STMT; i++)
		sqlite3_finalize(dbc->stmt[i]);
	for (unsigned i = 0; i < dbc->ncache; i++)
		sqlite3_finalize(dbc->cache[i].st);
	if (dbc->db) {
		int rc = sqlite3_close(dbc->db);

		if (rc != SQLITE_OK)
			LOGP(DLGLOBAL, LOGL_ERROR, "db %s: close: %s\n", dbc->path, sqlite3_errstr(rc));
	}
	return 0;
}

int db_open(void *ctx, const char *path, struct db_context **dbc_out)
{
	struct db_context *dbc;
	int rc;

	*dbc_out = NULL;
	rc = check_sql_files();
	if (rc < 0)
		return rc;
	dbc = talloc_zero(ctx, struct db_context);
	if (!dbc)
		return -ENOMEM;
	dbc->path = talloc_strdup(dbc, path);
	talloc_set_destructor(dbc, db_destructor);

	rc = sqlite3_open_v2(path, &dbc->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		LOGP(DLGLOBAL, LOGL_ERROR, "db %s: cannot open: %s\n", path,
		     dbc->db ? sqlite3_errmsg(dbc->db) : sqlite3_errstr(rc));
		rc = (rc & 0xff) == SQLITE_CANTOPEN ? -ENOENT : -EIO;
		goto fail;
	}
	rc = set_pragmas(dbc);
	if (rc < 0)
		goto fail;
	rc = upgrade(dbc);
	if (rc < 0)
		goto fail;
	rc = prepare_all(dbc);
	if (rc < 0)
		goto fail;
	*dbc_out = dbc;
	return 0;
fail:
	talloc_free(dbc);
	return rc;
}

void db_close(struct db_context *dbc)
{
	talloc_free(dbc);
}

int db_version(struct db_context *dbc)
{
	sqlite3_stmt *stmt = db_stmt(dbc, DB_STMT_USER_VERSION);
	int rc = sqlite3_step(stmt);

	rc = rc == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : db_map_rc(dbc, rc, "user_version") ?: -EIO;
	db_done(stmt);
	return rc;
}

int db_begin(struct db_context *dbc)
{
	return db_run(dbc, DB_STMT_BEGIN);
}

int db_commit(struct db_context *dbc)
{
	return db_run(dbc, DB_STMT_COMMIT);
}

int db_rollback(struct db_context *dbc)
{
	return db_run(dbc, DB_STMT_ROLLBACK);
}

/* EXPLAIN QUERY PLAN of a prepared statement, one cb per plan row ("SEARCH sms_out USING ..."). */
int db_explain(struct db_context *dbc, const char *stmt_name, void (*cb)(void *data, const char *line), void *data)
{
	sqlite3_stmt *stmt;
	char *sql = NULL;
	int rc = -ENOENT;

	for (unsigned i = 0; i < _NUM_DB_STMT; i++) {
		if (!strcmp(stmt_defs[i].name, stmt_name)) {
			sql = talloc_asprintf(dbc, "EXPLAIN QUERY PLAN %s", stmt_defs[i].sql);
			break;
		}
	}
	if (!sql)
		return -ENOENT;
	rc = sqlite3_prepare_v2(dbc->db, sql, -1, &stmt, NULL);
	talloc_free(sql);
	if (rc != SQLITE_OK)
		return db_map_rc(dbc, rc, "explain");
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		cb(data, (const char *)sqlite3_column_text(stmt, 3));
	rc = rc == SQLITE_DONE ? 0 : db_map_rc(dbc, rc, "explain");
	sqlite3_finalize(stmt);
	return rc;
}

/* ---- numbers ---- */

/* Accept well-formed UTF-8 only (no overlong forms, no surrogates, nothing above U+10FFFF). */
bool db_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	while (p < end) {
		unsigned c = *p, n, cp, min;

		if (c < 0x80) {
			p++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if ((size_t)(end - p) <= n)
			return false;
		for (unsigned i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		p += n + 1;
	}
	return true;
}

static int put(char *out, size_t outlen, const char *prefix, const char *s, size_t n)
{
	size_t pl = strlen(prefix);

	if (pl + n + 1 > outlen)
		return -EINVAL;
	memcpy(out, prefix, pl);
	memcpy(out + pl, s, n);
	out[pl + n] = '\0';
	return 0;
}

/* Chinese mobile numbers: 11 digits, 13x..19x. */
static bool cn_mobile(const char *d)
{
	return d[0] == '1' && d[1] >= '3' && d[1] <= '9';
}

int db_number_norm(const char *in, char *out, size_t outlen)
{
	char d[24];
	size_t len, n = 0;
	bool alpha = false, plus = false;
	const char *s, *e;

	if (!in || !out || !outlen)
		return -EINVAL;
	out[0] = '\0';
	for (s = in; *s && isspace((unsigned char)*s); s++)
		;
	for (e = s + strlen(s); e > s && isspace((unsigned char)e[-1]); e--)
		;
	len = e - s;
	if (!len)
		return -EINVAL;
	for (const char *p = s; p < e; p++) {
		unsigned char c = *p;

		if (c < 0x20 || c == 0x7f)
			return -EINVAL;
		if (c >= 0x80 || isalpha(c))
			alpha = true;
	}
	/* an alphanumeric sender ID ("ChinaMobile", "sip:..."): as given, trimmed */
	if (alpha) {
		if (!db_utf8_valid(s, len))
			return -EINVAL;
		return put(out, outlen, "", s, len);
	}
	for (const char *p = s; p < e; p++) {
		if (*p == '+' && p == s)
			plus = true;
		else if (*p >= '0' && *p <= '9') {
			if (n >= 20)
				return -EINVAL;
			d[n++] = *p;
		} else if (!strchr(" -.()/", *p))
			return -EINVAL;
	}
	d[n] = '\0';
	if (!n)
		return -EINVAL;
	/* 00 is the international prefix dialled from China */
	if (!plus && n > 2 && d[0] == '0' && d[1] == '0') {
		memmove(d, d + 2, n - 1);
		n -= 2;
		plus = true;
	}
	if (plus) {
		/* "+86 (0)571 ...": the trunk 0 does not belong in E.164 */
		if (n > 3 && !strncmp(d, "860", 3)) {
			memmove(d + 2, d + 3, n - 2);
			n--;
		}
		if (n < 7 || n > 15 || d[0] == '0')
			return -EINVAL;
		return put(out, outlen, "+", d, n);
	}
	if (n == 11 && cn_mobile(d))
		return put(out, outlen, "+86", d, n);
	if (n == 13 && !strncmp(d, "86", 2) && cn_mobile(d + 2))
		return put(out, outlen, "+", d, n);
	/* a landline with its trunk prefix: 0571 88001234 */
	if (d[0] == '0' && n >= 10 && n <= 12)
		return put(out, outlen, "+86", d + 1, n - 1);
	/* short codes and service numbers (10086, 12345, 1065...): digits as given */
	return put(out, outlen, "", d, n);
}

/* ---- people ---- */

int db_phone_get(struct db_context *dbc, const char *number, struct db_phone *out)
{
	sqlite3_stmt *stmt = db_stmt(dbc, DB_STMT_PHONE_GET);
	int rc;

	rc = db_bind_text(stmt, "$number", number);
	if (rc < 0)
		goto out;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		if (out) {
			out->id = sqlite3_column_int64(stmt, 0);
			out->household_id = sqlite3_column_int64(stmt, 1);
			db_col_copy(stmt, 2, out->number, sizeof(out->number));
			db_col_copy(stmt, 3, out->name, sizeof(out->name));
			db_col_copy(stmt, 4, out->role, sizeof(out->role));
			db_col_copy(stmt, 5, out->lang, sizeof(out->lang));
		}
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? -ENOENT : db_map_rc(dbc, rc, "phone_get");
	}
out:
	db_done(stmt);
	return rc;
}

/* ---- inbox ---- */

int db_sms_in_add(struct db_context *dbc, const struct db_sms_in *m, int64_t *id_out)
{
	sqlite3_stmt *stmt = db_stmt(dbc, DB_STMT_SMS_IN_ADD);
	int rc;

	if (id_out)
		*id_out = 0;
	if (!m->sender || !m->text || !m->dedup)
		return -EINVAL;
	if (db_bind_text(stmt, "$channel", m->channel ? m->channel : "gsm") || db_bind_text(stmt, "$modem", m->modem) ||
	    db_bind_text(stmt, "$sender", m->sender) || db_bind_text(stmt, "$text", m->text) ||
	    db_bind_text(stmt, "$raw", m->raw) || db_bind_int64(stmt, "$smsc_ts", m->smsc_ts) ||
	    db_bind_int64(stmt, "$recv_ts", m->recv_ts) || db_bind_int64(stmt, "$flags", m->flags) ||
	    db_bind_text(stmt, "$dedup", m->dedup)) {
		rc = -EIO;
		goto out;
	}
	rc = db_step_done(dbc, stmt, DB_STMT_SMS_IN_ADD);
	if (rc == 0 && id_out)
		*id_out = sqlite3_last_insert_rowid(dbc->db);
out:
	db_done(stmt);
	return rc;
}

int db_sms_in_get(struct db_context *dbc, void *ctx, int64_t id, struct db_sms_in *out)
{
	sqlite3_stmt *stmt = db_stmt(dbc, DB_STMT_SMS_IN_GET);
	int rc;

	memset(out, 0, sizeof(*out));
	rc = db_bind_int64(stmt, "$id", id);
	if (rc < 0)
		goto out;
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW) {
		rc = rc == SQLITE_DONE ? -ENOENT : db_map_rc(dbc, rc, "sms_in_get");
		goto out;
	}
	out->id = sqlite3_column_int64(stmt, 0);
	out->channel = db_col_dup(ctx, stmt, 1);
	out->modem = db_col_dup(ctx, stmt, 2);
	out->sender = db_col_dup(ctx, stmt, 3);
	out->text = db_col_dup(ctx, stmt, 4);
	out->raw = db_col_dup(ctx, stmt, 5);
	out->smsc_ts = sqlite3_column_int64(stmt, 6);
	out->recv_ts = sqlite3_column_int64(stmt, 7);
	out->flags = (unsigned)sqlite3_column_int64(stmt, 8);
	out->dedup = db_col_dup(ctx, stmt, 9);
	out->state = db_col_dup(ctx, stmt, 10);
	rc = 0;
out:
	db_done(stmt);
	return rc;
}

int db_sms_in_done(struct db_context *dbc, int64_t id, const char *note)
{
	sqlite3_stmt *stmt = db_stmt(dbc, DB_STMT_SMS_IN_DONE);
	int rc;

	if (db_bind_int64(stmt, "$id", id) || db_bind_text(stmt, "$note", note)) {
		rc = -EIO;
		goto out;
	}
	rc = db_step_done(dbc, stmt, DB_STMT_SMS_IN_DONE);
	if (rc == 0 && sqlite3_changes(dbc->db) == 0)
		rc = -ENOENT;
out:
	db_done(stmt);
	return rc;
}

/* Run an id-returning statement to the end into a talloc'd array, so that callbacks run with no
 * statement active and may use the database themselves. */
static int collect_ids(struct db_context *dbc, enum db_stmt idx, void *ctx, int64_t **ids, size_t *n)
{
	sqlite3_stmt *stmt = db_stmt(dbc, idx);
	size_t cap = 16;
	int rc;

	*n = 0;
	*ids = talloc_array(ctx, int64_t, cap);
	if (!*ids) {
		db_done(stmt);
		return -ENOMEM;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (*n == cap) {
			cap *= 2;
			*ids = talloc_realloc(ctx, *ids, int64_t, cap);
			if (!*ids) {
				db_done(stmt);
				return -ENOMEM;
			}
		}
		(*ids)[(*n)++] = sqlite3_column_int64(stmt, 0);
	}
	rc = rc == SQLITE_DONE ? 0 : db_map_rc(dbc, rc, db_stmt_name(idx));
	db_done(stmt);
	return rc;
}

int db_sms_in_foreach_new(struct db_context *dbc, void (*cb)(void *data, int64_t id), void *data)
{
	void *tmp = talloc_new(dbc);
	int64_t *ids;
	size_t n;
	int rc;

	rc = collect_ids(dbc, DB_STMT_SMS_IN_NEW, tmp, &ids, &n);
	if (rc == 0) {
		for (size_t i = 0; i < n; i++)
			cb(data, ids[i]);
		rc = (int)n;
	}
	talloc_free(tmp);
	return rc;
}

/* ---- concatenated messages ---- */

static int64_t query_count(struct db_context *dbc, enum db_stmt idx, const char *param, int64_t val)
{
	sqlite3_stmt *stmt = db_stmt(dbc, idx);
	int64_t n;
	int rc;

	if (param && db_bind_int64(stmt, param, val)) {
		db_done(stmt);
		return -EIO;
	}
	rc = sqlite3_step(stmt);
	n = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : db_map_rc(dbc, rc, db_stmt_name(idx)) ?: -EIO;
	db_done(stmt);
	return n;
}

/* Assemble the parts of one group into an sms_in row; missing parts become "[…]". */
static int assemble(struct db_context *dbc, int64_t group, bool incomplete, int64_t *msg_id)
{
	sqlite3_stmt *stmt = db_stmt(dbc, DB_STMT_PART_GROUP_PARTS);
	void *tmp = talloc_new(dbc);
	struct db_sms_in m = {.channel = "gsm", .flags = incomplete ? DB_SMS_IN_INCOMPLETE : 0};
	char *text = talloc_strdup(tmp, ""), *raw = NULL;
	unsigned expect = 1, total = 0;
	int rc;

	if (db_bind_int64(stmt, "$group", group)) {
		rc = -EIO;
		goto out;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		unsigned seq = (unsigned)sqlite3_column_int(stmt, 0);
		const char *t = (const char *)sqlite3_column_text(stmt, 4);
		const char *r = (const char *)sqlite3_column_text(stmt, 5);
		int64_t recv_ts = sqlite3_column_int64(stmt, 7);

		total = (unsigned)sqlite3_column_int(stmt, 1);
		if (!m.sender) {
			/* the first part present speaks for the message */
			m.modem = db_col_dup(tmp, stmt, 2);
			m.sender = db_col_dup(tmp, stmt, 3);
			m.smsc_ts = sqlite3_column_int64(stmt, 6);
			m.dedup = talloc_asprintf(tmp, "%s#msg", (const char *)sqlite3_column_text(stmt, 9));
		}
		for (; expect < seq; expect++)
			text = talloc_strdup_append_buffer(text, "[…]");
		text = talloc_strdup_append_buffer(text, t ? t : "");
		if (r)
			raw = raw ? talloc_asprintf_append_buffer(raw, "\n%s", r) : talloc_strdup(tmp, r);
		if (recv_ts > m.recv_ts)
			m.recv_ts = recv_ts;
		m.flags |= (unsigned)sqlite3_column_int64(stmt, 8);
		expect = seq + 1;
	}
	rc = rc == SQLITE_DONE ? 0 : db_map_rc(dbc, rc, "part_group_parts");
	db_done(stmt);
	if (rc < 0)
		goto out;
	if (!m.sender) {
		rc = -ENOENT;
		goto out;
	}
	for (; expect <= total; expect++)
		text = talloc_strdup_append_buffer(text, "[…]");
	m.text = text;
	m.raw = raw;
	rc = db_sms_in_add(dbc, &m, msg_id);
	if (rc < 0)
		goto out;
	stmt = db_stmt(dbc, DB_STMT_PART_GROUP_DONE);
	if (db_bind_int64(stmt, "$msg", *msg_id) || db_bind_int64(stmt, "$group", group))
		rc = -EIO;
	else
		rc = db_step_done(dbc, stmt, DB_STMT_PART_GROUP_DONE);
	db_done(stmt);
out:
	talloc_free(tmp);
	return rc;
}

static int find_group(struct db_context *dbc, const struct db_sms_part *p, int64_t *group)
{
	sqlite3_stmt *stmt = db_stmt(dbc, DB_STMT_PART_FIND_GROUP);
	int rc;

	*group = 0;
	if (db_bind_text(stmt, "$sender", p->sender) || db_bind_int64(stmt, "$ref", p->ref) ||
	    db_bind_int64(stmt, "$total", p->total) || db_bind_int64(stmt, "$seq", p->seq)) {
		rc = -EIO;
		goto out;
	}
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*group = sqlite3_column_int64(stmt, 0);
		rc = 0;
	} else {
		rc = db_map_rc(dbc, rc, "part_find_group");
	}
out:
	db_done(stmt);
	return rc;
}

static int part_insert(struct db_context *dbc, const struct db_sms_part *p, int64_t *group)
{
	sqlite3_stmt *stmt = db_stmt(dbc, DB_STMT_PART_ADD);
	int rc;

	if (db_bind_text(stmt, "$modem", p->modem) || db_bind_text(stmt, "$sender", p->sender) ||
	    db_bind_int64(stmt, "$ref", p->ref) || db_bind_int64(stmt, "$total", p->total) ||
	    db_bind_int64(stmt, "$seq", p->seq) || db_bind_text(stmt, "$text", p->text) ||
	    db_bind_text(stmt, "$raw", p->raw) || db_bind_int64(stmt, "$smsc_ts", p->smsc_ts) ||
	    db_bind_int64(stmt, "$recv_ts", p->recv_ts) || db_bind_int64(stmt, "$flags", p->flags) ||
	    db_bind_text(stmt, "$dedup", p->dedup) ||
	    (*group ? db_bind_int64(stmt, "$group", *group) : db_bind_text(stmt, "$group", NULL))) {
		db_done(stmt);
		return -EIO;
	}
	rc = db_step_done(dbc, stmt, DB_STMT_PART_ADD);
	db_done(stmt);
	if (rc < 0 || *group)
		return rc;
	/* the first part of a new group names the group */
	*group = sqlite3_last_insert_rowid(dbc->db);
	stmt = db_stmt(dbc, DB_STMT_PART_SELF_GROUP);
	rc = db_bind_int64(stmt, "$id", *group) ?: db_step_done(dbc, stmt, DB_STMT_PART_SELF_GROUP);
	db_done(stmt);
	return rc;
}

int db_sms_part_add(struct db_context *dbc, const struct db_sms_part *p, int64_t *msg_id)
{
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
	n = query_count(dbc, DB_STMT_PART_GROUP_COUNT, "$group", group);
	if (n < 0) {
		rc = (int)n;
		goto out;
	}
	if (n >= p->total)
		rc = assemble(dbc, group, false, msg_id);
out:
	if (rc < 0)
		*msg_id = 0;
	return db_sp_end(dbc, rc);
}

int db_sms_part_expire(struct db_context *dbc, int64_t before, void (*cb)(void *data, int64_t msg_id), void *data)
{
	sqlite3_stmt *stmt = db_stmt(dbc, DB_STMT_PART_EXPIRED);
	void *tmp = talloc_new(dbc);
	int64_t *groups;
	size_t n;
	int rc, done = 0;

	rc = db_bind_int64(stmt, "$before", before);
	if (rc < 0) {
		db_done(stmt);
		goto out;
	}
	rc = collect_ids(dbc, DB_STMT_PART_EXPIRED, tmp, &groups, &n);
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
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

/* ---- outbox ---- */

int db_sms_out_add_channel(struct db_context *dbc, const char *channel, const char *dest, const char *text, int prio,
			   int64_t *id_out)
{
	sqlite3_stmt *stmt = db_stmt(dbc, DB_STMT_SMS_OUT_ADD);
	int rc;

	if (id_out)
		*id_out = 0;
	if (!dest || !*dest || !text)
		return -EINVAL;
	if (db_bind_text(stmt, "$dest", dest) || db_bind_text(stmt, "$channel", channel) ||
	    db_bind_text(stmt, "$text", text) || db_bind_int64(stmt, "$prio", prio) ||
	    db_bind_int64(stmt, "$now", time(NULL))) {
		rc = -EIO;
		goto out;
	}
	rc = db_step_done(dbc, stmt, DB_STMT_SMS_OUT_ADD);
	if (rc == 0 && id_out)
		*id_out = sqlite3_last_insert_rowid(dbc->db);
out:
	db_done(stmt);
	return rc;
}

int db_sms_out_add(struct db_context *dbc, const char *dest, const char *text, int prio, int64_t *id_out)
{
	return db_sms_out_add_channel(dbc, "gsm", dest, text, prio, id_out);
}

static int claim(struct db_context *dbc, void *ctx, const char *channel, const char *modem, const char *avoid,
		 int64_t now, struct db_sms_out *out)
{
	sqlite3_stmt *stmt = db_stmt(dbc, DB_STMT_SMS_OUT_CLAIM);
	int rc;

	memset(out, 0, sizeof(*out));
	if (db_bind_text(stmt, "$modem", modem) || db_bind_text(stmt, "$channel", channel) ||
	    db_bind_text(stmt, "$avoid", avoid) || db_bind_int64(stmt, "$now", now)) {
		rc = -EIO;
		goto out;
	}
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW) {
		rc = rc == SQLITE_DONE ? -ENOENT : db_map_rc(dbc, rc, "sms_out_claim");
		goto out;
	}
	out->id = sqlite3_column_int64(stmt, 0);
	out->prio = sqlite3_column_int(stmt, 1);
	db_col_copy(stmt, 2, out->dest, sizeof(out->dest));
	out->text = db_col_dup(ctx, stmt, 3);
	out->attempts = sqlite3_column_int(stmt, 4);
	out->created = sqlite3_column_int64(stmt, 5);
	db_col_copy(stmt, 6, out->last_modem, sizeof(out->last_modem));
	/* RETURNING: the update is complete only once the statement has run to its end */
	rc = sqlite3_step(stmt);
	rc = rc == SQLITE_DONE ? 0 : db_map_rc(dbc, rc, "sms_out_claim") ?: -EIO;
	if (!out->text && rc == 0)
		rc = -ENOMEM;
out:
	db_done(stmt);
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
	sqlite3_stmt *st = db_stmt_cached(dbc, "UPDATE sms_out SET state = 'queued', attempts = max(attempts - 1, 0),"
					       " modem = NULL WHERE id = $id AND state = 'sending'");

	if (st && db_bind_int64(st, "$id", id)) {
		db_stmt_release(dbc, st);
		return -EIO;
	}
	return db_cached_exec(dbc, st, true);
}

bool db_sms_out_waiting(struct db_context *dbc, int prio, int64_t now)
{
	sqlite3_stmt *st = db_stmt_cached(dbc, "SELECT 1 FROM sms_out WHERE state = 'queued' AND channel = 'gsm'"
					       " AND prio <= $prio AND next_try <= $now LIMIT 1");
	int rc;

	if (!st)
		return false;
	if (db_bind_int64(st, "$prio", prio) || db_bind_int64(st, "$now", now)) {
		db_stmt_release(dbc, st);
		return false;
	}
	rc = db_cached_row(dbc, st);
	db_stmt_release(dbc, st);
	return rc == 0;
}

int db_sms_out_avoid(struct db_context *dbc, int64_t id, const char *modem)
{
	sqlite3_stmt *st = db_stmt_cached(dbc, "UPDATE sms_out SET last_modem = $modem WHERE id = $id AND state = 'queued'");

	if (st && (db_bind_int64(st, "$id", id) || db_bind_text(st, "$modem", modem))) {
		db_stmt_release(dbc, st);
		return -EIO;
	}
	return db_cached_exec(dbc, st, true);
}

/* Run an UPDATE of one message; -ENOENT when it matched no row (unknown id or wrong state). */
static int update_one(struct db_context *dbc, enum db_stmt idx, sqlite3_stmt *stmt)
{
	int rc = db_step_done(dbc, stmt, idx);

	if (rc == 0 && sqlite3_changes(dbc->db) == 0)
		rc = -ENOENT;
	db_done(stmt);
	return rc;
}

int db_sms_out_sent(struct db_context *dbc, int64_t id, const char *refs, int64_t now)
{
	sqlite3_stmt *stmt = db_stmt(dbc, DB_STMT_SMS_OUT_SENT);
	unsigned parts = 0;

	if (!refs)
		refs = "";
	if (*refs)
		parts = 1;
	for (const char *p = refs; *p; p++)
		parts += *p == ',';
	if (db_bind_int64(stmt, "$id", id) || db_bind_text(stmt, "$refs", refs) ||
	    db_bind_int64(stmt, "$parts", parts) || db_bind_int64(stmt, "$now", now)) {
		db_done(stmt);
		return -EIO;
	}
	return update_one(dbc, DB_STMT_SMS_OUT_SENT, stmt);
}

int db_sms_out_retry(struct db_context *dbc, int64_t id, int64_t next_try, const char *reason)
{
	sqlite3_stmt *stmt = db_stmt(dbc, DB_STMT_SMS_OUT_RETRY);

	if (db_bind_int64(stmt, "$id", id) || db_bind_int64(stmt, "$next_try", next_try) ||
	    db_bind_text(stmt, "$reason", reason)) {
		db_done(stmt);
		return -EIO;
	}
	return update_one(dbc, DB_STMT_SMS_OUT_RETRY, stmt);
}

int db_sms_out_fail(struct db_context *dbc, int64_t id, const char *reason)
{
	sqlite3_stmt *stmt = db_stmt(dbc, DB_STMT_SMS_OUT_FAIL);

	if (db_bind_int64(stmt, "$id", id) || db_bind_text(stmt, "$reason", reason)) {
		db_done(stmt);
		return -EIO;
	}
	return update_one(dbc, DB_STMT_SMS_OUT_FAIL, stmt);
}

int db_sms_out_recover(struct db_context *dbc, int *n)
{
	sqlite3_stmt *stmt;
	int rc, changed = 0;

	if (n)
		*n = 0;
	rc = db_sp_begin(dbc);
	if (rc < 0)
		return rc;
	stmt = db_stmt(dbc, DB_STMT_SMS_OUT_RECOVER);
	rc = db_step_done(dbc, stmt, DB_STMT_SMS_OUT_RECOVER);
	db_done(stmt);
	if (rc == 0) {
		changed = sqlite3_changes(dbc->db);
		if (changed)
			rc = db_stat_add(dbc, "out_possible_dup", changed);
	}
	rc = db_sp_end(dbc, rc);
	if (rc == 0 && n)
		*n = changed;
	return rc;
}

int db_sms_out_report(struct db_context *dbc, const char *modem, unsigned mr, unsigned status, int64_t ts)
{
	sqlite3_stmt *stmt = db_stmt(dbc, DB_STMT_SMS_OUT_REPORT_FIND);
	char pattern[24];
	int64_t id;
	int rc;

	snprintf(pattern, sizeof(pattern), "%%,%u,%%", mr);
	if (db_bind_text(stmt, "$modem", modem) || db_bind_text(stmt, "$pattern", pattern)) {
		db_done(stmt);
		return -EIO;
	}
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW) {
		rc = rc == SQLITE_DONE ? -ENOENT : db_map_rc(dbc, rc, "sms_out_report_find");
		db_done(stmt);
		return rc;
	}
	id = sqlite3_column_int64(stmt, 0);
	db_done(stmt);

	stmt = db_stmt(dbc, DB_STMT_SMS_OUT_REPORT_SET);
	if (db_bind_int64(stmt, "$id", id) || db_bind_int64(stmt, "$status", status) ||
	    db_bind_int64(stmt, "$ts", ts)) {
		db_done(stmt);
		return -EIO;
	}
	return update_one(dbc, DB_STMT_SMS_OUT_REPORT_SET, stmt);
}

int db_sms_out_counts(struct db_context *dbc, int64_t counts[_NUM_DB_OUT])
{
	static const char *const names[_NUM_DB_OUT] = {
		[DB_OUT_QUEUED] = "queued",
		[DB_OUT_SENDING] = "sending",
		[DB_OUT_SENT] = "sent",
		[DB_OUT_FAILED] = "failed",
	};
	sqlite3_stmt *stmt = db_stmt(dbc, DB_STMT_SMS_OUT_COUNTS);
	int rc;

	memset(counts, 0, sizeof(int64_t) * _NUM_DB_OUT);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *state = (const char *)sqlite3_column_text(stmt, 0);

		for (unsigned i = 0; i < _NUM_DB_OUT; i++)
			if (state && !strcmp(state, names[i]))
				counts[i] = sqlite3_column_int64(stmt, 1);
	}
	rc = rc == SQLITE_DONE ? 0 : db_map_rc(dbc, rc, "sms_out_counts");
	db_done(stmt);
	return rc;
}

int db_sms_in_counts(struct db_context *dbc, int64_t *n_new, int64_t *n_done, int64_t *n_parts_waiting)
{
	sqlite3_stmt *stmt = db_stmt(dbc, DB_STMT_SMS_IN_COUNTS);
	int64_t waiting;
	int rc;

	*n_new = *n_done = 0;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *state = (const char *)sqlite3_column_text(stmt, 0);

		if (state && !strcmp(state, "new"))
			*n_new = sqlite3_column_int64(stmt, 1);
		else if (state && !strcmp(state, "done"))
			*n_done = sqlite3_column_int64(stmt, 1);
	}
	rc = rc == SQLITE_DONE ? 0 : db_map_rc(dbc, rc, "sms_in_counts");
	db_done(stmt);
	if (rc < 0)
		return rc;
	waiting = query_count(dbc, DB_STMT_PART_OPEN_COUNT, NULL, 0);
	if (waiting < 0)
		return (int)waiting;
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

static int list_lines(struct db_context *dbc, enum db_stmt idx, int limit, char *(*fmt)(void *ctx, sqlite3_stmt *stmt),
		      void (*cb)(void *data, const char *line), void *data)
{
	sqlite3_stmt *stmt = db_stmt(dbc, idx);
	void *tmp = talloc_new(dbc);
	char **lines = NULL;
	size_t n = 0;
	int rc;

	if (db_bind_int64(stmt, "$limit", limit < 0 ? 0 : limit)) {
		rc = -EIO;
		goto out;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		lines = talloc_realloc(tmp, lines, char *, n + 1);
		lines[n++] = fmt(lines, stmt);
	}
	rc = rc == SQLITE_DONE ? 0 : db_map_rc(dbc, rc, db_stmt_name(idx));
out:
	db_done(stmt);
	if (rc == 0) {
		for (size_t i = 0; i < n; i++)
			cb(data, lines[i]);
		rc = (int)n;
	}
	talloc_free(tmp);
	return rc;
}

static const char *col(sqlite3_stmt *stmt, int i)
{
	const char *t = (const char *)sqlite3_column_text(stmt, i);

	return t ? t : "";
}

static char *fmt_in(void *ctx, sqlite3_stmt *stmt)
{
	unsigned flags = (unsigned)sqlite3_column_int64(stmt, 6);
	const char *note = col(stmt, 8);

	/* #12 2024-05-01 10:00:00 gsm/m1 +8613800138000 new [INCOMPLETE] 报事 ... (note) */
	return talloc_asprintf(ctx, "#%" PRId64 " %s %s/%s %s %s%s%s %s%s%s%s", (int64_t)sqlite3_column_int64(stmt, 0),
			       col(stmt, 1), col(stmt, 2), col(stmt, 3), col(stmt, 4), col(stmt, 5),
			       flags & DB_SMS_IN_INCOMPLETE ? " [INCOMPLETE]" : "",
			       flags & DB_SMS_IN_BAD_TEXT ? " [BAD_TEXT]" : "", one_line(ctx, col(stmt, 7), 160),
			       *note ? " (" : "", *note ? one_line(ctx, note, 80) : "", *note ? ")" : "");
}

static char *fmt_out(void *ctx, sqlite3_stmt *stmt)
{
	const char *refs = col(stmt, 8), *err = col(stmt, 10);

	/* #7 2024-05-01 10:00:00 p2 gsm +8613800138000 sent x1 m1 refs=12 delivery=pending 已受理... */
	return talloc_asprintf(ctx, "#%" PRId64 " %s p%d %s %s %s x%d %s%s%s delivery=%s %s%s%s%s",
			       (int64_t)sqlite3_column_int64(stmt, 0), col(stmt, 1), sqlite3_column_int(stmt, 2),
			       col(stmt, 3), col(stmt, 4), col(stmt, 5), sqlite3_column_int(stmt, 6), col(stmt, 7),
			       *refs ? " refs=" : "", refs, col(stmt, 9), one_line(ctx, col(stmt, 11), 160),
			       *err ? " (" : "", *err ? one_line(ctx, err, 120) : "", *err ? ")" : "");
}

int db_sms_in_list(struct db_context *dbc, int limit, void (*cb)(void *data, const char *line), void *data)
{
	return list_lines(dbc, DB_STMT_SMS_IN_LIST, limit, fmt_in, cb, data);
}

int db_sms_out_list(struct db_context *dbc, int limit, void (*cb)(void *data, const char *line), void *data)
{
	return list_lines(dbc, DB_STMT_SMS_OUT_LIST, limit, fmt_out, cb, data);
}

/* ---- counters ---- */

int db_stat_add(struct db_context *dbc, const char *name, int64_t delta)
{
	sqlite3_stmt *stmt = db_stmt(dbc, DB_STMT_STAT_ADD);
	int rc;

	if (db_bind_text(stmt, "$name", name) || db_bind_int64(stmt, "$delta", delta))
		rc = -EIO;
	else
		rc = db_step_done(dbc, stmt, DB_STMT_STAT_ADD);
	db_done(stmt);
	return rc;
}

int64_t db_stat_get(struct db_context *dbc, const char *name)
{
	sqlite3_stmt *stmt = db_stmt(dbc, DB_STMT_STAT_GET);
	int64_t val = 0;
	int rc;

	if (db_bind_text(stmt, "$name", name) == 0) {
		rc = sqlite3_step(stmt);
		if (rc == SQLITE_ROW)
			val = sqlite3_column_int64(stmt, 0);
		else if (rc != SQLITE_DONE)
			db_map_rc(dbc, rc, "stat_get");
	}
	db_done(stmt);
	return val;
}

int db_stat_foreach(struct db_context *dbc, void (*cb)(void *data, const char *name, int64_t value), void *data)
{
	sqlite3_stmt *stmt = db_stmt(dbc, DB_STMT_STAT_ALL);
	int rc, n = 0;

	/* the callback gets no database access: the statement stays active while it runs */
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		cb(data, col(stmt, 0), sqlite3_column_int64(stmt, 1));
		n++;
	}
	rc = rc == SQLITE_DONE ? n : db_map_rc(dbc, rc, "stat_all");
	db_done(stmt);
	return rc;
}
