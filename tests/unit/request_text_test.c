/* Requests: the pure text handling of gateway/request/request_text.c (refs, ratings, original words of a
 * normalised suffix, templates with rules-file overrides, state labels, deadlines). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/request/request.h"
#include "gateway/core/rules.h"
#include "tests/unit/testlib.h"

static void check_ref(const char *args, int want_rc, const char *want_ref, const char *want_rest)
{
	char ref[8] = "";
	const char *rest = NULL;
	int rc = rq_parse_ref(args, ref, &rest);

	CHECK(rc == want_rc && (rc || (!strcmp(ref, want_ref) && !strcmp(rest, want_rest))),
	      "ref of \"%s\": rc %d ref %s rest \"%s\"", args, rc, rc ? "-" : ref, rc ? "-" : rest);
}

/* The original words after the keyword, as the handler takes them. */
static void check_orig(const char *text, const char *want)
{
	struct rt_rules r;
	struct rt_match m;
	char err[100], out[300];
	int rc;

	rt_rules_parse(&r, "rule 报事,BS report\nrule 办结,BJ resolve grid_worker\n", err, sizeof(err));
	rt_match(&r, text, strlen(text), &m);
	rc = rq_orig_suffix(text, strlen(text), m.args, out, sizeof(out));
	CHECK(rc >= 0 && !strcmp(out, want), "original words of \"%s\": \"%s\"", text, rc >= 0 ? out : "(error)");
}

int main(void)
{
	struct rt_rules r;
	char err[100], out[400];
	const char *keys[] = {"ref", "date"};
	const char *vals[] = {"123456", "3月5日"};
	time_t now, dl;
	struct tm tm;

	setenv("TZ", "Asia/Shanghai", 1);
	tzset();

	/* refs */
	check_ref("123456", 0, "123456", "");
	check_ref(" 123456 已修好", 0, "123456", "已修好");
	check_ref("#123456,换了灯泡", 0, "123456", "换了灯泡");
	check_ref("123456已修好", 0, "123456", "已修好");
	check_ref("", -ENOENT, NULL, NULL);
	check_ref("已修好", -ENOENT, NULL, NULL);
	check_ref("12345 已修好", -EINVAL, NULL, NULL);
	check_ref("1234567", -EINVAL, NULL, NULL);

	/* ratings */
	CHECK(rq_parse_rating("1") == 1 && rq_parse_rating("2") == 2 && rq_parse_rating("3") == 3, "ratings 1 2 3");
	CHECK(rq_parse_rating("3。") == 3 && rq_parse_rating("1!") == 1, "trailing punctuation ignored");
	CHECK(rq_parse_rating("满意") == 1 && rq_parse_rating("基本满意") == 2 && rq_parse_rating("不满意") == 3,
	      "ratings in words");
	CHECK(!rq_parse_rating("4") && !rq_parse_rating("12") && !rq_parse_rating("") && !rq_parse_rating("好"),
	      "not ratings: 4, 12, empty, 好");
	CHECK(!strcmp(rq_rating_label(3), "不满意") && !rq_rating_label(0), "rating labels");

	/* the original words */
	check_orig("报事 1幢楼道灯坏了", "1幢楼道灯坏了");
	check_orig("#我要报事：Lift in Block 3 broken  ", "Lift in Block 3 broken");
	check_orig("ｂｓ Lamp ＯＵＴ\t ", "Lamp ＯＵＴ");
	check_orig("报事10幢墙皮脱落　", "10幢墙皮脱落");
	check_orig("BJ 123456 Fixed it", "123456 Fixed it");
	check_orig("报事", "");

	/* states */
	CHECK(!strcmp(rq_state_label("in_progress", "zh-CN"), "处置中") &&
		      !strcmp(rq_state_label("visited", "zh-CN"), "已回访") &&
		      !strcmp(rq_state_label("in_progress", "en"), "in progress") &&
		      !strcmp(rq_state_label("odd", "en"), "odd"),
	      "state labels");

	/* templates: built-in, per language, and a rules file override */
	CHECK(rq_text(NULL, "report_ok", "zh-CN", keys, vals, 2, out, sizeof(out)) > 0 &&
		      !strcmp(out, "已受理，单号123456，预计3月5日前办结。回复“查询123456”看进度。"),
	      "built-in zh-CN report_ok");
	CHECK(rq_text(NULL, "report_ok", "en", keys, vals, 2, out, sizeof(out)) > 0 && strstr(out, "ref 123456"),
	      "built-in en report_ok");
	CHECK(rq_text(NULL, "no_such", "zh-CN", keys, vals, 2, out, sizeof(out)) == -ENOENT, "unknown template");
	rt_rules_parse(&r, "reply report_ok zh-CN 收到，编号{ref}\n", err, sizeof(err));
	CHECK(rq_text(&r, "report_ok", "zh-CN", keys, vals, 2, out, sizeof(out)) > 0 &&
		      !strcmp(out, "收到，编号123456"),
	      "the rules file overrides a template");
	CHECK(rq_text(&r, "report_ok", "en", keys, vals, 2, out, sizeof(out)) > 0 && strstr(out, "Received"),
	      "an en phone keeps the built-in en text when only zh-CN is overridden");
	CHECK(rq_text(&r, "dispatch", "zh-CN", NULL, NULL, 0, out, sizeof(out)) > 0 && strstr(out, "{ref}"),
	      "templates the file does not name stay built in");

	/* every reply fits the text buffer and every template has both languages */
	{
		const char *names[] = {
			"report_ok", "report_merged",	"report_help",	   "dispatch", "returned_staff", "accepted",
			"noted",     "resolved_worker", "returned_worker", "resolved", "rated",		 "rated_reopen",
			"status",    "status_none",	"unknown_ref",	   "bad_ref",  "usage",		 "not_yours",
			"bad_state", "private",		"bad_text",	   "refused",  "list",		 "list_none",
			"remind",    "escalate"};
		int ok = 1;

		for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			const char *zh = rq_template(NULL, names[i], "zh-CN"), *en = rq_template(NULL, names[i], "en");

			if (!zh || !en || zh == en) {
				printf("  template %s lacks a language\n", names[i]);
				ok = 0;
			}
		}
		CHECK(ok, "every template in zh-CN and en");
	}

	/* dates and deadlines: Friday 2026-03-06 10:00 + 3 working days = Wednesday 2026-03-11 */
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = 126;
	tm.tm_mon = 2;
	tm.tm_mday = 6;
	tm.tm_hour = 10;
	tm.tm_isdst = -1;
	now = mktime(&tm);
	dl = rq_deadline(NULL, now, 3);
	localtime_r(&dl, &tm);
	CHECK(tm.tm_mon == 2 && tm.tm_mday == 11 && tm.tm_hour == 23 && tm.tm_min == 59,
	      "deadline: Friday + 3 working days = Wednesday 23:59");
	rq_date(dl, "zh-CN", out, sizeof(out));
	CHECK(!strcmp(out, "3月11日"), "zh-CN date");
	rq_date(dl, "en", out, sizeof(out));
	CHECK(!strcmp(out, "2026-03-11"), "en date");

	printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
	return failures ? 1 : 0;
}
