/* The fake HTTP server (tests/unit/fake_http.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <osmocom/core/utils.h>

#include "gateway/core/http.h"
#include "tests/unit/fake_http.h"

#define MAX_ROUTES 64
#define MAX_ARGS   32

static struct {
	const char *method, *pattern;
	enum gw_role role;
	gw_http_fn fn;
	void *data;
} routes[MAX_ROUTES];
static unsigned nroutes;
static gw_metrics_fn writers[8];
static unsigned nwriters;

struct gw_http_out {
	struct fake_http_answer *a;
};

struct gw_metrics {
	char *buf;
	size_t len, used;
};

struct fake_priv {
	char *names[MAX_ARGS], *vals[MAX_ARGS];
	unsigned n;
};

int gw_http_route(const char *method, const char *pattern, enum gw_role min_role, gw_http_fn fn, void *data)
{
	if (nroutes >= MAX_ROUTES)
		return -ENOSPC;
	routes[nroutes].method = method;
	routes[nroutes].pattern = pattern;
	routes[nroutes].role = min_role;
	routes[nroutes].fn = fn;
	routes[nroutes].data = data;
	nroutes++;
	return 0;
}

int gw_http_add_metrics(gw_metrics_fn fn)
{
	if (nwriters >= ARRAY_SIZE(writers))
		return -ENOSPC;
	writers[nwriters++] = fn;
	return 0;
}

const char *gw_http_arg(const struct gw_http_req *r, const char *name)
{
	const struct fake_priv *p = r->priv;

	for (unsigned i = 0; i < p->n; i++)
		if (!strcmp(p->names[i], name))
			return p->vals[i];
	return NULL;
}

const char *gw_http_header(const struct gw_http_req *r, const char *name)
{
	(void)r;
	(void)name;
	return NULL;
}

int gw_http_json(struct gw_http_out *o, unsigned status, json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	o->a->status = j ? status : 500;
	snprintf(o->a->body, sizeof(o->a->body), "%s", s ? s : "");
	o->a->json = j;
	free(s);
	return 0;
}

int gw_http_body(struct gw_http_out *o, unsigned status, const char *type, const char *body, size_t len)
{
	(void)type;
	o->a->status = status;
	snprintf(o->a->body, sizeof(o->a->body), "%.*s", (int)len, body);
	return 0;
}

int gw_http_error(struct gw_http_out *o, unsigned status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return gw_http_json(o, status, json_pack("{s:{s:i, s:s}}", "error", "status", (int)status, "message", msg));
}

void gw_http_add_header(struct gw_http_out *o, const char *name, const char *value)
{
	(void)o;
	(void)name;
	(void)value;
}

void gw_metric_head(struct gw_metrics *m, const char *name, const char *type, const char *help)
{
	m->used += snprintf(m->buf + m->used, m->len - m->used, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void gw_metric(struct gw_metrics *m, const char *name, const char *labels, double value)
{
	m->used += snprintf(m->buf + m->used, m->len - m->used, "%s%s%s%s %g\n", name, labels[0] ? "{" : "", labels,
			    labels[0] ? "}" : "", value);
}

const char *gw_metric_label(const char *value, char *buf, size_t len)
{
	snprintf(buf, len, "%s", value);
	return buf;
}

void fake_http_metrics(struct gw *gw, char *buf, size_t len)
{
	struct gw_metrics m = {buf, len, 0};

	buf[0] = '\0';
	for (unsigned i = 0; i < nwriters; i++)
		writers[i](gw, &m);
}

static int hex(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* Percent-decode s in place (and '+' as a space when form). */
static void decode(char *s, bool form)
{
	char *o = s;

	for (; *s; s++) {
		if (*s == '%' && hex(s[1]) >= 0 && hex(s[2]) >= 0) {
			*o++ = (char)(hex(s[1]) * 16 + hex(s[2]));
			s += 2;
		} else {
			*o++ = form && *s == '+' ? ' ' : *s;
		}
	}
	*o = '\0';
}

static void parse_args(struct fake_priv *p, char *s)
{
	char *save = NULL;

	for (char *kv = strtok_r(s, "&", &save); kv && p->n < MAX_ARGS; kv = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(kv, '=');

		if (eq)
			*eq++ = '\0';
		decode(kv, true);
		if (eq)
			decode(eq, true);
		p->names[p->n] = kv;
		p->vals[p->n++] = eq ? eq : "";
	}
}

/* Whether path matches pattern; the {x} segments into param (pointers into segbuf). */
static int match(const char *pattern, const char *path, char segbuf[8][256], const char **param, unsigned *np)
{
	char pat[512], pth[512], *ps = NULL, *qs = NULL;
	char *a, *b;
	int literal = 0;

	snprintf(pat, sizeof(pat), "%s", pattern);
	snprintf(pth, sizeof(pth), "%s", path);
	*np = 0;
	a = strtok_r(pat, "/", &ps);
	b = strtok_r(pth, "/", &qs);
	for (; a && b; a = strtok_r(NULL, "/", &ps), b = strtok_r(NULL, "/", &qs)) {
		if (a[0] == '{') {
			if (*np >= GW_HTTP_MAX_PARAM)
				return -1;
			snprintf(segbuf[*np], 256, "%s", b);
			decode(segbuf[*np], false);
			param[*np] = segbuf[*np];
			(*np)++;
		} else if (strcmp(a, b)) {
			return -1;
		} else {
			literal++;
		}
	}
	return a || b ? -1 : literal;
}

int fake_http_call(struct gw *gw, const char *method, const char *path_query, const char *content_type,
		   const char *body, const struct gw_http_staff *staff, struct fake_http_answer *a)
{
	char path[512], query[2048] = "", form[4096] = "", segbuf[8][256], best_seg[8][256];
	struct fake_priv priv = {.n = 0};
	struct gw_http_req r = {.method = method, .path = path, .body = body, .staff = staff, .priv = &priv};
	struct gw_http_out o = {a};
	const char *q = strchr(path_query, '?');
	int best = -1, rc;
	unsigned bi = 0;

	memset(a, 0, sizeof(*a));
	snprintf(path, sizeof(path), "%.*s", q ? (int)(q - path_query) : (int)strlen(path_query), path_query);
	if (q)
		snprintf(query, sizeof(query), "%s", q + 1);
	parse_args(&priv, query);
	r.content_type = content_type ? content_type : "";
	r.body_len = body ? strlen(body) : 0;
	for (unsigned i = 0; i < nroutes; i++) {
		const char *param[GW_HTTP_MAX_PARAM];
		unsigned np;
		int lit;

		if (strcmp(routes[i].method, method))
			continue;
		lit = match(routes[i].pattern, path, segbuf, param, &np);
		if (lit > best) {
			best = lit;
			bi = i;
			memcpy(best_seg, segbuf, sizeof(segbuf));
			r.nparam = np;
		}
	}
	if (best < 0) {
		gw_http_error(&o, 404, "no route");
		return -ENOENT;
	}
	for (unsigned k = 0; k < r.nparam; k++)
		r.param[k] = best_seg[k];
	if (routes[bi].role > GW_ROLE_PUBLIC && !staff)
		return gw_http_error(&o, 401, "a token is needed");
	if (staff && staff->role < routes[bi].role)
		return gw_http_error(&o, 403, "role %d may not", staff->role);
	if (body && !strcmp(r.content_type, "application/json")) {
		json_error_t e;

		r.json = json_loads(body, 0, &e);
		if (!r.json)
			return gw_http_error(&o, 400, "malformed JSON at line %d column %d", e.line, e.column);
	}
	if (body && !strcmp(r.content_type, "application/x-www-form-urlencoded")) {
		snprintf(form, sizeof(form), "%s", body);
		parse_args(&priv, form);
	}
	rc = routes[bi].fn(gw, &r, &o, routes[bi].data);
	if (rc < 0)
		gw_http_error(&o, 500, "handler: %s", strerror(-rc));
	json_decref(r.json);
	return 0;
}
