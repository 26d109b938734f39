/* The staff console's core without sockets: route patterns and matching (literal beats {x},
 * ".json", 404/405 with Allow, HEAD as GET), roles, the metric label escaping and the
 * exposition text, and the tokens of db/db_token.c. */
#include <stdio.h>
#include <string.h>

#include <talloc.h>

#include "db/db.h"
#include "gateway/core/gw.h"
#include "gateway/core/http.h"
#include "gateway/core/http_priv.h"
#include "tests/unit/testlib.h"

static int fn_a(struct gw *gw, struct gw_http_req *r, struct gw_http_out *o, void *data)
{
	(void)gw, (void)r, (void)o, (void)data;
	return 0;
}

/* The index of the route that matches, or its error, with the params joined by '|'. */
static int match(const char *method, const char *path, char *params, size_t len, char *allow, size_t alen)
{
	const char *param[GW_HTTP_MAX_PARAM];
	char buf[256];
	unsigned n;
	int idx;

	idx = gw_http_match(method, path, buf, sizeof(buf), param, &n, allow, alen);
	params[0] = '\0';
	for (unsigned i = 0; idx >= 0 && i < n; i++)
		snprintf(params + strlen(params), len - strlen(params), "%s%s", i ? "|" : "", param[i]);
	return idx;
}

static void test_routes(void)
{
	char p[128], allow[128];
	int idx;

	CHECK(gw_http_route("GET", "/api/v1/requests", GW_ROLE_READONLY, fn_a, NULL) == 0, "route 0: list");
	CHECK(gw_http_route("GET", "/api/v1/requests/{ref}", GW_ROLE_READONLY, fn_a, NULL) == 0, "route 1: one");
	CHECK(gw_http_route("POST", "/api/v1/requests/{ref}/assign", GW_ROLE_STAFF, fn_a, NULL) == 0, "route 2");
	CHECK(gw_http_route("GET", "/api/v1/requests/overdue", GW_ROLE_READONLY, fn_a, NULL) == 0, "route 3: literal");
	CHECK(gw_http_route("GET", "/open311/v2/requests/{id}.json", GW_ROLE_PUBLIC, fn_a, NULL) == 0,
	      "route 4: .json");
	CHECK(gw_http_route("GET", "/open311/v2/requests.json", GW_ROLE_PUBLIC, fn_a, NULL) == 0, "route 5");
	CHECK(gw_http_route("POST", "/open311/v2/requests.json", GW_ROLE_STAFF, fn_a, NULL) == 0, "route 6: POST");
	CHECK(gw_http_route("PATCH", "/api/v1/{a}/{b}/{c}/{d}", GW_ROLE_STAFF, fn_a, NULL) == 0, "route 7: four {x}");

	CHECK(gw_http_route("GET", "api/v1/x", GW_ROLE_READONLY, fn_a, NULL) == -EINVAL, "a pattern starts with /");
	CHECK(gw_http_route("GET", "/a/{x", GW_ROLE_READONLY, fn_a, NULL) == -EINVAL, "an unclosed {");
	CHECK(gw_http_route("GET", "/a/b{x}", GW_ROLE_READONLY, fn_a, NULL) == -EINVAL, "{ inside a literal");
	CHECK(gw_http_route("GET", "/a/{x}.json/b", GW_ROLE_READONLY, fn_a, NULL) == -EINVAL, ".json only at the end");
	CHECK(gw_http_route("GET", "/{a}/{b}/{c}/{d}/{e}", GW_ROLE_READONLY, fn_a, NULL) == -EINVAL,
	      "more than GW_HTTP_MAX_PARAM {x}");
	CHECK(gw_http_route("GET", "/a", GW_ROLE_READONLY, NULL, NULL) == -EINVAL, "no handler");

	idx = match("GET", "/api/v1/requests", p, sizeof(p), allow, sizeof(allow));
	CHECK(idx == 0 && !p[0], "GET /api/v1/requests -> route %d", idx);
	idx = match("GET", "/api/v1/requests/123456", p, sizeof(p), allow, sizeof(allow));
	CHECK(idx == 1 && !strcmp(p, "123456"), "GET /api/v1/requests/123456 -> route %d (%s)", idx, p);
	idx = match("GET", "/api/v1/requests/overdue", p, sizeof(p), allow, sizeof(allow));
	CHECK(idx == 3, "the literal segment wins over {ref}: route %d", idx);
	idx = match("HEAD", "/api/v1/requests/7", p, sizeof(p), allow, sizeof(allow));
	CHECK(idx == 1, "HEAD is looked up as GET: route %d", idx);
	idx = match("POST", "/api/v1/requests/654321/assign", p, sizeof(p), allow, sizeof(allow));
	CHECK(idx == 2 && !strcmp(p, "654321"), "POST .../assign -> route %d (%s)", idx, p);
	idx = match("GET", "/api/v1/requests/654321/assign", p, sizeof(p), allow, sizeof(allow));
	CHECK(idx == -EPERM && !strcmp(allow, "POST"), "GET on a POST route: -EPERM, Allow: %s", allow);
	idx = match("DELETE", "/open311/v2/requests.json", p, sizeof(p), allow, sizeof(allow));
	CHECK(idx == -EPERM && !strcmp(allow, "GET, HEAD, POST"), "Allow lists GET with HEAD: %s", allow);
	idx = match("GET", "/open311/v2/requests/42.json", p, sizeof(p), allow, sizeof(allow));
	CHECK(idx == 4 && !strcmp(p, "42"), "{id}.json: route %d, id %s", idx, p);
	idx = match("GET", "/open311/v2/requests/42", p, sizeof(p), allow, sizeof(allow));
	CHECK(idx == -ENOENT, "{id}.json needs the .json: %d", idx);
	idx = match("GET", "/open311/v2/requests/.json", p, sizeof(p), allow, sizeof(allow));
	CHECK(idx == -ENOENT, "{id}.json needs an id before .json: %d", idx);
	idx = match("GET", "/open311/v2/requests.json", p, sizeof(p), allow, sizeof(allow));
	CHECK(idx == 5, "requests.json is a literal: route %d", idx);
	idx = match("GET", "/api/v1/requests/", p, sizeof(p), allow, sizeof(allow));
	CHECK(idx == -ENOENT, "an empty segment matches no {ref}: %d", idx);
	idx = match("GET", "/api/v1//", p, sizeof(p), allow, sizeof(allow));
	CHECK(idx == -ENOENT, "// matches nothing: %d", idx);
	idx = match("PATCH", "/api/v1/w/x/y/z", p, sizeof(p), allow, sizeof(allow));
	CHECK(idx == 7 && !strcmp(p, "w|x|y|z"), "four {x} in order: %s", p);
	idx = match("GET", "/", p, sizeof(p), allow, sizeof(allow));
	CHECK(idx == -ENOENT, "/ is no route (the page's index.html): %d", idx);
	idx = match("GET", "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s", p, sizeof(p), allow, sizeof(allow));
	CHECK(idx == -ENOENT, "a path with many segments: %d", idx);

	CHECK(gw_http_route_role(2) == GW_ROLE_STAFF, "route 2 needs staff");
	gw_http_reset();
	idx = match("GET", "/api/v1/requests", p, sizeof(p), allow, sizeof(allow));
	CHECK(idx == -ENOENT, "after reset no route: %d", idx);
}

static void test_roles(void)
{
	CHECK(gw_role_parse("readonly") == GW_ROLE_READONLY && gw_role_parse("staff") == GW_ROLE_STAFF &&
		      gw_role_parse("operator") == GW_ROLE_OPERATOR,
	      "role names parse");
	CHECK(gw_role_parse("public") == -EINVAL && gw_role_parse("admin") == -EINVAL && gw_role_parse(NULL) == -EINVAL,
	      "public, admin and NULL are no token roles");
	CHECK(!strcmp(gw_role_name(GW_ROLE_STAFF), "staff") && !strcmp(gw_role_name(GW_ROLE_PUBLIC), "public"),
	      "role names");
	for (int have = GW_ROLE_PUBLIC; have <= GW_ROLE_OPERATOR; have++)
		for (int need = GW_ROLE_PUBLIC; need <= GW_ROLE_OPERATOR; need++)
			CHECK(gw_http_allowed(have, need) == (have >= need), "%s %s call a %s route",
			      gw_role_name(have), have >= need ? "may" : "may not", gw_role_name(need));
}

static void test_labels(void)
{
	char buf[64];

	CHECK(!strcmp(gw_metric_label("m1", buf, sizeof(buf)), "m1"), "a plain label");
	CHECK(!strcmp(gw_metric_label("a\\b\"c\nd", buf, sizeof(buf)), "a\\\\b\\\"c\\nd"), "\\, \" and newline: %s",
	      buf);
	CHECK(!strcmp(gw_metric_label("一号猫", buf, sizeof(buf)), "一号猫"), "UTF-8 as it is");
	CHECK(!strcmp(gw_metric_label("abc\"", buf, 5), "abc"), "an escape that does not fit is left out whole: %s",
	      buf);
	CHECK(!strcmp(gw_metric_label("a一", buf, 3), "a"), "a cut never splits a UTF-8 character: \"%s\"", buf);
	CHECK(!strcmp(gw_metric_label(NULL, buf, sizeof(buf)), ""), "NULL is empty");
}

static void writer(struct gw *gw, struct gw_metrics *m)
{
	char esc[32], lab[64];

	(void)gw;
	gw_metric_head(m, "linli_test_total", "counter", "A test\nwith a back\\slash");
	gw_metric_head(m, "linli_test_total", "counter", "written once");
	snprintf(lab, sizeof(lab), "modem=\"%s\"", gw_metric_label("x\"y", esc, sizeof(esc)));
	gw_metric(m, "linli_test_total", lab, 3);
	gw_metric(m, "linli_test_total", "", 0.25);
}

static void test_metrics(void *ctx, struct gw *gw)
{
	char *text;

	CHECK(gw_http_add_metrics(writer) == 0, "a feature's writer");
	text = gw_http_metrics_text(gw, ctx);
	CHECK(text && strstr(text, "# HELP linli_test_total A test\\nwith a back\\\\slash\n# TYPE linli_test_total "
				   "counter\nlinli_test_total{modem=\"x\\\"y\"} 3\nlinli_test_total 0.25\n"),
	      "the writer's text");
	CHECK(text && !strstr(text, "written once"), "HELP once per name");
	CHECK(text && strstr(text, "# TYPE linli_queue_depth gauge\nlinli_queue_depth{prio=\"sos\"} 0\n"),
	      "the core's queue depth");
	CHECK(text && strstr(text, "linli_sms_in_total 0\n"), "the core's counter");
	talloc_free(text);
}

static void test_tokens(struct db_context *dbc)
{
	const char *tok = "0123456789abcdef0123456789abcdef";
	struct db_token t, *list;
	char hex[65];
	int64_t id, id2;
	int n;

	CHECK(db_token_hash("abc", hex) == 0 &&
		      !strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
	      "SHA-256 of abc");
	CHECK(db_token_add(dbc, tok, "+8613900139102", "staff", "desk", 1000, &id) == 0, "a staff token");
	CHECK(db_token_add(dbc, tok, "+8613900139103", "staff", NULL, 1000, &id2) == -EEXIST, "the same token again");
	CHECK(db_token_add(dbc, "0123456789abcdefX", "+8613712345678", "staff", NULL, 1000, &id2) == -ENOENT,
	      "not for an unknown phone");
	CHECK(db_token_add(dbc, "0123456789abcdefY", "+8613900139103", "admin", NULL, 1000, &id2) == -EINVAL,
	      "not with an unknown role");
	CHECK(db_token_add(dbc, "short", "+8613900139103", "staff", NULL, 1000, &id2) == -EINVAL, "not a short token");
	CHECK(db_token_check(dbc, tok, 2000, &t) == 0 && t.id == id && !strcmp(t.number, "+8613900139102") &&
		      !strcmp(t.role, "staff") && !strcmp(t.name, "吴杰") && !strcmp(t.label, "desk"),
	      "the token checks out: %s %s %s", t.number, t.role, t.name);
	CHECK(db_token_check(dbc, "0123456789abcdef0123456789abcdeX", 2000, &t) == -ENOENT, "a wrong token");
	CHECK(db_token_valid(dbc, id, &t) == 0 && t.last_used_at == 2000, "valid by id, last used recorded");
	CHECK(db_token_revoke(dbc, id, 3000) == 0, "revoke");
	CHECK(db_token_revoke(dbc, id, 3000) == -ENOENT, "revoke twice: -ENOENT");
	CHECK(db_token_check(dbc, tok, 4000, &t) == -ENOENT && db_token_valid(dbc, id, &t) == -ENOENT,
	      "a revoked token is refused");
	n = db_token_list(dbc, dbc, &list);
	CHECK(n == 1 && list[0].revoked_at == 3000, "the list keeps the revoked token");
	talloc_free(list);
}

int main(void)
{
	void *ctx = talloc_named_const(NULL, 0, "http_test");
	struct gw *gw;
	char path[128];
	int rc;

	test_logging(ctx);
	test_routes();
	test_roles();
	test_labels();

	gw = gw_alloc(ctx);
	rc = test_sample_db(ctx, "http", path, sizeof(path), &gw->db);
	CHECK(rc == 0, "sample database: %d", rc);
	if (rc == 0) {
		test_metrics(ctx, gw);
		test_tokens(gw->db);
		db_close(gw->db);
		test_db_remove(path);
	}
	talloc_free(ctx);
	printf("%s\n", failures ? "FAILED" : "all passed");
	return failures ? 1 : 0;
}
