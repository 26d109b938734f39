/* The statement mechanism of db/ (db_priv.h): a bind of a name the statement does not have, a
 * run with a parameter left unbound, and a statement taken while still in use all stop the
 * program (OSMO_ASSERT), each tried in a child process; a correct run still works.
 *
 * This test reaches into db/ (db_priv.h brings <sqlite3.h>) because what it checks is internal:
 * no function of db.h can make those mistakes on purpose. */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <talloc.h>

#include "db/db_priv.h"
#include "tests/unit/testlib.h"

/* Run fn in a child; true when the child was stopped by a signal (the assertion's abort). */
static bool dies(struct db_context *dbc, void (*fn)(struct db_context *dbc))
{
	int status = 0;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		/* quiet: the assertion's message and backtrace go to stderr */
		fn(dbc);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		return false;
	return WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0);
}

static void bind_unknown(struct db_context *dbc)
{
	struct db_q *q = db_q(dbc, DB_STMT_PHONE_GET);

	db_bind_text(q, ":nmber", "+8613800138001");
	db_exec(q);
}

static void run_unbound(struct db_context *dbc)
{
	struct db_q *q = db_q(dbc, DB_STMT_STAT_ADD);

	db_bind_text(q, ":name", "x");
	db_exec(q); /* :delta left unbound */
}

static void take_twice(struct db_context *dbc)
{
	struct db_q *q = db_q(dbc, DB_STMT_PHONE_GET);

	db_bind_text(q, ":number", "+8613800138001");
	db_q(dbc, DB_STMT_PHONE_GET);
}

int main(void)
{
	void *ctx = talloc_named_const(NULL, 0, "dbstmt_test");
	struct db_context *dbc;
	struct db_q *q;
	char path[64];
	int64_t v = -1;
	int rc;

	test_logging(ctx);
	test_tmp_path(path, sizeof(path), "dbstmt");
	rc = db_open(ctx, path, &dbc);
	CHECK(rc == 0, "open a new database");
	if (rc)
		return 1;

	CHECK(dies(dbc, bind_unknown), "binding a name the statement does not have asserts");
	CHECK(dies(dbc, run_unbound), "running a statement with a parameter unbound asserts");
	CHECK(dies(dbc, take_twice), "taking a statement still in use asserts");

	q = db_q(dbc, DB_STMT_STAT_ADD);
	db_bind_text(q, ":name", "x");
	db_bind_int(q, ":delta", 7);
	CHECK(db_exec(q) == 0, "a run with every parameter bound works");
	q = db_q(dbc, DB_STMT_STAT_GET);
	db_bind_text(q, ":name", "x");
	CHECK(db_int64(q, &v) == 0 && v == 7, "and the statement is free again: %lld", (long long)v);
	q = db_q(dbc, DB_STMT_STAT_GET);
	db_bind_text(q, ":name", "absent");
	CHECK(db_int64(q, &v) == -ENOENT, "no row: -ENOENT");

	db_close(dbc);
	test_db_remove(path);
	log_fini();
	talloc_free(ctx);
	printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
	return failures ? 1 : 0;
}
