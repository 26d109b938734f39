/* The core's part of the staff console (docs/console-api.md, "Session and the box"): login,
 * the box (modems, queues), people (households, groups, a phone's edit, the CSV import), the
 * send API and the tokens; and the gateway node's http-* commands. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <talloc.h>
#include <osmocom/core/logging.h>
#include <osmocom/core/rate_ctr.h>
#include <osmocom/core/utils.h>
#include <osmocom/vty/command.h>
#include <osmocom/vty/vty.h>

#include "db/db.h"
#include "db/import.h"
#include "gateway/core/gw.h"
#include "gateway/core/http.h"
#include "gateway/core/http_priv.h"
#include "gateway/core/outbox.h"

#define SMS_TEXT_MAX 1600 /* bytes of UTF-8: ten parts of UCS-2 */

static bool bind_public; /* `http-bind ADDR PORT public`: a non-loopback address was meant */

static json_t *staff_json(const struct gw_http_staff *st)
{
	json_t *j = json_pack("{s:s,s:s,s:s}", "number", st->number, "name", st->name, "role", gw_role_name(st->role));

	/* a street office's token: the communities it sees */
	if (j && st->district[0])
		json_object_set_new(j, "district", json_string(st->district));
	return j;
}

/* A string member of the JSON body: NULL when absent, *bad set when it is there but no string. */
static const char *jstr(json_t *obj, const char *key, bool *bad)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return NULL;
	if (!json_is_string(v)) {
		*bad = true;
		return NULL;
	}
	return json_string_value(v);
}

/* page (from 1) and per_page (1-200, default 50): false with the 400 answered when wrong. */
static bool paging(struct gw_http_req *r, struct gw_http_out *o, int *page, int *per_page)
{
	const char *p = gw_http_arg(r, "page"), *pp = gw_http_arg(r, "per_page");
	char *end;
	long v;

	*page = 1;
	*per_page = 50;
	if (p) {
		v = strtol(p, &end, 10);
		if (*end || end == p || v < 1 || v > 1000000) {
			gw_http_error(o, 400, "page must be a whole number from 1");
			return false;
		}
		*page = v;
	}
	if (pp) {
		v = strtol(pp, &end, 10);
		if (*end || end == pp || v < 1 || v > 200) {
			gw_http_error(o, 400, "per_page must be a whole number from 1 to 200");
			return false;
		}
		*per_page = v;
	}
	return true;
}

/* A database error as the answer: logged by db/, counted, answered 500; 503 for a database that
 * cannot commit for now (locked, full, I/O error), which also enters the degraded state. */
static int db_failed(struct gw *gw, struct gw_http_out *o, int rc)
{
	gw_ctr_inc(gw, GW_CTR_DB_ERRORS);
	return gw_http_error(o, gw_db_fault(gw, rc, "console") ? 503 : 500, "database error: %s", strerror(-rc));
}

/* ---- session ---- */

static int api_login(struct gw *gw, struct gw_http_req *r, struct gw_http_out *o, void *data)
{
	struct gw_http_staff st;
	char id[65], csrf[65], cookie[160];
	const char *token;
	bool bad = false;
	int rc;

	(void)data;
	token = r->json ? jstr(r->json, "token", &bad) : NULL;
	if (!json_is_object(r->json) || bad || !token)
		return gw_http_error(o, 400, "a JSON object {\"token\": \"...\"} is needed");
	/* a community's token, or a street office's (its page shows the district's view) */
	rc = gw_http_token_staff(gw, token, &st);
	if (rc == -ENOENT)
		return gw_http_error(o, 401, "the token is unknown or revoked");
	if (rc < 0)
		return db_failed(gw, o, rc);
	rc = gw_http_session_open(gw, &st, id, csrf);
	if (rc < 0)
		return gw_http_error(o, 500, "no session could be made (no random numbers)");
	snprintf(cookie, sizeof(cookie), "linli_session=%s; HttpOnly; SameSite=Strict; Path=/; Max-Age=%d", id,
		 GW_HTTP_SESSION_S);
	gw_http_add_header(o, "Set-Cookie", cookie);
	if (st.district[0])
		LOGP(DGW, LOGL_NOTICE, "http: street office %s (%s) logged in with district token %" PRId64 "\n",
		     st.name, st.district, st.token_id);
	else
		LOGP(DGW, LOGL_NOTICE, "http: %s (%s) logged in with token %" PRId64 "\n", st.name, st.number,
		     st.token_id);
	return gw_http_json(o, 200, json_pack("{s:o,s:s}", "staff", staff_json(&st), "csrf", csrf));
}

static int api_logout(struct gw *gw, struct gw_http_req *r, struct gw_http_out *o, void *data)
{
	(void)gw;
	(void)data;
	gw_http_session_close(r);
	gw_http_add_header(o, "Set-Cookie", "linli_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
	return gw_http_body(o, 204, "application/json", "", 0);
}

static int api_me(struct gw *gw, struct gw_http_req *r, struct gw_http_out *o, void *data)
{
	(void)gw;
	(void)data;
	return gw_http_json(o, 200, staff_json(r->staff));
}

/* ---- the box ---- */

static json_int_t mctr(const struct gw_modem *m, unsigned i)
{
	return m->ctrs ? (json_int_t)rate_ctr_group_get_ctr(m->ctrs, i)->current : 0;
}

static int api_modems(struct gw *gw, struct gw_http_req *r, struct gw_http_out *o, void *data)
{
	json_t *a = json_array();

	(void)r;
	(void)data;
	for (unsigned i = 0; a && i < gw->nmodems; i++) {
		const struct gw_modem *m = &gw->modem[i];

		json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:b,s:s,s:i,s:i,s:I,s:I,s:I,s:b}", "name",
						   m->cfg.name, "state", mdm_state_name(m->state), "reason", m->reason,
						   "imei", m->imei, "model", m->model, "signal_pct",
						   m->health.signal_pct, "registered", m->health.registered, "network",
						   m->health.network, "sim_used", (int)m->health.sim_used, "sim_size",
						   (int)m->health.sim_size, "received", mctr(m, GW_MDM_CTR_RECEIVED),
						   "sent", mctr(m, GW_MDM_CTR_SENT), "failed",
						   mctr(m, GW_MDM_CTR_FAILED), "busy", m->job != 0));
	}
	return gw_http_json(o, 200, json_pack("{s:o*}", "modems", a));
}

static const char *const prio_names[] = {"sos", "normal", "reply", "bulk"}; /* enum db_prio */

static int api_queues(struct gw *gw, struct gw_http_req *r, struct gw_http_out *o, void *data)
{
	struct db_queue_stat qs[4];
	int64_t counts[_NUM_DB_OUT], failed;
	time_t now = gw_now();
	json_t *a;
	int rc;

	(void)r;
	(void)data;
	if ((rc = db_sms_out_queue_stats(gw->db, qs)) < 0 || (rc = db_sms_out_counts(gw->db, counts)) < 0 ||
	    (rc = db_sms_out_failed_since(gw->db, now - 86400, &failed)) < 0)
		return db_failed(gw, o, rc);
	a = json_array();
	for (unsigned p = 0; a && p < ARRAY_SIZE(prio_names); p++)
		json_array_append_new(
			a, json_pack("{s:s,s:I,s:I}", "prio", prio_names[p], "depth", (json_int_t)qs[p].depth,
				     "oldest_age_s",
				     (json_int_t)(qs[p].oldest && now > qs[p].oldest ? now - qs[p].oldest : 0)));
	return gw_http_json(o, 200,
			    json_pack("{s:o*,s:I,s:I}", "queues", a, "sending", (json_int_t)counts[DB_OUT_SENDING],
				      "failed_24h", (json_int_t)failed));
}

/* ---- people ---- */

static json_t *phone_json(const struct db_hh_phone *p)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:b}", "number", p->number, "name", p->name, "role", p->role, "lang",
			 p->lang, "active", p->active);
}

static int api_households(struct gw *gw, struct gw_http_req *r, struct gw_http_out *o, void *data)
{
	const char *q = gw_http_arg(r, "q");
	struct db_household *h;
	void *tmp = talloc_new(o->ctx);
	int page, per_page, n;
	int64_t total;
	json_t *a;

	(void)data;
	if (!paging(r, o, &page, &per_page)) {
		talloc_free(tmp);
		return 0;
	}
	n = db_household_list(gw->db, tmp, q, (page - 1) * per_page, per_page, &h, &total);
	if (n < 0) {
		talloc_free(tmp);
		return db_failed(gw, o, n);
	}
	a = json_array();
	for (int i = 0; a && i < n; i++) {
		json_t *ph = json_array();

		for (unsigned k = 0; ph && k < h[i].nphones; k++)
			json_array_append_new(ph, phone_json(&h[i].phones[k]));
		json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o*}", "code", h[i].code, "building",
						   h[i].building, "unit", h[i].unit, "room", h[i].room, "grid",
						   h[i].grid, "group", h[i].group, "phones", ph));
	}
	talloc_free(tmp);
	return gw_http_json(o, 200,
			    json_pack("{s:o*,s:I,s:i,s:i}", "households", a, "total", (json_int_t)total, "page", page,
				      "per_page", per_page));
}

static int api_groups(struct gw *gw, struct gw_http_req *r, struct gw_http_out *o, void *data)
{
	void *tmp = talloc_new(o->ctx);
	struct db_group *g;
	json_t *a;
	int n;

	(void)r;
	(void)data;
	n = db_group_list(gw->db, tmp, &g);
	if (n < 0) {
		talloc_free(tmp);
		return db_failed(gw, o, n);
	}
	a = json_array();
	for (int i = 0; a && i < n; i++)
		json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:I}", "code", g[i].code, "name", g[i].name, "grid",
						   g[i].grid, "households", (json_int_t)g[i].households));
	talloc_free(tmp);
	return gw_http_json(o, 200, json_pack("{s:o*}", "groups", a));
}

static int api_phone_patch(struct gw *gw, struct gw_http_req *r, struct gw_http_out *o, void *data)
{
	static const char *const roles[] = {"resident", "grid_worker", "staff", "runner", NULL};
	const char *name, *role, *lang, *key;
	struct db_hh_phone p;
	bool bad = false, known;
	char num[32];
	json_t *v;
	int active = -1, rc;

	(void)data;
	if (!json_is_object(r->json))
		return gw_http_error(o, 400, "a JSON object is needed (name, role, active, lang)");
	json_object_foreach(r->json, key, v)
	{
		if (strcmp(key, "name") && strcmp(key, "role") && strcmp(key, "active") && strcmp(key, "lang"))
			return gw_http_error(o, 400, "unknown field \"%s\" (name, role, active, lang)", key);
	}
	name = jstr(r->json, "name", &bad);
	role = jstr(r->json, "role", &bad);
	lang = jstr(r->json, "lang", &bad);
	v = json_object_get(r->json, "active");
	if (v && !json_is_boolean(v))
		return gw_http_error(o, 400, "active must be true or false");
	if (v)
		active = json_is_true(v);
	if (bad)
		return gw_http_error(o, 400, "name, role and lang must be strings");
	if (name && (strlen(name) >= sizeof(p.name) || strpbrk(name, "\r\n\t")))
		return gw_http_error(o, 400, "name: at most %zu bytes on one line", sizeof(p.name) - 1);
	known = !role;
	for (unsigned i = 0; role && roles[i]; i++)
		known = known || !strcmp(role, roles[i]);
	if (!known)
		return gw_http_error(o, 400, "role must be resident, grid_worker, staff or runner");
	if (lang && strcmp(lang, "zh-CN") && strcmp(lang, "en"))
		return gw_http_error(o, 400, "lang must be zh-CN or en");
	if (db_number_norm(r->param[0], num, sizeof(num)) < 0)
		return gw_http_error(o, 400, "not a phone number");
	rc = db_phone_update(gw->db, num, name, role, lang, active, &p);
	if (rc == -ENOENT)
		return gw_http_error(o, 404, "no phone %s", num);
	if (rc == -EINVAL)
		return gw_http_error(o, 400, "the database refused the change");
	if (rc < 0)
		return db_failed(gw, o, rc);
	LOGP(DGW, LOGL_NOTICE, "http: %s changed phone %s\n", r->staff->actor, num);
	return gw_http_json(o, 200, phone_json(&p));
}

struct import_errors {
	json_t *a;
};

static void import_report(void *data, const char *file, unsigned line, const char *reason)
{
	struct import_errors *e = data;

	(void)file;
	json_array_append_new(e->a, json_pack("{s:i,s:s}", "line", (int)line, "message", reason));
}

static int api_import(struct gw *gw, struct gw_http_req *r, struct gw_http_out *o, void *data)
{
	const char *kind_name = gw_http_arg(r, "kind");
	struct import_errors e;
	unsigned n = 0;
	int kind, rc;

	(void)data;
	kind = kind_name ? db_import_kind_parse(kind_name) : -EINVAL;
	if (kind < 0)
		return gw_http_error(o, 400, "?kind= must be grids, groups, households or phones");
	if (!r->body || strcmp(r->content_type, "text/csv"))
		return gw_http_error(o, 415, "the body must be CSV (Content-Type: text/csv)");
	e.a = json_array();
	if (!e.a)
		return -ENOMEM;
	rc = db_begin(gw->db);
	if (rc < 0) {
		json_decref(e.a);
		return db_failed(gw, o, rc);
	}
	rc = db_import_buf(gw->db, kind, "upload", r->body, r->body_len, import_report, &e, &n);
	if (rc == 0)
		rc = db_commit(gw->db);
	if (rc < 0) {
		db_rollback(gw->db);
		if (rc != -EINVAL) {
			json_decref(e.a);
			return db_failed(gw, o, rc);
		}
		return gw_http_json(o, 422, json_pack("{s:i,s:o}", "imported", 0, "errors", e.a));
	}
	LOGP(DGW, LOGL_NOTICE, "http: %s imported %u %s\n", r->staff->actor, n, db_import_kind_name(kind));
	return gw_http_json(o, 200, json_pack("{s:i,s:o}", "imported", (int)n, "errors", e.a));
}

/* ---- the send API ---- */

static int api_sms_send(struct gw *gw, struct gw_http_req *r, struct gw_http_out *o, void *data)
{
	const char *to, *text, *prio_name, *cb;
	bool bad = false;
	char loc[48], num[32];
	int64_t id;
	int prio, rc;

	(void)data;
	if (!json_is_object(r->json))
		return gw_http_error(o, 400, "a JSON object {\"to\", \"text\"} is needed");
	to = jstr(r->json, "to", &bad);
	text = jstr(r->json, "text", &bad);
	prio_name = jstr(r->json, "priority", &bad);
	cb = jstr(r->json, "callback_url", &bad);
	if (bad || !to || !text)
		return gw_http_error(o, 400, "to and text are needed, as strings");
	if (!*text || strlen(text) > SMS_TEXT_MAX)
		return gw_http_error(o, 400, "text must have 1 to %u bytes", SMS_TEXT_MAX);
	if (!prio_name || !strcmp(prio_name, "normal"))
		prio = DB_PRIO_STAFF;
	else if (!strcmp(prio_name, "bulk"))
		prio = DB_PRIO_BULK;
	else
		return gw_http_error(o, 400, "priority must be normal or bulk");
	if (cb) {
		char why[160];

		rc = gw_http_callback_check(cb, why, sizeof(why));
		if (rc < 0)
			return gw_http_error(o, rc == -EPERM ? 403 : 400, "%s", why);
	}
	/* a sender ID ("ChinaMobile") is a valid number to db_number_norm, not a recipient */
	if (db_number_norm(to, num, sizeof(num)) < 0 ||
	    strspn(num + (num[0] == '+'), "0123456789") != strlen(num + (num[0] == '+')))
		return gw_http_error(o, 400, "to is not a phone number");
	/* the message and its callback in one transaction: no message is sent without it */
	rc = db_begin(gw->db);
	if (rc < 0)
		return db_failed(gw, o, rc);
	rc = gw_sms_queue(gw, num, text, prio, &id);
	if (rc == 0 && cb)
		rc = db_sms_out_set_callback(gw->db, id, cb);
	if (rc == 0)
		rc = db_commit(gw->db);
	if (rc < 0)
		db_rollback(gw->db);
	if (rc == -EINVAL)
		return gw_http_error(o, 400, "to is not a phone number");
	if (rc < 0)
		return db_failed(gw, o, rc);
	LOGP(DGW, LOGL_NOTICE, "http: %s queued SMS %" PRId64 " to %s\n", r->staff->actor, id, num);
	snprintf(loc, sizeof(loc), "/api/v1/sms/%" PRId64, id);
	gw_http_add_header(o, "Location", loc);
	return gw_http_json(o, 201, json_pack("{s:I}", "id", (json_int_t)id));
}

static int api_sms_get(struct gw *gw, struct gw_http_req *r, struct gw_http_out *o, void *data)
{
	struct db_sms_out_info m;
	const char *state;
	char *end;
	long long id;
	int rc;

	(void)data;
	id = strtoll(r->param[0], &end, 10);
	if (*end || id <= 0)
		return gw_http_error(o, 400, "the id must be a number");
	rc = db_sms_out_get(gw->db, id, &m);
	if (rc == -ENOENT)
		return gw_http_error(o, 404, "no message %lld", id);
	if (rc < 0)
		return db_failed(gw, o, rc);
	/* what the sender wants to know: sent and then delivered, or failed in either */
	state = m.state;
	if (!strcmp(m.state, "sent") && !strcmp(m.delivery, "delivered"))
		state = "delivered";
	else if (!strcmp(m.state, "sent") && !strcmp(m.delivery, "failed"))
		state = "failed";
	return gw_http_json(o, 200,
			    json_pack("{s:I,s:s,s:s,s:i,s:i,s:s*,s:o,s:o,s:o}", "id", (json_int_t)m.id, "to", m.dest,
				      "state", state, "parts", m.parts, "attempts", m.attempts, "error",
				      m.error[0] ? m.error : NULL, "queued_at", gw_http_time(m.created), "sent_at",
				      gw_http_time(m.sent_at), "delivered_at", gw_http_time(m.delivered_at)));
}

static int api_tokens(struct gw *gw, struct gw_http_req *r, struct gw_http_out *o, void *data)
{
	void *tmp = talloc_new(o->ctx);
	struct db_token *t;
	json_t *a;
	int n;

	(void)r;
	(void)data;
	n = db_token_list(gw->db, tmp, &t);
	if (n < 0) {
		talloc_free(tmp);
		return db_failed(gw, o, n);
	}
	a = json_array();
	for (int i = 0; a && i < n; i++)
		json_array_append_new(a, json_pack("{s:I,s:s,s:s,s:s,s:s,s:o,s:o,s:o}", "id", (json_int_t)t[i].id,
						   "number", t[i].number, "name", t[i].name, "role", t[i].role, "label",
						   t[i].label, "created_at", gw_http_time(t[i].created_at),
						   "revoked_at", gw_http_time(t[i].revoked_at), "last_used_at",
						   gw_http_time(t[i].last_used_at)));
	talloc_free(tmp);
	return gw_http_json(o, 200, json_pack("{s:o*}", "tokens", a));
}

static int api_metrics(struct gw *gw, struct gw_http_req *r, struct gw_http_out *o, void *data)
{
	char *text;

	(void)data;
	/* a public route, so that http-metrics-public can change at run time (VTY) */
	if (!r->staff && !gw_http_cfg.metrics_public) {
		gw_http_add_header(o, "WWW-Authenticate", "Bearer realm=\"linli\"");
		return gw_http_error(o, 401, "a readonly token is needed (or http-metrics-public)");
	}
	text = gw_http_metrics_text(gw, o->ctx);
	if (!text)
		return -ENOMEM;
	return gw_http_body(o, 200, "text/plain; version=0.0.4; charset=utf-8", text, strlen(text));
}

int gw_http_api_init(void)
{
	static const struct gw_http_route_def routes[] = {
		{"POST", "/api/v1/login", GW_ROLE_PUBLIC, api_login, 0},
		{"POST", "/api/v1/logout", GW_ROLE_READONLY, api_logout, 0},
		{"GET", "/api/v1/me", GW_ROLE_READONLY, api_me, 0},
		{"GET", "/api/v1/modems", GW_ROLE_READONLY, api_modems, 0},
		{"GET", "/api/v1/queues", GW_ROLE_READONLY, api_queues, 0},
		{"GET", "/api/v1/households", GW_ROLE_READONLY, api_households, 0},
		{"GET", "/api/v1/groups", GW_ROLE_READONLY, api_groups, 0},
		{"PATCH", "/api/v1/phones/{number}", GW_ROLE_STAFF, api_phone_patch, 0},
		{"POST", "/api/v1/import", GW_ROLE_OPERATOR, api_import, 0},
		{"POST", "/api/v1/sms", GW_ROLE_STAFF, api_sms_send, 0},
		{"GET", "/api/v1/sms/{id}", GW_ROLE_STAFF, api_sms_get, 0},
		{"GET", "/api/v1/tokens", GW_ROLE_OPERATOR, api_tokens, 0},
	};
	int rc;

	rc = gw_http_routes(routes, ARRAY_SIZE(routes));
	if (rc < 0)
		return rc;
	return gw_http_route("GET", "/metrics", GW_ROLE_PUBLIC, api_metrics, NULL);
}

/* ---- the gateway node's http-* commands ---- */

DEFUN(cfg_http_bind, cfg_http_bind_cmd, "http-bind A.B.C.D <1-65535> [public]",
      "Serve the staff console over HTTP (off without this)\nIPv4 address to listen on\nTCP port\n"
      "Allow an address other than loopback (the console has no TLS: put a TLS proxy in front)\n")
{
	struct in_addr a;

	if (inet_pton(AF_INET, argv[0], &a) != 1) {
		vty_out(vty, "%% not an IPv4 address: %s%s", argv[0], VTY_NEWLINE);
		return CMD_WARNING;
	}
	if ((ntohl(a.s_addr) >> 24) != 127 && argc < 3) {
		vty_out(vty, "%% %s is not loopback: the console speaks plain HTTP; add 'public' if that is meant%s",
			argv[0], VTY_NEWLINE);
		return CMD_WARNING;
	}
	osmo_talloc_replace_string(tall_vty_ctx, &gw_http_cfg.bind, argv[0]);
	gw_http_cfg.port = atoi(argv[1]);
	bind_public = argc >= 3;
	return CMD_SUCCESS;
}

DEFUN(cfg_no_http_bind, cfg_no_http_bind_cmd, "no http-bind", NO_STR "Do not serve the staff console\n")
{
	TALLOC_FREE(gw_http_cfg.bind);
	return CMD_SUCCESS;
}

DEFUN(cfg_http_root, cfg_http_root_cmd, "http-root DIR",
      "Folder of the staff console's page (static files)\nPath (default www)\n")
{
	osmo_talloc_replace_string(tall_vty_ctx, &gw_http_cfg.root, argv[0]);
	return CMD_SUCCESS;
}

DEFUN(cfg_http_metrics_public, cfg_http_metrics_public_cmd, "http-metrics-public",
      "Serve /metrics without a token (for a Prometheus scraper on this host)\n")
{
	gw_http_cfg.metrics_public = true;
	return CMD_SUCCESS;
}

DEFUN(cfg_no_http_metrics_public, cfg_no_http_metrics_public_cmd, "no http-metrics-public",
      NO_STR "Ask a readonly token for /metrics\n")
{
	gw_http_cfg.metrics_public = false;
	return CMD_SUCCESS;
}

static void http_config_write(struct vty *vty)
{
	if (gw_http_cfg.bind)
		vty_out(vty, " http-bind %s %u%s%s", gw_http_cfg.bind, gw_http_cfg.port, bind_public ? " public" : "",
			VTY_NEWLINE);
	if (gw_http_cfg.root)
		vty_out(vty, " http-root %s%s", gw_http_cfg.root, VTY_NEWLINE);
	if (gw_http_cfg.metrics_public)
		vty_out(vty, " http-metrics-public%s", VTY_NEWLINE);
	gw_http_callback_write(vty);
}

void gw_http_vty_init(int node)
{
	install_element(node, &cfg_http_bind_cmd);
	install_element(node, &cfg_no_http_bind_cmd);
	install_element(node, &cfg_http_root_cmd);
	install_element(node, &cfg_http_metrics_public_cmd);
	install_element(node, &cfg_no_http_metrics_public_cmd);
	gw_http_callback_vty_init(node);
	gw_vty_add_writer(http_config_write);
}
