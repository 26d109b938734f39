/* The connection of one worker: a fresh GSM_StateMachine per connect (an aborted one is never
 * reused), the modem's identity and SMSC, telling a failed request from a modem that is gone, and
 * the health polls (signal, registration, SIM, SMS memory). Worker thread. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gammu.h>

#include "modem/mdm.h"
#include "modem/mdm_wpriv.h"

bool mdm_is_modem_error(GSM_Error e)
{
	switch (e) {
	case ERR_DEVICEOPENERROR:
	case ERR_DEVICELOCKED:
	case ERR_DEVICENOTEXIST:
	case ERR_DEVICEBUSY:
	case ERR_DEVICENOPERMISSION:
	case ERR_DEVICENODRIVER:
	case ERR_DEVICENOTWORK:
	case ERR_DEVICEDTRRTSERROR:
	case ERR_DEVICECHANGESPEEDERROR:
	case ERR_DEVICEWRITEERROR:
	case ERR_DEVICEREADERROR:
	case ERR_DEVICEPARITYERROR:
	case ERR_TIMEOUT:
	case ERR_NOTCONNECTED:
	case ERR_ABORTED:
		return true;
	default:
		return false;
	}
}

void mdm_go_lost(struct mdm_worker *w, const char *what, GSM_Error e)
{
	struct mdm_wpriv *p = w->p;

	if (p->lost)
		return;
	p->lost = true;
	snprintf(p->lost_reason, sizeof(p->lost_reason), "%s: %s", what, GSM_ErrorName(e));
}

/* After a failed gammu call: true when the modem is to be treated as gone. A timeout is
 * confirmed with one AT+CSQ first, so a single slow answer does not drop the connection. */
bool mdm_check_lost(struct mdm_worker *w, GSM_Error e, const char *what)
{
	struct mdm_wpriv *p = w->p;
	GSM_SignalQuality sig;
	GSM_Error e2;

	if (p->lost)
		return true;
	if (!mdm_is_modem_error(e))
		return false;
	if (e == ERR_TIMEOUT && !mdm_flag_leave(w)) {
		mdm_call_begin(w, 15, "probe");
		e2 = GSM_GetSignalQuality(p->sm, &sig);
		mdm_call_end(w);
		if (!mdm_is_modem_error(e2))
			return false;
	}
	mdm_go_lost(w, what, e);
	return true;
}

static GSM_Error setup_modem(struct mdm_worker *w, GSM_StateMachine *sm);

void mdm_health(struct mdm_worker *w)
{
	struct mdm_wpriv *p = w->p;
	struct mdm_event *ev;
	GSM_SignalQuality sig;
	GSM_NetworkInfo ni;
	GSM_SecurityCodeType sec;
	GSM_SMSMemoryStatus st;
	GSM_Error e;

	memset(&sig, 0, sizeof(sig));
	mdm_call_begin(w, 12, "csq");
	e = GSM_GetSignalQuality(p->sm, &sig);
	mdm_call_end(w);
	if (e == ERR_TIMEOUT && !mdm_flag_leave(w)) {
		mdm_call_begin(w, 12, "csq");
		e = GSM_GetSignalQuality(p->sm, &sig); /* one more chance before calling it lost */
		mdm_call_end(w);
	}
	if (mdm_is_modem_error(e)) {
		mdm_go_lost(w, "health (AT+CSQ)", e);
		return;
	}
	ev = mdm_ev_new(w, MDM_EV_HEALTH);
	ev->u.health.signal_pct = e == ERR_NONE ? sig.SignalPercent : -1;
	ev->u.health.rssi_dbm = e == ERR_NONE && sig.SignalStrength < -1 ? sig.SignalStrength : 0;

	memset(&ni, 0, sizeof(ni));
	mdm_call_begin(w, 12, "network");
	e = GSM_GetNetworkInfo(p->sm, &ni);
	mdm_call_end(w);
	if (e == ERR_NONE) {
		ev->u.health.registered = ni.State == GSM_HomeNetwork || ni.State == GSM_RoamingNetwork;
		ev->u.health.no_service = ni.State == GSM_NoNetwork || ni.State == GSM_RequestingNetwork ||
					  ni.State == GSM_RegistrationDenied;
		mdm_gu_to_utf8(ni.NetworkName, sizeof(ni.NetworkName), ev->u.health.network,
			       sizeof(ev->u.health.network));
		if (!ev->u.health.network[0])
			snprintf(ev->u.health.network, sizeof(ev->u.health.network), "%s", ni.NetworkCode);
	} else if (mdm_check_lost(w, e, "health (network)")) {
		free(ev);
		return;
	}

	mdm_call_begin(w, 12, "sim");
	e = GSM_GetSecurityStatus(p->sm, &sec);
	mdm_call_end(w);
	const char *simst = "unknown";
	if (e == ERR_NONE) {
		switch (sec) {
		case SEC_None:
			simst = "ready";
			break;
		case SEC_Pin:
			simst = "pin";
			break;
		case SEC_Puk:
			simst = "puk";
			break;
		case SEC_Pin2:
			simst = "pin2";
			break;
		case SEC_Puk2:
			simst = "puk2";
			break;
		case SEC_Phone:
			simst = "phone-lock";
			break;
		case SEC_Network:
			simst = "network-lock";
			break;
		default:
			simst = "locked";
			break;
		}
	} else if (e == ERR_NOSIM) {
		simst = "absent";
	} else if (mdm_check_lost(w, e, "health (SIM)")) {
		free(ev);
		return;
	}
	snprintf(ev->u.health.sim, sizeof(ev->u.health.sim), "%s", simst);

	memset(&st, 0, sizeof(st));
	mdm_call_begin(w, 12, "smsmem");
	e = GSM_GetSMSStatus(p->sm, &st);
	mdm_call_end(w);
	if (e == ERR_NONE) {
		ev->u.health.sim_used =
			(unsigned)(st.SIMUsed > 0 ? st.SIMUsed : 0) + (unsigned)(st.PhoneUsed > 0 ? st.PhoneUsed : 0);
		ev->u.health.sim_size =
			(unsigned)(st.SIMSize > 0 ? st.SIMSize : 0) + (unsigned)(st.PhoneSize > 0 ? st.PhoneSize : 0);
	} else if (mdm_check_lost(w, e, "health (SMS memory)")) {
		free(ev);
		return;
	}
	mdm_pool_emit(w->pool, ev);
}

void mdm_teardown(struct mdm_worker *w)
{
	struct mdm_wpriv *p = w->p;
	GSM_StateMachine *sm = p->sm;
	struct full_msg *f, *tmp;

	if (!sm)
		return;
	pthread_mutex_lock(&w->lock);
	w->sm = NULL;
	pthread_mutex_unlock(&w->lock);
	if (GSM_IsConnected(sm))
		GSM_TerminateConnection(sm);
	GSM_FreeStateMachine(sm);
	p->sm = NULL;
	p->fd = -1;
	p->own = false;
	p->own_checked = false;
	p->cmms_on = false;
	p->nloc = 0;
	p->send_waiting = false;
	p->ring_active = false;
	llist_for_each_entry_safe (f, tmp, &p->full, list) {
		/* whole messages that came just before the connection dropped: still hand them over */
		llist_del(&f->list);
		mdm_emit_message(w, &f->sms, 0, f->raw);
		free(f);
	}
}

GSM_Error mdm_connect_modem(struct mdm_worker *w)
{
	struct mdm_wpriv *p = w->p;
	GSM_StateMachine *sm;
	GSM_Config *cfg;
	GSM_Error e;

	sm = GSM_AllocStateMachine();
	if (!sm)
		return ERR_MOREMEMORY;
	cfg = GSM_GetConfig(sm, 0);
	GSM_ReadConfig(NULL, cfg, 0); /* gammu's defaults (CNMI -1 etc.), then ours */
	free(cfg->Device);
	free(cfg->Connection);
	free(cfg->DebugFile);
	cfg->Device = strdup(w->cfg.device);
	cfg->Connection = strdup(w->cfg.connection);
	cfg->DebugFile = strdup("");
	snprintf(cfg->DebugLevel, sizeof(cfg->DebugLevel), "text");
	cfg->Model[0] = '\0';
	cfg->UseGlobalDebugFile = FALSE;
	cfg->LockDevice = FALSE;
	cfg->SyncTime = FALSE;
	cfg->StartInfo = FALSE;
	GSM_SetConfigNum(sm, 1);
	p->sm = sm;
	pthread_mutex_lock(&w->lock);
	w->sm = sm;
	if (w->stop || w->reset)
		GSM_AbortOperation(sm);
	pthread_mutex_unlock(&w->lock);
	if (!cfg->Device || !cfg->Connection || !cfg->DebugFile)
		return ERR_MOREMEMORY;

	mdm_call_begin(w, 60, "connect");
	e = GSM_InitConnection_Log(sm, 1, mdm_gammu_log, w);
	if (e == ERR_NONE)
		e = setup_modem(w, sm);
	mdm_call_end(w);
	return e;
}

static GSM_Error setup_modem(struct mdm_worker *w, GSM_StateMachine *sm)
{
	struct mdm_wpriv *p = w->p;
	GSM_Error e;
	char manuf[GSM_MAX_MANUFACTURER_LENGTH + 1] = "", model[GSM_MAX_MODEL_LENGTH + 1] = "";

	/* InitConnection cleared the callbacks */
	GSM_SetIncomingSMSCallback(sm, mdm_on_sms, w);
	GSM_SetSendSMSStatusCallback(sm, mdm_on_send_status, w);
	GSM_SetIncomingCallCallback(sm, mdm_on_call, w);

	e = GSM_SetIncomingSMS(sm, TRUE);
	if (mdm_is_modem_error(e))
		return e;
	e = GSM_SetIncomingCall(sm, TRUE);
	if (mdm_is_modem_error(e))
		return e;

	p->imei[0] = '\0';
	e = GSM_GetIMEI(sm, p->imei);
	if (mdm_is_modem_error(e))
		return e;
	GSM_GetManufacturer(sm, manuf);
	e = GSM_GetModel(sm, model);
	if (mdm_is_modem_error(e))
		return e;
	snprintf(p->model, sizeof(p->model), "%s%s%s", manuf, manuf[0] && model[0] ? " " : "", model);

	memset(&p->smsc, 0, sizeof(p->smsc));
	p->smsc.Location = 1;
	e = GSM_GetSMSC(sm, &p->smsc);
	p->have_smsc = e == ERR_NONE && UnicodeLength(p->smsc.Number) > 0;
	if (mdm_is_modem_error(e))
		return e;
	return ERR_NONE;
}
