/* The group calls in the staff console (docs/console-api.md "SOS, devices and calls"): the recent
 * 6995 calls and SOS alert calls with their legs, and the linli_calls_active gauge. Read only:
 * the calls themselves are driven by the SIP user agent (call.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <osmocom/core/talloc.h>

#include "db/db_call.h"
#include "gateway/call/call.h"
#include "gateway/core/gw.h"
#include "gateway/core/http.h"

#define CALLS_DEFAULT 50
#define CALLS_MAX     200

/* GET /api/v1/calls ?limit=N */
static int calls_list(struct gw *gw, struct gw_http_req *r, struct gw_http_out *o, void *data)
{
	const char *lim = gw_http_arg(r, "limit");
	void *tmp = talloc_new(gw);
	struct db_call *c;
	int limit = CALLS_DEFAULT, n, rc = 0;
	json_t *list;

	(void)data;
	if (lim) {
		char *end;
		long v = strtol(lim, &end, 10);

		if (!*lim || *end || v < 1 || v > CALLS_MAX) {
			gw_http_error(o, 400, "limit must be a number from 1 to %d", CALLS_MAX);
			goto out;
		}
		limit = v;
	}
	n = db_call_rows(gw->db, tmp, limit, &c);
	if (n < 0) {
		rc = n;
		goto out;
	}
	list = json_array();
	for (int i = 0; i < n; i++) {
		struct db_call_leg *l;
		int nl = db_call_leg_rows(gw->db, tmp, c[i].id, &l);
		json_t *legs = json_array();

		if (nl < 0) {
			json_decref(list);
			json_decref(legs);
			rc = nl;
			goto out;
		}
		for (int k = 0; k < nl; k++)
			json_array_append_new(legs,
					      json_pack("{ss ss ss sb so so so so si}", "kind", l[k].kind, "number",
							l[k].number, "state",
							l[k].result[0]	? l[k].result
							: l[k].ended_at ? "ended"
									: "active",
							"joined", l[k].joined_at != 0, "invited_at",
							gw_http_time(l[k].invited_at), "answered_at",
							gw_http_time(l[k].answered_at), "joined_at",
							gw_http_time(l[k].joined_at), "ended_at",
							gw_http_time(l[k].ended_at), "sip_status", l[k].sip_status));
		json_array_append_new(list, json_pack("{sI ss ss so so so ss ss so}", "id", (json_int_t)c[i].id,
						      "caller", c[i].caller, "state", c[i].state, "started_at",
						      gw_http_time(c[i].started), "first_join_at",
						      gw_http_time(c[i].first_join_at), "ended_at",
						      gw_http_time(c[i].ended_at), "end_reason", c[i].end_reason,
						      "note", c[i].note, "legs", legs));
	}
	gw_http_json(o, 200, json_pack("{so}", "calls", list));
out:
	talloc_free(tmp);
	return rc;
}

static void call_metrics(struct gw *gw, struct gw_metrics *m)
{
	int n = db_call_active(gw->db);

	if (n < 0)
		return;
	gw_metric_head(m, "linli_calls_active", "gauge", "Group and SOS alert calls not released yet");
	gw_metric(m, "linli_calls_active", "", n);
}

int call_http_init(struct gw *gw)
{
	int rc;

	(void)gw;
	rc = gw_http_route("GET", "/api/v1/calls", GW_ROLE_READONLY, calls_list, NULL);
	return rc < 0 ? rc : gw_http_add_metrics(call_metrics);
}
