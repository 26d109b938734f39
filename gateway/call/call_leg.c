/* The group call's legs: one child osmo_fsm per party called (a neighbour, the grid worker, the
 * duty staff, an SOS contact): INVITE, the prompt, the 1, the conference (see call_priv.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <osmocom/core/fsm.h>
#include <osmocom/core/linuxlist.h>
#include <osmocom/core/logging.h>
#include <osmocom/core/talloc.h>
#include <osmocom/core/utils.h>

#include <sofia-sip/nua.h>

#include "db/db.h"
#include "db/db_call.h"
#include "gateway/call/call.h"
#include "gateway/call/call_priv.h"
#include "gateway/call/call_sdp.h"
#include "gateway/call/media.h"
#include "gateway/core/gw.h"

/* clang-format off */
static const struct value_string leg_event_names[] = {
	{ LEG_EV_ANSWERED, "ANSWERED" },
	{ LEG_EV_FAILED, "FAILED" },
	{ LEG_EV_REMOTE_BYE, "REMOTE_BYE" },
	{ LEG_EV_PROMPT_DONE, "PROMPT_DONE" },
	{ LEG_EV_DIGIT, "DIGIT" },
	{ 0, NULL }
};
/* clang-format on */

/* call_priv.h: a leg's record written back. */
void call_leg_save(struct db_call_leg *l)
{
	if (db_call_leg_update(g_call.gw->db, l) < 0)
		LOGP(DCALL, LOGL_ERROR, "cannot record leg %" PRId64 " of call %" PRId64 "\n", l->id, l->call_id);
}

/* call_priv.h: the first result set wins. */
void call_set_result(struct db_call_leg *l, const char *result)
{
	if (!l->result[0])
		osmo_strlcpy(l->result, result, sizeof(l->result));
}
/* ---- legs (child fsm) ---- */

/* call_priv.h: the prompt of a leg is over. */
void call_leg_prompt_done(struct media_leg *m, void *data)
{
	struct call_leg *leg = data;

	(void)m;
	osmo_fsm_inst_dispatch(leg->fi, LEG_EV_PROMPT_DONE, NULL);
}

/* No RTP from an answered party for rtp-timeout: gone without a BYE that reached us. */
static void leg_silent(struct media_leg *m, void *data)
{
	struct call_leg *leg = data;

	(void)m;
	LOGPFSML(leg->fi, LOGL_NOTICE, "no RTP from %s for %u s: taken as hung up\n", leg->rec.number,
		 g_call_cfg.rtp_timeout_s);
	call_set_result(&leg->rec, "media_timeout");
	osmo_fsm_inst_term(leg->fi, OSMO_FSM_TERM_REGULAR, NULL);
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
bool call_play(struct media_leg *m, const char **names, size_t n, void (*done)(struct media_leg *, void *), void *data)
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
			call_set_result(&leg->rec, "media_error");
			osmo_fsm_inst_term(fi, OSMO_FSM_TERM_ERROR, NULL);
			return;
		}
		call_leg_save(&leg->rec);
		media_leg_on_silence(leg->media, g_call_cfg.rtp_timeout_s, leg_silent, leg);
		if (leg->call->wearer_leg == leg) {
			call_sos_wearer_answered(leg);
			break;
		}
		media_leg_on_dtmf(leg->media, leg_dtmf, leg);
		if (leg->call->sos_incident)
			names[n++] = "sos_alert";
		n = say_number(names, n, ARRAY_SIZE(names), leg->call->who.building, "building");
		n = say_number(names, n, ARRAY_SIZE(names), leg->call->who.unit, "unit");
		names[n++] = leg->call->sos_incident ? "sos_pressed" : "neighbour_calls";
		names[n++] = leg->call->sos_incident ? "press1_ack" : "press1";
		if (call_play(leg->media, names, n, call_leg_prompt_done, leg))
			osmo_fsm_inst_state_chg(fi, LEG_ST_PROMPT, 0, 0);
		else
			osmo_fsm_inst_state_chg(fi, LEG_ST_WAIT_KEY, g_call_cfg.join_s, 2);
		break;
	case LEG_EV_FAILED:
		leg->rec.sip_status = *(int *)data;
		call_set_result(&leg->rec, "rejected");
		osmo_fsm_inst_term(fi, OSMO_FSM_TERM_REGULAR, NULL);
		break;
	case LEG_EV_REMOTE_BYE:
		call_set_result(&leg->rec, "rejected");
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
			call_sos_leg_acked(leg);
			break;
		}
		if (media_conf_join(leg->call->conf, leg->media) < 0) {
			LOGPFSML(fi, LOGL_ERROR, "cannot join the conference\n");
			call_set_result(&leg->rec, "media_error");
			osmo_fsm_inst_term(fi, OSMO_FSM_TERM_ERROR, NULL);
			break;
		}
		leg->rec.joined_at = gw_now();
		call_leg_save(&leg->rec);
		osmo_fsm_inst_state_chg(fi, LEG_ST_JOINED, 0, 0);
		osmo_fsm_inst_dispatch(leg->call->fi, CALL_EV_LEG_JOINED, leg);
		break;
	case LEG_EV_REMOTE_BYE:
		call_set_result(&leg->rec, "no_key");
		osmo_fsm_inst_term(fi, OSMO_FSM_TERM_REGULAR, NULL);
		break;
	}
}

static void leg_joined(struct osmo_fsm_inst *fi, uint32_t event, void *data)
{
	struct call_leg *leg = fi->priv;

	(void)data;
	if (event == LEG_EV_REMOTE_BYE) {
		call_set_result(&leg->rec,
				leg->call->sos_incident && leg != leg->call->wearer_leg ? "acknowledged" : "left");
		osmo_fsm_inst_term(fi, OSMO_FSM_TERM_REGULAR, NULL);
	} else if (event == LEG_EV_PROMPT_DONE && leg->call->sos_incident) {
		/* "acked" has been said: call the watch, or hang up */
		if (!call_sos_prompt_done(leg))
			osmo_fsm_inst_term(fi, OSMO_FSM_TERM_REGULAR, NULL);
	}
}

static int leg_timer_cb(struct osmo_fsm_inst *fi)
{
	struct call_leg *leg = fi->priv;

	switch (fi->state) {
	case LEG_ST_INVITING:
		LOGPFSML(fi, LOGL_INFO, "no answer within %us: CANCEL\n", g_call_cfg.ring_s);
		call_set_result(&leg->rec, "no_answer");
		break;
	case LEG_ST_WAIT_KEY:
		LOGPFSML(fi, LOGL_INFO, "answered but no 1 within %us (voicemail?): BYE\n", g_call_cfg.join_s);
		call_set_result(&leg->rec, "no_key");
		break;
	}
	return 1;
}

static void leg_cleanup(struct osmo_fsm_inst *fi, enum osmo_fsm_term_cause cause)
{
	struct call_leg *leg = fi->priv;

	(void)cause;
	if (leg->rec.joined_at)
		call_set_result(&leg->rec, "released");
	else if (leg->rec.answered_at)
		call_set_result(&leg->rec, "no_key");
	else
		call_set_result(&leg->rec, "cancelled");
	leg->rec.ended_at = gw_now();
	call_leg_save(&leg->rec);
	if (leg->call->wearer_leg == leg) {
		leg->call->wearer_leg = NULL;
		if (!leg->rec.answered_at)
			snprintf(leg->call->wearer_why, sizeof(leg->call->wearer_why), "%s, SIP %d", leg->rec.result,
				 leg->rec.sip_status);
	} else if (leg->call->sos_attempt) {
		char res[64];

		snprintf(res, sizeof(res), "call %" PRId64 ": %s", leg->call->rec.id, leg->rec.result);
		if (db_sos_attempt_result(g_call.gw->db, leg->call->sos_attempt, res) < 0)
			LOGPFSML(fi, LOGL_ERROR, "cannot record the SOS call's result\n");
	}
	if (leg->media)
		media_leg_free(leg->media);
	leg->media = NULL;
	if (leg->hdl)
		call_hdl_release(leg->hdl);
	leg->hdl = NULL;
	if (leg->call->contact_leg == leg)
		leg->call->contact_leg = NULL;
	llist_del(&leg->list);
	leg->call->n_legs--;
}

static const struct osmo_fsm_state leg_states[] = {
	[LEG_ST_INVITING] =
		{
			.name = "INVITING",
			.in_event_mask = S(LEG_EV_ANSWERED) | S(LEG_EV_FAILED) | S(LEG_EV_REMOTE_BYE),
			/* JOINED: the watch's leg in talk to the wearer joins on answer */
			.out_state_mask = S(LEG_ST_INVITING) | S(LEG_ST_PROMPT) | S(LEG_ST_WAIT_KEY) | S(LEG_ST_JOINED),
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

struct osmo_fsm call_leg_fsm = {
	.name = "call_leg",
	.states = leg_states,
	.num_states = ARRAY_SIZE(leg_states),
	.timer_cb = leg_timer_cb,
	.cleanup = leg_cleanup,
	.event_names = leg_event_names,
	.log_subsys = DCALL,
};

/* INVITE one number for the call (kind neighbour, grid_worker or staff). 0 or -errno. */
int call_leg_start(struct call *c, const struct db_call_target *t, const char *kind)
{
	struct call_leg *leg;
	char *to, *from, *sdp;
	nua_handle_t *nh;

	leg = talloc_zero(c, struct call_leg);
	leg->call = c;
	leg->fi = osmo_fsm_inst_alloc_child(&call_leg_fsm, c->fi, CALL_EV_LEG_ENDED);
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
	if (db_call_leg_add(g_call.gw->db, &leg->rec) < 0)
		LOGPFSML(leg->fi, LOGL_ERROR, "cannot record the leg\n");

	leg->media = media_leg_alloc(leg, call_rtp_addr(), g_call_cfg.rtp_min, g_call_cfg.rtp_max);
	if (!leg->media) {
		LOGPFSML(leg->fi, LOGL_ERROR, "no free RTP port in %u-%u: not called\n", g_call_cfg.rtp_min,
			 g_call_cfg.rtp_max);
		call_set_result(&leg->rec, "media_error");
		osmo_fsm_inst_term(leg->fi, OSMO_FSM_TERM_ERROR, NULL);
		return -EADDRINUSE;
	}

	to = talloc_asprintf(leg, "sip:%s@%s:%u", t->number, g_call_cfg.proxy_addr, g_call_cfg.proxy_port);
	from = talloc_asprintf(leg, "sip:%s@%s:%u", c->who.number, g_call_cfg.sip_addr, g_call_cfg.sip_port);
	nh = nua_handle(g_call.nua, NULL, SIPTAG_TO_STR(to), TAG_END());
	leg->hdl = call_hdl_alloc(nh);
	leg->hdl->leg = leg;
	sdp = leg->hdl->sdp = call_sdp_local(leg->hdl, media_leg_local_port(leg->media), -1, -1);
	nua_invite(nh, NUTAG_URL(to), SIPTAG_FROM_STR(from), SIPTAG_CONTENT_TYPE_STR("application/sdp"),
		   SIPTAG_PAYLOAD_STR(sdp), TAG_END());
	osmo_fsm_inst_state_chg(leg->fi, LEG_ST_INVITING, g_call_cfg.ring_s, 1);
	LOGPFSML(leg->fi, LOGL_INFO, "INVITE %s (%s)\n", to, kind);
	return 0;
}
