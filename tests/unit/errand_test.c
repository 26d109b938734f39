/* Errands, points and registration: the keywords of routes/sms.rules (接单/JD ... as people type
 * them), the errand answer, addresses, dates of the holiday editor, the reply texts (both
 * languages, one UCS-2 part), and the points ledger on a real database file (sums, one credit per
 * errand, entries never changed). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>
#include <talloc.h>
#include <osmocom/core/utils.h>

#include "db/db.h"
#include "gateway/request/request.h"
#include "gateway/core/rules.h"
#include "tests/unit/testlib.h"

static void check_kw(const struct rt_rules *r, const char *text, const char *handler, const char *args)
{
	struct rt_match m;
	int rc = rt_match(r, text, strlen(text), &m);

	CHECK(rc == 0 && (handler ? m.rule && !strcmp(m.rule->handler, handler) && !strcmp(m.args, args) : !m.rule),
	      "\"%s\" -> %s \"%s\"", text, rc == 0 && m.rule ? m.rule->handler : "(none)", rc == 0 ? m.args : "");
}

static void check_addr(const char *s, int want_rc, const char *b, const char *u, const char *r)
{
	char gb[16] = "", gu[16] = "", gr[16] = "";
	int rc = rq_address_parse(s, gb, gu, gr);

	CHECK(rc == want_rc && (rc || (!strcmp(gb, b) && !strcmp(gu, u) && !strcmp(gr, r))),
	      "address \"%s\": rc %d -> %s/%s/%s", s, rc, gb, gu, gr);
}

static void check_date(const char *s, const char *want)
{
	char out[11] = "";
	int rc = rq_date_parse(s, out);

	CHECK(want ? rc == 0 && !strcmp(out, want) : rc == -EINVAL, "date \"%s\" -> %s", s, rc ? "invalid" : out);
}

/* Code points of a UTF-8 string. */
static size_t cps(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

static bool raw_exec(const char *path, const char *sql)
{
	sqlite3 *db;
	int rc;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		return false;
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc == SQLITE_OK;
}

static void ledger(void)
{
	void *ctx = talloc_new(NULL);
	char path[128], buf[200];
	struct db_context *dbc;
	struct db_points_entry x[4];
	struct db_request r;
	int64_t phone, other, bal;
	int n;

	snprintf(path, sizeof(path), "/tmp/linli-errand-test-%d.db", getpid());
	unlink(path);
	CHECK(db_open(ctx, path, &dbc) == 0, "a fresh database");
	CHECK(db_phone_register(dbc, "+8613900139201", "胡刚", 0, true, &phone) == 0 &&
		      db_phone_register(dbc, "+8613900139202", "闫秀英", 0, true, &other) == 0,
	      "two phones");
	CHECK(db_phone_register(dbc, "+8613900139201", "胡刚", 0, true, &other) == -EEXIST, "a known number: -EEXIST");
	CHECK(db_points_balance(dbc, phone, &bal) == 0 && bal == 0, "no entries: balance 0");
	memset(&r, 0, sizeof(r));
	OSMO_STRLCPY_ARRAY(r.ref, "123456");
	OSMO_STRLCPY_ARRAY(r.kind, "errand");
	OSMO_STRLCPY_ARRAY(r.reporter, "+8613800138001");
	OSMO_STRLCPY_ARRAY(r.state, "visited");
	r.text = "取快递";
	r.created = 1000;
	CHECK(db_request_add(dbc, &r) == 0, "an errand");
	CHECK(db_points_add(dbc, phone, 10, "跑腿123456", r.id, "system", 1000) == 0, "+10 for the errand");
	CHECK(db_points_add(dbc, phone, 10, "跑腿123456", r.id, "system", 1001) == -EEXIST,
	      "the same errand credits once (-EEXIST)");
	CHECK(db_points_add(dbc, phone, 5, "志愿服务", 0, "staff:wang", 2000) == 0 &&
		      db_points_add(dbc, phone, -3, "更正", 0, "staff:wang", 3000) == 0 &&
		      db_points_add(dbc, other, 7, "志愿服务", 0, "staff:wang", 3000) == 0,
	      "staff entries, a negative correction, another phone");
	n = db_points_balance(dbc, phone, &bal);
	CHECK(n == 3 && bal == 12, "balance is the sum of the entries: %d entries, %" PRId64, n, bal);
	n = db_points_last(dbc, phone, x, 2);
	CHECK(n == 2 && x[0].delta == -3 && x[1].delta == 5 && !strcmp(x[1].reason, "志愿服务"),
	      "the newest entries first");
	db_close(dbc);
	CHECK(!raw_exec(path, "UPDATE points SET delta = 1000"), "an entry cannot be changed (trigger)");
	CHECK(db_open(ctx, path, &dbc) == 0 && db_points_balance(dbc, phone, &bal) == 3 && bal == 12,
	      "and the balance is unchanged");
	db_close(dbc);
	unlink(path);
	snprintf(buf, sizeof(buf), "%s-wal", path);
	unlink(buf);
	snprintf(buf, sizeof(buf), "%s-shm", path);
	unlink(buf);
	talloc_free(ctx);
}

int main(void)
{
	struct rt_rules *r = calloc(1, sizeof(*r));
	char err[200], out[400];

	/* the keywords, as typed on feature phones */
	CHECK(rt_rules_load(r, "routes/sms.rules", err, sizeof(err)) == 0, "routes/sms.rules loads");
	check_kw(r, "接单 123456", "take", "123456");
	check_kw(r, "JD123456", "take", "123456");
	check_kw(r, "jd 123456", "take", "123456");
	check_kw(r, "ＪＤ　１２３４５６", "take", "123456");
	check_kw(r, "#接单：123456", "take", "123456");
	check_kw(r, "我要接单123456", "take", "123456");
	check_kw(r, "完成 123456", "done", "123456");
	check_kw(r, "wc 123456", "done", "123456");
	check_kw(r, "跑腿 帮忙取快递", "errand", "帮忙取快递");
	check_kw(r, "PT buy rice", "errand", "BUY RICE");
	check_kw(r, "积分", "points", "");
	check_kw(r, "jf", "points", "");
	check_kw(r, "注册 张三 3-2-501", "register", "张三 3-2-501");
	check_kw(r, "ZC Zhang San 3-2-501", "register", "ZHANG SAN 3-2-501");
	check_kw(r, "JDX 123456", NULL, NULL);
	check_kw(r, "WCDMA", NULL, NULL);

	/* the resident's answer to a finished errand */
	CHECK(rq_parse_errand_answer("1") == 1 && rq_parse_errand_answer("确认") == 1 &&
		      rq_parse_errand_answer("好的。") == 1,
	      "confirmed: 1, 确认, 好的。");
	CHECK(rq_parse_errand_answer("2") == 2 && rq_parse_errand_answer("有异议") == 2 &&
		      rq_parse_errand_answer("异议!") == 2,
	      "disputed: 2, 有异议, 异议!");
	CHECK(!rq_parse_errand_answer("3") && !rq_parse_errand_answer("") && !rq_parse_errand_answer("12"),
	      "neither: 3, empty, 12");

	/* addresses */
	check_addr("3-2-501", 0, "3", "2", "501");
	check_addr("3幢2单元501室", 0, "3", "2", "501");
	check_addr("3栋 2单元 0501", 0, "3", "2", "501");
	check_addr("12号楼501", 0, "12", "", "501");
	check_addr("501", -EINVAL, NULL, NULL, NULL);
	check_addr("1-2-3-4", -EINVAL, NULL, NULL, NULL);
	check_addr("东门", -EINVAL, NULL, NULL, NULL);
	CHECK(rq_address_match("3幢", "2单元", "501", "3", "2", "501"), "3幢2单元501 matches 3/2/501");
	CHECK(!rq_address_match("3幢", "1单元", "501", "3", "2", "501"), "another unit does not");
	CHECK(rq_address_match("3幢", "1单元", "501", "3", "", "501"), "no unit given: any unit fits");
	CHECK(!rq_address_match("13幢", "2单元", "501", "3", "2", "501"), "13幢 is not 3幢");

	/* dates of the holiday editor */
	check_date("2026-10-01", "2026-10-01");
	check_date("2026/10/1", "2026-10-01");
	check_date("20261001", "2026-10-01");
	check_date("2028-02-29", "2028-02-29");
	check_date("2026-02-29", NULL);
	check_date("2026-13-01", NULL);
	check_date("2026-10-01x", NULL);
	check_date("2026-10/01", NULL);
	check_date("tomorrow", NULL);

	/* the texts: both languages, and the zh-CN ones in one UCS-2 part (70) with typical values */
	{
		const char *keys[] = {"ref",	 "n",	    "runner", "number", "address", "name", "text",    "points",
				      "balance", "entries", "delta",  "reason", "date",	   "open", "overdue", "refs"};
		const char *vals[] = {"123456",	     "3",
				      "胡刚",	     "+8613900139201",
				      "1幢1单元101", "邹丽",
				      "帮忙取快递",  "10",
				      "25",	     "+10跑腿123456(11/23)；+5志愿服务(11/20)",
				      "+5",	     "志愿服务",
				      "11月23日",    "12",
				      "3",	     "123456 234567 345678"};
		const char *one_part[] = {"errand_help",
					  "errand_ok",
					  "errand_no_runner",
					  "errand_taken_other",
					  "errand_taken_resident",
					  "errand_already",
					  "not_errand",
					  "errand_done_runner",
					  "errand_done",
					  "errand_confirmed",
					  "errand_credited",
					  "errand_disputed",
					  "points",
					  "points_none",
					  "points_award",
					  "register_help",
					  "register_pending",
					  "register_known",
					  "register_waiting",
					  "register_approved",
					  "register_rejected",
					  "digest"};
		const char *more[] = {"errand_offer", "errand_taken", "errand_disputed_staff", "register_staff",
				      "register_staff_match"};
		int ok = 1;

		for (unsigned i = 0; i < sizeof(one_part) / sizeof(one_part[0]); i++) {
			const char *zh = rq_template(NULL, one_part[i], "zh-CN"),
				   *en = rq_template(NULL, one_part[i], "en");

			if (!zh || !en || zh == en ||
			    rq_text(NULL, one_part[i], "zh-CN", keys, vals, 16, out, sizeof(out)) < 0 ||
			    cps(out) > 70) {
				printf("  %s: %s (%zu characters)\n", one_part[i], zh ? out : "missing", cps(out));
				ok = 0;
			}
		}
		for (unsigned i = 0; i < sizeof(more) / sizeof(more[0]); i++)
			if (!rq_template(NULL, more[i], "zh-CN") || !rq_template(NULL, more[i], "en") ||
			    rq_template(NULL, more[i], "zh-CN") == rq_template(NULL, more[i], "en")) {
				printf("  %s: missing a language\n", more[i]);
				ok = 0;
			}
		CHECK(ok, "every errand/points/registration text in zh-CN and en; the replies fit one UCS-2 part");
	}

	ledger();
	free(r);
	printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
	return failures ? 1 : 0;
}
