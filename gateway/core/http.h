/* The staff console's HTTP server inside linlid (issue 11).
 *
 * libmicrohttpd in its external-select mode, its sockets driven from the osmocom loop: every
 * handler runs on the main thread, where the database is, so a handler uses gw->db like the
 * router does (inside db_begin/db_commit for anything it changes). Off unless the gateway node
 * has `http-bind ADDR PORT`; `http-root DIR` serves the page's static files (default "www").
 *
 * Features register their routes at start-up, as they register VTY commands (gateway/wire.c):
 * gw_http_route("GET", "/api/v1/requests/{ref}", GW_ROLE_READONLY, fn, data). The core does
 * what every route needs before the handler is called: it finds the route (404, or 405 with
 * Allow), limits the body (413 past GW_HTTP_BODY_MAX), refuses a body that is not UTF-8 (400),
 * parses a JSON body (400 with the line and column), authenticates the caller and checks the
 * route's role (401 / 403), and for a cookie session checks the CSRF token of every request
 * that is not GET or HEAD (403). Errors are JSON: {"error": {"status": 401, "message": "..."}}.
 *
 * Authentication (db/db_token.c: tokens stored as SHA-256, shown once at creation by
 * `linlictl token create NUMBER [--role staff|operator|readonly]`):
 *   - `Authorization: Bearer TOKEN` (API clients), or `api_key=TOKEN` in the query or a form
 *     body (Open311 clients);
 *   - a session cookie from POST /api/v1/login {"token": "..."} (the page): HttpOnly,
 *     SameSite=Strict, with a CSRF token in the login answer that must come back as the
 *     X-CSRF-Token header. POST /api/v1/logout ends it; sessions end after GW_HTTP_SESSION_S.
 * GET /api/v1/me tells who the caller is. /metrics (Prometheus text) needs GW_ROLE_READONLY
 * unless `http-metrics-public` is set (a scraper on localhost). */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "db/db.h"

struct gw;

#define GW_HTTP_BODY_MAX  (256 * 1024) /* bytes; a CSV import of a community fits */
#define GW_HTTP_MAX_PARAM 4	       /* {x} segments in one route pattern */
#define GW_HTTP_SESSION_S (12 * 3600)  /* a page session lasts a working day */

/* Who may call a route: each role may do what the ones below it may. */
enum gw_role {
	GW_ROLE_PUBLIC = 0,   /* no token needed (Open311 reads, the page's files, login) */
	GW_ROLE_READONLY = 1, /* look: lists, details, metrics */
	GW_ROLE_STAFF = 2,    /* act: assign, close, acknowledge, approve, send */
	GW_ROLE_OPERATOR = 3, /* run the box: modems, tokens, imports, callbacks */
};

/* "readonly", "staff", "operator" <-> enum gw_role; -EINVAL for another name. */
int gw_role_parse(const char *name);
const char *gw_role_name(enum gw_role role);

/* The authenticated caller (NULL on a public route called without a token). */
struct gw_http_staff {
	int64_t token_id; /* db_token's id; a district token's when district[0] */
	char number[32];  /* the staff member's phone number (E.164) */
	char name[64];	  /* the person's name from the database, else the number */
	enum gw_role role;
	char actor[100]; /* "web:NAME (NUMBER)": the actor of event rows written on their behalf */
	/* a street office's token (PostgreSQL, db_district_token_check): the communities it sees,
	 * "alpha,beta"; "" for a community's own staff. Its role is PUBLIC: it is nobody to a
	 * community's own routes, and reads the district's (request_district.c) only. */
	char district[DB_DISTRICT_SCOPE_MAX * (DB_COMMUNITY_MAX + 1)];
};

struct gw_http_req {
	const char *method;		      /* "GET", "POST", "PUT", "PATCH", "DELETE" (HEAD is served as GET) */
	const char *path;		      /* decoded, without the query string */
	const char *param[GW_HTTP_MAX_PARAM]; /* the {x} segments of the pattern, in order */
	unsigned nparam;
	const char *body; /* NUL-terminated, valid UTF-8 (NULL when there is none) */
	size_t body_len;
	const char *content_type; /* without parameters ("application/json"), "" when absent */
	json_t *json;		  /* the body parsed, when content_type is application/json; else NULL */
	const struct gw_http_staff *staff;
	/* a street office's token: the communities it sees ("alpha,beta"), even where it is nobody to
	 * this community (staff NULL); NULL for anybody else */
	const char *district;
	void *priv; /* the core's */
};

/* A query-string argument, or a field of an application/x-www-form-urlencoded body; NULL when
 * absent. Valid UTF-8 (an argument that is not is answered 400 before the handler runs). */
const char *gw_http_arg(const struct gw_http_req *r, const char *name);
/* A request header (case-insensitive name); NULL when absent. */
const char *gw_http_header(const struct gw_http_req *r, const char *name);

/* The answer a handler builds; exactly one of the functions below sets it. */
struct gw_http_out;

/* Answer status with JSON j (the reference is stolen; NULL is answered as 500). Returns 0. */
int gw_http_json(struct gw_http_out *o, unsigned status, json_t *j);
/* Answer status with a body of type (copied). Returns 0. */
int gw_http_body(struct gw_http_out *o, unsigned status, const char *type, const char *body, size_t len);
/* Answer status with {"error": {"status": status, "message": ...}} (printf format). Returns 0. */
int gw_http_error(struct gw_http_out *o, unsigned status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A time as JSON: ISO 8601 in local time with the offset ("2026-12-02T10:15:00+08:00"), null for 0
 * (not yet). The one time format of every answer. */
json_t *gw_http_time(int64_t t);

/* Add a response header (e.g. Location). */
void gw_http_add_header(struct gw_http_out *o, const char *name, const char *value);

/* A route's handler. It runs on the main thread; it answers through o and returns 0, or
 * returns -errno without answering (the core answers 500 and logs the path and the error). */
typedef int (*gw_http_fn)(struct gw *gw, struct gw_http_req *r, struct gw_http_out *o, void *data);

/* Register fn for method and pattern: literal segments and {name} segments that match one
 * non-empty path segment (percent-decoded, given to the handler in r->param in order); a
 * pattern may end in ".json" after a {name} ("/open311/v2/requests/{id}.json"). More specific
 * patterns (more literal segments) win. Call before gw_http_start. 0, -ENOSPC, -EINVAL. */
int gw_http_route(const char *method, const char *pattern, enum gw_role min_role, gw_http_fn fn, void *data);

/* One row of a feature's route table; data is handed to fn as (void *)data. */
struct gw_http_route_def {
	const char *method, *pattern;
	enum gw_role role;
	gw_http_fn fn;
	intptr_t data;
};
/* Register every row of a table with gw_http_route; stops at the first error and returns it.
 * (Inline, so that unit tests' fake gw_http_route sees every row.) */
static inline int gw_http_routes(const struct gw_http_route_def *routes, size_t n)
{
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++)
		rc = gw_http_route(routes[i].method, routes[i].pattern, routes[i].role, routes[i].fn,
				   (void *)routes[i].data);
	return rc;
}

/* Prometheus text exposition, written by the core and each feature's writer in turn. */
struct gw_metrics;
/* A "# HELP" and "# TYPE" (counter, gauge, histogram) line pair, once per metric name. */
void gw_metric_head(struct gw_metrics *m, const char *name, const char *type, const char *help);
/* One sample: name{labels} value; labels is "" or `modem="m1",prio="sos"` (the caller escapes
 * label values with gw_metric_label). */
void gw_metric(struct gw_metrics *m, const char *name, const char *labels, double value);
/* A label value escaped for the exposition format (\\, \", \n) into buf; returns buf. */
const char *gw_metric_label(const char *value, char *buf, size_t len);
typedef void (*gw_metrics_fn)(struct gw *gw, struct gw_metrics *m);
/* Add a feature's writer (at start-up); 0, -ENOSPC. */
int gw_http_add_metrics(gw_metrics_fn fn);

/* ---- the server (gateway/core/http.c) ---- */

struct gw_http_cfg {
	char *bind; /* NULL: no HTTP */
	unsigned port;
	char *root;	     /* the page's static files ("www") */
	bool metrics_public; /* /metrics without a token */
};
extern struct gw_http_cfg gw_http_cfg;

/* The gateway node's http-bind, http-root, http-metrics-public (and their `write` lines). */
void gw_http_vty_init(int node);
/* Start listening when http-bind is set (after the config is read): 0, or -errno with the
 * reason logged. */
int gw_http_start(struct gw *gw);
/* Stop listening and close every connection. */
void gw_http_stop(void);
