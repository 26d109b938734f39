/* CSV import of grids, groups, households and phones: validate every row, then write all or
 * nothing. The formats are described in etc/sample/README.md. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <talloc.h>
#include <osmocom/core/logging.h>
#include <osmocom/core/utils.h>

#include "db/db_priv.h"
#include "db/import.h"
#include "util/utf8.h"

static const struct db_stmt_def stmts[] = {
	DB_SQL(COMMUNITY_GET, "SELECT id FROM community WHERE name = :name"),
	DB_SQL(COMMUNITY_ADD, "INSERT INTO community (name, created) VALUES (:name, :now)"),
	DB_SQL(GRID_GET, "SELECT id FROM grid WHERE code = :code"),
	DB_SQL(GRID_ADD, "INSERT INTO grid (community_id, code, name, worker_phone_id, created)"
			 " VALUES (:community, :code, :name, :worker, :now)"),
	DB_SQL(GRP_GET, "SELECT id FROM grp WHERE code = :code"),
	DB_SQL(GRP_ADD, "INSERT INTO grp (grid_id, code, name, created) VALUES (:grid, :code, :name, :now)"),
	DB_SQL(HOUSEHOLD_GET, "SELECT id FROM household WHERE code = :code"),
	DB_SQL(HOUSEHOLD_ADD, "INSERT INTO household (grp_id, code, building, unit, room, created)"
			      " VALUES (:grp, :code, :building, :unit, :room, :now)"),
	DB_SQL(HOUSEHOLD_SET_PRIMARY, "UPDATE household SET primary_phone_id = :phone WHERE id = :id"),
	DB_SQL(PHONE_ADD, "INSERT INTO phone (number, name, role, lang, household_id, state, created)"
			  " VALUES (:number, :name, :role, :lang, :household, 'active', :now)"),
	DB_SQL(COUNT_GRID, "SELECT count(*) FROM grid"),
	DB_SQL(COUNT_GRP, "SELECT count(*) FROM grp"),
	DB_SQL(COUNT_HOUSEHOLD, "SELECT count(*) FROM household"),
	DB_SQL(COUNT_PHONE, "SELECT count(*) FROM phone"),
};
DB_STMT_TABLE(db_stmts_import, stmts);

/* ---- CSV (RFC 4180) ---- */

void db_csv_init(struct db_csv *c, const char *buf, size_t len)
{
	c->p = buf;
	c->end = buf + len;
	c->line = 1;
	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
		c->p += 3;
}

static void csv_skip_line(struct db_csv *c)
{
	while (c->p < c->end && *c->p != '\n')
		c->p++;
	if (c->p < c->end) {
		c->p++;
		c->line++;
	}
}

static bool blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* A quoted field starting at the opening quote; on success c->p is after the closing quote. */
static char *csv_quoted(struct db_csv *c, void *ctx, const char **err)
{
	const char *start = c->p + 1, *q;
	size_t n = 0;
	char *f, *o;

	for (q = start;; q++) {
		if (q >= c->end) {
			*err = "unterminated quoted field";
			return NULL;
		}
		if (*q == '\0') {
			/* the rest of the line is skipped (an unterminated quote ends the file instead) */
			*err = "a NUL byte in a quoted field";
			c->p = q;
			return NULL;
		}
		if (*q == '"') {
			if (q + 1 < c->end && q[1] == '"') {
				q++;
			} else {
				break;
			}
		}
		n++;
	}
	f = o = talloc_size(ctx, n + 1);
	for (const char *s = start; s < q; s++) {
		if (*s == '"')
			s++;
		else if (*s == '\n')
			c->line++;
		*o++ = *s;
	}
	*o = '\0';
	c->p = q + 1;
	return f;
}

int db_csv_next(struct db_csv *c, void *ctx, char ***fields, unsigned *line, const char **err)
{
	char **fv = NULL;
	int nf = 0;

	*fields = NULL;
	*err = NULL;
	/* skip blank lines */
	for (;;) {
		const char *q = c->p;

		while (q < c->end && (blank(*q) || *q == '\r'))
			q++;
		if (q >= c->end) {
			c->p = c->end;
			return 0;
		}
		if (*q != '\n')
			break;
		c->p = q + 1;
		c->line++;
	}
	*line = c->line;
	for (;;) {
		char *f;

		while (c->p < c->end && blank(*c->p))
			c->p++;
		if (c->p < c->end && *c->p == '"') {
			unsigned start_line = c->line;

			f = csv_quoted(c, ctx, err);
			if (!f && c->p < c->end && *c->p == '\0')
				goto bad_skip;
			if (!f) {
				c->line = start_line;
				c->p = c->end;
				goto bad;
			}
			while (c->p < c->end &&
			       (blank(*c->p) || (*c->p == '\r' && c->p + 1 < c->end && c->p[1] == '\n')))
				c->p++;
			if (c->p < c->end && *c->p != ',' && *c->p != '\n') {
				*err = "text after a closing quote";
				goto bad_skip;
			}
		} else {
			const char *s = c->p, *e;

			while (c->p < c->end && *c->p != ',' && *c->p != '\n') {
				if (*c->p == '"') {
					*err = "quote inside an unquoted field (quote the whole field)";
					goto bad_skip;
				}
				if (*c->p == '\0') {
					/* a field cut short at the NUL would be imported as something else */
					*err = "a NUL byte in a field";
					goto bad_skip;
				}
				c->p++;
			}
			for (e = c->p; e > s && (blank(e[-1]) || e[-1] == '\r'); e--)
				;
			f = talloc_strndup(ctx, s, e - s);
		}
		fv = talloc_realloc(ctx, fv, char *, nf + 1);
		fv[nf++] = f;
		if (c->p >= c->end)
			break;
		if (*c->p == '\n') {
			c->p++;
			c->line++;
			break;
		}
		c->p++; /* ',' */
	}
	*fields = fv;
	return nf;
bad_skip:
	csv_skip_line(c);
bad:
	talloc_free(fv);
	return -EINVAL;
}

/* ---- a small string -> line map for duplicates within a file ---- */

struct strmap {
	const char **keys;
	unsigned *vals;
	size_t cap, n;
};

static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* Remember key -> val unless key is known; returns the value stored first, 0 when it was new. */
static unsigned strmap_put(void *ctx, struct strmap *m, const char *key, unsigned val)
{
	size_t i;

	if (2 * (m->n + 1) > m->cap) {
		struct strmap bigger = {.cap = m->cap ? 2 * m->cap : 64};

		bigger.keys = talloc_zero_array(ctx, const char *, bigger.cap);
		bigger.vals = talloc_zero_array(ctx, unsigned, bigger.cap);
		OSMO_ASSERT(bigger.keys && bigger.vals);
		for (i = 0; i < m->cap; i++)
			if (m->keys[i])
				strmap_put(ctx, &bigger, m->keys[i], m->vals[i]);
		talloc_free(m->keys);
		talloc_free(m->vals);
		*m = bigger;
	}
	for (i = fnv1a(key) & (m->cap - 1); m->keys[i]; i = (i + 1) & (m->cap - 1))
		if (!strcmp(m->keys[i], key))
			return m->vals[i];
	m->keys[i] = key;
	m->vals[i] = val;
	m->n++;
	return 0;
}

/* ---- the kinds ---- */

struct kind_def {
	const char *name;
	const char *header;
	unsigned nf;
	enum db_stmt count;
};

static const struct kind_def kinds[_NUM_DB_IMPORT] = {
	[DB_IMPORT_GRIDS] = {"grids", "community,grid,name,worker_number,worker_name", 5, DB_STMT_COUNT_GRID},
	[DB_IMPORT_GROUPS] = {"groups", "group,grid,name", 3, DB_STMT_COUNT_GRP},
	[DB_IMPORT_HOUSEHOLDS] = {"households", "household,group,building,unit,room,number,name", 7,
				  DB_STMT_COUNT_HOUSEHOLD},
	[DB_IMPORT_PHONES] = {"phones", "number,name,role,lang,household", 5, DB_STMT_COUNT_PHONE},
};

const char *db_import_kind_name(enum db_import_kind kind)
{
	return kind < _NUM_DB_IMPORT ? kinds[kind].name : "?";
}

int db_import_kind_parse(const char *name)
{
	for (unsigned i = 0; i < _NUM_DB_IMPORT; i++)
		if (!strcmp(name, kinds[i].name))
			return (int)i;
	return -EINVAL;
}

const char *db_import_header(enum db_import_kind kind)
{
	return kind < _NUM_DB_IMPORT ? kinds[kind].header : "";
}

int64_t db_import_count(struct db_context *dbc, enum db_import_kind kind)
{
	int64_t n;
	int rc;

	if (kind >= _NUM_DB_IMPORT)
		return -EINVAL;
	rc = db_int64(db_q(dbc, kinds[kind].count), &n);
	return rc < 0 ? (rc == -ENOENT ? -EIO : rc) : n;
}

/* ---- validation ---- */

enum { MAX_CODE = 32, MAX_NAME = 63, MAX_ADDR = 32 };

static const char *const roles[] = {"resident", "grid_worker", "staff", "runner"};

struct row {
	unsigned line;
	char **f;
	char *problems;	  /* "; "-joined reasons, NULL when the row is good */
	char number[32];  /* the row's number, normalised */
	int64_t ref_id;	  /* the grid, group or household the row refers to */
	const char *lang; /* phones: canonical language */
};

struct import {
	struct db_context *dbc;
	void *ctx;
	enum db_import_kind kind;
	const char *file;
	db_import_report_cb report;
	void *data;
	struct row *rows;
	size_t nrows;
	struct strmap codes, numbers;
	unsigned bad;
	int64_t now;
	char *cols[8]; /* the column names, from the header */
};

static void problem(struct import *im, struct row *r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void problem(struct import *im, struct row *r, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = talloc_vasprintf(im->ctx, fmt, ap);
	va_end(ap);
	r->problems = r->problems ? talloc_asprintf_append(r->problems, "; %s", s) : s;
}

static void report(struct import *im, unsigned line, const char *reason)
{
	im->bad++;
	if (im->report)
		im->report(im->data, im->file, line, reason);
}

/* Field i (required or not) of the row; false (and a problem) when empty but required, or too long. */
static bool field(struct import *im, struct row *r, unsigned i, bool required, size_t max)
{
	if (required && !r->f[i][0]) {
		problem(im, r, "empty %s", im->cols[i]);
		return false;
	}
	if (strlen(r->f[i]) > max) {
		problem(im, r, "%s too long (at most %zu bytes)", im->cols[i], max);
		return false;
	}
	return true;
}

/* Look a code up with one of the *_GET statements: its id, 0 when unknown, -errno. */
static int64_t lookup(struct import *im, enum db_stmt idx, const char *param, const char *val)
{
	struct db_q *q = db_q(im->dbc, idx);
	int64_t id;
	int rc;

	db_bind_text(q, param, val);
	rc = db_int64(q, &id);
	return rc == -ENOENT ? 0 : rc < 0 ? rc : id;
}

/* The code in field i must be new: not twice in the file, not in the database. */
static int check_new_code(struct import *im, struct row *r, unsigned i, const char *what, enum db_stmt get)
{
	unsigned first = strmap_put(im->ctx, &im->codes, r->f[i], r->line);
	int64_t id;

	if (first) {
		problem(im, r, "duplicate %s code \"%s\" (also on line %u)", what, r->f[i], first);
		return 0;
	}
	id = lookup(im, get, ":code", r->f[i]);
	if (id < 0)
		return (int)id;
	if (id > 0)
		problem(im, r, "%s \"%s\" is already in the database", what, r->f[i]);
	return 0;
}

/* The code in field i must name an existing row; its id goes to r->ref_id. */
static int check_ref(struct import *im, struct row *r, unsigned i, const char *what, enum db_stmt get)
{
	int64_t id = lookup(im, get, ":code", r->f[i]);

	if (id < 0)
		return (int)id;
	if (id == 0)
		problem(im, r, "unknown %s \"%s\"", what, r->f[i]);
	r->ref_id = id;
	return 0;
}

/* The number in field i: valid E.164; when unique, not twice in the file nor in the database. */
static int check_number(struct import *im, struct row *r, unsigned i, bool unique)
{
	struct db_phone ph;
	unsigned first;
	int rc;

	if (db_number_norm(r->f[i], r->number, sizeof(r->number)) < 0 || r->number[0] != '+') {
		problem(im, r, "invalid number \"%s\"", r->f[i]);
		r->number[0] = '\0';
		return 0;
	}
	if (!unique)
		return 0;
	first = strmap_put(im->ctx, &im->numbers, talloc_strdup(im->ctx, r->number), r->line);
	if (first) {
		problem(im, r, "duplicate number %s (also on line %u)", r->number, first);
		return 0;
	}
	rc = db_phone_get(im->dbc, r->number, &ph);
	if (rc == 0)
		problem(im, r, "number %s is already in the database (%s)", r->number, ph.name);
	else if (rc != -ENOENT)
		return rc;
	return 0;
}

static int validate_row(struct import *im, struct row *r)
{
	int rc = 0;

	switch (im->kind) {
	case DB_IMPORT_GRIDS: /* community,grid,name,worker_number,worker_name */
		field(im, r, 0, true, MAX_NAME);
		if (field(im, r, 1, true, MAX_CODE))
			rc = check_new_code(im, r, 1, "grid", DB_STMT_GRID_GET);
		field(im, r, 2, true, MAX_NAME);
		if (rc == 0 && field(im, r, 3, true, 64))
			rc = check_number(im, r, 3, false); /* one worker may look after two grids */
		field(im, r, 4, false, MAX_NAME);
		break;
	case DB_IMPORT_GROUPS: /* group,grid,name */
		if (field(im, r, 0, true, MAX_CODE))
			rc = check_new_code(im, r, 0, "group", DB_STMT_GRP_GET);
		if (rc == 0 && field(im, r, 1, true, MAX_CODE))
			rc = check_ref(im, r, 1, "grid", DB_STMT_GRID_GET);
		field(im, r, 2, true, MAX_NAME);
		break;
	case DB_IMPORT_HOUSEHOLDS: /* household,group,building,unit,room,number,name */
		if (field(im, r, 0, true, MAX_CODE))
			rc = check_new_code(im, r, 0, "household", DB_STMT_HOUSEHOLD_GET);
		if (rc == 0 && field(im, r, 1, true, MAX_CODE))
			rc = check_ref(im, r, 1, "group", DB_STMT_GRP_GET);
		field(im, r, 2, true, MAX_ADDR);
		field(im, r, 3, false, MAX_ADDR);
		field(im, r, 4, true, MAX_ADDR);
		if (rc == 0 && field(im, r, 5, true, 64))
			rc = check_number(im, r, 5, true);
		field(im, r, 6, true, MAX_NAME);
		break;
	case DB_IMPORT_PHONES: /* number,name,role,lang,household */
		if (field(im, r, 0, true, 64))
			rc = check_number(im, r, 0, true);
		field(im, r, 1, true, MAX_NAME);
		if (field(im, r, 2, true, 16)) {
			bool ok = false;

			for (unsigned k = 0; k < ARRAY_SIZE(roles); k++)
				ok |= !strcmp(r->f[2], roles[k]);
			if (!ok)
				problem(im, r, "invalid role \"%s\" (resident, grid_worker, staff or runner)", r->f[2]);
		}
		if (!r->f[3][0] || !strcasecmp(r->f[3], "zh-CN") || !strcasecmp(r->f[3], "zh"))
			r->lang = "zh-CN";
		else if (!strcasecmp(r->f[3], "en"))
			r->lang = "en";
		else
			problem(im, r, "invalid lang \"%s\" (zh-CN or en)", r->f[3]);
		if (rc == 0 && r->f[4][0] && field(im, r, 4, false, MAX_CODE))
			rc = check_ref(im, r, 4, "household", DB_STMT_HOUSEHOLD_GET);
		break;
	default:
		return -EINVAL;
	}
	return rc;
}

/* ---- writing ---- */

/* Run an INSERT/UPDATE whose parameters are bound; the new row id in *id. */
static int exec_bound(struct import *im, struct db_q *q, int64_t *id)
{
	int rc = db_exec(q);

	if (rc == 0 && id)
		*id = db_last_id(im->dbc);
	return rc;
}

static int add_phone(struct import *im, const char *number, const char *name, const char *role, const char *lang,
		     int64_t household, int64_t *id)
{
	struct db_q *q = db_q(im->dbc, DB_STMT_PHONE_ADD);

	db_bind_text(q, ":number", number);
	db_bind_text(q, ":name", name);
	db_bind_text(q, ":role", role);
	db_bind_text(q, ":lang", lang);
	db_bind_id(q, ":household", household);
	db_bind_int(q, ":now", im->now);
	return exec_bound(im, q, id);
}

static int write_row(struct import *im, struct row *r)
{
	struct db_q *q;
	int64_t community, worker = 0, hh = 0, phone = 0;
	int rc;

	switch (im->kind) {
	case DB_IMPORT_GRIDS:
		community = lookup(im, DB_STMT_COMMUNITY_GET, ":name", r->f[0]);
		if (community < 0)
			return (int)community;
		if (!community) {
			q = db_q(im->dbc, DB_STMT_COMMUNITY_ADD);
			db_bind_text(q, ":name", r->f[0]);
			db_bind_int(q, ":now", im->now);
			rc = exec_bound(im, q, &community);
			if (rc < 0)
				return rc;
		}
		{
			struct db_phone ph;

			rc = db_phone_get(im->dbc, r->number, &ph);
			if (rc == 0) {
				worker = ph.id;
			} else if (rc == -ENOENT) {
				rc = add_phone(im, r->number, r->f[4], "grid_worker", "zh-CN", 0, &worker);
				if (rc < 0)
					return rc;
			} else {
				return rc;
			}
		}
		q = db_q(im->dbc, DB_STMT_GRID_ADD);
		db_bind_int(q, ":community", community);
		db_bind_text(q, ":code", r->f[1]);
		db_bind_text(q, ":name", r->f[2]);
		db_bind_int(q, ":worker", worker);
		db_bind_int(q, ":now", im->now);
		return exec_bound(im, q, NULL);
	case DB_IMPORT_GROUPS:
		q = db_q(im->dbc, DB_STMT_GRP_ADD);
		db_bind_int(q, ":grid", r->ref_id);
		db_bind_text(q, ":code", r->f[0]);
		db_bind_text(q, ":name", r->f[2]);
		db_bind_int(q, ":now", im->now);
		return exec_bound(im, q, NULL);
	case DB_IMPORT_HOUSEHOLDS:
		q = db_q(im->dbc, DB_STMT_HOUSEHOLD_ADD);
		db_bind_int(q, ":grp", r->ref_id);
		db_bind_text(q, ":code", r->f[0]);
		db_bind_text(q, ":building", r->f[2]);
		db_bind_text(q, ":unit", r->f[3]);
		db_bind_text(q, ":room", r->f[4]);
		db_bind_int(q, ":now", im->now);
		rc = exec_bound(im, q, &hh);
		if (rc < 0)
			return rc;
		rc = add_phone(im, r->number, r->f[6], "resident", "zh-CN", hh, &phone);
		if (rc < 0)
			return rc;
		q = db_q(im->dbc, DB_STMT_HOUSEHOLD_SET_PRIMARY);
		db_bind_int(q, ":id", hh);
		db_bind_int(q, ":phone", phone);
		return exec_bound(im, q, NULL);
	case DB_IMPORT_PHONES:
		return add_phone(im, r->number, r->f[1], r->f[2], r->lang, r->ref_id, NULL);
	default:
		return -EINVAL;
	}
}

/* ---- the whole file ---- */

static bool header_ok(enum db_import_kind kind, char **f, int nf)
{
	char *names = talloc_strdup(NULL, kinds[kind].header), *save = NULL, *name;
	int i = 0;
	bool ok = true;

	for (name = strtok_r(names, ",", &save); name; name = strtok_r(NULL, ",", &save), i++)
		if (i >= nf || strcasecmp(f[i], name))
			ok = false;
	talloc_free(names);
	return ok && i == nf;
}

int db_import_buf(struct db_context *dbc, enum db_import_kind kind, const char *file, const char *buf, size_t len,
		  db_import_report_cb report_cb, void *data, unsigned *n_out)
{
	struct import im = {
		.dbc = dbc,
		.kind = kind,
		.file = file,
		.report = report_cb,
		.data = data,
		.now = time(NULL),
	};
	struct db_csv csv;
	char **f;
	const char *err;
	unsigned line;
	int nf, rc = 0;

	if (n_out)
		*n_out = 0;
	if (kind >= _NUM_DB_IMPORT)
		return -EINVAL;
	im.ctx = talloc_new(dbc);
	{
		char *names = talloc_strdup(im.ctx, kinds[kind].header), *save = NULL;
		unsigned i = 0;

		for (char *c = strtok_r(names, ",", &save); c && i < ARRAY_SIZE(im.cols);
		     c = strtok_r(NULL, ",", &save))
			im.cols[i++] = c;
	}
	db_csv_init(&csv, buf, len);

	nf = db_csv_next(&csv, im.ctx, &f, &line, &err);
	if (nf <= 0 || !header_ok(kind, f, nf)) {
		char *why = nf == 0 ? talloc_strdup(im.ctx, "empty file: no header row")
				    : talloc_asprintf(im.ctx, "the header row must be \"%s\"", kinds[kind].header);

		report(&im, nf == 0 ? 0 : line, why);
		rc = -EINVAL;
		goto out;
	}

	/* read and check every row before writing anything */
	while ((nf = db_csv_next(&csv, im.ctx, &f, &line, &err)) != 0) {
		struct row *r;

		if (nf < 0) {
			report(&im, line, err);
			continue;
		}
		im.rows = talloc_realloc(im.ctx, im.rows, struct row, im.nrows + 1);
		r = &im.rows[im.nrows++];
		memset(r, 0, sizeof(*r));
		r->line = line;
		r->f = f;
		if ((unsigned)nf != kinds[kind].nf) {
			problem(&im, r, "expected %u fields (%s), got %d", kinds[kind].nf, kinds[kind].header, nf);
		} else {
			for (int i = 0; i < nf; i++)
				if (utf8_validate(f[i], strlen(f[i]), NULL) < 0)
					problem(&im, r, "invalid UTF-8 in field %d", i + 1);
			if (!r->problems) {
				rc = validate_row(&im, r);
				if (rc < 0) {
					report(&im, line, "database error while checking this row");
					goto out;
				}
			}
		}
		if (r->problems)
			report(&im, r->line, r->problems);
	}
	if (im.bad) {
		rc = -EINVAL;
		goto out;
	}

	rc = db_sp_begin(dbc);
	if (rc < 0) {
		report(&im, 0, "cannot start a transaction");
		goto out;
	}
	for (size_t i = 0; i < im.nrows && rc == 0; i++) {
		rc = write_row(&im, &im.rows[i]);
		if (rc < 0) {
			char *why = talloc_asprintf(im.ctx, "cannot import: %s", strerror(-rc));

			report(&im, im.rows[i].line, why);
		}
	}
	rc = db_sp_end(dbc, rc);
	if (rc == 0 && n_out)
		*n_out = (unsigned)im.nrows;
out:
	talloc_free(im.ctx);
	return rc;
}

int db_import_file(struct db_context *dbc, enum db_import_kind kind, const char *path, db_import_report_cb report_cb,
		   void *data, unsigned *n_out)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0, got;
	int rc;

	if (n_out)
		*n_out = 0;
	if (!fp) {
		rc = -errno;
		if (report_cb)
			report_cb(data, path, 0, strerror(-rc));
		return rc;
	}
	do {
		if (cap - len < 65536) {
			cap = cap ? 2 * cap : 65536;
			buf = talloc_realloc_size(dbc, buf, cap);
		}
		got = fread(buf + len, 1, cap - len, fp);
		len += got;
	} while (got > 0);
	rc = ferror(fp) ? -EIO : 0;
	fclose(fp);
	if (rc < 0) {
		if (report_cb)
			report_cb(data, path, 0, "read error");
	} else {
		rc = db_import_buf(dbc, kind, path, buf, len, report_cb, data, n_out);
	}
	talloc_free(buf);
	return rc;
}
