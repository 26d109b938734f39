/* Inside db/ only: what db.c (SQLite, the embedded default) and db_pg.c (PostgreSQL, issue 14)
 * share. db.c keeps the one statement mechanism of db_priv.h and hands a statement to db_pg.c
 * when the context is PostgreSQL's; nothing outside db/ knows which engine it is. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "db/db_priv.h"

struct pg_result;
struct sqlite3_stmt;

/* One row of a run: SQLite's statement, or row `row` of a PostgreSQL result. */
struct db_row {
	struct sqlite3_stmt *st;
	struct pg_result *res;
	int row;
};

/* true for a database given as a URL: postgresql://... or postgres://... */
bool db_pg_url(const char *path);

/* Connect to url (dbc->path: the same, as shown in logs), create or upgrade the schema (db/pg/),
 * find the tables whose INSERTs return their id. 0 or -errno (logged, with the server's message). */
int db_pg_open(struct db_context *dbc, const char *url, const char *community);
/* db_own: the session advisory lock of the owning linlid; -EBUSY when another session has it. */
int db_pg_own(struct db_context *dbc, int lease_s);
int db_pg_own_renew(struct db_context *dbc);
void db_pg_close(struct db_context *dbc);

/* Prepare def (translated to PostgreSQL's dialect: db_pg.c says how) into q. 0 or -errno. */
int db_pg_prepare(struct db_context *dbc, struct db_q *q, const struct db_stmt_def *def);
/* The index (1..) of parameter name in q, 0 when it has none; how many; the name of index i. */
int db_pg_param_index(struct db_q *q, const char *name);
int db_pg_param_count(struct db_q *q);
const char *db_pg_param_name(struct db_q *q, int i);
/* Bind parameter i (1..): text (NULL: SQL NULL; it must live until the run ends), a number. */
void db_pg_bind_text(struct db_q *q, int i, const char *text);
void db_pg_bind_int(struct db_q *q, int i, int64_t v);
void db_pg_bind_double(struct db_q *q, int i, double v);
void db_pg_clear(struct db_q *q);
/* Run q: fn for up to max rows (0: all); the number of rows or -errno. */
int db_pg_run(struct db_q *q, db_row_fn fn, void *data, unsigned max);

/* One statement outside the prepared set (the district's tables in public, db_district.c): n
 * parameters as text, fn for each row. The rows (or the rows changed), or -errno. */
int db_pg_query(struct db_context *dbc, const char *sql, int n, const char *const *vals, db_row_fn fn, void *data);
/* Opened for a community of a district (`community CODE`, db_open_community). */
bool db_pg_in_district(struct db_context *dbc);
/* db_district.c: the street office's tables and view, (re)made when a community's schema is opened. */
extern const char db_district_ddl[];

int64_t db_pg_last_id(struct db_context *dbc);
int db_pg_changes(struct db_context *dbc);

/* The columns of a PostgreSQL row (text results: booleans as 1/0). */
int64_t db_pg_col_int64(struct db_row *r, int col);
double db_pg_col_double(struct db_row *r, int col);
bool db_pg_col_null(struct db_row *r, int col);
const char *db_pg_col_text(struct db_row *r, int col);

/* Atomic sections: BEGIN when none is open (PostgreSQL has no SAVEPOINT outside a transaction),
 * SAVEPOINT inside one; the end commits, releases or rolls back what the begin opened. */
int db_pg_sp_begin(struct db_context *dbc);
int db_pg_sp_end(struct db_context *dbc, int rc);

/* A transaction is open on the connection. */
bool db_pg_in_transaction(struct db_context *dbc);

/* db_set_busy_timeout: lock_timeout. */
void db_pg_busy_timeout(struct db_context *dbc, int ms);
/* EXPLAIN of prepared statement q (its parameters NULL), each line to cb. */
int db_pg_explain(struct db_q *q, void (*cb)(void *data, const char *line), void *data);
