/* Requests: the pure text handling of request.h's first part (state and rating labels, the
 * parsing of references, ratings and answers, the reply templates and their built-in defaults,
 * dates and deadlines in working days), and the role labels of request_priv.h. Unit tested in
 * tests/unit/request_text_test.c. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <osmocom/core/utils.h>

#include "db/db.h"
#include "gateway/core/rules.h"
#include "gateway/request/request.h"
#include "gateway/request/request_priv.h"
#include "gateway/request/workday.h"
#include "util/utf8.h"

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
	/* 查询 of a ref that does not exist and of another household's: the same answer, so that nobody
	 * learns which references exist */
	{"private", "zh-CN", "单号{ref}不存在，或只有报事住户和工作人员可以查询。"},
	{"private", "en", "There is no ref {ref}, or only the reporting household and staff may see it."},
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
	/* the staff's actions from the console (gateway/request/request_staff.c) */
	{"staff_note", "zh-CN", "【备注】单号{ref}：{note}"},
	{"staff_note", "en", "[Note] ref {ref}: {note}"},
	{"extended", "zh-CN", "您的报事{ref}已延期至{date}办结，原因：{reason}"},
	{"extended", "en", "Your report {ref} is now due by {date}. Reason: {reason}"},
	{"extended_worker", "zh-CN", "【延期】单号{ref}已延期至{date}：{reason}"},
	{"extended_worker", "en", "[Extended] ref {ref} is now due {date}: {reason}"},
	{"reopened", "zh-CN", "您的报事{ref}已重新办理：{reason}。预计{date}前办结。"},
	{"reopened", "en", "Your report {ref} has been reopened: {reason}. Due by {date}."},
	/* 延期 asked by SMS (gateway/request/request_extend.c) */
	{"extend_ask_staff", "zh-CN",
	 "【延期申请】单号{ref} {address}：{name}申请延期{days}个工作日（原{date}前办结），原因：{reason}。"
	 "回复“批准{code}”同意，“驳回{code} 原因”不同意"},
	{"extend_ask_staff", "en",
	 "[Extension] ref {ref} {address}: {name} asks for {days} more working days (due {date}). Reason: "
	 "{reason}. Reply PZ {code} to approve, BH {code} reason to refuse"},
	{"extend_asked", "zh-CN", "单号{ref}延期{days}个工作日的申请已提交，等待工作人员审批。"},
	{"extend_asked", "en", "Your request to extend ref {ref} by {days} working days went to the staff."},
	{"extend_pending", "zh-CN", "单号{ref}已有延期申请在审批中，请等待答复。"},
	{"extend_pending", "en", "Ref {ref} already has an extension waiting for approval."},
	{"extend_days", "zh-CN", "延期应为1到{max}个工作日。格式：{usage}"},
	{"extend_days", "en", "An extension is 1 to {max} working days. Format: {usage}"},
	{"extend_done", "zh-CN", "单号{ref}已延期至{date}，已通知居民和承办人。"},
	{"extend_done", "en", "Ref {ref} is now due {date}; the resident and the assignee were told."},
	{"extend_refused", "zh-CN", "【延期驳回】单号{ref}的延期申请未获批准：{reason}。请按原期限（{date}前）办结。"},
	{"extend_refused", "en", "[Refused] the extension of ref {ref} was not approved: {reason}. Still due {date}."},
	{"extend_refused_staff", "zh-CN", "已驳回单号{ref}的延期申请，已通知{name}。"},
	{"extend_refused_staff", "en", "Refused the extension of ref {ref}; {name} was told."},
	{"extend_expired", "zh-CN", "单号{ref}的延期申请无人审批，已失效。请按原期限办理，或重新申请。"},
	{"extend_expired", "en",
	 "Nobody answered the extension of ref {ref}: it lapsed. Keep the deadline or ask again."},
	{"extend_no_code", "zh-CN", "审批码{code}无效，或该申请已处理。"},
	{"extend_no_code", "en", "No extension waits under code {code}, or it was decided already."},
	{"extend_void", "zh-CN", "单号{ref}当前{state}，延期申请已作废。"},
	{"extend_void", "en", "Ref {ref} is {state}: the extension request is void."},
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
	{"fanout_limited", "zh-CN", "已受理，单号{ref}。您近期提交较多，工作人员将在系统中查看处理。"},
	{"fanout_limited", "en", "Received, ref {ref}. You sent many just now: the staff will see it in their list."},
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

int rq_orig_suffix(const char *text, size_t len, const char *norm_suffix, char *out, size_t outlen)
{
	return rt_orig_suffix(text, len, norm_suffix, out, outlen);
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
	char date[24];
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

/* What 查询 tells a resident about the newest change of a request: a label per state it went to,
 * never the event's note as such (system notes are English and internal; a staff note or a 延期
 * ask is a remark, not a change). Only the assignee's own words to the resident follow the label:
 * the 处置 note and the 办结 result of a request. {date}: the deadline. */
static const struct {
	const char *kind, *to, *zh, *en;
	bool note;
} event_labels[] = {
	{"errand", "dispatched", "已发给跑腿志愿者", "offered to the runners", false},
	{"errand", "accepted", "志愿者已接单", "taken by a runner", false},
	{"errand", "closed", "志愿者已完成，待您确认", "done, waiting for your confirmation", false},
	{"errand", "visited", "已确认", "confirmed", false},
	{NULL, "received", "已受理", "received", false},
	{NULL, "accepted", "网格员已签收", "accepted by the grid worker", false},
	{NULL, "in_progress", "正在处置", "in progress", true},
	{NULL, "returned", "已退回社区，待改派", "returned to the staff, to be reassigned", false},
	{NULL, "extended", "已延期至{date}", "extended to {date}", false},
	{NULL, "closed", "已办结", "resolved", true},
	{NULL, "visited", "已评价", "rated", false},
	{NULL, "reopened", "已重新办理", "reopened", false},
	{NULL, "merged", "已并入之前的报事", "merged with an earlier report", false},
};

int rq_event_label(const char *kind, const char *to, bool assigned, const char *note, const char *date,
		   const char *lang, char *out, size_t outlen)
{
	bool en = lang && !strcmp(lang, "en");
	const char *keys[] = {"date"};
	const char *vals[] = {date ? date : ""};
	const char *label = NULL;
	bool with_note = false;
	int n;

	if (!strcmp(to, "dispatched") && strcmp(kind, "errand"))
		label = assigned ? (en ? "sent to your grid worker" : "已派给网格员")
				 : (en ? "passed to the community staff" : "已转社区工作人员");
	for (unsigned i = 0; !label && i < ARRAY_SIZE(event_labels); i++)
		if ((!event_labels[i].kind || !strcmp(event_labels[i].kind, kind)) && !strcmp(event_labels[i].to, to)) {
			label = en ? event_labels[i].en : event_labels[i].zh;
			with_note = event_labels[i].note;
		}
	if (!label)
		label = rq_state_label(to, lang);
	n = rt_expand(label, keys, vals, 1, out, outlen);
	if (n < 0)
		return n;
	if (with_note && note && note[0]) {
		size_t len = strlen(out);

		if ((size_t)snprintf(out + len, outlen - len, "%s%s", en ? ": " : "：", note) >= outlen - len)
			return -ENOSPC;
	}
	return (int)strlen(out);
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

/* ---- the console and Open311 (request_http.c, request_open311.c) ---- */

/* n digits at s as a number, -1 when they are not all digits. */
static int digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + s[i] - '0';
	}
	return v;
}

int rq_iso_parse(const char *s, time_t *out)
{
	struct tm tm = {.tm_isdst = -1};
	char date[11];
	int y, mo, d, h = 0, mi = 0, sec = 0, off = 0;
	bool utc = false;
	const char *p = s + 10;
	time_t t;

	if (strlen(s) < 10 || (y = digits(s, 4)) < 0 || s[4] != '-' || (mo = digits(s + 5, 2)) < 0 || s[7] != '-' ||
	    (d = digits(s + 8, 2)) < 0)
		return -EINVAL;
	memcpy(date, s, 10); /* "YYYY-MM-DD", checked above */
	date[10] = '\0';
	if (rq_date_parse(date, date) < 0) /* a real day (not 2026-02-30) */
		return -EINVAL;
	if (*p == 'T' || *p == ' ') {
		if ((h = digits(p + 1, 2)) < 0 || p[3] != ':' || (mi = digits(p + 4, 2)) < 0 || h > 23 || mi > 59)
			return -EINVAL;
		p += 6;
		if (*p == ':') {
			if ((sec = digits(p + 1, 2)) < 0 || sec > 60)
				return -EINVAL;
			p += 3;
			if (*p == '.') /* fractions of a second: ignored */
				for (p++; *p >= '0' && *p <= '9'; p++)
					;
		}
		if (*p == 'Z') {
			utc = true;
			p++;
		} else if (*p == '+' || *p == '-') {
			int oh = digits(p + 1, 2), om;
			const char *q = p + 3;

			if (*q == ':')
				q++;
			om = digits(q, 2);
			if (oh < 0 || om < 0 || oh > 14 || om > 59)
				return -EINVAL;
			off = (oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
			utc = true;
			p = q + 2;
		}
	}
	if (*p)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	if (utc) {
		tm.tm_isdst = 0;
		t = timegm(&tm) - off;
	} else {
		t = mktime(&tm);
	}
	if (t == (time_t)-1)
		return -EINVAL;
	*out = t;
	return 0;
}

/* DOMAIN.md's table: the states of the closed loop that still need work are open. */
const char *rq_open311_status(const char *state)
{
	return db_request_state_open(state) ? "open" : "closed";
}
