/* The community database on PostgreSQL 15 (issue 14), through libpq: the engine behind db.c when
 * `database` is a postgresql:// URL. The statements of the db/ tables are written for SQLite; each
 * is translated once, when it is prepared (PQprepare, once per connection):
 *   :name parameters          -> $1, $2 ... (a name used twice is one parameter)
 *   BEGIN IMMEDIATE           -> BEGIN;  PRAGMA user_version -> the version in linli_schema
 *   INSERT OR IGNORE          -> INSERT ... ON CONFLICT DO NOTHING
 *   INSERT OR REPLACE         -> INSERT ... ON CONFLICT (primary key) DO UPDATE SET every column
 *   a IS b, a IS NOT b        -> IS [NOT] DISTINCT FROM (IS NULL, IS TRUE... stay)
 *   instr(a, b)               -> strpos(a, b); max(a, b), min(a, b) -> greatest, least
 *   strftime('%s', 'now'), unixepoch() -> extract(epoch FROM now())::bigint
 *   datetime(t, 'unixepoch'[, 'localtime']) -> to_char(to_timestamp(t) ..., 'YYYY-MM-DD HH24:MI:SS')
 * and a statement whose meaning needs more than that has its PostgreSQL text in pg_sql[] below,
 * by name. An INSERT into a table with an identity id returns it (db_last_id). SQLSTATEs become
 * the same -errno as SQLite's codes (db.h). Inside a transaction every write runs under its own
 * savepoint, so that a refused row (-EEXIST, -EINVAL) leaves the transaction usable, as on SQLite.
 *
 * One box owns a community at a time (the session advisory lock and the lease in linli_owner,
 * below); a standby waits for it. The claim of an outgoing message locks its row (SMS_OUT_CLAIM:
 * FOR UPDATE SKIP LOCKED). A community of a district is a schema (db_open_community); a lost
 * connection is -EIO (the degraded state of gateway/core/dbstate.c holds the work) until the
 * reconnection. Not built: two boxes of one community sending at once (the owner sends). */

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <talloc.h>
#include <osmocom/core/utils.h>

#include "db/db_engine.h"
#include "db/db_sql.h"

#define PG_PARAMS_MAX 64
#define SP_DEPTH_MAX  32

struct db_pg {
	PGconn *conn;
	char **id_tables; /* tables with an identity column "id" */
	unsigned n_id_tables;
	int64_t last_id;
	int changes;
	unsigned sp_depth;
	bool sp_tx[SP_DEPTH_MAX]; /* this level began the transaction (BEGIN), not a savepoint */
	bool tx_open;		  /* a transaction was begun on this connection and not ended */
	bool owner;		  /* db_own: this session holds the owner's advisory lock */
	bool fenced;		  /* the lock was lost while cut off and another linlid took it */
	bool renew;		  /* a new session whose statements are not all prepared yet */
	int64_t retry_ms;	  /* no reconnect before (monotonic ms) */
	char schema[48];	  /* "linli_CODE" for `community CODE`, "" for the role's default schema */
	int lease_ms;		  /* the owner's lease (linli_owner): renewed by db_own_renew */
};

/* The owner's lock is per schema, so that each community's box owns its own; the two-key form,
 * keyed on the schema's oid. */
#define OWNER_LOCK_SQL "SELECT pg_try_advisory_lock(7305415, current_schema()::regnamespace::oid::int)::int"

struct db_pg_q {
	char name[16];
	char *sql;
	unsigned nparams;
	char *pname[PG_PARAMS_MAX];
	const char *val[PG_PARAMS_MAX];
	char num[PG_PARAMS_MAX][32];
	Oid types[PG_PARAMS_MAX]; /* the parameter types given to PQprepare (0: PostgreSQL's choice) */
	bool returns_id;	  /* " RETURNING id" added: the id is db_last_id, no row is handed on */
	bool write;		  /* INSERT, UPDATE, DELETE: under a savepoint inside a transaction */
};

/* Statements whose SQLite text does not translate: the same statement for PostgreSQL. */
static const struct {
	const char *name;
	const char *sql;
} pg_sql[] = {
	{"USER_VERSION", "SELECT version FROM linli_schema"},
	/* two boxes on one database never take the same message: the row is locked by the claim,
	 * another claim skips it (and a row another box just took is no longer 'queued') */
	{"SMS_OUT_CLAIM",
	 "UPDATE sms_out SET state = 'sending', modem = :modem, attempts = attempts + 1"
	 " WHERE state = 'queued' AND id = (SELECT id FROM sms_out WHERE state = 'queued' AND channel = :channel"
	 " AND next_try <= :now AND (:avoid = '' OR last_modem IS NULL OR last_modem != :avoid)"
	 " ORDER BY prio, id LIMIT 1 FOR UPDATE SKIP LOCKED)"
	 " RETURNING id, prio, dest, text, attempts, created, coalesce(last_modem, '')"},
	/* printf('%.6f,%.6f', lat, lon) */
	{"INC_SHOW_DETAIL",
	 "SELECT 1, format('position %s, battery %s, fix %s, next step %s', CASE WHEN lat IS NULL OR lon IS NULL"
	 " THEN 'none' ELSE to_char(lat, 'FM9990.000000') || ',' || to_char(lon, 'FM9990.000000') END,"
	 " coalesce(nullif(battery, ''), '-'), coalesce(nullif(fix, ''), '-'),"
	 " coalesce(datetime(next_at, 'unixepoch', 'localtime'), '-')) FROM sos_incident WHERE id = :id"
	 " UNION ALL SELECT 2, 'raw: ' || coalesce(raw, '') FROM sos_incident WHERE id = :id ORDER BY 1"},
};

bool db_pg_url(const char *path)
{
	return path && (!strncmp(path, "postgresql://", 13) || !strncmp(path, "postgres://", 11));
}

/* ---- SQLSTATE -> -errno ---- */

static int state_errno(const char *st)
{
	if (!st || strlen(st) != 5)
		return -EIO;
	if (!strcmp(st, "23505"))
		return -EEXIST;
	if (!strncmp(st, "23", 2) || !strncmp(st, "22", 2))
		return -EINVAL; /* a value the schema refuses: check, not null, foreign key, bad data */
	if (!strcmp(st, "P0001"))
		return -EPERM; /* RAISE EXCEPTION of a trigger: the points ledger */
	if (!strncmp(st, "40", 2) || !strcmp(st, "55P03") || !strcmp(st, "57014"))
		return -EBUSY; /* serialization, deadlock, lock not available, statement timeout */
	if (!strcmp(st, "53100"))
		return -ENOSPC;
	if (!strcmp(st, "53200"))
		return -ENOMEM;
	if (!strcmp(st, "25006"))
		return -EROFS;
	if (!strncmp(st, "28", 2) || !strcmp(st, "42501"))
		return -EACCES;
	if (!strcmp(st, "54000") || !strcmp(st, "54001"))
		return -E2BIG;
	return -EIO; /* connection (08), server (57, 58, XX) and anything else */
}

/* The outcome of res as -errno (0 for success), logged as db.c logs SQLite's. */
static int res_errno(struct db_context *dbc, PGresult *res, const char *what)
{
	ExecStatusType s = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	const char *st;
	int err;

	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK || s == PGRES_EMPTY_QUERY)
		return 0;
	st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	err = PQstatus(dbc->pg->conn) == CONNECTION_BAD ? -EIO : state_errno(st);
	if (err == -EBUSY)
		LOGDB(LOGL_NOTICE, "db %s: %s: database busy (%s)\n", dbc->path, what, st ? st : "?");
	else if (err != -EEXIST)
		LOGDB(LOGL_ERROR, "db %s: %s: %s (SQLSTATE %s: %s)\n", dbc->path, what,
		      res ? PQresultErrorMessage(res) : PQerrorMessage(dbc->pg->conn), st ? st : "-", strerror(-err));
	return err;
}

static int exec(struct db_context *dbc, const char *sql, const char *what)
{
	PGresult *res = PQexec(dbc->pg->conn, sql);
	int rc = res_errno(dbc, res, what);

	PQclear(res);
	return rc;
}

static int exec_int(struct db_context *dbc, const char *sql, int64_t *val)
{
	PGresult *res = PQexec(dbc->pg->conn, sql);
	int rc = res_errno(dbc, res, sql);

	if (rc == 0 && (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) < 1))
		rc = -ENOENT;
	if (rc == 0)
		*val = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return rc;
}

/* ---- translation ---- */

struct tr {
	struct db_pg_q *pq;
	char *out;
	bool nothing;  /* INSERT OR IGNORE */
	bool replace;  /* INSERT OR REPLACE */
	unsigned subs; /* subqueries named */
};

static bool word_at(const char *p, const char *w)
{
	size_t n = strlen(w);

	return !strncasecmp(p, w, n) && !isalnum((unsigned char)p[n]) && p[n] != '_';
}

static const char *skip_space(const char *p)
{
	while (isspace((unsigned char)*p))
		p++;
	return p;
}

/* The closing parenthesis of the one at p; commas: how many at its top level. NULL if none. */
static const char *close_paren(const char *p, unsigned *commas)
{
	int depth = 0;

	*commas = 0;
	for (; *p; p++) {
		if (*p == '\'') {
			for (p++; *p && !(*p == '\'' && p[1] != '\''); p++)
				if (*p == '\'')
					p++;
			if (!*p)
				return NULL;
		} else if (*p == '(') {
			depth++;
		} else if (*p == ')') {
			if (--depth == 0)
				return p;
		} else if (*p == ',' && depth == 1) {
			(*commas)++;
		}
	}
	return NULL;
}

static int translate(struct tr *t, const char *p, const char *end);

/* datetime|date|time(t, 'unixepoch'[, 'localtime']) at p (the word), its ')' at e */
static int tr_datetime(struct tr *t, const char *p, const char *e)
{
	const char *a = strchr(p, '(') + 1, *c = a, *fmt;
	unsigned depth = 0;
	bool local;
	int rc;

	for (; c < e && !(*c == ',' && depth == 0); c++)
		depth += *c == '(' ? 1 : *c == ')' ? -1 : 0;
	if (c == e || !strstr(c, "'unixepoch'") || strstr(c, "'unixepoch'") > e)
		return -EINVAL;
	local = strstr(c, "'localtime'") && strstr(c, "'localtime'") < e;
	fmt = word_at(p, "datetime") ? "YYYY-MM-DD HH24:MI:SS" : word_at(p, "date") ? "YYYY-MM-DD" : "HH24:MI:SS";
	t->out = talloc_strdup_append(t->out, "to_char(to_timestamp(");
	rc = translate(t, a, c);
	if (rc < 0)
		return rc;
	t->out = talloc_asprintf_append(t->out, ")%s, '%s')", local ? "" : " AT TIME ZONE 'UTC'", fmt);
	return 0;
}

/* printf('...', args) at o (its '(') to e (its ')'): format(), whose conversion is %s (with '-' and
 * a width); %d becomes %s (an integer's text is the same). Another conversion (%.6f): a statement
 * for pg_sql[]. */
static int tr_printf(struct tr *t, const char *o, const char *e)
{
	const char *f = skip_space(o + 1), *q;

	if (*f != '\'')
		return -EINVAL;
	t->out = talloc_strdup_append(t->out, "format('");
	for (q = f + 1; q < e && !(*q == '\'' && q[1] != '\''); q++) {
		if (*q == '\'') {
			t->out = talloc_strdup_append(t->out, "''");
			q++;
		} else if (*q == '%' && q[1] != '%') {
			/* %s, %d with a width and '-' (format() has those): %[-][width]s */
			const char *c = q + 1;

			while (*c == '-' || isdigit((unsigned char)*c))
				c++;
			if (*c != 's' && *c != 'd')
				return -EINVAL;
			t->out = talloc_asprintf_append(t->out, "%.*ss", (int)(c - q), q);
			q = c;
		} else if (*q == '%' && q[1] == '%') {
			t->out = talloc_strdup_append(t->out, "%%");
			q++;
		} else if (*q == '%') {
			return -EINVAL;
		} else {
			t->out = talloc_strndup_append(t->out, q, 1);
		}
	}
	if (q >= e)
		return -EINVAL;
	t->out = talloc_strdup_append(t->out, "'");
	return translate(t, q + 1, e + 1);
}

static int param(struct tr *t, const char *name, size_t n)
{
	struct db_pg_q *pq = t->pq;
	unsigned i;

	for (i = 0; i < pq->nparams; i++)
		if (strlen(pq->pname[i]) == n && !strncmp(pq->pname[i], name, n))
			break;
	if (i == pq->nparams) {
		if (pq->nparams == PG_PARAMS_MAX)
			return -E2BIG;
		pq->pname[pq->nparams++] = talloc_strndup(pq, name, n);
	}
	t->out = talloc_asprintf_append(t->out, "$%u", i + 1);
	return 0;
}

static int translate(struct tr *t, const char *p, const char *end)
{
	while (p < end) {
		const char *s = p;

		if (*p == '\'' || *p == '"') {
			char q = *p;

			for (p++; p < end && !(*p == q && p[1] != q); p++)
				if (*p == q)
					p++;
			p = p < end ? p + 1 : end;
			t->out = talloc_strndup_append(t->out, s, (size_t)(p - s));
			continue;
		}
		if (*p == ':' && p[1] == ':') {
			t->out = talloc_strdup_append(t->out, "::");
			p += 2;
			continue;
		}
		if (*p == ':' && (isalpha((unsigned char)p[1]) || p[1] == '_')) {
			int rc;

			for (p++; p < end && (isalnum((unsigned char)*p) || *p == '_'); p++)
				;
			rc = param(t, s, (size_t)(p - s));
			if (rc < 0)
				return rc;
			continue;
		}
		if (!isalpha((unsigned char)*p) && *p != '_') {
			t->out = talloc_strndup_append(t->out, p, 1);
			p++;
			continue;
		}
		for (p++; p < end && (isalnum((unsigned char)*p) || *p == '_'); p++)
			;
		/* a word from s to p */
		if (word_at(s, "INSERT") && word_at(skip_space(p), "OR")) {
			const char *w = skip_space(skip_space(p) + 2);

			if (word_at(w, "IGNORE")) {
				t->nothing = true;
				p = w + 6;
			} else if (word_at(w, "REPLACE")) {
				t->replace = true;
				p = w + 7;
			}
			t->out = talloc_strdup_append(t->out, "INSERT");
		} else if (word_at(s, "FROM") && *skip_space(p) == '(' &&
			   word_at(skip_space(skip_space(p) + 1), "SELECT")) {
			/* PostgreSQL 15 wants a name for a subquery in FROM */
			const char *o = skip_space(p), *e, *after;
			unsigned commas;
			int rc;

			e = close_paren(o, &commas);
			if (!e || e >= end)
				return -EINVAL;
			t->out = talloc_strdup_append(t->out, "FROM ");
			rc = translate(t, o, e + 1);
			if (rc < 0)
				return rc;
			after = skip_space(e + 1);
			if (!*after || *after == ')' || word_at(after, "WHERE") || word_at(after, "GROUP") ||
			    word_at(after, "ORDER") || word_at(after, "LIMIT") || word_at(after, "JOIN") ||
			    word_at(after, "LEFT") || word_at(after, "UNION") || word_at(after, "HAVING"))
				t->out = talloc_asprintf_append(t->out, " AS sub%u", ++t->subs);
			p = e + 1;
		} else if (word_at(s, "INTEGER")) {
			t->out = talloc_strdup_append(t->out, "BIGINT"); /* CAST(x AS INTEGER): 64 bits, as SQLite's */
		} else if (word_at(s, "BEGIN") && word_at(skip_space(p), "IMMEDIATE")) {
			t->out = talloc_strdup_append(t->out, "BEGIN");
			p = skip_space(p) + 9;
		} else if (word_at(s, "IS")) {
			const char *w = skip_space(p);

			if (word_at(w, "NULL") || word_at(w, "TRUE") || word_at(w, "FALSE") || word_at(w, "DISTINCT"))
				t->out = talloc_strdup_append(t->out, "IS");
			else if (word_at(w, "NOT")) {
				const char *w2 = skip_space(w + 3);

				if (word_at(w2, "NULL") || word_at(w2, "TRUE") || word_at(w2, "FALSE") ||
				    word_at(w2, "DISTINCT")) {
					t->out = talloc_strdup_append(t->out, "IS");
				} else {
					t->out = talloc_strdup_append(t->out, "IS DISTINCT FROM");
					p = w + 3;
				}
			} else {
				t->out = talloc_strdup_append(t->out, "IS NOT DISTINCT FROM");
			}
		} else if (*skip_space(p) == '(' &&
			   (word_at(s, "instr") || word_at(s, "max") || word_at(s, "min") || word_at(s, "datetime") ||
			    word_at(s, "date") || word_at(s, "time") || word_at(s, "strftime") ||
			    word_at(s, "unixepoch") || word_at(s, "printf") || word_at(s, "char"))) {
			const char *o = skip_space(p), *e;
			unsigned commas;

			e = close_paren(o, &commas);
			if (!e || e >= end)
				return -EINVAL;
			if (word_at(s, "datetime") || word_at(s, "date") || word_at(s, "time")) {
				int rc = tr_datetime(t, s, e);

				if (rc < 0)
					return rc;
				p = e + 1;
				continue;
			}
			if (word_at(s, "strftime") || word_at(s, "unixepoch")) {
				char args[64];
				size_t n = (size_t)(e - o);

				/* only "now" in seconds: anything else is a statement for pg_sql[] */
				if (n >= sizeof(args))
					return -EINVAL;
				memcpy(args, o, n);
				args[n] = '\0';
				if (strcmp(args, "(") && strcmp(args, "('%s', 'now'") && strcmp(args, "('%s','now'"))
					return -EINVAL;
				t->out = talloc_strdup_append(t->out, "extract(epoch FROM now())::bigint");
				p = e + 1;
				continue;
			}
			if (word_at(s, "instr")) {
				/* a position, or (SQLite's truthiness) whether there is one */
				const char *after = skip_space(e + 1);
				bool compared = strchr("<>=!", *after) && *after;
				int rc;

				t->out = talloc_strdup_append(t->out, compared ? "strpos" : "(strpos");
				rc = translate(t, o, e + 1);
				if (rc < 0)
					return rc;
				if (!compared)
					t->out = talloc_strdup_append(t->out, " > 0)");
				p = e + 1;
				continue;
			}
			if (word_at(s, "printf")) {
				int rc = tr_printf(t, o, e);

				if (rc < 0)
					return rc;
				p = e + 1;
				continue;
			}
			if (word_at(s, "char"))
				t->out = talloc_strdup_append(t->out, "chr");
			else if (commas && word_at(s, "max"))
				t->out = talloc_strdup_append(t->out, "greatest");
			else if (commas && word_at(s, "min"))
				t->out = talloc_strdup_append(t->out, "least");
			else
				t->out = talloc_strndup_append(t->out, s, (size_t)(p - s));
		} else {
			t->out = talloc_strndup_append(t->out, s, (size_t)(p - s));
		}
	}
	return t->out ? 0 : -ENOMEM;
}

/* The primary key columns of table, "a, b", into buf; 0 or -errno. */
static int primary_key(struct db_context *dbc, const char *table, char *buf, size_t len)
{
	const char *vals[1] = {table};
	PGresult *res =
		PQexecParams(dbc->pg->conn,
			     "SELECT string_agg(a.attname, ', ' ORDER BY array_position(i.indkey, a.attnum))"
			     " FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid"
			     " AND a.attnum = ANY (i.indkey) WHERE i.indrelid = $1::regclass AND i.indisprimary",
			     1, NULL, vals, NULL, NULL, 0);
	int rc = res_errno(dbc, res, "primary key");

	if (rc == 0 && (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)))
		rc = -ENOENT;
	if (rc == 0)
		osmo_strlcpy(buf, PQgetvalue(res, 0, 0), len);
	PQclear(res);
	return rc;
}

/* INSERT [OR REPLACE] INTO table (cols) ...: the table and its columns */
static int insert_target(const char *sql, char *table, size_t tlen, char *cols, size_t clen)
{
	const char *p = strcasestr(sql, "INTO"), *e;
	size_t n;

	if (!p)
		return -EINVAL;
	p = skip_space(p + 4);
	for (e = p; isalnum((unsigned char)*e) || *e == '_'; e++)
		;
	n = (size_t)(e - p);
	if (!n || n >= tlen)
		return -EINVAL;
	memcpy(table, p, n);
	table[n] = '\0';
	p = skip_space(e);
	if (*p != '(' || !(e = strchr(p, ')')) || (size_t)(e - p) >= clen)
		return -EINVAL;
	memcpy(cols, p + 1, (size_t)(e - p - 1));
	cols[e - p - 1] = '\0';
	return 0;
}

/* Where " ON CONFLICT ..." or " RETURNING id" go: before a RETURNING the statement has, or at its end. */
static char *add_clause(void *ctx, const char *sql, const char *clause)
{
	const char *r = strcasestr(sql, " RETURNING ");

	if (!r)
		return talloc_asprintf(ctx, "%s%s", sql, clause);
	return talloc_asprintf(ctx, "%.*s%s%s", (int)(r - sql), sql, clause, r);
}

static bool id_table(struct db_pg *pg, const char *t)
{
	for (unsigned i = 0; i < pg->n_id_tables; i++)
		if (!strcmp(pg->id_tables[i], t))
			return true;
	return false;
}

static int tr_statement(struct db_context *dbc, struct db_pg_q *pq, const struct db_stmt_def *def)
{
	const char *src = def->sql;
	struct tr t = {.pq = pq};
	char table[64] = "", cols[512] = "";
	const char *lead;
	int rc;

	for (unsigned i = 0; i < ARRAY_SIZE(pg_sql); i++)
		if (!strcmp(pg_sql[i].name, def->name))
			src = pg_sql[i].sql;
	t.out = talloc_strdup(pq, "");
	rc = translate(&t, src, src + strlen(src));
	if (rc < 0)
		return rc;
	lead = skip_space(t.out);
	pq->write = word_at(lead, "INSERT") || word_at(lead, "UPDATE") || word_at(lead, "DELETE");
	if (word_at(lead, "INSERT") && insert_target(t.out, table, sizeof(table), cols, sizeof(cols)) < 0)
		return -EINVAL;
	if (t.nothing) {
		t.out = add_clause(pq, t.out, " ON CONFLICT DO NOTHING");
	} else if (t.replace) {
		char pk[256], *set = talloc_strdup(pq, ""), *tok, *save = NULL;

		rc = primary_key(dbc, table, pk, sizeof(pk));
		if (rc < 0)
			return rc;
		for (tok = strtok_r(cols, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save))
			set = talloc_asprintf_append(set, "%s%s = excluded.%s", set[0] ? ", " : "", tok, tok);
		t.out = add_clause(pq, t.out, talloc_asprintf(pq, " ON CONFLICT (%s) DO UPDATE SET %s", pk, set));
	}
	if (word_at(lead, "INSERT") && !strcasestr(t.out, " RETURNING ") && id_table(dbc->pg, table)) {
		t.out = talloc_asprintf_append(t.out, " RETURNING id");
		pq->returns_id = true;
	}
	pq->sql = t.out;
	return pq->sql ? 0 : -ENOMEM;
}

int db_pg_prepare(struct db_context *dbc, struct db_q *q, const struct db_stmt_def *def)
{
	struct db_pg_q *pq = talloc_zero(dbc, struct db_pg_q);
	Oid *types;
	PGresult *res;
	int rc;

	if (!pq)
		return -ENOMEM;
	types = pq->types;
	snprintf(pq->name, sizeof(pq->name), "s%u", (unsigned)def->id);
	rc = tr_statement(dbc, pq, def);
	if (rc < 0) {
		LOGDB(LOGL_ERROR, "db %s: cannot translate %s for PostgreSQL: %s\n", dbc->path, def->name,
		      strerror(-rc));
		return rc;
	}
	/* a parameter whose type PostgreSQL cannot tell (":x IS NULL OR col = :x", two uses that
	 * deduce int4 and int8): tried as text, then (when text is refused) as bigint */
	for (unsigned tries = 0, k = 0;; tries++) {
		const char *msg, *d;

		res = PQprepare(dbc->pg->conn, pq->name, pq->sql, (int)pq->nparams, types);
		if (PQresultStatus(res) == PGRES_COMMAND_OK || tries >= 2 * pq->nparams)
			break;
		msg = PQresultErrorMessage(res);
		d = strstr(msg, "parameter $");
		if (d && (strstr(msg, "could not determine data type") || strstr(msg, "inconsistent types")))
			k = (unsigned)strtoul(d + 11, NULL, 10);
		else if (!k || types[k - 1] != 25)
			break; /* another error, not of the parameter just tried as text */
		if (k < 1 || k > pq->nparams || types[k - 1] == 20)
			break;
		types[k - 1] = types[k - 1] == 25 ? 20 : 25; /* text, then int8 */
		PQclear(res);
	}
	rc = res_errno(dbc, res, def->name);
	PQclear(res);
	if (rc < 0) {
		LOGDB(LOGL_ERROR, "db %s: cannot prepare %s: %s\n", dbc->path, def->name, pq->sql);
		return rc;
	}
	q->pg = pq;
	return 0;
}

int db_pg_param_index(struct db_q *q, const char *name)
{
	for (unsigned i = 0; i < q->pg->nparams; i++)
		if (!strcmp(q->pg->pname[i], name))
			return (int)i + 1;
	return 0;
}

int db_pg_param_count(struct db_q *q)
{
	return (int)q->pg->nparams;
}

const char *db_pg_param_name(struct db_q *q, int i)
{
	return i >= 1 && i <= (int)q->pg->nparams ? q->pg->pname[i - 1] : "?";
}

void db_pg_bind_text(struct db_q *q, int i, const char *text)
{
	q->pg->val[i - 1] = text;
}

void db_pg_bind_int(struct db_q *q, int i, int64_t v)
{
	snprintf(q->pg->num[i - 1], sizeof(q->pg->num[i - 1]), "%" PRId64, v);
	q->pg->val[i - 1] = q->pg->num[i - 1];
}

void db_pg_bind_double(struct db_q *q, int i, double v)
{
	snprintf(q->pg->num[i - 1], sizeof(q->pg->num[i - 1]), "%.17g", v);
	q->pg->val[i - 1] = q->pg->num[i - 1];
}

void db_pg_clear(struct db_q *q)
{
	memset(q->pg->val, 0, sizeof(q->pg->val));
}

/* A write inside a transaction under its own savepoint, in one round trip: SAVEPOINT, the
 * statement and RELEASE sent as one pipeline (libpq's pipeline mode). When the statement fails
 * the RELEASE is skipped by the server: the savepoint is rolled back to, so the transaction goes
 * on as SQLite's would after a refused row. The statement's result, or NULL. */
static PGresult *run_guarded(struct db_context *dbc, struct db_pg_q *pq)
{
	PGconn *c = dbc->pg->conn;
	PGresult *res = NULL, *r;
	bool ok, failed;

	if (!PQenterPipelineMode(c)) {
		/* not available: three round trips */
		if (exec(dbc, "SAVEPOINT db_stmt", "savepoint") < 0)
			return NULL;
		res = PQexecPrepared(c, pq->name, (int)pq->nparams, pq->val, NULL, NULL, 0);
		failed = !res || (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK);
		if (failed)
			exec(dbc, "ROLLBACK TO db_stmt", "rollback to savepoint");
		exec(dbc, "RELEASE db_stmt", "release savepoint");
		return res;
	}
	ok = PQsendQueryParams(c, "SAVEPOINT db_stmt", 0, NULL, NULL, NULL, NULL, 0) &&
	     PQsendQueryPrepared(c, pq->name, (int)pq->nparams, pq->val, NULL, NULL, 0) &&
	     PQsendQueryParams(c, "RELEASE db_stmt", 0, NULL, NULL, NULL, NULL, 0) && PQpipelineSync(c);
	/* each of the three: its result, then NULL; then the sync */
	for (int k = 0; ok && k < 3; k++) {
		while ((r = PQgetResult(c))) {
			if (k == 1 && !res)
				res = r;
			else
				PQclear(r);
		}
	}
	while ((r = PQgetResult(c))) {
		ExecStatusType s = PQresultStatus(r);

		PQclear(r);
		if (s == PGRES_PIPELINE_SYNC)
			break;
	}
	PQexitPipelineMode(c);
	failed = !res || (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK);
	if (failed && PQtransactionStatus(c) == PQTRANS_INERROR) {
		exec(dbc, "ROLLBACK TO db_stmt", "rollback to savepoint");
		exec(dbc, "RELEASE db_stmt", "release savepoint");
	}
	return res;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int session_setup(struct db_context *dbc);
static int lease_take(struct db_context *dbc);

/* The connection, usable for the next statement: after the server restarted or the network cut it,
 * a new session (at most every 2 s), its statements prepared again and, for the owning linlid, the
 * owner's lock taken again. Never inside a transaction begun on the lost session: its statements
 * fail (-EIO) until the caller ends it, so that nothing of it is committed in pieces. */
static int usable(struct db_context *dbc)
{
	struct db_pg *pg = dbc->pg;
	int64_t got = 0;
	int rc;

	if (pg->fenced)
		return -EIO;
	if (PQstatus(pg->conn) == CONNECTION_OK && !pg->renew)
		return 0;
	if (pg->tx_open || mono_ms() < pg->retry_ms)
		return -EIO;
	pg->retry_ms = mono_ms() + 2000;
	if (PQstatus(pg->conn) != CONNECTION_OK) {
		PQreset(pg->conn);
		if (PQstatus(pg->conn) != CONNECTION_OK) {
			LOGDB(LOGL_ERROR, "db %s: connection lost, reconnecting: %s", dbc->path,
			      PQerrorMessage(pg->conn));
			return -EIO;
		}
		pg->renew = true;
	}
	pg->sp_depth = 0;
	rc = exec(dbc, "DEALLOCATE ALL", "deallocate");
	if (rc == 0)
		rc = session_setup(dbc);
	for (unsigned i = 0; rc == 0 && i < _NUM_DB_STMT; i++) {
		struct db_pg_q *pq = dbc->q[i].pg;
		PGresult *res;

		if (!pq)
			continue;
		res = PQprepare(pg->conn, pq->name, pq->sql, (int)pq->nparams, pq->types);
		rc = res_errno(dbc, res, dbc->q[i].def->name);
		PQclear(res);
	}
	if (rc == 0 && pg->owner) {
		rc = exec_int(dbc, OWNER_LOCK_SQL, &got);
		if (rc == 0 && !got) {
			pg->fenced = true;
			LOGDB(LOGL_ERROR,
			      "db %s: reconnected, but another linlid owns the database now (it took over while "
			      "this one was cut off): this one records nothing more\n",
			      dbc->path);
			return -EIO;
		}
		if (rc == 0)
			rc = lease_take(dbc); /* the new session's pid */
	}
	if (rc < 0)
		return rc; /* prepared again at the next attempt (a statement prepared twice: 42P05) */
	pg->renew = false;
	LOGDB(LOGL_NOTICE, "db %s: reconnected, statements prepared again\n", dbc->path);
	return 0;
}

int db_pg_run(struct db_q *q, db_row_fn fn, void *data, unsigned max)
{
	struct db_context *dbc = q->dbc;
	struct db_pg *pg = dbc->pg;
	struct db_pg_q *pq = q->pg;
	const char *name = q->def->name;
	bool guard;
	PGresult *res;
	int rc, n = 0;

	if (!strcmp(name, "COMMIT") || !strcmp(name, "ROLLBACK"))
		pg->tx_open = false; /* ended, whatever comes of it */
	rc = usable(dbc);
	if (rc < 0)
		return rc;
	guard = pq->write && PQtransactionStatus(pg->conn) == PQTRANS_INTRANS;
	if (guard)
		res = run_guarded(dbc, pq);
	else
		res = PQexecPrepared(pg->conn, pq->name, (int)pq->nparams, pq->val, NULL, NULL, 0);
	rc = res_errno(dbc, res, q->def->name);
	if (rc == 0 && !strcmp(name, "BEGIN"))
		pg->tx_open = true;
	if (rc == 0) {
		const char *cmd = PQcmdStatus(res);

		if (!strncmp(cmd, "INSERT", 6) || !strncmp(cmd, "UPDATE", 6) || !strncmp(cmd, "DELETE", 6))
			pg->changes = atoi(PQcmdTuples(res));
		if (pq->returns_id) {
			if (PQntuples(res) > 0)
				pg->last_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		} else if (PQresultStatus(res) == PGRES_TUPLES_OK) {
			n = PQntuples(res);
			for (int i = 0; fn && i < n && (!max || (unsigned)i < max); i++) {
				struct db_row r = {.res = res, .row = i};

				fn(data, &r);
			}
		}
	}
	PQclear(res);
	return rc < 0 ? rc : n;
}

bool db_pg_in_district(struct db_context *dbc)
{
	return dbc->pg->schema[0] != 0;
}

int db_pg_query(struct db_context *dbc, const char *sql, int n, const char *const *vals, db_row_fn fn, void *data)
{
	PGresult *res;
	int rc = usable(dbc), rows = 0;

	if (rc < 0)
		return rc;
	res = PQexecParams(dbc->pg->conn, sql, n, NULL, vals, NULL, NULL, 0);
	rc = res_errno(dbc, res, "district");
	if (rc == 0 && PQresultStatus(res) == PGRES_TUPLES_OK) {
		rows = PQntuples(res);
		for (int i = 0; fn && i < rows; i++) {
			struct db_row r = {.res = res, .row = i};

			fn(data, &r);
		}
	} else if (rc == 0) {
		rows = atoi(PQcmdTuples(res));
	}
	PQclear(res);
	return rc < 0 ? rc : rows;
}

int64_t db_pg_last_id(struct db_context *dbc)
{
	return dbc->pg->last_id;
}

int db_pg_changes(struct db_context *dbc)
{
	return dbc->pg->changes;
}

/* ---- columns ---- */

static bool is_bool(struct db_row *r, int col)
{
	return PQftype(r->res, col) == 16; /* BOOLOID */
}

int64_t db_pg_col_int64(struct db_row *r, int col)
{
	const char *v;

	if (col >= PQnfields(r->res) || PQgetisnull(r->res, r->row, col))
		return 0;
	v = PQgetvalue(r->res, r->row, col);
	if (is_bool(r, col))
		return v[0] == 't';
	return strchr(v, '.') || strchr(v, 'e') ? (int64_t)strtod(v, NULL) : strtoll(v, NULL, 10);
}

double db_pg_col_double(struct db_row *r, int col)
{
	if (col >= PQnfields(r->res) || PQgetisnull(r->res, r->row, col))
		return 0;
	if (is_bool(r, col))
		return PQgetvalue(r->res, r->row, col)[0] == 't';
	return strtod(PQgetvalue(r->res, r->row, col), NULL);
}

bool db_pg_col_null(struct db_row *r, int col)
{
	return col >= PQnfields(r->res) || PQgetisnull(r->res, r->row, col);
}

const char *db_pg_col_text(struct db_row *r, int col)
{
	if (db_pg_col_null(r, col))
		return NULL;
	if (is_bool(r, col))
		return PQgetvalue(r->res, r->row, col)[0] == 't' ? "1" : "0";
	return PQgetvalue(r->res, r->row, col);
}

/* ---- transactions ---- */

int db_pg_sp_begin(struct db_context *dbc)
{
	struct db_pg *pg = dbc->pg;
	bool tx;
	int rc;

	if (pg->sp_depth == SP_DEPTH_MAX)
		return -E2BIG;
	rc = usable(dbc);
	if (rc < 0)
		return rc;
	tx = PQtransactionStatus(pg->conn) == PQTRANS_IDLE;
	rc = exec(dbc, tx ? "BEGIN" : "SAVEPOINT db_sp", tx ? "begin" : "savepoint");
	if (rc < 0)
		return rc;
	if (tx)
		pg->tx_open = true;
	pg->sp_tx[pg->sp_depth++] = tx;
	return 0;
}

int db_pg_sp_end(struct db_context *dbc, int rc)
{
	struct db_pg *pg = dbc->pg;
	int rc2;

	if (!pg->sp_depth)
		return rc < 0 ? rc : -EINVAL;
	if (pg->sp_tx[--pg->sp_depth]) {
		pg->tx_open = false;
		rc2 = exec(dbc, rc < 0 ? "ROLLBACK" : "COMMIT", rc < 0 ? "rollback" : "commit");
	} else {
		if (rc < 0)
			exec(dbc, "ROLLBACK TO db_sp", "rollback to savepoint");
		rc2 = exec(dbc, "RELEASE db_sp", "release savepoint");
	}
	return rc < 0 ? rc : rc2 < 0 ? rc2 : rc;
}

bool db_pg_in_transaction(struct db_context *dbc)
{
	struct db_pg *pg = dbc->pg;

	/* a lost connection's status is "unknown": what counts then is whether one was begun */
	return pg->tx_open || (PQstatus(pg->conn) == CONNECTION_OK && PQtransactionStatus(pg->conn) != PQTRANS_IDLE);
}

void db_pg_busy_timeout(struct db_context *dbc, int ms)
{
	char sql[64];

	snprintf(sql, sizeof(sql), "SET lock_timeout = %d", ms);
	exec(dbc, sql, "lock_timeout");
}

int db_pg_explain(struct db_q *q, void (*cb)(void *data, const char *line), void *data)
{
	char *sql = talloc_asprintf(q->dbc, "EXPLAIN EXECUTE %s", q->pg->name);
	PGresult *res;
	int rc;

	for (unsigned i = 0; i < q->pg->nparams; i++)
		sql = talloc_asprintf_append(sql, "%sNULL", i ? ", " : "(");
	if (q->pg->nparams)
		sql = talloc_strdup_append(sql, ")");
	res = PQexec(q->dbc->pg->conn, sql);
	talloc_free(sql);
	rc = res_errno(q->dbc, res, "explain");
	for (int i = 0; rc == 0 && i < PQntuples(res); i++)
		cb(data, PQgetvalue(res, i, 0));
	PQclear(res);
	return rc;
}

/* ---- open: connect, schema, the tables that return their id ---- */

/* The version in linli_schema, 0 for an empty database (no linli_schema). */
static int schema_version(struct db_context *dbc, int64_t *v)
{
	int64_t exists = 0;
	int rc = exec_int(dbc,
			  "SELECT count(*) FROM pg_tables WHERE tablename = 'linli_schema'"
			  " AND schemaname = current_schema()",
			  &exists);

	if (rc < 0)
		return rc;
	if (!exists) {
		*v = 0;
		return 0;
	}
	return exec_int(dbc, "SELECT version FROM linli_schema", v);
}

/* `community CODE`: the community's own schema (its tables, its numbering: references are unique per
 * community), created on first use and listed in public.linli_community for the street office. */
static int community_schema(struct db_context *dbc)
{
	struct db_pg *pg = dbc->pg;
	char *sql = talloc_asprintf(dbc,
				    "CREATE SCHEMA IF NOT EXISTS %s;"
				    " CREATE TABLE IF NOT EXISTS public.linli_community (code text PRIMARY KEY,"
				    " schema_name text NOT NULL UNIQUE, created timestamptz NOT NULL DEFAULT now());"
				    " INSERT INTO public.linli_community (code, schema_name) VALUES ('%s', '%s')"
				    " ON CONFLICT (code) DO NOTHING",
				    pg->schema, pg->schema + 6, pg->schema);
	int rc = sql ? exec(dbc, sql, "community schema") : -ENOMEM;

	talloc_free(sql);
	return rc;
}

/* db/pg/: a baseline (the first file) and the steps after it. Under an advisory lock, so that
 * two boxes starting at once on an empty database do not both run it. */
static int upgrade(struct db_context *dbc)
{
	int latest = db_latest_version();
	int64_t v;
	int rc;

	rc = exec(dbc, "BEGIN", "begin upgrade");
	if (rc < 0)
		return rc;
	rc = exec(dbc, "SELECT pg_advisory_xact_lock(7305414)", "upgrade lock");
	if (rc == 0 && *dbc->pg->schema)
		rc = community_schema(dbc);
	if (rc == 0)
		rc = schema_version(dbc, &v);
	for (unsigned i = 0; rc == 0 && i < db_pg_sql_nfiles; i++) {
		const struct db_sql_file *f = &db_pg_sql_files[i];
		long n = strtol(f->name, NULL, 10);

		if (n <= v)
			continue;
		if (v && n != v + 1) {
			LOGDB(LOGL_ERROR, "db %s: version %" PRId64 ", but the next PostgreSQL step is %s\n", dbc->path,
			      v, f->name);
			rc = -EPROTO;
			break;
		}
		rc = exec(dbc, f->sql, f->name);
		if (rc == 0)
			rc = schema_version(dbc, &v);
		if (rc == 0 && v != n) {
			LOGDB(LOGL_ERROR, "db %s: step %s left version %" PRId64 "\n", dbc->path, f->name, v);
			rc = -EPROTO;
		}
		if (rc == 0)
			LOGDB(LOGL_NOTICE, "db %s: %s to version %ld (%s)\n", dbc->path,
			      i == 0 ? "created" : "upgraded", n, f->name);
	}
	if (rc == 0 && v != latest) {
		LOGDB(LOGL_ERROR, "db %s: version %" PRId64 "; this linli knows %d%s\n", dbc->path, v, latest,
		      v > latest ? ": refusing to open a newer database" : ": no PostgreSQL step for it yet");
		rc = -EPROTO;
	}
	/* the owner's lease: this engine's own bookkeeping (SQLite has the lock file), so outside the
	 * numbered versions */
	if (rc == 0)
		rc = exec(dbc,
			  "CREATE TABLE IF NOT EXISTS linli_owner (one boolean PRIMARY KEY DEFAULT true CHECK (one),"
			  " box text NOT NULL, pid integer NOT NULL, since timestamptz NOT NULL,"
			  " lease_until timestamptz NOT NULL)",
			  "owner table");
	/* a community of a district: the street office's tables and view over every community */
	if (rc == 0 && *dbc->pg->schema)
		rc = exec(dbc, db_district_ddl, "district view");
	if (rc == 0)
		return exec(dbc, "COMMIT", "commit upgrade");
	exec(dbc, "ROLLBACK", "rollback upgrade");
	return rc;
}

static int find_id_tables(struct db_context *dbc)
{
	struct db_pg *pg = dbc->pg;
	PGresult *res = PQexec(pg->conn, "SELECT table_name FROM information_schema.columns WHERE column_name = 'id'"
					 " AND is_identity = 'YES' AND table_schema = current_schema()");
	int rc = res_errno(dbc, res, "identity columns");

	if (rc == 0) {
		pg->n_id_tables = (unsigned)PQntuples(res);
		pg->id_tables = talloc_array(pg, char *, pg->n_id_tables);
		for (unsigned i = 0; i < pg->n_id_tables; i++)
			pg->id_tables[i] = talloc_strdup(pg->id_tables, PQgetvalue(res, (int)i, 0));
	}
	PQclear(res);
	return rc;
}

static void notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg; /* NOTICEs of the baseline (setval, IF EXISTS) are not worth a log line */
}

static int session_setup(struct db_context *dbc)
{
	struct db_pg *pg = dbc->pg;
	int rc;

	/* times are shown in the box's local time, as SQLite's 'localtime' does */
	rc = exec(dbc, "SET client_min_messages = warning", "session");
	if (rc == 0 && *pg->schema) {
		/* every statement finds the community's tables (the schema is created by upgrade) */
		char sql[96];

		snprintf(sql, sizeof(sql), "SET search_path TO %s", pg->schema);
		rc = exec(dbc, sql, "community schema");
	}
	if (rc == 0 && getenv("TZ") && *getenv("TZ")) {
		const char *vals[1] = {getenv("TZ")};
		PGresult *res = PQexecParams(pg->conn, "SELECT set_config('TimeZone', $1, false)", 1, NULL, vals, NULL,
					     NULL, 0);

		rc = res_errno(dbc, res, "time zone");
		PQclear(res);
	}
	return rc;
}

static int pg_destructor(struct db_pg *pg)
{
	if (pg->conn)
		PQfinish(pg->conn);
	return 0;
}

/* The owner's row: this session, its box, a lease the server's clock measures (so the boxes' clocks
 * do not matter). */
static int lease_take(struct db_context *dbc)
{
	char box[128], host[64] = "", ms[16];
	const char *vals[2] = {box, ms};
	PGresult *res;
	int rc;

	gethostname(host, sizeof(host) - 1);
	snprintf(box, sizeof(box), "%s pid %d", host, (int)getpid());
	snprintf(ms, sizeof(ms), "%d", dbc->pg->lease_ms);
	res = PQexecParams(
		dbc->pg->conn,
		"INSERT INTO linli_owner (one, box, pid, since, lease_until) VALUES (true, $1, pg_backend_pid(),"
		" now(), clock_timestamp() + $2::int * interval '1 millisecond') ON CONFLICT (one) DO UPDATE SET"
		" box = excluded.box, pid = excluded.pid, since = excluded.since, lease_until = excluded.lease_until",
		2, NULL, vals, NULL, NULL, 0);
	rc = res_errno(dbc, res, "owner's lease");
	PQclear(res);
	return rc;
}

/* The owner's lock is busy: when the owner's lease ran out (its box stopped renewing: frozen, cut
 * off, its power gone, while the server still keeps its session), that session is ended, so that
 * its lock comes free and the waiting box takes over; the lost box finds itself fenced if it comes
 * back (usable). */
static void lease_expired(struct db_context *dbc)
{
	PGresult *res = PQexec(dbc->pg->conn, "SELECT pid, box, pg_terminate_backend(pid) FROM linli_owner"
					      " WHERE lease_until < clock_timestamp() AND pid != pg_backend_pid()");

	if (res_errno(dbc, res, "owner's lease") == 0 && PQntuples(res) == 1)
		LOGDB(LOGL_NOTICE,
		      "db %s: the owner's lease ran out (%s, server pid %s): its session %s; taking over\n", dbc->path,
		      PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 0),
		      !strcmp(PQgetvalue(res, 0, 2), "t") ? "is ended" : "cannot be ended (no right to)");
	PQclear(res);
}

int db_pg_own(struct db_context *dbc, int lease_s)
{
	struct db_pg *pg = dbc->pg;
	int64_t got = 0;
	int rc = usable(dbc);

	pg->lease_ms = lease_s * 1000;
	if (rc == 0)
		rc = exec_int(dbc, OWNER_LOCK_SQL, &got);
	if (rc == 0 && !got)
		lease_expired(dbc);
	if (rc == 0 && got) {
		rc = lease_take(dbc);
		if (rc == 0)
			pg->owner = true;
		else
			exec(dbc, "SELECT pg_advisory_unlock_all()", "owner's lock");
	}
	return rc < 0 ? rc : got ? 0 : -EBUSY;
}

int db_pg_own_renew(struct db_context *dbc)
{
	struct db_pg *pg = dbc->pg;
	char sql[160];
	int rc;

	if (!pg->owner)
		return 0;
	if (pg->tx_open)
		return 0; /* renewed next time: a transaction may not be cut by it */
	rc = usable(dbc);
	if (pg->fenced)
		return -EPERM;
	if (rc < 0)
		return rc;
	snprintf(sql, sizeof(sql),
		 "UPDATE linli_owner SET lease_until = clock_timestamp() + %d * interval '1 millisecond'"
		 " WHERE pid = pg_backend_pid()",
		 pg->lease_ms);
	rc = exec(dbc, sql, "owner's lease");
	return rc;
}

int db_pg_open(struct db_context *dbc, const char *url, const char *community)
{
	struct db_pg *pg = talloc_zero(dbc, struct db_pg);
	int rc;

	if (!pg)
		return -ENOMEM;
	talloc_set_destructor(pg, pg_destructor);
	dbc->pg = pg;
	if (community && *community)
		snprintf(pg->schema, sizeof(pg->schema), "linli_%s", community);
	pg->conn = PQconnectdb(url);
	if (!pg->conn || PQstatus(pg->conn) != CONNECTION_OK) {
		LOGDB(LOGL_ERROR, "db %s: cannot connect: %s", dbc->path,
		      pg->conn ? PQerrorMessage(pg->conn) : "out of memory\n");
		return -ECONNREFUSED;
	}
	PQsetNoticeProcessor(pg->conn, notice, NULL);
	rc = session_setup(dbc);
	if (rc == 0)
		rc = upgrade(dbc);
	if (rc == 0)
		rc = find_id_tables(dbc);
	return rc;
}

void db_pg_close(struct db_context *dbc)
{
	if (dbc->pg) {
		talloc_free(dbc->pg);
		dbc->pg = NULL;
	}
}
