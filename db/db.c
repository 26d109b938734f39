/* The community database on SQLite: open and upgrade, the statement table, transactions, and
 * the mapping of SQLite codes to -errno (db_priv.h says how a statement is run). A database given
 * as a postgresql:// URL is PostgreSQL's: the same statements, run by db_pg.c.
 *
 * Modelled on osmo-hlr's src/db.c: every statement is prepared once at open into an array
 * indexed by enum db_stmt, bound by name, reset after use; the schema version lives in
 * PRAGMA user_version and each numbered step runs in its own transaction. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <talloc.h>
#include <osmocom/core/logging.h>
#include <osmocom/core/utils.h>

#include "db/db_engine.h"
#include "db/db_priv.h"
#include "db/db_sql.h"

int db_log_ss = DLGLOBAL;

void db_set_log_category(int ss)
{
	db_log_ss = ss;
}

static const struct db_stmt_def core_stmts[] = {
	DB_SQL(BEGIN, "BEGIN IMMEDIATE"),
	DB_SQL(COMMIT, "COMMIT"),
	DB_SQL(ROLLBACK, "ROLLBACK"),
	DB_SQL(SAVEPOINT, "SAVEPOINT db_sp"),
	DB_SQL(RELEASE, "RELEASE db_sp"),
	DB_SQL(ROLLBACK_TO, "ROLLBACK TO db_sp"),
	DB_SQL(USER_VERSION, "PRAGMA user_version"),
};
static DB_STMT_TABLE(db_stmts_core, core_stmts);

static const struct db_stmt_table *const stmt_tables[] = {
	&db_stmts_core,	  &db_stmts_people,  &db_stmts_inbox,  &db_stmts_outbox, &db_stmts_stat, &db_stmts_import,
	&db_stmts_sos,	  &db_stmts_request, &db_stmts_errand, &db_stmts_call,	 &db_stmts_sip,	 &db_stmts_token,
	&db_stmts_notice, &db_stmts_memo,    &db_stmts_watch,  &db_stmts_sender,
};

/* ---- SQLite codes -> -errno ---- */

static int rc_errno(int rc)
{
	switch (rc) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
	case SQLITE_CONSTRAINT_ROWID:
		return -EEXIST;
	case SQLITE_CONSTRAINT_TRIGGER: /* RAISE(ABORT) of a trigger: e.g. the points ledger */
		return -EPERM;
	}
	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT: /* CHECK, NOT NULL, FOREIGN KEY: a value the schema refuses */
	case SQLITE_MISMATCH:
	case SQLITE_MISUSE:
		return -EINVAL;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_TOOBIG:
		return -E2BIG;
	case SQLITE_RANGE:
		return -ERANGE;
	case SQLITE_INTERRUPT:
		return -EINTR;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EBADMSG;
	}
	return -EIO; /* SQLITE_IOERR and anything else */
}

int db_map_rc(struct db_context *dbc, int rc, const char *what)
{
	int err = rc_errno(rc);

	switch (err) {
	case 0:
	case -EEXIST:
		break;
	case -EBUSY:
		LOGDB(LOGL_NOTICE, "db %s: %s: database busy\n", dbc->path, what);
		break;
	default:
		LOGDB(LOGL_ERROR, "db %s: %s: %s (%d: %s)\n", dbc->path, what, sqlite3_errmsg(dbc->db), rc,
		      strerror(-err));
		break;
	}
	return err;
}

/* ---- running a statement ---- */

struct db_q *db_q(struct db_context *dbc, enum db_stmt id)
{
	struct db_q *q;

	OSMO_ASSERT(id < _NUM_DB_STMT);
	q = &dbc->q[id];
	OSMO_ASSERT(q->st || q->pg);
	/* a statement taken again before its run ended: a db/ function re-entered itself */
	if (q->active) {
		LOGDB(LOGL_FATAL, "db: statement %s taken while in use\n", q->def->name);
		OSMO_ASSERT(0);
	}
	q->active = true;
	q->bound = 0;
	q->err = 0;
	return q;
}

static int param_index(struct db_q *q, const char *name)
{
	int i = q->pg ? db_pg_param_index(q, name) : sqlite3_bind_parameter_index(q->st, name);

	/* a wrong name is a bug in db/, found by any test that runs the statement */
	if (i <= 0) {
		LOGDB(LOGL_FATAL, "db: statement %s has no parameter %s\n", q->def->name, name);
		OSMO_ASSERT(0);
	}
	OSMO_ASSERT(q->active);
	q->bound |= 1ull << (i - 1);
	return i;
}

static void bind_rc(struct db_q *q, const char *name, int rc)
{
	if (rc == SQLITE_OK || q->err)
		return;
	q->err = rc_errno(rc) ?: -EIO;
	LOGDB(LOGL_ERROR, "db %s: %s: cannot bind %s: %s\n", q->dbc->path, q->def->name, name, sqlite3_errstr(rc));
}

void db_bind_text(struct db_q *q, const char *name, const char *text)
{
	int i = param_index(q, name);

	if (q->pg)
		return db_pg_bind_text(q, i, text);
	bind_rc(q, name, text ? sqlite3_bind_text(q->st, i, text, -1, SQLITE_STATIC) : sqlite3_bind_null(q->st, i));
}

void db_bind_int(struct db_q *q, const char *name, int64_t val)
{
	int i = param_index(q, name);

	if (q->pg)
		return db_pg_bind_int(q, i, val);
	bind_rc(q, name, sqlite3_bind_int64(q->st, i, val));
}

void db_bind_id(struct db_q *q, const char *name, int64_t val)
{
	int i = param_index(q, name);

	if (q->pg)
		return val ? db_pg_bind_int(q, i, val) : db_pg_bind_text(q, i, NULL);
	bind_rc(q, name, val ? sqlite3_bind_int64(q->st, i, val) : sqlite3_bind_null(q->st, i));
}

void db_bind_double(struct db_q *q, const char *name, double val)
{
	int i = param_index(q, name);

	if (q->pg)
		return db_pg_bind_double(q, i, val);
	bind_rc(q, name, sqlite3_bind_double(q->st, i, val));
}

void db_bind_null(struct db_q *q, const char *name)
{
	int i = param_index(q, name);

	if (q->pg)
		return db_pg_bind_text(q, i, NULL);
	bind_rc(q, name, sqlite3_bind_null(q->st, i));
}

static void q_end(struct db_q *q)
{
	if (q->pg) {
		db_pg_clear(q);
	} else {
		sqlite3_reset(q->st);
		sqlite3_clear_bindings(q->st);
	}
	q->active = false;
}

static int param_count(struct db_q *q)
{
	return q->pg ? db_pg_param_count(q) : sqlite3_bind_parameter_count(q->st);
}

static const char *param_name(struct db_q *q, int i)
{
	return q->pg ? db_pg_param_name(q, i) : sqlite3_bind_parameter_name(q->st, i);
}

/* Step q to its end, fn for up to max rows (0: every row); the number of rows or -errno. */
static int q_run(struct db_q *q, db_row_fn fn, void *data, unsigned max)
{
	struct db_row r = {.st = q->st};
	unsigned n = 0;
	int rc;

	OSMO_ASSERT(q->active);
	if ((q->bound & q->need) != q->need) {
		for (int i = 1; i <= param_count(q); i++)
			if ((q->need & (1ull << (i - 1))) && !(q->bound & (1ull << (i - 1))))
				LOGDB(LOGL_FATAL, "db: statement %s run with %s unbound\n", q->def->name,
				      param_name(q, i));
		OSMO_ASSERT(0);
	}
	if (q->err) {
		rc = q->err;
		goto out;
	}
	if (q->pg) {
		rc = db_pg_run(q, fn, data, max);
		goto out;
	}
	while ((rc = sqlite3_step(q->st)) == SQLITE_ROW) {
		if (fn && (!max || n < max))
			fn(data, &r);
		n++;
	}
	rc = rc == SQLITE_DONE ? (int)n : db_map_rc(q->dbc, rc, q->def->name);
out:
	q_end(q);
	return rc;
}

int db_exec(struct db_q *q)
{
	int rc = q_run(q, NULL, NULL, 0);

	return rc < 0 ? rc : 0;
}

int db_exec_one(struct db_q *q)
{
	int rc = q_run(q, NULL, NULL, 0);

	if (rc < 0)
		return rc;
	return db_changes(q->dbc) ? 0 : -ENOENT;
}

int db_row(struct db_q *q, db_row_fn fn, void *data)
{
	int rc = q_run(q, fn, data, 1);

	return rc < 0 ? rc : rc ? 0 : -ENOENT;
}

struct text_out {
	char *p;
	size_t len;
};

static void text_row(void *data, struct db_row *st)
{
	struct text_out *t = data;

	db_col_copy(st, 0, t->p, t->len);
}

int db_row_text(struct db_q *q, char *buf, size_t len)
{
	struct text_out t = {buf, len};

	return db_row(q, text_row, &t);
}

int db_rows(struct db_q *q, db_row_fn fn, void *data)
{
	return q_run(q, fn, data, 0);
}

static void int64_row(void *data, struct db_row *st)
{
	*(int64_t *)data = db_col_int64(st, 0);
}

int db_int64(struct db_q *q, int64_t *val)
{
	return db_row(q, int64_row, val);
}

struct collect {
	void *ctx;
	size_t size;
	db_fill_fn fill;
	char *v;
	size_t n, cap;
	bool nomem;
};

static void collect_row(void *data, struct db_row *st)
{
	struct collect *c = data;

	if (c->nomem)
		return;
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 16;
		char *v = talloc_realloc_size(c->ctx, c->v, cap * c->size);

		if (!v) {
			c->nomem = true;
			return;
		}
		c->v = v;
		c->cap = cap;
	}
	memset(c->v + c->n * c->size, 0, c->size);
	c->fill(c->v + c->n * c->size, c->v, st);
	c->n++;
}

int db_collect(struct db_q *q, void *ctx, size_t size, db_fill_fn fill, void **out)
{
	struct collect c = {.ctx = ctx, .size = size, .fill = fill};
	int rc;

	*out = NULL;
	c.v = talloc_zero_size(ctx, size); /* a valid (empty) array even without a row */
	if (!c.v) {
		q_end(q);
		return -ENOMEM;
	}
	c.cap = 1;
	rc = db_rows(q, collect_row, &c);
	if (rc >= 0 && c.nomem)
		rc = -ENOMEM;
	*out = c.v;
	return rc < 0 ? rc : (int)c.n;
}

static void fill_id(void *elem, void *ctx, struct db_row *st)
{
	(void)ctx;
	*(int64_t *)elem = db_col_int64(st, 0);
}

int db_collect_ids(struct db_q *q, void *ctx, int64_t **ids)
{
	return db_collect(q, ctx, sizeof(int64_t), fill_id, (void **)ids);
}

struct line_fill {
	db_fmt_fn fmt;
	void *ctx;
	char ***lines;
	unsigned *n;
	bool nomem;
};

static void line_row(void *data, struct db_row *st)
{
	struct line_fill *f = data;
	char **v;

	if (f->nomem)
		return;
	v = talloc_realloc(f->ctx, *f->lines, char *, *f->n + 1);
	if (!v) {
		f->nomem = true;
		return;
	}
	*f->lines = v;
	v[*f->n] = f->fmt(v, st);
	(*f->n)++;
}

char *db_fmt_col0(void *ctx, struct db_row *st)
{
	return talloc_strdup(ctx, db_col_text(st, 0));
}

int db_lines_add(struct db_q *q, db_fmt_fn fmt, void *ctx, char ***lines, unsigned *n)
{
	struct line_fill f = {.fmt = fmt, .ctx = ctx, .lines = lines, .n = n};
	int rc = db_rows(q, line_row, &f);

	return rc >= 0 && f.nomem ? -ENOMEM : rc;
}

int db_lines(struct db_q *q, db_fmt_fn fmt, void (*cb)(void *data, const char *line), void *data)
{
	void *tmp = talloc_new(q->dbc);
	char **lines = NULL;
	unsigned n = 0;
	int rc = db_lines_add(q, fmt, tmp, &lines, &n);

	for (unsigned i = 0; rc >= 0 && i < n; i++)
		cb(data, lines[i]);
	talloc_free(tmp);
	return rc;
}

int64_t db_last_id(struct db_context *dbc)
{
	return dbc->pg ? db_pg_last_id(dbc) : sqlite3_last_insert_rowid(dbc->db);
}

int db_changes(struct db_context *dbc)
{
	return dbc->pg ? db_pg_changes(dbc) : sqlite3_changes(dbc->db);
}

/* ---- the columns of a row: SQLite's statement, or a PostgreSQL result's row (db_engine.h) ---- */

int64_t db_col_int64(struct db_row *r, int col)
{
	return r->res ? db_pg_col_int64(r, col) : sqlite3_column_int64(r->st, col);
}

int db_col_int(struct db_row *r, int col)
{
	return r->res ? (int)db_pg_col_int64(r, col) : sqlite3_column_int(r->st, col);
}

double db_col_double(struct db_row *r, int col)
{
	return r->res ? db_pg_col_double(r, col) : sqlite3_column_double(r->st, col);
}

bool db_col_null(struct db_row *r, int col)
{
	return r->res ? db_pg_col_null(r, col) : sqlite3_column_type(r->st, col) == SQLITE_NULL;
}

const char *db_col_text_or_null(struct db_row *r, int col)
{
	return r->res ? db_pg_col_text(r, col) : (const char *)sqlite3_column_text(r->st, col);
}

const char *db_col_text(struct db_row *r, int col)
{
	const char *t = db_col_text_or_null(r, col);

	return t ? t : "";
}

void db_col_copy(struct db_row *r, int col, char *buf, size_t len)
{
	osmo_strlcpy(buf, db_col_text(r, col), len);
}

char *db_col_dup(void *ctx, struct db_row *r, int col)
{
	const char *t = db_col_text_or_null(r, col);

	return t ? talloc_strdup(ctx, t) : NULL;
}

/* ---- transactions ---- */

static int run(struct db_context *dbc, enum db_stmt id)
{
	return db_exec(db_q(dbc, id));
}

int db_begin(struct db_context *dbc)
{
	/* PostgreSQL only warns about a BEGIN inside a transaction: refused here, as SQLite does */
	if (dbc->pg && db_pg_in_transaction(dbc)) {
		LOGDB(LOGL_ERROR, "db %s: begin: a transaction is open already\n", dbc->path);
		return -EINVAL;
	}
	return run(dbc, DB_STMT_BEGIN);
}

int db_commit(struct db_context *dbc)
{
	return run(dbc, DB_STMT_COMMIT);
}

int db_rollback(struct db_context *dbc)
{
	return run(dbc, DB_STMT_ROLLBACK);
}

int db_sp_begin(struct db_context *dbc)
{
	return dbc->pg ? db_pg_sp_begin(dbc) : run(dbc, DB_STMT_SAVEPOINT);
}

int db_sp_end(struct db_context *dbc, int rc)
{
	int rc2;

	if (dbc->pg)
		return db_pg_sp_end(dbc, rc);
	if (rc < 0)
		run(dbc, DB_STMT_ROLLBACK_TO);
	rc2 = run(dbc, DB_STMT_RELEASE);
	return rc < 0 ? rc : rc2 < 0 ? rc2 : rc;
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
		LOGDB(LOGL_FATAL, "db: the embedded SQL does not start with schema.sql\n");
		return -EINVAL;
	}
	for (unsigned i = 1; i < db_sql_nfiles; i++) {
		char *end;
		long n = strtol(db_sql_files[i].name, &end, 10);

		if (n != (long)i + 1 || *end != '_') {
			LOGDB(LOGL_FATAL, "db: upgrade step %s should be numbered %03u\n", db_sql_files[i].name, i + 1);
			return -EINVAL;
		}
	}
	return 0;
}

/* Run SQL text that is no statement of the table: the upgrade steps and pragmas of db_open. */
static int exec_sql(struct db_context *dbc, const char *sql, const char *what)
{
	char *err = NULL;
	int rc = sqlite3_exec(dbc->db, sql, NULL, NULL, &err);

	if (rc != SQLITE_OK) {
		LOGDB(LOGL_ERROR, "db %s: %s: %s\n", dbc->path, what, err ? err : sqlite3_errstr(rc));
		sqlite3_free(err);
		return rc_errno(rc) ?: -EIO;
	}
	return 0;
}

/* Read one integer with a one-off statement (the table is prepared after the upgrade). */
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
	/* a step must leave every reference valid (checked although foreign keys are off meanwhile) */
	rc = query_int(dbc, "SELECT count(*) FROM pragma_foreign_key_check", &bad);
	if (rc < 0)
		goto rollback;
	if (bad) {
		LOGDB(LOGL_ERROR, "db %s: step %s leaves %" PRId64 " broken references\n", dbc->path, f->name, bad);
		rc = -EIO;
		goto rollback;
	}
	LOGDB(LOGL_NOTICE, "db %s: %s to version %d (%s)\n", dbc->path, to == 1 ? "created" : "upgraded", to, f->name);
commit:
	return exec_sql(dbc, "COMMIT", "commit upgrade");
rollback:
	exec_sql(dbc, "ROLLBACK", "rollback upgrade");
	return rc;
}

static int upgrade_steps(struct db_context *dbc)
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
			LOGDB(LOGL_ERROR, "db %s: cannot upgrade from version %" PRId64 " to %d\n", dbc->path, v,
			      (int)v + 1);
			return rc;
		}
		rc = query_int(dbc, "PRAGMA user_version", &v);
		if (rc < 0)
			return rc;
	}
	if (v > latest) {
		LOGDB(LOGL_ERROR,
		      "db %s: version %" PRId64 " is newer than this linli knows (%d); refusing to open it\n",
		      dbc->path, v, latest);
		return -EPROTO;
	}
	return 0;
}

/* A step that rebuilds a table (a new CHECK, db/upgrade/007_states.sql) must not let DROP TABLE
 * cascade into the tables that refer to it, so the steps run with foreign keys off (SQLite's
 * "other kinds of table schema changes"; the pragma cannot change inside a transaction), and
 * each step checks the references before it commits. */
static int upgrade(struct db_context *dbc)
{
	int rc = exec_sql(dbc, "PRAGMA foreign_keys = OFF", "foreign keys off");

	if (rc < 0)
		return rc;
	rc = upgrade_steps(dbc);
	if (exec_sql(dbc, "PRAGMA foreign_keys = ON", "foreign keys on") < 0 && rc == 0)
		rc = -EIO;
	return rc;
}

void db_set_busy_timeout(struct db_context *dbc, int ms)
{
	if (dbc->pg)
		return db_pg_busy_timeout(dbc, ms);
	sqlite3_busy_timeout(dbc->db, ms);
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
			LOGDB(LOGL_NOTICE, "db %s: journal mode is %s, not WAL\n", dbc->path, mode);
		rc = 0;
	} else {
		rc = db_map_rc(dbc, rc, "journal_mode");
	}
	sqlite3_finalize(stmt);
	return rc;
}

static int prepare(struct db_context *dbc, const struct db_stmt_def *def)
{
	struct db_q *q;
	int rc, n;

	OSMO_ASSERT(def->id < _NUM_DB_STMT);
	q = &dbc->q[def->id];
	/* an id defined twice is a bug in the tables */
	if (q->st || q->pg) {
		LOGDB(LOGL_FATAL, "db: statement %s defined twice\n", def->name);
		OSMO_ASSERT(0);
	}
	if (dbc->pg) {
		rc = db_pg_prepare(dbc, q, def);
		if (rc < 0)
			return rc;
		q->dbc = dbc;
		q->def = def;
		n = db_pg_param_count(q);
		OSMO_ASSERT(n <= 64);
		for (int i = 1; i <= n; i++)
			q->need |= 1ull << (i - 1);
		return 0;
	}
	rc = sqlite3_prepare_v3(dbc->db, def->sql, -1, SQLITE_PREPARE_PERSISTENT, &q->st, NULL);
	if (rc != SQLITE_OK) {
		LOGDB(LOGL_ERROR, "db %s: cannot prepare %s: %s\n", dbc->path, def->name, sqlite3_errmsg(dbc->db));
		return rc_errno(rc) ?: -EIO;
	}
	q->dbc = dbc;
	q->def = def;
	n = sqlite3_bind_parameter_count(q->st);
	OSMO_ASSERT(n <= 64);
	for (int i = 1; i <= n; i++) {
		const char *name = sqlite3_bind_parameter_name(q->st, i);

		/* bound by name only: no "?" */
		OSMO_ASSERT(name && name[0] == ':');
		q->need |= 1ull << (i - 1);
	}
	return 0;
}

/* Every statement of the tables, each failure logged (all of them, not only the first). */
static int prepare_all(struct db_context *dbc)
{
	int first = 0;

	for (unsigned t = 0; t < ARRAY_SIZE(stmt_tables); t++) {
		for (unsigned i = 0; i < stmt_tables[t]->n; i++) {
			int rc = prepare(dbc, &stmt_tables[t]->defs[i]);

			if (rc < 0 && !first)
				first = rc;
		}
	}
	if (first)
		return first;
	for (unsigned i = 0; i < _NUM_DB_STMT; i++) {
		if (!dbc->q[i].st && !dbc->q[i].pg) {
			LOGDB(LOGL_FATAL, "db: statement %u has no SQL in any table\n", i);
			OSMO_ASSERT(0);
		}
	}
	return 0;
}

static int db_destructor(struct db_context *dbc)
{
	db_pg_close(dbc);
	for (unsigned i = 0; i < _NUM_DB_STMT; i++)
		sqlite3_finalize(dbc->q[i].st);
	if (dbc->db) {
		int rc = sqlite3_close(dbc->db);

		if (rc != SQLITE_OK)
			LOGDB(LOGL_ERROR, "db %s: close: %s\n", dbc->path, sqlite3_errstr(rc));
	}
	return 0;
}

bool db_community_valid(const char *code)
{
	size_t n = code ? strlen(code) : 0;

	if (n < 1 || n > DB_COMMUNITY_MAX)
		return false;
	for (const char *c = code; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
			return false;
	return true;
}

int db_open(void *ctx, const char *path, struct db_context **dbc_out)
{
	return db_open_community(ctx, path, NULL, dbc_out);
}

int db_open_community(void *ctx, const char *path, const char *community, struct db_context **dbc_out)
{
	struct db_context *dbc;
	struct stat st;
	bool existed = stat(path, &st) == 0;
	int rc;

	*dbc_out = NULL;
	if (community && *community && !db_community_valid(community)) {
		LOGDB(LOGL_ERROR, "community \"%s\": 1 to %d of a-z, 0-9 and _\n", community, DB_COMMUNITY_MAX);
		return -EINVAL;
	}
	rc = check_sql_files();
	if (rc < 0)
		return rc;
	dbc = talloc_zero(ctx, struct db_context);
	if (!dbc)
		return -ENOMEM;
	dbc->path = db_path_shown(dbc, path);
	if (community && *community && db_pg_url(path))
		dbc->path = talloc_asprintf_append(dbc->path, " (community %s)", community);
	talloc_set_destructor(dbc, db_destructor);
	if (db_pg_url(path)) {
		rc = db_pg_open(dbc, path, community);
		if (rc == 0)
			rc = prepare_all(dbc);
		if (rc < 0)
			goto fail;
		*dbc_out = dbc;
		return 0;
	}

	rc = sqlite3_open_v2(path, &dbc->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		LOGDB(LOGL_ERROR, "db %s: cannot open: %s\n", path,
		      dbc->db ? sqlite3_errmsg(dbc->db) : sqlite3_errstr(rc));
		rc = (rc & 0xff) == SQLITE_CANTOPEN ? -ENOENT : -EIO;
		goto fail;
	}
	/* a new database (names, numbers, addresses, token hashes, SIP credentials) is for its owner
	 * and group only: SQLite makes it 0644 whatever the umask, and its -wal and -shm files take its
	 * mode (issue 13) */
	if (!existed && stat(path, &st) == 0 && S_ISREG(st.st_mode) && chmod(path, 0660) < 0)
		LOGDB(LOGL_ERROR, "db %s: cannot make it 0660: %s\n", path, strerror(errno));
	rc = set_pragmas(dbc);
	if (rc < 0)
		goto fail;
	rc = upgrade(dbc);
	if (rc < 0)
		goto fail;
	rc = prepare_all(dbc);
	if (rc < 0) {
		rc = -EIO;
		goto fail;
	}
	*dbc_out = dbc;
	return 0;
fail:
	talloc_free(dbc);
	return rc;
}

bool db_is_url(const char *path)
{
	return db_pg_url(path);
}

char *db_path_shown(void *ctx, const char *path)
{
	const char *at, *colon, *start;

	if (!db_pg_url(path) || !(at = strchr(path, '@')))
		return talloc_strdup(ctx, path);
	start = strstr(path, "://") + 3;
	colon = memchr(start, ':', (size_t)(at - start));
	if (!colon)
		return talloc_strdup(ctx, path);
	return talloc_asprintf(ctx, "%.*s:***%s", (int)(colon - path), path, at);
}

int db_own(struct db_context *dbc, int lease_s)
{
	return dbc->pg ? db_pg_own(dbc, lease_s > 0 ? lease_s : DB_LEASE_S) : 0;
}

int db_own_renew(struct db_context *dbc)
{
	return dbc->pg ? db_pg_own_renew(dbc) : 0;
}

void db_close(struct db_context *dbc)
{
	talloc_free(dbc);
}

int db_version(struct db_context *dbc)
{
	int64_t v;
	int rc = db_int64(db_q(dbc, DB_STMT_USER_VERSION), &v);

	return rc < 0 ? (rc == -ENOENT ? -EIO : rc) : (int)v;
}

/* EXPLAIN QUERY PLAN of a statement of the table by its name (case does not matter). */
int db_explain(struct db_context *dbc, const char *stmt_name, void (*cb)(void *data, const char *line), void *data)
{
	const struct db_stmt_def *def = NULL;
	sqlite3_stmt *stmt;
	char *sql;
	int rc;

	for (unsigned i = 0; i < _NUM_DB_STMT && !def; i++)
		if (!strcasecmp(dbc->q[i].def->name, stmt_name))
			def = dbc->q[i].def;
	if (!def)
		return -ENOENT;
	if (dbc->pg) {
		struct db_q *q = &dbc->q[def->id];

		return db_pg_explain(q, cb, data);
	}
	/* a one-off: diagnosis only, never on a path that serves a message */
	sql = talloc_asprintf(dbc, "EXPLAIN QUERY PLAN %s", def->sql);
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
