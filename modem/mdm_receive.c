/* Receiving on the worker thread: the notes libgammu's callbacks and the own AT exchange make
 * (+CMTI/+CDSI locations, whole +CMT/+CDS messages), reading what they point at, the safety-net
 * listing of storage, handing every message and status report to the main thread, and deleting a
 * stored message once the main thread has committed it. Until then a location is remembered as
 * handed over, so that it is not handed over twice. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gammu.h>

#include "modem/mdm.h"
#include "modem/mdm_wpriv.h"
#include "modem/sms_codec.h"

#define HANDED_TTL_MS (60LL * 60 * 1000)

static int64_t dt_to_unix(const GSM_DateTime *dt)
{
	struct tm tm = {0};

	if (dt->Year <= 0 || dt->Month <= 0 || dt->Day <= 0)
		return 0;
	tm.tm_year = dt->Year - 1900;
	tm.tm_mon = dt->Month - 1;
	tm.tm_mday = dt->Day;
	tm.tm_hour = dt->Hour;
	tm.tm_min = dt->Minute;
	tm.tm_sec = dt->Second;
	/* the SMSC stamp is local time; Timezone is that zone's offset from GMT in seconds */
	return (int64_t)timegm(&tm) - dt->Timezone;
}

/* When the PDU is not to be had: what gammu decoded, compactly. */
static char *compact_dump(const GSM_SMSMessage *m)
{
	char udh[2 * GSM_MAX_UDH_LENGTH + 1];
	char *s = NULL;

	mdm_hex_encode(m->UDH.Text,
		       (size_t)(m->UDH.Length > 0 && m->UDH.Length <= GSM_MAX_UDH_LENGTH ? m->UDH.Length : 0), udh);
	if (asprintf(&s, "gammu pdu=%d coding=%d class=%d len=%d udh=%s", (int)m->PDU, (int)m->Coding, (int)m->Class,
		     m->Length, udh) < 0)
		return NULL;
	return s;
}

/* A +CMTI/+CDSI: where a message was stored (gammu's folder numbering). */
static void note_stored(struct mdm_wpriv *p, int folder, int location)
{
	for (unsigned i = 0; i < p->nloc; i++)
		if (p->loc_folder[i] == folder && p->loc_location[i] == location)
			return;
	if (p->nloc < LOC_MAX) {
		p->loc_folder[p->nloc] = folder;
		p->loc_location[p->nloc] = location;
		p->nloc++;
	}
}

void mdm_on_sms(GSM_StateMachine *sm, GSM_SMSMessage *sms, void *data)
{
	struct mdm_worker *w = data;
	struct mdm_wpriv *p = w->p;
	struct full_msg *f;

	(void)sm;
	bool notice = sms->PDU == 0 ||
		      (sms->PDU == SMS_Status_Report && sms->Location > 0 && !sms->Number[0] && !sms->Number[1]);

	if (!notice) {
		/* +CMT/+CDS: the whole message, not stored */
		f = calloc(1, sizeof(*f));
		if (!f)
			return;
		f->sms = *sms;
		f->sms.Location = 0;
		f->raw = mdm_find_raw(w, sms);
		llist_add_tail(&f->list, &p->full);
		return;
	}
	/* +CMTI/+CDSI: where it was stored */
	note_stored(p, sms->Folder, sms->Location);
}

/* An unsolicited line met by linli's own AT exchange: the same notes as the gammu callbacks. */
void mdm_on_urc(const struct mdm_urc *u, void *data)
{
	struct mdm_worker *w = data;
	struct mdm_wpriv *p = w->p;
	unsigned char bin[512];
	struct full_msg *f;
	size_t n, pos = 0;

	if (p->dbg)
		fprintf(p->dbg, "[%s] own AT: unsolicited %s%s%s\n", w->cfg.name, u->line, u->pdu ? " / " : "",
			u->pdu ? u->pdu : "");
	switch (u->kind) {
	case MDM_URC_NEW_SMS:
	case MDM_URC_NEW_REPORT:
		/* as libgammu numbers them: SIM and status-report storage folder 1, phone memory 3 */
		if (u->index > 0)
			note_stored(p, (!strcmp(u->mem, "ME") || !strcmp(u->mem, "MT")) ? 3 : 1, u->index);
		break;
	case MDM_URC_SMS_PDU:
	case MDM_URC_REPORT_PDU:
		n = strlen(u->pdu) / 2;
		if (n > sizeof(bin))
			break;
		for (size_t j = 0; j < n; j++)
			bin[j] = (unsigned char)(mdm_hexval(u->pdu[2 * j]) << 4 | mdm_hexval(u->pdu[2 * j + 1]));
		f = calloc(1, sizeof(*f));
		if (!f)
			break;
		if (GSM_DecodePDUFrame(GSM_GetGlobalDebug(), &f->sms, bin, n, &pos, TRUE) != ERR_NONE) {
			free(f);
			break;
		}
		f->sms.Location = 0;
		f->raw = strdup(u->pdu);
		llist_add_tail(&f->list, &p->full);
		break;
	case MDM_URC_RING:
		mdm_note_ring(w, "");
		break;
	case MDM_URC_CLIP:
		mdm_note_ring(w, u->number);
		break;
	case MDM_URC_OTHER:
		break; /* vendor noise (^BOOT, ^RSSI), +CREG...: not ours to act on */
	}
}

static bool handed_has(struct mdm_wpriv *p, int location)
{
	for (unsigned i = 0; i < p->nhanded; i++)
		if (p->handed[i].location == location)
			return true;
	return false;
}

static void handed_add(struct mdm_wpriv *p, int location)
{
	if (location <= 0 || handed_has(p, location))
		return;
	if (p->nhanded == HANDED_MAX) {
		/* forget the oldest */
		memmove(&p->handed[0], &p->handed[1], (HANDED_MAX - 1) * sizeof(p->handed[0]));
		p->nhanded--;
	}
	p->handed[p->nhanded].location = location;
	p->handed[p->nhanded].since = mdm_now_ms();
	p->nhanded++;
}

static void handed_del(struct mdm_wpriv *p, int location)
{
	for (unsigned i = 0; i < p->nhanded; i++) {
		if (p->handed[i].location == location) {
			p->handed[i] = p->handed[--p->nhanded];
			return;
		}
	}
}

void mdm_handed_expire(struct mdm_wpriv *p)
{
	int64_t t = mdm_now_ms();
	for (unsigned i = 0; i < p->nhanded;) {
		if (t - p->handed[i].since > HANDED_TTL_MS)
			p->handed[i] = p->handed[--p->nhanded];
		else
			i++;
	}
}

static void decode_text(const GSM_SMSMessage *m, struct mdm_event *ev)
{
	uint16_t u[GSM_MAX_SMS_LENGTH + 1];
	size_t n, max;
	char *t;

	switch (m->Coding) {
	case SMS_Coding_Default_No_Compression:
	case SMS_Coding_Unicode_No_Compression:
		n = mdm_gu_units(m->Text, sizeof(m->Text), u, sizeof(u) / sizeof(u[0]));
		max = 4 * n + 1;
		t = malloc(max);
		if (!t)
			break;
		if (sms_utf16_to_utf8(u, n, t, max) < 0)
			t[0] = '\0';
		for (size_t i = 0; i < n; i++) {
			bool hi = u[i] >= 0xd800 && u[i] <= 0xdbff, lo = u[i] >= 0xdc00 && u[i] <= 0xdfff;
			if (lo || (hi && (i + 1 == n || u[i + 1] < 0xdc00 || u[i + 1] > 0xdfff)))
				ev->u.sms.bad_text = true;
			if (hi && !ev->u.sms.bad_text)
				i++;
		}
		ev->u.sms.text = t;
		return;
	case SMS_Coding_8bit:
		n = m->Length > 0 && (size_t)m->Length <= sizeof(m->Text) ? (size_t)m->Length : 0;
		t = malloc(2 * n + 1);
		if (t)
			mdm_hex_encode(m->Text, n, t);
		ev->u.sms.text = t;
		ev->u.sms.bad_text = true;
		return;
	default:
		break;
	}
	/* compressed or unknown coding: nothing gammu could decode */
	ev->u.sms.text = strdup("");
	ev->u.sms.bad_text = true;
}

static void emit_report(struct mdm_worker *w, const GSM_SMSMessage *m, int location)
{
	struct mdm_event *ev = mdm_ev_new(w, MDM_EV_REPORT);

	ev->u.report.mr = m->MessageReference;
	ev->u.report.status = m->DeliveryStatus;
	mdm_gu_to_utf8(m->Number, sizeof(m->Number), ev->u.report.recipient, sizeof(ev->u.report.recipient));
	ev->u.report.ts = dt_to_unix(&m->SMSCTime);
	if (!ev->u.report.ts)
		ev->u.report.ts = dt_to_unix(&m->DateTime);
	ev->u.report.folder = 0;
	ev->u.report.location = location;
	mdm_pool_emit(w->pool, ev);
}

/* Hand one message over. location: gammu's flat location (folder 0), 0 when not stored.
 * raw: malloc'd hex PDU or NULL; taken over. */
void mdm_emit_message(struct mdm_worker *w, const GSM_SMSMessage *m, int location, char *raw)
{
	struct mdm_event *ev;
	struct sms_concat c;

	if (m->PDU != SMS_Deliver && m->PDU != SMS_Status_Report) {
		/* gammu handed back a message it did not decode (no PDU type: a garbled answer to
		 * AT+CMGR/+CMGL). Not taken for an empty SMS from nobody, which would delete the real
		 * one: it stays on the SIM and the poll reads it again. */
		if (w->p->dbg)
			fprintf(w->p->dbg, "[%s] undecoded message at %d (PDU type %d) left for the poll\n",
				w->cfg.name, location, (int)m->PDU);
		free(raw);
		return;
	}
	if (m->PDU == SMS_Status_Report) {
		free(raw);
		emit_report(w, m, location);
		handed_add(w->p, location);
		return;
	}
	ev = mdm_ev_new(w, MDM_EV_SMS_IN);
	ev->u.sms.folder = 0;
	ev->u.sms.location = location;
	mdm_gu_to_utf8(m->Number, sizeof(m->Number), ev->u.sms.sender, sizeof(ev->u.sms.sender));
	decode_text(m, ev);
	ev->u.sms.smsc_ts = dt_to_unix(&m->DateTime);
	ev->u.sms.raw = raw ? raw : compact_dump(m);
	if (m->UDH.Type != UDH_NoUDH && m->UDH.AllParts > 1 && m->UDH.PartNumber >= 1) {
		ev->u.sms.is_part = true;
		ev->u.sms.ref = (unsigned)(m->UDH.ID16bit >= 0 ? m->UDH.ID16bit : m->UDH.ID8bit);
		ev->u.sms.total = (unsigned)m->UDH.AllParts;
		ev->u.sms.seq = (unsigned)m->UDH.PartNumber;
	} else if (m->UDH.Type != UDH_NoUDH && m->UDH.Length > 0 &&
		   sms_udh_parse_concat(m->UDH.Text, (size_t)m->UDH.Length, &c) == 0 && c.total > 1) {
		/* a UDH gammu did not recognise as a whole, e.g. concat next to other IEs */
		ev->u.sms.is_part = true;
		ev->u.sms.ref = c.ref;
		ev->u.sms.total = c.total;
		ev->u.sms.seq = c.seq;
	}
	/* before the event, so the main thread's mdm_inbox_committed() always comes after */
	pthread_mutex_lock(&w->lock);
	w->hold_until = mdm_now_ms() + MDM_INBOX_HOLD_MS;
	pthread_mutex_unlock(&w->lock);
	mdm_pool_emit(w->pool, ev);
	handed_add(w->p, location);
}

void mdm_flush_full(struct mdm_worker *w)
{
	struct mdm_wpriv *p = w->p;
	struct full_msg *f, *tmp;

	llist_for_each_entry_safe (f, tmp, &p->full, list) {
		llist_del(&f->list);
		mdm_emit_message(w, &f->sms, 0, f->raw);
		free(f);
	}
}

/* Read the messages +CMTI told us about. */
void mdm_read_notified(struct mdm_worker *w)
{
	struct mdm_wpriv *p = w->p;

	while (p->nloc && !p->lost && !mdm_flag_leave(w)) {
		int folder = p->loc_folder[0], loc = p->loc_location[0];
		int flat = (folder <= 2 ? 0 : GSM_PHONE_MAXSMSINFOLDER) + loc;
		GSM_Error e;

		memmove(&p->loc_folder[0], &p->loc_folder[1], (p->nloc - 1) * sizeof(int));
		memmove(&p->loc_location[0], &p->loc_location[1], (p->nloc - 1) * sizeof(int));
		p->nloc--;
		if (handed_has(p, flat))
			continue;
		memset(&p->multi, 0, sizeof(p->multi));
		p->multi.SMS[0].Folder = folder;
		p->multi.SMS[0].Location = loc;
		mdm_call_begin(w, 15, "read");
		e = GSM_GetSMS(p->sm, &p->multi);
		mdm_call_end(w);
		if (e == ERR_EMPTY || e == ERR_INVALIDLOCATION || e == ERR_CORRUPTED)
			continue;
		if (e != ERR_NONE) {
			if (mdm_check_lost(w, e, "reading a notified SMS"))
				return;
			continue; /* the poll will find it */
		}
		for (int i = 0; i < p->multi.Number; i++) {
			GSM_SMSMessage *m = &p->multi.SMS[i];
			if (m->PDU == SMS_Submit || handed_has(p, m->Location))
				continue;
			mdm_emit_message(w, m, m->Location, mdm_find_raw(w, m));
		}
	}
}

/* Safety net: list all folders and hand over what was not handed over yet. */
void mdm_poll_storage(struct mdm_worker *w)
{
	struct mdm_wpriv *p = w->p;
	bool start = true;
	GSM_Error e;

	memset(&p->multi, 0, sizeof(p->multi));
	for (int guard = 0; guard < 10000 && !p->lost && !mdm_flag_leave(w); guard++) {
		p->multi.SMS[0].Folder = 0;
		mdm_call_begin(w, 25, "list");
		e = GSM_GetNextSMS(p->sm, &p->multi, start);
		mdm_call_end(w);
		start = false;
		if (e == ERR_EMPTY || e == ERR_NOTSUPPORTED || e == ERR_NOTIMPLEMENTED)
			return;
		if (e != ERR_NONE) {
			mdm_check_lost(w, e, "listing stored SMS");
			return;
		}
		for (int i = 0; i < p->multi.Number; i++) {
			GSM_SMSMessage *m = &p->multi.SMS[i];
			if (m->PDU == SMS_Submit || m->Location <= 0 || handed_has(p, m->Location))
				continue;
			mdm_emit_message(w, m, m->Location, mdm_find_raw(w, m));
		}
	}
}

void mdm_answer_delete(struct mdm_worker *w, int folder, int location, int rc)
{
	struct mdm_event *ev = mdm_ev_new(w, MDM_EV_DELETED);

	ev->u.del.folder = folder;
	ev->u.del.location = location;
	ev->u.del.rc = rc;
	mdm_pool_emit(w->pool, ev);
}

/* Returns false when the command must be kept for after a reconnect. */
bool mdm_do_delete(struct mdm_worker *w, struct mdm_cmd *c)
{
	struct mdm_wpriv *p = w->p;
	GSM_Error e;

	if (c->location == 0) {
		mdm_answer_delete(w, c->folder, c->location, 0);
		return true;
	}
	memset(&p->out, 0, sizeof(p->out));
	p->out.Folder = 0; /* flat location, as handed over */
	p->out.Location = c->location;
	mdm_call_begin(w, 15, "delete");
	e = GSM_DeleteSMS(p->sm, &p->out);
	mdm_call_end(w);
	if (e == ERR_NONE || e == ERR_EMPTY) {
		handed_del(p, c->location);
		mdm_answer_delete(w, c->folder, c->location, 0);
		return true;
	}
	if (mdm_check_lost(w, e, "deleting SMS"))
		return false;
	/* The delete may have been carried out all the same (a garbled answer), and a new message
	 * stored there since: the location is read again by the next poll (a copy already stored is
	 * then recognised and deleted again) rather than skipped as handed over. */
	handed_del(p, c->location);
	mdm_answer_delete(w, c->folder, c->location, e == ERR_INVALIDLOCATION ? -ENOENT : -EIO);
	return true;
}
