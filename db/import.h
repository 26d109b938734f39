/* CSV import of the community: grids, groups, households, phones (formats: etc/sample/README.md).
 *
 * A file is imported whole or not at all: every row is validated first (field count, required
 * fields, UTF-8, numbers, roles, languages, references, duplicates in the file and against the
 * database) and every bad row is reported; only a file without a bad row is written, inside a
 * savepoint (so it joins the caller's transaction when there is one). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"

enum db_import_kind { DB_IMPORT_GRIDS, DB_IMPORT_GROUPS, DB_IMPORT_HOUSEHOLDS, DB_IMPORT_PHONES, _NUM_DB_IMPORT };

/* "grids", "groups", "households", "phones": also the file names import-all looks for. */
const char *db_import_kind_name(enum db_import_kind kind);
/* The kind named name, or -EINVAL. */
int db_import_kind_parse(const char *name);
/* The header row a file of this kind must start with, e.g. "group,grid,name". */
const char *db_import_header(enum db_import_kind kind);

/* Called for each bad row: file as given, line where the row starts (0 for the whole file). */
typedef void (*db_import_report_cb)(void *data, const char *file, unsigned line, const char *reason);

/* Validate and import buf[0..len) as a CSV file of kind; file names it in reports.
 * Returns 0 with *n_out rows imported; -EINVAL when a row was bad (each one reported, nothing
 * written); another -errno on a database error (reported too). */
int db_import_buf(struct db_context *dbc, enum db_import_kind kind, const char *file, const char *buf, size_t len,
		  db_import_report_cb report, void *data, unsigned *n_out);
/* The same for a file on disk (-ENOENT etc. when it cannot be read, reported with line 0). */
int db_import_file(struct db_context *dbc, enum db_import_kind kind, const char *path, db_import_report_cb report,
		   void *data, unsigned *n_out);

/* How many grids / groups / households / phones the database holds, or -errno. */
int64_t db_import_count(struct db_context *dbc, enum db_import_kind kind);

/* ---- the CSV reader (RFC 4180), exposed for tests ---- */

struct db_csv {
	const char *p, *end;
	unsigned line; /* the line the next record starts on */
};

/* Start reading buf; a UTF-8 byte order mark is skipped. */
void db_csv_init(struct db_csv *c, const char *buf, size_t len);

/* Read the next record: fields separated by ',', records by CRLF or LF, fields may be quoted
 * with '"' (a quoted field may hold commas, line breaks and "" for a quote); spaces around an
 * unquoted field are dropped. Blank lines are skipped. On success returns the number of fields
 * (>= 1) with *fields a talloc array under ctx and *line the line the record starts on; 0 at the
 * end; -EINVAL for a malformed record (*err says why; reading goes on at the next line). */
int db_csv_next(struct db_csv *c, void *ctx, char ***fields, unsigned *line, const char **err);
