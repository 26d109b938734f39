/* Inside db/ only: the context, the table of prepared statements and the helpers every db/ file
 * uses. Nothing outside db/ includes this (it brings <sqlite3.h>).
 *
 * One statement mechanism (osmo-hlr's db.c): every statement linli runs has an id in enum
 * db_stmt and its SQL in the table of the db/ file that uses it (DB_SQL below); db_open prepares
 * them all, once. A statement is taken with db_q(), its parameters bound by name (":name"), and
 * run by one of db_exec(), db_exec_one(), db_row(), db_rows(), db_collect() or db_lines(), which
 * always leave it reset: no statement stays active once a db_ function returns, so callbacks
 * may use the database. Binding a name the statement does not have, running it with a
 * parameter left unbound, or taking a statement that is still in use is a bug: OSMO_ASSERT.
 * SQLite result codes become -errno in one place (db_map_rc), logged there. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>
#include <osmocom/core/logging.h>

#include "db/db.h"

/* Every statement, grouped by the file whose table defines it. */
enum db_stmt {
	/* db.c */
	DB_STMT_BEGIN,
	DB_STMT_COMMIT,
	DB_STMT_ROLLBACK,
	DB_STMT_SAVEPOINT,
	DB_STMT_RELEASE,
	DB_STMT_ROLLBACK_TO,
	DB_STMT_USER_VERSION,

	/* db_people.c */
	DB_STMT_PHONE_GET,
	DB_STMT_PHONE_GET_ID,
	DB_STMT_ROLE_PHONES,
	DB_STMT_PHONE_PENDING,
	DB_STMT_HOUSEHOLD_BY_ROOM,
	DB_STMT_HOUSEHOLD_FIND,
	DB_STMT_HOUSEHOLD_ADDRESS,
	DB_STMT_HOUSEHOLD_HAS_NAME,
	DB_STMT_HOUSEHOLD_LIST,
	DB_STMT_HOUSEHOLD_COUNT,
	DB_STMT_HOUSEHOLD_PHONES,
	DB_STMT_GROUP_LIST,
	DB_STMT_PHONE_UPDATE,

	/* db_inbox.c */
	DB_STMT_SMS_IN_ADD,
	DB_STMT_SMS_IN_GET,
	DB_STMT_SMS_IN_DONE,
	DB_STMT_SMS_IN_NEW,
	DB_STMT_PART_FIND_GROUP,
	DB_STMT_PART_ADD,
	DB_STMT_PART_SELF_GROUP,
	DB_STMT_PART_GROUP_COUNT,
	DB_STMT_PART_GROUP_PARTS,
	DB_STMT_PART_GROUP_DONE,
	DB_STMT_PART_EXPIRED,

	/* db_outbox.c */
	DB_STMT_SMS_OUT_ADD,
	DB_STMT_SMS_OUT_CLAIM,
	DB_STMT_SMS_OUT_RELEASE,
	DB_STMT_SMS_OUT_WAITING,
	DB_STMT_SMS_OUT_AVOID,
	DB_STMT_SMS_OUT_SENT,
	DB_STMT_SMS_OUT_RETRY,
	DB_STMT_SMS_OUT_KEPT,
	DB_STMT_SMS_OUT_FAIL,
	DB_STMT_SMS_OUT_RECOVER,
	DB_STMT_SMS_OUT_IS_SENDING,
	DB_STMT_SMS_OUT_STORED,
	DB_STMT_SMS_OUT_STORED_LIST,
	DB_STMT_SMS_OUT_COPY_KNOWN,
	DB_STMT_SMS_OUT_COPIES_FORGET,
	DB_STMT_SMS_OUT_STORED_GONE,
	DB_STMT_SMS_OUT_STORED_ALL,
	DB_STMT_SMS_OUT_RECOVER_ONE,
	DB_STMT_SMS_OUT_REPORT_FIND,
	DB_STMT_SMS_OUT_REPORT_SET,
	DB_STMT_SMS_OUT_QUEUE_STATS,
	DB_STMT_SMS_OUT_FAILED_SINCE,
	DB_STMT_SMS_OUT_GET,
	DB_STMT_SMS_OUT_SET_CALLBACK,
	DB_STMT_CALLBACK_DUE,
	DB_STMT_CALLBACK_TRY_ADD,
	DB_STMT_CALLBACK_TOLD,
	DB_STMT_CALLBACK_RETRY,

	/* db_stat.c */
	DB_STMT_STAT_ADD,
	DB_STMT_STAT_GET,
	DB_STMT_STAT_ALL,
	DB_STMT_SETTING_SET,
	DB_STMT_SETTING_GET,
	DB_STMT_SMS_IN_COUNTS,
	DB_STMT_PART_OPEN_COUNT,
	DB_STMT_SMS_OUT_COUNTS,
	DB_STMT_SMS_IN_LIST,
	DB_STMT_SMS_OUT_LIST,

	/* import.c */
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

	/* db_sos.c */
	DB_STMT_DEVICE_ADD,
	DB_STMT_DEVICE_BY_NUMBER,
	DB_STMT_DEVICE_BY_ID,
	DB_STMT_DEVICE_LIST,
	DB_STMT_DEVICE_PROGRAMMED,
	DB_STMT_DEVICE_PROGRAM_REPLY,
	DB_STMT_PHONE_ID,
	DB_STMT_PHONE_ADD_BARE,
	DB_STMT_BINDING_PUT,
	DB_STMT_BINDING_GET,
	DB_STMT_BINDING_BY_CODE,
	DB_STMT_BINDING_APPROVE,
	DB_STMT_BINDING_REMOVE,
	DB_STMT_BINDING_SET_UNBIND,
	DB_STMT_BINDING_LIST,
	DB_STMT_CONTACTS_BINDING,
	DB_STMT_CONTACTS_GRID,
	DB_STMT_CONTACTS_STAFF,
	DB_STMT_CONTACTS_NEIGHBOURS,
	DB_STMT_NEXT_BINDING_STEP,
	DB_STMT_INC_ADD,
	DB_STMT_INC_UPDATE,
	DB_STMT_INC_STATE,
	DB_STMT_INC_GET,
	DB_STMT_INC_OPEN,
	DB_STMT_INC_DUE,
	DB_STMT_ACK_CANDIDATES,
	DB_STMT_INC_OPEN_COUNT,
	DB_STMT_INC_FILL_FIRST_SENT,
	DB_STMT_INC_LIST,
	DB_STMT_INC_SHOW,
	DB_STMT_INC_SHOW_DETAIL,
	DB_STMT_ATTEMPT_LIST,
	DB_STMT_ATTEMPT_ADD,
	DB_STMT_CALLS_PENDING,
	DB_STMT_CALLS_LOST,
	DB_STMT_ALERTED,
	DB_STMT_FAILED_ALERTS,
	DB_STMT_ATTEMPT_RESULT,
	DB_STMT_NOTICE_ALLOWED,
	DB_STMT_INC_ROWS_OPEN,
	DB_STMT_INC_ROWS_ALL,
	DB_STMT_INC_ROWS_COUNT,
	DB_STMT_INC_ROW,
	DB_STMT_ATTEMPT_ROWS,
	DB_STMT_EVENT_ADD,
	DB_STMT_EVENT_ROWS,
	DB_STMT_ALARM_ROWS,
	DB_STMT_DEVICE_ROWS,
	DB_STMT_BINDING_ROWS,
	DB_STMT_BINDING_BY_ID,
	DB_STMT_INC_STATE_COUNTS,
	DB_STMT_HIST_FIRST_ALERT,
	DB_STMT_HIST_ACK,

	/* db_request.c */
	DB_STMT_REQ_ADD,
	DB_STMT_REQ_BY_REF,
	DB_STMT_REQ_BY_ID,
	DB_STMT_REQ_STATE,
	DB_STMT_REQ_UPDATE,
	DB_STMT_REQ_EVENT_ADD,
	DB_STMT_REQ_FIND_DUP,
	DB_STMT_REQ_LATEST,
	DB_STMT_REQ_DUE,
	DB_STMT_REQ_OPEN_REFS,
	DB_STMT_REQ_PLACE,
	DB_STMT_HOLIDAY_KIND,
	DB_STMT_REQ_LIST_OPEN,
	DB_STMT_REQ_LIST_ALL,
	DB_STMT_REQ_EVENTS,
	DB_STMT_REQ_QUERY,
	DB_STMT_REQ_QUERY_COUNT,
	DB_STMT_REQ_EVENT_ROWS,
	DB_STMT_REQ_OPEN_COUNTS,
	DB_STMT_REQ_LAST_CHANGE,
	DB_STMT_EXT_ADD,
	DB_STMT_EXT_ASKED,
	DB_STMT_EXT_BY_CODE,
	DB_STMT_EXT_DECIDE,
	DB_STMT_EXT_DECIDE_ASKED,
	DB_STMT_EXT_LAPSED,

	/* db_errand.c */
	DB_STMT_POINTS_ADD,
	DB_STMT_POINTS_BALANCE,
	DB_STMT_POINTS_LAST,
	DB_STMT_POINTS_LIST_ALL,
	DB_STMT_POINTS_LIST_ONE,
	DB_STMT_POINTS_ENTRIES,
	DB_STMT_PHONE_REGISTER,
	DB_STMT_REG_ADD,
	DB_STMT_REG_PENDING,
	DB_STMT_REG_DECIDE,
	DB_STMT_REG_PHONE_APPROVE,
	DB_STMT_REG_PHONE_DELETE,
	DB_STMT_REG_LIST,
	DB_STMT_HOLIDAY_SET,
	DB_STMT_HOLIDAY_REMOVE,
	DB_STMT_HOLIDAY_LIST,
	DB_STMT_DIGEST_COUNTS,
	DB_STMT_DIGEST_REFS,
	DB_STMT_POINTS_ENTRY_ROWS,
	DB_STMT_REG_QUERY,

	/* db_call.c */
	DB_STMT_CALL_CALLER_GET,
	DB_STMT_CALL_TARGETS,
	DB_STMT_CALL_ESC_GRID,
	DB_STMT_CALL_ESC_STAFF,
	DB_STMT_CALL_ADD,
	DB_STMT_CALL_UPDATE,
	DB_STMT_CALL_LEG_ADD,
	DB_STMT_CALL_LEG_UPDATE,
	DB_STMT_CALL_LIST,
	DB_STMT_CALL_SHOW,
	DB_STMT_CALL_LEGS,
	DB_STMT_CALL_ROWS,
	DB_STMT_CALL_LEG_ROWS,
	DB_STMT_CALL_ACTIVE,
	DB_STMT_CALL_CLOSE_STALE,
	DB_STMT_CALL_LEG_CLOSE_STALE,

	/* db_sip.c */
	DB_STMT_PHONE_CHANNEL,
	DB_STMT_PHONE_SET_CHANNEL,
	DB_STMT_SIP_ACCOUNT_SET,
	DB_STMT_SIP_ACCOUNT_DEL,
	DB_STMT_SIP_PEER_FIND,
	DB_STMT_SIP_PEER_ADD,
	DB_STMT_SIP_PEER_DEL,
	DB_STMT_SIP_PEER_LIST,

	/* db_token.c */
	DB_STMT_TOKEN_ADD,
	DB_STMT_TOKEN_BY_HASH,
	DB_STMT_TOKEN_BY_ID,
	DB_STMT_TOKEN_USED,
	DB_STMT_TOKEN_REVOKE,
	DB_STMT_TOKEN_LIST,
	DB_STMT_TOKEN_PHONE,

	/* db_notice.c */
	DB_STMT_OPTOUT_ADD,
	DB_STMT_OPTOUT_DEL,
	DB_STMT_OPTOUT_WITHDRAW,
	DB_STMT_OPTOUT_IS,
	DB_STMT_OPTOUT_LIST,
	DB_STMT_BC_GRID_FIND,
	DB_STMT_BC_GROUP_FIND,
	DB_STMT_BC_COUNT,
	DB_STMT_BC_RECIPIENTS,
	DB_STMT_BC_ADD,
	DB_STMT_BC_GET,
	DB_STMT_BC_BY_CODE,
	DB_STMT_BC_MOVE,
	DB_STMT_BC_NEXT,
	DB_STMT_BC_EXPIRE,
	DB_STMT_BC_TAG,
	DB_STMT_BC_PROGRESS,
	DB_STMT_BC_FINISHED,
	DB_STMT_BC_LIST,

	/* db_memo.c */
	DB_STMT_MEMO_WORKER,
	DB_STMT_MEMO_ADD,
	DB_STMT_MEMO_GET,
	DB_STMT_MEMO_REPLY,
	DB_STMT_MEMO_STAFF,
	DB_STMT_MEMO_LIST,

	/* db_watch.c */
	DB_STMT_WATCH_SILENT,
	DB_STMT_WATCH_OPEN,
	DB_STMT_WATCH_CLOSE,
	DB_STMT_WATCH_IS_OPEN,
	DB_STMT_WATCH_LIST,
	DB_STMT_LOCATE_WATCHES,
	DB_STMT_LOCATE_ADD,
	DB_STMT_LOCATE_OPEN,
	DB_STMT_LOCATE_ANSWERED,

	/* db_sender.c */
	DB_STMT_SENDER_HELD,
	DB_STMT_SENDER_HOLD,
	DB_STMT_SENDER_RELEASE,
	DB_STMT_SENDER_RELEASED,
	DB_STMT_SENDER_EXEMPT,
	DB_STMT_SENDER_LIST,

	_NUM_DB_STMT
};

/* One entry of a file's statement table. */
struct db_stmt_def {
	enum db_stmt id;
	const char *name; /* the id without DB_STMT_, for logs and db_explain */
	const char *sql;
};

#define DB_SQL(id_, sql_)                                                                                              \
	{                                                                                                              \
		.id = DB_STMT_##id_, .name = #id_, .sql = sql_                                                         \
	}

/* The tables of the db/ files; db_open prepares every entry, and checks that each id of enum
 * db_stmt is defined exactly once. */
struct db_stmt_table {
	const struct db_stmt_def *defs;
	unsigned n;
};
extern const struct db_stmt_table db_stmts_people, db_stmts_inbox, db_stmts_outbox, db_stmts_stat, db_stmts_import,
	db_stmts_sos, db_stmts_request, db_stmts_errand, db_stmts_call, db_stmts_sip, db_stmts_token, db_stmts_notice,
	db_stmts_memo, db_stmts_watch, db_stmts_sender;

#define DB_STMT_TABLE(var_, defs_) const struct db_stmt_table var_ = {.defs = defs_, .n = ARRAY_SIZE(defs_)}

/* A prepared statement and what is bound to it in the current run. */
struct db_q {
	struct db_context *dbc;
	const struct db_stmt_def *def;
	sqlite3_stmt *st;
	struct db_pg_q *pg; /* PostgreSQL (db_pg.c): its prepared statement, instead of st */
	uint64_t need;	    /* parameter indexes (bit i-1) that must be bound */
	uint64_t bound;	    /* those bound since db_q() */
	int err;	    /* the first bind error (-errno), returned by the run */
	bool active;	    /* between db_q() and the end of its run */
};

struct db_context {
	sqlite3 *db;
	struct db_pg *pg; /* a postgresql:// database (db_pg.c): db is NULL then */
	char *path;
	struct db_q q[_NUM_DB_STMT];
};

/* The log subsystem of db/ (db_set_log_category), DLGLOBAL by default. */
extern int db_log_ss;
#define LOGDB(level, fmt, args...) LOGP(db_log_ss, level, fmt, ##args)

/* Map an SQLite result code to -errno (see db.h) and log what is not an expected outcome
 * (-EEXIST is an answer, not an error); what names the statement or step. */
int db_map_rc(struct db_context *dbc, int rc, const char *what);

/* Take statement id for one run (asserts that it is not in use). */
struct db_q *db_q(struct db_context *dbc, enum db_stmt id);

/* Bind by name (":number"); the name must be one of the statement's parameters. A bind error is
 * kept in the run and returned by it. db_bind_text: NULL binds SQL NULL; the text must live until
 * the run ends. db_bind_id: 0 binds SQL NULL (ids and times not set). */
void db_bind_text(struct db_q *q, const char *name, const char *text);
void db_bind_int(struct db_q *q, const char *name, int64_t val);
void db_bind_id(struct db_q *q, const char *name, int64_t val);
void db_bind_double(struct db_q *q, const char *name, double val);
void db_bind_null(struct db_q *q, const char *name);

/* One row of a run, read only through the db_col_* accessors below (no engine call outside
 * db.c, so that another engine can stand behind it: issue 14). Valid inside the row callback. */
struct db_row;

/* Reading one row inside a run: columns of st only, no other database use. */
typedef void (*db_row_fn)(void *data, struct db_row *st);

/* Run to the end, rows ignored: 0 or -errno. */
int db_exec(struct db_q *q);
/* The same, -ENOENT when no row was changed (unknown id, or not in the state the WHERE needs). */
int db_exec_one(struct db_q *q);
/* Run to the end with fn for the first row only: 0, -ENOENT without a row, or -errno. Also for
 * UPDATE ... RETURNING, which is complete only once run to its end. */
int db_row(struct db_q *q, db_row_fn fn, void *data);
/* db_row that copies the first column of the first row into buf (len bytes, always terminated). */
int db_row_text(struct db_q *q, char *buf, size_t len);
/* The one row-stepping helper (the others are built on it): fn for every row, while the
 * statement is active (fn reads columns only); the count or -errno. */
int db_rows(struct db_q *q, db_row_fn fn, void *data);
/* Column 0 of the first row as an integer: 0, -ENOENT without a row, -errno. */
int db_int64(struct db_q *q, int64_t *val);

/* Rows into a talloc array under ctx (*out, elements of size bytes, zeroed, each filled by fill
 * with the array as the talloc parent of its strings); the count or -errno. *out is a valid
 * talloc array either way (NULL only when not even an empty one could be allocated). */
typedef void (*db_fill_fn)(void *elem, void *ctx, struct db_row *st);
int db_collect(struct db_q *q, void *ctx, size_t size, db_fill_fn fill, void **out);
/* Rows as int64 (column 0) into a talloc array under ctx; the count or -errno. */
int db_collect_ids(struct db_q *q, void *ctx, int64_t **ids);
/* Rows formatted by fmt (a talloc string under ctx), handed to cb once the run is over, so cb
 * may use the database; the count or -errno (cb not called then). */
typedef char *(*db_fmt_fn)(void *ctx, struct db_row *st);
int db_lines(struct db_q *q, db_fmt_fn fmt, void (*cb)(void *data, const char *line), void *data);
/* For a listing made of several statements: the rows formatted by fmt appended to *lines (a
 * talloc array under ctx, *n entries, NULL and 0 to start); the count added or -errno. */
int db_lines_add(struct db_q *q, db_fmt_fn fmt, void *ctx, char ***lines, unsigned *n);

/* The rowid of the last INSERT, the rows changed by the last statement. */
int64_t db_last_id(struct db_context *dbc);
int db_changes(struct db_context *dbc);

/* A nestable atomic section: SAVEPOINT, then RELEASE, or ROLLBACK TO + RELEASE when rc < 0;
 * db_sp_end returns rc (or the error of RELEASE). */
int db_sp_begin(struct db_context *dbc);
int db_sp_end(struct db_context *dbc, int rc);

/* The columns of a row: integer, double, whether SQL NULL, text or NULL for SQL NULL. */
int64_t db_col_int64(struct db_row *st, int col);
int db_col_int(struct db_row *st, int col);
double db_col_double(struct db_row *st, int col);
bool db_col_null(struct db_row *st, int col);
const char *db_col_text_or_null(struct db_row *st, int col);
/* A text column, "" for SQL NULL. */
const char *db_col_text(struct db_row *st, int col);
/* Copy a text column into a fixed buffer (truncating, always terminated; NULL -> ""). */
void db_col_copy(struct db_row *st, int col, char *buf, size_t len);
/* A text column talloc'd under ctx; NULL for SQL NULL. */
char *db_col_dup(void *ctx, struct db_row *st, int col);

/* A phone from the columns id, household_id (0 for NULL), number, name, role, lang starting at
 * column c (db_people.c); a time as "2026-03-05 14:30" local ("-" for 0) (db_request.c). */
void db_fill_phone(struct db_row *st, int c, struct db_phone *p);
void db_fmt_time(int64_t t, char *buf, size_t len);
/* A db_fmt_fn: the first column as it is (a list of numbers or names). */
char *db_fmt_col0(void *ctx, struct db_row *st);
