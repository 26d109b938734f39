/* Requests in the staff console (docs/console-api.md "Requests"): the JSON API over the core's
 * HTTP server (gateway/core/http.h). Every action is the one SMS and linlictl use (rq_assign,
 * rq_close, rq_note, rq_extend, rq_reopen, rq_register_approve, rq_points_award ...), inside one
 * transaction, with the staff member as the actor of the event rows ("web:NAME (NUMBER)"), so
 * the history names them and residents and assignees get the very SMS they get otherwise. */
#include <errno.h>
#include <inttypes.h>
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
#include "util/utf8.h"

#define NOTE_MAX   500 /* characters of a note, a result (an SMS of 7-8 parts at most) */
#define REASON_MAX 200 /* characters of a reason (延期, 重办, rejection, points) */
#define PER_PAGE   50
#define PAGE_MAX   200

static const char *const states[] = {"received", "dispatched", "accepted", "in_progress", "returned",
				     "extended", "closed",     "visited",  "reopened",	  "merged"};

/* ---- JSON of the rows ---- */

static json_t *str_or_null(const char *s)
{
	return s && s[0] ? json_string(s) : json_null();
}

/* The 延期 the assignee asked for by SMS and that waits for the staff (request_extend.c), or null
 * (also on a database error, logged: the rest of the request is still worth showing). */
static json_t *extension_json(struct db_context *db, void *ctx, const struct db_request *r)
{
	struct db_extension x;
	int rc;

	if (!db_request_state_open(r->state))
		return json_null();
	rc = db_extension_asked(db, ctx, r->id, &x);
	if (rc < 0) {
		if (rc != -ENOENT)
			LOGP(DRT, LOGL_ERROR, "request %s: the waiting 延期: %s\n", r->ref, strerror(-rc));
		return json_null();
	}
	return json_pack("{s:i, s:s, s:s, s:o, s:o, s:o}", "days", (int)x.days, "reason", x.reason ? x.reason : "",
			 "asked_by", x.asker, "asked_by_name", str_or_null(x.asker_name), "asked_at",
			 gw_http_time(x.created), "expires_at", gw_http_time(x.expires));
}

static json_t *request_json(struct db_context *db, void *ctx, const struct db_request *r, time_t now)
{
	bool open = db_request_state_open(r->state);
	bool overdue = open && ((r->flags & DB_REQ_OVERDUE) || (r->deadline && r->deadline < now));
	json_t *j;

	j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:o, s:o, s:o, s:s, s:o, s:o, "
		      "s:o, s:o, s:b}",
		      "ref", r->ref, "kind", r->kind, "state", r->state, "state_label",
		      rq_state_label(r->state, "zh-CN"), "text", r->text ? r->text : "", "reporter",
		      str_or_null(r->reporter), "household", str_or_null(r->address), "grid", str_or_null(r->grid),
		      "assignee", str_or_null(r->assignee), "assignee_name", str_or_null(r->assignee_name), "deadline",
		      gw_http_time(r->deadline), "overdue", overdue, "created_at", gw_http_time(r->created),
		      "updated_at", gw_http_time(r->updated), "rating", str_or_null(r->rating), "source",
		      r->source[0] ? r->source : "sms", "service", str_or_null(r->service), "address",
		      str_or_null(r->place), "lat", r->has_pos ? json_real(r->lat) : json_null(), "lon",
		      r->has_pos ? json_real(r->lon) : json_null(), "unverified", (r->flags & DB_REQ_UNVERIFIED) != 0);
	if (j)
		json_object_set_new(j, "extension_asked", extension_json(db, ctx, r));
	if (j && r->recording[0]) {
		char url[64];

		snprintf(url, sizeof(url), "/api/v1/requests/%s/recording", r->ref);
		json_object_set_new(j, "recording",
				    json_pack("{s:s, s:i}", "url", url, "seconds", (int)r->recording_s));
	}
	return j;
}

/* ---- input ---- */

/* Characters of a valid UTF-8 string (what the core hands over). */
static size_t chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* The body as a JSON object whose members are all among names (NULL-terminated); NULL with the
 * 400 answered otherwise. */
static json_t *body_object(struct gw_http_req *r, struct gw_http_out *o, const char *const *names)
{
	const char *key;
	json_t *v;

	if (!r->json || !json_is_object(r->json)) {
		gw_http_error(o, 400, "the body must be a JSON object (Content-Type: application/json)");
		return NULL;
	}
	json_object_foreach(r->json, key, v)
	{
		bool known = false;

		for (unsigned i = 0; names[i]; i++)
			known |= !strcmp(key, names[i]);
		if (!known) {
			gw_http_error(o, 400, "unknown field \"%.40s\"", key);
			return NULL;
		}
	}
	return r->json;
}

/* Member name of obj as a string of at most max characters: 1 present (in *out), 0 absent (or
 * null), -1 answered 400 (wrong type, empty while required, too long). */
static int str_field(json_t *obj, const char *name, bool required, size_t max, struct gw_http_out *o, const char **out)
{
	json_t *v = json_object_get(obj, name);
	const char *s;

	*out = NULL;
	if (!v || json_is_null(v)) {
		if (required) {
			gw_http_error(o, 400, "\"%s\" is required", name);
			return -1;
		}
		return 0;
	}
	if (!json_is_string(v)) {
		gw_http_error(o, 400, "\"%s\" must be a string", name);
		return -1;
	}
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v) || memchr(s, '\0', json_string_length(v))) {
		gw_http_error(o, 400, "\"%s\" holds a NUL character", name);
		return -1;
	}
	if (!s[strspn(s, " \t\r\n")]) {
		if (required) {
			gw_http_error(o, 400, "\"%s\" is empty", name);
			return -1;
		}
		return 0;
	}
	if (chars(s) > max) {
		gw_http_error(o, 400, "\"%s\" is longer than %zu characters", name, max);
		return -1;
	}
	*out = s;
	return 1;
}

/* Member name as a whole number within [min, max]: 1 present, 0 absent, -1 answered 400. */
static int int_field(json_t *obj, const char *name, long long min, long long max, struct gw_http_out *o, long long *out)
{
	json_t *v = json_object_get(obj, name);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		gw_http_error(o, 400, "\"%s\" must be a whole number from %lld to %lld", name, min, max);
		return -1;
	}
	*out = json_integer_value(v);
	return 1;
}

/* The {ref} of the path: 6 ASCII digits, else 400 answered and false. */
static bool ref_param(struct gw_http_req *r, struct gw_http_out *o, char ref[8])
{
	const char *p = r->nparam ? r->param[0] : "";

	if (strlen(p) != 6 || strspn(p, "0123456789") != 6) {
		gw_http_error(o, 400, "a ref is 6 digits");
		return false;
	}
	memcpy(ref, p, 7);
	return true;
}

/* The {number} of the path normalised (db_number_norm), else 400 answered and false. */
static bool number_param(struct gw_http_req *r, struct gw_http_out *o, char num[32])
{
	if (!r->nparam || db_number_norm(r->param[0], num, 32) < 0 || num[0] != '+') {
		gw_http_error(o, 400, "not a phone number");
		return false;
	}
	return true;
}

/* A list argument "page"/"per_page": 1.. (per_page at most PAGE_MAX); def when absent; -1 answered. */
static int page_arg(struct gw_http_req *r, struct gw_http_out *o, const char *name, int def, int max)
{
	const char *s = gw_http_arg(r, name);
	char *end;
	long v;

	if (!s)
		return def;
	v = strtol(s, &end, 10);
	if (!s[0] || *end || v < 1 || v > max) {
		gw_http_error(o, 400, "%s must be a whole number from 1 to %d", name, max);
		return -1;
	}
	return (int)v;
}

/* ---- running an action ---- */

typedef int (*action_fn)(struct rq_env *e, void *data, const char *actor, char *err, size_t errlen);

/* fn inside one transaction with the gateway's request environment; its refusal answered (404,
 * 409, 400 with the reason) and 1 returned; 0 when it was committed; -errno on a database error
 * (not answered: the core answers 500). The outbox is kicked after a commit. */
static int run_action(struct gw *gw, struct gw_http_req *r, struct gw_http_out *o, action_fn fn, void *data)
{
	void *tmp = talloc_new(gw);
	char err[256] = "";
	struct rq_env e;
	int rc;

	gw_request_env(gw, &e, tmp, gw_now());
	rc = db_begin(gw->db);
	if (rc == 0)
		rc = fn(&e, data, r->staff->actor, err, sizeof(err));
	if (rc == 0)
		rc = db_commit(gw->db);
	else
		db_rollback(gw->db);
	talloc_free(tmp);
	if (rc == 0) {
		gw_outbox_kick(gw);
		return 0;
	}
	if (rc == -ENOENT || rc == -EPERM || rc == -EINVAL) {
		gw_http_error(o, rc == -ENOENT ? 404 : rc == -EPERM ? 409 : 400, "%s", err[0] ? err : strerror(-rc));
		return 1;
	}
	LOGP(DRT, LOGL_ERROR, "%s %s by %s: %s\n", r->method, r->path, r->staff->actor, strerror(-rc));
	return rc;
}

/* Answer the request ref as it is now (200). */
static int answer_request(struct gw *gw, struct gw_http_out *o, const char *ref, unsigned status)
{
	void *tmp = talloc_new(gw);
	struct db_request q;
	int rc = db_request_get(gw->db, tmp, ref, 0, &q);

	if (rc == 0)
		gw_http_json(o, status, request_json(gw->db, tmp, &q, gw_now()));
	else if (rc == -ENOENT)
		gw_http_error(o, 404, "no request %s", ref);
	talloc_free(tmp);
	return rc == -ENOENT ? 0 : rc;
}

/* ---- GET /api/v1/requests, /api/v1/requests/{ref} ---- */

static int requests_list(struct gw *gw, struct gw_http_req *r, struct gw_http_out *o, void *data)
{
	struct db_request_filter f = {.now = gw_now()};
	const char *state = gw_http_arg(r, "state"), *kind = gw_http_arg(r, "kind"), *grid = gw_http_arg(r, "grid");
	const char *overdue = gw_http_arg(r, "overdue"), *q = gw_http_arg(r, "q");
	struct db_request *rows;
	char num[32];
	int page, per, n, total;
	void *tmp;
	json_t *list;

	(void)data;
	if (state && state[0]) {
		bool ok = !strcmp(state, "open");

		for (unsigned i = 0; i < ARRAY_SIZE(states); i++)
			ok |= !strcmp(state, states[i]);
		if (!ok)
			return gw_http_error(o, 400,
					     "state must be open or one of received, dispatched, accepted, "
					     "in_progress, returned, extended, closed, visited, reopened, merged");
		if (!strcmp(state, "open")) /* "closed" is a state of its own */
			f.open = 1;
		else
			f.state = state;
	}
	if (kind && kind[0]) {
		if (strcmp(kind, "request") && strcmp(kind, "errand"))
			return gw_http_error(o, 400, "kind must be request or errand");
		f.kind = kind;
	}
	if (grid && grid[0]) {
		if (chars(grid) > 31)
			return gw_http_error(o, 400, "grid is a grid's code (at most 31 characters)");
		f.grid = grid;
	}
	if (overdue && overdue[0]) {
		if (strcmp(overdue, "1") && strcmp(overdue, "0") && strcmp(overdue, "true") && strcmp(overdue, "false"))
			return gw_http_error(o, 400, "overdue must be 1 or 0");
		f.overdue = !strcmp(overdue, "1") || !strcmp(overdue, "true");
	}
	if (q && q[0]) {
		if (chars(q) > 100)
			return gw_http_error(o, 400, "q is at most 100 characters");
		/* a number as people write it finds its reporter: "138 0013 8001" -> +8613800138001 */
		f.q = strspn(q, "+0123456789 -") == strlen(q) && db_number_norm(q, num, sizeof(num)) == 0 &&
				      num[0] == '+'
			      ? num
			      : q;
	}
	if ((page = page_arg(r, o, "page", 1, 1000000)) < 0 ||
	    (per = page_arg(r, o, "per_page", PER_PAGE, PAGE_MAX)) < 0)
		return 0;
	f.limit = per;
	f.offset = (page - 1) * per;
	tmp = talloc_new(gw);
	n = db_request_query(gw->db, tmp, &f, &rows, &total);
	if (n < 0) {
		talloc_free(tmp);
		return n;
	}
	list = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(list, request_json(gw->db, tmp, &rows[i], f.now));
	talloc_free(tmp);
	return gw_http_json(
		o, 200,
		json_pack("{s:o, s:i, s:i, s:i}", "requests", list, "total", total, "page", page, "per_page", per));
}

static int request_show(struct gw *gw, struct gw_http_req *r, struct gw_http_out *o, void *data)
{
	void *tmp;
	struct db_request q;
	struct db_request_event *ev;
	char ref[8];
	json_t *j, *events;
	int n, rc;

	(void)data;
	if (!ref_param(r, o, ref))
		return 0;
	tmp = talloc_new(gw);
	rc = db_request_get(gw->db, tmp, ref, 0, &q);
	if (rc == -ENOENT) {
		talloc_free(tmp);
		return gw_http_error(o, 404, "no request %s", ref);
	}
	n = rc < 0 ? rc : db_request_events(gw->db, tmp, q.id, &ev);
	if (n < 0) {
		talloc_free(tmp);
		return n;
	}
	j = request_json(gw->db, tmp, &q, gw_now());
	events = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(events, json_pack("{s:o, s:s, s:o, s:s, s:o}", "at", gw_http_time(ev[i].at),
							"actor", ev[i].actor, "from", str_or_null(ev[i].from), "to",
							ev[i].to, "note", str_or_null(ev[i].note)));
	json_object_set_new(j, "events", events);
	talloc_free(tmp);
	return gw_http_json(o, 200, j);
}

/* ---- the recording of a request by voice ---- */

#define RECORDING_MAX (16 * 1024 * 1024) /* far above 600 s of 8 kHz mu-law */

static const char *(*recordings_dir)(void);

void rq_http_set_recordings_dir(const char *(*fn)(void))
{
	recordings_dir = fn;
}

/* Whether path (resolved: no "..", no symbolic link out) lies inside dir (resolved). */
static bool path_inside(const char *dir, const char *path)
{
	char *d = realpath(dir, NULL), *p = d ? realpath(path, NULL) : NULL;
	size_t n = d ? strlen(d) : 0;
	bool ok = d && p && !strncmp(p, d, n) && (p[n] == '/' || (n == 1 && d[0] == '/'));

	free(d);
	free(p);
	return ok;
}

/* The file at path into a talloc buffer of ctx: 0 with *out, *len; -errno. */
static int file_read(void *ctx, const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	long size;
	int rc = 0;

	if (!f)
		return -errno;
	if (fseek(f, 0, SEEK_END) < 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
		rc = -EIO;
		goto out_close;
	}
	if (size > RECORDING_MAX) {
		rc = -EFBIG;
		goto out_close;
	}
	/* one byte more: gw_http_body copies the body with a NUL after it */
	*out = talloc_size(ctx, size + 1);
	if (size && fread(*out, 1, size, f) != (size_t)size)
		rc = -EIO;
	(*out)[size] = '\0';
	*len = size;
out_close:
	fclose(f);
	return rc;
}

/* GET /api/v1/requests/{ref}/recording: the WAV file of a request by voice, as audio/wav. */
static int request_recording(struct gw *gw, struct gw_http_req *r, struct gw_http_out *o, void *data)
{
	void *tmp;
	struct db_request q;
	char ref[8], *buf = NULL;
	size_t len = 0;
	int rc;

	(void)data;
	if (!ref_param(r, o, ref))
		return 0;
	tmp = talloc_new(gw);
	rc = db_request_get(gw->db, tmp, ref, 0, &q);
	if (rc == -ENOENT || (rc == 0 && !q.recording[0])) {
		talloc_free(tmp);
		return gw_http_error(o, 404, rc ? "no request %s" : "request %s has no recording", ref);
	}
	if (rc < 0) {
		talloc_free(tmp);
		return rc;
	}
	/* only a file of the recordings folder is ever answered, whatever the row says */
	if (!recordings_dir || !path_inside(recordings_dir(), q.recording)) {
		LOGP(DRT, LOGL_ERROR,
		     "request %s: its recording %s is missing or not inside the recordings folder %s\n", ref,
		     q.recording, recordings_dir ? recordings_dir() : "(none)");
		talloc_free(tmp);
		return gw_http_error(o, 404, "the recording of request %s is not available", ref);
	}
	rc = file_read(tmp, q.recording, &buf, &len);
	if (rc < 0) {
		LOGP(DRT, LOGL_ERROR, "request %s: cannot read its recording %s: %s\n", ref, q.recording,
		     strerror(-rc));
		talloc_free(tmp);
		return gw_http_error(o, rc == -ENOENT ? 404 : 500, "the recording of request %s cannot be read", ref);
	}
	rc = gw_http_body(o, 200, "audio/wav", buf, len);
	talloc_free(tmp);
	return rc;
}

/* ---- the actions on one request ---- */

struct act {
	char ref[8];
	const char *text, *text2;
	long long days;
};

static int do_assign(struct rq_env *e, void *data, const char *actor, char *err, size_t errlen)
{
	struct act *a = data;
	struct db_request q;
	int rc = db_request_get(e->db, e->ctx, a->ref, 0, &q);

	if (rc == -ENOENT)
		snprintf(err, errlen, "no request %s", a->ref);
	if (rc < 0)
		return rc;
	rc = rq_assign(e, a->ref, a->text, actor, err, errlen);
	/* the ref exists: -ENOENT is the number's, which the body gave */
	return rc == -ENOENT ? -EINVAL : rc;
}

static int do_note(struct rq_env *e, void *data, const char *actor, char *err, size_t errlen)
{
	struct act *a = data;

	return rq_note(e, a->ref, a->text, actor, err, errlen);
}

static int do_extend(struct rq_env *e, void *data, const char *actor, char *err, size_t errlen)
{
	struct act *a = data;

	return rq_extend(e, a->ref, (unsigned)a->days, a->text2, a->text, actor, err, errlen);
}

static int do_close(struct rq_env *e, void *data, const char *actor, char *err, size_t errlen)
{
	struct act *a = data;

	return rq_close(e, a->ref, a->text, actor, err, errlen);
}

static int do_reopen(struct rq_env *e, void *data, const char *actor, char *err, size_t errlen)
{
	struct act *a = data;

	return rq_reopen(e, a->ref, a->text, actor, err, errlen);
}

/* The actions' routes share this: the ref, the body's fields, the action, the answer. */
enum act_kind { ACT_ASSIGN, ACT_NOTE, ACT_EXTEND, ACT_CLOSE, ACT_REOPEN };

static int request_act(struct gw *gw, struct gw_http_req *r, struct gw_http_out *o, void *data)
{
	static const char *const f_assign[] = {"number", NULL}, *const f_note[] = {"note", NULL},
				 *const f_extend[] = {"days", "deadline", "reason", NULL},
				 *const f_close[] = {"result", NULL}, *const f_reopen[] = {"reason", NULL};
	enum act_kind k = (enum act_kind)(intptr_t)data;
	struct act a = {};
	action_fn fn;
	char num[32];
	json_t *b;
	int rc;

	if (!ref_param(r, o, a.ref))
		return 0;
	switch (k) {
	case ACT_ASSIGN:
		if (!(b = body_object(r, o, f_assign)) || str_field(b, "number", true, 31, o, &a.text) < 0)
			return 0;
		if (db_number_norm(a.text, num, sizeof(num)) < 0 || num[0] != '+')
			return gw_http_error(o, 400, "\"number\" is not a phone number");
		a.text = num;
		fn = do_assign;
		break;
	case ACT_NOTE:
		if (!(b = body_object(r, o, f_note)) || str_field(b, "note", true, NOTE_MAX, o, &a.text) < 0)
			return 0;
		fn = do_note;
		break;
	case ACT_EXTEND:
		if (!(b = body_object(r, o, f_extend)) || str_field(b, "reason", true, REASON_MAX, o, &a.text) < 0)
			return 0;
		rc = int_field(b, "days", 1, RQ_EXTEND_MAX_DAYS, o, &a.days);
		if (rc < 0 || str_field(b, "deadline", false, 10, o, &a.text2) < 0)
			return 0;
		if ((rc > 0) == (a.text2 != NULL))
			return gw_http_error(o, 400,
					     "give either \"days\" (1 to %d working days) or \"deadline\" "
					     "(YYYY-MM-DD)",
					     RQ_EXTEND_MAX_DAYS);
		fn = do_extend;
		break;
	case ACT_CLOSE:
		if (!(b = body_object(r, o, f_close)) || str_field(b, "result", false, NOTE_MAX, o, &a.text) < 0)
			return 0;
		fn = do_close;
		break;
	case ACT_REOPEN:
		if (!(b = body_object(r, o, f_reopen)) || str_field(b, "reason", true, REASON_MAX, o, &a.text) < 0)
			return 0;
		fn = do_reopen;
		break;
	default:
		return -EINVAL;
	}
	rc = run_action(gw, r, o, fn, &a);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	return answer_request(gw, o, a.ref, 200);
}

/* ---- registrations ---- */

static json_t *registration_json(const struct db_registration *g)
{
	return json_pack("{s:s, s:s, s:s, s:o, s:o, s:s, s:o}", "number", g->number, "name", g->name, "address",
			 g->address, "household_match", str_or_null(g->household), "household_address",
			 str_or_null(g->household_address), "state", g->state, "at", gw_http_time(g->created));
}

static int registrations_list(struct gw *gw, struct gw_http_req *r, struct gw_http_out *o, void *data)
{
	static const char *const reg_states[] = {"pending", "linked", "approved", "rejected"};
	const char *state = gw_http_arg(r, "state");
	struct db_registration *g;
	void *tmp;
	json_t *list;
	bool ok = false;
	int n;

	(void)data;
	if (!state || !state[0])
		state = "pending";
	for (unsigned i = 0; i < ARRAY_SIZE(reg_states); i++)
		ok |= !strcmp(state, reg_states[i]);
	if (!ok && strcmp(state, "all"))
		return gw_http_error(o, 400, "state must be pending, linked, approved, rejected or all");
	tmp = talloc_new(gw);
	n = db_registration_query(gw->db, tmp, strcmp(state, "all") ? state : NULL, &g);
	if (n < 0) {
		talloc_free(tmp);
		return n;
	}
	list = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(list, registration_json(&g[i]));
	talloc_free(tmp);
	return gw_http_json(o, 200, json_pack("{s:o}", "registrations", list));
}

struct reg_act {
	char number[32];
	const char *household, *reason;
	bool approve;
};

static int do_register(struct rq_env *e, void *data, const char *actor, char *err, size_t errlen)
{
	struct reg_act *a = data;
	struct db_registration g;
	int rc = db_registration_pending(e->db, a->number, &g);

	if (rc == -ENOENT)
		snprintf(err, errlen, "no pending registration for %s", a->number);
	if (rc < 0)
		return rc;
	if (!a->approve)
		return rq_register_reject(e, a->number, a->reason, actor, err, errlen);
	rc = rq_register_approve(e, a->number, a->household, actor, err, errlen);
	/* pending, so -ENOENT is the household the body named */
	return rc == -ENOENT ? -EINVAL : rc;
}

static int registration_act(struct gw *gw, struct gw_http_req *r, struct gw_http_out *o, void *data)
{
	static const char *const f_approve[] = {"household", NULL}, *const f_reject[] = {"reason", NULL};
	struct reg_act a = {.approve = data != NULL};
	struct db_registration *g;
	void *tmp;
	json_t *b;
	int n, rc;

	if (!number_param(r, o, a.number))
		return 0;
	/* an empty body is an empty object here: both fields are optional */
	if (r->body && r->body_len) {
		if (!(b = body_object(r, o, a.approve ? f_approve : f_reject)))
			return 0;
		if (a.approve ? str_field(b, "household", false, 31, o, &a.household) < 0
			      : str_field(b, "reason", false, REASON_MAX, o, &a.reason) < 0)
			return 0;
	}
	rc = run_action(gw, r, o, do_register, &a);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	tmp = talloc_new(gw);
	n = db_registration_query(gw->db, tmp, NULL, &g);
	for (int i = 0; i < n; i++)
		if (!strcmp(g[i].number, a.number)) {
			gw_http_json(o, 200, registration_json(&g[i]));
			break;
		}
	talloc_free(tmp);
	return n < 0 ? n : 0;
}

/* ---- points ---- */

static int points_answer(struct gw *gw, struct gw_http_out *o, const char *number)
{
	struct db_points_entry *x;
	struct db_phone ph;
	int64_t balance;
	void *tmp;
	json_t *list;
	int n, rc;

	rc = db_phone_get(gw->db, number, &ph);
	if (rc == -ENOENT)
		return gw_http_error(o, 404, "%s is not a phone in the database", number);
	if (rc < 0 || (rc = db_points_balance(gw->db, ph.id, &balance)) < 0)
		return rc;
	tmp = talloc_new(gw);
	n = db_points_entries(gw->db, tmp, ph.id, 100, &x);
	if (n < 0) {
		talloc_free(tmp);
		return n;
	}
	list = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(list, json_pack("{s:o, s:I, s:s, s:s, s:o}", "at", gw_http_time(x[i].at), "n",
						      (json_int_t)x[i].delta, "reason", x[i].reason, "actor",
						      x[i].actor, "ref", str_or_null(x[i].ref)));
	talloc_free(tmp);
	return gw_http_json(
		o, 200,
		json_pack("{s:s, s:I, s:o}", "number", ph.number, "balance", (json_int_t)balance, "entries", list));
}

static int points_show(struct gw *gw, struct gw_http_req *r, struct gw_http_out *o, void *data)
{
	char num[32];

	(void)data;
	if (!number_param(r, o, num))
		return 0;
	return points_answer(gw, o, num);
}

struct points_act {
	char number[32];
	long long n;
	const char *reason;
};

static int do_points(struct rq_env *e, void *data, const char *actor, char *err, size_t errlen)
{
	struct points_act *a = data;
	int64_t balance;

	return rq_points_award(e, a->number, (long)a->n, a->reason, actor, &balance, err, errlen);
}

static int points_award(struct gw *gw, struct gw_http_req *r, struct gw_http_out *o, void *data)
{
	static const char *const fields[] = {"n", "reason", NULL};
	struct points_act a = {};
	json_t *b;
	int rc;

	(void)data;
	if (!number_param(r, o, a.number) || !(b = body_object(r, o, fields)))
		return 0;
	rc = int_field(b, "n", -100000, 100000, o, &a.n);
	if (rc < 0)
		return 0;
	if (rc == 0 || a.n == 0)
		return gw_http_error(o, 400, "\"n\" must be a whole number from -100000 to 100000, not 0");
	if (str_field(b, "reason", true, REASON_MAX, o, &a.reason) < 0)
		return 0;
	rc = run_action(gw, r, o, do_points, &a);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	return points_answer(gw, o, a.number);
}

/* ---- metrics ---- */

struct counts {
	struct gw_metrics *m;
	int64_t overdue, errands;
	bool state_seen[ARRAY_SIZE(states)];
};

static void count_cb(void *data, const char *kind, const char *state, int64_t n, int64_t overdue)
{
	struct counts *c = data;
	char label[64];

	if (!strcmp(kind, "errand")) {
		c->errands += n;
		return;
	}
	for (unsigned i = 0; i < ARRAY_SIZE(states); i++)
		if (!strcmp(state, states[i]))
			c->state_seen[i] = true;
	snprintf(label, sizeof(label), "state=\"%s\"", state);
	gw_metric(c->m, "linli_requests_open", label, (double)n);
	c->overdue += overdue;
}

static void rq_metrics(struct gw *gw, struct gw_metrics *m)
{
	struct counts c = {.m = m};
	char label[64];

	gw_metric_head(m, "linli_requests_open", "gauge", "Open requests (kind request) by state");
	if (db_request_open_counts(gw->db, gw_now(), count_cb, &c) < 0)
		return;
	/* every open state, 0 included, so a dashboard's series do not vanish */
	for (unsigned i = 0; i < ARRAY_SIZE(states); i++)
		if (db_request_state_open(states[i]) && !c.state_seen[i]) {
			snprintf(label, sizeof(label), "state=\"%s\"", states[i]);
			gw_metric(m, "linli_requests_open", label, 0);
		}
	gw_metric_head(m, "linli_requests_overdue", "gauge", "Open requests past their deadline (超时)");
	gw_metric(m, "linli_requests_overdue", "", (double)c.overdue);
	gw_metric_head(m, "linli_errands_open", "gauge", "Open errands (跑腿)");
	gw_metric(m, "linli_errands_open", "", (double)c.errands);
}

/* ---- the routes ---- */

int rq_http_init(struct gw *gw)
{
	static const struct gw_http_route_def routes[] = {
		{"GET", "/api/v1/requests", GW_ROLE_READONLY, requests_list, 0},
		{"GET", "/api/v1/requests/{ref}", GW_ROLE_READONLY, request_show, 0},
		{"GET", "/api/v1/requests/{ref}/recording", GW_ROLE_READONLY, request_recording, 0},
		{"POST", "/api/v1/requests/{ref}/assign", GW_ROLE_STAFF, request_act, ACT_ASSIGN},
		{"POST", "/api/v1/requests/{ref}/note", GW_ROLE_STAFF, request_act, ACT_NOTE},
		{"POST", "/api/v1/requests/{ref}/extend", GW_ROLE_STAFF, request_act, ACT_EXTEND},
		{"POST", "/api/v1/requests/{ref}/close", GW_ROLE_STAFF, request_act, ACT_CLOSE},
		{"POST", "/api/v1/requests/{ref}/reopen", GW_ROLE_STAFF, request_act, ACT_REOPEN},
		{"GET", "/api/v1/registrations", GW_ROLE_READONLY, registrations_list, 0},
		{"POST", "/api/v1/registrations/{number}/approve", GW_ROLE_STAFF, registration_act, 1},
		{"POST", "/api/v1/registrations/{number}/reject", GW_ROLE_STAFF, registration_act, 0},
		{"GET", "/api/v1/points/{number}", GW_ROLE_READONLY, points_show, 0},
		{"POST", "/api/v1/points/{number}", GW_ROLE_STAFF, points_award, 0},
	};
	int rc = gw_http_routes(routes, ARRAY_SIZE(routes));

	if (rc == 0)
		rc = gw_http_add_metrics(rq_metrics);
	if (rc == 0)
		rc = rq_open311_init(gw);
	if (rc == 0)
		rc = rq_district_init();
	return rc;
}
