/* Requests: the staff's actions on one request (linlictl request assign, close): reassign, close. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <osmocom/core/talloc.h>

#include "db/db.h"
#include "gateway/request/request.h"
#include "gateway/request/request_priv.h"

static int staff_get_open(struct rq_env *e, const char *ref, struct db_request *r, char *err, size_t errlen)
{
	int rc = db_request_get(e->db, e->ctx, ref, 0, r);

	if (rc == -ENOENT)
		snprintf(err, errlen, "no request %s", ref);
	if (rc < 0)
		return rc;
	if (!db_request_state_open(r->state)) {
		snprintf(err, errlen, "request %s is %s", ref, r->state);
		return -EPERM;
	}
	return 0;
}

int rq_assign(struct rq_env *e, const char *ref, const char *number, const char *actor, char *err, size_t errlen)
{
	struct db_request r;
	struct db_phone ph;
	char num[32];
	int rc;

	err[0] = '\0';
	rc = staff_get_open(e, ref, &r, err, errlen);
	if (rc < 0)
		return rc;
	if (db_number_norm(number, num, sizeof(num)) < 0 || (rc = db_phone_get(e->db, num, &ph)) == -ENOENT) {
		snprintf(err, errlen, "%s is not a phone in the database", number);
		return -ENOENT;
	}
	if (rc < 0)
		return rc;
	r.assignee_phone_id = ph.id;
	rc = rq_transition(e, &r, "dispatched", actor,
			   talloc_asprintf(e->ctx, "reassigned to %s %s", ph.number, ph.name));
	return rc < 0 ? rc : rq_notify_assignee(e, &r, "改派", "Reassigned");
}

int rq_close(struct rq_env *e, const char *ref, const char *result, const char *actor, char *err, size_t errlen)
{
	struct db_request r;
	int rc;

	err[0] = '\0';
	rc = staff_get_open(e, ref, &r, err, errlen);
	if (rc < 0)
		return rc;
	if (!result || !result[0])
		result = !strcmp(r.reporter_lang, "en") ? "done" : "已处理";
	rc = rq_transition(e, &r, "closed", actor, result);
	if (rc == 0) {
		const char *keys[] = {"ref", "result"};
		const char *vals[] = {r.ref, result};

		rc = rq_send_tpl(e, r.reporter, r.reporter_lang, DB_PRIO_REPLY, "resolved", keys, vals, 2);
	}
	return rc;
}
