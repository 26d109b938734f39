/* Inside db/ only: the context, the prepared statements and the helpers db.c and import.c share.
 * Nothing outside db/ includes this (it brings <sqlite3.h>). */
#pragma once

#include <sqlite3.h>

#include "db/db.h"

/* Every statement linli runs, prepared once in db_open (osmo-hlr style). */
enum db_stmt {
	DB_STMT_BEGIN,
	DB_STMT_COMMIT,
	DB_STMT_ROLLBACK,
	DB_STMT_SAVEPOINT,
	DB_STMT_RELEASE,
	DB_STMT_ROLLBACK_TO,
	DB_STMT_USER_VERSION,

	DB_STMT_PHONE_GET,

	DB_STMT_SMS_IN_ADD,
	DB_STMT_SMS_IN_GET,
	DB_STMT_SMS_IN_DONE,
	DB_STMT_SMS_IN_NEW,
	DB_STMT_SMS_IN_LIST,
	DB_STMT_SMS_IN_COUNTS,

	DB_STMT_PART_FIND_GROUP,
	DB_STMT_PART_ADD,
	DB_STMT_PART_SELF_GROUP,
	DB_STMT_PART_GROUP_COUNT,
	DB_STMT_PART_GROUP_PARTS,
	DB_STMT_PART_GROUP_DONE,
	DB_STMT_PART_EXPIRED,
	DB_STMT_PART_OPEN_COUNT,

	DB_STMT_SMS_OUT_ADD,
	DB_STMT_SMS_OUT_CLAIM,
	DB_STMT_SMS_OUT_SENT,
	DB_STMT_SMS_OUT_RETRY,
	DB_STMT_SMS_OUT_FAIL,
	DB_STMT_SMS_OUT_RECOVER,
	DB_STMT_SMS_OUT_REPORT_FIND,
	DB_STMT_SMS_OUT_REPORT_SET,
	DB_STMT_SMS_OUT_COUNTS,
	DB_STMT_SMS_OUT_LIST,

	DB_STMT_STAT_ADD,
	DB_STMT_STAT_GET,
	DB_STMT_STAT_ALL,

	/* import (db/import.c) */
	DB_STMT_COMMUNITY_GET,
	DB_STMT_COMMUNITY_ADD,
	DB_STMT_GRID_GET,
	DB_STMT_GRID_ADD,
	DB_STMT_GRP_GET,
	DB_STMT_GRP_ADD,
	DB_STMT_HOUSEHOLD_GET,
	DB_STMT_HOUSEHOLD_ADD,
	DB_STMT_HOUSEHOLD_SET_PRIMARY,
	DB_STMT_PHONE_ADD,
	DB_STMT_COUNT_GRID,
	DB_STMT_COUNT_GRP,
	DB_STMT_COUNT_HOUSEHOLD,
	DB_STMT_COUNT_PHONE,

	_NUM_DB_STMT
};

#define DB_CACHE_SLOTS 128

struct db_context {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *stmt[_NUM_DB_STMT];
	/* statements of the other db/ files, prepared on first use and kept (db_stmt_cached) */
	struct {
		sqlite3_stmt *st;
	} cache[DB_CACHE_SLOTS];
	unsigned ncache;
};

/* The statement for sql, prepared on its first use and kept until db_close, so that a statement
 * is parsed once however often it runs. A statement already
 * being stepped (re-entrant use) or beyond the cache gets a fresh one-off. NULL on a prepare
 * error (logged). Give it back with db_stmt_release(). Looked up by its text. */
sqlite3_stmt *db_stmt_cached(struct db_context *dbc, const char *sql);

/* Reset and unbind a statement from db_stmt_cached() (finalize a one-off). */
void db_stmt_release(struct db_context *dbc, sqlite3_stmt *st);

/* Step a cached statement that returns no row (a row is ignored) and release it: 0, -ENOENT when
 * need_change and nothing changed, -EIO for a NULL statement, or -errno. */
int db_cached_exec(struct db_context *dbc, sqlite3_stmt *st, bool need_change);

/* Step once: 0 with a row, -ENOENT without, -errno. The caller releases the statement. */
int db_cached_row(struct db_context *dbc, sqlite3_stmt *st);

/* A text column, "" for SQL NULL. */
const char *db_col_text(sqlite3_stmt *st, int col);

/* Map an SQLite result code to -errno (see db.h); logs what is not an expected outcome. */
int db_map_rc(struct db_context *dbc, int rc, const char *what);

/* The statement, ready to bind (bindings cleared and reset by db_done()). */
sqlite3_stmt *db_stmt(struct db_context *dbc, enum db_stmt idx);
const char *db_stmt_name(enum db_stmt idx);
void db_done(sqlite3_stmt *stmt);

/* Bind by parameter name ("$number"); text NULL binds SQL NULL. 0 or -EIO. */
int db_bind_text(sqlite3_stmt *stmt, const char *param, const char *text);
int db_bind_int64(sqlite3_stmt *stmt, const char *param, int64_t val);

/* Step a statement that returns no row: 0 or -errno. The statement is left for db_done(). */
int db_step_done(struct db_context *dbc, sqlite3_stmt *stmt, enum db_stmt idx);

/* Run one of the argument-less statements (BEGIN, SAVEPOINT, ...) to completion and reset it. */
int db_run(struct db_context *dbc, enum db_stmt idx);

/* A nestable atomic section: SAVEPOINT, then RELEASE or ROLLBACK TO + RELEASE. */
int db_sp_begin(struct db_context *dbc);
int db_sp_end(struct db_context *dbc, int rc);

/* Copy a text column into a fixed buffer (truncating, always terminated; NULL -> ""). */
void db_col_copy(sqlite3_stmt *stmt, int col, char *buf, size_t len);
/* A text column talloc'd under ctx; NULL for SQL NULL. */
char *db_col_dup(void *ctx, sqlite3_stmt *stmt, int col);

/* Requests and errands (db/db_request.c, db/db_errand.c): a phone from the columns id,
 * household_id (0 for NULL), number, name, role, lang starting at column c; a time as
 * "2026-03-05 14:30" local ("-" for 0). */
void db_fill_phone(sqlite3_stmt *st, int c, struct db_phone *p);
void db_fmt_time(int64_t t, char *buf, size_t len);
