/* The SQL files compiled into linli (scripts/sql2c.sh): db/schema.sql first, then
 * db/upgrade/NNN_*.sql in order. */
#pragma once

struct db_sql_file {
	const char *name;
	const char *sql;
};

extern const struct db_sql_file db_sql_files[];
extern const unsigned db_sql_nfiles;

/* PostgreSQL (db_pg.c): db/pg/NNN_*.sql in order, the first a baseline at its version. */
extern const struct db_sql_file db_pg_sql_files[];
extern const unsigned db_pg_sql_nfiles;
