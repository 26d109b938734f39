/* The staff's actions on requests (rq_note, rq_extend, rq_reopen, rq_report) and their routes in
 * the console and Open311 (gateway/request/request_http.c, request_open311.c), on the fake core
 * and a fake HTTP server (tests/unit/fake_http.h) that matches routes and checks roles as the
 * real one does: a resident's 报事 shows in the list; assign, note, extend (延期), close and
 * reopen send the SMS the SMS commands send and name the staff member in the history; bad input
 * is refused with 400/404/409 and changes nothing; Open311 maps the states to open/closed, files a
 * request that is dispatched like a 报事, and its public reads carry no phone number or name.
 * tests/e2e/test_http_requests.py and test_open311.py check the same through the real server. */
#include <string.h>

#include <osmocom/core/talloc.h>
#include <osmocom/core/utils.h>

#include "db/db.h"
#include "gateway/core/http.h"
#include "gateway/core/rules.h"
#include "gateway/request/request.h"
#include "gateway/request/request_priv.h"
#include "tests/unit/fake_core.h"
#include "tests/unit/fake_http.h"
#include "tests/unit/testlib.h"

#define R1	"+8613800138001" /* 邹丽, 1幢1单元101 (grid W1) */
#define R2	"+8613800138002" /* 吕永福, 1幢1单元102 (grid W1) */
#define W1	"+8613900139001" /* 杜军, grid worker of W1 */
#define W2	"+8613900139002" /* 姚雨桐, grid worker of W2 */
#define STAFF1	"+8613900139101"
#define UNKNOWN "+8613700000001"

static const struct gw_http_staff staff = {
	.token_id = 1, .number = STAFF1, .name = "王敏", .role = GW_ROLE_STAFF, .actor = "web:王敏 (" STAFF1 ")"};
static const struct gw_http_staff reader = {
	.token_id = 2, .number = STAFF1, .name = "王敏", .role = GW_ROLE_READONLY, .actor = "web:王敏 (" STAFF1 ")"};

static struct fake_http_answer ans;

/* One call; the status. */
static unsigned call(struct gw *gw, const char *method, const char *path, const char *json,
		     const struct gw_http_staff *who)
{
	json_decref(ans.json);
	ans.json = NULL;
	fake_http_call(gw, method, path, json ? "application/json" : NULL, json, who, &ans);
	return ans.status;
}

static unsigned form(struct gw *gw, const char *path, const char *body, const struct gw_http_staff *who)
{
	json_decref(ans.json);
	ans.json = NULL;
	fake_http_call(gw, "POST", path, "application/x-www-form-urlencoded", body, who, &ans);
	return ans.status;
}

static const char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : "";
}

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

static int count_requests(struct db_context *dbc, void *ctx)
{
	struct db_request_filter f = {.limit = 1};
	struct db_request *rows;
	int total = -1;

	db_request_query(dbc, ctx, &f, &rows, &total);
	return total;
}

static void test_mapping(void)
{
	static const char *const open[] = {"received", "dispatched", "accepted", "in_progress",
					   "returned", "extended",   "reopened"};
	static const char *const closed[] = {"closed", "visited", "merged"};
	bool ok = true;
	time_t t;

	printf("-- Open311 states and times\n");
	for (unsigned i = 0; i < ARRAY_SIZE(open); i++)
		ok &= !strcmp(rq_open311_status(open[i]), "open");
	for (unsigned i = 0; i < ARRAY_SIZE(closed); i++)
		ok &= !strcmp(rq_open311_status(closed[i]), "closed");
	CHECK(ok, "DOMAIN.md's table: 7 states open, closed/visited/merged closed");
	CHECK(!strcmp(rq_state_label("extended", "zh-CN"), "已延期"), "extended is 已延期");
	CHECK(rq_iso_parse("2026-01-02T03:04:05Z", &t) == 0 && t == 1767323045, "ISO time in UTC (%ld)", (long)t);
	CHECK(rq_iso_parse("2026-01-02T11:04:05+08:00", &t) == 0 && t == 1767323045, "with +08:00");
	CHECK(rq_iso_parse("2026-01-02T11:04:05.123+0800", &t) == 0 && t == 1767323045, "with fractions, +0800");
	CHECK(rq_iso_parse("2026-01-02", &t) == 0, "a date alone");
	CHECK(rq_iso_parse("2026-02-30", &t) == -EINVAL && rq_iso_parse("2026-01-02T25:00Z", &t) == -EINVAL &&
		      rq_iso_parse("yesterday", &t) == -EINVAL &&
		      rq_iso_parse("2026-01-02'; DROP TABLE request;--", &t) == -EINVAL &&
		      rq_iso_parse("", &t) == -EINVAL,
	      "not a day, not an hour, not a date, SQL, empty: refused");
}

int main(void)
{
	void *ctx = talloc_named_const(NULL, 0, "request_http_test");
	const struct fake_sms *s;
	struct db_context *dbc;
	char path[128], err[256], ref[8], ref2[8], url[256], metrics[8192];
	struct gw *gw;
	json_t *j;
	int before;

	test_logging(ctx);
	test_mapping();
	OSMO_ASSERT(test_sample_db(ctx, "request-http", path, sizeof(path), &dbc) == 0);
	gw = fake_gw(ctx, dbc);
	gw->rules = talloc_zero(gw, struct rt_rules);
	CHECK(rt_rules_load(gw->rules, "routes/sms.rules", err, sizeof(err)) == 0, "routes/sms.rules loads (%s)", err);
	CHECK(rq_init(gw) == 0 && rq_http_init(gw) == 0, "request registers its handler, due work and routes");

	printf("-- the console: a resident's 报事 worked over HTTP\n");
	OSMO_ASSERT(fake_deliver(gw, R1, "报事 1幢楼道灯坏了") == 0);
	s = fake_take(R1, "已受理", NULL);
	ref_of(s ? s->text : NULL, ref);
	CHECK(ref[0] && fake_take(W1, "派单", ref, NULL), "reported and dispatched to W1 (%s)", ref);
	CHECK(call(gw, "GET", "/api/v1/requests?state=dispatched&grid=W1&kind=request", NULL, &reader) == 200 &&
		      json_integer_value(json_object_get(ans.json, "total")) >= 1 &&
		      !strcmp(jstr(json_array_get(json_object_get(ans.json, "requests"), 0), "ref"), ref),
	      "listed with filters state, grid, kind: %.200s", ans.body);
	snprintf(url, sizeof(url), "/api/v1/requests?q=%s", "%E6%A5%BC%E9%81%93"); /* 楼道 */
	CHECK(call(gw, "GET", url, NULL, &reader) == 200 && json_integer_value(json_object_get(ans.json, "total")) == 1,
	      "found by a word of its text");
	CHECK(call(gw, "GET", "/api/v1/requests?per_page=1&page=1", NULL, &reader) == 200 &&
		      json_array_size(json_object_get(ans.json, "requests")) == 1 &&
		      json_integer_value(json_object_get(ans.json, "per_page")) == 1,
	      "paged");
	CHECK(call(gw, "GET", "/api/v1/requests?per_page=0", NULL, &reader) == 400 &&
		      call(gw, "GET", "/api/v1/requests?state=bogus", NULL, &reader) == 400 &&
		      call(gw, "GET", "/api/v1/requests?overdue=maybe", NULL, &reader) == 400,
	      "bad per_page, state, overdue: 400");
	CHECK(call(gw, "GET", "/api/v1/requests", NULL, NULL) == 401, "no token: 401");

	snprintf(url, sizeof(url), "/api/v1/requests/%s/assign", ref);
	CHECK(call(gw, "POST", url, "{\"number\": \"139 0013 9002\"}", &reader) == 403, "readonly may not assign");
	CHECK(call(gw, "POST", url, "{\"number\": \"139 0013 9002\"}", &staff) == 200 &&
		      !strcmp(jstr(ans.json, "assignee"), W2) && !strcmp(jstr(ans.json, "state"), "dispatched"),
	      "assigned to W2: %.160s", ans.body);
	CHECK(fake_take(W2, "改派", ref, NULL) != NULL, "W2 gets the dispatch SMS");
	CHECK(call(gw, "POST", url, "{\"number\": \"" UNKNOWN "\"}", &staff) == 400, "an unknown number: 400 (%s)",
	      ans.body);
	CHECK(call(gw, "POST", url, "{\"number\": 13900139001}", &staff) == 400, "a number as a JSON number: 400");
	CHECK(call(gw, "POST", url, "{\"number\": \"x'); DELETE FROM request;--\"}", &staff) == 400,
	      "SQL as a number: 400");
	CHECK(call(gw, "POST", url, "{\"number\": \"" W1 "\", \"extra\": 1}", &staff) == 400, "an unknown field: 400");
	CHECK(call(gw, "POST", url, "[1,2]", &staff) == 400, "not an object: 400");
	CHECK(call(gw, "POST", url, "{\"number\": ", &staff) == 400, "malformed JSON: 400");
	CHECK(call(gw, "POST", "/api/v1/requests/999999/assign", "{\"number\": \"" W1 "\"}", &staff) == 404,
	      "an unknown ref: 404");
	CHECK(call(gw, "POST", "/api/v1/requests/12ab56/assign", "{\"number\": \"" W1 "\"}", &staff) == 400,
	      "not a ref: 400");
	call(gw, "POST", url, "{\"number\": \"" W1 "\"}", &staff);
	CHECK(fake_take(W1, "改派", ref, NULL) != NULL, "back to W1");

	snprintf(url, sizeof(url), "/api/v1/requests/%s/note", ref);
	CHECK(call(gw, "POST", url, "{\"note\": \"居民下午在家\"}", &staff) == 200 &&
		      fake_take(W1, "备注", ref, "居民下午在家", NULL),
	      "a note: the assignee gets it by SMS");
	{
		char big[2200] = "{\"note\": \"";

		for (int i = 0; i < 501; i++)
			strcat(big, "灯");
		strcat(big, "\"}");
		CHECK(call(gw, "POST", url, big, &staff) == 400, "a note of 501 characters: 400");
	}
	CHECK(call(gw, "POST", url, "{\"note\": \"   \"}", &staff) == 400, "an empty note: 400");

	snprintf(url, sizeof(url), "/api/v1/requests/%s/extend", ref);
	CHECK(call(gw, "POST", url, "{\"days\": 2}", &staff) == 400, "an extension without a reason: 400");
	CHECK(call(gw, "POST", url, "{\"days\": 11, \"reason\": \"x\"}", &staff) == 400, "11 days: 400");
	CHECK(call(gw, "POST", url, "{\"days\": 2, \"deadline\": \"2026-03-01\", \"reason\": \"x\"}", &staff) == 400,
	      "days and a date: 400");
	CHECK(call(gw, "POST", url, "{\"deadline\": \"2025-12-01\", \"reason\": \"x\"}", &staff) == 400,
	      "a date in the past: 400 (%s)", ans.body);
	CHECK(call(gw, "POST", url, "{\"deadline\": \"2026-02-30\", \"reason\": \"x\"}", &staff) == 400,
	      "not a date: 400");
	/* the grid worker asked for it by SMS: the console sees the ask, and its extension approves it */
	{
		char t[64], code[8] = "";
		const struct fake_sms *m;
		json_t *x;

		snprintf(t, sizeof(t), "延期 %s 2 等待配件", ref);
		OSMO_ASSERT(fake_deliver(gw, W1, t) == 0);
		CHECK(fake_take(W1, "已提交", ref, NULL) != NULL, "W1's 延期 by SMS is an ask");
		m = fake_take(STAFF1, "延期申请", ref, NULL);
		if (m && strstr(m->text, "批准"))
			memcpy(code, strstr(m->text, "批准") + strlen("批准"), 4);
		code[4] = '\0';
		call(gw, "GET", (snprintf(t, sizeof(t), "/api/v1/requests/%s", ref), t), NULL, &reader);
		x = json_object_get(ans.json, "extension_asked");
		CHECK(json_is_object(x) && json_integer_value(json_object_get(x, "days")) == 2 &&
			      !strcmp(jstr(x, "reason"), "等待配件") && !strcmp(jstr(x, "asked_by"), W1),
		      "the request shows the waiting ask: %.400s", ans.body);
		CHECK(call(gw, "POST", url, "{\"days\": 2, \"reason\": \"等待配件\"}", &staff) == 200 &&
			      json_is_null(json_object_get(ans.json, "extension_asked")),
		      "the console's extension approves it (extension_asked null)");
		snprintf(t, sizeof(t), "批准 %s", code);
		OSMO_ASSERT(fake_deliver(gw, STAFF1, t) == 0);
		CHECK(fake_take(STAFF1, "无效", NULL) != NULL, "its code no longer approves anything");
	}
	CHECK(call(gw, "GET", (snprintf(url, sizeof(url), "/api/v1/requests/%s", ref), url), NULL, &reader) == 200 &&
		      !strcmp(jstr(ans.json, "state"), "extended") && !strcmp(jstr(ans.json, "state_label"), "已延期"),
	      "extended by 2 working days: %.120s", ans.body);
	snprintf(url, sizeof(url), "/api/v1/requests/%s/extend", ref);
	CHECK(fake_take(R1, "延期", ref, "等待配件", NULL) != NULL, "the resident is told, with the reason");
	CHECK(fake_take(W1, "延期", ref, NULL) != NULL, "and the assignee");
	CHECK(call(gw, "POST", url, "{\"deadline\": \"2026-01-20\", \"reason\": \"再等等\"}", &staff) == 200,
	      "extended again, to a date");
	{
		char t[64];

		snprintf(t, sizeof(t), "CZ %s 已订灯管", ref);
		OSMO_ASSERT(fake_deliver(gw, W1, t) == 0);
	}
	CHECK(call(gw, "GET", (snprintf(url, sizeof(url), "/api/v1/requests/%s", ref), url), NULL, &reader) == 200 &&
		      !strcmp(jstr(ans.json, "state"), "in_progress"),
	      "the grid worker's 处置 by SMS works on an extended request");

	snprintf(url, sizeof(url), "/api/v1/requests/%s/close", ref);
	CHECK(call(gw, "POST", url, "{\"result\": \"已更换灯管\"}", &staff) == 200 &&
		      !strcmp(jstr(ans.json, "state"), "closed"),
	      "closed");
	CHECK(fake_take(R1, "已办结", ref, "已更换灯管", "回复1满意", NULL) != NULL,
	      "the resident gets the result and the rating prompt");
	CHECK(call(gw, "POST", url, "{\"result\": \"again\"}", &staff) == 409, "closing it again: 409 (%s)", ans.body);
	snprintf(url, sizeof(url), "/api/v1/requests/%s/extend", ref);
	CHECK(call(gw, "POST", url, "{\"days\": 1, \"reason\": \"x\"}", &staff) == 409, "extending a closed one: 409");

	snprintf(url, sizeof(url), "/api/v1/requests/%s/reopen", ref);
	CHECK(call(gw, "POST", url, "{}", &staff) == 400, "reopen without a reason: 400");
	CHECK(call(gw, "POST", url, "{\"reason\": \"居民反映灯又坏了\"}", &staff) == 200 &&
		      !strcmp(jstr(ans.json, "state"), "dispatched") && !strcmp(jstr(ans.json, "assignee"), W1),
	      "reopened and dispatched again to W1: %.120s", ans.body);
	CHECK(fake_take(W1, "重办", ref, NULL) && fake_take(R1, "重新办理", ref, "灯又坏了", NULL),
	      "W1 gets the job again, the resident is told");
	CHECK(call(gw, "POST", url, "{\"reason\": \"x\"}", &staff) == 409, "reopening an open one: 409");

	snprintf(url, sizeof(url), "/api/v1/requests/%s", ref);
	CHECK(call(gw, "GET", url, NULL, &reader) == 200, "shown with its events");
	{
		json_t *ev = json_object_get(ans.json, "events");
		unsigned named = 0, kinds = 0;
		size_t i;
		json_t *x;

		json_array_foreach(ev, i, x)
		{
			named += !strcmp(jstr(x, "actor"), staff.actor);
			kinds |= !strcmp(jstr(x, "to"), "extended") << 0 | !strcmp(jstr(x, "to"), "closed") << 1 |
				 !strcmp(jstr(x, "to"), "reopened") << 2 | (jstr(x, "note")[0] != 0) << 3;
		}
		CHECK(named >= 7 && kinds == 15, "the history names the staff member in %u events: %.300s", named,
		      ans.body);
	}
	CHECK(call(gw, "GET", "/api/v1/requests/000000", NULL, &reader) == 404, "an unknown ref: 404");

	printf("-- nothing changed by refused input\n");
	before = count_requests(dbc, ctx);
	snprintf(url, sizeof(url), "/api/v1/requests/%s/note", ref);
	call(gw, "POST", url, "{\"note\": 5}", &staff);
	CHECK(ans.status == 400, "a note that is a number: 400");
	{
		struct db_request_event *ev;
		struct db_request q;
		int n;

		db_request_get(dbc, ctx, ref, 0, &q);
		n = db_request_events(dbc, ctx, q.id, &ev);
		CHECK(call(gw, "POST", url, "{\"note\": \"'); DELETE FROM request_event; --\"}", &staff) == 200,
		      "SQL in a note is a note");
		CHECK(db_request_events(dbc, ctx, q.id, &ev) == n + 1 &&
			      !strcmp(ev[n].note, "'); DELETE FROM request_event; --"),
		      "kept verbatim, nothing deleted");
	}
	CHECK(count_requests(dbc, ctx) == before, "as many requests as before (%d)", before);

	printf("-- registrations and points\n");
	OSMO_ASSERT(fake_deliver(gw, UNKNOWN, "注册 张三 1-1-101") == 0);
	CHECK(call(gw, "GET", "/api/v1/registrations", NULL, &reader) == 200 &&
		      !strcmp(jstr(json_array_get(json_object_get(ans.json, "registrations"), 0), "number"), UNKNOWN) &&
		      !strcmp(jstr(json_array_get(json_object_get(ans.json, "registrations"), 0), "household_match"),
			      "1-1-101"),
	      "a pending registration, matched: %.200s", ans.body);
	CHECK(call(gw, "POST", "/api/v1/registrations/+8613700000009/approve", NULL, &staff) == 404,
	      "approving a number without a registration: 404");
	CHECK(call(gw, "POST", "/api/v1/registrations/" UNKNOWN "/approve", "{\"household\": \"9-9-999\"}", &staff) ==
		      400,
	      "approving into an unknown household: 400 (%s)", ans.body);
	CHECK(call(gw, "POST", "/api/v1/registrations/%2B8613700000001/approve", NULL, &staff) == 200 &&
		      !strcmp(jstr(ans.json, "state"), "approved"),
	      "approved: %.160s", ans.body);
	CHECK(fake_take(UNKNOWN, "注册已通过", NULL) != NULL, "the person is told");
	CHECK(call(gw, "POST", "/api/v1/points/" R2, "{\"n\": 5, \"reason\": \"帮助邻居\"}", &staff) == 200 &&
		      json_integer_value(json_object_get(ans.json, "balance")) == 5 &&
		      !strcmp(jstr(json_array_get(json_object_get(ans.json, "entries"), 0), "actor"), staff.actor),
	      "points awarded, the staff member in the ledger: %.200s", ans.body);
	CHECK(fake_take(R2, "积分+5", NULL) != NULL, "and told by SMS");
	CHECK(call(gw, "POST", "/api/v1/points/" R2, "{\"n\": 0, \"reason\": \"x\"}", &staff) == 400 &&
		      call(gw, "POST", "/api/v1/points/" R2, "{\"n\": 1.5, \"reason\": \"x\"}", &staff) == 400 &&
		      call(gw, "GET", "/api/v1/points/ChinaMobile", NULL, &reader) == 400 &&
		      call(gw, "GET", "/api/v1/points/+8613700000002", NULL, &reader) == 404,
	      "0 or 1.5 points, a bad number, an unknown phone: 400, 400, 400, 404");

	printf("-- Open311\n");
	CHECK(call(gw, "GET", "/open311/v2/services.json", NULL, NULL) == 200 && json_array_size(ans.json) >= 3 &&
		      !strcmp(jstr(json_array_get(ans.json, 0), "service_code"), "request"),
	      "services.json is public: %.120s", ans.body);
	CHECK(call(gw, "GET", "/open311/v2/services/facility.json", NULL, NULL) == 200 &&
		      !strcmp(jstr(ans.json, "service_code"), "facility"),
	      "a service's definition");
	CHECK(call(gw, "GET", "/open311/v2/services/nothing.json", NULL, NULL) == 404 &&
		      json_integer_value(json_object_get(json_array_get(ans.json, 0), "code")) == 404,
	      "an unknown service: 404 in Open311's form: %s", ans.body);
	CHECK(call(gw, "GET", "/open311/v2/services.xml", NULL, NULL) == 400, "XML: 400");
	before = count_requests(dbc, ctx);
	CHECK(form(gw, "/open311/v2/requests.json", "service_code=facility&description=x&lat=30&long=120", NULL) == 401,
	      "POST without a key: 401 (%s)", ans.body);
	CHECK(form(gw, "/open311/v2/requests.json", "service_code=facility&description=x&lat=30&long=120", &reader) ==
		      403,
	      "POST with a read-only key: 403");
	CHECK(form(gw, "/open311/v2/requests.json", "service_code=nosuch&description=x&lat=30&long=120", &staff) == 400,
	      "an unknown service_code: 400");
	CHECK(form(gw, "/open311/v2/requests.json", "service_code=facility&description=x&lat=91&long=120", &staff) ==
		      400,
	      "lat 91: 400");
	CHECK(form(gw, "/open311/v2/requests.json", "service_code=facility&description=x", &staff) == 400,
	      "no location: 400");
	CHECK(form(gw, "/open311/v2/requests.json",
		   "service_code=facility%27%3B+DROP+TABLE+request%3B--&description=x&lat=30&long=120", &staff) == 400,
	      "SQL in service_code: 400");
	CHECK(call(gw, "POST", "/open311/v2/requests.json", "{\"service_code\": \"facility\", \"lat\": [1]}", &staff) ==
		      400,
	      "lat as a list: 400");
	CHECK(count_requests(dbc, ctx) == before, "nothing filed by refused posts");
	CHECK(form(gw, "/open311/v2/requests.json",
		   "api_key=x&service_code=facility&description=2%E5%B9%A2%E9%97%A8%E7%A6%81%E5%9D%8F%E4%BA%86%EF%BC%8C"
		   "%E7%94%B5%E8%AF%9D13800138002&phone=13800138002&lat=30.25&long=120.16&address_string=2%E5%B9%A2",
		   &staff) == 201,
	      "filed with the phone of a known resident: %.200s", ans.body);
	ref_of(jstr(json_array_get(ans.json, 0), "service_request_id"), ref2);
	CHECK(ref2[0] && json_is_null(json_object_get(json_array_get(ans.json, 0), "account_id")), "its id %s", ref2);
	CHECK(fake_take(W1, "派单", ref2, "2幢门禁坏了", NULL) != NULL, "the grid worker gets the dispatch SMS");
	CHECK(fake_take(R2, "已受理", ref2, NULL) != NULL, "the resident gets the reference like a 报事");
	snprintf(url, sizeof(url), "/open311/v2/requests/%s.json", ref2);
	CHECK(call(gw, "GET", url, NULL, NULL) == 200, "read back in public");
	j = json_array_get(ans.json, 0);
	CHECK(!strcmp(jstr(j, "status"), "open") && !strcmp(jstr(j, "status_notes"), "已派单") &&
		      !strcmp(jstr(j, "service_code"), "facility") &&
		      json_real_value(json_object_get(j, "lat")) == 30.25,
	      "open, 已派单, facility, lat kept: %.300s", ans.body);
	CHECK(!strstr(ans.body, "13800138002") && !strstr(ans.body, "吕永福") && !strstr(ans.body, "1幢1单元102"),
	      "no phone number, name or household address in the public answer");
	CHECK(call(gw, "GET", "/open311/v2/requests/999999.json", NULL, NULL) == 404, "an unknown id: 404");
	CHECK(call(gw, "GET", "/open311/v2/requests/999999.xml", NULL, NULL) == 400, "XML: 400");
	snprintf(url, sizeof(url), "/open311/v2/requests.json?service_request_id=%s,%s", ref2, ref);
	CHECK(call(gw, "GET", url, NULL, NULL) == 200 && json_array_size(ans.json) == 2, "two by id: %.100s", ans.body);
	CHECK(call(gw, "GET", "/open311/v2/requests.json?service_code=facility&status=open", NULL, NULL) == 200 &&
		      json_array_size(ans.json) == 1,
	      "by service_code and status");
	CHECK(call(gw, "GET", "/open311/v2/requests.json?status=closed", NULL, NULL) == 200 &&
		      json_array_size(ans.json) == 0,
	      "none closed");
	CHECK(call(gw, "GET", "/open311/v2/requests.json?start_date=2025-12-31T00:00:00Z&end_date=2026-01-31", NULL,
		   NULL) == 200 &&
		      json_array_size(ans.json) >= 2,
	      "by dates");
	CHECK(call(gw, "GET", "/open311/v2/requests.json?start_date=soon", NULL, NULL) == 400 &&
		      call(gw, "GET", "/open311/v2/requests.json?start_date=2026-02-01&end_date=2026-01-01", NULL,
			   NULL) == 400 &&
		      call(gw, "GET", "/open311/v2/requests.json?service_code=x%27--", NULL, NULL) == 400 &&
		      call(gw, "GET", "/open311/v2/requests.json?status=pending", NULL, NULL) == 400 &&
		      call(gw, "GET", "/open311/v2/requests.json?service_request_id=1%27%20OR%201=1", NULL, NULL) ==
			      400,
	      "bad dates, reversed dates, a bad service_code, status, ids: 400");

	printf("-- metrics\n");
	fake_http_metrics(gw, metrics, sizeof(metrics));
	CHECK(strstr(metrics, "linli_requests_open{state=\"dispatched\"} 2") &&
		      strstr(metrics, "linli_requests_open{state=\"extended\"} 0") &&
		      strstr(metrics, "linli_requests_overdue 0") && strstr(metrics, "linli_errands_open 0"),
	      "open by state, overdue, errands:\n%s", metrics);

	json_decref(ans.json);
	db_close(dbc);
	test_db_remove(path);
	talloc_free(ctx);
	return failures ? 1 : 0;
}
