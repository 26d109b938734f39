/* db/import.c: the CSV reader (quoting, BOM, CRLF) and the import of grids, groups, households
 * and phones: good files import; every bad row is reported with its line and reason and then
 * nothing at all is imported. Also imports etc/sample and, when the build is known
 * (LINLI_BUILD, set by tests/run.sh), runs linlictl on it. */

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <talloc.h>
#include <osmocom/core/application.h>
#include <osmocom/core/logging.h>

#include "db/db.h"
#include "db/import.h"
#include "tests/unit/testlib.h"

/* ---- the reader ---- */

static void test_reader(void *ctx)
{
	/* BOM, CRLF, a blank line, quotes with "" and a comma and a line break, spaces around an
	 * unquoted field, a trailing empty field, a last line without a line break */
	static const char buf[] = "\xef\xbb\xbf"
				  "a,b,c\r\n"
				  "\r\n"
				  "\"x, \"\"y\"\"\", 2 ,\"multi\r\nline\"\r\n"
				  "last,,\n"
				  "\"q\" , r\n"
				  "bad\"quote,1\n"
				  "\"closed\"junk,2\n"
				  "after,errors\n"
				  "\"unterminated,3\n"
				  "never seen\n";
	struct db_csv c;
	char **f;
	const char *err;
	unsigned line = 0;
	int n;

	printf("-- CSV reader\n");
	db_csv_init(&c, buf, sizeof(buf) - 1);
	n = db_csv_next(&c, ctx, &f, &line, &err);
	CHECK(n == 3 && line == 1 && !strcmp(f[0], "a") && !strcmp(f[2], "c"), "BOM skipped, CRLF: [a][b][c] line %u",
	      line);
	n = db_csv_next(&c, ctx, &f, &line, &err);
	CHECK(n == 3 && line == 3 && !strcmp(f[0], "x, \"y\"") && !strcmp(f[1], "2") && !strcmp(f[2], "multi\r\nline"),
	      "blank line skipped; quoted comma and \"\", spaces trimmed, quoted CRLF kept (line %u)", line);
	n = db_csv_next(&c, ctx, &f, &line, &err);
	CHECK(n == 3 && line == 5 && !strcmp(f[0], "last") && !f[1][0] && !f[2][0],
	      "line %u: empty fields, trailing comma", line);
	n = db_csv_next(&c, ctx, &f, &line, &err);
	CHECK(n == 2 && line == 6 && !strcmp(f[0], "q") && !strcmp(f[1], "r"), "space after a closing quote");
	n = db_csv_next(&c, ctx, &f, &line, &err);
	CHECK(n == -EINVAL && line == 7 && strstr(err, "quote inside"), "line %u: %s", line, err);
	n = db_csv_next(&c, ctx, &f, &line, &err);
	CHECK(n == -EINVAL && line == 8 && strstr(err, "after a closing quote"), "line %u: %s", line, err);
	n = db_csv_next(&c, ctx, &f, &line, &err);
	CHECK(n == 2 && line == 9 && !strcmp(f[1], "errors"), "reading goes on after errors (line %u)", line);
	n = db_csv_next(&c, ctx, &f, &line, &err);
	CHECK(n == -EINVAL && line == 10 && strstr(err, "unterminated"), "line %u: %s", line, err);
	n = db_csv_next(&c, ctx, &f, &line, &err);
	CHECK(n == 0, "an unterminated quote ends the file");

	db_csv_init(&c, "one", 3);
	n = db_csv_next(&c, ctx, &f, &line, &err);
	CHECK(n == 1 && !strcmp(f[0], "one") && db_csv_next(&c, ctx, &f, &line, &err) == 0, "no line break at all");

	/* NUL bytes: refused with the line, never a field cut short (issue 13, hole 9) */
	{
		static const char nul[] = "a,b\0c\n\"x\0y\",z\nok,row\n";

		db_csv_init(&c, nul, sizeof(nul) - 1);
		n = db_csv_next(&c, ctx, &f, &line, &err);
		CHECK(n == -EINVAL && line == 1 && strstr(err, "NUL"), "line %u: %s", line, err ? err : "");
		n = db_csv_next(&c, ctx, &f, &line, &err);
		CHECK(n == -EINVAL && line == 2 && strstr(err, "NUL"), "line %u: %s (quoted)", line, err ? err : "");
		n = db_csv_next(&c, ctx, &f, &line, &err);
		CHECK(n == 2 && line == 3 && !strcmp(f[1], "row"), "reading goes on after a NUL (line %u)", line);
	}
}

/* ---- imports ---- */

struct reports {
	char *all; /* every report, one a line */
	unsigned n;
};

static void report_cb(void *data, const char *file, unsigned line, const char *reason)
{
	struct reports *r = data;

	r->all = talloc_asprintf_append(r->all, "%s:%u: %s\n", file, line, reason);
	r->n++;
}

static int import(struct db_context *dbc, enum db_import_kind kind, const char *file, const char *text,
		  struct reports *r, unsigned *n)
{
	talloc_free(r->all);
	r->all = talloc_strdup(NULL, "");
	r->n = 0;
	return db_import_buf(dbc, kind, file, text, strlen(text), report_cb, r, n);
}

/* The report for FILE:LINE contains want. */
static bool reported(struct reports *r, const char *file, unsigned line, const char *want)
{
	char prefix[128];
	const char *p = r->all;

	snprintf(prefix, sizeof(prefix), "%s:%u: ", file, line);
	while ((p = strstr(p, prefix))) {
		const char *eol = strchr(p, '\n');
		char *l = talloc_strndup(NULL, p, eol ? (size_t)(eol - p) : strlen(p));
		bool ok = strstr(l, want) != NULL;

		talloc_free(l);
		if (ok)
			return true;
		p += strlen(prefix);
	}
	return false;
}

static void show(struct reports *r)
{
	const char *p = r->all;

	while (p && *p) {
		const char *eol = strchr(p, '\n');

		printf("     | %.*s\n", (int)(eol ? eol - p : (long)strlen(p)), p);
		p = eol ? eol + 1 : p + strlen(p);
	}
}

static void counts(struct db_context *dbc, int64_t c[_NUM_DB_IMPORT])
{
	for (int k = 0; k < _NUM_DB_IMPORT; k++)
		c[k] = db_import_count(dbc, k);
}

static bool same_counts(struct db_context *dbc, const int64_t before[_NUM_DB_IMPORT])
{
	int64_t now[_NUM_DB_IMPORT];

	counts(dbc, now);
	return !memcmp(now, before, sizeof(now));
}

static void test_import(struct db_context *dbc)
{
	struct reports r = {0};
	struct db_phone ph;
	int64_t before[_NUM_DB_IMPORT];
	unsigned n;
	int rc;

	printf("-- good files\n");
	rc = import(dbc, DB_IMPORT_GRIDS, "grids.csv",
		    "\xef\xbb\xbf"
		    "community,grid,name,worker_number,worker_name\r\n"
		    "幸福里社区,A,第一网格,13900139001,杜军\r\n"
		    "幸福里社区,B,\"第二网格, 北区\",+86 139-0013-9002,姚雨桐\r\n"
		    "幸福里社区,C,第三网格,13900139001,杜军\r\n",
		    &r, &n);
	CHECK(rc == 0 && n == 3 && r.n == 0, "grids with BOM, CRLF and a quoted comma: imported %u", n);
	CHECK(db_phone_get(dbc, "+8613900139002", &ph) == 0 && !strcmp(ph.role, "grid_worker") &&
		      !strcmp(ph.name, "姚雨桐"),
	      "grid worker phone created, number normalised: %s %s", ph.number, ph.role);
	CHECK(db_import_count(dbc, DB_IMPORT_PHONES) == 2, "one worker looking after two grids is one phone");

	rc = import(dbc, DB_IMPORT_GROUPS, "groups.csv",
		    "group,grid,name\n"
		    "A-1,A,1幢联户组\n"
		    "A-2,A,\"2幢 \"\"东\"\" 联户组\"\n"
		    "B-1,B,5幢联户组\n",
		    &r, &n);
	CHECK(rc == 0 && n == 3, "groups: imported %u", n);
	rc = import(dbc, DB_IMPORT_HOUSEHOLDS, "households.csv",
		    "household,group,building,unit,room,number,name\n"
		    "1-1-101,A-1,1幢,1单元,101,13800138001,张伟\n"
		    "1-1-102,A-1,1幢,1单元,102,8613800138002,王芳\n"
		    "villa-3,B-1,3号,,1,13800138003,李娜\n",
		    &r, &n);
	CHECK(rc == 0 && n == 3, "households (one without a unit): imported %u", n);
	CHECK(db_phone_get(dbc, "+8613800138002", &ph) == 0 && ph.household_id > 0 && !strcmp(ph.role, "resident"),
	      "primary number is a resident of its household");
	rc = import(dbc, DB_IMPORT_PHONES, "phones.csv",
		    "Number,Name,Role,Lang,Household\n"
		    "13900139101,\"王敏, 社区主任\",staff,,\n"
		    "13900139201,胡刚,runner,zh-CN,1-1-101\n"
		    "+44 7700 900123,Tom Smith,resident,en,1-1-102\n",
		    &r, &n);
	CHECK(rc == 0 && n == 3, "phones (header in other case): imported %u", n);
	CHECK(db_phone_get(dbc, "+447700900123", &ph) == 0 && !strcmp(ph.lang, "en") && !strcmp(ph.name, "Tom Smith"),
	      "the English speaker: %s %s", ph.number, ph.lang);
	CHECK(db_phone_get(dbc, "+8613900139101", &ph) == 0 && !strcmp(ph.lang, "zh-CN") && ph.household_id == 0 &&
		      !strcmp(ph.name, "王敏, 社区主任"),
	      "staff: default language zh-CN, no household");
	rc = import(dbc, DB_IMPORT_PHONES, "empty.csv", "number,name,role,lang,household\n", &r, &n);
	CHECK(rc == 0 && n == 0, "a header alone imports nothing, fine");

	counts(dbc, before);
	printf("     now: %" PRId64 " grids, %" PRId64 " groups, %" PRId64 " households, %" PRId64 " phones\n",
	       before[0], before[1], before[2], before[3]);

	printf("-- bad grids\n");
	rc = import(dbc, DB_IMPORT_GRIDS, "g.csv",
		    "community,grid,name,worker_number,worker_name\n"
		    "幸福里社区,D,第四网格,13900139004,赵六\n" /* 2: good, must not be imported */
		    "幸福里社区,E,第五网格,13900139005\n"      /* 3: 4 fields */
		    "幸福里社区,,第六网格,13900139006,钱七\n"  /* 4: empty code */
		    "幸福里社区,F,第七网格,12345,孙八\n"       /* 5: not a mobile number */
		    "幸福里社区,D,又一个,13900139007,周九\n"   /* 6: D twice in the file */
		    "幸福里社区,A,重复,13900139008,吴十\n"     /* 7: A already in the db */
		    "幸福里社区,G,,abc,郑\n",		       /* 8: empty name and a bad number */
		    &r, &n);
	show(&r);
	CHECK(rc == -EINVAL && r.n == 6, "-EINVAL, 6 rows reported");
	CHECK(reported(&r, "g.csv", 3, "expected 5 fields"), "line 3: wrong field count");
	CHECK(reported(&r, "g.csv", 4, "empty grid"), "line 4: empty grid code");
	CHECK(reported(&r, "g.csv", 5, "invalid number \"12345\""), "line 5: invalid number");
	CHECK(reported(&r, "g.csv", 6, "duplicate grid code \"D\" (also on line 2)"), "line 6: duplicate in the file");
	CHECK(reported(&r, "g.csv", 7, "\"A\" is already in the database"), "line 7: already in the database");
	CHECK(reported(&r, "g.csv", 8, "empty name; invalid number \"abc\""), "line 8: two problems in one row");
	CHECK(same_counts(dbc, before) && db_phone_get(dbc, "+8613900139004", NULL) == -ENOENT,
	      "nothing imported, not even the good row 2 nor its worker");

	printf("-- bad groups\n");
	rc = import(dbc, DB_IMPORT_GROUPS, "gr.csv",
		    "group,grid,name\n"
		    "A-3,A,3幢\n"
		    "A-4,Z,4幢\n"
		    "A-3,A,3幢又\n"
		    "A-1,A,1幢\n"
		    "A-5,A,5幢,extra\n",
		    &r, &n);
	show(&r);
	CHECK(rc == -EINVAL && r.n == 4 && reported(&r, "gr.csv", 3, "unknown grid \"Z\"") &&
		      reported(&r, "gr.csv", 4, "duplicate group code \"A-3\" (also on line 2)") &&
		      reported(&r, "gr.csv", 5, "already in the database") &&
		      reported(&r, "gr.csv", 6, "expected 3 fields"),
	      "unknown grid, duplicate in file, already in db, too many fields");
	CHECK(same_counts(dbc, before), "nothing imported");

	printf("-- bad households\n");
	rc = import(dbc, DB_IMPORT_HOUSEHOLDS, "h.csv",
		    "household,group,building,unit,room,number,name\r\n"
		    "2-1-101,A-2,2幢,1单元,101,13800138011,赵一\r\n"	   /* 2 good */
		    "2-1-102,X-9,2幢,1单元,102,13800138012,钱二\r\n"	   /* 3 unknown group */
		    "2-1-201,A-2,2幢,1单元,201,1380013801,孙三\r\n"	   /* 4 bad number */
		    "2-1-202,A-2,2幢,1单元,202,+86 138 0013 8011,李四\r\n" /* 5 number twice */
		    "2-2-301,A-2,2幢,2单元,301,13800138001,周五\r\n"	   /* 6 number in db */
		    "2-2-302,A-2,2幢,2单元,302,13800138016,\xe5\x90\r\n"   /* 7 bad UTF-8 */
		    "2-2-401,A-2,2幢,2单元,,13800138017,郑七\r\n"	   /* 8 empty room */
		    "\"2-2-402,A-2,2幢,2单元,402,13800138018,王八\r\n",	   /* 9 unterminated quote */
		    &r, &n);
	show(&r);
	CHECK(rc == -EINVAL && r.n == 7, "-EINVAL, 7 rows reported");
	CHECK(reported(&r, "h.csv", 3, "unknown group \"X-9\""), "line 3: unknown group");
	CHECK(reported(&r, "h.csv", 4, "invalid number"), "line 4: invalid number");
	CHECK(reported(&r, "h.csv", 5, "duplicate number +8613800138011 (also on line 2)"),
	      "line 5: same number twice");
	CHECK(reported(&r, "h.csv", 6, "+8613800138001 is already in the database"), "line 6: number already known");
	CHECK(reported(&r, "h.csv", 7, "invalid UTF-8 in field 7"), "line 7: invalid UTF-8");
	CHECK(reported(&r, "h.csv", 8, "empty room"), "line 8: empty required field");
	CHECK(reported(&r, "h.csv", 9, "unterminated quoted field"), "line 9: broken quoting");
	CHECK(same_counts(dbc, before) && db_phone_get(dbc, "+8613800138011", NULL) == -ENOENT, "nothing imported");

	printf("-- bad phones\n");
	rc = import(dbc, DB_IMPORT_PHONES, "p.csv",
		    "number,name,role,lang,household\n"
		    "13800138021,甲,resident,zh-CN,1-1-101\n"
		    "13800138022,乙,admin,zh-CN,\n"
		    "13800138023,丙,resident,fr,\n"
		    "13800138024,丁,resident,zh-CN,9-9-999\n"
		    "13800138025,,staff,,\n"
		    "13900139101,戊,staff,,\n"
		    "ChinaMobile,己,staff,,\n",
		    &r, &n);
	show(&r);
	CHECK(rc == -EINVAL && r.n == 6 && reported(&r, "p.csv", 3, "invalid role \"admin\"") &&
		      reported(&r, "p.csv", 4, "invalid lang \"fr\"") &&
		      reported(&r, "p.csv", 5, "unknown household \"9-9-999\"") &&
		      reported(&r, "p.csv", 6, "empty name") && reported(&r, "p.csv", 7, "already in the database") &&
		      reported(&r, "p.csv", 8, "invalid number \"ChinaMobile\""),
	      "role, lang, household, empty name, known number, sender ID as number");
	CHECK(same_counts(dbc, before) && db_phone_get(dbc, "+8613800138021", NULL) == -ENOENT, "nothing imported");

	printf("-- bad headers\n");
	rc = import(dbc, DB_IMPORT_GROUPS, "hd.csv", "code,grid,name\nA-9,A,x\n", &r, &n);
	CHECK(rc == -EINVAL && r.n == 1 && reported(&r, "hd.csv", 1, "header row must be \"group,grid,name\""),
	      "wrong header: line 1");
	rc = import(dbc, DB_IMPORT_GROUPS, "e.csv", "", &r, &n);
	CHECK(rc == -EINVAL && r.n == 1 && reported(&r, "e.csv", 0, "empty file"), "empty file");
	CHECK(same_counts(dbc, before), "nothing imported");

	printf("-- inside the caller's transaction\n");
	CHECK(db_begin(dbc) == 0, "begin");
	rc = import(dbc, DB_IMPORT_GROUPS, "t.csv", "group,grid,name\nA-7,A,7幢\n", &r, &n);
	CHECK(rc == 0 && n == 1, "import a group");
	rc = import(dbc, DB_IMPORT_HOUSEHOLDS, "t2.csv",
		    "household,group,building,unit,room,number,name\n7-1-101,A-7,7幢,1单元,101,13800138071,冯\n", &r,
		    &n);
	CHECK(rc == 0 && n == 1, "a household of that group, in the same transaction");
	CHECK(db_rollback(dbc) == 0 && same_counts(dbc, before), "rollback undoes both");
	talloc_free(r.all);
}

/* ---- etc/sample ---- */

static const char *sample_dir(void)
{
	const char *src = getenv("LINLI_SRC");
	static char buf[512];

	snprintf(buf, sizeof(buf), "%s/etc/sample", src ? src : ".");
	return buf;
}

static void test_sample(void *ctx)
{
	struct db_context *dbc;
	char path[64];
	struct reports r = {0};
	unsigned n[_NUM_DB_IMPORT] = {0};
	int fd, rc = 0;

	printf("-- etc/sample\n");
	if (test_tmp_db(path, sizeof(path), "csv-sample") < 0 || db_open(ctx, path, &dbc) < 0) {
		CHECK(0, "open %s", path);
		return;
	}
	r.all = talloc_strdup(NULL, "");
	db_begin(dbc);
	for (int k = 0; k < _NUM_DB_IMPORT && rc == 0; k++) {
		char *file = talloc_asprintf(ctx, "%s/%s.csv", sample_dir(), db_import_kind_name(k));

		rc = db_import_file(dbc, k, file, report_cb, &r, &n[k]);
		talloc_free(file);
	}
	db_commit(dbc);
	show(&r);
	CHECK(rc == 0 && n[0] == 3 && n[1] == 12 && n[2] >= 96 && n[2] <= 108 && n[3] >= 6,
	      "imported %u grids, %u groups, %u households, %u phones", n[0], n[1], n[2], n[3]);
	talloc_free(r.all);
	db_close(dbc);

	/* linlictl itself, when the build is known */
	{
		const char *build = getenv("LINLI_BUILD");
		char *cmd;

		if (!build) {
			printf("     (LINLI_BUILD not set: linlictl not run)\n");
		} else {
			char bad[] = "/tmp/linli-csv-bad-XXXXXX";
			FILE *f;

			unlink(path);
			test_tmp_db(path, sizeof(path), "csv-sample"); /* a fresh one (PostgreSQL: a new database) */
			cmd = talloc_asprintf(ctx, "%s/linlictl -d %s import-all %s >/dev/null 2>&1", build, path,
					      sample_dir());
			rc = system(cmd);
			CHECK(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "linlictl import-all etc/sample: exit 0");
			talloc_free(cmd);
			cmd = talloc_asprintf(ctx, "%s/linlictl -d %s import-all %s >/dev/null 2>&1", build, path,
					      sample_dir());
			rc = system(cmd);
			CHECK(WIFEXITED(rc) && WEXITSTATUS(rc) == 1, "again: every code is known, exit 1");
			talloc_free(cmd);
			fd = mkstemp(bad);
			f = fdopen(fd, "w");
			fputs("number,name,role,lang,household\n13800139999,x,boss,,\n", f);
			fclose(f);
			cmd = talloc_asprintf(ctx,
					      "%s/linlictl -d %s import phones %s 2>&1 | grep -q '%s:2: invalid role'",
					      build, path, bad, bad);
			rc = system(cmd);
			CHECK(WIFEXITED(rc) && WEXITSTATUS(rc) == 0,
			      "linlictl import phones with a bad row: FILE:2: invalid role");
			talloc_free(cmd);
			unlink(bad);
		}
	}
	unlink(path);
	{
		char p2[sizeof(path) + 8];

		snprintf(p2, sizeof(p2), "%s-wal", path);
		unlink(p2);
		snprintf(p2, sizeof(p2), "%s-shm", path);
		unlink(p2);
	}
}

int main(void)
{
	void *root = talloc_named_const(NULL, 0, "csv_test");
	char path[64];
	struct db_context *dbc;

	test_logging(root);
	log_set_print_category_hex(osmo_stderr_target, 0);

	test_reader(root);

	if (test_tmp_db(path, sizeof(path), "csv-test") == 0 && db_open(root, path, &dbc) == 0) {
		test_import(dbc);
		db_close(dbc);
	} else {
		CHECK(0, "open %s", path);
	}
	unlink(path);
	{
		char p2[sizeof(path) + 8];

		snprintf(p2, sizeof(p2), "%s-wal", path);
		unlink(p2);
		snprintf(p2, sizeof(p2), "%s-shm", path);
		unlink(p2);
	}
	test_sample(root);

	log_fini();
	talloc_free(root);
	printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
	return failures ? 1 : 0;
}
