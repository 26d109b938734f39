/* Requests (报事) by SMS: see gateway/request.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <osmocom/core/logging.h>
#include <osmocom/core/talloc.h>
#include <osmocom/core/utils.h>

#include "db/db.h"
#include "gateway/core/due.h"
#include "gateway/core/gw.h"
#include "gateway/core/limit.h"
#include "gateway/core/outbox.h"
#include "gateway/core/route.h"
#include "gateway/request/request.h"
#include "gateway/request/request_priv.h"
#include "gateway/core/rules.h"
#include "gateway/request/workday.h"
#include "modem/sms_codec.h"

/* ---- text ---- */

static const struct {
	const char *state, *zh, *en;
} state_labels[] = {
	{"received", "已受理", "received"}, {"dispatched", "已派单", "dispatched"},
	{"accepted", "已签收", "accepted"}, {"in_progress", "处置中", "in progress"},
	{"returned", "已退回", "returned"}, {"extended", "已延期", "extended"},
	{"closed", "已办结", "closed"},	    {"visited", "已回访", "rated"},
	{"reopened", "重办", "reopened"},   {"merged", "已并单", "merged"},
};

const char *rq_state_label(const char *state, const char *lang)
{
	bool en = lang && !strcmp(lang, "en");

	for (unsigned i = 0; i < ARRAY_SIZE(state_labels); i++)
		if (!strcmp(state, state_labels[i].state))
			return en ? state_labels[i].en : state_labels[i].zh;
	return state;
}

static bool is_sep(char c)
{
	return c == ' ' || c == ',' || c == ':' || c == ';' || c == '.' || c == '#' || c == '-';
}

int rq_parse_ref(const char *args, char ref[8], const char **rest)
{
	const char *p = args;
	size_t n = 0;

	while (*p == ' ' || *p == ':' || *p == '#')
		p++;
	while (p[n] >= '0' && p[n] <= '9')
		n++;
	if (!n)
		return -ENOENT;
	if (n != 6)
		return -EINVAL;
	memcpy(ref, p, 6);
	ref[6] = '\0';
	p += 6;
	while (is_sep(*p))
		p++;
	if (rest)
		*rest = p;
	return 0;
}

/* Drop trailing punctuation (ASCII, and "。" / "！", 3 bytes each) and spaces; the new length. */
static size_t strip_tail(char *s)
{
	size_t n = strlen(s);

	for (;;) {
		if (n && (s[n - 1] == '.' || s[n - 1] == '!' || s[n - 1] == ' '))
			s[--n] = '\0';
		else if (n >= 3 && (!strcmp(s + n - 3, "。") || !strcmp(s + n - 3, "！")))
			s[n -= 3] = '\0';
		else
			break;
	}
	return n;
}

static const char *const rating_words[] = {NULL, "满意", "基本满意", "不满意"};

int rq_parse_rating(const char *norm)
{
	char s[32];
	size_t n;

	if (strlen(norm) >= sizeof(s))
		return 0;
	strcpy(s, norm);
	n = strip_tail(s);
	if (n == 1 && s[0] >= '1' && s[0] <= '3')
		return s[0] - '0';
	for (int i = 3; i >= 1; i--)
		if (!strcmp(s, rating_words[i]))
			return i;
	return 0;
}

int rq_parse_errand_answer(const char *norm)
{
	static const char *const yes[] = {"1", "确认", "QR", "好", "好的", "已收到"};
	static const char *const no[] = {"2", "有异议", "异议", "不确认"};
	char s[32];

	if (strlen(norm) >= sizeof(s))
		return 0;
	strcpy(s, norm);
	strip_tail(s);
	for (unsigned i = 0; i < ARRAY_SIZE(yes); i++)
		if (!strcmp(s, yes[i]))
			return 1;
	for (unsigned i = 0; i < ARRAY_SIZE(no); i++)
		if (!strcmp(s, no[i]))
			return 2;
	return 0;
}

const char *rq_rating_label(int rating)
{
	return rating >= 1 && rating <= 3 ? rating_words[rating] : NULL;
}

/* The built-in reply texts; routes/sms.rules may override any of them ("reply NAME LANG TEXT"). */
static const struct {
	const char *name, *lang, *text;
} builtin[] = {
	{"report_ok", "zh-CN", "已受理，单号{ref}，预计{date}前办结。回复“查询{ref}”看进度。"},
	{"report_ok", "en", "Received, ref {ref}, due by {date}. Text CX {ref} to check progress."},
	{"report_merged", "zh-CN", "您的报事已受理（单号{ref}），重复短信已并单，无需再发。"},
	{"report_merged", "en", "Already received as ref {ref}; the repeat was merged, no need to send it again."},
	{"report_help", "zh-CN", "请发送“报事 问题描述”，例如：报事 3幢电梯坏了"},
	{"report_help", "en", "Text BS <problem>, e.g. BS lift in building 3 broken"},
	{"dispatch", "zh-CN",
	 "【{tag}】单号{ref} {address} {name}{number}：{text}（{date}前办结）回复：签收{ref}｜处置{ref} 说明｜"
	 "办结{ref} 结果｜退回{ref} 原因"},
	{"dispatch", "en",
	 "[{tag}] ref {ref} {address} {name} {number}: {text} (due {date}). Reply: QS {ref} | CZ {ref} note | "
	 "BJ {ref} result | TH {ref} reason"},
	{"returned_staff", "zh-CN",
	 "【退回】单号{ref} {address}：{text}。退回原因：{reason}。请改派：linlictl request assign {ref} 号码"},
	{"returned_staff", "en",
	 "[Returned] ref {ref} {address}: {text}. Reason: {reason}. Reassign: linlictl request assign {ref} NUMBER"},
	{"accepted", "zh-CN", "已签收单号{ref}。"},
	{"accepted", "en", "Accepted ref {ref}."},
	{"noted", "zh-CN", "已记录单号{ref}的处置情况。"},
	{"noted", "en", "Note recorded for ref {ref}."},
	{"resolved_worker", "zh-CN", "单号{ref}已办结，已通知居民。"},
	{"resolved_worker", "en", "Ref {ref} closed; the resident has been told."},
	{"returned_worker", "zh-CN", "单号{ref}已退回，工作人员将改派。"},
	{"returned_worker", "en", "Ref {ref} returned; staff will reassign it."},
	{"resolved", "zh-CN", "您的报事{ref}已办结：{result}。请评价：回复1满意 2基本满意 3不满意"},
	{"resolved", "en",
	 "Your report {ref} is resolved: {result}. Please rate: reply 1 satisfied, 2 fairly satisfied, 3 unsatisfied"},
	{"rated", "zh-CN", "感谢您的评价（{rating}），单号{ref}已回访。"},
	{"rated", "en", "Thank you for rating ref {ref} ({rating})."},
	{"rated_reopen", "zh-CN", "抱歉未能让您满意，单号{ref}已重办，工作人员会再联系您。"},
	{"rated_reopen", "en", "Sorry about that: ref {ref} has been reopened and staff will contact you."},
	{"status", "zh-CN", "单号{ref}：{state}{flag}。{note}"},
	{"status", "en", "Ref {ref}: {state}{flag}. {note}"},
	{"status_none", "zh-CN", "您还没有报事记录。发送“报事 问题描述”即可报事。"},
	{"status_none", "en", "You have no reports. Text BS <problem> to report one."},
	{"unknown_ref", "zh-CN", "单号{ref}不存在，请核对后重发。"},
	{"unknown_ref", "en", "There is no ref {ref}; please check the number."},
	{"bad_ref", "zh-CN", "单号应为6位数字。格式：{usage}"},
	{"bad_ref", "en", "A ref has 6 digits. Format: {usage}"},
	{"usage", "zh-CN", "格式：{usage}"},
	{"usage", "en", "Format: {usage}"},
	{"not_yours", "zh-CN", "单号{ref}不在您名下，未作改动。"},
	{"not_yours", "en", "Ref {ref} is not assigned to you; nothing changed."},
	{"bad_state", "zh-CN", "单号{ref}当前{state}，不能{action}。"},
	{"bad_state", "en", "Ref {ref} is {state}; cannot {action} it."},
	{"private", "zh-CN", "抱歉，单号{ref}只有报事住户和工作人员可以查询。"},
	{"private", "en", "Sorry, only the reporting household and staff may see ref {ref}."},
	{"bad_text", "zh-CN", "短信无法识别（编码有误），请重新发送。"},
	{"bad_text", "en", "Your message could not be read (bad encoding); please send it again."},
	{"refused", "zh-CN", "抱歉，“{keyword}”只限{role}使用。"},
	{"refused", "en", "Sorry, \"{keyword}\" is only for {role}."},
	{"list", "zh-CN", "您的在办单（{n}）：{refs}"},
	{"list", "en", "Your open requests ({n}): {refs}"},
	{"list_none", "zh-CN", "您没有在办的单。"},
	{"list_none", "en", "You have no open requests."},
	{"remind", "zh-CN", "【催办】单号{ref}已超时（{date}前应办结）：{address} {text}。请尽快办理。"},
	{"remind", "en", "[Overdue] ref {ref} was due {date}: {address} {text}. Please act now."},
	{"escalate", "zh-CN", "【督办】单号{ref}超时未办结（{date}前应办结，承办{assignee}）：{address} {text}"},
	{"escalate", "en", "[Escalated] ref {ref} overdue since {date} (assignee {assignee}): {address} {text}"},
	/* errands, points, registration, the daily digest (gateway/request/errand.c) */
	{"errand_help", "zh-CN", "请发送“跑腿 要办的事”，例如：跑腿 帮忙取快递"},
	{"errand_help", "en", "Text PT <what>, e.g. PT collect a parcel"},
	{"errand_ok", "zh-CN", "跑腿单{ref}已发给{n}位跑腿志愿者，有人接单后通知您。"},
	{"errand_ok", "en", "Errand {ref} went to {n} runners; you will be told who takes it."},
	{"errand_no_runner", "zh-CN", "暂无跑腿志愿者，跑腿单{ref}已转社区工作人员。"},
	{"errand_no_runner", "en", "No runner is registered; errand {ref} went to the staff."},
	{"errand_offer", "zh-CN", "【跑腿】单号{ref} {address} {name}{number}：{text}。回复“接单{ref}”接单"},
	{"errand_offer", "en", "[Errand] ref {ref} {address} {name} {number}: {text}. Reply JD {ref} to take it"},
	{"errand_taken", "zh-CN", "已接单{ref}：{address} {name}{number}：{text}。办完回复“完成{ref}”"},
	{"errand_taken", "en", "You took errand {ref}: {address} {name} {number}: {text}. When done reply WC {ref}"},
	{"errand_taken_other", "zh-CN", "跑腿单{ref}已由{runner}接单，无需处理。"},
	{"errand_taken_other", "en", "Errand {ref} was taken by {runner}; nothing to do."},
	{"errand_taken_resident", "zh-CN", "您的跑腿单{ref}已由{runner}（{number}）接单。"},
	{"errand_taken_resident", "en", "Your errand {ref} was taken by {runner} ({number})."},
	{"errand_already", "zh-CN", "跑腿单{ref}已由{runner}接单，谢谢。"},
	{"errand_already", "en", "Errand {ref} is already taken by {runner}, thank you."},
	{"not_errand", "zh-CN", "单号{ref}不是跑腿单，未作改动。"},
	{"not_errand", "en", "Ref {ref} is not an errand; nothing changed."},
	{"errand_done_runner", "zh-CN", "已记录跑腿单{ref}完成，等待居民确认。"},
	{"errand_done_runner", "en", "Errand {ref} marked done; waiting for the resident to confirm."},
	{"errand_done", "zh-CN", "跑腿单{ref}已完成（{runner}）。请回复：1确认 2有异议"},
	{"errand_done", "en", "Errand {ref} is done ({runner}). Reply 1 to confirm, 2 to dispute"},
	{"errand_own", "zh-CN", "跑腿单{ref}是您家自己的，不能接单；请等其他志愿者接单。"},
	{"errand_own", "en", "Errand {ref} is your own household's: another runner will take it."},
	{"errand_confirmed", "zh-CN", "已确认跑腿单{ref}，谢谢！"},
	{"errand_confirmed", "en", "Errand {ref} confirmed, thank you!"},
	{"errand_credited", "zh-CN", "居民已确认跑腿单{ref}，积分+{points}，现有{balance}分。"},
	{"errand_credited", "en", "Errand {ref} confirmed: +{points} points, balance {balance}."},
	{"errand_disputed", "zh-CN", "已收到您对跑腿单{ref}的异议，工作人员会联系您。"},
	{"errand_disputed", "en", "Your objection to errand {ref} is noted; staff will contact you."},
	{"errand_disputed_staff", "zh-CN", "【异议】跑腿单{ref} {address} {name}{number}：{text}。跑腿员{runner}"},
	{"errand_disputed_staff", "en", "[Disputed] errand {ref} {address} {name} {number}: {text}. Runner {runner}"},
	{"points", "zh-CN", "您的积分：{balance}分。最近：{entries}"},
	{"points", "en", "Your points: {balance}. Last: {entries}"},
	{"points_none", "zh-CN", "您还没有积分记录。"},
	{"points_none", "en", "You have no points yet."},
	{"points_award", "zh-CN", "积分{delta}（{reason}），现有{balance}分。"},
	{"points_award", "en", "Points {delta} ({reason}); balance {balance}."},
	{"register_help", "zh-CN", "请发送“注册 姓名 楼-单元-房号”，例如：注册 张三 3-2-501"},
	{"register_help", "en", "Text ZC <name> <building-unit-room>, e.g. ZC Zhang San 3-2-501"},
	{"register_pending", "zh-CN", "{name}您好，注册已收到（{address}），待社区审核，通过后短信通知您。"},
	{"register_pending", "en", "{name}, your registration ({address}) waits for approval; we will text you."},
	{"register_known", "zh-CN", "该号码已登记（{address}），无需注册。"},
	{"register_known", "en", "This number is registered already ({address})."},
	{"register_waiting", "zh-CN", "您的注册正在等待社区审核，请耐心等候。"},
	{"register_waiting", "en", "Your registration is waiting for approval."},
	{"register_approved", "zh-CN", "您的注册已通过，已登记到{address}。发送“报事 内容”即可报事。"},
	{"register_approved", "en", "Your registration is approved ({address}). Text BS <problem> to report."},
	{"register_rejected", "zh-CN", "您的注册未通过：{reason}。如有疑问请联系社区。"},
	{"register_rejected", "en", "Your registration was not approved: {reason}. Please contact the office."},
	{"register_staff", "zh-CN", "【注册】{name} {number}：{address}，待审核。linlictl register approve {number}"},
	{"register_staff", "en",
	 "[Registration] {name} {number}: {address}, to approve: linlictl register approve {number}"},
	{"register_staff_match", "zh-CN",
	 "【注册】{name} {number}：{address}，与该户成员姓名相符，请核实后审核。linlictl register approve {number}"},
	{"register_staff_match", "en",
	 "[Registration] {name} {number}: {address}, the name matches a member of that household; check, then: "
	 "linlictl register approve {number}"},
	{"digest", "zh-CN", "【日报】{date}在办{open}件，超时{overdue}件。最早：{refs}"},
	{"digest", "en", "[Daily] {date}: {open} open, {overdue} overdue. Oldest: {refs}"},
};

static const char *builtin_text(const char *name, const char *lang)
{
	for (unsigned i = 0; i < ARRAY_SIZE(builtin); i++)
		if (!strcmp(builtin[i].name, name) && !strcmp(builtin[i].lang, lang))
			return builtin[i].text;
	return NULL;
}

static const char *rules_text(const struct rt_rules *r, const char *name, const char *lang)
{
	for (unsigned i = 0; r && i < r->ntpl; i++)
		if (!strcmp(r->tpl[i].name, name) && !strcmp(r->tpl[i].lang, lang))
			return r->tpl[i].text;
	return NULL;
}

const char *rq_template(const struct rt_rules *rules, const char *name, const char *lang)
{
	const char *t;

	if (!lang)
		lang = "zh-CN";
	if ((t = rules_text(rules, name, lang)) || (t = builtin_text(name, lang)))
		return t;
	if ((t = rules_text(rules, name, "zh-CN")) || (t = builtin_text(name, "zh-CN")))
		return t;
	return NULL;
}

int rq_text(const struct rt_rules *rules, const char *name, const char *lang, const char *const *keys,
	    const char *const *vals, unsigned n, char *out, size_t outlen)
{
	const char *t = rq_template(rules, name, lang);

	if (!t)
		return -ENOENT;
	return rt_expand(t, keys, vals, n, out, outlen);
}

/* Code points in s[0..len) (s valid UTF-8). */
static size_t cp_count(const char *s, size_t len)
{
	size_t i = 0, n = 0;
	uint32_t cp;

	while (i < len && utf8_next((const uint8_t *)s, len, &i, &cp) == 0)
		n++;
	return n;
}

int rq_orig_suffix(const char *text, size_t len, const char *norm_suffix, char *out, size_t outlen)
{
	size_t want = cp_count(norm_suffix, strlen(norm_suffix));
	size_t end = len, start, i, n = 0;
	uint32_t cp;

	if (!outlen)
		return -ENOSPC;
	/* what rt_normalize trims at the end: characters that fold to a space */
	for (;;) {
		if (end &&
		    (text[end - 1] == ' ' || text[end - 1] == '\t' || text[end - 1] == '\r' || text[end - 1] == '\n'))
			end--;
		else if (end >= 3 && !memcmp(text + end - 3, "\xe3\x80\x80", 3)) /* U+3000 */
			end -= 3;
		else
			break;
	}
	/* the start of each code point, walking forward; keep the last 'want' */
	start = end;
	if (want) {
		size_t total = cp_count(text, end), skip = total > want ? total - want : 0;

		i = 0;
		while (skip && i < end && utf8_next((const uint8_t *)text, end, &i, &cp) == 0)
			skip--;
		start = i;
	}
	n = end - start;
	if (n >= outlen)
		return -ENOSPC;
	memcpy(out, text + start, n);
	out[n] = '\0';
	return (int)n;
}

void rq_date(time_t t, const char *lang, char *buf, size_t len)
{
	struct tm tm;

	if (!localtime_r(&t, &tm)) {
		snprintf(buf, len, "?");
		return;
	}
	if (lang && !strcmp(lang, "en"))
		snprintf(buf, len, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	else
		snprintf(buf, len, "%d月%d日", tm.tm_mon + 1, tm.tm_mday);
}

static enum wd_kind holiday_lookup(void *data, long day)
{
	char date[16];
	int y, m, d, k;

	wd_date(day, &y, &m, &d);
	snprintf(date, sizeof(date), "%04d-%02d-%02d", y, m, d);
	k = db_holiday_kind(data, date);
	return k == 1 ? WD_OFF : k == 2 ? WD_WORK : WD_NONE;
}

time_t rq_deadline(struct db_context *dbc, time_t now, unsigned n)
{
	struct tm tm;
	long day;
	int y, m, d;

	localtime_r(&now, &tm);
	day = wd_add(wd_day(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday), n, dbc ? holiday_lookup : NULL, dbc);
	wd_date(day, &y, &m, &d);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_hour = 23;
	tm.tm_min = 59;
	tm.tm_sec = 59;
	tm.tm_isdst = -1;
	return mktime(&tm);
}

/* ---- actions ---- */

#define TXT_MAX	     1200

/* Expand and queue one text; a recipient we cannot text (a sender ID, a bad number) is logged
 * and skipped, only a database error fails. */
int rq_send_tpl(struct rq_env *e, const char *dest, const char *lang, int prio, const char *name,
		const char *const *keys, const char *const *vals, unsigned n)
{
	char txt[TXT_MAX];
	int rc;

	if (!dest || !dest[0])
		return 0;
	rc = rq_text(e->rules, name, lang, keys, vals, n, txt, sizeof(txt));
	if (rc < 0) {
		LOGP(DRT, LOGL_ERROR, "reply %s (%s) to %s: %s\n", name, lang ? lang : "-", dest, strerror(-rc));
		return 0;
	}
	rc = e->queue(e->queue_data, dest, txt, prio);
	if (rc == -EINVAL || rc == -EILSEQ) {
		LOGP(DRT, LOGL_NOTICE, "cannot text %s (%s): reply %s dropped\n", dest, strerror(-rc), name);
		return 0;
	}
	return rc;
}

/* An error reply, rate-limited per number. */
int rq_send_err(struct rq_env *e, const char *dest, const char *lang, const char *name, const char *const *keys,
		const char *const *vals, unsigned n)
{
	if (e->may_reply && !e->may_reply(e->may_reply_data, dest)) {
		LOGP(DRT, LOGL_INFO, "error reply %s to %s not sent (rate limit)\n", name, dest);
		return 0;
	}
	return rq_send_tpl(e, dest, lang, DB_PRIO_REPLY, name, keys, vals, n);
}

int rq_event(struct rq_env *e, const struct db_request *r, const char *actor, const char *from, const char *note)
{
	return db_request_event_add(e->db, r->id, actor, e->now, from, r->state, note);
}

/* Move r to state, write it back and record the event. */
int rq_transition(struct rq_env *e, struct db_request *r, const char *state, const char *actor, const char *note)
{
	char from[16];
	int rc;

	OSMO_STRLCPY_ARRAY(from, r->state);
	OSMO_STRLCPY_ARRAY(r->state, state);
	r->updated = e->now;
	rc = db_request_update(e->db, r);
	return rc < 0 ? rc : rq_event(e, r, actor, from, note);
}

static void staff_cb(void *data, const struct db_phone *p)
{
	struct rq_staff_list *l = data;

	if (l->n < (int)ARRAY_SIZE(l->p))
		l->p[l->n++] = *p;
}

int rq_staff_get(struct rq_env *e, struct rq_staff_list *l)
{
	int rc;

	l->n = 0;
	rc = db_staff_foreach(e->db, staff_cb, l);
	if (rc == 0)
		LOGP(DRT, LOGL_ERROR, "no phone with role staff: duty staff messages go nowhere\n");
	return rc < 0 ? rc : 0;
}

/* The dispatch text of r to one recipient. */
static int send_dispatch(struct rq_env *e, const struct db_request *r, const struct db_phone *to, const char *tag_zh,
			 const char *tag_en)
{
	bool en = !strcmp(to->lang, "en");
	const char *keys[] = {"tag", "ref", "address", "name", "number", "text", "date"};
	char date[32];
	const char *vals[] = {en ? tag_en : tag_zh,
			      r->ref,
			      r->address[0] ? r->address : (en ? "(no address)" : "（无住址）"),
			      r->reporter_name[0] ? r->reporter_name : (en ? "unregistered" : "未登记号码"),
			      r->reporter,
			      r->text,
			      date};

	rq_date(r->deadline, to->lang, date, sizeof(date));
	return rq_send_tpl(e, to->number, to->lang, DB_PRIO_STAFF, "dispatch", keys, vals, ARRAY_SIZE(keys));
}

/* Send r to its assignee, or to every staff phone when it has none. */
int rq_notify_assignee(struct rq_env *e, const struct db_request *r, const char *tag_zh, const char *tag_en)
{
	struct rq_staff_list l;
	struct db_phone to;
	int rc;

	if (r->assignee_phone_id) {
		rc = db_phone_get_id(e->db, r->assignee_phone_id, &to);
		if (rc < 0)
			return rc;
		return send_dispatch(e, r, &to, tag_zh, tag_en);
	}
	rc = rq_staff_get(e, &l);
	for (int i = 0; rc == 0 && i < l.n; i++)
		rc = send_dispatch(e, r, &l.p[i], tag_zh, tag_en);
	return rc;
}

static void new_ref(char ref[8])
{
	uint32_t v;

	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = (uint32_t)random();
	snprintf(ref, 8, "%06u", 100000 + v % 900000);
}

/* Insert r with a fresh reference. */
int rq_add_with_ref(struct rq_env *e, struct db_request *r)
{
	int rc = -EEXIST;

	for (int i = 0; i < 64 && rc == -EEXIST; i++) {
		new_ref(r->ref);
		rc = db_request_add(e->db, r);
	}
	return rc;
}

/* The original words of a normalised suffix of the message, cut to outlen on a character. */
void rq_orig_rest(struct rq_env *e, const struct rq_msg *m, const char *norm_suffix, char *out, size_t outlen)
{
	char *buf = talloc_size(e->ctx, m->len + 1);
	size_t n;

	if (!buf || rq_orig_suffix(m->text, m->len, norm_suffix, buf, m->len + 1) < 0) {
		out[0] = '\0';
		return;
	}
	n = strlen(buf);
	if (n >= outlen) {
		n = outlen - 1;
		while (n && ((unsigned char)buf[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(out, buf, n);
	out[n] = '\0';
}

void rq_new(struct rq_env *e, const struct rq_msg *m, const char *kind, char *text, struct db_request *r)
{
	memset(r, 0, sizeof(*r));
	OSMO_STRLCPY_ARRAY(r->kind, kind);
	r->reporter_phone_id = m->known ? m->ph.id : 0;
	OSMO_STRLCPY_ARRAY(r->reporter, m->sender);
	r->household_id = m->known ? m->ph.household_id : 0;
	r->text = text;
	r->flags = m->known ? 0 : DB_REQ_UNVERIFIED;
	r->created = e->now;
}

static int report(struct rq_env *e, struct rq_msg *m)
{
	char text[600], date[32];
	struct db_request r, dup;
	int rc;

	rq_orig_rest(e, m, m->args, text, sizeof(text));
	if (!text[0]) {
		snprintf(m->note, m->notelen, "report keyword alone: help sent");
		return rq_send_tpl(e, m->sender, m->lang, DB_PRIO_REPLY, "report_help", NULL, NULL, 0);
	}

	rc = db_request_find_dup(e->db, e->ctx, m->sender, text, e->now - (time_t)osmo_tdef_get(rq_tdefs, RQ_T_DUP, OSMO_TDEF_S, -1), &dup);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	rq_new(e, m, "request", text, &r);
	if (rc == 0) {
		const char *keys[] = {"ref"};
		const char *vals[] = {dup.ref};

		OSMO_STRLCPY_ARRAY(r.state, "merged");
		r.merged_into = dup.id;
		rc = rq_add_with_ref(e, &r);
		if (rc == 0)
			rc = db_request_event_add(e->db, r.id, m->sender, e->now, NULL, "merged",
						  talloc_asprintf(e->ctx, "duplicate of %s", dup.ref));
		if (rc == 0)
			rc = db_request_event_add(e->db, dup.id, m->sender, e->now, dup.state, dup.state,
						  talloc_asprintf(e->ctx, "repeat %s merged", r.ref));
		if (rc == 0)
			rc = rq_send_tpl(e, m->sender, m->lang, DB_PRIO_REPLY, "report_merged", keys, vals, 1);
		snprintf(m->note, m->notelen, "request %s merged into %s", r.ref, dup.ref);
		return rc;
	}

	OSMO_STRLCPY_ARRAY(r.state, "received");
	r.deadline = rq_deadline(e->db, e->now, e->deadline_days);
	rc = rq_add_with_ref(e, &r);
	if (rc < 0)
		return rc;
	rc = db_request_event_add(e->db, r.id, m->sender, e->now, NULL, "received",
				  m->known ? NULL : "unverified number");
	if (rc < 0)
		return rc;
	/* read back: address, reporter's name */
	rc = db_request_get(e->db, e->ctx, NULL, r.id, &r);
	if (rc < 0)
		return rc;
	rq_date(r.deadline, m->lang, date, sizeof(date));
	{
		const char *keys[] = {"ref", "date"};
		const char *vals[] = {r.ref, date};

		rc = rq_send_tpl(e, m->sender, m->lang, DB_PRIO_REPLY, "report_ok", keys, vals, 2);
		if (rc < 0)
			return rc;
	}

	/* dispatch at once: the grid worker of the household, or the duty staff */
	if (r.household_id) {
		struct db_place pl;

		rc = db_request_place(e->db, r.household_id, &pl);
		if (rc < 0 && rc != -ENOENT)
			return rc;
		if (rc == 0 && pl.worker.id)
			r.assignee_phone_id = pl.worker.id;
	}
	rc = rq_transition(e, &r, "dispatched", "system",
			   r.assignee_phone_id ? "to the grid worker" : "to the duty staff");
	if (rc == 0)
		rc = rq_notify_assignee(e, &r, "派单", "Job");
	snprintf(m->note, m->notelen, "request %s created, dispatched to %s", r.ref,
		 r.assignee_phone_id ? "the grid worker" : "the duty staff");
	return rc;
}

static bool may_see(const struct rq_msg *m, const struct db_request *r)
{
	if (!strcmp(r->reporter, m->sender))
		return true;
	if (!m->known)
		return false;
	return !strcmp(m->ph.role, "staff") || (m->ph.household_id && m->ph.household_id == r->household_id);
}

static int status(struct rq_env *e, struct rq_msg *m)
{
	struct db_request r;
	char ref[8], note[400] = "", noteline[440] = "";
	int rc;

	rc = rq_parse_ref(m->args, ref, NULL);
	if (rc == -EINVAL) {
		const char *keys[] = {"usage"};
		const char *vals[] = {!strcmp(m->lang, "en") ? "CX 123456" : "查询 单号"};

		snprintf(m->note, m->notelen, "status: malformed ref");
		return rq_send_err(e, m->sender, m->lang, "bad_ref", keys, vals, 1);
	}
	if (rc == 0) {
		rc = db_request_get(e->db, e->ctx, ref, 0, &r);
	} else {
		rc = db_request_latest(e->db, e->ctx, m->sender, m->known ? m->ph.household_id : 0, NULL, &r);
		if (rc == -ENOENT) {
			snprintf(m->note, m->notelen, "status: no request");
			return rq_send_tpl(e, m->sender, m->lang, DB_PRIO_REPLY, "status_none", NULL, NULL, 0);
		}
	}
	if (rc == -ENOENT) {
		const char *keys[] = {"ref"};
		const char *vals[] = {ref};

		snprintf(m->note, m->notelen, "status: unknown ref %s", ref);
		return rq_send_err(e, m->sender, m->lang, "unknown_ref", keys, vals, 1);
	}
	if (rc < 0)
		return rc;
	if (!may_see(m, &r)) {
		const char *keys[] = {"ref"};
		const char *vals[] = {r.ref};

		LOGP(DRT, LOGL_NOTICE, "%s asked for request %s of another household: refused\n", m->sender, r.ref);
		snprintf(m->note, m->notelen, "status of %s refused: not the reporter's household", r.ref);
		return rq_send_err(e, m->sender, m->lang, "private", keys, vals, 1);
	}
	rc = db_request_last_note(e->db, r.id, note, sizeof(note));
	if (rc < 0)
		return rc;
	if (note[0])
		snprintf(noteline, sizeof(noteline), "%s%s", !strcmp(m->lang, "en") ? "Last: " : "最新：", note);
	{
		bool en = !strcmp(m->lang, "en");
		const char *keys[] = {"ref", "state", "flag", "note"};
		const char *vals[] = {r.ref, rq_state_label(r.state, m->lang),
				      (r.flags & DB_REQ_OVERDUE) && db_request_state_open(r.state)
					      ? (en ? " (overdue)" : "（超时）")
					      : "",
				      noteline};

		snprintf(m->note, m->notelen, "status of %s sent", r.ref);
		return rq_send_tpl(e, m->sender, m->lang, DB_PRIO_REPLY, "status", keys, vals, ARRAY_SIZE(keys));
	}
}

/* The grid worker commands. */
struct wcmd {
	const char *handler;
	const char *usage_zh, *usage_en;
	const char *action_zh, *action_en;
	bool needs_text;
	const char *to_state;
	const char *from[4]; /* states it applies to */
};

static const struct wcmd wcmds[] = {
	{"accept", "签收 单号", "QS 123456", "签收", "accept", false, "accepted", {"dispatched"}},
	{"note",
	 "处置 单号 说明",
	 "CZ 123456 note",
	 "处置",
	 "add a note to",
	 true,
	 "in_progress",
	 {"dispatched", "accepted", "in_progress"}},
	{"resolve",
	 "办结 单号 结果",
	 "BJ 123456 result",
	 "办结",
	 "close",
	 true,
	 "closed",
	 {"dispatched", "accepted", "in_progress"}},
	{"return",
	 "退回 单号 原因",
	 "TH 123456 reason",
	 "退回",
	 "return",
	 true,
	 "returned",
	 {"dispatched", "accepted", "in_progress"}},
};

static int worker_cmd(struct rq_env *e, struct rq_msg *m, const struct wcmd *c)
{
	bool en = !strcmp(m->lang, "en");
	const char *ukeys[] = {"usage"};
	const char *uvals[] = {en ? c->usage_en : c->usage_zh};
	const char *rest = NULL;
	const char *rkeys[] = {"ref"};
	const char *rvals[1];
	char ref[8], text[600] = "";
	struct db_request r;
	bool ok = false;
	int rc;

	rc = rq_parse_ref(m->args, ref, &rest);
	if (rc < 0) {
		snprintf(m->note, m->notelen, "%s: %s", c->handler, rc == -ENOENT ? "no ref" : "malformed ref");
		return rq_send_err(e, m->sender, m->lang, rc == -ENOENT ? "usage" : "bad_ref", ukeys, uvals, 1);
	}
	rvals[0] = ref;
	if (rest && rest[0])
		rq_orig_rest(e, m, rest, text, sizeof(text));
	rc = db_request_get(e->db, e->ctx, ref, 0, &r);
	if (rc == -ENOENT) {
		snprintf(m->note, m->notelen, "%s: unknown ref %s", c->handler, ref);
		return rq_send_err(e, m->sender, m->lang, "unknown_ref", rkeys, rvals, 1);
	}
	if (rc < 0)
		return rc;
	if (r.assignee_phone_id != m->ph.id) {
		LOGP(DRT, LOGL_NOTICE, "%s tried to %s request %s, assigned to %s: refused\n", m->sender, c->handler,
		     ref, r.assignee[0] ? r.assignee : "the staff");
		snprintf(m->note, m->notelen, "%s %s refused: not the assignee", c->handler, ref);
		return rq_send_err(e, m->sender, m->lang, "not_yours", rkeys, rvals, 1);
	}
	for (unsigned i = 0; i < ARRAY_SIZE(c->from) && c->from[i]; i++)
		ok |= !strcmp(r.state, c->from[i]);
	if (!ok) {
		const char *keys[] = {"ref", "state", "action"};
		const char *vals[] = {ref, rq_state_label(r.state, m->lang), en ? c->action_en : c->action_zh};

		snprintf(m->note, m->notelen, "%s %s refused: state %s", c->handler, ref, r.state);
		return rq_send_err(e, m->sender, m->lang, "bad_state", keys, vals, ARRAY_SIZE(keys));
	}
	if (c->needs_text && !text[0]) {
		snprintf(m->note, m->notelen, "%s %s: no text", c->handler, ref);
		return rq_send_err(e, m->sender, m->lang, "usage", ukeys, uvals, 1);
	}

	if (!strcmp(c->handler, "return"))
		r.assignee_phone_id = 0;
	rc = rq_transition(e, &r, c->to_state, m->sender, text);
	if (rc < 0)
		return rc;
	snprintf(m->note, m->notelen, "request %s %s by %s", ref, c->to_state, m->sender);
	if (!strcmp(c->handler, "accept"))
		return rq_send_tpl(e, m->sender, m->lang, DB_PRIO_REPLY, "accepted", rkeys, rvals, 1);
	if (!strcmp(c->handler, "note"))
		return rq_send_tpl(e, m->sender, m->lang, DB_PRIO_REPLY, "noted", rkeys, rvals, 1);
	if (!strcmp(c->handler, "resolve")) {
		const char *keys[] = {"ref", "result"};
		const char *vals[] = {ref, text};

		rc = rq_send_tpl(e, r.reporter, r.reporter_lang, DB_PRIO_REPLY, "resolved", keys, vals, 2);
		return rc < 0 ? rc
			      : rq_send_tpl(e, m->sender, m->lang, DB_PRIO_REPLY, "resolved_worker", rkeys, rvals, 1);
	}
	/* return: the duty staff reassign it */
	{
		struct rq_staff_list l;
		const char *keys[] = {"ref", "address", "text", "reason"};
		const char *vals[] = {ref, r.address[0] ? r.address : "-", r.text, text};

		rc = rq_staff_get(e, &l);
		for (int i = 0; rc == 0 && i < l.n; i++)
			rc = rq_send_tpl(e, l.p[i].number, l.p[i].lang, DB_PRIO_STAFF, "returned_staff", keys, vals,
					 ARRAY_SIZE(keys));
		return rc < 0 ? rc
			      : rq_send_tpl(e, m->sender, m->lang, DB_PRIO_REPLY, "returned_worker", rkeys, rvals, 1);
	}
}

static int list(struct rq_env *e, struct rq_msg *m)
{
	char *refs, n[16];
	int rc = db_request_open_refs(e->db, e->ctx, m->ph.id, &refs);
	const char *keys[] = {"n", "refs"};
	const char *vals[] = {n, refs};

	if (rc < 0)
		return rc;
	snprintf(n, sizeof(n), "%d", rc);
	snprintf(m->note, m->notelen, "list: %d open", rc);
	return rq_send_tpl(e, m->sender, m->lang, DB_PRIO_REPLY, rc ? "list" : "list_none", keys, vals, 2);
}

/* A rating reply to the newest closed request of the sender or its household. 0 when there is none
 * (not request business), 1 handled. */
static int rating(struct rq_env *e, struct rq_msg *m, int value)
{
	const char *label = rq_rating_label(value);
	const char *keys[] = {"ref", "rating"};
	const char *vals[2];
	struct db_request r;
	int rc;

	rc = db_request_latest(e->db, e->ctx, m->sender, m->known ? m->ph.household_id : 0, "closed", &r);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	vals[0] = r.ref;
	vals[1] = label;
	if (!strcmp(m->lang, "en"))
		vals[1] = value == 1 ? "satisfied" : value == 2 ? "fairly satisfied" : "unsatisfied";
	OSMO_STRLCPY_ARRAY(r.rating, label);
	rc = rq_transition(e, &r, "visited", m->sender, label);
	if (rc < 0)
		return rc;
	if (value < 3) {
		snprintf(m->note, m->notelen, "request %s rated %d", r.ref, value);
		rc = rq_send_tpl(e, m->sender, m->lang, DB_PRIO_REPLY, "rated", keys, vals, 2);
		return rc < 0 ? rc : 1;
	}
	/* 不满意: reopened, to the duty staff */
	r.assignee_phone_id = 0;
	r.flags &= ~(DB_REQ_OVERDUE | DB_REQ_REMINDED | DB_REQ_ESCALATED);
	r.deadline = rq_deadline(e->db, e->now, e->deadline_days);
	rc = rq_transition(e, &r, "reopened", m->sender, "不满意，重办");
	if (rc == 0)
		rc = rq_notify_assignee(e, &r, "重办", "Reopened");
	if (rc == 0)
		rc = rq_send_tpl(e, m->sender, m->lang, DB_PRIO_REPLY, "rated_reopen", keys, vals, 2);
	snprintf(m->note, m->notelen, "request %s rated 3: reopened to the duty staff", r.ref);
	return rc < 0 ? rc : 1;
}

/* A reply with no keyword: a rating of the sender's newest finished request (rating_v 1..3), or
 * the answer to a finished errand (errand_v 1 confirm, 2 dispute); whichever of the two the newest
 * closed one of the sender (or its household) is. 0 when it is neither (not ours), 1 handled. */
static int closed_answer(struct rq_env *e, struct rq_msg *m, int rating_v, int errand_v)
{
	struct db_request r;
	int rc;

	if (!rating_v && !errand_v)
		return 0;
	rc = db_request_latest(e->db, e->ctx, m->sender, m->known ? m->ph.household_id : 0, "closed", &r);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	if (!strcmp(r.kind, "errand")) {
		if (!errand_v)
			return 0;
		rc = rq_errand_answer(e, m, &r, errand_v == 1);
		return rc < 0 ? rc : 1;
	}
	return rating_v ? rating(e, m, rating_v) : 0;
}

static const struct {
	const char *role, *zh, *en;
} role_labels[] = {
	{"grid_worker", "网格员", "grid workers"},
	{"staff", "工作人员", "staff"},
	{"runner", "跑腿志愿者", "runners"},
	{"resident", "居民", "residents"},
};

const char *rq_role_label(const char *role, const char *lang)
{
	for (unsigned i = 0; i < ARRAY_SIZE(role_labels); i++)
		if (!strcmp(role, role_labels[i].role))
			return !strcmp(lang, "en") ? role_labels[i].en : role_labels[i].zh;
	return role;
}

/* The whole normalised text minus the keyword and its separators (rt_match's args, untruncated). */
static char *full_args(void *ctx, const char *text, size_t len, const char *keyword)
{
	size_t max = 4 * len + 16;
	char *norm = talloc_size(ctx, max), *p;
	int n = rt_normalize(text, len, norm, max);

	if (n < 0)
		return talloc_strdup(ctx, "");
	p = norm;
	if (keyword && !strncmp(p, keyword, strlen(keyword)))
		p += strlen(keyword);
	while (*p == ' ' || *p == ',' || *p == ':' || *p == '#' || *p == ';' || *p == '.')
		p++;
	return p;
}

static bool replyable(const char *number)
{
	return number[0] == '+' || (number[0] >= '0' && number[0] <= '9');
}

int rq_handle(struct rq_env *e, const char *sender, const char *text, size_t len, unsigned flags, char *note,
	      size_t notelen)
{
	struct rt_match mt;
	struct rq_msg m = {.sender = sender, .text = text, .len = len, .note = note, .notelen = notelen};
	int rc;

	note[0] = '\0';
	rc = db_phone_get(e->db, sender, &m.ph);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	m.known = rc == 0;
	m.lang = m.known && m.ph.lang[0] ? m.ph.lang : "zh-CN";
	if (m.known) {
		/* a registration waiting for approval is not (yet) a verified phone */
		rc = db_phone_pending(e->db, m.ph.id);
		if (rc < 0)
			return rc;
		m.pending = rc > 0;
		m.known = !m.pending;
	}

	if (!(flags & DB_SMS_IN_BAD_TEXT) && e->rules)
		rc = rt_match(e->rules, text, len, &mt);
	else if (!(flags & DB_SMS_IN_BAD_TEXT))
		return 0;
	if ((flags & DB_SMS_IN_BAD_TEXT) || rc == -EILSEQ) {
		snprintf(note, notelen, "unreadable text: asked to send again");
		if (!replyable(sender))
			return 1;
		rc = rq_send_err(e, sender, m.lang, "bad_text", NULL, NULL, 0);
		return rc < 0 ? rc : 1;
	}
	if (rc < 0)
		return rc;

	if (!mt.rule)
		return closed_answer(e, &m, rq_parse_rating(mt.args), rq_parse_errand_answer(mt.args));
	if (!strcmp(mt.rule->handler, "confirm") && !mt.args[0])
		return closed_answer(e, &m, 0, 1); /* 确认 alone (with a code it was the SOS binding's) */
	m.keyword = mt.keyword;
	m.handler = mt.rule->handler;
	if (mt.rule->role[0] && (!m.known || strcmp(m.ph.role, mt.rule->role))) {
		const char *keys[] = {"keyword", "role"};
		const char *vals[] = {mt.keyword, rq_role_label(mt.rule->role, m.lang)};
		bool ours = false;

		for (unsigned i = 0; i < ARRAY_SIZE(wcmds); i++)
			ours |= !strcmp(m.handler, wcmds[i].handler);
		if (!ours && strcmp(m.handler, "list") && strcmp(m.handler, "take") && strcmp(m.handler, "done"))
			return 0;
		LOGP(DRT, LOGL_NOTICE, "%s (role %s) sent \"%s\", which is only for %s: refused\n", sender,
		     m.known ? m.ph.role : "unknown", mt.keyword, mt.rule->role);
		snprintf(note, notelen, "refused: %s is only for %s (sender role %s)", mt.keyword, mt.rule->role,
			 m.known ? m.ph.role : "unknown");
		rc = rq_send_err(e, sender, m.lang, "refused", keys, vals, 2);
		return rc < 0 ? rc : 1;
	}
	m.args = full_args(e->ctx, text, len, mt.keyword);

	if (!strcmp(m.handler, "report"))
		rc = report(e, &m);
	else if (!strcmp(m.handler, "status"))
		rc = status(e, &m);
	else if (!strcmp(m.handler, "list"))
		rc = list(e, &m);
	else if (!strcmp(m.handler, "errand"))
		rc = rq_errand(e, &m);
	else if (!strcmp(m.handler, "take"))
		rc = rq_errand_take(e, &m);
	else if (!strcmp(m.handler, "done"))
		rc = rq_errand_done(e, &m);
	else if (!strcmp(m.handler, "points"))
		rc = rq_points(e, &m);
	else if (!strcmp(m.handler, "register"))
		rc = rq_register(e, &m);
	else {
		rc = 0;
		for (unsigned i = 0; i < ARRAY_SIZE(wcmds); i++)
			if (!strcmp(m.handler, wcmds[i].handler))
				return (rc = worker_cmd(e, &m, &wcmds[i])) < 0 ? rc : 1;
		return 0;
	}
	return rc < 0 ? rc : 1;
}

/* ---- staff actions ---- */

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

/* ---- the gateway ---- */

struct rq_cfg rq_cfg = {
	.deadline_days = 3,
	.errand_points = 10,
	.err_max = 5,
};

struct osmo_tdef rq_tdefs[] = {
	{.T = RQ_T_ESCALATE, .default_val = 86400, .unit = OSMO_TDEF_S,
	 .desc = "A request still open this long after its reminder: 督办 to the staff"},
	{.T = RQ_T_DUP, .default_val = 600, .unit = OSMO_TDEF_S,
	 .desc = "The same text from the same number within this is merged into one request"},
	{.T = RQ_T_ERR_WINDOW, .default_val = 600, .unit = OSMO_TDEF_S,
	 .desc = "The window of the error-reply limit (at most err-max refusals per number)"},
	{}
};

/* Error replies (refusals, malformed commands) per number: at most err_max in err_window_s. */
static struct gw_limit *err_limit;

static bool gw_may_reply(void *data, const char *number)
{
	struct gw *gw = data;

	if (!err_limit)
		err_limit = gw_limit_alloc(gw, 1024, rq_cfg.err_max, 0);
	gw_limit_set(err_limit, rq_cfg.err_max, osmo_tdef_get(rq_tdefs, RQ_T_ERR_WINDOW, OSMO_TDEF_S, -1));
	return gw_limit_take(err_limit, number, gw_now());
}

static int gw_queue(void *data, const char *dest, const char *text, int prio)
{
	return gw_sms_queue(data, dest, text, prio, NULL);
}

void gw_request_env(struct gw *gw, struct rq_env *e, void *ctx, time_t now)
{
	memset(e, 0, sizeof(*e));
	e->db = gw->db;
	e->rules = gw->rules;
	e->ctx = ctx;
	e->now = now;
	e->deadline_days = rq_cfg.deadline_days;
	e->queue = gw_queue;
	e->queue_data = gw;
	e->may_reply = gw_may_reply;
	e->may_reply_data = gw;
	e->errand_points = rq_cfg.errand_points;
}

int gw_request_route(struct gw *gw, const struct db_sms_in *m, const char **note)
{
	static char buf[256]; /* the note outlives this call: gw_route stores it */
	void *tmp = talloc_new(gw);
	struct rq_env e;
	int rc;

	gw_request_env(gw, &e, tmp, gw_now());
	rc = rq_handle(&e, m->sender, m->text, strlen(m->text), m->flags, buf, sizeof(buf));
	*note = buf;
	talloc_free(tmp);
	return rc;
}

/* Due work every OVERDUE_EVERY_S: open requests past their deadline are flagged and chased. */
#define OVERDUE_EVERY_S 5

static time_t overdue_due(struct gw *gw, time_t now, void *data)
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

int rq_init(struct gw *gw)
{
	int rc = gw_route_add(gw, "request", gw_request_route);

	if (rc == 0)
		rc = gw_due_register(gw, "overdue", overdue_due, NULL);
	if (rc == 0)
		rc = gw_due_register(gw, "digest", gw_digest_due, NULL);
	return rc;
}
