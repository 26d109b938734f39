/* SOS in the staff console (docs/console-api.md "SOS, devices and calls"): incidents with every
 * alert attempt and their history, acknowledgement on someone's behalf, resolve, false alarm;
 * watches and their bindings, approve, remove; the SOS metrics. Every route needs a token (a
 * watch's position is shown to authenticated staff only), every change goes through the same
 * functions as the SMS and linlictl paths (sos.c, sos_bind.c), inside one transaction. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <osmocom/core/logging.h>
#include <osmocom/core/talloc.h>
#include <osmocom/core/utils.h>

#include "db/db.h"
#include "gateway/core/clock.h"
#include "gateway/core/gw.h"
#include "gateway/core/http.h"
#include "gateway/core/outbox.h"
#include "gateway/sos/sos.h"

#define NOTE_MAX      500 /* bytes of a note staff give */
#define PER_PAGE      50
#define PER_PAGE_MAX  200
#define HIST_WINDOW_S (30 * 86400) /* the histograms cover the incidents of the last 30 days */

/* A positive decimal id, the whole segment; false otherwise. */
static bool parse_id(const char *s, int64_t *id)
{
	char *end;
	long long v;

	if (!s || !*s || strlen(s) > 18 || *s < '0' || *s > '9')
		return false;
	v = strtoll(s, &end, 10);
	if (*end || v <= 0)
		return false;
	*id = v;
	return true;
}

/* page and per_page of a list (docs/console-api.md); false with 400 answered when bad. */
static bool paging(const struct gw_http_req *r, struct gw_http_out *o, int *page, int *per_page)
{
	const char *p = gw_http_arg(r, "page"), *n = gw_http_arg(r, "per_page");
	int64_t v;

	*page = 1;
	*per_page = PER_PAGE;
	if (p && (!parse_id(p, &v) || v > 1000000)) {
		gw_http_error(o, 400, "page must be a number from 1");
		return false;
	}
	if (p)
		*page = v;
	if (n && (!parse_id(n, &v) || v > PER_PAGE_MAX)) {
		gw_http_error(o, 400, "per_page must be a number from 1 to %d", PER_PAGE_MAX);
		return false;
	}
	if (n)
		*per_page = v;
	return true;
}

/* The optional JSON object body of an action; false with 400 answered when it is not one. */
static bool action_body(const struct gw_http_req *r, struct gw_http_out *o)
{
	if (!r->body || !r->body_len)
		return true;
	if (!r->json) {
		gw_http_error(o, 400, "the body must be a JSON object (Content-Type: application/json)");
		return false;
	}
	if (!json_is_object(r->json)) {
		gw_http_error(o, 400, "the body must be a JSON object");
		return false;
	}
	return true;
}

/* A string field of the body, absent -> NULL; false with 400 answered when it has another type
 * or is too long. */
static bool body_string(const struct gw_http_req *r, struct gw_http_out *o, const char *name, size_t max,
			const char **out)
{
	json_t *v = r->json ? json_object_get(r->json, name) : NULL;

	*out = NULL;
	if (!v || json_is_null(v))
		return true;
	if (!json_is_string(v)) {
		gw_http_error(o, 400, "%s must be a string", name);
		return false;
	}
	if (json_string_length(v) > max) {
		gw_http_error(o, 400, "%s is longer than %zu bytes", name, max);
		return false;
	}
	*out = json_string_value(v);
	return true;
}

static json_t *incident_json(struct gw *gw, const struct db_sos_incident_row *row)
{
	const struct db_sos_incident *i = &row->inc;
	char map[200] = "";
	struct db_phone ph;
	json_t *j;

	if (i->has_pos && sos_map_link(i->lat, i->lon, map, sizeof(map)) < 0)
		map[0] = '\0';
	j = json_pack("{sI ss ss ss ss ss ss so so so so so so so so so ss so si si si si ss ss}", "id",
		      (json_int_t)i->id, "kind", i->kind, "kind_label", sos_kind_label(i->kind), "state", i->state,
		      "watch", row->watch, "wearer", row->wearer, "household", row->household, "address",
		      json_string(row->address), "lat", i->has_pos ? json_real(i->lat) : json_null(), "lon",
		      i->has_pos ? json_real(i->lon) : json_null(), "map_url", map[0] ? json_string(map) : json_null(),
		      "raised_at", gw_http_time(i->created), "first_alert_at", gw_http_time(i->first_alert_at),
		      "first_sent_at", gw_http_time(i->first_sent_at), "acked_at", gw_http_time(i->acked_at),
		      "acked_by", i->acked_by[0] ? json_string(i->acked_by) : json_null(), "acked_by_name", "",
		      "resolved_at", gw_http_time(i->resolved_at), "alerts_sent", row->alerts_sent, "alarm_count",
		      i->alarms, "step", i->step, "round", i->round, "battery", i->battery, "fix", i->fix);
	if (j && i->acked_by[0] && db_phone_get(gw->db, i->acked_by, &ph) == 0 && ph.name[0])
		json_object_set_new(j, "acked_by_name", json_string(ph.name));
	return j;
}

/* GET /api/v1/incidents ?state=open|all */
static int incidents_list(struct gw *gw, struct gw_http_req *r, struct gw_http_out *o, void *data)
{
	const char *state = gw_http_arg(r, "state");
	void *tmp = talloc_new(gw);
	struct db_sos_incident_row *v;
	bool open_only;
	int page, per_page, n, rc = 0;
	int64_t total = 0;
	json_t *list;

	(void)data;
	if (state && strcmp(state, "open") && strcmp(state, "all")) {
		gw_http_error(o, 400, "state must be open or all");
		goto out;
	}
	if (!paging(r, o, &page, &per_page))
		goto out;
	open_only = state && !strcmp(state, "open");
	n = db_sos_incident_rows(gw->db, tmp, open_only, per_page, (page - 1) * per_page, &v);
	if (n < 0) {
		rc = n;
		goto out;
	}
	total = db_sos_incident_count(gw->db, open_only);
	if (total < 0) {
		rc = total;
		goto out;
	}
	list = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(list, incident_json(gw, &v[i]));
	gw_http_json(o, 200,
		     json_pack("{so sI si si}", "incidents", list, "total", (json_int_t)total, "page", page, "per_page",
			       per_page));
out:
	talloc_free(tmp);
	return rc;
}

/* The incident with its alarms, attempts and events. */
static int incident_full(struct gw *gw, void *ctx, int64_t id, json_t **out)
{
	struct db_sos_incident_row row;
	struct db_sos_attempt_row *a;
	struct db_sos_event *e;
	struct db_sos_alarm *al;
	json_t *j, *arr;
	int rc, n;

	rc = db_sos_incident_row(gw->db, ctx, id, &row);
	if (rc < 0)
		return rc;
	j = incident_json(gw, &row);
	if (!j)
		return -ENOMEM;
	n = db_sos_alarm_rows(gw->db, ctx, id, &al);
	arr = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(arr, json_pack("{so ss ss}", "at", gw_http_time(al[i].at), "channel",
						     al[i].channel, "text", al[i].text ? al[i].text : ""));
	json_object_set_new(j, "alarms", arr);
	n = n < 0 ? n : db_sos_attempt_rows(gw->db, ctx, id, &a);
	arr = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(
			arr, json_pack("{sI si ss ss ss ss ss sb so so so so}", "id", (json_int_t)a[i].id, "step",
				       a[i].step, "kind", a[i].kind, "channel", a[i].channel, "number", a[i].number,
				       "name", a[i].name, "state", a[i].state, "location", a[i].location, "queued_at",
				       gw_http_time(a[i].queued_at), "sent_at", gw_http_time(a[i].sent_at),
				       "delivered_at", gw_http_time(a[i].delivered_at), "error",
				       a[i].error[0] ? json_string(a[i].error) : json_null()));
	json_object_set_new(j, "attempts", arr);
	n = n < 0 ? n : db_sos_event_rows(gw->db, ctx, id, &e);
	arr = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(arr,
				      json_pack("{so ss so ss ss}", "at", gw_http_time(e[i].at), "actor", e[i].actor,
						"from", e[i].from[0] ? json_string(e[i].from) : json_null(), "to",
						e[i].to, "note", e[i].note));
	json_object_set_new(j, "events", arr);
	if (n < 0) {
		json_decref(j);
		return n;
	}
	*out = j;
	return 0;
}

/* GET /api/v1/incidents/{id} */
static int incident_show(struct gw *gw, struct gw_http_req *r, struct gw_http_out *o, void *data)
{
	void *tmp = talloc_new(gw);
	int64_t id;
	json_t *j;
	int rc = 0;

	(void)data;
	if (!parse_id(r->param[0], &id)) {
		gw_http_error(o, 404, "no incident %s", r->param[0]);
		goto out;
	}
	rc = incident_full(gw, tmp, id, &j);
	if (rc == -ENOENT) {
		rc = gw_http_error(o, 404, "no incident %" PRId64, id);
		goto out;
	}
	if (rc == 0)
		gw_http_json(o, 200, j);
out:
	talloc_free(tmp);
	return rc;
}

enum action {
	ACT_ACK,
	ACT_RESOLVE,
	ACT_FALSE_ALARM,
};

/* POST /api/v1/incidents/{id}/ack|resolve|false-alarm */
static int incident_action(struct gw *gw, struct gw_http_req *r, struct gw_http_out *o, void *data)
{
	enum action act = (enum action)(intptr_t)data;
	const char *note = NULL, *behalf = NULL;
	char num[32];
	void *tmp = talloc_new(gw);
	int64_t id;
	json_t *j;
	int rc = 0;

	if (!parse_id(r->param[0], &id)) {
		gw_http_error(o, 404, "no incident %s", r->param[0]);
		goto out;
	}
	if (!action_body(r, o) || !body_string(r, o, "note", NOTE_MAX, &note))
		goto out;
	if (act == ACT_ACK) {
		if (!body_string(r, o, "on_behalf_of", 40, &behalf))
			goto out;
		/* a phone number: a sender ID ("ChinaMobile") is never a contact */
		if (behalf &&
		    (db_number_norm(behalf, num, sizeof(num)) < 0 || strspn(num, "+0123456789") != strlen(num))) {
			gw_http_error(o, 400, "on_behalf_of is not a phone number");
			goto out;
		}
	}
	rc = db_begin(gw->db);
	if (rc < 0)
		goto out;
	if (act == ACT_ACK)
		rc = sos_ack_staff(gw, id, r->staff->number, behalf ? num : NULL, r->staff->actor, note);
	else
		rc = sos_close(gw, id, act == ACT_FALSE_ALARM, r->staff->actor, note);
	if (rc < 0) {
		db_rollback(gw->db);
		if (rc == -ENOENT)
			rc = gw_http_error(o, 404, "no incident %" PRId64, id);
		else if (rc == -EALREADY && act == ACT_ACK)
			rc = gw_http_error(o, 409, "incident %" PRId64 " is not waiting for an acknowledgement", id);
		else if (rc == -EALREADY)
			rc = gw_http_error(o, 409, "incident %" PRId64 " is closed already", id);
		else if (rc == -EPERM)
			rc = gw_http_error(o, 422,
					   "%s may not acknowledge incident %" PRId64
					   ": neither bound to the watch nor alerted for it",
					   num, id);
		goto out;
	}
	rc = db_commit(gw->db);
	if (rc < 0) {
		db_rollback(gw->db);
		goto out;
	}
	gw_outbox_kick(gw);
	rc = incident_full(gw, tmp, id, &j);
	if (rc == 0)
		gw_http_json(o, 200, j);
out:
	talloc_free(tmp);
	return rc;
}

static json_t *binding_json(const struct db_binding_row *b)
{
	return json_pack("{sI ss ss ss ss si so so so}", "id", (json_int_t)b->b.id, "watch", b->b.device_number,
			 "phone", b->b.number, "name", b->name, "state", b->b.state, "step", b->b.step, "created_at",
			 gw_http_time(b->created), "approved_at", gw_http_time(b->approved_at), "approved_by",
			 b->approved_by[0] ? json_string(b->approved_by) : json_null());
}

/* GET /api/v1/devices */
static int devices_list(struct gw *gw, struct gw_http_req *r, struct gw_http_out *o, void *data)
{
	void *tmp = talloc_new(gw);
	struct db_device_row *d;
	struct db_binding_row *b;
	int nd, nb, rc = 0;
	json_t *list;

	(void)r;
	(void)data;
	nd = db_device_rows(gw->db, tmp, &d);
	nb = nd < 0 ? nd : db_binding_rows(gw->db, tmp, 0, false, &b);
	if (nb < 0) {
		rc = nb;
		goto out;
	}
	list = json_array();
	for (int i = 0; i < nd; i++) {
		json_t *bl = json_array();

		for (int k = 0; k < nb; k++)
			if (b[k].b.device_id == d[i].dev.id)
				json_array_append_new(bl, binding_json(&b[k]));
		json_array_append_new(
			list, json_pack("{sI ss ss ss ss ss so so so}", "id", (json_int_t)d[i].dev.id, "number",
					d[i].dev.number, "dialect", d[i].dev.dialect, "wearer", d[i].dev.person,
					"household", d[i].dev.household, "address", d[i].dev.address, "last_seen_at",
					gw_http_time(d[i].last_seen_at), "battery",
					d[i].battery[0] ? json_string(d[i].battery) : json_null(), "bindings", bl));
	}
	gw_http_json(o, 200, json_pack("{so}", "devices", list));
out:
	talloc_free(tmp);
	return rc;
}

/* GET /api/v1/bindings ?state=pending|all */
static int bindings_list(struct gw *gw, struct gw_http_req *r, struct gw_http_out *o, void *data)
{
	const char *state = gw_http_arg(r, "state");
	void *tmp = talloc_new(gw);
	struct db_binding_row *b;
	int n, rc = 0;
	json_t *list;

	(void)data;
	if (state && strcmp(state, "pending") && strcmp(state, "all")) {
		gw_http_error(o, 400, "state must be pending or all");
		goto out;
	}
	n = db_binding_rows(gw->db, tmp, 0, state && !strcmp(state, "pending"), &b);
	if (n < 0) {
		rc = n;
		goto out;
	}
	list = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(list, binding_json(&b[i]));
	gw_http_json(o, 200, json_pack("{so}", "bindings", list));
out:
	talloc_free(tmp);
	return rc;
}

/* POST /api/v1/bindings/{id}/approve and DELETE /api/v1/bindings/{id} (data: 1 for remove) */
static int binding_action(struct gw *gw, struct gw_http_req *r, struct gw_http_out *o, void *data)
{
	bool remove = data != NULL;
	struct db_binding_row b;
	int64_t id;
	int rc;

	if (!parse_id(r->param[0], &id))
		return gw_http_error(o, 404, "no binding %s", r->param[0]);
	if (!action_body(r, o))
		return 0;
	rc = db_begin(gw->db);
	if (rc < 0)
		return rc;
	rc = remove ? sos_binding_remove(gw, id, r->staff->actor) : sos_binding_approve(gw, id, r->staff->actor);
	if (rc < 0) {
		db_rollback(gw->db);
		if (rc == -ENOENT)
			return gw_http_error(o, 404, "no binding %" PRId64, id);
		if (rc == -EALREADY)
			return gw_http_error(o, 409, "binding %" PRId64 " is approved already", id);
		return rc;
	}
	rc = db_commit(gw->db);
	if (rc < 0) {
		db_rollback(gw->db);
		return rc;
	}
	gw_outbox_kick(gw);
	if (remove)
		return gw_http_body(o, 204, "application/json", "", 0);
	rc = db_binding_by_id(gw->db, id, &b);
	if (rc < 0)
		return rc;
	return gw_http_json(o, 200, binding_json(&b));
}

/* ---- metrics ---- */

struct open_counts {
	int64_t raised, notifying, acknowledged;
};

static void count_state(void *data, const char *state, int64_t n)
{
	struct open_counts *c = data;

	if (!strcmp(state, "raised"))
		c->raised = n;
	else if (!strcmp(state, "notifying"))
		c->notifying = n;
	else if (!strcmp(state, "acknowledged"))
		c->acknowledged = n;
}

static void histogram(struct gw *gw, struct gw_metrics *m, enum db_sos_hist_kind kind, const char *name,
		      const char *help)
{
	struct db_sos_hist h;
	char sample[96], le[32];

	if (db_sos_hist(gw->db, kind, gw_now() - HIST_WINDOW_S, &h) < 0)
		return;
	gw_metric_head(m, name, "histogram", help);
	snprintf(sample, sizeof(sample), "%s_bucket", name);
	for (int i = 0; i < DB_SOS_HIST_NB; i++) {
		snprintf(le, sizeof(le), "le=\"%d\"", db_sos_hist_le[i]);
		gw_metric(m, sample, le, h.le[i]);
	}
	gw_metric(m, sample, "le=\"+Inf\"", h.count);
	snprintf(sample, sizeof(sample), "%s_sum", name);
	gw_metric(m, sample, "", h.sum);
	snprintf(sample, sizeof(sample), "%s_count", name);
	gw_metric(m, sample, "", h.count);
}

static void sos_metrics(struct gw *gw, struct gw_metrics *m)
{
	struct open_counts c = {0};

	if (db_sos_state_counts(gw->db, count_state, &c) >= 0) {
		gw_metric_head(m, "linli_sos_incidents_open", "gauge",
			       "SOS incidents not closed, by state (raised and notifying: nobody acknowledged yet)");
		gw_metric(m, "linli_sos_incidents_open", "state=\"raised\"", c.raised);
		gw_metric(m, "linli_sos_incidents_open", "state=\"notifying\"", c.notifying);
		gw_metric(m, "linli_sos_incidents_open", "state=\"acknowledged\"", c.acknowledged);
	}
	histogram(gw, m, DB_SOS_HIST_FIRST_ALERT, "linli_sos_time_to_first_alert_seconds",
		  "From the alarm to the first alert a modem accepted, incidents of the last 30 days");
	histogram(gw, m, DB_SOS_HIST_ACK, "linli_sos_time_to_ack_seconds",
		  "From the alarm to its acknowledgement, incidents of the last 30 days");
}

int sos_http_init(struct gw *gw)
{
	static const struct gw_http_route_def routes[] = {
		{"GET", "/api/v1/incidents", GW_ROLE_READONLY, incidents_list, 0},
		{"GET", "/api/v1/incidents/{id}", GW_ROLE_READONLY, incident_show, 0},
		{"POST", "/api/v1/incidents/{id}/ack", GW_ROLE_STAFF, incident_action, ACT_ACK},
		{"POST", "/api/v1/incidents/{id}/resolve", GW_ROLE_STAFF, incident_action, ACT_RESOLVE},
		{"POST", "/api/v1/incidents/{id}/false-alarm", GW_ROLE_STAFF, incident_action, ACT_FALSE_ALARM},
		{"GET", "/api/v1/devices", GW_ROLE_READONLY, devices_list, 0},
		{"GET", "/api/v1/bindings", GW_ROLE_READONLY, bindings_list, 0},
		{"POST", "/api/v1/bindings/{id}/approve", GW_ROLE_STAFF, binding_action, 0},
		{"DELETE", "/api/v1/bindings/{id}", GW_ROLE_STAFF, binding_action, 1},
	};
	int rc;

	(void)gw;
	rc = gw_http_routes(routes, ARRAY_SIZE(routes));
	if (rc < 0)
		return rc;
	return gw_http_add_metrics(sos_metrics);
}
