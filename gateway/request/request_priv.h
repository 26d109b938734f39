/* Inside the request handling only (gateway/request/request*.c, gateway/request/errand.c): what the handlers of
 * requests, errands, points and registration share. Everything runs inside the caller's
 * transaction (see gateway/request/request.h). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "db/db.h"
#include "gateway/request/request.h"

/* What the handlers share about the message. */
struct rq_msg {
	const char *sender;
	bool known;   /* an active phone of the database (a pending registration is not) */
	bool pending; /* a phone that registered and waits for approval */
	struct db_phone ph;
	const char *lang;
	const char *text; /* the original */
	size_t len;
	const char *keyword; /* as matched (normalised) */
	const char *handler;
	char *args; /* the normalised arguments (all of them) */
	char *note;
	size_t notelen;
};

/* Whether m's sender may reach many phones now (rq_env.may_fan_out). When not, the request is kept
 * and shown to the staff in their lists and the digest, only not texted to each of them; its
 * history says so. */
bool rq_may_fan_out(struct rq_env *e, const struct rq_msg *m);

struct rq_staff_list {
	struct db_phone p[32];
	int n;
};

/* Expand and queue one text; a recipient that cannot be texted is logged and skipped, only a
 * database error fails. */
int rq_send_tpl(struct rq_env *e, const char *dest, const char *lang, int prio, const char *name,
		const char *const *keys, const char *const *vals, unsigned n);
/* An error reply, rate-limited per number (e->may_reply). */
int rq_send_err(struct rq_env *e, const char *dest, const char *lang, const char *name, const char *const *keys,
		const char *const *vals, unsigned n);
/* One event row for r (to its current state). */
int rq_event(struct rq_env *e, const struct db_request *r, const char *actor, const char *from, const char *note);
/* Move r to state, write it back and record the event. */
int rq_transition(struct rq_env *e, struct db_request *r, const char *state, const char *actor, const char *note);
/* The active staff phones (at most 32); 0 or -errno. */
int rq_staff_get(struct rq_env *e, struct rq_staff_list *l);
/* The dispatch text of r to its assignee, or to every staff phone when it has none. */
int rq_notify_assignee(struct rq_env *e, const struct db_request *r, const char *tag_zh, const char *tag_en);
/* A new request or errand (kind) of the sender with text (kept as a pointer), created now; an
 * unknown or pending sender's is flagged unverified. */
void rq_new(struct rq_env *e, const struct rq_msg *m, const char *kind, char *text, struct db_request *r);
/* Insert r with a fresh reference. */
int rq_add_with_ref(struct rq_env *e, struct db_request *r);
/* The original words of a normalised suffix of the message, cut to outlen on a character. */
void rq_orig_rest(struct rq_env *e, const struct rq_msg *m, const char *norm_suffix, char *out, size_t outlen);
/* "网格员", "跑腿志愿者", ... (or the English) for a role. */
const char *rq_role_label(const char *role, const char *lang);

/* gateway/request/errand.c: the handlers of 跑腿/PT (errand), 接单/JD (take), 完成/WC (done), 积分/JF
 * (points), 注册/ZC (register); 0 or -errno, m->note says what was done. */
int rq_errand(struct rq_env *e, struct rq_msg *m);
int rq_errand_take(struct rq_env *e, struct rq_msg *m);
int rq_errand_done(struct rq_env *e, struct rq_msg *m);
int rq_points(struct rq_env *e, struct rq_msg *m);
int rq_register(struct rq_env *e, struct rq_msg *m);
/* The resident's answer to a finished errand r (state closed): confirm (1/确认) or dispute (2/有异议). */
int rq_errand_answer(struct rq_env *e, struct rq_msg *m, struct db_request *r, bool confirm);

/* gateway/request/request_extend.c: 延期/YQ <ref> <days> <reason> from the assignee (an ask to the
 * duty staff; a staff phone's is the extension itself), 批准/PZ <code> and 驳回/BH <code> <reason>
 * from the staff; 0 or -errno, m->note says what was done. */
int rq_extend_ask(struct rq_env *e, struct rq_msg *m);
int rq_extend_approve(struct rq_env *e, struct rq_msg *m);
int rq_extend_refuse(struct rq_env *e, struct rq_msg *m);
/* Asks nobody answered by their time: expired, the asker told (void, silently, when the request is
 * closed). How many, or -errno. */
int rq_extension_lapse(struct rq_env *e);

struct gw;
/* The environment of the gateway's handlers: its database, rules, clock, queue, rate limit and
 * settings. */
void gw_request_env(struct gw *gw, struct rq_env *e, void *ctx, time_t now);
/* gateway/request/request_overdue.c: the due hook "overdue" (rq_init registers it): rq_overdue and
 * rq_extension_lapse in a transaction of their own, the outbox kicked when something was sent; asks
 * to run again in 5 s. */
time_t rq_overdue_due(struct gw *gw, time_t now, void *data);

/* ---- the staff console and Open311 (gateway/request/request_http.c, request_open311.c) ---- */

/* An ISO 8601 date or time as Open311 clients send it: "2026-12-02", "2026-12-02T10:15",
 * "2026-12-02T10:15:00Z", "...+08:00", "...+0800", fractions of a second ignored; without an
 * offset it is local time. 0 with *t, -EINVAL. */
int rq_iso_parse(const char *s, time_t *t);
/* Open311's status of a request state: "open" or "closed" (DOMAIN.md's table). */
const char *rq_open311_status(const char *state);

struct gw;
/* The routes of the console's requests part (request_http.c) and of Open311 GeoReport v2
 * (request_open311.c); gw_http_route's errors. */
int rq_open311_init(struct gw *gw);
/* request_district.c: the street office's view over its communities (a district on PostgreSQL). */
int rq_district_init(void);
