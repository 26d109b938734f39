/* What the unit tests share: CHECK and the failure count, quiet logging, temporary files.
 * Header only: each test program is one .c file that includes it. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <string.h>
#include <osmocom/core/application.h>
#include <osmocom/core/logging.h>

#include "db/db.h"
#include "db/import.h"

static int failures;

/* Evaluates cond once; prints "ok" or "FAIL" and the description (printf format). */
#define CHECK(cond, ...)                                                                                               \
	do {                                                                                                           \
		bool ok_ = (cond);                                                                                     \
		printf(ok_ ? "ok   " : "FAIL ");                                                                       \
		printf(__VA_ARGS__);                                                                                   \
		printf("%s\n", ok_ ? "" : "   <-- " #cond);                                                            \
		failures += !ok_;                                                                                      \
	} while (0)

static const struct log_info test_log_info __attribute__((unused)) = {.cat = NULL, .num_cat = 0};

/* libosmocore logging to stderr, without colours or file names (stdout is the test's record). */
static inline void test_logging(void *ctx)
{
	osmo_init_logging2(ctx, &test_log_info);
	log_set_print_filename2(osmo_stderr_target, LOG_FILENAME_NONE);
	log_set_use_color(osmo_stderr_target, 0);
}

/* With LINLI_TEST_PG set (tests/run.sh: a throw-away PostgreSQL cluster, the URL of its
 * maintenance database), a fresh empty database there instead of a file: its URL. */
static inline int test_tmp_pg(char *buf, size_t len, const char *base)
{
	static unsigned n;
	char sql[64];
	const char *slash = strrchr(base, '/');
	PGconn *c = PQconnectdb(base);
	PGresult *res;
	bool ok;

	if (!slash || PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "LINLI_TEST_PG %s: %s", base, PQerrorMessage(c));
		PQfinish(c);
		errno = ECONNREFUSED;
		return -1;
	}
	snprintf(sql, sizeof(sql), "CREATE DATABASE t%u_%u", (unsigned)getpid(), ++n);
	res = PQexec(c, sql);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
		fprintf(stderr, "%s: %s", sql, PQresultErrorMessage(res));
	PQclear(res);
	PQfinish(c);
	if (!ok || (size_t)snprintf(buf, len, "%.*s/t%u_%u", (int)(slash - base), base, (unsigned)getpid(), n) >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* A fresh name /tmp/linli-NAME-XXXXXX for a file that does not exist yet (e.g. a database for
 * db_open to create); 0, or -1 with errno set. */
static inline int test_tmp_path(char *buf, size_t len, const char *name)
{
	int fd;

	if ((size_t)snprintf(buf, len, "/tmp/linli-%s-XXXXXX", name) >= len)
		return -1;
	fd = mkstemp(buf);
	if (fd < 0)
		return -1;
	close(fd);
	return unlink(buf);
}

/* Where a test's new database goes: test_tmp_path, or test_tmp_pg with LINLI_TEST_PG. */
static inline int test_tmp_db(char *buf, size_t len, const char *name)
{
	if (getenv("LINLI_TEST_PG") && *getenv("LINLI_TEST_PG"))
		return test_tmp_pg(buf, len, getenv("LINLI_TEST_PG"));
	return test_tmp_path(buf, len, name);
}

/* A new database at a fresh /tmp path (path, len >= 64) with the sample community (etc/sample)
 * imported, for tests run from the project's root: 0, or -errno. */
static inline int test_sample_db(void *ctx, const char *name, char *path, size_t len, struct db_context **dbc)
{
	unsigned nimp;
	int rc;

	if (test_tmp_db(path, len, name) < 0)
		return -EIO;
	rc = db_open(ctx, path, dbc);
	for (int k = 0; rc == 0 && k < _NUM_DB_IMPORT; k++) {
		char f[64];

		snprintf(f, sizeof(f), "etc/sample/%s.csv", db_import_kind_name(k));
		rc = db_import_file(*dbc, k, f, NULL, NULL, &nimp);
	}
	return rc < 0 ? rc : 0;
}

/* Remove a database file and its -wal and -shm. */
static inline void test_db_remove(const char *path)
{
	static const char *const suffixes[] = {"", "-wal", "-shm"};

	for (unsigned i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		char p[128];

		snprintf(p, sizeof(p), "%s%s", path, suffixes[i]);
		unlink(p);
	}
}
