/* A district on one PostgreSQL database (issue 14): what the street office sees over several
 * communities. Each community is a schema (linli_CODE); the street office's tokens and one view over
 * every community's requests are in public, (re)made when a community's schema is opened (db_pg.c's
 * upgrade runs db_district_ddl under the upgrade lock). A token's scope is a list of communities:
 * it reads only theirs. Read-only: acting on a request stays with that community's own staff.
 *
 * These statements are PostgreSQL's own (arrays, the view over schemas), outside the prepared set;
 * on SQLite the file is one community and every function here answers -ENOTSUP. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <talloc.h>
#include <osmocom/core/utils.h>

#include "db/db_engine.h"
#include "db/db_priv.h"

/* The view lists every registered community whose schema has its tables; a request is open unless
 * closed, visited or merged (as RQ_OPEN_SQL), overdue when open and flagged or past its deadline. */
const char db_district_ddl[] =
	"CREATE TABLE IF NOT EXISTS public.linli_district_token (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	" hash text NOT NULL UNIQUE, label text NOT NULL DEFAULT '', scope text[] NOT NULL"
	" CHECK (cardinality(scope) > 0), created bigint NOT NULL, revoked bigint, last_used bigint);"
	" DO $district$ DECLARE q text; BEGIN"
	" SELECT string_agg(format('SELECT %L::text AS community, r.ref, r.kind, r.state, r.text, r.created,"
	" r.updated, r.deadline, r.flags, coalesce(g.code, '''') AS grid FROM %I.request r"
	" LEFT JOIN %I.household h ON h.id = r.household_id LEFT JOIN %I.grp gp ON gp.id = h.grp_id"
	" LEFT JOIN %I.grid g ON g.id = gp.grid_id', c.code, c.schema_name, c.schema_name, c.schema_name,"
	" c.schema_name), ' UNION ALL ' ORDER BY c.code) INTO q FROM public.linli_community c"
	" WHERE to_regclass(quote_ident(c.schema_name) || '.request') IS NOT NULL;"
	" IF q IS NOT NULL THEN EXECUTE 'CREATE OR REPLACE VIEW public.linli_district_request AS ' || q; END IF;"
	" END $district$";

#define OPEN_SQL "state NOT IN ('closed', 'visited', 'merged')"

/* A community's box of a district's PostgreSQL database (`community CODE`): the tables exist. */
static bool district(struct db_context *dbc)
{
	return dbc->pg && db_pg_in_district(dbc);
}

/* scope "alpha,beta" as an array literal "{alpha,beta}" into buf: every code valid, at most
 * DB_DISTRICT_SCOPE_MAX of them. */
static int scope_array(const char *scope, char *buf, size_t len)
{
	char code[DB_COMMUNITY_MAX + 1];
	size_t at = 1;
	unsigned n = 0;

	if (!scope || !*scope || len < 3)
		return -EINVAL;
	buf[0] = '{';
	for (const char *p = scope; *p;) {
		size_t l = strcspn(p, ",");

		if (l == 0 || l > DB_COMMUNITY_MAX || ++n > DB_DISTRICT_SCOPE_MAX)
			return -EINVAL;
		memcpy(code, p, l);
		code[l] = 0;
		if (!db_community_valid(code) || at + l + 2 > len)
			return -EINVAL;
		if (at > 1)
			buf[at++] = ',';
		memcpy(buf + at, code, l);
		at += l;
		p += l;
		if (*p == ',' && !*++p)
			return -EINVAL;
	}
	buf[at++] = '}';
	buf[at] = 0;
	return 0;
}

static void count_row(void *data, struct db_row *st)
{
	*(int64_t *)data = db_col_int64(st, 0);
}

int db_district_token_add(struct db_context *dbc, const char *token, const char *label, const char *scope, int64_t now,
			  int64_t *id_out)
{
	char hex[65], arr[DB_DISTRICT_SCOPE_MAX * (DB_COMMUNITY_MAX + 1) + 3], when[24];
	const char *vals[4] = {hex, label ? label : "", arr, when};
	int64_t known = -1, id = 0;
	int rc;

	if (!district(dbc))
		return -ENOTSUP;
	if (!token || strlen(token) < 16 || scope_array(scope, arr, sizeof(arr)) < 0)
		return -EINVAL;
	/* every community of the scope must be one of the district's */
	rc = db_pg_query(
		dbc,
		"SELECT cardinality($1::text[]) - count(*) FROM public.linli_community WHERE code = ANY($1::text[])", 1,
		(const char *[]){arr}, count_row, &known);
	if (rc < 0)
		return rc;
	if (known != 0)
		return -ENOENT;
	rc = db_token_hash(token, hex);
	if (rc < 0)
		return rc;
	snprintf(when, sizeof(when), "%" PRId64, now);
	rc = db_pg_query(
		dbc,
		"INSERT INTO public.linli_district_token (hash, label, scope, created) VALUES ($1, $2, $3::text[], $4)"
		" RETURNING id",
		4, vals, count_row, &id);
	if (rc < 0)
		return rc;
	if (id_out)
		*id_out = id;
	return 0;
}

/* id, label, scope as "a,b", created, revoked (0), last used (0) */
#define TOKEN_COLS "id, label, array_to_string(scope, ','), created, coalesce(revoked, 0), coalesce(last_used, 0)"

static void token_fill(struct db_district_token *t, struct db_row *st)
{
	memset(t, 0, sizeof(*t));
	t->id = db_col_int64(st, 0);
	OSMO_STRLCPY_ARRAY(t->label, db_col_text(st, 1));
	OSMO_STRLCPY_ARRAY(t->scope, db_col_text(st, 2));
	t->created_at = db_col_int64(st, 3);
	t->revoked_at = db_col_int64(st, 4);
	t->last_used_at = db_col_int64(st, 5);
}

static void token_row(void *data, struct db_row *st)
{
	token_fill(data, st);
}

int db_district_token_check(struct db_context *dbc, const char *token, int64_t now, struct db_district_token *out)
{
	char hex[65], when[24];
	int rc;

	if (!district(dbc))
		return -ENOTSUP;
	if (!token || db_token_hash(token, hex) < 0)
		return -ENOENT;
	snprintf(when, sizeof(when), "%" PRId64, now);
	/* the table is made with the first community: before that no token can be known */
	rc = db_pg_query(dbc,
			 "UPDATE public.linli_district_token SET last_used = $2 WHERE hash = $1 AND revoked IS NULL"
			 " RETURNING " TOKEN_COLS,
			 2, (const char *[]){hex, when}, token_row, out);
	if (rc < 0)
		return rc;
	return rc == 1 ? 0 : -ENOENT;
}

int db_district_token_valid(struct db_context *dbc, int64_t id, struct db_district_token *out)
{
	char sid[24];
	int rc;

	if (!district(dbc))
		return -ENOTSUP;
	snprintf(sid, sizeof(sid), "%" PRId64, id);
	rc = db_pg_query(dbc,
			 "SELECT " TOKEN_COLS " FROM public.linli_district_token WHERE id = $1 AND revoked IS NULL", 1,
			 (const char *[]){sid}, token_row, out);
	if (rc < 0)
		return rc;
	return rc == 1 ? 0 : -ENOENT;
}

struct token_list {
	void *ctx;
	struct db_district_token *v;
	int n;
};

static void token_list_row(void *data, struct db_row *st)
{
	struct token_list *l = data;
	struct db_district_token *v = talloc_realloc(l->ctx, l->v, struct db_district_token, l->n + 1);

	if (!v)
		return;
	l->v = v;
	token_fill(&v[l->n++], st);
}

int db_district_token_list(struct db_context *dbc, void *ctx, struct db_district_token **out)
{
	struct token_list l = {.ctx = ctx};
	int rc;

	if (!district(dbc))
		return -ENOTSUP;
	rc = db_pg_query(dbc, "SELECT " TOKEN_COLS " FROM public.linli_district_token ORDER BY id", 0, NULL,
			 token_list_row, &l);
	if (rc < 0)
		return rc;
	*out = l.v;
	return l.n;
}

int db_district_token_revoke(struct db_context *dbc, int64_t id, int64_t now)
{
	char sid[24], when[24];
	int rc;

	if (!district(dbc))
		return -ENOTSUP;
	snprintf(sid, sizeof(sid), "%" PRId64, id);
	snprintf(when, sizeof(when), "%" PRId64, now);
	rc = db_pg_query(dbc, "UPDATE public.linli_district_token SET revoked = $2 WHERE id = $1 AND revoked IS NULL",
			 2, (const char *[]){sid, when}, NULL, NULL);
	if (rc < 0)
		return rc;
	return rc == 1 ? 0 : -ENOENT;
}

bool db_district_in_scope(const char *scope, const char *community)
{
	size_t l = community ? strlen(community) : 0;

	for (const char *p = scope; l && p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, community, l) && (p[l] == ',' || !p[l]))
			return true;
	return false;
}

struct req_run {
	db_district_request_fn fn;
	void *data;
};

static void request_row(void *data, struct db_row *st)
{
	struct req_run *run = data;
	struct db_district_request r = {0};

	OSMO_STRLCPY_ARRAY(r.community, db_col_text(st, 0));
	OSMO_STRLCPY_ARRAY(r.ref, db_col_text(st, 1));
	OSMO_STRLCPY_ARRAY(r.kind, db_col_text(st, 2));
	OSMO_STRLCPY_ARRAY(r.state, db_col_text(st, 3));
	OSMO_STRLCPY_ARRAY(r.text, db_col_text(st, 4));
	r.created = db_col_int64(st, 5);
	r.updated = db_col_int64(st, 6);
	r.deadline = db_col_int64(st, 7);
	r.open = db_col_int64(st, 8) != 0;
	r.overdue = db_col_int64(st, 9) != 0;
	OSMO_STRLCPY_ARRAY(r.grid, db_col_text(st, 10));
	run->fn(&r, run->data);
}

int db_district_requests(struct db_context *dbc, const char *scope, const struct db_district_filter *f, int64_t now,
			 db_district_request_fn fn, void *data)
{
	char arr[DB_DISTRICT_SCOPE_MAX * (DB_COMMUNITY_MAX + 1) + 3], when[24], lim[16];
	struct req_run run = {.fn = fn, .data = data};
	const char *vals[6];

	if (!district(dbc))
		return -ENOTSUP;
	if (scope_array(scope, arr, sizeof(arr)) < 0)
		return -EINVAL;
	snprintf(when, sizeof(when), "%" PRId64, now);
	snprintf(lim, sizeof(lim), "%u", f->limit ? f->limit : 100);
	vals[0] = arr;
	vals[1] = f->community ? f->community : "";
	vals[2] = f->open || f->overdue ? "1" : "0";
	vals[3] = f->overdue ? "1" : "0";
	vals[4] = when;
	vals[5] = lim;
	/* no community opened yet: no view, nothing to list */
	return db_pg_query(
		dbc,
		"SELECT community, ref, kind, state, text, created, updated, coalesce(deadline, 0),"
		" (" OPEN_SQL ")::int, (" OPEN_SQL " AND ((flags & 1) <> 0 OR deadline < $5::bigint))::int, grid"
		" FROM public.linli_district_request WHERE community = ANY($1::text[]) AND ($2 = '' OR community = $2)"
		" AND ($3 = '0' OR " OPEN_SQL ") AND ($4 = '0' OR (flags & 1) <> 0 OR deadline < $5::bigint)"
		" ORDER BY created DESC, community, ref LIMIT $6::int",
		6, vals, request_row, &run);
}

struct sum_run {
	db_district_summary_fn fn;
	void *data;
};

static void summary_row(void *data, struct db_row *st)
{
	struct sum_run *run = data;

	run->fn(db_col_text(st, 0), db_col_int64(st, 1), db_col_int64(st, 2), db_col_int64(st, 3), run->data);
}

int db_district_summary(struct db_context *dbc, const char *scope, int64_t now, db_district_summary_fn fn, void *data)
{
	char arr[DB_DISTRICT_SCOPE_MAX * (DB_COMMUNITY_MAX + 1) + 3], when[24];
	struct sum_run run = {.fn = fn, .data = data};

	if (!district(dbc))
		return -ENOTSUP;
	if (scope_array(scope, arr, sizeof(arr)) < 0)
		return -EINVAL;
	snprintf(when, sizeof(when), "%" PRId64, now);
	return db_pg_query(
		dbc,
		"SELECT c.code, count(r.ref), count(r.ref) FILTER (WHERE r." OPEN_SQL "),"
		" count(r.ref) FILTER (WHERE r." OPEN_SQL " AND ((r.flags & 1) <> 0 OR r.deadline < $2::bigint))"
		" FROM public.linli_community c LEFT JOIN public.linli_district_request r ON r.community = c.code"
		" WHERE c.code = ANY($1::text[]) GROUP BY c.code ORDER BY c.code",
		2, (const char *[]){arr, when}, summary_row, &run);
}
