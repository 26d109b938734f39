/* The request and errand rules on the fake core (tests/unit/fake_core.h), in milliseconds: a
 * report gets a reference and a deadline and is dispatched to the household's grid worker, who
 * accepts, notes and resolves it by SMS; 查询 of another household's request is refused; a
 * resident may not resolve; the rating closes the loop; past the deadline the due work reminds the
 * assignee once and later escalates to the staff. An errand goes to the runners, the first 接单
 * takes it, a runner of the reporter's own household may not, and only the reporter's
 * confirmation credits the points. The same rules tests/e2e/test_request.py and test_errand.py
 * check through libgammu and modemsim. */
#include <string.h>

#include <osmocom/core/talloc.h>
#include <osmocom/core/utils.h>

#include "db/db.h"
#include "gateway/core/rules.h"
#include "gateway/request/request.h"
#include "tests/unit/fake_core.h"
#include "tests/unit/testlib.h"

#define R1	"+8613800138001" /* 邹丽, 1幢1单元101 (grid W1) */
#define R1B	"+8613800138201" /* 邹文斌, same household */
#define R2	"+8613800138002" /* 吕永福, 1幢1单元102 (grid W1) */
#define W1	"+8613900139001" /* 杜军, grid worker of W1 */
#define STAFF1	"+8613900139101"
#define RUNNER	"+8613900139201"
#define UNKNOWN "+8613700000001"

/* The first run of exactly 6 ASCII digits in text (the reference), or "". */
static void ref_of(const char *text, char ref[8])
{
	ref[0] = '\0';
	for (const char *p = text; p && *p; p++) {
		size_t n = strspn(p, "0123456789");

		if (n == 6) {
			memcpy(ref, p, 6);
			ref[6] = '\0';
			return;
		}
		p += n ? n - 1 : 0;
	}
}

static const char *state_of(struct db_context *dbc, void *ctx, const char *ref, unsigned *flags)
{
	static struct db_request r;

	if (db_request_get(dbc, ctx, ref, 0, &r) < 0)
		return "missing";
	if (flags)
		*flags = r.flags;
	return r.state;
}

static void deliver(struct gw *gw, const char *from, const char *fmt, const char *ref)
{
	char text[1024];

	OSMO_ASSERT((size_t)snprintf(text, sizeof(text), fmt, ref) < sizeof(text));
	OSMO_ASSERT(fake_deliver(gw, from, text) == 0);
}

int main(void)
{
	void *ctx = talloc_named_const(NULL, 0, "request_rules_test");
	const struct fake_sms *s;
	struct db_context *dbc;
	char path[128], err[256], ref[8], ref2[8];
	unsigned flags = 0;
	struct gw *gw;

	test_logging(ctx);
	OSMO_ASSERT(test_sample_db(ctx, "request-rules", path, sizeof(path), &dbc) == 0);
	gw = fake_gw(ctx, dbc);
	gw->rules = talloc_zero(gw, struct rt_rules);
	CHECK(rt_rules_load(gw->rules, "routes/sms.rules", err, sizeof(err)) == 0, "routes/sms.rules loads (%s)", err);
	CHECK(rq_init(gw) == 0, "request registers its handler and due work");

	/* the loop */
	OSMO_ASSERT(fake_deliver(gw, R1, "#我要报事 1幢楼道灯坏了，晚上很黑") == 0);
	s = fake_take(R1, "已受理", "前办结", NULL);
	ref_of(s ? s->text : NULL, ref);
	CHECK(ref[0], "the reporter gets a 6-digit reference and the deadline (%s)", s ? s->text : "nothing");
	s = fake_take(W1, "派单", ref, "1幢1单元101", "邹丽", "1幢楼道灯坏了，晚上很黑", NULL);
	CHECK(s && s->prio == DB_PRIO_STAFF, "the grid worker gets the dispatch at staff priority");
	CHECK(!strcmp(state_of(dbc, ctx, ref, NULL), "dispatched"), "dispatched");
	deliver(gw, W1, "签收 %s", ref);
	CHECK(fake_take(W1, "已签收", ref, NULL) && !strcmp(state_of(dbc, ctx, ref, NULL), "accepted"), "accepted");
	deliver(gw, W1, "CZ %s 已联系电工", ref);
	CHECK(!strcmp(state_of(dbc, ctx, ref, NULL), "in_progress"), "in progress");
	deliver(gw, R2, "查询 %s", ref);
	s = fake_take(R2, "只有报事住户", NULL);
	CHECK(s != NULL, "another household's 查询 is refused");
	{
		char a[1024] = "", b[1024] = "", *p;

		if (s)
			OSMO_STRLCPY_ARRAY(a, s->text);
		OSMO_ASSERT(fake_deliver(gw, R2, "查询 999999") == 0);
		s = fake_take(R2, "999999", NULL);
		if (s)
			OSMO_STRLCPY_ARRAY(b, s->text);
		if ((p = strstr(a, ref)))
			memcpy(p, "999999", 6);
		CHECK(b[0] && !strcmp(a, b),
		      "查询 of an unknown ref gets the very same answer as of a foreign one (%s)", b);
	}
	deliver(gw, R1B, "CX %s", ref);
	CHECK(fake_take(R1B, ref, "处置中", "已联系电工", NULL) != NULL,
	      "the reporter's household sees state and note");
	deliver(gw, R1, "办结 %s 好了", ref);
	CHECK(fake_take(R1, "只限", NULL) && !strcmp(state_of(dbc, ctx, ref, NULL), "in_progress"),
	      "a resident's 办结 is refused and changes nothing");
	deliver(gw, W1, "办结%s 已更换灯泡", ref);
	CHECK(fake_take(R1, "已办结", ref, "已更换灯泡", "回复1满意", NULL) != NULL,
	      "the resident gets the result and the rating prompt");
	CHECK(!strcmp(state_of(dbc, ctx, ref, NULL), "closed"), "closed");
	OSMO_ASSERT(fake_deliver(gw, R1, "1") == 0);
	CHECK(fake_take(R1, "感谢", NULL) && !strcmp(state_of(dbc, ctx, ref, NULL), "visited"), "rated: visited");

	/* a long report returned with a long reason: the staff are still told (shortened, not dropped) */
	{
		char text[700] = "报事 ", reason[700] = "退回 %s ";

		for (int i = 0; i < 195; i++) {
			strcat(text + strlen(text), "墙");
			strcat(reason + strlen(reason), "漏");
		}
		OSMO_ASSERT(fake_deliver(gw, R1, text) == 0);
		s = fake_take(R1, "已受理", NULL);
		ref_of(s ? s->text : NULL, ref2);
		deliver(gw, W1, reason, ref2);
		s = fake_take(STAFF1, "【退回】", ref2, NULL);
		CHECK(s && strstr(s->text, "…"),
		      "a 195-character report returned with a 195-character reason reaches the "
		      "staff, shortened");
		CHECK(!strcmp(state_of(dbc, ctx, ref2, NULL), "returned"), "returned");
	}

	/* an unknown number reaches every staff phone with at most 3 reports an hour; the 4th is kept
	 * for the staff's list, not texted to each of them */
	{
		unsigned before = fake_count(STAFF1);
		char text[64];

		for (int i = 0; i < 4; i++) {
			snprintf(text, sizeof(text), "报事 南门路灯不亮%d", i);
			OSMO_ASSERT(fake_deliver(gw, UNKNOWN, text) == 0);
		}
		CHECK(fake_count(STAFF1) - before == 3, "an unknown number's 4 reports: 3 texted to the staff (%u)",
		      fake_count(STAFF1) - before);
		CHECK(fake_count(UNKNOWN) == 4, "each report is answered (%u)", fake_count(UNKNOWN));
		fake_now += 3601;
		OSMO_ASSERT(fake_deliver(gw, UNKNOWN, "报事 南门路灯不亮again") == 0);
		CHECK(fake_count(STAFF1) - before == 4, "an hour later the staff are texted again");
	}

	/* overdue: reminded once after the deadline, escalated a day later */
	OSMO_ASSERT(fake_deliver(gw, R2, "BS 水管漏水") == 0);
	s = fake_take(R2, "已受理", NULL);
	ref_of(s ? s->text : NULL, ref2);
	fake_due(gw);
	CHECK(fake_count(W1) && !fake_take(W1, "催办", NULL), "before the deadline: no reminder");
	fake_now += 8 * 86400;
	fake_due(gw);
	fake_due(gw);
	CHECK(fake_take(W1, "催办", ref2, NULL) && !fake_take(W1, "催办", ref2, NULL), "past the deadline: one 催办");
	state_of(dbc, ctx, ref2, &flags);
	CHECK((flags & 3) == 3, "flagged overdue and reminded (%u)", flags);
	fake_now += 2 * 86400;
	fake_due(gw);
	CHECK(fake_take(STAFF1, "督办", ref2, NULL) != NULL, "a day later: 督办 to the staff");

	/* errands: only the reporter's confirmation credits the runner */
	OSMO_ASSERT(fake_deliver(gw, R1, "跑腿 帮忙买一袋米") == 0);
	s = fake_take(R1, NULL);
	ref_of(s ? s->text : NULL, ref);
	s = fake_take(RUNNER, ref, NULL);
	CHECK(ref[0] && s, "the errand is offered to the runner (%s)", ref);
	deliver(gw, RUNNER, "接单 %s", ref);
	deliver(gw, RUNNER, "完成 %s", ref);
	OSMO_ASSERT(fake_deliver(gw, R2, "1") == 0);
	CHECK(strcmp(state_of(dbc, ctx, ref, NULL), "visited"), "someone else's 1 does not confirm the errand (%s)",
	      state_of(dbc, ctx, ref, NULL));
	OSMO_ASSERT(fake_deliver(gw, R1, "1") == 0);
	CHECK(fake_take(RUNNER, "积分+", ref, NULL) != NULL, "the reporter's 1 credits the runner");

	/* a runner may not take its own errand (report, take, finish, confirm: points without limit) */
	OSMO_ASSERT(fake_deliver(gw, RUNNER, "跑腿 取快递") == 0);
	s = fake_take(RUNNER, "跑腿单", "已发给", NULL);
	ref_of(s ? s->text : NULL, ref);
	deliver(gw, RUNNER, "接单 %s", ref);
	CHECK(fake_take(RUNNER, "不能接单", ref, NULL) && !strcmp(state_of(dbc, ctx, ref, NULL), "dispatched"),
	      "a runner's 接单 of its own errand is refused (%s)", ref);

	db_close(dbc);
	test_db_remove(path);
	talloc_free(ctx);
	return failures ? 1 : 0;
}
