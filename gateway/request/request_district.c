/* The street office's view over its communities (issue 14), on every box of a district's
 * PostgreSQL database: read-only, with a street office's token (linlictl district token create),
 * scoped to the communities that token names. A community's own staff token is no street
 * office's: 403. On SQLite (one community per file) the routes answer 501.
 *
 *   GET /api/v1/district/summary     per community of the scope: requests, open, overdue
 *   GET /api/v1/district/requests    ?community=CODE &state=open|overdue &limit=N (1..500, 100)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gateway/core/gw.h"
#include "gateway/core/http.h"
#include "gateway/request/request_priv.h"

#define LIMIT_MAX 500

/* The scope of the caller's street office token, or NULL with the answer given. */
static const char *scope_of(struct gw *gw, const struct gw_http_req *r, struct gw_http_out *o, int *rc)
{
	if (!gw->cfg.community) {
		*rc = gw_http_error(o, 501,
				    "the district's view needs a community of a district's PostgreSQL database "
				    "(database postgresql://... and community CODE)");
		return NULL;
	}
	if (!r->district) {
		*rc = gw_http_error(o, r->staff ? 403 : 401,
				    "only a street office's token reads the district (linlictl district token create)");
		return NULL;
	}
	return r->district;
}

/* {"scope": scope, key: a}, or the database's failure rc (a freed). */
static int answer(struct gw_http_out *o, const char *scope, const char *key, json_t *a, int rc)
{
	if (rc >= 0)
		return gw_http_json(o, 200, json_pack("{s:s,s:o}", "scope", scope, key, a));
	json_decref(a);
	if (rc == -ENOTSUP)
		return gw_http_error(o, 501, "the district's view needs a district's PostgreSQL database");
	return gw_http_error(o, 503, "the district's requests could not be read now: %s", strerror(-rc));
}

static void summary_row(const char *community, int64_t total, int64_t open, int64_t overdue, void *data)
{
	json_array_append_new(data,
			      json_pack("{s:s,s:I,s:I,s:I}", "community", community, "requests", (json_int_t)total,
					"open", (json_int_t)open, "overdue", (json_int_t)overdue));
}

static int district_summary(struct gw *gw, struct gw_http_req *r, struct gw_http_out *o, void *data)
{
	const char *scope;
	json_t *a;
	int rc = 0;

	(void)data;
	if (!(scope = scope_of(gw, r, o, &rc)))
		return rc;
	a = json_array();
	return answer(o, scope, "communities", a, db_district_summary(gw->db, scope, gw_now(), summary_row, a));
}

static void request_row(const struct db_district_request *q, void *data)
{
	json_array_append_new(data, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:b,s:b}", "community",
					      q->community, "ref", q->ref, "kind", q->kind, "state", q->state, "text",
					      q->text, "grid", q->grid, "created", gw_http_time(q->created), "updated",
					      gw_http_time(q->updated), "deadline", gw_http_time(q->deadline), "open",
					      q->open, "overdue", q->overdue));
}

static int district_requests(struct gw *gw, struct gw_http_req *r, struct gw_http_out *o, void *data)
{
	const char *community = gw_http_arg(r, "community"), *state = gw_http_arg(r, "state");
	const char *limit = gw_http_arg(r, "limit");
	struct db_district_filter f = {0};
	const char *scope;
	json_t *a;
	int rc = 0;

	(void)data;
	if (!(scope = scope_of(gw, r, o, &rc)))
		return rc;
	if (community && community[0]) {
		if (!db_community_valid(community))
			return gw_http_error(o, 400, "community is a community's code (1 to 32 of a-z, 0-9, _)");
		if (!db_district_in_scope(scope, community))
			return gw_http_error(o, 403, "community %s is not one this token sees", community);
		f.community = community;
	}
	if (state && state[0]) {
		if (strcmp(state, "open") && strcmp(state, "overdue"))
			return gw_http_error(o, 400, "state must be open or overdue");
		f.open = true;
		f.overdue = !strcmp(state, "overdue");
	}
	if (limit && limit[0]) {
		char *end;
		long n = strtol(limit, &end, 10);

		if (*end || n < 1 || n > LIMIT_MAX)
			return gw_http_error(o, 400, "limit must be 1 to %d", LIMIT_MAX);
		f.limit = (unsigned)n;
	}
	a = json_array();
	return answer(o, scope, "requests", a, db_district_requests(gw->db, scope, &f, gw_now(), request_row, a));
}

int rq_district_init(void)
{
	/* public in the route table: a street office's token is nobody to the community's own routes
	 * unless the box's community is in its scope; scope_of checks who it is */
	static const struct gw_http_route_def routes[] = {
		{"GET", "/api/v1/district/summary", GW_ROLE_PUBLIC, district_summary, 0},
		{"GET", "/api/v1/district/requests", GW_ROLE_PUBLIC, district_requests, 0},
	};

	return gw_http_routes(routes, ARRAY_SIZE(routes));
}
