/* Inside the HTTP server only (gateway/core/http*.c, tests/unit/http_test.c, tests/fuzz/http_fuzz.c): the pieces of
 * http.c that the core's endpoints (http_api.c), the metrics (http_metrics.c) and the unit test
 * share. Features use gateway/core/http.h. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "gateway/core/http.h"

#define GW_HTTP_MAX_ROUTES  96
#define GW_HTTP_MAX_HEADERS 8

struct gw_http_out {
	unsigned status;
	const char *type;
	char *body; /* talloc'd under the request */
	size_t len;
	bool set; /* one of the answer functions was called */
	unsigned nhdr;
	struct {
		char *name, *value;
	} hdr[GW_HTTP_MAX_HEADERS];
	void *ctx; /* the request's talloc context */
};

/* The route matching method and path (HEAD is looked up as GET), its {x} segments into param[]
 * (pointers into buf, a copy of path of buflen bytes). Returns the route's index, -ENOENT when
 * no route has that path, -EPERM when some have it but not with this method (allow then lists
 * theirs, "GET, HEAD, POST"), -ENAMETOOLONG when path does not fit buf. */
int gw_http_match(const char *method, const char *path, char *buf, size_t buflen, const char **param, unsigned *nparam,
		  char *allow, size_t allowlen);
/* The role of route idx (gw_http_match's answer). */
enum gw_role gw_http_route_role(int idx);
/* Forget every route and metrics writer (tests). */
void gw_http_reset(void);

/* Whether a caller of role may call a route of min_role. */
bool gw_http_allowed(enum gw_role role, enum gw_role min_role);

#define GW_HTTP_COOKIE "linli_session"

/* ---- http.c without a socket (tests/fuzz/http_fuzz.c) ---- */
struct gw_http_kv {
	const char *key, *value;
};
/* A request as libmicrohttpd hands it over, parsed: the path percent-decoded without its query,
 * the query's arguments decoded, the headers (names case-insensitive), the Cookie header's
 * cookies, and the body of len bytes (NULL: none). */
struct gw_http_raw {
	const char *method, *path;
	const struct gw_http_kv *args, *headers, *cookies;
	unsigned nargs, nheaders, ncookies;
	const char *body;
	size_t len;
};
/* What gw_http_start does before it listens: the core's routes added (once) and http-root
 * resolved. 0, -errno. */
int gw_http_prepare(struct gw *gw);
/* in through what every request of a connection goes through (size, UTF-8, authentication,
 * CSRF, role, JSON) and its route's handler; the answer in *o, whose ctx (a talloc context) the
 * caller sets and frees. */
void gw_http_handle_raw(struct gw *gw, const struct gw_http_raw *in, struct gw_http_out *o);

/* ---- http_auth.c ---- */
struct gw_http_session;
/* A session of the page for st (a community's token, or a street office's: st->district), opened by
 * POST /api/v1/login: id and csrf are 64 hex digits. */
int gw_http_session_open(struct gw *gw, const struct gw_http_staff *st, char id[65], char csrf[65]);
/* Who token is: a token of this community, else a street office's (on a district's database):
 * 0 with *st, -ENOENT when it is neither, -errno when it could not be checked. */
int gw_http_token_staff(struct gw *gw, const char *token, struct gw_http_staff *st);
/* End a session (NULL: nothing); forget them all. */
void gw_http_session_end(struct gw_http_session *s);
void gw_http_sessions_clear(void);
/* Whether token is the session's CSRF token. */
bool gw_http_csrf_ok(const struct gw_http_session *s, const char *token);
/* Who the caller is from the Authorization header, else the api_key argument, else the session
 * cookie (each NULL when absent): 0 with *st (role PUBLIC for nobody) and *session (the cookie's,
 * or NULL), or the status to answer (401, 500) with why. */
unsigned gw_http_authenticate(struct gw *gw, const char *authorization, const char *api_key, const char *cookie,
			      struct gw_http_staff *st, struct gw_http_session **session, const char **why);

/* ---- http.c ---- */
/* End the session of the request's cookie, if any (POST /api/v1/logout). */
void gw_http_session_close(const struct gw_http_req *r);

/* The core's routes (http_api.c) and its metrics writer (http_metrics.c), added by gw_http_start. */
int gw_http_api_init(void);
void gw_http_core_metrics(struct gw *gw, struct gw_metrics *m);
/* The text of every metrics writer, a talloc string under ctx (GET /metrics). */
char *gw_http_metrics_text(struct gw *gw, void *ctx);

/* ---- http_callback.c: the send API's delivery callbacks ---- */
struct vty;
/* Whether url may be a callback_url: 0, -EINVAL (not http://IPv4-or-localhost[:port]/path) or
 * -EPERM (the host is not on the http-callback-allow list), with why. */
int gw_http_callback_check(const char *url, char *why, size_t len);
/* Start and stop telling the senders (with the HTTP server). */
void gw_http_callback_start(struct gw *gw);
void gw_http_callback_stop(void);
void gw_http_callback_vty_init(int node);
void gw_http_callback_write(struct vty *vty);
