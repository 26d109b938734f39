/* The 6995 group call: call control on the sofia-sip user agent (gateway/call/sip_ua.c) and the media
 * of gateway/media.h. See gateway/call/call.h for what it does; DESIGN.md "group call" for the states;
 * gateway/call/call_priv.h for the objects.
 *
 * Here: the SIP handles, the call fsm, the incoming INVITE, the call-back of a missed call, the nua
 * event callback, start and stop. The legs are in call_leg.c, the SOS alert call in call_sos.c, the
 * VTY in call_vty.c. */
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

#include <sofia-sip/nua.h>
#include <sofia-sip/sdp.h>
#include <sofia-sip/sip_status.h>

#include "db/db.h"
#include "db/db_call.h"
#include "gateway/call/call.h"
#include "gateway/call/call_priv.h"
#include "gateway/call/call_sdp.h"
#include "gateway/core/gw.h"
#include "gateway/core/outbox.h"
#include "gateway/core/ring.h"
#include "gateway/call/media.h"
#include "gateway/call/sip_ua.h"

#define CALL_MAX_TARGETS 64

struct call_cfg g_call_cfg = {
	.sip_port = 5070,
	.proxy_port = 5060,
	.ring_s = 30,
	.join_s = 10,
	.rtp_min = 16384,
	.rtp_max = 32767,
	.rtp_timeout_s = 120,
	.voice_max_s = 60,
};

/* No RTP from the caller for rtp-timeout: gone without a BYE that reached us (its phone died, or
 * Kamailio restarted and refused the BYE of a dialog it no longer knew). */
static void caller_silent(struct media_leg *m, void *data)
{
	struct call *c = data;
	char note[96];

	(void)m;
	LOGPFSML(c->fi, LOGL_NOTICE, "no RTP from the caller %s for %u s: taken as hung up\n", c->rec.caller,
		 g_call_cfg.rtp_timeout_s);
	snprintf(note, sizeof(note), "no RTP from the caller for %u s (its BYE lost?)", g_call_cfg.rtp_timeout_s);
	call_end(c, "caller_gone", note);
}

struct call_globals g_call;

/* clang-format off */
static const struct value_string call_event_names[] = {
	{ CALL_EV_LEG_JOINED, "LEG_JOINED" },
	{ CALL_EV_LEG_ENDED, "LEG_ENDED" },
	{ CALL_EV_CALLER_GONE, "CALLER_GONE" },
	{ CALL_EV_PROMPT_DONE, "PROMPT_DONE" },
	{ CALL_EV_CALLER_ANSWERED, "CALLER_ANSWERED" },
	{ 0, NULL }
};
/* clang-format on */

static struct osmo_fsm call_fsm;

/* call_priv.h: the real-time clock in ms. */
int64_t call_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* call_priv.h: rtp-bind, else sip-bind. */
const char *call_rtp_addr(void)
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

/* call_priv.h: a handle for nh, listed and bound as its hmagic. */
struct sip_hdl *call_hdl_alloc(nua_handle_t *nh)
{
	struct sip_hdl *h = talloc_zero(g_call.ctx, struct sip_hdl);

	h->nh = nh;
	osmo_timer_setup(&h->guard, hdl_guard_cb, h);
	llist_add_tail(&h->list, &g_call.hdls);
	if (nh)
		nua_handle_bind(nh, h);
	return h;
}

/* The owner lets go of the dialog: end it (BYE when confirmed, CANCEL before) unless it has
 * ended already; the handle goes when the stack reports the dialog terminated. */
void call_hdl_release(struct sip_hdl *h)
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
char *call_sdp_local(void *ctx, uint16_t port, int pt, int te_pt)
{
	return call_sdp_make(ctx, call_rtp_addr(), ++g_call.next_id, port, pt, te_pt);
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

/* call_priv.h: c's record written back. */
void call_save(struct call *c)
{
	if (db_call_update(g_call.gw->db, &c->rec) < 0)
		LOGPFSML(c->fi, LOGL_ERROR, "cannot record call %" PRId64 "\n", c->rec.id);
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

/* call_priv.h: the reason recorded, the fsm terminated (c is freed). */
void call_end(struct call *c, const char *reason, const char *note)
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
	n = db_call_targets(g_call.gw->db, c->who.grp_id, c->who.household_id, t, ARRAY_SIZE(t));
	text = talloc_asprintf(c, "【邻里】%s 拨打%s呼救，邻居未接通，已转网格员。请尽快联系或上门查看。",
			       address(c, &c->who), g_call_cfg.short_code);
	for (int i = 0; i < n; i++)
		if (gw_sms_queue(g_call.gw, t[i].number, text, DB_PRIO_SOS, NULL) < 0)
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
		if (db_call_escalation(g_call.gw->db, c->who.grp_id, c->rung, &t) < 0)
			continue;
		if (!strcmp(t.number, c->who.number))
			continue;
		started = call_leg_start(c, &t, c->rung == 0 ? "grid_worker" : "staff") == 0;
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
		if (c->sos_incident) {
			call_sos_leg_ended(c);
			break;
		}
		if (c->n_legs || c->n_joined || c->dialing)
			break;
		/* everyone called has answered no, timed out or hung up without a 1 */
		if (fi->state == CALL_ST_RINGING) {
			osmo_strlcpy(c->rec.state, "escalating", sizeof(c->rec.state));
			call_save(c);
			osmo_fsm_inst_state_chg(fi, CALL_ST_ESCALATING, 0, 0);
			call_play(c->media, nobody, 1, prompt_ignored, NULL);
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

	if (fi->state == CALL_ST_VOICE || fi->state == CALL_ST_VOICE_THANKS)
		call_voice_timeout(c);
	else if (fi->state == CALL_ST_CALLBACK)
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
		call_set_result(&c->caller_rec, !strcmp(c->rec.end_reason, "caller_hangup") ? "left"
						: !strcmp(c->rec.end_reason, "no_answer")   ? "no_answer"
											    : "released");
		call_leg_save(&c->caller_rec);
	}
	if (c->media)
		media_leg_free(c->media);
	c->media = NULL;
	if (c->conf)
		media_conf_free(c->conf);
	c->conf = NULL;
	if (c->hdl)
		call_hdl_release(c->hdl);
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
					  S(CALL_ST_NO_GROUP) | S(CALL_ST_CALLBACK) | S(CALL_ST_VOICE),
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
	[CALL_ST_VOICE] =
		{
			.name = "VOICE",
			.in_event_mask = S(CALL_EV_PROMPT_DONE) | S(CALL_EV_CALLER_GONE),
			.out_state_mask = S(CALL_ST_VOICE) | S(CALL_ST_VOICE_THANKS),
			.action = call_voice_event,
		},
	[CALL_ST_VOICE_THANKS] =
		{
			.name = "VOICE_THANKS",
			.in_event_mask = S(CALL_EV_PROMPT_DONE) | S(CALL_EV_CALLER_GONE),
			.action = call_voice_event,
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
struct call *call_new(const struct db_call_caller *who, const char *caller, const char *callid)
{
	struct call *c = talloc_zero(g_call.ctx, struct call);

	INIT_LLIST_HEAD(&c->legs);
	c->rung = -1;
	c->who = *who;
	c->fi = osmo_fsm_inst_alloc(&call_fsm, g_call.ctx, c, LOGL_DEBUG, NULL);
	talloc_steal(c->fi, c);
	llist_add_tail(&c->list, &g_call.calls);
	osmo_strlcpy(c->rec.caller, caller, sizeof(c->rec.caller));
	c->rec.caller_phone_id = who->phone_id;
	c->rec.household_id = who->household_id;
	c->rec.grp_id = who->grp_id;
	if (callid)
		osmo_strlcpy(c->rec.sip_call_id, callid, sizeof(c->rec.sip_call_id));
	osmo_strlcpy(c->rec.state, "ringing", sizeof(c->rec.state));
	c->rec.started = gw_now();
	c->rec.started_ms = call_now_ms();
	if (db_call_add(g_call.gw->db, &c->rec) < 0)
		LOGPFSML(c->fi, LOGL_ERROR, "cannot record the call\n");
	osmo_fsm_inst_update_id_f(c->fi, "%" PRId64, c->rec.id);
	return c;
}

/* A new call from who (from: the number as it came): recorded, with the caller's leg, its media
 * leg and the conference. NULL (logged, the call recorded as an error) when no RTP port is free. */
struct call *call_alloc(const struct db_call_caller *who, const char *from, const char *callid)
{
	struct call *c = call_new(who, from, callid);

	c->caller_rec.call_id = c->rec.id;
	osmo_strlcpy(c->caller_rec.kind, "caller", sizeof(c->caller_rec.kind));
	osmo_strlcpy(c->caller_rec.number, who->number, sizeof(c->caller_rec.number));
	c->caller_rec.phone_id = who->phone_id;
	c->caller_rec.household_id = who->household_id;
	c->caller_rec.invited_at = c->rec.started;
	if (db_call_leg_add(g_call.gw->db, &c->caller_rec) < 0)
		LOGPFSML(c->fi, LOGL_ERROR, "cannot record the caller's leg\n");

	c->media = media_leg_alloc(c, call_rtp_addr(), g_call_cfg.rtp_min, g_call_cfg.rtp_max);
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
	call_leg_save(&c->caller_rec);
	n = who->grp_id ? db_call_targets(g_call.gw->db, who->grp_id, who->household_id, t, ARRAY_SIZE(t)) : 0;
	if (n <= 0) {
		snprintf(c->rec.note, sizeof(c->rec.note), "%s%s",
			 c->callback ? "called back after a missed call: " : "",
			 !who->household_id ? "the number belongs to no household"
			 : !who->grp_id	    ? "the household is in no group"
					    : "the group has no other household to call");
		LOGPFSML(c->fi, LOGL_NOTICE, "6995 from %s: %s: playing no_group\n", who->number, c->rec.note);
		call_save(c);
		osmo_fsm_inst_state_chg(c->fi, CALL_ST_NO_GROUP, 30, 3);
		if (!call_play(c->media, nogroup, 1, caller_prompt_done, c))
			osmo_fsm_inst_state_chg(c->fi, CALL_ST_NO_GROUP, 1, 3);
		return;
	}

	/* the caller joins at once: it hears "calling", then whoever joins */
	osmo_fsm_inst_state_chg(c->fi, CALL_ST_RINGING, 0, 0);
	rc = media_conf_join(c->conf, c->media);
	if (rc < 0)
		LOGPFSML(c->fi, LOGL_ERROR, "caller cannot join the conference: %s\n", strerror(-rc));
	call_play(c->media, calling, 1, caller_prompt_done, c);
	c->dialing = true;
	for (int i = 0; i < n; i++)
		call_leg_start(c, &t[i], "neighbour");
	c->dialing = false;
	c->rec.dialed_ms = call_now_ms();
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
	bool tx, voice;

	if (sip->sip_from && sip->sip_from->a_url->url_user)
		osmo_strlcpy(from, sip->sip_from->a_url->url_user, sizeof(from));
	if (sip->sip_request)
		ruser = sip->sip_request->rq_url->url_user;
	/* the voice line (requests by voice) takes the same way in as the group call, up to the answer */
	voice = ruser && g_call_cfg.voice_code && !strcmp(ruser, g_call_cfg.voice_code);
	if (!voice && (!ruser || !g_call_cfg.short_code || strcmp(ruser, g_call_cfg.short_code))) {
		LOGP(DCALL, LOGL_NOTICE, "INVITE from '%s' to '%s', not the short code %s: 404\n", from,
		     ruser ? ruser : "", g_call_cfg.short_code);
		refuse(nh, SIP_404_NOT_FOUND);
		return;
	}
	if (db_number_norm(from, number, sizeof(number)) < 0 || db_call_caller_get(g_call.gw->db, number, &who) < 0) {
		LOGP(DCALL, LOGL_NOTICE, "%s from unknown number '%s': 403\n", ruser, from);
		refuse(nh, SIP_403_FORBIDDEN);
		return;
	}
	if (sdp_read(sip, &offer, err, sizeof(err)) < 0) {
		LOGP(DCALL, LOGL_NOTICE, "%s from %s: %s: 488\n", ruser, number, err);
		refuse(nh, SIP_488_NOT_ACCEPTABLE);
		return;
	}

	/* the call's rows in one short transaction: one sync instead of one per leg (the SMS
	 * pipeline commits within its own callbacks, so no transaction is open here) */
	tx = db_begin(g_call.gw->db) == 0;
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
	c->hdl = call_hdl_alloc(nh);
	c->hdl->call = c;
	media_leg_on_silence(c->media, g_call_cfg.rtp_timeout_s, caller_silent, c);
	sdp = c->hdl->sdp = call_sdp_local(c->hdl, media_leg_local_port(c->media), offer.pt, offer.te_pt);
	nua_respond(nh, SIP_200_OK, SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(sdp), TAG_END());
	c->hdl->confirmed = true;
	if (voice)
		call_voice_begin(c);
	else
		call_begin(c);
out_commit:
	if (tx && db_commit(g_call.gw->db) < 0)
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
	rc = db_call_caller_get(g_call.gw->db, number, &who);
	if (rc < 0)
		return rc;
	tx = db_begin(g_call.gw->db) == 0;
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
	nh = nua_handle(g_call.nua, NULL, SIPTAG_TO_STR(to), TAG_END());
	c->hdl = call_hdl_alloc(nh);
	c->hdl->call = c;
	sdp = c->hdl->sdp = call_sdp_local(c->hdl, media_leg_local_port(c->media), -1, -1);
	nua_invite(nh, NUTAG_URL(to), SIPTAG_FROM_STR(from), SIPTAG_CONTENT_TYPE_STR("application/sdp"),
		   SIPTAG_PAYLOAD_STR(sdp), TAG_END());
	osmo_fsm_inst_state_chg(c->fi, CALL_ST_CALLBACK, g_call_cfg.ring_s, 4);
	LOGPFSML(c->fi, LOGL_NOTICE, "missed call from %s: calling it back (%s)\n", number, to);
	rc = 0;
out_commit:
	if (tx && db_commit(g_call.gw->db) < 0)
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
		LOGP(DRT, LOGL_ERROR,
		     "modem %s: missed call from %s: the group call's SIP user agent is not"
		     " running (sip-bind is not set)\n",
		     modem, number);
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
bool call_running(void)
{
	return g_call.ctx && g_call.nua;
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
		call_set_result(&h->leg->rec, "bad_sdp");
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

/* ---- start, stop ---- */

int call_start(struct gw *gw)
{
	int rc;

	/* a call lives as long as its process: rows still open are those of one that was killed */
	rc = db_call_close_stale(gw->db, gw_now(), "gateway_restart", "linlid stopped without ending it");
	if (rc < 0)
		LOGP(DCALL, LOGL_ERROR, "group call: cannot close the calls of the last run: %s\n", strerror(-rc));
	else if (rc > 0)
		LOGP(DCALL, LOGL_NOTICE, "group call: %d call(s) of the last run closed (gateway_restart)\n", rc);
	if (!g_call_cfg.sip_addr)
		return 0;
	g_call.gw = gw;
	g_call.ctx = talloc_named_const(gw->ctx, 0, "group_call");
	INIT_LLIST_HEAD(&g_call.calls);
	INIT_LLIST_HEAD(&g_call.hdls);
	if (!g_call_cfg.short_code)
		g_call_cfg.short_code = talloc_strdup(gw, "6995");
	if (!g_call_cfg.proxy_addr)
		g_call_cfg.proxy_addr = talloc_strdup(gw, "127.0.0.1");
	OSMO_ASSERT(osmo_fsm_register(&call_fsm) == 0);
	OSMO_ASSERT(osmo_fsm_register(&call_leg_fsm) == 0);

	rc = media_prompts_load(g_call_cfg.prompts_dir ? g_call_cfg.prompts_dir : "build/prompts");
	if (rc < 0)
		LOGP(DCALL, LOGL_ERROR, "group call: no prompts loaded from %s (%s): calls go on without them\n",
		     g_call_cfg.prompts_dir ? g_call_cfg.prompts_dir : "build/prompts", strerror(-rc));
	else
		LOGP(DCALL, LOGL_INFO, "group call: %d prompt(s) loaded\n", rc);

	rc = sip_ua_start(g_call_cfg.sip_addr, g_call_cfg.sip_port, nua_cb, NULL, &g_call.nua);
	if (rc < 0) {
		talloc_free(g_call.ctx);
		g_call.ctx = NULL;
		return rc;
	}
	LOGP(DCALL, LOGL_NOTICE, "group call: short code %s, neighbours via %s:%u, ring %us, join %us\n",
	     g_call_cfg.short_code, g_call_cfg.proxy_addr, g_call_cfg.proxy_port, g_call_cfg.ring_s, g_call_cfg.join_s);
	return 0;
}

static bool no_dialogs(void)
{
	return llist_empty(&g_call.hdls);
}

void call_stop(struct gw *gw)
{
	struct call *c, *tmp;
	struct sip_hdl *h, *htmp;

	(void)gw;
	if (!g_call.ctx)
		return;
	llist_for_each_entry_safe (c, tmp, &g_call.calls, list)
		call_end(c, "shutdown", "linlid stopped");
	/* give the BYEs and CANCELs a moment to be answered, then drop what is left, so that the
	 * stack's shutdown does not wait for transactions that may never end */
	sip_ua_run_until(no_dialogs, 2000);
	llist_for_each_entry_safe (h, htmp, &g_call.hdls, list)
		hdl_free(h);
	sip_ua_stop(5000);
	talloc_free(g_call.ctx);
	g_call.ctx = NULL;
	g_call.nua = NULL;
}
