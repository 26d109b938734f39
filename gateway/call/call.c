/* The 6995 group call: call control on the sofia-sip user agent (gateway/call/sip_ua.c) and the media
 * of gateway/media.h. See gateway/call/call.h for what it does; DESIGN.md "group call" for the states.
 *
 * Objects: a struct call (osmo_fsm call_fsm) per incoming 6995 INVITE owns the caller's media leg,
 * the conference and one struct call_leg (child osmo_fsm leg_fsm) per household called. Every
 * SIP dialog is a struct sip_hdl (the nua handle magic), which outlives its leg or call while a
 * BYE or CANCEL is answered, so that a late SIP event never reaches freed memory. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <talloc.h>

#include <osmocom/core/fsm.h>
#include <osmocom/core/linuxlist.h>
#include <osmocom/core/logging.h>
#include <osmocom/core/talloc.h>
#include <osmocom/core/timer.h>
#include <osmocom/core/utils.h>
#include <osmocom/vty/command.h>
#include <osmocom/vty/vty.h>

#include <sofia-sip/nua.h>
#include <sofia-sip/sdp.h>
#include <sofia-sip/sip_status.h>

#include "db/db.h"
#include "db/db_call.h"
#include "gateway/call/call.h"
#include "gateway/call/call_sdp.h"
#include "gateway/core/gw.h"
#include "gateway/core/outbox.h"
#include "gateway/core/ring.h"
#include "gateway/call/media.h"
#include "gateway/call/sip_ua.h"

#define S(x)		 (1 << (x))
#define CALL_MAX_TARGETS 64

struct call_cfg g_call_cfg = {
	.sip_port = 5070,
	.proxy_port = 5060,
	.ring_s = 30,
	.join_s = 10,
	.rtp_min = 16384,
	.rtp_max = 32767,
};

static struct {
	struct gw *gw;
	void *ctx;
	nua_t *nua;
	struct llist_head calls;
	struct llist_head hdls;
	unsigned next_id;
} cs;

struct call;
struct call_leg;

/* One SIP dialog: the hmagic of its nua handle. */
struct sip_hdl {
	struct llist_head list;
	nua_handle_t *nh;
	struct call *call;	      /* the caller's dialog: its call, NULL once the call is gone */
	struct call_leg *leg;	      /* a called party's dialog: its leg, NULL once the leg is gone */
	bool confirmed;		      /* 200 sent or received: release with BYE, not CANCEL */
	bool ended;		      /* BYE/CANCEL sent or received, or a final error */
	bool terminated;	      /* the stack reported the dialog over */
	char *sdp;		      /* our side of the session, answered again to a re-INVITE */
	struct osmo_timer_list guard; /* destroy the handle if the release is never answered */
};

struct call {
	struct llist_head list;
	struct osmo_fsm_inst *fi;
	struct db_call rec;
	struct db_call_leg caller_rec;
	struct db_call_caller who;
	struct sip_hdl *hdl;
	struct media_leg *media;
	struct media_conf *conf;
	struct llist_head legs;
	unsigned n_legs;   /* legs still alive */
	unsigned n_joined; /* legs that ever pressed 1 */
	int rung;	   /* -1 neighbours, 0 grid worker, 1 staff */
	bool sms_sent;
	bool dialing;  /* legs being started: an early leg end must not escalate yet */
	bool callback; /* started by the missed-call trigger: we called the household */
	/* an SOS alert call (call_sos_alert): no caller, one leg, a 1 acknowledges the incident */
	int64_t sos_incident, sos_attempt;
};

struct call_leg {
	struct llist_head list;
	struct osmo_fsm_inst *fi;
	struct call *call;
	struct db_call_leg rec;
	struct sip_hdl *hdl;
	struct media_leg *media;
};

enum call_state {
	CALL_ST_RINGING,    /* neighbours (or the escalation) are being called */
	CALL_ST_CONNECTED,  /* someone pressed 1 */
	CALL_ST_ESCALATING, /* nobody joined: grid worker, then staff */
	CALL_ST_NO_GROUP,   /* playing "no_group", then BYE */
	CALL_ST_CALLBACK,   /* the missed-call trigger: calling the household back */
};

enum call_event {
	CALL_EV_LEG_JOINED,
	CALL_EV_LEG_ENDED,	 /* a child terminated */
	CALL_EV_CALLER_GONE,	 /* BYE/CANCEL from the caller */
	CALL_EV_PROMPT_DONE,	 /* the caller's prompt ended */
	CALL_EV_CALLER_ANSWERED, /* the household answered the call back; data: struct call_sdp */
};

enum leg_state {
	LEG_ST_INVITING, /* INVITE sent, ring timer running */
	LEG_ST_PROMPT,	 /* answered: the prompt plays */
	LEG_ST_WAIT_KEY, /* prompt over: waiting for the 1 */
	LEG_ST_JOINED,
};

enum leg_event {
	LEG_EV_ANSWERED, /* data: struct call_sdp */
	LEG_EV_FAILED,	 /* data: int *status */
	LEG_EV_REMOTE_BYE,
	LEG_EV_PROMPT_DONE,
	LEG_EV_DIGIT, /* data: char * */
};

/* clang-format off */
static const struct value_string call_event_names[] = {
	{ CALL_EV_LEG_JOINED, "LEG_JOINED" },
	{ CALL_EV_LEG_ENDED, "LEG_ENDED" },
	{ CALL_EV_CALLER_GONE, "CALLER_GONE" },
	{ CALL_EV_PROMPT_DONE, "PROMPT_DONE" },
	{ CALL_EV_CALLER_ANSWERED, "CALLER_ANSWERED" },
	{ 0, NULL }
};

static const struct value_string leg_event_names[] = {
	{ LEG_EV_ANSWERED, "ANSWERED" },
	{ LEG_EV_FAILED, "FAILED" },
	{ LEG_EV_REMOTE_BYE, "REMOTE_BYE" },
	{ LEG_EV_PROMPT_DONE, "PROMPT_DONE" },
	{ LEG_EV_DIGIT, "DIGIT" },
	{ 0, NULL }
};
/* clang-format on */

static struct osmo_fsm call_fsm;
static struct osmo_fsm leg_fsm;
struct call_leg;
static void sos_leg_acked(struct call_leg *leg);

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *rtp_addr(void)
{
	return g_call_cfg.rtp_addr ? g_call_cfg.rtp_addr : g_call_cfg.sip_addr;
}

/* "1幢2单元301室" from the household's fields, whether or not they carry the words already. */
static char *address(void *ctx, const struct db_call_caller *w)
{
	const char *bs = strstr(w->building, "幢") ? "" : "幢";
	const char *us = !w->unit[0] || strstr(w->unit, "单元") ? "" : "单元";
	const char *rs = strstr(w->room, "室") ? "" : "室";

	return talloc_asprintf(ctx, "%s%s%s%s%s%s", w->building, bs, w->unit, us, w->room, rs);
}

/* ---- SIP handles ---- */

static void hdl_free(struct sip_hdl *h)
{
	osmo_timer_del(&h->guard);
	if (h->nh) {
		nua_handle_bind(h->nh, NULL);
		nua_handle_destroy(h->nh);
	}
	llist_del(&h->list);
	talloc_free(h);
}

static void hdl_guard_cb(void *data)
{
	struct sip_hdl *h = data;

	if (!h->terminated)
		LOGP(DCALL, LOGL_NOTICE, "sip: the release of a dialog was not answered in time, dropping it\n");
	hdl_free(h);
}

static struct sip_hdl *hdl_alloc(nua_handle_t *nh)
{
	struct sip_hdl *h = talloc_zero(cs.ctx, struct sip_hdl);

	h->nh = nh;
	osmo_timer_setup(&h->guard, hdl_guard_cb, h);
	llist_add_tail(&h->list, &cs.hdls);
	if (nh)
		nua_handle_bind(nh, h);
	return h;
}

/* The owner lets go of the dialog: end it (BYE when confirmed, CANCEL before) unless it has
 * ended already; the handle goes when the stack reports the dialog terminated. */
static void hdl_release(struct sip_hdl *h)
{
	h->call = NULL;
	h->leg = NULL;
	if (h->ended) {
		/* not now: the SIP event being handled may still use it */
		osmo_timer_schedule(&h->guard, 0, 0);
		return;
	}
	h->ended = true;
	if (h->confirmed)
		nua_bye(h->nh, TAG_END());
	else
		nua_cancel(h->nh, TAG_END());
	osmo_timer_schedule(&h->guard, 40, 0);
}

/* Our SDP (gateway/call/call_sdp.c) on the RTP address, with a fresh session id. */
static char *sdp_make(void *ctx, uint16_t port, int pt, int te_pt)
{
	return call_sdp_make(ctx, rtp_addr(), ++cs.next_id, port, pt, te_pt);
}

static int sdp_read(const sip_t *sip, struct call_sdp *out, char *err, size_t errlen)
{
	if (!sip || !sip->sip_payload || !sip->sip_payload->pl_data) {
		snprintf(err, errlen, "no SDP body");
		return -EINVAL;
	}
	return call_sdp_parse(sip->sip_payload->pl_data, sip->sip_payload->pl_len, out, err, errlen);
}

/* ---- recording ---- */

static void call_save(struct call *c)
{
	if (db_call_update(cs.gw->db, &c->rec) < 0)
		LOGPFSML(c->fi, LOGL_ERROR, "cannot record call %" PRId64 "\n", c->rec.id);
}

static void leg_save(struct db_call_leg *l)
{
	if (db_call_leg_update(cs.gw->db, l) < 0)
		LOGP(DCALL, LOGL_ERROR, "cannot record leg %" PRId64 " of call %" PRId64 "\n", l->id, l->call_id);
}

static void set_result(struct db_call_leg *l, const char *result)
{
	if (!l->result[0])
		osmo_strlcpy(l->result, result, sizeof(l->result));
}

/* ---- legs (child fsm) ---- */

static void leg_prompt_done(struct media_leg *m, void *data)
{
	struct call_leg *leg = data;

	(void)m;
	osmo_fsm_inst_dispatch(leg->fi, LEG_EV_PROMPT_DONE, NULL);
}

static void leg_dtmf(struct media_leg *m, char digit, void *data)
{
	struct call_leg *leg = data;

	(void)m;
	osmo_fsm_inst_dispatch(leg->fi, LEG_EV_DIGIT, &digit);
}

/* Append the prompts that say a building or unit number: one per digit, then the word. */
static size_t say_number(const char **names, size_t n, size_t max, const char *num, const char *word)
{
	static const char *digits[] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
	bool any = false;

	for (const char *p = num; *p && n < max; p++)
		if (*p >= '0' && *p <= '9') {
			names[n++] = digits[*p - '0'];
			any = true;
		}
	if (any && n < max)
		names[n++] = word;
	return n;
}

/* Play names (those that exist); false when none exists. */
static bool play(struct media_leg *m, const char **names, size_t n, void (*done)(struct media_leg *, void *),
		 void *data)
{
	const char *have[24];
	size_t k = 0;

	for (size_t i = 0; i < n && k < ARRAY_SIZE(have); i++) {
		if (media_prompt_exists(names[i]))
			have[k++] = names[i];
		else
			LOGP(DCALL, LOGL_NOTICE, "prompt '%s' is not loaded (prompts-dir %s), skipped\n", names[i],
			     g_call_cfg.prompts_dir ? g_call_cfg.prompts_dir : "build/prompts");
	}
	if (!k)
		return false;
	return media_leg_play(m, have, k, done, data) == 0;
}

static void leg_inviting(struct osmo_fsm_inst *fi, uint32_t event, void *data)
{
	struct call_leg *leg = fi->priv;
	struct call_sdp *sdp;
	const char *names[24];
	size_t n = 0;

	switch (event) {
	case LEG_EV_ANSWERED:
		sdp = data;
		leg->rec.answered_at = gw_now();
		leg->rec.sip_status = 200;
		if (media_leg_set_remote(leg->media, sdp->ip, sdp->port, sdp->pt, sdp->te_pt) < 0) {
			LOGPFSML(fi, LOGL_ERROR, "cannot send media to %s:%u\n", sdp->ip, sdp->port);
			set_result(&leg->rec, "media_error");
			osmo_fsm_inst_term(fi, OSMO_FSM_TERM_ERROR, NULL);
			return;
		}
		leg_save(&leg->rec);
		media_leg_on_dtmf(leg->media, leg_dtmf, leg);
		if (leg->call->sos_incident)
			names[n++] = "sos_alert";
		n = say_number(names, n, ARRAY_SIZE(names), leg->call->who.building, "building");
		n = say_number(names, n, ARRAY_SIZE(names), leg->call->who.unit, "unit");
		names[n++] = leg->call->sos_incident ? "sos_pressed" : "neighbour_calls";
		names[n++] = leg->call->sos_incident ? "press1_ack" : "press1";
		if (play(leg->media, names, n, leg_prompt_done, leg))
			osmo_fsm_inst_state_chg(fi, LEG_ST_PROMPT, 0, 0);
		else
			osmo_fsm_inst_state_chg(fi, LEG_ST_WAIT_KEY, g_call_cfg.join_s, 2);
		break;
	case LEG_EV_FAILED:
		leg->rec.sip_status = *(int *)data;
		set_result(&leg->rec, "rejected");
		osmo_fsm_inst_term(fi, OSMO_FSM_TERM_REGULAR, NULL);
		break;
	case LEG_EV_REMOTE_BYE:
		set_result(&leg->rec, "rejected");
		osmo_fsm_inst_term(fi, OSMO_FSM_TERM_REGULAR, NULL);
		break;
	}
}

static void leg_answered(struct osmo_fsm_inst *fi, uint32_t event, void *data)
{
	struct call_leg *leg = fi->priv;

	switch (event) {
	case LEG_EV_PROMPT_DONE:
		if (fi->state == LEG_ST_PROMPT)
			osmo_fsm_inst_state_chg(fi, LEG_ST_WAIT_KEY, g_call_cfg.join_s, 2);
		break;
	case LEG_EV_DIGIT:
		if (*(char *)data != '1') {
			LOGPFSML(fi, LOGL_INFO, "digit %c ignored, waiting for 1\n", *(char *)data);
			break;
		}
		media_leg_stop(leg->media);
		if (leg->call->sos_incident) {
			sos_leg_acked(leg);
			break;
		}
		if (media_conf_join(leg->call->conf, leg->media) < 0) {
			LOGPFSML(fi, LOGL_ERROR, "cannot join the conference\n");
			set_result(&leg->rec, "media_error");
			osmo_fsm_inst_term(fi, OSMO_FSM_TERM_ERROR, NULL);
			break;
		}
		leg->rec.joined_at = gw_now();
		leg_save(&leg->rec);
		osmo_fsm_inst_state_chg(fi, LEG_ST_JOINED, 0, 0);
		osmo_fsm_inst_dispatch(leg->call->fi, CALL_EV_LEG_JOINED, leg);
		break;
	case LEG_EV_REMOTE_BYE:
		set_result(&leg->rec, "no_key");
		osmo_fsm_inst_term(fi, OSMO_FSM_TERM_REGULAR, NULL);
		break;
	}
}

static void leg_joined(struct osmo_fsm_inst *fi, uint32_t event, void *data)
{
	struct call_leg *leg = fi->priv;

	(void)data;
	if (event == LEG_EV_REMOTE_BYE) {
		set_result(&leg->rec, leg->call->sos_incident ? "acknowledged" : "left");
		osmo_fsm_inst_term(fi, OSMO_FSM_TERM_REGULAR, NULL);
	} else if (event == LEG_EV_PROMPT_DONE && leg->call->sos_incident) {
		/* "acked" has been said: hang up */
		osmo_fsm_inst_term(fi, OSMO_FSM_TERM_REGULAR, NULL);
	}
}

static int leg_timer_cb(struct osmo_fsm_inst *fi)
{
	struct call_leg *leg = fi->priv;

	switch (fi->state) {
	case LEG_ST_INVITING:
		LOGPFSML(fi, LOGL_INFO, "no answer within %us: CANCEL\n", g_call_cfg.ring_s);
		set_result(&leg->rec, "no_answer");
		break;
	case LEG_ST_WAIT_KEY:
		LOGPFSML(fi, LOGL_INFO, "answered but no 1 within %us (voicemail?): BYE\n", g_call_cfg.join_s);
		set_result(&leg->rec, "no_key");
		break;
	}
	return 1;
}

static void leg_cleanup(struct osmo_fsm_inst *fi, enum osmo_fsm_term_cause cause)
{
	struct call_leg *leg = fi->priv;

	(void)cause;
	if (leg->rec.joined_at)
		set_result(&leg->rec, "released");
	else if (leg->rec.answered_at)
		set_result(&leg->rec, "no_key");
	else
		set_result(&leg->rec, "cancelled");
	leg->rec.ended_at = gw_now();
	leg_save(&leg->rec);
	if (leg->call->sos_attempt) {
		char res[64];

		snprintf(res, sizeof(res), "call %" PRId64 ": %s", leg->call->rec.id, leg->rec.result);
		if (db_sos_attempt_result(cs.gw->db, leg->call->sos_attempt, res) < 0)
			LOGPFSML(fi, LOGL_ERROR, "cannot record the SOS call's result\n");
	}
	if (leg->media)
		media_leg_free(leg->media);
	leg->media = NULL;
	if (leg->hdl)
		hdl_release(leg->hdl);
	leg->hdl = NULL;
	llist_del(&leg->list);
	leg->call->n_legs--;
}

static const struct osmo_fsm_state leg_states[] = {
	[LEG_ST_INVITING] =
		{
			.name = "INVITING",
			.in_event_mask = S(LEG_EV_ANSWERED) | S(LEG_EV_FAILED) | S(LEG_EV_REMOTE_BYE),
			.out_state_mask = S(LEG_ST_INVITING) | S(LEG_ST_PROMPT) | S(LEG_ST_WAIT_KEY),
			.action = leg_inviting,
		},
	[LEG_ST_PROMPT] =
		{
			.name = "PROMPT",
			.in_event_mask = S(LEG_EV_PROMPT_DONE) | S(LEG_EV_DIGIT) | S(LEG_EV_REMOTE_BYE),
			.out_state_mask = S(LEG_ST_WAIT_KEY) | S(LEG_ST_JOINED),
			.action = leg_answered,
		},
	[LEG_ST_WAIT_KEY] =
		{
			.name = "WAIT_KEY",
			.in_event_mask = S(LEG_EV_PROMPT_DONE) | S(LEG_EV_DIGIT) | S(LEG_EV_REMOTE_BYE),
			.out_state_mask = S(LEG_ST_JOINED),
			.action = leg_answered,
		},
	[LEG_ST_JOINED] =
		{
			.name = "JOINED",
			.in_event_mask = S(LEG_EV_REMOTE_BYE) | S(LEG_EV_DIGIT) | S(LEG_EV_PROMPT_DONE),
			.action = leg_joined,
		},
};

static struct osmo_fsm leg_fsm = {
	.name = "call_leg",
	.states = leg_states,
	.num_states = ARRAY_SIZE(leg_states),
	.timer_cb = leg_timer_cb,
	.cleanup = leg_cleanup,
	.event_names = leg_event_names,
	.log_subsys = DCALL,
};

/* INVITE one number for the call (kind neighbour, grid_worker or staff). 0 or -errno. */
static int leg_start(struct call *c, const struct db_call_target *t, const char *kind)
{
	struct call_leg *leg;
	char *to, *from, *sdp;
	nua_handle_t *nh;

	leg = talloc_zero(c, struct call_leg);
	leg->call = c;
	leg->fi = osmo_fsm_inst_alloc_child(&leg_fsm, c->fi, CALL_EV_LEG_ENDED);
	if (!leg->fi) {
		talloc_free(leg);
		return -ENOMEM;
	}
	leg->fi->priv = leg;
	osmo_fsm_inst_update_id_f(leg->fi, "%" PRId64 "-%s", c->rec.id, t->number + (t->number[0] == '+'));
	talloc_steal(leg->fi, leg);
	llist_add_tail(&leg->list, &c->legs);
	c->n_legs++;

	leg->rec.call_id = c->rec.id;
	osmo_strlcpy(leg->rec.kind, kind, sizeof(leg->rec.kind));
	osmo_strlcpy(leg->rec.number, t->number, sizeof(leg->rec.number));
	leg->rec.phone_id = t->phone_id;
	leg->rec.household_id = t->household_id;
	leg->rec.invited_at = gw_now();
	if (db_call_leg_add(cs.gw->db, &leg->rec) < 0)
		LOGPFSML(leg->fi, LOGL_ERROR, "cannot record the leg\n");

	leg->media = media_leg_alloc(leg, rtp_addr(), g_call_cfg.rtp_min, g_call_cfg.rtp_max);
	if (!leg->media) {
		LOGPFSML(leg->fi, LOGL_ERROR, "no free RTP port in %u-%u: not called\n", g_call_cfg.rtp_min,
			 g_call_cfg.rtp_max);
		set_result(&leg->rec, "media_error");
		osmo_fsm_inst_term(leg->fi, OSMO_FSM_TERM_ERROR, NULL);
		return -EADDRINUSE;
	}

	to = talloc_asprintf(leg, "sip:%s@%s:%u", t->number, g_call_cfg.proxy_addr, g_call_cfg.proxy_port);
	from = talloc_asprintf(leg, "sip:%s@%s:%u", c->who.number, g_call_cfg.sip_addr, g_call_cfg.sip_port);
	nh = nua_handle(cs.nua, NULL, SIPTAG_TO_STR(to), TAG_END());
	leg->hdl = hdl_alloc(nh);
	leg->hdl->leg = leg;
	sdp = leg->hdl->sdp = sdp_make(leg->hdl, media_leg_local_port(leg->media), -1, -1);
	nua_invite(nh, NUTAG_URL(to), SIPTAG_FROM_STR(from), SIPTAG_CONTENT_TYPE_STR("application/sdp"),
		   SIPTAG_PAYLOAD_STR(sdp), TAG_END());
	osmo_fsm_inst_state_chg(leg->fi, LEG_ST_INVITING, g_call_cfg.ring_s, 1);
	LOGPFSML(leg->fi, LOGL_INFO, "INVITE %s (%s)\n", to, kind);
	return 0;
}

/* ---- the call ---- */

static void caller_prompt_done(struct media_leg *m, void *data)
{
	struct call *c = data;

	(void)m;
	osmo_fsm_inst_dispatch(c->fi, CALL_EV_PROMPT_DONE, NULL);
}

static void prompt_ignored(struct media_leg *m, void *data)
{
	(void)m;
	(void)data;
}

static void call_end(struct call *c, const char *reason, const char *note)
{
	osmo_strlcpy(c->rec.end_reason, reason, sizeof(c->rec.end_reason));
	if (note)
		osmo_strlcpy(c->rec.note, note, sizeof(c->rec.note));
	osmo_fsm_inst_term(c->fi, OSMO_FSM_TERM_REGULAR, NULL);
}

/* Tell the group by SMS that the household called for help and nobody joined. */
static void call_group_sms(struct call *c)
{
	struct db_call_target t[CALL_MAX_TARGETS];
	char *text;
	int n;

	if (c->sms_sent)
		return;
	c->sms_sent = true;
	n = db_call_targets(cs.gw->db, c->who.grp_id, c->who.household_id, t, ARRAY_SIZE(t));
	text = talloc_asprintf(c, "【邻里】%s 拨打%s呼救，邻居未接通，已转网格员。请尽快联系或上门查看。",
			       address(c, &c->who), g_call_cfg.short_code);
	for (int i = 0; i < n; i++)
		if (gw_sms_queue(cs.gw, t[i].number, text, DB_PRIO_SOS, NULL) < 0)
			LOGPFSML(c->fi, LOGL_ERROR, "cannot queue the group SMS to %s\n", t[i].number);
	LOGPFSML(c->fi, LOGL_NOTICE, "nobody joined: group SMS queued to %d household(s)\n", n < 0 ? 0 : n);
	talloc_free(text);
}

/* The next escalation rung that has somebody; false when none is left. */
static bool call_escalate(struct call *c)
{
	struct db_call_target t;

	bool started = false;

	c->dialing = true;
	while (!started && ++c->rung <= 1) {
		if (db_call_escalation(cs.gw->db, c->who.grp_id, c->rung, &t) < 0)
			continue;
		if (!strcmp(t.number, c->who.number))
			continue;
		started = leg_start(c, &t, c->rung == 0 ? "grid_worker" : "staff") == 0;
	}
	c->dialing = false;
	return started;
}

static void call_ringing(struct osmo_fsm_inst *fi, uint32_t event, void *data)
{
	struct call *c = fi->priv;
	const char *nobody[] = {"nobody"};

	(void)data;
	switch (event) {
	case CALL_EV_LEG_JOINED:
		c->n_joined++;
		if (!c->rec.first_join_at)
			c->rec.first_join_at = gw_now();
		osmo_strlcpy(c->rec.state, "connected", sizeof(c->rec.state));
		call_save(c);
		if (!c->sos_incident)
			osmo_fsm_inst_state_chg(fi, CALL_ST_CONNECTED, 0, 0);
		break;
	case CALL_EV_LEG_ENDED:
		if (c->sos_incident && !c->n_legs && !c->dialing) {
			call_end(c, c->n_joined ? "acknowledged" : "not_acknowledged", NULL);
			break;
		}
		if (c->n_legs || c->n_joined || c->dialing)
			break;
		/* everyone called has answered no, timed out or hung up without a 1 */
		if (fi->state == CALL_ST_RINGING) {
			osmo_strlcpy(c->rec.state, "escalating", sizeof(c->rec.state));
			call_save(c);
			osmo_fsm_inst_state_chg(fi, CALL_ST_ESCALATING, 0, 0);
			play(c->media, nobody, 1, prompt_ignored, NULL);
			call_group_sms(c);
		}
		if (!call_escalate(c))
			call_end(c, "nobody", "nobody joined, escalation exhausted");
		break;
	case CALL_EV_PROMPT_DONE:
		break;
	case CALL_EV_CALLER_GONE:
		call_end(c, "caller_hangup", NULL);
		break;
	}
}

static void call_connected(struct osmo_fsm_inst *fi, uint32_t event, void *data)
{
	struct call *c = fi->priv;

	(void)data;
	switch (event) {
	case CALL_EV_LEG_JOINED:
		c->n_joined++;
		break;
	case CALL_EV_CALLER_GONE:
		call_end(c, "caller_hangup", NULL);
		break;
	default:
		/* a neighbour leaving does not end the call */
		break;
	}
}

static void call_no_group(struct osmo_fsm_inst *fi, uint32_t event, void *data)
{
	struct call *c = fi->priv;

	(void)data;
	if (event == CALL_EV_PROMPT_DONE)
		call_end(c, "no_group", NULL);
	else if (event == CALL_EV_CALLER_GONE)
		call_end(c, "no_group", NULL);
}

static void call_begin(struct call *c);

/* Calling the household back: it answers (CALLER_ANSWERED) or not (CALLER_GONE, the timer). */
static void call_callback(struct osmo_fsm_inst *fi, uint32_t event, void *data)
{
	struct call *c = fi->priv;
	struct call_sdp *sdp = data;

	switch (event) {
	case CALL_EV_CALLER_ANSWERED:
		if (media_leg_set_remote(c->media, sdp->ip, sdp->port, sdp->pt, sdp->te_pt) < 0) {
			LOGPFSML(fi, LOGL_ERROR, "cannot send media to %s:%u\n", sdp->ip, sdp->port);
			call_end(c, "error", "cannot send media to the household");
			break;
		}
		LOGPFSML(fi, LOGL_NOTICE, "%s answered the call back\n", c->who.number);
		call_begin(c);
		break;
	case CALL_EV_CALLER_GONE:
		call_end(c, "no_answer", "the household did not answer the call back");
		break;
	}
}

static int call_timer_cb(struct osmo_fsm_inst *fi)
{
	struct call *c = fi->priv;

	if (fi->state == CALL_ST_CALLBACK)
		call_end(c, "no_answer", "the household did not answer the call back");
	else /* the no_group prompt did not finish (or no prompt exists) */
		call_end(c, "no_group", NULL);
	return 0;
}

static void call_cleanup(struct osmo_fsm_inst *fi, enum osmo_fsm_term_cause cause)
{
	struct call *c = fi->priv;

	if (!c->rec.end_reason[0])
		osmo_strlcpy(c->rec.end_reason, cause == OSMO_FSM_TERM_ERROR ? "error" : "released",
			     sizeof(c->rec.end_reason));
	osmo_strlcpy(c->rec.state, "released", sizeof(c->rec.state));
	c->rec.ended_at = gw_now();
	call_save(c);
	if (c->caller_rec.id) {
		c->caller_rec.ended_at = c->rec.ended_at;
		set_result(&c->caller_rec, !strcmp(c->rec.end_reason, "caller_hangup") ? "left"
					   : !strcmp(c->rec.end_reason, "no_answer")   ? "no_answer"
										       : "released");
		leg_save(&c->caller_rec);
	}
	if (c->media)
		media_leg_free(c->media);
	c->media = NULL;
	if (c->conf)
		media_conf_free(c->conf);
	c->conf = NULL;
	if (c->hdl)
		hdl_release(c->hdl);
	c->hdl = NULL;
	llist_del(&c->list);
	LOGPFSML(fi, LOGL_NOTICE, "call from %s ended: %s, %u joined\n", c->rec.caller, c->rec.end_reason, c->n_joined);
}

static const struct osmo_fsm_state call_states[] = {
	[CALL_ST_RINGING] =
		{
			.name = "RINGING",
			.in_event_mask = S(CALL_EV_LEG_JOINED) | S(CALL_EV_LEG_ENDED) | S(CALL_EV_CALLER_GONE) |
					 S(CALL_EV_PROMPT_DONE),
			.out_state_mask = S(CALL_ST_RINGING) | S(CALL_ST_CONNECTED) | S(CALL_ST_ESCALATING) |
					  S(CALL_ST_NO_GROUP) | S(CALL_ST_CALLBACK),
			.action = call_ringing,
		},
	[CALL_ST_ESCALATING] =
		{
			.name = "ESCALATING",
			.in_event_mask = S(CALL_EV_LEG_JOINED) | S(CALL_EV_LEG_ENDED) | S(CALL_EV_CALLER_GONE) |
					 S(CALL_EV_PROMPT_DONE),
			.out_state_mask = S(CALL_ST_CONNECTED),
			.action = call_ringing,
		},
	[CALL_ST_CONNECTED] =
		{
			.name = "CONNECTED",
			.in_event_mask = S(CALL_EV_LEG_JOINED) | S(CALL_EV_LEG_ENDED) | S(CALL_EV_CALLER_GONE) |
					 S(CALL_EV_PROMPT_DONE),
			.action = call_connected,
		},
	[CALL_ST_NO_GROUP] =
		{
			.name = "NO_GROUP",
			.in_event_mask = S(CALL_EV_PROMPT_DONE) | S(CALL_EV_CALLER_GONE) | S(CALL_EV_LEG_ENDED),
			.out_state_mask = S(CALL_ST_NO_GROUP),
			.action = call_no_group,
		},
	[CALL_ST_CALLBACK] =
		{
			.name = "CALLBACK",
			.in_event_mask = S(CALL_EV_CALLER_ANSWERED) | S(CALL_EV_CALLER_GONE) | S(CALL_EV_PROMPT_DONE),
			.out_state_mask = S(CALL_ST_RINGING) | S(CALL_ST_NO_GROUP),
			.action = call_callback,
		},
};

static struct osmo_fsm call_fsm = {
	.name = "group_call",
	.states = call_states,
	.num_states = ARRAY_SIZE(call_states),
	.timer_cb = call_timer_cb,
	.cleanup = call_cleanup,
	.event_names = call_event_names,
	.log_subsys = DCALL,
};

/* Refuse an INVITE before any call exists. */
static void refuse(nua_handle_t *nh, int status, const char *phrase)
{
	nua_respond(nh, status, phrase, TAG_END());
	nua_handle_destroy(nh);
}

/* The call object, its fsm and its record (caller: the number as it came, or "SOS"). */
static struct call *call_new(const struct db_call_caller *who, const char *caller, const char *callid)
{
	struct call *c = talloc_zero(cs.ctx, struct call);

	INIT_LLIST_HEAD(&c->legs);
	c->rung = -1;
	c->who = *who;
	c->fi = osmo_fsm_inst_alloc(&call_fsm, cs.ctx, c, LOGL_DEBUG, NULL);
	talloc_steal(c->fi, c);
	llist_add_tail(&c->list, &cs.calls);
	osmo_strlcpy(c->rec.caller, caller, sizeof(c->rec.caller));
	c->rec.caller_phone_id = who->phone_id;
	c->rec.household_id = who->household_id;
	c->rec.grp_id = who->grp_id;
	if (callid)
		osmo_strlcpy(c->rec.sip_call_id, callid, sizeof(c->rec.sip_call_id));
	osmo_strlcpy(c->rec.state, "ringing", sizeof(c->rec.state));
	c->rec.started = gw_now();
	c->rec.started_ms = now_ms();
	if (db_call_add(cs.gw->db, &c->rec) < 0)
		LOGPFSML(c->fi, LOGL_ERROR, "cannot record the call\n");
	osmo_fsm_inst_update_id_f(c->fi, "%" PRId64, c->rec.id);
	return c;
}

/* A new call from who (from: the number as it came): recorded, with the caller's leg, its media
 * leg and the conference. NULL (logged, the call recorded as an error) when no RTP port is free. */
static struct call *call_alloc(const struct db_call_caller *who, const char *from, const char *callid)
{
	struct call *c = call_new(who, from, callid);

	c->caller_rec.call_id = c->rec.id;
	osmo_strlcpy(c->caller_rec.kind, "caller", sizeof(c->caller_rec.kind));
	osmo_strlcpy(c->caller_rec.number, who->number, sizeof(c->caller_rec.number));
	c->caller_rec.phone_id = who->phone_id;
	c->caller_rec.household_id = who->household_id;
	c->caller_rec.invited_at = c->rec.started;
	if (db_call_leg_add(cs.gw->db, &c->caller_rec) < 0)
		LOGPFSML(c->fi, LOGL_ERROR, "cannot record the caller's leg\n");

	c->media = media_leg_alloc(c, rtp_addr(), g_call_cfg.rtp_min, g_call_cfg.rtp_max);
	c->conf = media_conf_alloc(c);
	if (!c->media || !c->conf) {
		LOGPFSML(c->fi, LOGL_ERROR, "no media for the caller (RTP ports %u-%u)\n", g_call_cfg.rtp_min,
			 g_call_cfg.rtp_max);
		call_end(c, "error", "no free RTP port");
		return NULL;
	}
	return c;
}

/* The caller is connected (we answered, or it answered our call back): the no_group prompt, or
 * every other household of the group rung at once. */
static void call_begin(struct call *c)
{
	struct db_call_target t[CALL_MAX_TARGETS];
	const char *calling[] = {"calling"};
	const char *nogroup[] = {"no_group"};
	const struct db_call_caller *who = &c->who;
	int n, rc;

	c->caller_rec.answered_at = gw_now();
	leg_save(&c->caller_rec);
	n = who->grp_id ? db_call_targets(cs.gw->db, who->grp_id, who->household_id, t, ARRAY_SIZE(t)) : 0;
	if (n <= 0) {
		snprintf(c->rec.note, sizeof(c->rec.note), "%s%s",
			 c->callback ? "called back after a missed call: " : "",
			 !who->household_id ? "the number belongs to no household"
			 : !who->grp_id	    ? "the household is in no group"
					    : "the group has no other household to call");
		LOGPFSML(c->fi, LOGL_NOTICE, "6995 from %s: %s: playing no_group\n", who->number, c->rec.note);
		call_save(c);
		osmo_fsm_inst_state_chg(c->fi, CALL_ST_NO_GROUP, 30, 3);
		if (!play(c->media, nogroup, 1, caller_prompt_done, c))
			osmo_fsm_inst_state_chg(c->fi, CALL_ST_NO_GROUP, 1, 3);
		return;
	}

	/* the caller joins at once: it hears "calling", then whoever joins */
	osmo_fsm_inst_state_chg(c->fi, CALL_ST_RINGING, 0, 0);
	rc = media_conf_join(c->conf, c->media);
	if (rc < 0)
		LOGPFSML(c->fi, LOGL_ERROR, "caller cannot join the conference: %s\n", strerror(-rc));
	play(c->media, calling, 1, caller_prompt_done, c);
	c->dialing = true;
	for (int i = 0; i < n; i++)
		leg_start(c, &t[i], "neighbour");
	c->dialing = false;
	c->rec.dialed_ms = now_ms();
	call_save(c);
	LOGPFSML(c->fi, LOGL_NOTICE, "6995 from %s (%s): %d neighbour(s) called in %" PRId64 " ms\n", who->number,
		 address(c, who), n, c->rec.dialed_ms - c->rec.started_ms);
	if (!c->n_legs)
		osmo_fsm_inst_dispatch(c->fi, CALL_EV_LEG_ENDED, NULL);
}

static void call_incoming(nua_handle_t *nh, const sip_t *sip)
{
	struct call_sdp offer;
	char from[64] = "", number[32], err[128], *sdp;
	const char *ruser = NULL;
	struct db_call_caller who;
	struct call *c;
	bool tx;

	if (sip->sip_from && sip->sip_from->a_url->url_user)
		osmo_strlcpy(from, sip->sip_from->a_url->url_user, sizeof(from));
	if (sip->sip_request)
		ruser = sip->sip_request->rq_url->url_user;
	if (!ruser || !g_call_cfg.short_code || strcmp(ruser, g_call_cfg.short_code)) {
		LOGP(DCALL, LOGL_NOTICE, "INVITE from '%s' to '%s', not the short code %s: 404\n", from,
		     ruser ? ruser : "", g_call_cfg.short_code);
		refuse(nh, SIP_404_NOT_FOUND);
		return;
	}
	if (db_number_norm(from, number, sizeof(number)) < 0 || db_call_caller_get(cs.gw->db, number, &who) < 0) {
		LOGP(DCALL, LOGL_NOTICE, "6995 from unknown number '%s': 403\n", from);
		refuse(nh, SIP_403_FORBIDDEN);
		return;
	}
	if (sdp_read(sip, &offer, err, sizeof(err)) < 0) {
		LOGP(DCALL, LOGL_NOTICE, "6995 from %s: %s: 488\n", number, err);
		refuse(nh, SIP_488_NOT_ACCEPTABLE);
		return;
	}

	/* the call's rows in one short transaction: one sync instead of one per leg (the SMS
	 * pipeline commits within its own callbacks, so no transaction is open here) */
	tx = db_begin(cs.gw->db) == 0;
	c = call_alloc(&who, from, sip->sip_call_id ? sip->sip_call_id->i_id : NULL);
	if (c && media_leg_set_remote(c->media, offer.ip, offer.port, offer.pt, offer.te_pt) < 0) {
		LOGPFSML(c->fi, LOGL_ERROR, "cannot send media to the caller at %s:%u\n", offer.ip, offer.port);
		call_end(c, "error", "cannot send media to the caller");
		c = NULL;
	}
	if (!c) {
		refuse(nh, SIP_503_SERVICE_UNAVAILABLE);
		goto out_commit;
	}
	c->hdl = hdl_alloc(nh);
	c->hdl->call = c;
	sdp = c->hdl->sdp = sdp_make(c->hdl, media_leg_local_port(c->media), offer.pt, offer.te_pt);
	nua_respond(nh, SIP_200_OK, SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(sdp), TAG_END());
	c->hdl->confirmed = true;
	call_begin(c);
out_commit:
	if (tx && db_commit(cs.gw->db) < 0)
		LOGP(DCALL, LOGL_ERROR, "cannot commit the records of the call from %s\n", number);
}

/* The missed-call trigger (call_ring_missed): call the household back;
 * when it answers, the group call goes on as if it had dialled the short code. 0, -ENOENT for a
 * number the database does not know, -EADDRINUSE when no RTP port is free. */
static int call_back(struct gw *gw, const char *number_in)
{
	struct db_call_caller who;
	char number[32], *to, *from, *sdp;
	nua_handle_t *nh;
	struct call *c;
	bool tx;
	int rc;

	(void)gw;
	rc = db_number_norm(number_in, number, sizeof(number));
	if (rc < 0)
		return rc;
	rc = db_call_caller_get(cs.gw->db, number, &who);
	if (rc < 0)
		return rc;
	tx = db_begin(cs.gw->db) == 0;
	c = call_alloc(&who, number, NULL);
	if (!c) {
		rc = -EADDRINUSE;
		goto out_commit;
	}
	c->callback = true;
	osmo_strlcpy(c->rec.note, "called back after a missed call", sizeof(c->rec.note));
	call_save(c);
	to = talloc_asprintf(c, "sip:%s@%s:%u", number, g_call_cfg.proxy_addr, g_call_cfg.proxy_port);
	from = talloc_asprintf(c, "sip:%s@%s:%u", g_call_cfg.short_code, g_call_cfg.sip_addr, g_call_cfg.sip_port);
	nh = nua_handle(cs.nua, NULL, SIPTAG_TO_STR(to), TAG_END());
	c->hdl = hdl_alloc(nh);
	c->hdl->call = c;
	sdp = c->hdl->sdp = sdp_make(c->hdl, media_leg_local_port(c->media), -1, -1);
	nua_invite(nh, NUTAG_URL(to), SIPTAG_FROM_STR(from), SIPTAG_CONTENT_TYPE_STR("application/sdp"),
		   SIPTAG_PAYLOAD_STR(sdp), TAG_END());
	osmo_fsm_inst_state_chg(c->fi, CALL_ST_CALLBACK, g_call_cfg.ring_s, 4);
	LOGPFSML(c->fi, LOGL_NOTICE, "missed call from %s: calling it back (%s)\n", number, to);
	rc = 0;
out_commit:
	if (tx && db_commit(cs.gw->db) < 0)
		LOGP(DCALL, LOGL_ERROR, "cannot commit the records of the call back to %s\n", number);
	return rc;
}

/* The ring hook (gateway/core/ring.h): with `missed-call group-call`, a household's call to a
 * modem starts the group call by calling the household back. */
static int call_ring_missed(struct gw *gw, const char *modem, const char *number, time_t now)
{
	struct db_phone ph;
	int rc;

	(void)now;
	if (!g_call_cfg.missed_call_group)
		return 0;
	rc = db_phone_get(gw->db, number, &ph);
	if (rc == -ENOENT || (rc == 0 && !ph.household_id))
		return 0;
	if (rc < 0)
		return rc;
	if (!call_running()) {
		LOGP(DRT, LOGL_ERROR, "modem %s: missed call from %s: the group call's SIP user agent is not"
		     " running (sip-bind is not set)\n", modem, number);
		return 1;
	}
	rc = call_back(gw, number);
	if (rc < 0)
		LOGP(DRT, LOGL_ERROR, "modem %s: missed call from %s: cannot start the group call: %s\n", modem, number,
		     strerror(-rc));
	else
		LOGP(DRT, LOGL_NOTICE, "modem %s: missed call from %s: group call started by calling back\n", modem,
		     number);
	return 1;
}

int call_init(struct gw *gw)
{
	return gw_ring_add(gw, "missed-call", call_ring_missed);
}

/* ---- the SOS second path ---- */

static call_sos_key1_fn on_sos_key1;

void call_set_sos_key1(call_sos_key1_fn fn)
{
	on_sos_key1 = fn;
}

/* The contact pressed 1: the incident is acknowledged as by an SMS "1" (call_set_sos_key1), "acked"
 * is said, then the call ends. */
static void sos_leg_acked(struct call_leg *leg)
{
	const char *acked[] = {"acked"};
	struct call *c = leg->call;
	int rc;

	leg->rec.joined_at = gw_now();
	set_result(&leg->rec, "acknowledged");
	leg_save(&leg->rec);
	rc = on_sos_key1 ? on_sos_key1(cs.gw, leg->rec.number, c->sos_incident, leg->rec.id) : -ENOTSUP;
	if (rc < 0)
		LOGPFSML(leg->fi, LOGL_ERROR, "SOS incident %" PRId64 ": the 1 of %s could not be recorded: %s\n",
			 c->sos_incident, leg->rec.number, strerror(-rc));
	else
		LOGPFSML(leg->fi, LOGL_NOTICE, "SOS incident %" PRId64 ": %s pressed 1 in the alert call\n",
			 c->sos_incident, leg->rec.number);
	osmo_fsm_inst_state_chg(leg->fi, LEG_ST_JOINED, 0, 0);
	osmo_fsm_inst_dispatch(c->fi, CALL_EV_LEG_JOINED, leg);
	if (!play(leg->media, acked, 1, leg_prompt_done, leg))
		osmo_fsm_inst_term(leg->fi, OSMO_FSM_TERM_REGULAR, NULL);
}

bool call_running(void)
{
	return cs.ctx && cs.nua;
}

int call_sos_alert(struct gw *gw, const struct call_sos_alert *a)
{
	struct db_call_target t = {.phone_id = a->phone_id};
	struct db_call_caller who = {0};
	struct call *c;
	int rc;

	(void)gw;
	if (!call_running())
		return -ENOTCONN;
	/* the watch is shown as the caller; its household's building and unit are said */
	osmo_strlcpy(who.number, a->watch, sizeof(who.number));
	osmo_strlcpy(who.building, a->building ? a->building : "", sizeof(who.building));
	osmo_strlcpy(who.unit, a->unit ? a->unit : "", sizeof(who.unit));
	c = call_new(&who, "SOS", NULL);
	c->sos_incident = a->incident_id;
	c->sos_attempt = a->attempt_id;
	snprintf(c->rec.note, sizeof(c->rec.note), "SOS incident %" PRId64 " (watch %s): alert call", a->incident_id,
		 a->watch);

	osmo_strlcpy(t.number, a->number, sizeof(t.number));
	c->dialing = true;
	rc = leg_start(c, &t, "sos_contact");
	c->dialing = false;
	c->rec.dialed_ms = now_ms();
	call_save(c);
	if (rc < 0) {
		call_end(c, "error", "the contact could not be called");
		return rc;
	}
	LOGPFSML(c->fi, LOGL_NOTICE, "SOS incident %" PRId64 ": calling %s\n", a->incident_id, a->number);
	return 0;
}

/* ---- the NUA event callback ---- */

static void on_invite_result(struct sip_hdl *h, int status, const sip_t *sip)
{
	struct call_sdp ans;
	char err[128];

	if (status >= 200 && status < 300)
		h->confirmed = true;
	if (status >= 300)
		h->ended = true;
	if (h->call) {
		/* our call back to the household */
		if (status < 200)
			return;
		if (status >= 300) {
			LOGPFSML(h->call->fi, LOGL_NOTICE, "the call back got %d\n", status);
			h->call->caller_rec.sip_status = status;
			call_end(h->call, "no_answer", "the household did not answer the call back");
			return;
		}
		h->call->caller_rec.sip_status = status;
		if (sdp_read(sip, &ans, err, sizeof(err)) < 0) {
			LOGPFSML(h->call->fi, LOGL_NOTICE, "answer to the call back unusable: %s: BYE\n", err);
			call_end(h->call, "error", "the household's answer has no usable SDP");
			return;
		}
		osmo_fsm_inst_dispatch(h->call->fi, CALL_EV_CALLER_ANSWERED, &ans);
		return;
	}
	if (!h->leg) {
		/* the leg is gone (cancelled) but the answer crossed: end it */
		if (status >= 200 && status < 300 && !h->ended) {
			h->ended = true;
			nua_bye(h->nh, TAG_END());
		}
		return;
	}
	if (status < 200)
		return;
	if (status >= 300) {
		osmo_fsm_inst_dispatch(h->leg->fi, LEG_EV_FAILED, &status);
		return;
	}
	if (sdp_read(sip, &ans, err, sizeof(err)) < 0) {
		LOGPFSML(h->leg->fi, LOGL_NOTICE, "answer unusable: %s: BYE\n", err);
		set_result(&h->leg->rec, "bad_sdp");
		osmo_fsm_inst_term(h->leg->fi, OSMO_FSM_TERM_ERROR, NULL);
		return;
	}
	osmo_fsm_inst_dispatch(h->leg->fi, LEG_EV_ANSWERED, &ans);
}

/* The remote side ended the dialog (BYE, CANCEL, or the stack says it terminated). */
static void on_remote_end(struct sip_hdl *h)
{
	h->ended = true;
	if (h->call)
		osmo_fsm_inst_dispatch(h->call->fi, CALL_EV_CALLER_GONE, NULL);
	else if (h->leg)
		osmo_fsm_inst_dispatch(h->leg->fi, LEG_EV_REMOTE_BYE, NULL);
}

static void nua_cb(nua_event_t event, int status, char const *phrase, nua_t *nua, nua_magic_t *magic, nua_handle_t *nh,
		   nua_hmagic_t *hmagic, sip_t const *sip, tagi_t tags[])
{
	struct sip_hdl *h = (struct sip_hdl *)hmagic;
	int callstate = -1;

	(void)nua;
	(void)magic;
	LOGP(DCALL, LOGL_DEBUG, "sip event %s %d %s\n", nua_event_name(event), status, phrase ? phrase : "");

	switch (event) {
	case nua_i_invite:
		if (!h) {
			call_incoming(nh, sip);
		} else if (h->sdp && !h->ended) {
			/* a re-INVITE (session refresh, hold): the media stays as it is, say so again */
			LOGP(DCALL, LOGL_INFO, "re-INVITE in a call: answered with the same session\n");
			nua_respond(nh, SIP_200_OK, SIPTAG_CONTENT_TYPE_STR("application/sdp"),
				    SIPTAG_PAYLOAD_STR(h->sdp), TAG_END());
		} else {
			nua_respond(nh, SIP_488_NOT_ACCEPTABLE, TAG_END());
		}
		break;
	case nua_r_invite:
		if (h)
			on_invite_result(h, status, sip);
		break;
	case nua_i_bye:
	case nua_i_cancel:
		if (h)
			on_remote_end(h);
		break;
	case nua_i_state:
		tl_gets(tags, NUTAG_CALLSTATE_REF(callstate), TAG_END());
		if (!h || callstate != nua_callstate_terminated)
			break;
		h->terminated = true;
		if (h->call || h->leg)
			on_remote_end(h);
		/* nobody owns it any more: drop it once this event is handled */
		if (!h->call && !h->leg)
			osmo_timer_schedule(&h->guard, 0, 0);
		break;
	case nua_r_shutdown:
		if (status >= 200)
			sip_ua_shutdown_done();
		break;
	default:
		break;
	}
}

/* ---- start, stop, VTY ---- */

int call_start(struct gw *gw)
{
	int rc;

	if (!g_call_cfg.sip_addr)
		return 0;
	cs.gw = gw;
	cs.ctx = talloc_named_const(gw->ctx, 0, "group_call");
	INIT_LLIST_HEAD(&cs.calls);
	INIT_LLIST_HEAD(&cs.hdls);
	if (!g_call_cfg.short_code)
		g_call_cfg.short_code = talloc_strdup(gw, "6995");
	if (!g_call_cfg.proxy_addr)
		g_call_cfg.proxy_addr = talloc_strdup(gw, "127.0.0.1");
	OSMO_ASSERT(osmo_fsm_register(&call_fsm) == 0);
	OSMO_ASSERT(osmo_fsm_register(&leg_fsm) == 0);

	rc = media_prompts_load(g_call_cfg.prompts_dir ? g_call_cfg.prompts_dir : "build/prompts");
	if (rc < 0)
		LOGP(DCALL, LOGL_ERROR, "group call: no prompts loaded from %s (%s): calls go on without them\n",
		     g_call_cfg.prompts_dir ? g_call_cfg.prompts_dir : "build/prompts", strerror(-rc));
	else
		LOGP(DCALL, LOGL_INFO, "group call: %d prompt(s) loaded\n", rc);

	rc = sip_ua_start(g_call_cfg.sip_addr, g_call_cfg.sip_port, nua_cb, NULL, &cs.nua);
	if (rc < 0) {
		talloc_free(cs.ctx);
		cs.ctx = NULL;
		return rc;
	}
	LOGP(DCALL, LOGL_NOTICE, "group call: short code %s, neighbours via %s:%u, ring %us, join %us\n",
	     g_call_cfg.short_code, g_call_cfg.proxy_addr, g_call_cfg.proxy_port, g_call_cfg.ring_s, g_call_cfg.join_s);
	return 0;
}

static bool no_dialogs(void)
{
	return llist_empty(&cs.hdls);
}

void call_stop(struct gw *gw)
{
	struct call *c, *tmp;
	struct sip_hdl *h, *htmp;

	(void)gw;
	if (!cs.ctx)
		return;
	llist_for_each_entry_safe (c, tmp, &cs.calls, list)
		call_end(c, "shutdown", "linlid stopped");
	/* give the BYEs and CANCELs a moment to be answered, then drop what is left, so that the
	 * stack's shutdown does not wait for transactions that may never end */
	sip_ua_run_until(no_dialogs, 2000);
	llist_for_each_entry_safe (h, htmp, &cs.hdls, list)
		hdl_free(h);
	sip_ua_stop(5000);
	talloc_free(cs.ctx);
	cs.ctx = NULL;
	cs.nua = NULL;
}

/* The settings live as long as the process (g_call_cfg); no gateway context needed, so that
 * programs without linlid's main (tests, benchmarks) link this file too. */
static void replace(char **field, const char *val)
{
	osmo_talloc_replace_string(NULL, field, val);
}

DEFUN(cfg_sip_bind, cfg_sip_bind_cmd, "sip-bind A.B.C.D <1-65535>",
      "The group call's SIP user agent (Kamailio routes the short code here)\nIPv4 address\nUDP port\n")
{
	replace(&g_call_cfg.sip_addr, argv[0]);
	g_call_cfg.sip_port = atoi(argv[1]);
	return CMD_SUCCESS;
}

DEFUN(cfg_sip_proxy, cfg_sip_proxy_cmd, "sip-proxy A.B.C.D <1-65535>",
      "Where the neighbours' INVITEs go (Kamailio)\nIPv4 address\nUDP port\n")
{
	replace(&g_call_cfg.proxy_addr, argv[0]);
	g_call_cfg.proxy_port = atoi(argv[1]);
	return CMD_SUCCESS;
}

DEFUN(cfg_short_code, cfg_short_code_cmd, "short-code NUMBER", "The group call's short code\nDigits (6995)\n")
{
	replace(&g_call_cfg.short_code, argv[0]);
	return CMD_SUCCESS;
}

DEFUN(cfg_call_ring, cfg_call_ring_cmd, "call-ring-timeout <1-600>",
      "Cancel a neighbour's leg that has not answered after this\nSeconds\n")
{
	g_call_cfg.ring_s = atoi(argv[0]);
	return CMD_SUCCESS;
}

DEFUN(cfg_call_join, cfg_call_join_cmd, "call-join-timeout <1-600>",
      "Release an answered leg that has not pressed 1 this long after its prompt (voicemail)\nSeconds\n")
{
	g_call_cfg.join_s = atoi(argv[0]);
	return CMD_SUCCESS;
}

DEFUN(cfg_rtp_bind, cfg_rtp_bind_cmd, "rtp-bind A.B.C.D", "Address of the group call's RTP legs\nIPv4 address\n")
{
	replace(&g_call_cfg.rtp_addr, argv[0]);
	return CMD_SUCCESS;
}

DEFUN(cfg_rtp_ports, cfg_rtp_ports_cmd, "rtp-ports <1024-65534> <1025-65535>",
      "UDP ports of the group call's RTP legs\nFirst port\nLast port\n")
{
	int lo = atoi(argv[0]), hi = atoi(argv[1]);

	if (hi <= lo) {
		vty_out(vty, "%% rtp-ports: the last port (%d) must be above the first (%d)%s", hi, lo, VTY_NEWLINE);
		return CMD_WARNING;
	}
	g_call_cfg.rtp_min = lo;
	g_call_cfg.rtp_max = hi;
	return CMD_SUCCESS;
}

DEFUN(cfg_prompts_dir, cfg_prompts_dir_cmd, "prompts-dir PATH",
      "Folder of the group call's prompts (NAME.ul, 8 kHz mu-law)\nPath\n")
{
	replace(&g_call_cfg.prompts_dir, argv[0]);
	return CMD_SUCCESS;
}

static void vty_line(void *data, const char *line)
{
	struct vty *vty = data;

	vty_out(vty, "%s%s", line, VTY_NEWLINE);
}

DEFUN(show_calls, show_calls_cmd, "show calls [<1-1000>]", SHOW_STR "Group calls, newest first\nHow many\n")
{
	struct call *c;

	if (!cs.ctx) {
		vty_out(vty, "%% the group call is off (no sip-bind configured)%s", VTY_NEWLINE);
		return CMD_WARNING;
	}
	llist_for_each_entry (c, &cs.calls, list)
		vty_out(vty, "active: call %" PRId64 " from %s, %s, %u leg(s) up, %u joined%s", c->rec.id,
			c->rec.caller, osmo_fsm_inst_state_name(c->fi), c->n_legs, c->n_joined, VTY_NEWLINE);
	db_call_list(cs.gw->db, argc ? atoi(argv[0]) : 20, vty_line, vty);
	return CMD_SUCCESS;
}

DEFUN(cfg_missed_call, cfg_missed_call_cmd, "missed-call (group-call|reject)",
      "What a household's call to a modem does (every call is rejected: free for the caller)\n"
      "Start the 6995 group call by calling the household back (needs sip-bind)\nOnly reject it\n")
{
	g_call_cfg.missed_call_group = !strcmp(argv[0], "group-call");
	return CMD_SUCCESS;
}

void call_vty_init(int gw_node)
{
	install_element(gw_node, &cfg_missed_call_cmd);
	install_element(gw_node, &cfg_sip_bind_cmd);
	install_element(gw_node, &cfg_sip_proxy_cmd);
	install_element(gw_node, &cfg_short_code_cmd);
	install_element(gw_node, &cfg_call_ring_cmd);
	install_element(gw_node, &cfg_call_join_cmd);
	install_element(gw_node, &cfg_rtp_bind_cmd);
	install_element(gw_node, &cfg_rtp_ports_cmd);
	install_element(gw_node, &cfg_prompts_dir_cmd);
	install_element_ve(&show_calls_cmd);
}

void call_vty_write(struct vty *vty)
{
	vty_out(vty, " missed-call %s%s", g_call_cfg.missed_call_group ? "group-call" : "reject", VTY_NEWLINE);
	if (g_call_cfg.sip_addr)
		vty_out(vty, " sip-bind %s %u%s", g_call_cfg.sip_addr, g_call_cfg.sip_port, VTY_NEWLINE);
	if (g_call_cfg.proxy_addr)
		vty_out(vty, " sip-proxy %s %u%s", g_call_cfg.proxy_addr, g_call_cfg.proxy_port, VTY_NEWLINE);
	if (g_call_cfg.short_code)
		vty_out(vty, " short-code %s%s", g_call_cfg.short_code, VTY_NEWLINE);
	vty_out(vty, " call-ring-timeout %u%s", g_call_cfg.ring_s, VTY_NEWLINE);
	vty_out(vty, " call-join-timeout %u%s", g_call_cfg.join_s, VTY_NEWLINE);
	if (g_call_cfg.rtp_addr)
		vty_out(vty, " rtp-bind %s%s", g_call_cfg.rtp_addr, VTY_NEWLINE);
	vty_out(vty, " rtp-ports %u %u%s", g_call_cfg.rtp_min, g_call_cfg.rtp_max, VTY_NEWLINE);
	if (g_call_cfg.prompts_dir)
		vty_out(vty, " prompts-dir %s%s", g_call_cfg.prompts_dir, VTY_NEWLINE);
}
