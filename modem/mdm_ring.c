/* Incoming calls on the worker thread: RING, +CRING and +CLIP (from libgammu's call callback or
 * the own AT exchange) become one MDM_EV_RING per call with the caller's number; hanging up. */

#include <stdio.h>
#include <string.h>

#include <gammu.h>

#include "modem/mdm.h"
#include "modem/mdm_wpriv.h"

#define RING_SAME_CALL_MS 8000 /* RINGs closer than this belong to one call */
#define RING_CLIP_WAIT_MS 1500 /* wait this long for +CLIP after a bare RING */

/* A RING or +CLIP (num "" when not known): one call until RINGs stop for RING_SAME_CALL_MS. */
void mdm_note_ring(struct mdm_worker *w, const char *num)
{
	struct mdm_wpriv *p = w->p;
	int64_t t = mdm_now_ms();

	if (p->ring_active && t - p->ring_last < RING_SAME_CALL_MS &&
	    (!num[0] || !p->ring_caller[0] || !strcmp(num, p->ring_caller))) {
		p->ring_last = t;
		if (!p->ring_caller[0] && num[0] && !p->ring_emitted)
			snprintf(p->ring_caller, sizeof(p->ring_caller), "%s", num);
		return;
	}
	p->ring_active = true;
	p->ring_emitted = false;
	p->ring_gen++;
	p->ring_first = p->ring_last = t;
	snprintf(p->ring_caller, sizeof(p->ring_caller), "%s", num);
}

void mdm_on_call(GSM_StateMachine *sm, GSM_Call *call, void *data)
{
	struct mdm_worker *w = data;
	struct mdm_wpriv *p = w->p;
	char num[32];

	(void)sm;
	switch (call->Status) {
	case GSM_CALL_IncomingCall:
		mdm_gu_to_utf8(call->PhoneNumber, sizeof(call->PhoneNumber), num, sizeof(num));
		mdm_note_ring(w, num);
		break;
	case GSM_CALL_CallEnd:
	case GSM_CALL_CallRemoteEnd:
	case GSM_CALL_CallLocalEnd:
		if (!p->hanging_up) /* mdm_do_hangup ends only the call it was asked to end */
			p->ring_active = false;
		break;
	default:
		break;
	}
}

void mdm_ring_check(struct mdm_worker *w)
{
	struct mdm_wpriv *p = w->p;
	struct mdm_event *ev;
	int64_t t = mdm_now_ms();

	if (p->ring_active && t - p->ring_last > RING_SAME_CALL_MS)
		p->ring_active = false; /* the call ended without a notice */
	if (!p->ring_active || p->ring_emitted)
		return;
	if (!p->ring_caller[0] && t - p->ring_first < RING_CLIP_WAIT_MS)
		return;
	p->ring_emitted = true;
	ev = mdm_ev_new(w, MDM_EV_RING);
	snprintf(ev->u.ring.caller, sizeof(ev->u.ring.caller), "%s", p->ring_caller);
	mdm_pool_emit(w->pool, ev);
}

/* Reject the call ringing now (or end it): AT+CHUP, libgammu falls back on ATH. A RING that
 * arrives while the AT+CHUP is on the line starts a new call that the hang-up must not forget:
 * if the modem ended it too, it is reported and rejected once more, which costs one AT+CHUP;
 * forgetting it would lose a watch's alarm call. */
void mdm_do_hangup(struct mdm_worker *w)
{
	struct mdm_wpriv *p = w->p;
	unsigned gen = p->ring_gen;
	GSM_Error e;

	p->hanging_up = true;
	mdm_call_begin(w, 10, "hangup");
	e = GSM_CancelCall(p->sm, 0, TRUE);
	mdm_call_end(w);
	p->hanging_up = false;
	/* a modem that does not know AT+CHUP/ATH keeps ringing until the caller gives up; the RING
	 * was reported already, so there is nothing more to tell */
	if (e != ERR_NONE)
		mdm_check_lost(w, e, "hanging up");
	if (p->ring_gen == gen)
		p->ring_active = false;
}
