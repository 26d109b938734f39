/* Open311 GeoReport v2 (wiki.open311.org/GeoReport_v2; ../shared/DOMAIN.md "Requests") under
 * /open311/v2/: the district's 12345 platform and other systems file requests into linli and
 * follow them. A request filed here enters the same lifecycle as a 报事 by SMS (rq_report:
 * reference, deadline, dispatch to the grid worker or the duty staff); its phone, when it is a
 * phone of the database, is the reporter and gets the SMS a reporter gets.
 *
 * The reads are public and carry no personal data: no numbers or names of anyone (long digit
 * runs in the description are masked), no household address (only the address_string a
 * submitter gave), and errands (跑腿, a household's own business) are not listed. JSON only: a
 * .xml path is answered 400. Errors are Open311's: [{"code": 400, "description": "..."}] with
 * that HTTP status. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <osmocom/core/logging.h>
#include <osmocom/core/talloc.h>
#include <osmocom/core/utils.h>

#include "db/db.h"
#include "gateway/core/gw.h"
#include "gateway/core/http.h"
#include "gateway/core/outbox.h"
#include "gateway/request/request.h"
#include "gateway/request/request_priv.h"

#define DESCRIPTION_MAX 1000 /* characters */
#define LIST_MAX	1000 /* requests in one answer (the spec's suggested limit) */
#define LIST_DAYS	90   /* without dates or ids: the last 90 days (the spec's default) */
#define IDS_MAX		100  /* service_request_id values in one query */

/* The services: kinds of 报事, all handled alike (they differ only in how they are filed). */
static const struct o311_service {
	const char *code, *name, *description, *keywords;
} services[] = {
	{"request", "报事（综合）", "社区事务报事：不属于以下类别的问题", "报事,综合"},
	{"facility", "公共设施报修", "路灯、电梯、门禁、水电、道路等公共设施损坏", "路灯,电梯,门禁,水电,报修"},
	{"environment", "环境卫生", "垃圾清运、绿化、楼道卫生、噪声", "垃圾,绿化,卫生,噪声"},
	{"safety", "安全隐患", "消防通道堵塞、高空坠物、燃气异味等隐患（紧急情况请拨打110/119）", "消防,隐患,燃气"},
	{"neighbour", "邻里纠纷", "邻里矛盾调解", "邻里,纠纷,调解"},
};

static const struct o311_service *service_find(const char *code)
{
	for (unsigned i = 0; code && i < ARRAY_SIZE(services); i++)
		if (!strcmp(code, services[i].code))
			return &services[i];
	return NULL;
}

/* Answer an Open311 error: [{"code": status, "description": ...}] with that status. */
static int o311_error(struct gw_http_out *o, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int o311_error(struct gw_http_out *o, unsigned status, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return gw_http_json(o, status, json_pack("[{s:i, s:s}]", "code", (int)status, "description", buf));
}

/* The format of a path's last segment: 0 ".json" (cut off in place), -1 answered (".xml": not
 * served; anything else: 404). */
static int format_of(struct gw_http_out *o, char *seg)
{
	size_t n = strlen(seg);

	if (n > 5 && !strcmp(seg + n - 5, ".json")) {
		seg[n - 5] = '\0';
		return 0;
	}
	if (n > 4 && !strcmp(seg + n - 4, ".xml"))
		return o311_error(o, 400, "only JSON is served: ask for .json"), -1;
	return o311_error(o, 404, "no such resource: paths end in .json"), -1;
}

/* ---- services ---- */

static json_t *service_json(const struct o311_service *s)
{
	json_t *kw = json_array();
	char buf[128], *save = NULL;

	OSMO_STRLCPY_ARRAY(buf, s->keywords);
	for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save))
		json_array_append_new(kw, json_string(w));
	return json_pack("{s:s, s:s, s:s, s:b, s:s, s:o, s:s}", "service_code", s->code, "service_name", s->name,
			 "description", s->description, "metadata", 0, "type", "realtime", "keywords", kw, "group",
			 "报事");
}

static int services_list(struct gw *gw, struct gw_http_req *r, struct gw_http_out *o, void *data)
{
	json_t *list = json_array();

	(void)gw;
	(void)r;
	if (data) { /* services.xml */
		json_decref(list);
		return o311_error(o, 400, "only JSON is served: ask for services.json");
	}
	for (unsigned i = 0; i < ARRAY_SIZE(services); i++)
		json_array_append_new(list, service_json(&services[i]));
	return gw_http_json(o, 200, list);
}

static int service_show(struct gw *gw, struct gw_http_req *r, struct gw_http_out *o, void *data)
{
	const struct o311_service *s;
	char code[64];

	(void)gw;
	(void)data;
	if (!r->nparam || strlen(r->param[0]) >= sizeof(code))
		return o311_error(o, 404, "no such service");
	OSMO_STRLCPY_ARRAY(code, r->param[0]);
	if (format_of(o, code) < 0)
		return 0;
	if (!(s = service_find(code)))
		return o311_error(o, 404, "no service \"%s\" (GET services.json lists them)", code);
	/* metadata false: no attributes to fill in, the definition is the code alone */
	return gw_http_json(o, 200, json_pack("{s:s, s:[]}", "service_code", s->code, "attributes"));
}

/* ---- requests ---- */

/* The description for the public: runs of 7 or more digits (a phone number) masked. */
static char *public_text(void *ctx, const char *text)
{
	char *s = talloc_strdup(ctx, text ? text : "");

	for (char *p = s; s && *p;) {
		size_t n = strspn(p, "0123456789");

		if (n >= 7)
			memset(p, '*', n);
		p += n ? n : 1;
	}
	return s;
}

static json_t *request_json(void *ctx, const struct db_request *q)
{
	const struct o311_service *s = service_find(q->service[0] ? q->service : "request");
	char notes[64];

	snprintf(notes, sizeof(notes), "%s%s", rq_state_label(q->state, "zh-CN"),
		 db_request_state_open(q->state) && (q->flags & DB_REQ_OVERDUE) ? "（超时）" : "");
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:n, s:o, s:o, s:o, s:o, s:n, s:o, s:o, s:n}",
			 "service_request_id", q->ref, "status", rq_open311_status(q->state), "status_notes", notes,
			 "service_name", s ? s->name : q->service, "service_code", s ? s->code : q->service,
			 "description", public_text(ctx, q->text), "agency_responsible", q->grid[0] ? q->grid : "社区",
			 "service_notice", "requested_datetime", gw_http_time(q->created), "updated_datetime",
			 gw_http_time(q->updated), "expected_datetime", gw_http_time(q->deadline), "address",
			 q->place[0] ? json_string(q->place) : json_null(), "address_id", "lat",
			 q->has_pos ? json_real(q->lat) : json_null(), "long",
			 q->has_pos ? json_real(q->lon) : json_null(), "media_url");
}

/* Every ref of a comma list is 6 digits (and there are at most IDS_MAX). */
static bool refs_ok(const char *s)
{
	unsigned n = 0;

	for (const char *p = s;; p += 7) {
		if (strspn(p, "0123456789") != 6 || (p[6] != ',' && p[6] != '\0') || ++n > IDS_MAX)
			return false;
		if (!p[6])
			return true;
	}
}

static int requests_list(struct gw *gw, struct gw_http_req *r, struct gw_http_out *o, void *data)
{
	const char *ids = gw_http_arg(r, "service_request_id"), *code = gw_http_arg(r, "service_code");
	const char *start = gw_http_arg(r, "start_date"), *end = gw_http_arg(r, "end_date");
	const char *status = gw_http_arg(r, "status");
	struct db_request_filter f = {.kind = "request", .limit = LIST_MAX, .now = gw_now()};
	struct db_request *rows;
	time_t t;
	void *tmp;
	json_t *list;
	int n;

	if (data)
		return o311_error(o, 400, "only JSON is served: ask for requests.json");
	if (ids && ids[0]) {
		if (!refs_ok(ids))
			return o311_error(o, 400, "service_request_id is a comma list of at most %d ids of 6 digits",
					  IDS_MAX);
		f.refs = ids;
	}
	if (code && code[0]) {
		if (!service_find(code))
			return o311_error(o, 400, "unknown service_code (GET services.json lists them)");
		f.service = code;
	}
	if (start && start[0]) {
		if (rq_iso_parse(start, &t) < 0)
			return o311_error(o, 400, "start_date is not an ISO 8601 date or time");
		f.since = t;
	}
	if (end && end[0]) {
		if (rq_iso_parse(end, &t) < 0)
			return o311_error(o, 400, "end_date is not an ISO 8601 date or time");
		f.until = t;
	}
	if (f.since && f.until && f.since > f.until)
		return o311_error(o, 400, "start_date is after end_date");
	if (status && status[0]) {
		bool op = false, cl = false;
		char buf[32], *save = NULL;

		if (strlen(status) >= sizeof(buf))
			return o311_error(o, 400, "status is open, closed or both (comma-separated)");
		OSMO_STRLCPY_ARRAY(buf, status);
		for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
			if (!strcmp(w, "open"))
				op = true;
			else if (!strcmp(w, "closed"))
				cl = true;
			else
				return o311_error(o, 400, "status is open, closed or both (comma-separated)");
		}
		f.open = op && !cl ? 1 : cl && !op ? 2 : 0;
	}
	if (!f.refs && !f.since && !f.until)
		f.since = f.now - LIST_DAYS * 86400;
	tmp = talloc_new(gw);
	n = db_request_query(gw->db, tmp, &f, &rows, NULL);
	if (n < 0) {
		talloc_free(tmp);
		return n;
	}
	list = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(list, request_json(tmp, &rows[i]));
	talloc_free(tmp);
	return gw_http_json(o, 200, list);
}

static int request_show(struct gw *gw, struct gw_http_req *r, struct gw_http_out *o, void *data)
{
	struct db_request q;
	char id[32];
	void *tmp;
	int rc;

	(void)data;
	if (!r->nparam || strlen(r->param[0]) >= sizeof(id))
		return o311_error(o, 404, "no such service request");
	OSMO_STRLCPY_ARRAY(id, r->param[0]);
	if (format_of(o, id) < 0)
		return 0;
	if (strlen(id) != 6 || strspn(id, "0123456789") != 6)
		return o311_error(o, 404, "no service request %s", id);
	tmp = talloc_new(gw);
	rc = db_request_get(gw->db, tmp, id, 0, &q);
	if (rc == 0 && strcmp(q.kind, "request"))
		rc = -ENOENT; /* errands are not Open311's */
	if (rc == 0)
		gw_http_json(o, 200, json_pack("[o]", request_json(tmp, &q)));
	else if (rc == -ENOENT)
		o311_error(o, 404, "no service request %s", id);
	talloc_free(tmp);
	return rc == -ENOENT ? 0 : rc;
}

/* A field of the POST: a member of a JSON object body (a string, or with buf a number written
 * into it), else the form's or the query's argument. NULL when absent; *bad when it has another
 * type. */
static const char *post_field(struct gw_http_req *r, const char *name, char *buf, size_t len, bool *bad)
{
	json_t *v;

	if (!r->json)
		return gw_http_arg(r, name);
	v = json_object_get(r->json, name);
	if (!v || json_is_null(v))
		return NULL;
	if (json_is_string(v))
		return json_string_value(v);
	if (buf && json_is_number(v)) {
		snprintf(buf, len, "%.10g", json_number_value(v));
		return buf;
	}
	*bad = true;
	return NULL;
}

static bool coord(const char *s, double max, double *out)
{
	char *end;

	if (!s || !s[0])
		return false;
	*out = strtod(s, &end);
	return !*end && isfinite(*out) && fabs(*out) <= max;
}

static size_t chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

struct post {
	struct rq_report_in in;
	struct db_request out;
};

static int do_report(struct gw *gw, struct gw_http_req *r, struct post *p, char *err, size_t errlen)
{
	void *tmp = talloc_new(gw);
	struct rq_env e;
	int rc;

	gw_request_env(gw, &e, tmp, gw_now());
	rc = db_begin(gw->db);
	if (rc == 0)
		rc = rq_report(&e, &p->in, r->staff->actor, &p->out, err, errlen);
	if (rc == 0)
		rc = db_commit(gw->db);
	else
		db_rollback(gw->db);
	if (rc == 0) {
		/* the strings of out live in tmp: only the fixed fields are used below */
		p->out.text = NULL;
		gw_outbox_kick(gw);
	}
	talloc_free(tmp);
	return rc;
}

static int request_post(struct gw *gw, struct gw_http_req *r, struct gw_http_out *o, void *data)
{
	char b2[32], b3[32], err[256] = "", date[32], notice[96];
	const struct o311_service *s;
	const char *code, *desc, *lat, *lon, *addr, *phone;
	struct post p = {.in = {.source = "open311"}};
	bool bad = false;
	int rc;

	if (data)
		return o311_error(o, 400, "only JSON is served: post to requests.json");
	if (!r->staff)
		return o311_error(o, 401, "an api_key (a staff token) is required to file a request");
	if (r->staff->role < GW_ROLE_STAFF)
		return o311_error(o, 403, "this api_key may only read");
	if (r->body && r->body_len && !r->json && strcmp(r->content_type, "application/x-www-form-urlencoded"))
		return o311_error(o, 400, "send the fields form-urlencoded or as a JSON object");
	if (r->json && !json_is_object(r->json))
		return o311_error(o, 400, "the JSON body must be an object");
	code = post_field(r, "service_code", NULL, 0, &bad);
	desc = post_field(r, "description", NULL, 0, &bad);
	addr = post_field(r, "address_string", NULL, 0, &bad);
	phone = post_field(r, "phone", NULL, 0, &bad);
	lat = post_field(r, "lat", b2, sizeof(b2), &bad);
	lon = post_field(r, "long", b3, sizeof(b3), &bad);
	if (bad)
		return o311_error(o, 400,
				  "service_code, description, address_string and phone are strings; lat "
				  "and long numbers");
	if (!code || !code[0])
		return o311_error(o, 400, "service_code is required");
	if (!(s = service_find(code)))
		return o311_error(o, 400, "unknown service_code (GET services.json lists them)");
	if (desc && chars(desc) > DESCRIPTION_MAX)
		return o311_error(o, 400, "description is longer than %d characters", DESCRIPTION_MAX);
	if (addr && strlen(addr) >= sizeof(p.out.place))
		return o311_error(o, 400, "address_string is longer than %zu bytes", sizeof(p.out.place) - 1);
	if ((lat && lat[0]) || (lon && lon[0])) {
		if (!coord(lat, 90, &p.in.lat) || !coord(lon, 180, &p.in.lon))
			return o311_error(o, 400, "lat and long are WGS-84 degrees, both of them");
		p.in.has_pos = true;
	}
	if (!p.in.has_pos && !(addr && addr[0]) && !(phone && phone[0]))
		return o311_error(o, 400,
				  "a location is required: lat and long, or address_string (or the phone "
				  "of a registered household)");
	if (phone && chars(phone) > 31)
		return o311_error(o, 400, "phone is not a phone number");
	p.in.text = desc && desc[strspn(desc, " \t\r\n")] ? desc : s->name;
	p.in.service = strcmp(s->code, "request") ? s->code : NULL;
	p.in.place = addr && addr[0] ? addr : NULL;
	p.in.phone = phone;
	rc = do_report(gw, r, &p, err, sizeof(err));
	if (rc == -EINVAL)
		return o311_error(o, 400, "%s", err);
	if (rc < 0)
		return rc;
	rq_date(p.out.deadline, "zh-CN", date, sizeof(date));
	snprintf(notice, sizeof(notice), "已受理，预计%s前办结", date);
	return gw_http_json(o, 201,
			    json_pack("[{s:s, s:s, s:n}]", "service_request_id", p.out.ref, "service_notice", notice,
				      "account_id"));
}

int rq_open311_init(struct gw *gw)
{
	/* data 1: the .xml twin of a literal path */
	static const struct gw_http_route_def routes[] = {
		{"GET", "/open311/v2/services.json", GW_ROLE_PUBLIC, services_list, 0},
		{"GET", "/open311/v2/services.xml", GW_ROLE_PUBLIC, services_list, 1},
		{"GET", "/open311/v2/services/{code}", GW_ROLE_PUBLIC, service_show, 0},
		{"GET", "/open311/v2/requests.json", GW_ROLE_PUBLIC, requests_list, 0},
		{"GET", "/open311/v2/requests.xml", GW_ROLE_PUBLIC, requests_list, 1},
		/* public for the core, so that a missing or read-only key is answered in Open311's form */
		{"POST", "/open311/v2/requests.json", GW_ROLE_PUBLIC, request_post, 0},
		{"POST", "/open311/v2/requests.xml", GW_ROLE_PUBLIC, request_post, 1},
		{"GET", "/open311/v2/requests/{id}", GW_ROLE_PUBLIC, request_show, 0},
	};
	(void)gw;
	return gw_http_routes(routes, ARRAY_SIZE(routes));
}
