/* Requests: the overdue check, open requests past their deadline reminded (催办) and then
 * escalated to the staff (督办), and its due hook. */
#include <errno.h>
#include <string.h>

#include <osmocom/core/logging.h>
#include <osmocom/core/talloc.h>
#include <osmocom/core/tdef.h>

#include "db/db.h"
#include "gateway/core/gw.h"
#include "gateway/core/outbox.h"
#include "gateway/request/request.h"
#include "gateway/request/request_priv.h"

int rq_overdue(struct rq_env *e, unsigned escalate_after_s)
{
	int64_t *ids;
	int n, changed = 0, rc = 0;

	n = db_request_due(e->db, e->ctx, e->now, e->now - escalate_after_s, &ids);
	if (n < 0)
		return n;
	for (int i = 0; i < n && rc == 0; i++) {
		struct db_request r;
		char date[32];

		rc = db_request_get(e->db, e->ctx, NULL, ids[i], &r);
		if (rc < 0)
			break;
		if (!(r.flags & DB_REQ_OVERDUE)) {
			struct rq_staff_list l = {.n = 0};
			struct db_phone to;
			const char *keys[] = {"ref", "date", "address", "text"};
			const char *vals[] = {r.ref, date, r.address, r.text};

			r.flags |= DB_REQ_OVERDUE | DB_REQ_REMINDED;
			r.updated = e->now;
			rc = db_request_update(e->db, &r);
			if (rc == 0)
				rc = rq_event(e, &r, "system", r.state, "超时，已催办");
			if (rc == 0 && r.assignee_phone_id &&
			    (rc = db_phone_get_id(e->db, r.assignee_phone_id, &to)) == 0) {
				rq_date(r.deadline, to.lang, date, sizeof(date));
				rc = rq_send_tpl(e, to.number, to.lang, DB_PRIO_STAFF, "remind", keys, vals, 4);
			} else if (rc == 0) {
				rc = rq_staff_get(e, &l);
				for (int k = 0; rc == 0 && k < l.n; k++) {
					rq_date(r.deadline, l.p[k].lang, date, sizeof(date));
					rc = rq_send_tpl(e, l.p[k].number, l.p[k].lang, DB_PRIO_STAFF, "remind", keys,
							 vals, 4);
				}
			}
		} else {
			struct rq_staff_list l = {.n = 0};
			const char *keys[] = {"ref", "date", "assignee", "address", "text"};
			const char *vals[] = {r.ref, date, r.assignee[0] ? r.assignee : "-", r.address, r.text};

			r.flags |= DB_REQ_ESCALATED;
			r.updated = e->now;
			rc = db_request_update(e->db, &r);
			if (rc == 0)
				rc = rq_event(e, &r, "system", r.state, "督办");
			if (rc == 0)
				rc = rq_staff_get(e, &l);
			for (int k = 0; rc == 0 && k < l.n; k++) {
				rq_date(r.deadline, l.p[k].lang, date, sizeof(date));
				rc = rq_send_tpl(e, l.p[k].number, l.p[k].lang, DB_PRIO_STAFF, "escalate", keys, vals,
						 5);
			}
		}
		if (rc == 0) {
			changed++;
			LOGP(DRT, LOGL_NOTICE, "request %s overdue: %s\n", r.ref,
			     (r.flags & DB_REQ_ESCALATED) ? "escalated to the staff" : "assignee reminded");
		}
	}
	return rc < 0 ? rc : changed;
}

/* Due work every OVERDUE_EVERY_S: open requests past their deadline are flagged and chased. */
#define OVERDUE_EVERY_S 5

/* request_priv.h: rq_overdue and the lapse of unanswered 延期 asks in their own transaction, every
 * OVERDUE_EVERY_S. */
time_t rq_overdue_due(struct gw *gw, time_t now, void *data)
{
	struct rq_env e;
	void *tmp;
	int rc;

	(void)data;
	tmp = talloc_new(gw);
	gw_request_env(gw, &e, tmp, now);
	rc = db_begin(gw->db);
	if (rc == 0) {
		rc = rq_overdue(&e, osmo_tdef_get(rq_tdefs, RQ_T_ESCALATE, OSMO_TDEF_S, -1));
		if (rc >= 0) {
			int n = rq_extension_lapse(&e);

			rc = n < 0 ? n : rc + n;
		}
		if (rc < 0 || db_commit(gw->db) < 0) {
			db_rollback(gw->db);
			LOGP(DRT, LOGL_ERROR, "overdue check failed: %s\n", strerror(rc < 0 ? -rc : EIO));
		} else if (rc > 0) {
			gw_outbox_kick(gw);
		}
	}
	talloc_free(tmp);
	return now + OVERDUE_EVERY_S;
}
