/* The staff console's HTTP server (gateway/core/http.h): libmicrohttpd in its external mode
 * with epoll, its one epoll descriptor watched by the osmocom loop and its time-outs on an
 * osmo_timer, so every handler runs on the main thread next to the database. This file has the
 * daemon, the route table, what every request goes through before its handler (size, UTF-8,
 * JSON, authentication, CSRF, role: who the caller is is http_auth.c's) and the static files. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>
#include <talloc.h>
#include <osmocom/core/logging.h>
#include <osmocom/core/select.h>
#include <osmocom/core/timer.h>
#include <osmocom/core/utils.h>

#include "db/db.h"
#include "gateway/core/gw.h"
#include "gateway/core/http.h"
#include "gateway/core/http_priv.h"
#include "util/utf8.h"

#define SEG_MAX	     16
#define PATH_MAX_LEN 1024
#define STATIC_MAX   (8 * 1024 * 1024)

struct gw_http_cfg gw_http_cfg;

struct route {
	char method[8];
	char pattern[128];
	char buf[128]; /* pattern split at '/' */
	const char *seg[SEG_MAX];
	bool param[SEG_MAX];
	unsigned nseg, nliteral;
	bool json_suffix; /* the last {x} is followed by ".json" */
	enum gw_role role;
	gw_http_fn fn;
	void *data;
};

static struct {
	struct gw *gw;
	struct MHD_Daemon *d;
	struct osmo_fd ofd;
	struct osmo_timer_list timer;
	struct route route[GW_HTTP_MAX_ROUTES];
	unsigned nroutes;
	char root[PATH_MAX];
} H;

/* One request: made at MHD's first call, freed when the connection says it is complete. */
struct conn_req {
	struct MHD_Connection *conn;
	char *body;
	size_t len;
	bool too_large;
	/* the fields of a form body (x-www-form-urlencoded), decoded */
	unsigned nform;
	char **form_key, **form_val;
	struct gw_http_session *session; /* the caller came by this cookie */
	const struct gw_http_raw *raw;	 /* without a connection (gw_http_handle_raw) */
};

/* ---- routes ---- */

int gw_http_route(const char *method, const char *pattern, enum gw_role min_role, gw_http_fn fn, void *data)
{
	struct route *rt;
	char *save, *s;

	if (!method || !pattern || pattern[0] != '/' || !fn || strlen(method) >= sizeof(rt->method) ||
	    strlen(pattern) >= sizeof(rt->pattern) || min_role > GW_ROLE_OPERATOR)
		return -EINVAL;
	if (H.nroutes == GW_HTTP_MAX_ROUTES)
		return -ENOSPC;
	rt = &H.route[H.nroutes];
	memset(rt, 0, sizeof(*rt));
	OSMO_STRLCPY_ARRAY(rt->method, method);
	OSMO_STRLCPY_ARRAY(rt->pattern, pattern);
	OSMO_STRLCPY_ARRAY(rt->buf, pattern);
	for (s = strtok_r(rt->buf, "/", &save); s; s = strtok_r(NULL, "/", &save)) {
		size_t n = strlen(s);
		unsigned params = 0;

		if (rt->nseg == SEG_MAX || rt->json_suffix) /* ".json" only on the last segment */
			return -EINVAL;
		if (s[0] == '{') {
			if (n > 7 && !strcmp(s + n - 6, "}.json")) {
				rt->json_suffix = true;
				n -= 5;
			}
			if (n < 3 || s[n - 1] != '}')
				return -EINVAL;
			rt->param[rt->nseg] = true;
			for (unsigned i = 0; i <= rt->nseg; i++)
				params += rt->param[i];
			if (params > GW_HTTP_MAX_PARAM)
				return -EINVAL;
		} else {
			if (strchr(s, '{') || strchr(s, '}'))
				return -EINVAL;
			rt->nliteral++;
		}
		rt->seg[rt->nseg++] = s;
	}
	rt->role = min_role;
	rt->fn = fn;
	rt->data = data;
	H.nroutes++;
	return 0;
}

enum gw_role gw_http_route_role(int idx)
{
	return H.route[idx].role;
}

void gw_http_reset(void)
{
	H.nroutes = 0;
	gw_http_sessions_clear();
}

/* Whether route rt has the path of seg[0..n), its {x} segments into param (NULL: only test). */
static bool route_fits(const struct route *rt, char **seg, unsigned n, const char **param, unsigned *nparam)
{
	unsigned np = 0;

	if (rt->nseg != n)
		return false;
	for (unsigned i = 0; i < n; i++) {
		size_t len = strlen(seg[i]);

		if (!rt->param[i]) {
			if (strcmp(rt->seg[i], seg[i]))
				return false;
			continue;
		}
		if (rt->json_suffix && i == n - 1 && (len <= 5 || strcmp(seg[i] + len - 5, ".json")))
			return false;
		if (!len)
			return false;
		np++;
	}
	if (!param)
		return true;
	for (unsigned i = 0; i < n; i++) {
		if (!rt->param[i])
			continue;
		if (rt->json_suffix && i == n - 1)
			seg[i][strlen(seg[i]) - 5] = '\0';
		param[(*nparam)++] = seg[i];
	}
	return np == *nparam;
}

int gw_http_match(const char *method, const char *path, char *buf, size_t buflen, const char **param, unsigned *nparam,
		  char *allow, size_t allowlen)
{
	char *seg[SEG_MAX + 1];
	unsigned n = 0;
	int best = -1, nallow = 0;
	char *p;

	if (!strcmp(method, "HEAD"))
		method = "GET";
	*nparam = 0;
	if (allowlen)
		allow[0] = '\0';
	if (strlen(path) >= buflen)
		return -ENAMETOOLONG;
	strcpy(buf, path);
	/* segments between '/'; an empty one ("//", or a trailing '/') matches no pattern */
	p = buf + (buf[0] == '/');
	if (*p) {
		for (;;) {
			if (n == SEG_MAX + 1)
				return -ENOENT;
			seg[n++] = p;
			p = strchr(p, '/');
			if (!p)
				break;
			*p++ = '\0';
		}
	}
	for (unsigned i = 0; i < H.nroutes; i++) {
		const struct route *rt = &H.route[i];

		if (!route_fits(rt, seg, n, NULL, NULL))
			continue;
		if (strcmp(rt->method, method)) {
			/* for the Allow header: every method of this path, GET with its HEAD */
			if (allowlen && !strstr(allow, rt->method)) {
				size_t used = strlen(allow);

				snprintf(allow + used, allowlen - used, "%s%s%s", nallow ? ", " : "", rt->method,
					 strcmp(rt->method, "GET") ? "" : ", HEAD");
				nallow++;
			}
			continue;
		}
		if (best < 0 || rt->nliteral > H.route[best].nliteral)
			best = i;
	}
	if (best < 0)
		return nallow ? -EPERM : -ENOENT;
	route_fits(&H.route[best], seg, n, param, nparam);
	return best;
}

/* ---- answers ---- */

static int set_body(struct gw_http_out *o, unsigned status, const char *type, const char *body, size_t len)
{
	o->status = status;
	o->type = type;
	talloc_free(o->body);
	/* len bytes of the caller's (a binary body has no NUL after it), then a NUL of our own */
	o->body = talloc_size(o->ctx, len + 1);
	if (o->body) {
		if (len)
			memcpy(o->body, body, len);
		o->body[len] = '\0';
	}
	o->len = o->body ? len : 0;
	o->set = true;
	return 0;
}

int gw_http_body(struct gw_http_out *o, unsigned status, const char *type, const char *body, size_t len)
{
	return set_body(o, status, talloc_strdup(o->ctx, type), body, len);
}

int gw_http_json(struct gw_http_out *o, unsigned status, json_t *j)
{
	char *s;

	if (!j)
		return gw_http_error(o, 500, "the answer could not be made (out of memory)");
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!s)
		return gw_http_error(o, 500, "the answer could not be made (out of memory)");
	set_body(o, status, "application/json", s, strlen(s));
	free(s);
	return 0;
}

int gw_http_error(struct gw_http_out *o, unsigned status, const char *fmt, ...)
{
	char msg[512];
	json_t *j;
	char *s;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	j = json_pack("{s:{s:i,s:s}}", "error", "status", (int)status, "message", msg);
	s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!s) /* a message that is not UTF-8 (a path quoted in it) or no memory */
		return set_body(o, status, "application/json", "{\"error\":{\"status\":500}}", 24);
	set_body(o, status, "application/json", s, strlen(s));
	free(s);
	return 0;
}

void gw_http_add_header(struct gw_http_out *o, const char *name, const char *value)
{
	if (o->nhdr == GW_HTTP_MAX_HEADERS) {
		LOGP(DGW, LOGL_ERROR, "http: more than %u headers, %s dropped\n", GW_HTTP_MAX_HEADERS, name);
		return;
	}
	o->hdr[o->nhdr].name = talloc_strdup(o->ctx, name);
	o->hdr[o->nhdr].value = talloc_strdup(o->ctx, value);
	o->nhdr++;
}

/* ---- arguments, headers ---- */

/* A value of the request (argument, header, cookie): libmicrohttpd's, or gw_http_handle_raw's. */
static const char *conn_value(const struct conn_req *c, enum MHD_ValueKind kind, const char *name)
{
	const struct gw_http_kv *kv;
	unsigned n;

	if (c->conn)
		return MHD_lookup_connection_value(c->conn, kind, name);
	kv = kind == MHD_HEADER_KIND ? c->raw->headers : kind == MHD_COOKIE_KIND ? c->raw->cookies : c->raw->args;
	n = kind == MHD_HEADER_KIND ? c->raw->nheaders : kind == MHD_COOKIE_KIND ? c->raw->ncookies : c->raw->nargs;
	for (unsigned i = 0; i < n; i++)
		if (kind == MHD_HEADER_KIND ? !strcasecmp(kv[i].key, name) : !strcmp(kv[i].key, name))
			return kv[i].value;
	return NULL;
}

void gw_http_session_close(const struct gw_http_req *r)
{
	struct conn_req *c = r->priv;

	gw_http_session_end(c->session);
}

const char *gw_http_arg(const struct gw_http_req *r, const char *name)
{
	struct conn_req *c = r->priv;
	const char *v = conn_value(c, MHD_GET_ARGUMENT_KIND, name);

	if (v)
		return v;
	for (unsigned i = 0; i < c->nform; i++)
		if (!strcmp(c->form_key[i], name))
			return c->form_val[i];
	return NULL;
}

const char *gw_http_header(const struct gw_http_req *r, const char *name)
{
	struct conn_req *c = r->priv;

	return conn_value(c, MHD_HEADER_KIND, name);
}

/* '+' is a space in a form, then %XX (MHD's own decoder). */
static char *form_decode(void *ctx, const char *s, size_t len)
{
	char *d = talloc_strndup(ctx, s, len);

	if (!d)
		return NULL;
	for (char *p = d; *p; p++)
		if (*p == '+')
			*p = ' ';
	d[MHD_http_unescape(d)] = '\0';
	return d;
}

static int parse_form(void *ctx, struct conn_req *c)
{
	const char *p = c->body, *end = c->body + c->len;

	while (p < end) {
		const char *amp = memchr(p, '&', end - p), *eq;

		if (!amp)
			amp = end;
		eq = memchr(p, '=', amp - p);
		if (amp > p) {
			c->form_key = talloc_realloc(ctx, c->form_key, char *, c->nform + 1);
			c->form_val = talloc_realloc(ctx, c->form_val, char *, c->nform + 1);
			if (!c->form_key || !c->form_val)
				return -ENOMEM;
			c->form_key[c->nform] = form_decode(ctx, p, (eq ? eq : amp) - p);
			c->form_val[c->nform] = form_decode(ctx, eq ? eq + 1 : amp, eq ? amp - eq - 1 : 0);
			if (!c->form_key[c->nform] || !c->form_val[c->nform])
				return -ENOMEM;
			c->nform++;
		}
		p = amp + 1;
	}
	return 0;
}

static bool valid_utf8(const char *s)
{
	return !s || utf8_validate(s, strlen(s), NULL) == 0;
}

static enum MHD_Result args_utf8(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	bool *ok = cls;

	(void)kind;
	if (!valid_utf8(key) || !valid_utf8(value)) {
		*ok = false;
		return MHD_NO;
	}
	return MHD_YES;
}

/* ---- static files ---- */

static const char *content_type(const char *path)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{".html", "text/html; charset=utf-8"},
		{".js", "text/javascript; charset=utf-8"},
		{".css", "text/css; charset=utf-8"},
		{".svg", "image/svg+xml"},
		{".png", "image/png"},
		{".ico", "image/x-icon"},
		{".json", "application/json"},
		{".txt", "text/plain; charset=utf-8"},
	};
	const char *dot = strrchr(path, '.');

	for (unsigned i = 0; dot && i < ARRAY_SIZE(types); i++)
		if (!strcmp(dot, types[i].ext))
			return types[i].type;
	return "application/octet-stream";
}

/* A file under the root: no ".." segment, and realpath must stay inside the root (a symlink
 * that leads out is refused too). */
static void serve_static(struct gw_http_req *r, struct gw_http_out *o)
{
	const char *path = !strcmp(r->path, "/") ? "/index.html" : r->path;
	char want[PATH_MAX], real[PATH_MAX];
	size_t rootlen = strlen(H.root);
	struct stat stt;
	ssize_t n;
	char *buf;
	int fd;

	if (!H.root[0] || strstr(path, "..") || strchr(path, '\\') ||
	    snprintf(want, sizeof(want), "%s%s", H.root, path) >= (int)sizeof(want) || !realpath(want, real) ||
	    strncmp(real, H.root, rootlen) || real[rootlen] != '/') {
		gw_http_error(o, 404, "not found");
		return;
	}
	fd = open(real, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &stt) < 0 || !S_ISREG(stt.st_mode) || stt.st_size > STATIC_MAX) {
		if (fd >= 0)
			close(fd);
		gw_http_error(o, 404, "not found");
		return;
	}
	buf = talloc_size(o->ctx, stt.st_size + 1);
	n = buf ? read(fd, buf, stt.st_size) : -1;
	close(fd);
	if (n != stt.st_size) {
		gw_http_error(o, 500, "the file could not be read");
		return;
	}
	set_body(o, 200, content_type(real), buf, n);
	talloc_free(buf);
}

/* ---- one request ---- */

static bool is_api(const char *path)
{
	return !strncmp(path, "/api/", 5) || !strcmp(path, "/api") || !strncmp(path, "/open311/", 9) ||
	       !strcmp(path, "/metrics");
}

static void handle(struct gw *gw, struct conn_req *c, const char *method, const char *url, struct gw_http_out *o,
		   struct gw_http_staff *staff_out)
{
	struct gw_http_req r = {.method = method, .path = url, .priv = c};
	char buf[PATH_MAX_LEN], allow[128];
	struct gw_http_staff staff;
	const char *ct, *why = NULL;
	char ctype[64];
	unsigned status;
	int idx, rc;

	if (!strcmp(r.method, "HEAD"))
		r.method = "GET";
	if (!valid_utf8(url)) {
		gw_http_error(o, 400, "the path is not UTF-8");
		return;
	}
	idx = gw_http_match(method, url, buf, sizeof(buf), r.param, &r.nparam, allow, sizeof(allow));
	if (idx == -EPERM) {
		gw_http_error(o, 405, "%s is not allowed here (allowed: %s)", method, allow);
		gw_http_add_header(o, "Allow", allow);
		return;
	}
	if (idx < 0 && !strcmp(r.method, "GET") && !is_api(url)) {
		serve_static(&r, o);
		return;
	}
	if (idx < 0) {
		gw_http_error(o, 404, "no such resource");
		return;
	}
	if (c->too_large) {
		gw_http_error(o, 413, "the body is larger than %u bytes", GW_HTTP_BODY_MAX);
		return;
	}

	ct = conn_value(c, MHD_HEADER_KIND, "Content-Type");
	snprintf(ctype, sizeof(ctype), "%.*s", ct ? (int)strcspn(ct, "; ") : 0, ct ? ct : "");
	for (char *p = ctype; *p; p++)
		*p = *p >= 'A' && *p <= 'Z' ? *p + 32 : *p;
	r.content_type = ctype;
	if (c->body) {
		const char *nul = memchr(c->body, '\0', c->len);
		size_t bad = nul ? (size_t)(nul - c->body) : 0;

		if (nul || utf8_validate(c->body, c->len, &bad) < 0) {
			gw_http_error(o, 400, "the body is not UTF-8 text (byte %zu)", bad);
			return;
		}
		r.body = c->body;
		r.body_len = c->len;
		if (!strcmp(ctype, "application/x-www-form-urlencoded") && parse_form(o->ctx, c) < 0) {
			gw_http_error(o, 500, "out of memory");
			return;
		}
	}
	{
		bool ok = true;

		if (c->conn)
			MHD_get_connection_values(c->conn, MHD_GET_ARGUMENT_KIND, args_utf8, &ok);
		for (unsigned i = 0; !c->conn && i < c->raw->nargs; i++)
			ok = ok && valid_utf8(c->raw->args[i].key) && valid_utf8(c->raw->args[i].value);
		for (unsigned i = 0; i < c->nform; i++)
			ok = ok && valid_utf8(c->form_key[i]) && valid_utf8(c->form_val[i]);
		if (!ok) {
			gw_http_error(o, 400, "an argument is not UTF-8");
			return;
		}
	}

	status = gw_http_authenticate(gw, gw_http_header(&r, "Authorization"), gw_http_arg(&r, "api_key"),
				      conn_value(c, MHD_COOKIE_KIND, GW_HTTP_COOKIE), &staff, &c->session, &why);
	if (status) {
		gw_http_error(o, status, "%s", why);
		if (status == 401)
			gw_http_add_header(o, "WWW-Authenticate", "Bearer realm=\"linli\"");
		return;
	}
	/* a cookie is sent by the browser whoever made the page: a change needs the CSRF token that
	 * only the page got, in a header another site cannot set. On a public route (the login) the
	 * caller without it is nobody rather than refused. */
	if (c->session && (staff.role != GW_ROLE_PUBLIC || staff.district[0]) && strcmp(r.method, "GET") &&
	    !gw_http_csrf_ok(c->session, gw_http_header(&r, "X-CSRF-Token"))) {
		if (gw_http_route_role(idx) != GW_ROLE_PUBLIC) {
			gw_http_error(o, 403, "the X-CSRF-Token header is missing or wrong");
			return;
		}
		memset(&staff, 0, sizeof(staff));
		c->session = NULL;
	}
	*staff_out = staff;
	if (staff.role != GW_ROLE_PUBLIC)
		r.staff = &staff;
	if (staff.district[0])
		r.district = staff.district;
	if (!gw_http_allowed(staff.role, gw_http_route_role(idx))) {
		if (staff.role == GW_ROLE_PUBLIC) {
			gw_http_error(o, 401,
				      "a token is needed (Authorization: Bearer, api_key or the session cookie)");
			gw_http_add_header(o, "WWW-Authenticate", "Bearer realm=\"linli\"");
		} else {
			gw_http_error(o, 403, "role %s is needed, the token has %s",
				      gw_role_name(gw_http_route_role(idx)), gw_role_name(staff.role));
		}
		return;
	}
	if (r.body && !strcmp(ctype, "application/json")) {
		json_error_t err;

		r.json = json_loadb(r.body, r.body_len, JSON_REJECT_DUPLICATES, &err);
		if (!r.json) {
			gw_http_error(o, 400, "malformed JSON at line %d, column %d: %s", err.line, err.column,
				      err.text);
			return;
		}
	}
	rc = H.route[idx].fn(gw, &r, o, H.route[idx].data);
	json_decref(r.json);
	if (rc < 0 || !o->set) {
		LOGP(DGW, LOGL_ERROR, "http %s %s: the handler failed: %s\n", method, osmo_escape_str(url, -1),
		     rc < 0 ? strerror(-rc) : "no answer");
		gw_http_error(o, 500, "internal error (%s)", rc < 0 ? strerror(-rc) : "no answer");
	}
}

static enum MHD_Result queue(struct MHD_Connection *conn, const char *method, const char *url, struct gw_http_out *o,
			     const struct gw_http_staff *who)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(o->len, o->body ? o->body : (char *)"", MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	if (o->status != 204)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, o->type ? o->type : "text/plain");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	if (is_api(url))
		MHD_add_response_header(resp, "Cache-Control", "no-store");
	for (unsigned i = 0; i < o->nhdr; i++)
		MHD_add_response_header(resp, o->hdr[i].name, o->hdr[i].value);
	ret = MHD_queue_response(conn, o->status, resp);
	MHD_destroy_response(resp);
	/* the path is the client's: escaped, so it cannot write lines of its own into the log */
	LOGP(DGW, o->status >= 500 ? LOGL_ERROR : LOGL_INFO, "http %s %s -> %u%s%s\n", method, osmo_escape_str(url, -1),
	     o->status, who && who->number[0] ? " by " : "", who && who->number[0] ? who->number : "");
	return ret;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				 const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct conn_req *c = *con_cls;
	struct gw_http_out o = {0};
	struct gw_http_staff who = {0};
	enum MHD_Result ret;

	(void)cls;
	(void)version;
	if (!c) {
		c = talloc_zero(H.gw->ctx, struct conn_req);
		if (!c)
			return MHD_NO;
		c->conn = conn;
		*con_cls = c;
		return MHD_YES;
	}
	if (*upload_data_size) {
		/* past the limit the rest is read and dropped, so the client gets its 413 */
		if (!c->too_large && c->len + *upload_data_size > GW_HTTP_BODY_MAX) {
			c->too_large = true;
			TALLOC_FREE(c->body);
			c->len = 0;
		}
		if (!c->too_large) {
			c->body = talloc_realloc_size(c, c->body, c->len + *upload_data_size + 1);
			if (!c->body)
				return MHD_NO;
			memcpy(c->body + c->len, upload_data, *upload_data_size);
			c->len += *upload_data_size;
			c->body[c->len] = '\0';
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	o.ctx = talloc_new(c);
	handle(H.gw, c, method, url, &o, &who);
	ret = queue(conn, method, url, &o, &who);
	talloc_free(o.ctx);
	return ret;
}

static void completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	talloc_free(*con_cls);
	*con_cls = NULL;
}

void gw_http_handle_raw(struct gw *gw, const struct gw_http_raw *in, struct gw_http_out *o)
{
	struct conn_req *c = talloc_zero(o->ctx, struct conn_req);
	struct gw_http_staff who = {0};

	if (!c) {
		gw_http_error(o, 500, "out of memory");
		return;
	}
	c->raw = in;
	/* as access_cb collects it: no body when nothing came, none kept past the limit */
	if (in->body && in->len > GW_HTTP_BODY_MAX) {
		c->too_large = true;
	} else if (in->body && in->len) {
		c->body = talloc_size(c, in->len + 1);
		if (!c->body) {
			gw_http_error(o, 500, "out of memory");
			return;
		}
		memcpy(c->body, in->body, in->len);
		c->body[in->len] = '\0';
		c->len = in->len;
	}
	handle(gw, c, in->method, in->path, o, &who);
}

/* ---- the daemon on the osmocom loop ---- */

static void mhd_schedule(void)
{
	MHD_UNSIGNED_LONG_LONG ms;

	if (!H.d)
		return;
	if (MHD_get_timeout(H.d, &ms) == MHD_YES)
		osmo_timer_schedule(&H.timer, ms / 1000, (ms % 1000) * 1000);
	else
		osmo_timer_del(&H.timer);
}

static int mhd_fd_cb(struct osmo_fd *ofd, unsigned int what)
{
	(void)ofd;
	(void)what;
	MHD_run(H.d);
	mhd_schedule();
	return 0;
}

static void mhd_timer_cb(void *data)
{
	(void)data;
	MHD_run(H.d);
	mhd_schedule();
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	LOGP(DGW, LOGL_NOTICE, "http: %s%s", msg, msg[0] && msg[strlen(msg) - 1] == '\n' ? "" : "\n");
}

static bool is_loopback(const struct in_addr *a)
{
	return (ntohl(a->s_addr) >> 24) == 127;
}

int gw_http_prepare(struct gw *gw)
{
	static bool api_added;
	int rc;

	H.gw = gw;
	if (!api_added) {
		rc = gw_http_api_init();
		if (rc < 0) {
			LOGP(DGW, LOGL_FATAL, "http: cannot add the core's routes: %s\n", strerror(-rc));
			return rc;
		}
		api_added = true;
	}
	H.root[0] = '\0';
	if (!realpath(gw_http_cfg.root ? gw_http_cfg.root : "www", H.root)) {
		LOGP(DGW, LOGL_NOTICE, "http-root %s: %s; no page is served, only the API\n",
		     gw_http_cfg.root ? gw_http_cfg.root : "www", strerror(errno));
		H.root[0] = '\0';
	}
	return 0;
}

int gw_http_start(struct gw *gw)
{
	const union MHD_DaemonInfo *info;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	int rc;

	if (!gw_http_cfg.bind)
		return 0;
	if (inet_pton(AF_INET, gw_http_cfg.bind, &sa.sin_addr) != 1) {
		LOGP(DGW, LOGL_FATAL, "http-bind %s: not an IPv4 address\n", gw_http_cfg.bind);
		return -EINVAL;
	}
	sa.sin_port = htons(gw_http_cfg.port);
	rc = gw_http_prepare(gw);
	if (rc < 0)
		return rc;
	H.d = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, gw_http_cfg.port, NULL, NULL, access_cb, NULL,
			       MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
			       MHD_OPTION_NOTIFY_COMPLETED, completed_cb, NULL, MHD_OPTION_CONNECTION_LIMIT,
			       (unsigned)64, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
			       MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)32, MHD_OPTION_END);
	if (!H.d) {
		LOGP(DGW, LOGL_FATAL, "http: cannot listen on %s:%u\n", gw_http_cfg.bind, gw_http_cfg.port);
		return -EADDRINUSE;
	}
	info = MHD_get_daemon_info(H.d, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info) {
		MHD_stop_daemon(H.d);
		H.d = NULL;
		return -EIO;
	}
	osmo_fd_setup(&H.ofd, info->epoll_fd, OSMO_FD_READ, mhd_fd_cb, NULL, 0);
	rc = osmo_fd_register(&H.ofd);
	if (rc < 0) {
		MHD_stop_daemon(H.d);
		H.d = NULL;
		return rc;
	}
	osmo_timer_setup(&H.timer, mhd_timer_cb, NULL);
	mhd_schedule();
	gw_http_callback_start(gw);
	LOGP(DGW, LOGL_NOTICE, "http: staff console on http://%s:%u/ (%s)%s\n", gw_http_cfg.bind, gw_http_cfg.port,
	     H.root[0] ? H.root : "no page", is_loopback(&sa.sin_addr) ? "" : ", NOT loopback");
	return 0;
}

void gw_http_stop(void)
{
	if (!H.d)
		return;
	gw_http_callback_stop();
	osmo_timer_del(&H.timer);
	osmo_fd_unregister(&H.ofd);
	MHD_stop_daemon(H.d);
	H.d = NULL;
	gw_http_sessions_clear();
}
