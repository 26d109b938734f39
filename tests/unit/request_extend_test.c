/* 延期 by SMS and what residents see, on the fake core (tests/unit/fake_core.h): the grid worker's
 * 延期 is an ask that goes to the duty staff with a code; 批准 moves the deadline in working days
 * and tells the resident and the worker, 驳回 tells the worker the reason, an ask nobody answers
 * lapses; the console's extension approves a waiting ask. Refusals: a resident's 延期 (role), a
 * worker's for a request not theirs, days out of 1..10, no reason, a second ask, a wrong code. And
 * 查询 answers a resident in its language only (never "to the grid worker", never a remark);
 * "?" alone is not request business (the router's help, tests/e2e/test_extend.py). The same flow
 * through libgammu and modemsim: tests/e2e/test_extend.py. */
#include <stdio.h>
#include <string.h>

#include <osmocom/core/talloc.h>
#include <osmocom/core/utils.h>

#include "db/db.h"
#include "gateway/core/rules.h"
#include "gateway/request/request.h"
#include "gateway/request/request_priv.h"
#include "tests/unit/fake_core.h"
#include "tests/unit/testlib.h"

#define R1	"+8613800138001" /* 邹丽, 1幢1单元101 (grid W1) */
#define R_EN	"+8613800138204" /* 汤丽, 4幢1单元202 (grid W1), lang en */
#define W1	"+8613900139001" /* 杜军, grid worker of W1 */
#define W2	"+8613900139002" /* 姚雨桐, grid worker of W2 */
#define STAFF1	"+8613900139101"
#define STAFF2	"+8613900139102"
#define UNKNOWN "+8613700000009"

/* The first run of exactly n ASCII digits in text after the word after (NULL: anywhere), or "". */
static void digits_of(const char *text, const char *after, size_t n, char *out)
{
	const char *p = text && after ? strstr(text, after) : text;

	out[0] = '\0';
	for (; p && *p; p++) {
		size_t k = strspn(p, "0123456789");

		if (k == n) {
			memcpy(out, p, n);
			out[n] = '\0';
			return;
		}
		p += k ? k - 1 : 0;
	}
}

static struct db_request *req(struct db_context *dbc, void *ctx, const char *ref)
{
	static struct db_request r;

	if (db_request_get(dbc, ctx, ref, 0, &r) < 0)
		memset(&r, 0, sizeof(r));
	return &r;
}

static void say(struct gw *gw, const char *from, const char *fmt, const char *arg)
{
	char text[512];

	OSMO_ASSERT((size_t)snprintf(text, sizeof(text), fmt, arg) < sizeof(text));
	OSMO_ASSERT(fake_deliver(gw, from, text) == 0);
}

/* Whether s holds an ASCII letter (an English word in a Chinese answer). */
static bool has_latin(const char *s)
{
	for (; s && *s; s++)
		if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))
			return true;
	return false;
}

/* A new ask of W1 for ref; the code the first staff phone got. */
static void ask(struct gw *gw, const char *ref, const char *days_reason, char code[8])
{
	const struct fake_sms *s;
	char text[256];

	snprintf(text, sizeof(text), "延期 %s %s", ref, days_reason);
	OSMO_ASSERT(fake_deliver(gw, W1, text) == 0);
	s = fake_take(STAFF1, "【延期申请】", ref, NULL);
	digits_of(s ? s->text : NULL, "批准", 4, code);
	fake_take(W1, "已提交", ref, NULL);
}

int main(void)
{
	void *ctx = talloc_named_const(NULL, 0, "request_extend_test");
	const struct fake_sms *s;
	struct db_context *dbc;
	struct db_extension x;
	char path[128], err[256], ref[8], code[8], code2[8];
	int64_t deadline, want;
	unsigned before;
	struct gw *gw;

	test_logging(ctx);
	OSMO_ASSERT(test_sample_db(ctx, "request-extend", path, sizeof(path), &dbc) == 0);
	gw = fake_gw(ctx, dbc);
	gw->rules = talloc_zero(gw, struct rt_rules);
	CHECK(rt_rules_load(gw->rules, "routes/sms.rules", err, sizeof(err)) == 0, "routes/sms.rules loads (%s)", err);
	CHECK(rq_init(gw) == 0, "request registers its handler and due work");

	OSMO_ASSERT(fake_deliver(gw, R1, "报事 3幢电梯坏了") == 0);
	s = fake_take(R1, "已受理", NULL);
	digits_of(s ? s->text : NULL, NULL, 6, ref);
	CHECK(ref[0] && fake_take(W1, "派单", ref, NULL), "reported and dispatched to the grid worker (%s)", ref);

	/* 查询 right after the dispatch: a label, not the system note "to the grid worker" */
	OSMO_ASSERT(fake_deliver(gw, R1, "查询") == 0);
	s = fake_take(R1, ref, NULL);
	CHECK(s && strstr(s->text, "已派给网格员") && !has_latin(s->text), "查询: in Chinese only (%s)",
	      s ? s->text : "nothing");

	/* the refusals */
	deadline = req(dbc, ctx, ref)->deadline;
	before = fake_count(STAFF1);
	say(gw, R1, "延期 %s 3 等配件", ref);
	CHECK(fake_take(R1, "只限网格员", NULL) != NULL, "a resident's 延期 is refused by role");
	say(gw, W2, "延期 %s 3 等配件", ref);
	CHECK(fake_take(W2, "不在您名下", ref, NULL) != NULL, "a worker's 延期 of a request not theirs is refused");
	say(gw, W1, "延期 %s 11 等配件", ref);
	CHECK(fake_take(W1, "1到10个工作日", NULL) != NULL, "11 days is refused");
	say(gw, W1, "延期 %s 0 等配件", ref);
	CHECK(fake_take(W1, "1到10个工作日", NULL) != NULL, "0 days is refused");
	say(gw, W1, "延期 %s 3", ref);
	CHECK(fake_take(W1, "格式", "延期 单号 天数 原因", NULL) != NULL, "no reason: the usage");
	fake_now += 601; /* past the error-reply limit's window */
	say(gw, W1, "延期 %s 等配件", ref);
	CHECK(fake_take(W1, "格式", NULL) != NULL, "no days: the usage");
	CHECK(fake_count(STAFF1) == before && req(dbc, ctx, ref)->deadline == deadline &&
		      !strcmp(req(dbc, ctx, ref)->state, "dispatched"),
	      "no refusal reaches the staff or changes the request");

	/* the ask; the staff approve by SMS */
	ask(gw, ref, "3天 等电梯配件到货", code);
	CHECK(code[0] && fake_take(STAFF2, "【延期申请】", ref, "杜军", "3个工作日", "等电梯配件到货", code, NULL),
	      "every duty staff phone gets the ask with its code (%s)", code);
	CHECK(!strcmp(req(dbc, ctx, ref)->state, "dispatched") && req(dbc, ctx, ref)->deadline == deadline,
	      "an ask is not the extension");
	say(gw, W1, "YQ %s 2 again", ref);
	CHECK(fake_take(W1, "审批中", ref, NULL) != NULL, "a second ask while one waits is refused");
	OSMO_ASSERT(fake_deliver(gw, R1, "查询") == 0);
	s = fake_take(R1, ref, NULL);
	CHECK(s && !strstr(s->text, "申请") && !has_latin(s->text), "查询 does not show the ask (a remark): %s",
	      s ? s->text : "nothing");
	say(gw, R1, "批准 %s", code);
	CHECK(fake_take(R1, "只限工作人员", NULL) != NULL, "a resident's 批准 is refused");
	say(gw, STAFF1, "批准 %s", !strcmp(code, "1000") ? "1001" : "1000");
	CHECK(fake_take(STAFF1, "审批码", "无效", NULL) != NULL, "a wrong code is refused");
	say(gw, STAFF1, "PZ %s", code);
	want = rq_deadline(dbc, deadline > fake_now ? (time_t)deadline : fake_now, 3);
	CHECK(req(dbc, ctx, ref)->deadline == want && !strcmp(req(dbc, ctx, ref)->state, "extended"),
	      "approved: the deadline moved 3 working days (%lld, want %lld)", (long long)req(dbc, ctx, ref)->deadline,
	      (long long)want);
	CHECK(fake_take(R1, "延期至", ref, "等电梯配件到货", NULL) != NULL, "the resident is told, with the reason");
	CHECK(fake_take(W1, "【延期】", ref, NULL) != NULL, "the worker is told");
	CHECK(fake_take(STAFF1, "已延期至", ref, NULL) != NULL, "the approver is answered");
	say(gw, STAFF2, "批准 %s", code);
	CHECK(fake_take(STAFF2, "无效", NULL) != NULL && req(dbc, ctx, ref)->deadline == want,
	      "a second 批准 of the same code changes nothing");
	OSMO_ASSERT(fake_deliver(gw, R1, "查询") == 0);
	s = fake_take(R1, ref, NULL);
	CHECK(s && strstr(s->text, "已延期至") && !has_latin(s->text), "查询 after the extension: %s",
	      s ? s->text : "nothing");

	/* refused: the worker is told the reason; no reason, no refusal */
	ask(gw, ref, "2 天气原因", code2);
	say(gw, STAFF2, "驳回 %s", code2);
	CHECK(fake_take(STAFF2, "格式", "驳回 审批码 原因", NULL) != NULL, "驳回 without a reason: the usage");
	OSMO_ASSERT(db_extension_by_code(dbc, ctx, code2, &x) == 0);
	say(gw, STAFF2, "BH %s 请按期完成", code2);
	CHECK(fake_take(W1, "延期驳回", ref, "请按期完成", NULL) != NULL, "refused: the worker is told the reason");
	CHECK(fake_take(STAFF2, "已驳回", ref, NULL) != NULL && req(dbc, ctx, ref)->deadline == want,
	      "the refuser is answered; the deadline stays");
	CHECK(db_extension_by_code(dbc, ctx, code2, &x) == -ENOENT, "the ask no longer waits");

	/* lapsed: nobody answers by the deadline */
	ask(gw, ref, "1 等物业", code);
	fake_now = want + 86400 + 1;
	fake_due(gw);
	CHECK(fake_take(W1, "无人审批", ref, NULL) != NULL, "an ask nobody answered lapses, the worker is told");
	say(gw, STAFF1, "批准 %s", code);
	CHECK(fake_take(STAFF1, "无效", NULL) != NULL, "a lapsed ask cannot be approved");

	/* the console's (and linlictl's) extension approves a waiting ask */
	ask(gw, ref, "2 等物业", code);
	{
		struct rq_env e;

		gw_request_env(gw, &e, ctx, fake_now);
		OSMO_ASSERT(db_begin(dbc) == 0);
		CHECK(rq_extend(&e, ref, 2, NULL, "等物业", "web:王敏 (+8613900139101)", err, sizeof(err)) == 0,
		      "the console extends (%s)", err);
		OSMO_ASSERT(db_commit(dbc) == 0);
	}
	CHECK(db_extension_by_code(dbc, ctx, code, &x) == -ENOENT, "the console's extension approves the ask");
	s = fake_take(W1, "【延期】", ref, NULL);
	CHECK(s != NULL, "the worker is told of the console's extension");

	/* a staff phone's 延期 is the extension itself */
	deadline = req(dbc, ctx, ref)->deadline;
	say(gw, STAFF1, "延期 %s 1 节前人手不足", ref);
	CHECK(fake_take(STAFF1, "已延期至", ref, NULL) && req(dbc, ctx, ref)->deadline > deadline,
	      "a staff phone's 延期 extends at once");

	/* a request to the duty staff: 查询 by an unknown number gets no English either */
	OSMO_ASSERT(fake_deliver(gw, UNKNOWN, "报事 南门路灯不亮") == 0);
	s = fake_take(UNKNOWN, "已受理", NULL);
	OSMO_ASSERT(fake_deliver(gw, UNKNOWN, "查询") == 0);
	s = fake_take(UNKNOWN, "单号", NULL);
	CHECK(s && strstr(s->text, "已转社区工作人员") && !has_latin(s->text),
	      "查询 of a request with the duty staff: %s", s ? s->text : "nothing");

	/* an English phone gets English */
	OSMO_ASSERT(fake_deliver(gw, R_EN, "BS lift broken") == 0);
	s = fake_take(R_EN, "Received", NULL);
	digits_of(s ? s->text : NULL, NULL, 6, ref);
	s = fake_take(W1, ref, NULL);
	say(gw, W1, "CZ %s 已联系电梯公司", ref);
	OSMO_ASSERT(fake_deliver(gw, R_EN, "CX") == 0);
	s = fake_take(R_EN, ref, NULL);
	CHECK(s && strstr(s->text, "Last: in progress: 已联系电梯公司"), "查询 from an English phone: %s",
	      s ? s->text : "nothing");

	/* every text a resident receives exists in both languages */
	{
		static const char *const names[] = {"report_ok",
						    "report_merged",
						    "report_help",
						    "resolved",
						    "rated",
						    "rated_reopen",
						    "status",
						    "status_none",
						    "unknown_ref",
						    "bad_ref",
						    "usage",
						    "private",
						    "bad_text",
						    "refused",
						    "extended",
						    "reopened",
						    "errand_help",
						    "errand_ok",
						    "errand_no_runner",
						    "errand_taken_resident",
						    "errand_done",
						    "errand_confirmed",
						    "errand_disputed",
						    "fanout_limited",
						    "points",
						    "points_none",
						    "points_award",
						    "register_help",
						    "register_pending",
						    "register_known",
						    "register_waiting",
						    "register_approved",
						    "register_rejected"};
		unsigned missing = 0;

		for (unsigned i = 0; i < ARRAY_SIZE(names); i++) {
			const char *zh = rq_template(NULL, names[i], "zh-CN"), *en = rq_template(NULL, names[i], "en");

			if (!zh || !en || zh == en) {
				fprintf(stderr, "  %s: zh-CN %s, en %s\n", names[i], zh ? "yes" : "no",
					en && en != zh ? "yes" : "no");
				missing++;
			}
		}
		CHECK(!missing, "every resident's text has a zh-CN and an en version (%u missing)", missing);
	}

	/* "?" alone is not request business: the router's help answers it */
	before = fake_count(R1);
	OSMO_ASSERT(fake_deliver(gw, R1, "?") == 0);
	OSMO_ASSERT(fake_deliver(gw, R1, "？") == 0);
	CHECK(fake_count(R1) == before, "\"?\" and \"？\" are left to the router's help");

	db_close(dbc);
	test_db_remove(path);
	talloc_free(ctx);
	return failures ? 1 : 0;
}
