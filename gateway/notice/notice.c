/* Broadcast notices and opt-out (notice.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <talloc.h>
#include <osmocom/core/logging.h>
#include <osmocom/core/utils.h>

#include "db/db.h"
#include "gateway/core/due.h"
#include "gateway/core/gw.h"
#include "gateway/core/limit.h"
#include "gateway/core/outbox.h"
#include "gateway/core/random.h"
#include "gateway/core/route.h"
#include "gateway/core/rules.h"
#include "gateway/notice/notice.h"
#include "gateway/notice/notice_priv.h"

#define TXT_MAX 800 /* a notice may take several parts; a reply to staff stays short */

struct osmo_tdef nt_tdefs[] = {
	{.T = NT_T_CONFIRM,
	 .default_val = 1800,
	 .unit = OSMO_TDEF_S,
	 .desc = "A notice sent by SMS waits this long for its 发送 code before it expires"},
	{.T = NT_T_REPORTS,
	 .default_val = 600,
	 .unit = OSMO_TDEF_S,
	 .desc = "The sender is told a notice's counts once every text is out and reported, or this long after "
		 "its last send"},
	{}};

static const struct rt_builtin texts[] = {
	{"notice", "zh-CN", "【社区通知】{text} 退订回TD"},
	{"notice", "en", "[Community notice] {text} Reply TD to opt out"},
	{"bc_usage", "zh-CN",
	 "发通知：通知 范围 内容。范围：全部、网格(如W1)、联户组(如W1-1)、居民、网格员、工作人员、跑腿员。"},
	{"bc_usage", "en",
	 "To send a notice: TZ <scope> <text>. Scope: ALL, a grid (W1), a group (W1-1), "
	 "resident, grid_worker, staff, runner."},
	{"bc_scope_unknown", "zh-CN",
	 "没有“{scope}”这个范围。范围：全部、网格(如W1)、联户组(如W1-1)、居民、网格员、工作人员、跑腿员。"},
	{"bc_scope_unknown", "en",
	 "No scope \"{scope}\". Scope: ALL, a grid (W1), a group (W1-1), resident, "
	 "grid_worker, staff, runner."},
	{"bc_none", "zh-CN", "{scope}没有可以发送的号码（或都已退订）。"},
	{"bc_none", "en", "Nobody to send to in {scope} (or all opted out)."},
	{"bc_confirm", "zh-CN", "通知将发给{scope}共{n}个号码：“{text}”。回复“发送{code}”确认，{minutes}分钟内有效。"},
	{"bc_confirm", "en",
	 "The notice goes to {n} numbers in {scope}: \"{text}\". Reply FS {code} to send it "
	 "(within {minutes} min)."},
	{"bc_bad_code", "zh-CN", "确认码“{code}”无效或已过期，请重新发送通知。"},
	{"bc_bad_code", "en", "Code \"{code}\" is unknown or expired: send the notice again."},
	{"bc_queued", "zh-CN", "通知#{id}已排队，共{n}条，发完后告诉您结果。"},
	{"bc_queued", "en", "Notice #{id} queued: {n} messages. You will be told when they are out."},
	{"bc_done", "zh-CN", "通知#{id}已发完：共{n}条，发出{sent}，送达{delivered}，失败{failed}。"},
	{"bc_done", "en", "Notice #{id} is out: {n} messages, {sent} sent, {delivered} delivered, {failed} failed."},
	{"unsub_ok", "zh-CN", "已退订社区通知。紧急求助、您自己的报事仍会通知您。回复“订阅”可恢复。"},
	{"unsub_ok", "en",
	 "You will get no more community notices. SOS alerts and your own requests still reach "
	 "you. Reply DY to subscribe again."},
	{"sub_ok", "zh-CN", "已恢复接收社区通知。回复“退订”可停止。"},
	{"sub_ok", "en", "You will get community notices again. Reply TD to stop them."},
	{"refused", "zh-CN", "抱歉，“{keyword}”只限{role}使用。"},
	{"refused", "en", "Sorry, \"{keyword}\" is only for {role}."},
	/* the staff inbox (memo.c) */
	{"memo_to_staff", "zh-CN", "【留言#{id}】{name} {address} {number}：{text} 答复请发“回复{id} 内容”"},
	{"memo_to_staff", "en", "[Memo #{id}] {name} {address} {number}: {text} To answer: HF {id} <text>"},
	{"memo_ok", "zh-CN", "您的留言已转给{to}，答复会以短信告诉您。报事请发“报事 内容”。紧急情况请拨110/120。"},
	{"memo_ok", "en",
	 "Your message went to {to}; the answer comes by SMS. To report a problem: BS <problem>. "
	 "Emergency: call 110/120."},
	{"memo_limited", "zh-CN", "留言太频繁，已保存但暂不转发，请稍后再发。紧急情况请拨110/120。"},
	{"memo_limited", "en", "Too many messages: kept, but not passed on for now. Emergency: call 110/120."},
	{"memo_answer", "zh-CN", "【{from}答复】{text}"},
	{"memo_answer", "en", "[Answer from {from}] {text}"},
	{"memo_answered", "zh-CN", "已答复留言#{id}。"},
	{"memo_answered", "en", "Memo #{id} answered."},
	{"memo_unknown", "zh-CN", "没有发给您的留言#{id}。格式：回复 编号 内容"},
	{"memo_unknown", "en", "No memo #{id} for you. Format: HF <id> <text>"},
};

static const struct {
	const char *name[3]; /* how staff may write it */
	const char *role;
	const char *zh, *en; /* how it reads */
} roles[] = {
	{{"居民", "RESIDENT", "JM"}, "resident", "居民", "residents"},
	{{"网格员", "GRID_WORKER", "WGY"}, "grid_worker", "网格员", "grid workers"},
	{{"工作人员", "STAFF", "GZRY"}, "staff", "工作人员", "staff"},
	{{"跑腿员", "RUNNER", "PTY"}, "runner", "跑腿员", "runners"},
};

int nt_scope_parse(struct db_context *dbc, const char *name, struct db_broadcast_scope *s)
{
	memset(s, 0, sizeof(*s));
	if (!strcmp(name, "全部") || !strcmp(name, "所有") || !strcasecmp(name, "ALL") || !strcmp(name, "QB")) {
		OSMO_STRLCPY_ARRAY(s->kind, "all");
		OSMO_STRLCPY_ARRAY(s->label, "全部");
		return 0;
	}
	for (unsigned i = 0; i < ARRAY_SIZE(roles); i++)
		for (unsigned j = 0; j < ARRAY_SIZE(roles[i].name); j++)
			if (!strcasecmp(name, roles[i].name[j]) || !strcasecmp(name, roles[i].role)) {
				OSMO_STRLCPY_ARRAY(s->kind, "role");
				OSMO_STRLCPY_ARRAY(s->code, roles[i].role);
				OSMO_STRLCPY_ARRAY(s->label, roles[i].zh);
				return 0;
			}
	return db_broadcast_scope_find(dbc, name, s);
}

const char *nt_scope_label(const struct db_broadcast_scope *s, char *buf, size_t len)
{
	if (!strcmp(s->kind, "all") || !strcmp(s->kind, "role"))
		snprintf(buf, len, "%s", s->label[0] ? s->label : s->code);
	else
		snprintf(buf, len, "%s(%s)", s->label, s->code);
	return buf;
}

/* ---- texts ---- */

static int text(struct gw *gw, const char *name, const char *lang, const char *const *keys, const char *const *vals,
		unsigned n, char *out, size_t outlen)
{
	const char *t = rt_text_of(gw->rules, texts, ARRAY_SIZE(texts), name, lang);

	if (!t)
		return -ENOENT;
	return rt_expand(t, keys, vals, n, out, outlen);
}

int nt_send(struct gw *gw, const char *number, const char *lang, int prio, const char *name, const char *const *keys,
	    const char *const *vals, unsigned n, int64_t *id)
{
	char txt[TXT_MAX];
	int rc = text(gw, name, lang, keys, vals, n, txt, sizeof(txt));

	if (rc < 0) {
		LOGP(DRT, LOGL_ERROR, "notice text %s (%s) to %s: %s\n", name, lang, number, strerror(-rc));
		return 0;
	}
	rc = gw_sms_queue(gw, number, txt, prio, id);
	if (rc == -EINVAL || rc == -EILSEQ) {
		LOGP(DRT, LOGL_NOTICE, "cannot text %s (%s): %s dropped\n", number, strerror(-rc), name);
		return 0;
	}
	return rc;
}

/* ---- queueing a broadcast ---- */

struct queue_ctx {
	struct gw *gw;
	const struct db_broadcast *b;
	int n;
};

static int queue_one(void *data, const char *number)
{
	struct queue_ctx *q = data;
	const char *keys[] = {"text"};
	const char *vals[] = {q->b->text};
	struct db_phone ph;
	int64_t id = 0;
	int rc;

	rc = db_phone_get(q->gw->db, number, &ph);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	rc = nt_send(q->gw, number, rc == 0 && ph.lang[0] ? ph.lang : "zh-CN", DB_PRIO_BULK, "notice", keys, vals, 1,
		     &id);
	if (rc < 0)
		return rc;
	if (id) {
		q->n++;
		rc = db_broadcast_tag(q->gw->db, id, q->b->id);
	}
	return rc;
}

/* Queue b (state scheduled) to its scope as it is now, inside the caller's transaction. The
 * number queued, or -errno. */
static int queue_broadcast(struct gw *gw, const struct db_broadcast *b, time_t now)
{
	struct queue_ctx q = {.gw = gw, .b = b};
	int rc = db_broadcast_recipients(gw->db, &b->scope, queue_one, &q);

	if (rc < 0)
		return rc;
	rc = db_broadcast_move(gw->db, b->id, "scheduled", "queued", now, q.n);
	if (rc < 0)
		return rc;
	LOGP(DRT, LOGL_NOTICE, "notice #%" PRId64 " from %s to %s %s: %d message(s) queued\n", b->id, b->sender,
	     b->scope.kind, b->scope.code, q.n);
	return q.n;
}

/* ---- the router's handler ---- */

static const char *sender_lang(const struct db_phone *ph, bool known)
{
	return known && ph->lang[0] ? ph->lang : "zh-CN";
}

/* At most this many answers to 退订/订阅 per number per hour: a number cannot be made to text
 * a third party in a loop. */
static struct gw_limit *answer_limit;

static int optout(struct gw *gw, const char *sender, const char *lang, bool out, const char **note)
{
	int rc = db_optout_set(gw->db, sender, out, "sms", gw_now());

	if (rc < 0)
		return rc;
	*note = out ? (rc ? "opted out of notices" : "opted out of notices (already)")
		    : (rc ? "opted in to notices again" : "opted in to notices (already)");
	LOGP(DRT, LOGL_NOTICE, "%s: %s\n", sender, *note);
	if (!answer_limit)
		answer_limit = gw_limit_alloc(gw, 1024, 3, 3600);
	if (!gw_limit_take(answer_limit, sender, gw_now()))
		return 1;
	rc = nt_send(gw, sender, lang, DB_PRIO_REPLY, out ? "unsub_ok" : "sub_ok", NULL, NULL, 0, NULL);
	return rc < 0 ? rc : 1;
}

static int reply(struct gw *gw, const char *to, const char *lang, const char *name, const char *const *keys,
		 const char *const *vals, unsigned n)
{
	int rc = nt_send(gw, to, lang, DB_PRIO_STAFF, name, keys, vals, n, NULL);

	return rc < 0 ? rc : 1;
}

/* 通知 <scope> <text> from a staff phone: the count and a code to confirm. */
static int compose(struct gw *gw, const char *sender, const char *lang, const char *orig, const char *args,
		   const char **note)
{
	static char buf[160];
	void *ctx = talloc_new(gw);
	struct db_broadcast b = {0};
	char scope_name[64], label[100], num[16], mins[24], body_orig[TXT_MAX];
	const char *sp = strchr(args, ' ');
	const char *body;
	int64_t id;
	int n, rc;

	*note = buf;
	if (!sp || !sp[1]) {
		snprintf(buf, sizeof(buf), "notice: no scope or no text");
		rc = reply(gw, sender, lang, "bc_usage", NULL, NULL, 0);
		goto out;
	}
	snprintf(scope_name, sizeof(scope_name), "%.*s", (int)(sp - args), args);
	body = sp + 1;
	while (*body == ' ')
		body++;
	/* the notice goes out as the staff member wrote it, not normalised */
	if (rt_orig_suffix(orig, strlen(orig), body, body_orig, sizeof(body_orig)) > 0)
		body = body_orig;
	rc = nt_scope_parse(gw->db, scope_name, &b.scope);
	if (rc == -ENOENT) {
		const char *keys[] = {"scope"};
		const char *vals[] = {scope_name};

		snprintf(buf, sizeof(buf), "notice: unknown scope %s", scope_name);
		rc = reply(gw, sender, lang, "bc_scope_unknown", keys, vals, 1);
		goto out;
	}
	if (rc < 0)
		goto out;
	nt_scope_label(&b.scope, label, sizeof(label));
	n = db_broadcast_count(gw->db, &b.scope);
	if (n <= 0) {
		const char *keys[] = {"scope"};
		const char *vals[] = {label};

		rc = n < 0 ? n : 0;
		if (rc < 0)
			goto out;
		snprintf(buf, sizeof(buf), "notice: nobody in %s %s", b.scope.kind, b.scope.code);
		rc = reply(gw, sender, lang, "bc_none", keys, vals, 1);
		goto out;
	}
	OSMO_STRLCPY_ARRAY(b.sender, sender);
	b.text = talloc_strdup(ctx, body);
	gw_random_digits(b.code, sizeof(b.code), 4);
	b.created = b.send_at = gw_now();
	rc = db_broadcast_add(gw->db, &b, &id);
	if (rc < 0)
		goto out;
	snprintf(num, sizeof(num), "%d", n);
	snprintf(mins, sizeof(mins), "%lu", osmo_tdef_get(nt_tdefs, NT_T_CONFIRM, OSMO_TDEF_S, -1) / 60);
	{
		const char *keys[] = {"scope", "n", "text", "code", "minutes"};
		const char *vals[] = {label, num, body, b.code, mins};

		snprintf(buf, sizeof(buf), "notice #%" PRId64 " to %s %s (%d): waiting for its code", id, b.scope.kind,
			 b.scope.code, n);
		rc = reply(gw, sender, lang, "bc_confirm", keys, vals, 5);
	}
out:
	talloc_free(ctx);
	return rc;
}

/* 发送 <code> from the phone that composed the notice: queue it now. */
static int confirm(struct gw *gw, const char *sender, const char *lang, const char *args, const char **note)
{
	static char buf[160];
	void *ctx = talloc_new(gw);
	struct db_broadcast b;
	char code[16], id_s[24], n_s[16];
	time_t now = gw_now();
	int n = 0, rc;

	*note = buf;
	snprintf(code, sizeof(code), "%.*s", (int)strcspn(args, " "), args);
	rc = db_broadcast_by_code(gw->db, ctx, sender, code,
				  now - osmo_tdef_get(nt_tdefs, NT_T_CONFIRM, OSMO_TDEF_S, -1), &b);
	if (rc == -ENOENT || !code[0]) {
		const char *keys[] = {"code"};
		const char *vals[] = {code};

		snprintf(buf, sizeof(buf), "notice code %s: unknown or expired", code);
		rc = reply(gw, sender, lang, "bc_bad_code", keys, vals, 1);
		goto out;
	}
	if (rc < 0)
		goto out;
	rc = db_broadcast_move(gw->db, b.id, "confirm", "scheduled", now, 0);
	if (rc == 0)
		rc = n = queue_broadcast(gw, &b, now);
	if (rc < 0)
		goto out;
	snprintf(id_s, sizeof(id_s), "%" PRId64, b.id);
	snprintf(n_s, sizeof(n_s), "%d", n);
	snprintf(buf, sizeof(buf), "notice #%" PRId64 " confirmed: %d queued", b.id, n);
	{
		const char *keys[] = {"id", "n"};
		const char *vals[] = {id_s, n_s};

		rc = reply(gw, sender, lang, "bc_queued", keys, vals, 2);
	}
out:
	talloc_free(ctx);
	return rc;
}

static int nt_route(struct gw *gw, const struct db_sms_in *m, const char **note)
{
	struct rt_match mt;
	struct db_phone ph;
	const char *h, *lang;
	bool known;
	int rc;

	if (!gw->rules || rt_match(gw->rules, m->text, strlen(m->text), &mt) < 0 || !mt.rule)
		return 0;
	h = mt.rule->handler;
	if (strcmp(h, "unsubscribe") && strcmp(h, "subscribe") && strcmp(h, "broadcast") && strcmp(h, "broadcast_send"))
		return 0;
	rc = db_phone_get(gw->db, m->sender, &ph);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	known = rc == 0 && db_phone_pending(gw->db, ph.id) == 0;
	lang = sender_lang(&ph, known);
	if (!strcmp(h, "unsubscribe") || !strcmp(h, "subscribe")) /* anyone may, known or not */
		return optout(gw, m->sender, lang, !strcmp(h, "unsubscribe"), note);
	/* a notice needs the rule's role (staff in routes/sms.rules), staff where the rule names none */
	if (!known || strcmp(ph.role, mt.rule->role[0] ? mt.rule->role : "staff")) {
		const char *keys[] = {"keyword", "role"};
		const char *vals[] = {mt.keyword, mt.rule->role[0] ? mt.rule->role : "staff"};

		LOGP(DRT, LOGL_NOTICE, "%s (role %s) sent \"%s\", which is only for %s: refused\n", m->sender,
		     known ? ph.role : "unknown", mt.keyword, vals[1]);
		*note = "refused: a notice is only for staff";
		if (!known)
			return 1; /* an unknown number gets no answer (and cannot make us text anyone) */
		if (!strcmp(vals[1], "staff"))
			vals[1] = !strcmp(lang, "en") ? "staff" : "工作人员";
		return reply(gw, m->sender, lang, "refused", keys, vals, 2);
	}
	if (!strcmp(h, "broadcast"))
		return compose(gw, m->sender, lang, m->text, mt.args, note);
	return confirm(gw, m->sender, lang, mt.args, note);
}

/* ---- due work: scheduled notices, expired codes, finished notices ---- */

/* A notice is finished when every text is out and reported delivered or not, or NT_T_REPORTS
 * after the last send: then the sender is told the counts. */

static int finish(struct gw *gw, int64_t id, time_t now)
{
	void *ctx = talloc_new(gw);
	struct db_broadcast b;
	struct db_broadcast_progress p;
	char v[5][24];
	struct db_phone ph;
	int rc;

	rc = db_broadcast_get(gw->db, ctx, id, &b);
	if (rc == 0)
		rc = db_broadcast_progress(gw->db, id, &p);
	if (rc == 0)
		rc = db_broadcast_move(gw->db, id, "queued", "done", now, 0);
	if (rc < 0)
		goto out;
	LOGP(DRT, LOGL_NOTICE, "notice #%" PRId64 ": done, %d message(s): %d sent, %d delivered, %d failed\n", id,
	     p.total, p.sent, p.delivered, p.failed);
	if (b.sender[0] == '+') {
		const char *keys[] = {"id", "n", "sent", "delivered", "failed"};
		const char *vals[] = {v[0], v[1], v[2], v[3], v[4]};

		snprintf(v[0], sizeof(v[0]), "%" PRId64, id);
		snprintf(v[1], sizeof(v[1]), "%d", p.total);
		snprintf(v[2], sizeof(v[2]), "%d", p.sent);
		snprintf(v[3], sizeof(v[3]), "%d", p.delivered);
		snprintf(v[4], sizeof(v[4]), "%d", p.failed);
		rc = db_phone_get(gw->db, b.sender, &ph);
		rc = nt_send(gw, b.sender, rc == 0 ? sender_lang(&ph, true) : "zh-CN", DB_PRIO_STAFF, "bc_done", keys,
			     vals, 5, NULL);
	}
out:
	talloc_free(ctx);
	return rc;
}

static time_t nt_due(struct gw *gw, time_t now, void *data)
{
	void *ctx = talloc_new(gw);
	struct db_broadcast b;
	int64_t next = 0, *ids = NULL;
	int rc, n;

	(void)data;
	rc = db_begin(gw->db);
	if (rc == 0)
		rc = db_broadcast_expire(gw->db, now - osmo_tdef_get(nt_tdefs, NT_T_CONFIRM, OSMO_TDEF_S, -1));
	while (rc >= 0 && (rc = db_broadcast_due(gw->db, ctx, now, &b, &next)) == 0)
		rc = queue_broadcast(gw, &b, now);
	if (rc == -ENOENT)
		rc = 0;
	if (rc >= 0 && (n = db_broadcast_finished(
				gw->db, ctx, now - osmo_tdef_get(nt_tdefs, NT_T_REPORTS, OSMO_TDEF_S, -1), &ids)) > 0)
		for (int i = 0; rc >= 0 && i < n; i++)
			rc = finish(gw, ids[i], now);
	if (rc >= 0)
		rc = db_commit(gw->db);
	if (rc < 0) {
		db_rollback(gw->db);
		LOGP(DRT, LOGL_ERROR, "notices: %s (tried again in a second)\n", strerror(-rc));
	}
	talloc_free(ctx);
	/* finished notices are found by looking: the longest wait */
	return next > 0 && next < now + GW_DUE_MAX_WAIT_S ? (time_t)next : 0;
}

int nt_init(struct gw *gw)
{
	int rc;

	osmo_tdefs_reset(nt_tdefs);
	rc = gw_route_add(gw, "notice", nt_route);
	if (rc == 0)
		rc = gw_route_add(gw, "memo", nt_memo_route);
	if (rc == 0)
		rc = gw_due_register(gw, "broadcast", nt_due, NULL);
	return rc;
}
