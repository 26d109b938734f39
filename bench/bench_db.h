/* The database a benchmark starts from (request_bench, inbound_bench): an SQLite file, or with
 * LINLI_BENCH_PG (bench/run.sh: the URL of a throw-away cluster's maintenance database) the same
 * benchmark on PostgreSQL, in the same run. */
#pragma once

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Make path a fresh, empty database: the SQLite file and its -wal and -shm removed, or, for a
 * postgresql:// URL, that database dropped and created again (psql on the maintenance database). */
static inline void bench_fresh_db(const char *path)
{
	char p[600];

	if (!strncmp(path, "postgresql://", 13)) {
		const char *slash = strrchr(path, '/');

		snprintf(p, sizeof(p),
			 "psql '%.*s/postgres' -qX -c 'DROP DATABASE IF EXISTS %s' -c 'CREATE DATABASE %s' >/dev/null",
			 (int)(slash - path), path, slash + 1, slash + 1);
		if (system(p) != 0)
			fprintf(stderr, "cannot make %s afresh\n", path);
		return;
	}
	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

/* The PostgreSQL database NAME of LINLI_BENCH_PG into buf; false without LINLI_BENCH_PG. */
static inline bool bench_pg_path(char *buf, size_t len, const char *name)
{
	const char *base = getenv("LINLI_BENCH_PG"), *slash;

	if (!base || !*base || !(slash = strrchr(base, '/')))
		return false;
	snprintf(buf, len, "%.*s/%s", (int)(slash - base), base, name);
	return true;
}
