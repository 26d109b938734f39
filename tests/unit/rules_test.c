/* SMS keyword rules: normalisation, the rules file format, matching, templates. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gateway/core/rules.h"
#include "util/utf8.h"
#include "tests/unit/testlib.h"

static void norm(const char *in, const char *want)
{
	char out[256];
	int n = rt_normalize(in, strlen(in), out, sizeof(out));

	CHECK(n >= 0 && !strcmp(out, want), "normalise '%s' -> '%s' (want '%s')", in, n >= 0 ? out : "(error)", want);
}

static void match(const struct rt_rules *r, const char *text, const char *handler, const char *args)
{
	struct rt_match m;
	int rc = rt_match(r, text, strlen(text), &m);
	const char *h = m.rule ? m.rule->handler : "(none)";

	CHECK(rc == 0 && !strcmp(h, handler) && !strcmp(m.args, args), "'%s' -> %s '%s' (want %s '%s')", text, h,
	      m.args, handler, args);
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "routes/sms.rules";
	static struct rt_rules r;
	char err[200], out[300];
	int rc;

	norm("bs 10幢墙皮脱落", "BS 10幢墙皮脱落");
	norm("ＢＳ　１０幢", "BS 10幢");
	norm("＃报事 电梯坏了", "报事 电梯坏了");
	norm("#报事", "报事");
	norm("【报事】漏水", "报事】漏水");
	norm("我要报事 路灯坏了", "报事 路灯坏了");
	norm("请 查询", "查询");
	norm("  help  ", "HELP");
	norm("", "");
	rc = rt_normalize("\xff\xfe", 2, out, sizeof(out));
	CHECK(rc == -EILSEQ, "invalid UTF-8 is refused with -EILSEQ");

	rc = rt_rules_load(&r, path, err, sizeof(err));
	CHECK(rc == 0 && r.nrules >= 15, "the shipped rules file %s loads (%s)", path, rc ? err : "ok");

	match(&r, "报事 10幢墙皮脱落", "report", "10幢墙皮脱落");
	match(&r, "报事10幢墙皮脱落", "report", "10幢墙皮脱落");
	match(&r, "bs 10幢墙皮脱落", "report", "10幢墙皮脱落");
	match(&r, "ＢＳ：电梯坏了", "report", "电梯坏了");
	match(&r, "我要报事，电梯坏了", "report", "电梯坏了");
	match(&r, "#报事", "report", "");
	match(&r, "BSX hello", "(none)", "BSX HELLO");
	match(&r, "查询 123456", "status", "123456");
	match(&r, "cx", "status", "");
	match(&r, "办结 123456 已修好", "resolve", "123456 已修好");
	match(&r, "Help", "help", "");
	match(&r, "你好", "(none)", "你好");

	{
		struct rt_match m;

		rt_match(&r, "bj 123456 done", strlen("bj 123456 done"), &m);
		CHECK(m.rule && !strcmp(m.rule->role, "grid_worker"), "办结/BJ is for grid workers only");
	}

	rc = rt_rules_parse(&r, "rule 报事 report\nbogus line\n", err, sizeof(err));
	CHECK(rc == -EINVAL && strstr(err, "line 2"), "an unknown directive is refused with its line number");
	rc = rt_rules_parse(&r, "root:$6$secret-hash:19000:0:99999:7:::\n", err, sizeof(err));
	CHECK(rc == -EINVAL && !strstr(err, "secret") && !strstr(err, "root"),
	      "the error names the line, never its content (a file that is not a rules file)");
	rc = rt_rules_parse(&r, "rule onlykeyword\n", err, sizeof(err));
	CHECK(rc == -EINVAL && strstr(err, "line 1") && r.nrules == 0,
	      "a rule without handler is refused, nothing kept");
	rc = rt_rules_parse(
		&r,
		"# c\n\nrule 报事,BS report\nreply ok zh-CN 已受理，编号{ref}。\nreply ok en Received, ref {ref}.\n",
		err, sizeof(err));
	CHECK(rc == 0 && r.nrules == 1 && r.ntpl == 2, "comments, blank lines, rules and replies parse");
	{
		const char *keys[] = {"ref"}, *vals[] = {"123456"};

		rc = rt_expand(rt_template(&r, "ok", "en"), keys, vals, 1, out, sizeof(out));
		CHECK(rc > 0 && !strcmp(out, "Received, ref 123456."), "English template expands");
		rc = rt_expand(rt_template(&r, "ok", "fr"), keys, vals, 1, out, sizeof(out));
		CHECK(rc > 0 && !strcmp(out, "已受理，编号123456。"), "an unknown language falls back to zh-CN");
		rc = rt_expand("{unknown} {ref}", keys, vals, 1, out, sizeof(out));
		CHECK(rc > 0 && !strcmp(out, "{unknown} 123456"), "unknown placeholders stay");
		rc = rt_expand("{ref}{ref}", keys, vals, 1, out, 8);
		CHECK(rc == -ENOSPC, "expansion that does not fit, with nothing to shorten, is -ENOSPC");
	}
	{
		/* a 195-character report and a 195-character reason into a 400-byte notice */
		char text[700] = "", reason[700] = "", big[400];
		const char *keys[] = {"ref", "text", "reason"}, *vals[] = {"654321", text, reason};

		for (int i = 0; i < 195; i++) {
			strcat(text, "墙");
			strcat(reason, "漏");
		}
		rc = rt_expand("【退回】单号{ref}：{text}，原因：{reason}", keys, vals, 3, big, sizeof(big));
		CHECK(rc > 0 && rc < (int)sizeof(big) && strstr(big, "单号654321：") && strstr(big, "…") &&
			      utf8_validate(big, strlen(big), NULL) == 0,
		      "a notice too long for its buffer is shortened with …, the reference kept, valid UTF-8 (%d "
		      "bytes)",
		      rc);
		CHECK(strstr(big, "墙墙墙") && strstr(big, "漏漏漏"), "both long fields keep their start");
	}
	CHECK(rt_template(&r, "missing", "en") == NULL, "a missing template is NULL");

	printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
	return failures ? 1 : 0;
}
