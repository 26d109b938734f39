/* Calls ringing a GSM modem (RING / +CLIP). The gateway takes no voice on its modems: every call
 * is rejected (free for the caller), after doing what the caller meant by it.
 *
 * - A registered watch that calls is raising an alarm (many watches call their SOS numbers after
 *   texting, some only call). The call is stored as a received message from the watch, text
 *   SOS_CALL_TEXT, and routed like one: the SOS path makes it an incident (or a repeat of the open
 *   one), and the row survives a crash before the alerts are out.
 * - A household's number, with `missed-call group-call` set: the missed-call trigger starts the
 *   6995 group call by calling the household back (gateway/call/call.c).
 * - Anyone else: logged and rejected.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <osmocom/core/logging.h>
#include <osmocom/core/utils.h>

#include "db/db.h"
#include "gateway/core/gw.h"
#include "gateway/sos/sos.h"


static int watch_call(struct gw *gw, struct gw_modem *m, const char *number, time_t now)
{
	char dedup[96], raw[80];
	struct db_sms_in in = {
		.channel = "gsm",
		.modem = m->cfg.name,
		.sender = number,
		.text = SOS_CALL_TEXT,
		.raw = raw,
		.recv_ts = now,
		.dedup = dedup,
	};

	snprintf(raw, sizeof(raw), "RING +CLIP: \"%s\"", number);
	/* one row per call: a call is one RING event (the modem layer merges its repeated RINGs) */
	snprintf(dedup, sizeof(dedup), "ring|%s|%s|%" PRId64, number, m->cfg.name, (int64_t)now);
	return gw_inbox_add_route(gw, &in);
}

void gw_ring(struct gw *gw, unsigned idx, const char *caller)
{
	struct gw_modem *m = &gw->modem[idx];
	struct db_device dev;
	struct db_phone ph;
	char number[32];
	time_t now = gw_now();
	int rc;

	if (!caller[0] || db_number_norm(caller, number, sizeof(number)) < 0) {
		LOGP(DMDM, LOGL_NOTICE, "modem %s: a call without caller id (%s): rejected\n", m->cfg.name,
		     caller[0] ? caller : "withheld");
		goto reject;
	}
	rc = db_device_get(gw->db, number, 0, &dev);
	if (rc == 0) {
		LOGP(DRT, LOGL_NOTICE, "modem %s: watch %s calls: an alarm\n", m->cfg.name, number);
		rc = watch_call(gw, m, number, now);
		if (rc < 0)
			LOGP(DRT, LOGL_ERROR,
			     "watch %s called but its alarm could not be stored (%s); it stays unhandled: the watch"
			     " will call or text again\n",
			     number, strerror(-rc));
		goto reject;
	}
	if (rc != -ENOENT) {
		LOGP(DDB, LOGL_ERROR, "modem %s: call from %s: cannot look the number up (%s)\n", m->cfg.name, number,
		     strerror(-rc));
		goto reject;
	}
	rc = db_phone_get(gw->db, number, &ph);
	if (rc == 0 && ph.household_id && gw->cfg.missed_call_group) {
		/* set by gateway/call/call.c while its SIP user agent runs */
		rc = gw->group_call_back ? gw->group_call_back(gw, number) : -ENOTCONN;
		if (rc == -ENOTCONN)
			LOGP(DRT, LOGL_ERROR, "modem %s: missed call from %s: the group call's SIP user agent is not"
			     " running (sip-bind is not set)\n", m->cfg.name, number);
		else if (rc < 0)
			LOGP(DRT, LOGL_ERROR, "modem %s: missed call from %s: cannot start the group call: %s\n",
			     m->cfg.name, number, strerror(-rc));
		else
			LOGP(DRT, LOGL_NOTICE, "modem %s: missed call from %s: group call started by calling back\n",
			     m->cfg.name, number);
		goto reject;
	}
	LOGP(DMDM, LOGL_NOTICE, "modem %s: call from %s (%s): rejected, the modems take no calls\n", m->cfg.name,
	     number, rc == 0 ? "known number" : "unknown number");
reject:
	if (gw->pool && (rc = mdm_hangup(gw->pool, idx)) < 0)
		LOGP(DMDM, LOGL_ERROR, "modem %s: cannot reject the call: %s\n", m->cfg.name, strerror(-rc));
}
