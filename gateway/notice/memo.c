/* The staff inbox (留言, issue 12): a known resident's text that matches no keyword is not left
 * with the help text, nobody told. It goes to the household's grid worker (or, without one, to
 * every duty staff phone) as a memo with a number; the resident is told where it went; whoever
 * it went to (or any staff) answers with 回复 <id> <text> / HF ..., and the resident gets the
 * answer. Without keyword rules nothing can tell a command from free text, so no memos then. A
 * resident sends at most MEMO_MAX memos per MEMO_WINDOW_S: more are kept (the message is in
 * sms_in) but not passed on, and the resident is told once. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <talloc.h>
#include <osmocom/core/logging.h>
#include <osmocom/core/utils.h>

#include "db/db.h"
#include "gateway/core/gw.h"
#include "gateway/core/limit.h"
#include "gateway/core/rules.h"
#include "gateway/notice/notice_priv.h"
#include "util/utf8.h"

#define MEMO_MAX      5
#define MEMO_WINDOW_S 3600
#define MEMO_TXT_MAX  600

static struct gw_limit *memo_limit, *limited_notice;

/* Free text worth passing on: two characters at least that are not digits, spaces or
 * punctuation (a lone "1", "?" or "好" is not a message to staff). */
static bool worth_a_memo(const char *norm)
{
	size_t len = strlen(norm), i = 0;
	unsigned n = 0;
	uint32_t cp;

	while (i < len && utf8_next((const uint8_t *)norm, len, &i, &cp) == 0)
		if (cp > 0x7f ? cp != 0x3002 && cp != 0xff0c && cp != 0xff1f && cp != 0xff01 : (cp >= 'A' && cp <= 'Z'))
			n++;
	return n >= 2;
}

static int memo_new(struct gw *gw, const struct db_sms_in *m, const struct db_phone *ph, const char *norm,
		    const char **note)
{
	static char buf[160];
	void *ctx = talloc_new(gw);
	struct db_memo memo = {0};
	char worker[32] = "", wname[64] = "", address[96] = "", id_s[24], text[MEMO_TXT_MAX], to[96];
	char **staff = NULL;
	int64_t id;
	int n = 0, rc;

	*note = buf;
	if (!memo_limit) {
		memo_limit = gw_limit_alloc(gw, 1024, MEMO_MAX, MEMO_WINDOW_S);
		limited_notice = gw_limit_alloc(gw, 1024, 1, MEMO_WINDOW_S);
	}
	if (!gw_limit_take(memo_limit, m->sender, gw_now())) {
		snprintf(buf, sizeof(buf), "memo not passed on: more than %d in %d s", MEMO_MAX, MEMO_WINDOW_S);
		rc = 0;
		if (gw_limit_take(limited_notice, m->sender, gw_now()))
			rc = nt_send(gw, m->sender, ph->lang, DB_PRIO_REPLY, "memo_limited", NULL, NULL, 0, NULL);
		goto out;
	}
	/* the memo is the resident's own words, not the normalised form */
	if (rt_orig_suffix(m->text, strlen(m->text), norm, text, sizeof(text)) <= 0)
		snprintf(text, sizeof(text), "%s", m->text);
	rc = db_memo_worker(gw->db, m->sender, worker, sizeof(worker), wname, sizeof(wname));
	if (rc < 0 && rc != -ENOENT)
		goto out;
	if (rc == -ENOENT && (n = db_memo_staff(gw->db, ctx, &staff)) <= 0) {
		rc = n;
		snprintf(buf, sizeof(buf), "free text: no grid worker and no staff to pass it to");
		LOGP(DRT, LOGL_ERROR, "%s: %s\n", m->sender, buf);
		goto out;
	}
	if (ph->household_id)
		db_household_address(gw->db, ph->household_id, address, sizeof(address));
	OSMO_STRLCPY_ARRAY(memo.sender, m->sender);
	OSMO_STRLCPY_ARRAY(memo.to_number, worker);
	memo.household_id = ph->household_id;
	memo.text = text;
	memo.created = gw_now();
	rc = db_memo_add(gw->db, &memo, &id);
	if (rc < 0)
		goto out;
	snprintf(id_s, sizeof(id_s), "%" PRId64, id);
	{
		const char *keys[] = {"id", "name", "address", "number", "text"};
		const char *vals[] = {id_s, ph->name, address, m->sender, text};

		if (worker[0])
			rc = nt_send(gw, worker, "zh-CN", DB_PRIO_STAFF, "memo_to_staff", keys, vals, 5, NULL);
		for (int i = 0; rc >= 0 && i < n; i++)
			rc = nt_send(gw, staff[i], "zh-CN", DB_PRIO_STAFF, "memo_to_staff", keys, vals, 5, NULL);
	}
	if (rc < 0)
		goto out;
	if (worker[0])
		snprintf(to, sizeof(to), "%s%s", !strcmp(ph->lang, "en") ? "your grid worker " : "网格员", wname);
	else
		snprintf(to, sizeof(to), "%s", !strcmp(ph->lang, "en") ? "the community staff" : "社区工作人员");
	{
		const char *keys[] = {"to"};
		const char *vals[] = {to};

		rc = nt_send(gw, m->sender, ph->lang, DB_PRIO_REPLY, "memo_ok", keys, vals, 1, NULL);
	}
	snprintf(buf, sizeof(buf), "memo #%" PRId64 " to %s", id, worker[0] ? worker : "the duty staff");
	LOGP(DRT, LOGL_NOTICE, "%s: %s\n", m->sender, buf);
out:
	talloc_free(ctx);
	return rc < 0 ? rc : 1;
}

/* 回复 <id> <text> from the grid worker it went to, or from staff. */
static int memo_answer(struct gw *gw, const struct db_sms_in *m, const struct db_phone *ph, const char *args,
		       const char **note)
{
	static char buf[160];
	void *ctx = talloc_new(gw);
	struct db_memo memo;
	struct db_phone res;
	char id_s[24], text[MEMO_TXT_MAX], from[96];
	const char *rest;
	char *end;
	long long id = strtoll(args, &end, 10);
	int rc;

	*note = buf;
	snprintf(id_s, sizeof(id_s), "%.*s", (int)strcspn(args, " "), args);
	rest = end;
	while (*rest == ' ' || *rest == ':' || *rest == ',')
		rest++;
	rc = id > 0 && end != args ? db_memo_get(gw->db, ctx, id, &memo) : -ENOENT;
	if (rc < 0 && rc != -ENOENT)
		goto out;
	if (rc == -ENOENT || !*rest || (strcmp(memo.to_number, m->sender) && strcmp(ph->role, "staff"))) {
		const char *keys[] = {"id"};
		const char *vals[] = {id_s};

		snprintf(buf, sizeof(buf), "answer to memo %s refused: unknown, empty or not theirs", id_s);
		rc = nt_send(gw, m->sender, ph->lang, DB_PRIO_REPLY, "memo_unknown", keys, vals, 1, NULL);
		goto out;
	}
	if (rt_orig_suffix(m->text, strlen(m->text), rest, text, sizeof(text)) <= 0)
		snprintf(text, sizeof(text), "%s", rest);
	rc = db_memo_reply(gw->db, id, m->sender, text, gw_now());
	if (rc < 0)
		goto out;
	rc = db_phone_get(gw->db, memo.sender, &res);
	if (rc < 0 && rc != -ENOENT)
		goto out;
	snprintf(from, sizeof(from), "%s%s", !strcmp(ph->role, "grid_worker") ? "网格员" : "社区", ph->name);
	{
		const char *keys[] = {"from", "text"};
		const char *vals[] = {from, text};

		rc = nt_send(gw, memo.sender, rc == 0 ? res.lang : "zh-CN", DB_PRIO_REPLY, "memo_answer", keys, vals, 2,
			     NULL);
	}
	if (rc >= 0) {
		const char *keys[] = {"id"};
		const char *vals[] = {id_s};

		rc = nt_send(gw, m->sender, ph->lang, DB_PRIO_REPLY, "memo_answered", keys, vals, 1, NULL);
	}
	snprintf(buf, sizeof(buf), "memo #%lld answered to %s", id, memo.sender);
out:
	talloc_free(ctx);
	return rc < 0 ? rc : 1;
}

int nt_memo_route(struct gw *gw, const struct db_sms_in *m, const char **note)
{
	struct rt_match mt;
	struct db_phone ph;
	int rc;

	if (!gw->rules || !gw->rules->nrules || (m->flags & DB_SMS_IN_BAD_TEXT) ||
	    rt_match(gw->rules, m->text, strlen(m->text), &mt) < 0)
		return 0;
	rc = db_phone_get(gw->db, m->sender, &ph);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	if ((rc = db_phone_pending(gw->db, ph.id)) != 0)
		return rc < 0 ? rc : 0;
	if (!ph.lang[0])
		OSMO_STRLCPY_ARRAY(ph.lang, "zh-CN");
	if (mt.rule && !strcmp(mt.rule->handler, "memo_answer") &&
	    (!strcmp(ph.role, "grid_worker") || !strcmp(ph.role, "staff")))
		return memo_answer(gw, m, &ph, mt.args, note);
	if (mt.rule || strcmp(ph.role, "resident") || !worth_a_memo(mt.args))
		return 0; /* a keyword's business, or nothing to pass on: the help text */
	return memo_new(gw, m, &ph, mt.args, note);
}
