/* Requests (报事) by SMS: the closed loop report -> dispatch -> accept -> note -> resolve -> rate
 * (issue 3; ../shared/DOMAIN.md "Requests", "SMS keywords").
 *
 * A resident texts 报事/BS <text>; the request gets a 6-digit reference, a deadline in working
 * days (holiday table, 调休) and is dispatched at once to the household's grid worker (or to the
 * duty staff: every active phone with role staff). The grid worker answers by SMS: 签收/QS,
 * 处置/CZ <note>, 办结/BJ <result>, 退回/TH <reason>, 列表/LB; the resident rates with 1/2/3 and a
 * 3 (不满意) reopens it to the staff. 查询/CX shows the state, only to the reporter's household and
 * staff. Every change is a request_event row. Everything happens inside the caller's transaction
 * (gw_route's inbox commit, linlictl's own), so a crash leaves either the SMS on the SIM or the
 * request and its queued SMS in the database.
 *
 * Texts come from the reply templates of routes/sms.rules ("reply NAME LANG TEXT"); each name has
 * a built-in default (zh-CN and en) so the file need only hold what an operator changed.
 *
 * The first part is pure text handling (request_text.c, tests/unit/request_text_test.c); the second
 * the actions, which need only a database and a way to queue SMS (linlid and linlictl both use them:
 * request.c, request_staff.c, request_overdue.c); the third the gateway glue (request.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <osmocom/core/tdef.h>

struct rt_rules;
struct db_context;
struct gw;
struct db_request;

/* ---- text ---- */

/* The label of a state in lang: "已受理" ... for zh-CN, "received" ... for en (the state itself
 * for an unknown one). */
const char *rq_state_label(const char *state, const char *lang);

/* What 查询 tells a resident of the newest change of a request of kind (request, errand): a label
 * in lang for the state it went to (to; dispatched: to the grid worker when assigned, else to the
 * staff), with the deadline date for an extension and, after 处置 and 办结 of a request, note (the
 * assignee's words to the resident). Never a system note. The length, -ENOSPC. */
int rq_event_label(const char *kind, const char *to, bool assigned, const char *note, const char *date,
		   const char *lang, char *out, size_t outlen);

/* A reference at the start of normalised args (after spaces, ':', '#'): exactly 6 ASCII digits.
 * 0 with ref filled (and *rest, if not NULL, pointing past it and its separators); -ENOENT when
 * args does not start with a digit; -EINVAL when the digits are not 6. */
int rq_parse_ref(const char *args, char ref[8], const char **rest);

/* A rating reply: "1"/"满意" -> 1, "2"/"基本满意" -> 2, "3"/"不满意" -> 3 (trailing punctuation
 * ignored), 0 otherwise. Takes a normalised text. */
int rq_parse_rating(const char *norm);
/* The resident's answer to a finished errand: "1"/"确认"/"好" -> 1 (confirmed), "2"/"有异议" -> 2
 * (disputed), 0 otherwise. Takes a normalised text. */
int rq_parse_errand_answer(const char *norm);
/* "满意", "基本满意", "不满意" for 1..3, NULL otherwise. */
const char *rq_rating_label(int rating);

/* The reply template name in lang: the rules file's text for exactly that language, else the
 * built-in one for that language, else the rules' zh-CN, else the built-in zh-CN. rules may be NULL.
 * NULL for a name nobody knows. */
const char *rq_template(const struct rt_rules *rules, const char *name, const char *lang);

/* Expand template name (rq_template) with keys/vals into out; -ENOENT for an unknown name,
 * -ENOSPC. */
int rq_text(const struct rt_rules *rules, const char *name, const char *lang, const char *const *keys,
	    const char *const *vals, unsigned n, char *out, size_t outlen);

/* The original text of a normalised suffix: norm_suffix is the end of rt_normalize(text); the same
 * number of characters from the end of text (trailing white space dropped) are copied to out, with
 * their original case and width. Returns the length, -ENOSPC. */
int rq_orig_suffix(const char *text, size_t len, const char *norm_suffix, char *out, size_t outlen);

/* The deadline date for a recipient: "3月5日" (zh-CN) or "2026-03-05" (en). */
void rq_date(time_t t, const char *lang, char *buf, size_t len);

/* The end (23:59:59 local time) of the n-th working day after the day of now, with the holiday
 * table of dbc (may be NULL: weekends only). */
time_t rq_deadline(struct db_context *dbc, time_t now, unsigned n);

/* ---- actions ---- */

struct rq_env {
	struct db_context *db;
	const struct rt_rules *rules; /* NULL: the built-in texts, no keyword matching */
	void *ctx;		      /* talloc scratch, freed by the caller */
	time_t now;
	unsigned deadline_days;
	/* queue one SMS (enum db_prio); 0 or -errno */
	int (*queue)(void *data, const char *dest, const char *text, int prio);
	void *queue_data;
	/* whether an error reply (refusal, malformed command) may go to number now; NULL: always */
	bool (*may_reply)(void *data, const char *number);
	void *may_reply_data;
	unsigned errand_points; /* credited to the runner of a confirmed errand (0: none) */
	/* whether what number sent may be texted to many (every staff phone, every runner) now;
	 * known: an active phone of the database. NULL: always */
	bool (*may_fan_out)(void *data, const char *number, bool known);
	void *may_fan_out_data;
};

/* Handle a received message if it is request business (a keyword of handler report, status,
 * accept, note, resolve, return, list, extend_ask, extend_approve, extend_refuse; a rating reply to a closed request;
 * an unreadable text). flags are enum db_sms_in_flags. Returns 1 handled (note says what was done), 0 not request
 * business, -errno on a database error. */
int rq_handle(struct rq_env *e, const char *sender, const char *text, size_t len, unsigned flags, char *note,
	      size_t notelen);

/* Staff actions (linlictl request assign|close). actor: who, for the event row. On a refusal
 * -ENOENT (unknown ref or number) or -EPERM (not open) with a reason in err. */
int rq_assign(struct rq_env *e, const char *ref, const char *number, const char *actor, char *err, size_t errlen);
int rq_close(struct rq_env *e, const char *ref, const char *result, const char *actor, char *err, size_t errlen);

/* The staff's further actions (the console: gateway/request/request_http.c), with the same SMS
 * as the SMS commands. Refusals: -ENOENT (unknown ref), -EPERM (a state it does not apply to),
 * -EINVAL (bad input), with a reason in err.
 *
 * rq_note: a remark in the history of any request but a merged one; the state stays (a staff
 * note is not the assignee's 处置); the assignee of an open request gets it by SMS.
 * rq_extend (延期): a new deadline for an open request, days working days after the current
 * deadline (or now, if that is earlier; 1..RQ_EXTEND_MAX_DAYS), or date ("YYYY-MM-DD", its end,
 * later than the current deadline, within a year) when not NULL; state extended, the overdue
 * flags cleared; the resident and the assignee are told. reason is required. A 延期 the assignee
 * asked for by SMS and that still waits is approved by it (gateway/request/request_extend.c).
 * rq_reopen (重办): a closed or rated request back to work (reopened, then dispatched again to its
 * assignee; reopened with the duty staff when it has none), a new deadline of e->deadline_days;
 * the assignee (or every staff phone) gets the job again and the resident is told. reason is
 * required. */
#define RQ_EXTEND_MAX_DAYS 10 /* 延期: at most 10 working days at once (DOMAIN.md) */
int rq_note(struct rq_env *e, const char *ref, const char *note, const char *actor, char *err, size_t errlen);
int rq_extend(struct rq_env *e, const char *ref, unsigned days, const char *date, const char *reason, const char *actor,
	      char *err, size_t errlen);
int rq_reopen(struct rq_env *e, const char *ref, const char *reason, const char *actor, char *err, size_t errlen);

/* A request made by another system (Open311) or the staff, not by SMS: the same lifecycle as a
 * 报事 (reference, deadline, dispatch to the household's grid worker or the duty staff). phone,
 * when it is an active phone of the database, is the reporter: linked to its household, it gets
 * the SMS a reporter gets (the reference now, the result later). */
struct rq_report_in {
	const char *text;    /* required */
	const char *phone;   /* NULL or "": none */
	const char *source;  /* "open311", "web" or "voice" */
	const char *service; /* the Open311 service_code, NULL for the general one */
	const char *place;   /* the address as written, NULL none */
	bool has_pos;
	double lat, lon;
	const char *recording; /* a request by voice: the path of its WAV file, NULL none */
	unsigned recording_s;  /* its length in seconds */
};
/* 0 with the new request (read back) in *out; -EINVAL (bad phone, no text) with a reason in err. */
int rq_report(struct rq_env *e, const struct rq_report_in *in, const char *actor, struct db_request *out, char *err,
	      size_t errlen);

/* A request by voice (the voice line, gateway/call/call_voice.c, wired in gateway/wire.c): a
 * known resident's recording of seconds s at path becomes a request of source 'voice' with the
 * text "（语音报事，N秒）", through rq_report in its own transaction, so the reporter gets the
 * reference and the grid worker the dispatch (which says the recording is in the staff console).
 * ref (8 bytes) gets the reference. 0 or -errno (logged). */
int gw_request_voice(struct gw *gw, const char *number, const char *path, unsigned seconds, char ref[8]);

/* Overdue check: open requests past their deadline are flagged 超时 and their assignee (the staff
 * when none) gets 催办 once; still open escalate_after_s later, the staff get 督办 once.
 * Returns how many requests changed, or -errno. */
int rq_overdue(struct rq_env *e, unsigned escalate_after_s);

/* ---- errands, points, registration, holidays, the digest (gateway/request/errand.c) ----
 *
 * 跑腿/PT <what> from a resident is a request of kind 'errand' offered by SMS to every active phone
 * with role runner (one box is one community: every runner of the database); the first 接单/JD
 * <ref> takes it (the others and the resident are told, a later 接单 gets "already taken by"),
 * 完成/WC <ref> marks it done, the resident answers 1/确认 (confirmed: the runner is credited
 * e->errand_points in the points ledger) or 2/有异议 (reopened, to the duty staff).
 * 积分/JF answers the sender's balance and last entries. 注册/ZC <name> <address> from a number
 * the database does not know makes a pending phone; the staff approve or reject it (a name and
 * address anyone in the building knows must not link a number to a household). */

/* The digits of an address as people write it: "3-2-501", "3幢2单元501室", "3栋2单元501",
 * "3号楼501" (no unit). 0 with building/unit/room filled (unit "" when only two numbers were
 * given), -EINVAL when it does not hold two or three numbers. */
int rq_address_parse(const char *s, char building[16], char unit[16], char room[16]);
/* Whether a household's columns (building "3幢", unit "2单元" or "", room "501") carry the
 * numbers of a parsed address. */
bool rq_address_match(const char *hh_building, const char *hh_unit, const char *hh_room, const char *building,
		      const char *unit, const char *room);
/* A calendar date "2026-10-01" (also "2026/10/1", "20261001") -> "2026-10-01" in out; -EINVAL
 * for anything that is not a real date. */
int rq_date_parse(const char *s, char out[11]);

/* Staff: add n (not 0, may be negative: a correction is an entry too) to number's points with
 * a reason; the person is told by SMS. *balance is the new balance. -ENOENT (unknown number)
 * with a reason in err. */
int rq_points_award(struct rq_env *e, const char *number, long n, const char *reason, const char *actor,
		    int64_t *balance, char *err, size_t errlen);
/* Staff: approve the pending registration of number, in household_code (NULL: the household its
 * address matched); the person is told by SMS. reject: the phone row goes, the registration is
 * kept as rejected, the person is told the reason. -ENOENT / -EINVAL with a reason in err. */
int rq_register_approve(struct rq_env *e, const char *number, const char *household_code, const char *actor, char *err,
			size_t errlen);
int rq_register_reject(struct rq_env *e, const char *number, const char *reason, const char *actor, char *err,
		       size_t errlen);
/* The daily digest: every active staff phone gets the counts of open and overdue requests and the
 * oldest few references. Returns how many were texted, or -errno. */
int rq_digest(struct rq_env *e);

/* ---- the gateway ---- */

struct gw;
struct db_sms_in;

/* gw_route's handler for requests, inside its transaction: 1 handled (*note says what), 0 not
 * request business, -errno. */
int gw_request_route(struct gw *gw, const struct db_sms_in *m, const char **note);

/* Settings (gateway node: deadline-days, errand-points, daily-digest). */
struct rq_cfg {
	unsigned deadline_days;	 /* working days to resolve a request (3) */
	unsigned errand_points;	 /* points a runner earns per confirmed errand (10) */
	unsigned err_max;	 /* error replies per number: at most this many per RQ_T_ERR_WINDOW (5) */
	unsigned fanout_unknown; /* texts to many (all staff, all runners) per RQ_T_FANOUT from a number
				  * the database does not know (3) */
	unsigned fanout_known;	 /* the same from a known phone (10) */
	bool digest;		 /* send the daily digest to the staff */
	unsigned digest_min;	 /* at this local time, minutes after midnight */
};
extern struct rq_cfg rq_cfg;

/* The request times (osmo_tdef group "request": `timer request X1 ...`). */
enum rq_timer {
	RQ_T_ESCALATE = -1,    /* overdue this long: 督办 to the staff (86400 s) */
	RQ_T_DUP = -2,	       /* the same text from the same number within this is one request (600 s) */
	RQ_T_ERR_WINDOW = -3,  /* the window of the error-reply limit (600 s) */
	RQ_T_FANOUT = -4,      /* the window of the fan-out limit (3600 s) */
	RQ_T_EXTEND_WAIT = -5, /* a 延期 ask lapses at the deadline, but not sooner than this (86400 s) */
};
extern struct osmo_tdef rq_tdefs[];

/* Register the router's handler ("request") and the due work ("overdue", "digest"). */
int rq_init(struct gw *gw);
/* The staff console's routes of requests, registrations and points (docs/console-api.md
 * "Requests"), Open311 GeoReport v2 under /open311/v2/, and the requests' metrics; before
 * gw_http_start. 0 or gw_http_route's error. */
int rq_http_init(struct gw *gw);
/* Where the recordings of requests by voice are (the call side's recordings-dir, wired in
 * gateway/wire.c): GET /api/v1/requests/{ref}/recording answers only a file inside it. */
void rq_http_set_recordings_dir(const char *(*fn)(void));
/* The VTY settings in the gateway node. */
void rq_vty_init(int node);
/* Due work: the daily digest once the local time has passed the configured digest time, at most
 * once per local day (the day is kept in the setting "digest-last-day", so a restart does not
 * send it again), in its own transaction. Returns the next time it is due. */
time_t gw_digest_due(struct gw *gw, time_t now, void *data);
