/* The router (gateway/core/route.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <inttypes.h>
#include <string.h>

#include <osmocom/core/logging.h>
#include <osmocom/core/talloc.h>
#include <osmocom/core/utils.h>

#include "db/db.h"
#include "gateway/core/gw.h"
#include "gateway/core/limit.h"
#include "gateway/core/outbox.h"
#include "gateway/core/route.h"
#include "gateway/core/rules.h"

#define ROUTE_MAX 16

static const char help_zh[] =
	"邻里社区服务：发送“报事 内容”报告问题，“查询”看进度，“帮助”看说明。紧急情况请拨110/120。";
static const char help_en[] = "linli: text BS <problem> to report, CX to check progress, HELP for help. "
			      "Emergency: call 110/120.";

static struct {
	unsigned n;
	struct {
		const char *name;
		gw_route_fn fn;
	} h[ROUTE_MAX];
} R;

int gw_route_add(struct gw *gw, const char *name, gw_route_fn fn)
{
	(void)gw;
	for (unsigned i = 0; i < R.n; i++)
		if (!strcmp(R.h[i].name, name)) {
			R.h[i].fn = fn; /* registered again (a test's second gateway): the new one */
			return 0;
		}
	if (R.n == ROUTE_MAX)
		return -ENOSPC;
	R.h[R.n].name = name;
	R.h[R.n].fn = fn;
	R.n++;
	return 0;
}

/* The handlers in running order: the rules' `handlers` line first, then the others. */
static unsigned order(struct gw *gw, unsigned idx[ROUTE_MAX])
{
	const struct rt_rules *r = gw->rules;
	bool used[ROUTE_MAX] = {0};
	unsigned n = 0;

	for (unsigned k = 0; r && k < r->nhandlers; k++)
		for (unsigned i = 0; i < R.n; i++)
			if (!used[i] && !strcmp(r->handlers[k], R.h[i].name)) {
				used[i] = true;
				idx[n++] = i;
			}
	for (unsigned i = 0; i < R.n; i++)
		if (!used[i])
			idx[n++] = i;
	return n;
}

int gw_route_get(struct gw *gw, unsigned i, const char **name)
{
	unsigned idx[ROUTE_MAX];

	if (i >= order(gw, idx))
		return -ENOENT;
	*name = R.h[idx[i]].name;
	return 0;
}

static const char flood_zh[] = "您短时间内发送的短信过多，%u分钟内再发的短信只保存、不处理。紧急情况请拨110/120。";
static const char flood_en[] = "You sent too many messages: for %u minutes more are kept but not handled. "
			       "Emergency: call 110/120.";

/* Held senders: blocked by staff, or parked by the flood limit (one notice when it starts). 1 held
 * (*note says why), 0 not, -errno. A watch, staff and grid workers are never parked. */
static int held(struct gw *gw, const struct db_sms_in *m, const char **note)
{
	static char buf[128];
	time_t now = gw_now();
	struct db_phone ph;
	int64_t until = 0, id;
	char txt[200];
	int rc = db_sender_held(gw->db, m->sender, now, &until);

	if (rc < 0)
		return rc;
	*note = buf;
	if (rc == 1) {
		snprintf(buf, sizeof(buf), "blocked by staff: stored, not routed");
		return 1;
	}
	if (rc == 2) {
		snprintf(buf, sizeof(buf), "parked (flood limit) for %lld s more: stored, not routed",
			 (long long)(until - now));
		return 1;
	}
	if (!gw->cfg.flood_max)
		return 0;
	if (!gw->flood_limit)
		gw->flood_limit = gw_limit_alloc(gw, 4096, gw->cfg.flood_max, gw->cfg.flood_window_s);
	gw_limit_set(gw->flood_limit, gw->cfg.flood_max, gw->cfg.flood_window_s);
	if (gw_limit_take(gw->flood_limit, m->sender, now))
		return 0;
	rc = db_sender_exempt(gw->db, m->sender);
	if (rc == 0) /* staff released it within the window: its count is theirs to judge */
		rc = db_sender_released(gw->db, m->sender, now - gw->cfg.flood_window_s);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	snprintf(buf, sizeof(buf), "more than %u messages in %u min", gw->cfg.flood_max, gw->cfg.flood_window_s / 60);
	rc = db_sender_hold(gw->db, m->sender, false, buf, "flood-limit", now, now + gw->cfg.flood_window_s);
	if (rc < 0)
		return rc;
	LOGP(DRT, LOGL_NOTICE, "%s sent %s: parked for %u min (stored, not routed)\n", m->sender, buf,
	     gw->cfg.flood_window_s / 60);
	if (m->sender[0] == '+') {
		rc = db_phone_get(gw->db, m->sender, &ph);
		snprintf(txt, sizeof(txt), rc == 0 && !strcmp(ph.lang, "en") ? flood_en : flood_zh,
			 gw->cfg.flood_window_s / 60);
		rc = gw_sms_queue(gw, m->sender, txt, DB_PRIO_REPLY, &id);
		if (rc < 0 && rc != -EINVAL && rc != -EILSEQ)
			return rc;
	}
	snprintf(buf, sizeof(buf), "parked: more than %u messages in %u min (told once)", gw->cfg.flood_max,
		 gw->cfg.flood_window_s / 60);
	return 1;
}

/* Nobody took it: the help text to a number the database knows (or any, with reply-unknown). */
static int route_help(struct gw *gw, const struct db_sms_in *m, const char **note)
{
	struct db_phone ph;
	int64_t id;
	int rc;

	rc = db_phone_get(gw->db, m->sender, &ph);
	if (rc == -ENOENT && !gw->cfg.reply_unknown) {
		*note = "unknown number: stored only";
		return 0;
	}
	if (rc < 0 && rc != -ENOENT)
		return rc;
	if (!gw->help_limit)
		gw->help_limit = gw_limit_alloc(gw, 4096, 1, gw->cfg.help_interval_s);
	gw_limit_set(gw->help_limit, 1, gw->cfg.help_interval_s);
	if (!gw_limit_take(gw->help_limit, m->sender, gw_now())) {
		*note = "help not repeated (rate limit)";
		return 0;
	}
	rc = gw_sms_queue(gw, m->sender, rc == 0 && !strcmp(ph.lang, "en") ? help_en : help_zh, DB_PRIO_REPLY, &id);
	if (rc < 0)
		return rc;
	*note = "help sent";
	return 0;
}

int gw_route(struct gw *gw, int64_t msg_id)
{
	void *tmp = talloc_new(gw);
	unsigned idx[ROUTE_MAX], n;
	struct db_sms_in m;
	const char *note = NULL, *by = "help";
	int rc;

	rc = db_sms_in_get(gw->db, tmp, msg_id, &m);
	if (rc < 0)
		goto out;
	n = order(gw, idx);
	gw->routing = &m;
	rc = held(gw, &m, &note);
	if (rc != 0) {
		by = "held";
		n = 0;
	}
	for (unsigned i = 0; i < n; i++) {
		note = NULL;
		rc = R.h[idx[i]].fn(gw, &m, &note);
		if (rc != 0) {
			by = R.h[idx[i]].name;
			break;
		}
	}
	if (rc == 0)
		rc = route_help(gw, &m, &note);
	else if (rc > 0 && n == 0)
		rc = 0; /* held: stored and marked done with the reason */
	gw->routing = NULL;
	if (rc < 0)
		goto out;
	LOGP(DRT, LOGL_INFO, "message %" PRId64 " from %s (%s): %s\n", msg_id, m.sender, by, note ? note : "done");
	rc = db_sms_in_done(gw->db, msg_id, note ? note : by);
out:
	talloc_free(tmp);
	return rc;
}

/* The rules file must be a NAME.rules in a folder named routes (after following links): the
 * VTY's `rules-file` must not make linlid read, and report errors about, any file it can read. */
static bool rules_path_ok(const char *path)
{
	char *real = realpath(path, NULL), *slash;
	size_t n;
	bool ok = false;

	if (!real)
		return true; /* does not exist: the load says so */
	n = strlen(real);
	slash = strrchr(real, '/');
	if (slash && n > 6 && !strcmp(real + n - 6, ".rules")) {
		*slash = '\0';
		slash = strrchr(real, '/');
		ok = slash && !strcmp(slash + 1, "routes");
	}
	free(real);
	return ok;
}

int gw_rules_reload(struct gw *gw, char *err, size_t errlen)
{
	const char *path = gw->cfg.rules_file ? gw->cfg.rules_file : "routes/sms.rules";
	struct rt_rules *r = talloc_zero(gw, struct rt_rules);
	int rc;

	if (!rules_path_ok(path)) {
		snprintf(err, errlen, "%s: not a .rules file in a routes/ folder; not read", path);
		rc = -EPERM;
	} else {
		rc = rt_rules_load(r, path, err, errlen);
	}
	if (rc < 0) {
		LOGP(DRT, LOGL_ERROR, "cannot load the keyword rules: %s\n", err);
		talloc_free(r);
		if (!gw->rules)
			gw->rules = talloc_zero(gw, struct rt_rules); /* no keywords until a reload works */
		return rc;
	}
	talloc_free(gw->rules);
	gw->rules = r;
	LOGP(DRT, LOGL_NOTICE, "keyword rules loaded from %s: %u rules, %u replies\n", path, r->nrules, r->ntpl);
	return 0;
}
