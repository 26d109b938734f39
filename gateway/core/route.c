/* Routing of a committed message. For now: a number the database knows gets the help text
 * (at most once per help-interval); everything is kept in sms_in with a note of what was done.
 * Requests, SOS and staff commands come in their own handlers. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <osmocom/core/logging.h>
#include <osmocom/core/talloc.h>
#include <osmocom/core/utils.h>

#include "db/db.h"
#include "gateway/core/gw.h"
#include "gateway/request/request.h"
#include "gateway/sos/sos.h"

static const char help_zh[] = "邻里社区服务：发送“报事 内容”报告问题，“查询”看进度，“帮助”看说明。紧急情况请拨110/120。";
static const char help_en[] = "linli: text BS <problem> to report, CX to check progress, HELP for help. "
			      "Emergency: call 110/120.";

/* A small table of the last help reply per number; a collision forgets the older number, which
 * at worst lets one extra help reply through. */
#define HELP_SLOTS 4096
struct help_seen {
	char number[32];
	time_t at;
};

void gw_route_init(struct gw *gw)
{
	if (!gw->help_seen)
		gw->help_seen = talloc_zero_array(gw, struct help_seen, HELP_SLOTS);
	if (!gw->rules) {
		char err[256];

		gw_rules_reload(gw, err, sizeof(err)); /* logged; no keywords until `rules reload` works */
	}
}

static struct help_seen *help_slot(struct gw *gw, const char *number)
{
	uint32_t h = 2166136261u;

	for (const char *p = number; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return &((struct help_seen *)gw->help_seen)[h % HELP_SLOTS];
}

/* Whether number may get an automatic reply now; records it if so. */
static bool help_allowed(struct gw *gw, const char *number, time_t now)
{
	struct help_seen *s = help_slot(gw, number);

	if (!strcmp(s->number, number) && now - s->at < (time_t)gw->cfg.help_interval_s)
		return false;
	OSMO_STRLCPY_ARRAY(s->number, number);
	s->at = now;
	return true;
}

/* Decide what message msg_id asks for and queue the answer, inside the caller's transaction.
 * Marks the message done with a note. */
int gw_route(struct gw *gw, int64_t msg_id)
{
	void *tmp = talloc_new(gw);
	struct db_sms_in m;
	struct db_phone ph;
	const char *note;
	int rc;

	rc = db_sms_in_get(gw->db, tmp, msg_id, &m);
	if (rc < 0)
		goto out;
	/* SOS first: a registered watch, an acknowledgement, a binding command (gateway/sos/sos.c) */
	rc = gw_sos_route(gw, &m, &note);
	if (rc < 0)
		goto out;
	if (rc > 0)
		goto done;
	/* requests: 报事, 查询, the grid worker commands, ratings (gateway/request/request.c) */
	rc = gw_request_route(gw, &m, &note);
	if (rc < 0)
		goto out;
	if (rc > 0)
		goto done;
	/* "1"/"收到" nobody took while an SOS is open: refused with a clear reply (gateway/sos/sos.c) */
	rc = gw_sos_refuse_ack(gw, &m, &note);
	if (rc < 0)
		goto out;
	if (rc > 0)
		goto done;
	rc = db_phone_get(gw->db, m.sender, &ph);
	if (rc == 0 || (rc == -ENOENT && gw->cfg.reply_unknown)) {
		bool en = rc == 0 && !strcmp(ph.lang, "en");

		if (help_allowed(gw, m.sender, gw_now())) {
			int64_t id;

			rc = gw_sms_queue(gw, m.sender, en ? help_en : help_zh, DB_PRIO_REPLY, &id);
			if (rc < 0)
				goto out;
			note = "help sent";
		} else {
			note = "help not repeated (rate limit)";
		}
	} else if (rc == -ENOENT) {
		note = "unknown number: stored only";
	} else {
		goto out;
	}
done:
	LOGP(DRT, LOGL_INFO, "message %" PRId64 " from %s: %s\n", msg_id, m.sender, note);
	rc = db_sms_in_done(gw->db, msg_id, note);
out:
	talloc_free(tmp);
	return rc;
}
