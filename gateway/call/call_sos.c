/* The SOS second path of the group call: a call to one contact about an incident, and the 1 that
 * acknowledges it (see call.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <osmocom/core/fsm.h>
#include <osmocom/core/logging.h>
#include <osmocom/core/utils.h>

#include "db/db_call.h"
#include "gateway/call/call.h"
#include "gateway/call/call_priv.h"
#include "gateway/core/gw.h"

static call_sos_key1_fn on_sos_key1;

void call_set_sos_key1(call_sos_key1_fn fn)
{
	on_sos_key1 = fn;
}

/* The contact pressed 1: the incident is acknowledged as by an SMS "1" (call_set_sos_key1), "acked"
 * is said, then the call ends. */
void call_sos_leg_acked(struct call_leg *leg)
{
	const char *acked[] = {"acked"};
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
	osmo_fsm_inst_state_chg(leg->fi, LEG_ST_JOINED, 0, 0);
	osmo_fsm_inst_dispatch(c->fi, CALL_EV_LEG_JOINED, leg);
	if (!call_play(leg->media, acked, 1, call_leg_prompt_done, leg))
		osmo_fsm_inst_term(leg->fi, OSMO_FSM_TERM_REGULAR, NULL);
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
