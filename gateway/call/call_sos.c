/* The SOS second path of the group call: a call to one contact about an incident, and the 1 that
 * acknowledges it (see call.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <osmocom/core/fsm.h>
#include <osmocom/core/logging.h>
#include <osmocom/core/utils.h>

#include "db/db_call.h"
#include "gateway/call/call.h"
#include "gateway/call/call_priv.h"
#include "gateway/call/media.h"
#include "gateway/core/gw.h"

static call_sos_key1_fn on_sos_key1;
static call_sos_note_fn on_sos_note;

void call_set_sos_key1(call_sos_key1_fn fn)
{
	on_sos_key1 = fn;
}

void call_set_sos_note(call_sos_note_fn fn)
{
	on_sos_note = fn;
}

/* A line in the incident's history (and the log). */
static void sos_note(struct call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sos_note(struct call *c, const char *fmt, ...)
{
	char note[256];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(note, sizeof(note), fmt, ap);
	va_end(ap);
	LOGPFSML(c->fi, LOGL_NOTICE, "SOS incident %" PRId64 ": %s\n", c->sos_incident, note);
	rc = on_sos_note ? on_sos_note(g_call.gw, c->sos_incident, note) : -ENOTSUP;
	if (rc < 0)
		LOGPFSML(c->fi, LOGL_ERROR, "SOS incident %" PRId64 ": cannot write the history: %s\n", c->sos_incident,
			 strerror(-rc));
}

/* The contact pressed 1: the incident is acknowledged as by an SMS "1" (call_set_sos_key1), "acked"
 * is said, then the call ends. */
void call_sos_leg_acked(struct call_leg *leg)
{
	const char *acked[] = {"acked", "wearer_calling"};
	struct call *c = leg->call;
	int rc;

	leg->rec.joined_at = gw_now();
	call_set_result(&leg->rec, "acknowledged");
	call_leg_save(&leg->rec);
	rc = on_sos_key1 ? on_sos_key1(g_call.gw, leg->rec.number, c->sos_incident, leg->rec.id) : -ENOTSUP;
	if (rc < 0)
		LOGPFSML(leg->fi, LOGL_ERROR, "SOS incident %" PRId64 ": the 1 of %s could not be recorded: %s\n",
			 c->sos_incident, leg->rec.number, strerror(-rc));
	else
		LOGPFSML(leg->fi, LOGL_NOTICE, "SOS incident %" PRId64 ": %s pressed 1 in the alert call\n",
			 c->sos_incident, leg->rec.number);
	c->contact_leg = leg;
	osmo_fsm_inst_state_chg(leg->fi, LEG_ST_JOINED, 0, 0);
	osmo_fsm_inst_dispatch(c->fi, CALL_EV_LEG_JOINED, leg);
	if (!call_play(leg->media, acked, g_call_cfg.sos_wearer_off ? 1 : 2, call_leg_prompt_done, leg) &&
	    !call_sos_prompt_done(leg))
		osmo_fsm_inst_term(leg->fi, OSMO_FSM_TERM_REGULAR, NULL);
}

/* Call the watch and put the contact in the conference it will join. false when it cannot be
 * called (the history says why). */
static bool call_wearer(struct call *c, struct call_leg *contact)
{
	struct db_call_target t = {0};

	if (!c->conf)
		c->conf = media_conf_alloc(c);
	if (!c->conf || media_conf_join(c->conf, contact->media) < 0) {
		sos_note(c, "the watch %s was not called: no conference for the contact's call", c->who.number);
		return false;
	}
	osmo_strlcpy(t.number, c->who.number, sizeof(t.number));
	c->wearer = WEARER_CALLING;
	c->dialing = true;
	if (call_leg_start(c, &t, "wearer") < 0) {
		c->dialing = false;
		sos_note(c, "the watch %s could not be called (no media port): the SMS path goes on", c->who.number);
		return false;
	}
	c->dialing = false;
	c->wearer_leg = llist_last_entry(&c->legs, struct call_leg, list);
	sos_note(c, "calling the watch %s to bridge %s to the wearer", c->who.number, contact->rec.number);
	return true;
}

bool call_sos_prompt_done(struct call_leg *leg)
{
	const char *unreachable[] = {"wearer_unreachable"};
	struct call *c = leg->call;

	if (leg != c->contact_leg)
		return false;
	switch (c->wearer) {
	case WEARER_NONE:
		if (g_call_cfg.sos_wearer_off)
			return false;
		if (call_wearer(c, leg))
			return true;
		c->wearer = WEARER_UNREACHABLE;
		return call_play(leg->media, unreachable, 1, call_leg_prompt_done, leg);
	case WEARER_CALLING:
	case WEARER_TALKING:
		return true;
	case WEARER_UNREACHABLE:
		break;
	}
	return false;
}

void call_sos_wearer_answered(struct call_leg *leg)
{
	struct call *c = leg->call;

	if (!c->conf || media_conf_join(c->conf, leg->media) < 0) {
		call_set_result(&leg->rec, "media_error");
		osmo_fsm_inst_term(leg->fi, OSMO_FSM_TERM_ERROR, NULL);
		return;
	}
	leg->rec.joined_at = gw_now();
	call_leg_save(&leg->rec);
	c->wearer = WEARER_TALKING;
	c->talk_started_ms = call_now_ms();
	if (c->contact_leg)
		media_leg_stop(c->contact_leg->media);
	osmo_fsm_inst_state_chg(leg->fi, LEG_ST_JOINED, 0, 0);
	sos_note(c, "the watch answered: %s is talking to the wearer",
		 c->contact_leg ? c->contact_leg->rec.number : "the contact");
}

void call_sos_leg_ended(struct call *c)
{
	const char *unreachable[] = {"wearer_unreachable"};

	if (c->dialing)
		return;
	switch (c->wearer) {
	case WEARER_CALLING:
		if (c->contact_leg && !c->wearer_leg) {
			/* the watch did not answer: say so to the contact, then hang up */
			c->wearer = WEARER_UNREACHABLE;
			sos_note(c, "the watch %s did not answer the call (%s): the SMS path goes on", c->who.number,
				 c->wearer_why[0] ? c->wearer_why : "no answer");
			media_conf_leave(c->conf, c->contact_leg->media);
			if (!call_play(c->contact_leg->media, unreachable, 1, call_leg_prompt_done, c->contact_leg))
				osmo_fsm_inst_term(c->contact_leg->fi, OSMO_FSM_TERM_REGULAR, NULL);
			return;
		}
		if (!c->contact_leg) {
			sos_note(c, "the contact hung up before the watch answered");
			call_end(c, "acknowledged", NULL);
			return;
		}
		return;
	case WEARER_TALKING:
		sos_note(c, "the talk with the wearer ended after %" PRId64 " s (%s hung up)",
			 (call_now_ms() - c->talk_started_ms) / 1000, c->wearer_leg ? "the contact" : "the watch");
		call_end(c, "acknowledged", NULL);
		return;
	case WEARER_NONE:
	case WEARER_UNREACHABLE:
		break;
	}
	if (!c->n_legs)
		call_end(c, c->n_joined ? "acknowledged" : "not_acknowledged", NULL);
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
	rc = call_leg_start(c, &t, "sos_contact");
	c->dialing = false;
	c->rec.dialed_ms = call_now_ms();
	call_save(c);
	if (rc < 0) {
		call_end(c, "error", "the contact could not be called");
		return rc;
	}
	LOGPFSML(c->fi, LOGL_NOTICE, "SOS incident %" PRId64 ": calling %s\n", a->incident_id, a->number);
	return 0;
}
