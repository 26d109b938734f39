/* One send on the worker thread: the text split into parts (sms_split), each part encoded and
 * sent, one MDM_EV_SEND_RESULT for the whole message.
 *
 * Where the modem is a tty, the worker finds libgammu's descriptor for it after each connect
 * (mdm_choose_path) and runs linli's own AT+CMGS exchange on it (mdm_send.c): the PDU is encoded
 * by libgammu (PHONE_EncodeSMSFrame, as GSM_SendSMS does), only the transport differs, without
 * libgammu's 0.7 s of fixed sleeps per part. Unsolicited lines met during the exchange become the
 * same notes the gammu callbacks make (mdm_on_urc). Otherwise (proxyat, no descriptor, text mode,
 * `send-path gammu`) GSM_SendSMS sends, as before, and its +CMS/+CME code comes from the debug
 * output (mdm_scrape.c). */

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gammu.h>

#include "modem/mdm.h"
#include "modem/mdm_errors.h"
#include "modem/mdm_send.h"
#include "modem/mdm_wpriv.h"
#include "modem/sms_codec.h"

static void utf8_to_gu(const char *s, size_t len, unsigned char *g, size_t gmax, int *units)
{
	uint16_t u[GSM_MAX_SMS_LENGTH + 1];
	int n = sms_utf8_to_utf16(s, len, u, sizeof(u) / sizeof(u[0]));
	size_t i;

	if (n < 0)
		n = 0;
	for (i = 0; i < (size_t)n && 2 * i + 3 < gmax; i++) {
		g[2 * i] = (unsigned char)(u[i] >> 8);
		g[2 * i + 1] = (unsigned char)(u[i] & 0xff);
	}
	g[2 * i] = 0;
	g[2 * i + 1] = 0;
	*units = (int)i;
}

static bool at_leave(void *data)
{
	return mdm_flag_leave(data);
}

void mdm_on_send_status(GSM_StateMachine *sm, int status, int mr, void *data)
{
	struct mdm_worker *w = data;
	struct mdm_wpriv *p = w->p;

	(void)sm;
	if (!p->send_waiting)
		return;
	p->send_done = true;
	p->send_status = status;
	p->send_mr = mr;
}

void mdm_answer_send(struct mdm_worker *w, int64_t job, enum mdm_err_class cls, int code, const char *reason,
		     const char *refs, unsigned parts_sent)
{
	mdm_answer_send_stored(w, job, cls, code, reason, refs, parts_sent, NULL, false);
}

void mdm_answer_send_stored(struct mdm_worker *w, int64_t job, enum mdm_err_class cls, int code, const char *reason,
			    const char *refs, unsigned parts_sent, const struct mdm_copies *stored, bool keep)
{
	struct mdm_event *ev = mdm_ev_new(w, MDM_EV_SEND_RESULT);

	if (stored)
		ev->u.send.stored = *stored;
	ev->u.send.keep = keep && stored && stored->n;
	ev->u.send.job = job;
	ev->u.send.cls = cls;
	ev->u.send.code = code;
	snprintf(ev->u.send.reason, sizeof(ev->u.send.reason), "%s", reason ? reason : "");
	snprintf(ev->u.send.refs, sizeof(ev->u.send.refs), "%s", refs ? refs : "");
	ev->u.send.parts_sent = parts_sent;
	mdm_pool_emit(w->pool, ev);
}

/* Service the device while waiting; false when stop/reset/loss ended the wait. */
static bool idle_until(struct mdm_worker *w, int64_t deadline)
{
	struct mdm_wpriv *p = w->p;

	while (mdm_now_ms() < deadline) {
		if (mdm_flag_leave(w) || p->lost)
			return false;
		mdm_service_device(w);
	}
	return !p->lost;
}

static void classify_code(struct mdm_worker *w, int status, enum mdm_err_class *cls, char *reason, size_t len)
{
	struct mdm_wpriv *p = w->p;
	char name[96];
	bool cms = true;

	if (p->last_err == status)
		cms = p->last_err_cms;
	*cls = cms ? mdm_classify_cms(status, name, sizeof(name)) : mdm_classify_cme(status, name, sizeof(name));
	snprintf(reason, len, "+%s ERROR: %d (%s)", cms ? "CMS" : "CME", status, name);
}

/* How one part ended. */
struct part_out {
	enum mdm_err_class cls;
	int code;
	int mr;
	char reason[128];
	bool unknown; /* AT+CMSS: no answer (timeout, device gone, reset): it may have gone out */
};

/* One part through libgammu: GSM_SendSMS, then the +CMGS reference from its callback. */
static void send_part_gammu(struct mdm_worker *w, GSM_SMSMessage *m, int i, struct part_out *o)
{
	struct mdm_wpriv *p = w->p;
	int64_t deadline;
	GSM_Error e;

	p->last_err = -1;
	p->send_done = false;
	p->send_status = 0;
	p->send_mr = -1;
	p->send_waiting = true;
	mdm_call_begin(w, 15, "send");
	e = GSM_SendSMS(p->sm, m);
	mdm_call_end(w);
	deadline = mdm_now_ms() + (int64_t)w->cfg.send_timeout_s * 1000;
	while (e == ERR_NONE && !p->send_done && mdm_now_ms() < deadline && !mdm_flag_leave(w) && !p->lost)
		mdm_service_device(w);
	if (e == ERR_NONE && !p->send_done && p->lost)
		e = ERR_DEVICEREADERROR;
	p->send_waiting = false;

	if (p->send_done && p->send_status == 0 && p->send_mr >= 0) {
		o->mr = p->send_mr;
		return;
	}
	if (p->send_done && p->send_status == 0) {
		o->cls = MDM_ERR_MODEM;
		snprintf(o->reason, sizeof(o->reason), "part %d accepted without a +CMGS reference", i + 1);
	} else if (p->send_done && p->send_status > 0) {
		o->code = p->send_status;
		classify_code(w, o->code, &o->cls, o->reason, sizeof(o->reason));
	} else if (p->send_done) {
		o->cls = MDM_ERR_TRANSIENT;
		snprintf(o->reason, sizeof(o->reason), "ERROR without a code on part %d", i + 1);
	} else if (e != ERR_NONE && p->last_err >= 0) {
		/* the error came to AT+CMGS= itself, before the prompt */
		o->code = p->last_err;
		classify_code(w, o->code, &o->cls, o->reason, sizeof(o->reason));
	} else if (e != ERR_NONE) {
		o->cls = mdm_is_modem_error(e) ? MDM_ERR_MODEM : MDM_ERR_TRANSIENT;
		snprintf(o->reason, sizeof(o->reason), "part %d: %s", i + 1, GSM_ErrorName(e));
		mdm_check_lost(w, e, "sending");
	} else if (mdm_flag_leave(w)) {
		o->cls = MDM_ERR_MODEM;
		snprintf(o->reason, sizeof(o->reason), "reset or stop while waiting for +CMGS of part %d", i + 1);
	} else {
		o->cls = MDM_ERR_MODEM;
		snprintf(o->reason, sizeof(o->reason), "no +CMGS for part %d within %u s", i + 1,
			 w->cfg.send_timeout_s);
		mdm_check_lost(w, ERR_TIMEOUT, "waiting for +CMGS");
	}
}

/* The PDU GSM_SendSMS would write for m (SMSC field, then the SMS-SUBMIT TPDU of 23.040 9.2.2.2),
 * encoded by libgammu itself; hex gets it, *tpdu_len the length AT+CMGS= announces (without the
 * SMSC field). */
static GSM_Error encode_submit(struct mdm_wpriv *p, GSM_SMSMessage *m, char *hex, size_t hexmax, unsigned *tpdu_len)
{
	const GSM_SMSMessageLayout L = PHONE_SMSSubmit;
	unsigned char frame[1000], pdu[400];
	size_t n = 0, k;
	int length = 0, ud;
	GSM_Error e;

	memset(frame, 0, sizeof(frame));
	/* asks the phone for the SMSC when m->SMSC.Location is set, as GSM_SendSMS does */
	e = PHONE_EncodeSMSFrame(p->sm, m, frame, L, &length, TRUE);
	if (e != ERR_NONE)
		return e;
	if (m->SMSC.Number[0] == 0 && m->SMSC.Number[1] == 0)
		return ERR_EMPTYSMSC;
	ud = length - L.Text;
	k = (size_t)frame[L.SMSCNumber] + 1; /* SMSC field: its length octet and the address */
	if (ud < 0 || k + 4 + (frame[L.Number] + 1) / 2 + 2 + 4 + (size_t)ud > sizeof(pdu))
		return ERR_MOREMEMORY;
	memcpy(pdu, frame + L.SMSCNumber, k);
	n = k;
	pdu[n++] = frame[L.firstbyte];
	pdu[n++] = frame[L.TPMR];
	k = (size_t)(frame[L.Number] + 1) / 2 + 2; /* TP-DA: digits count, type, semi-octets */
	memcpy(pdu + n, frame + L.Number, k);
	n += k;
	pdu[n++] = frame[L.TPPID];
	pdu[n++] = frame[L.TPDCS];
	pdu[n++] = frame[L.TPVP];
	pdu[n++] = frame[L.TPUDL];
	memcpy(pdu + n, frame + L.Text, (size_t)ud);
	n += (size_t)ud;
	if (2 * n + 1 > hexmax)
		return ERR_MOREMEMORY;
	mdm_hex_encode(pdu, n, hex);
	*tpdu_len = (unsigned)(n - ((size_t)frame[L.SMSCNumber] + 1));
	return ERR_NONE;
}

/* Switch this connection to GSM_SendSMS, and say so in the state reason (show modems, the log). */
static void use_gammu(struct mdm_worker *w, const char *why)
{
	struct mdm_wpriv *p = w->p;
	char reason[160];

	p->own = false;
	snprintf(p->path, sizeof(p->path), "GSM_SendSMS (%s)", why);
	snprintf(reason, sizeof(reason), "connected, sending with %s", p->path);
	mdm_set_state(w, MDM_ST_READY, reason);
}

/* Unsolicited input that came before the exchange goes to libgammu, which is waiting for it; only
 * as long as poll() says there is some (GSM_ReadDevice would otherwise wait 50 ms). */
static void drain_into_gammu(struct mdm_worker *w)
{
	struct mdm_wpriv *p = w->p;
	struct pollfd pfd = {.fd = p->fd, .events = POLLIN};

	for (int k = 0; k < 64 && !p->lost; k++) {
		pfd.revents = 0;
		if (poll(&pfd, 1, 0) <= 0 || !(pfd.revents & POLLIN))
			return;
		mdm_service_device(w);
	}
}

/* Before the first own send of a connection: PDU mode (AT+CMGF?), and AT+CMMS=2. false: this part
 * goes through GSM_SendSMS. */
static bool own_ready(struct mdm_worker *w)
{
	struct mdm_wpriv *p = w->p;
	struct mdm_at_result r;
	int rc;

	if (!p->own_checked) {
		rc = mdm_at_command(&p->at, "AT+CMGF?", 5000, &r);
		if (rc == -EIO) {
			mdm_go_lost(w, "own AT exchange (AT+CMGF?)", ERR_DEVICEREADERROR);
			return false;
		}
		if (rc < 0 || r.final != MDM_AT_OK) {
			use_gammu(w, "no answer to AT+CMGF?");
			return false;
		}
		if (!strstr(r.info, ": 0") && !strstr(r.info, ":0"))
			return false; /* text mode for now: libgammu sets the mode on its next send, ask again */
		p->own_checked = true;
	}
	if (!w->cfg.cmms_off && !p->cmms_refused && !p->cmms_on) {
		rc = mdm_at_command(&p->at, "AT+CMMS=2", 5000, &r);
		if (rc == -EIO) {
			mdm_go_lost(w, "own AT exchange (AT+CMMS=2)", ERR_DEVICEREADERROR);
			return false;
		}
		if (rc == 0 && r.final == MDM_AT_OK)
			p->cmms_on = true;
		else
			p->cmms_refused = true; /* an error (or no answer): this modem goes without */
		if (p->dbg)
			fprintf(p->dbg, "[%s] own AT: AT+CMMS=2 %s\n", w->cfg.name, p->cmms_on ? "on" : "refused, off");
	}
	return true;
}

/* How an own exchange (AT+CMGS, AT+CMSS: what) ended, into o. */
static void map_result(struct mdm_worker *w, int rc, const struct mdm_at_result *r, int i, const char *what,
		       struct part_out *o)
{
	if (rc == 0 && r->final == MDM_AT_OK && r->mr >= 0) {
		o->mr = r->mr;
		return;
	}
	if (rc == 0 && r->final == MDM_AT_OK) {
		o->cls = MDM_ERR_MODEM;
		snprintf(o->reason, sizeof(o->reason), "part %d accepted without a %s reference", i + 1, what);
	} else if (rc == 0 && (r->final == MDM_AT_CMS || r->final == MDM_AT_CME)) {
		char name[96];

		o->code = r->code;
		o->cls = r->final == MDM_AT_CMS ? mdm_classify_cms(r->code, name, sizeof(name))
						: mdm_classify_cme(r->code, name, sizeof(name));
		snprintf(o->reason, sizeof(o->reason), "+%s ERROR: %d (%s)", r->final == MDM_AT_CMS ? "CMS" : "CME",
			 r->code, name);
	} else if (rc == 0) {
		o->cls = MDM_ERR_TRANSIENT;
		snprintf(o->reason, sizeof(o->reason), "ERROR without a code on part %d", i + 1);
	} else if (rc == -ETIMEDOUT) {
		o->cls = MDM_ERR_MODEM;
		if (r->pdu_written)
			snprintf(o->reason, sizeof(o->reason), "no %s for part %d within %u s", what, i + 1,
				 w->cfg.send_timeout_s);
		else
			snprintf(o->reason, sizeof(o->reason), "no \"> \" prompt for part %d", i + 1);
		if (!r->line_ok)
			mdm_go_lost(w,
				    r->pdu_written ? "waiting for the answer, then AT unanswered"
						   : "no prompt, then AT unanswered",
				    ERR_TIMEOUT);
	} else if (rc == -ECANCELED) {
		o->cls = MDM_ERR_MODEM;
		snprintf(o->reason, sizeof(o->reason), "reset or stop while sending part %d", i + 1);
	} else {
		o->cls = MDM_ERR_MODEM;
		snprintf(o->reason, sizeof(o->reason), "part %d: device %s", i + 1, strerror(-rc));
		if (rc == -EIO)
			mdm_go_lost(w, "own AT exchange", ERR_DEVICEREADERROR);
	}
}

/* The first two memories of +CPMS: "SM",3,30,"ME",0,100,...: read (mem1) and write/send (mem2).
 * 0, or -1 when the answer is not that. */
static int cpms_mems(struct mdm_worker *w, char *m1, char *m2, size_t n)
{
	struct mdm_at_result r;
	char *dst[2] = {m1, m2};
	const char *q;
	int rc;

	rc = mdm_at_command(&w->p->at, "AT+CPMS?", 5000, &r);
	if (rc == -EIO)
		mdm_go_lost(w, "own AT exchange (AT+CPMS?)", ERR_DEVICEREADERROR);
	if (rc < 0 || r.final != MDM_AT_OK)
		return -1;
	q = r.info;
	for (int k = 0; k < 2; k++) {
		const char *e;

		q = strchr(q, '"');
		if (!q)
			return -1;
		e = strchr(++q, '"');
		if (!e || (size_t)(e - q) >= n)
			return -1;
		memcpy(dst[k], q, (size_t)(e - q));
		dst[k][e - q] = '\0';
		q = e + 1;
	}
	return 0;
}

/* AT+CMSS=<index> (27.005 3.5.2): the stored message goes out; into o as an AT+CMGS would. */
static void cmss(struct mdm_worker *w, int index, int i, struct part_out *o)
{
	struct mdm_wpriv *p = w->p;
	struct mdm_at_result r;
	char cmd[32];
	int rc;

	snprintf(cmd, sizeof(cmd), "AT+CMSS=%d", index);
	rc = mdm_at_command(&p->at, cmd, w->cfg.send_timeout_s * 1000, &r);
	r.pdu_written = true; /* the command was written: it may have gone out */
	if (rc == 0 && r.final == MDM_AT_OK)
		r.mr = mdm_at_info_int(r.info, "+CMSS:");
	if (rc == -ETIMEDOUT)
		r.line_ok = mdm_at_recover(&p->at, 2000) == 0;
	if (p->dbg)
		fprintf(p->dbg, "[%s] own AT: %s rc %d final %d code %d mr %d\n", w->cfg.name, cmd, rc, r.final, r.code,
			r.mr);
	map_result(w, rc, &r, i, "+CMSS", o);
	o->unknown = rc < 0;
}

/* AT+CMGD=<index>: the stored copy goes (after its outcome was committed, or when it was never sent). */
static void cmgd(struct mdm_worker *w, int index)
{
	struct mdm_wpriv *p = w->p;
	struct mdm_at_result r;
	char cmd[32];
	int rc;

	snprintf(cmd, sizeof(cmd), "AT+CMGD=%d", index);
	rc = mdm_at_command(&p->at, cmd, 5000, &r);
	if (rc == -EIO)
		mdm_go_lost(w, "own AT exchange (AT+CMGD)", ERR_DEVICEREADERROR);
	else if ((rc < 0 || r.final != MDM_AT_OK) && p->dbg)
		fprintf(p->dbg, "[%s] own AT: %s failed (rc %d final %d)\n", w->cfg.name, cmd, rc, r.final);
}

/* Wait until the main thread committed (or could not commit) the SIM indexes of job. */
static bool wait_stored(struct mdm_worker *w, int64_t job)
{
	int64_t deadline = mdm_now_ms() + 10000;
	bool done = false, ok = false;

	while (!done && mdm_now_ms() < deadline && !mdm_flag_leave(w) && !w->p->lost) {
		pthread_mutex_lock(&w->lock);
		if (w->stored_job == job) {
			done = true;
			ok = w->stored_ok;
		}
		pthread_mutex_unlock(&w->lock);
		if (!done)
			mdm_service_device(w);
	}
	return done && ok;
}

/* A modem without store-and-send: AT+CMGS from now on, said once. */
static void store_refused(struct mdm_worker *w, const char *what)
{
	struct mdm_wpriv *p = w->p;
	char reason[160];

	p->store_refused = true;
	snprintf(p->path, sizeof(p->path), "own AT+CMGS on fd %d (store-and-send refused: %s)", p->fd, what);
	snprintf(reason, sizeof(reason), "connected, sending with %s", p->path);
	mdm_set_state(w, MDM_ST_READY, reason);
}

/* The copies go (never sent, or the modem would not send them): nothing refers to them. */
static void cmgd_all(struct mdm_worker *w, struct mdm_copies *cp)
{
	for (unsigned k = 0; k < cp->n && !w->p->lost; k++)
		cmgd(w, cp->index[k]);
	cp->n = 0;
}

/* Read in "SM", where store-and-send writes its copies and sends them from, for the commands
 * until sm_end(); m1 keeps the read memory libgammu had chosen, m2 is the write/send memory.
 * 0, or -1 when AT+CPMS? is not answered as it should be. */
static int sm_begin(struct mdm_worker *w, char *m1, char *m2, size_t n)
{
	struct mdm_at_result r;

	if (cpms_mems(w, m1, m2, n) < 0)
		return -1;
	if (strcmp(m1, "SM"))
		mdm_at_command(&w->p->at, "AT+CPMS=\"SM\"", 5000, &r);
	return 0;
}

/* Give libgammu back the read memory it had chosen. */
static void sm_end(struct mdm_worker *w, const char *m1)
{
	struct mdm_at_result r;
	char back[32];

	if (!strcmp(m1, "SM") || w->p->lost)
		return;
	snprintf(back, sizeof(back), "AT+CPMS=\"%s\"", m1);
	mdm_at_command(&w->p->at, back, 5000, &r);
}

struct sim_list {
	int index[256];
	unsigned n;
};

static void cmgl_line(const char *line, void *data)
{
	struct sim_list *l = data;
	int v = mdm_at_info_int(line, "+CMGL:");

	if (v > 0 && l->n < sizeof(l->index) / sizeof(l->index[0]))
		l->index[l->n++] = v;
}

/* Once a connection, before its first store-and-send: the outgoing messages stored on the SIM
 * (AT+CMGL=2 and =3 in PDU mode, 27.005 <stat> "STO UNSENT" and "STO SENT"; received messages,
 * <stat> 0 and 1, are never asked for) go to the main thread (MDM_EV_SIM_OUT), which deletes
 * those no message refers to: copies a crash left between AT+CMGW and the commit of their index.
 * A list cut short by an error only deletes less. */
static void list_copies(struct mdm_worker *w)
{
	struct mdm_wpriv *p = w->p;
	struct sim_list l = {.n = 0};
	struct mdm_at_result r;
	struct mdm_event *ev;
	char m1[8], m2[8];

	p->copies_listed = true;
	if (sm_begin(w, m1, m2, sizeof(m1)) < 0)
		return;
	for (int stat = 2; stat <= 3 && !p->lost; stat++) {
		char cmd[32];
		int rc;

		snprintf(cmd, sizeof(cmd), "AT+CMGL=%d", stat);
		rc = mdm_at_list(&p->at, cmd, 10000, cmgl_line, &l, &r);
		if (rc == -EIO)
			mdm_go_lost(w, "own AT exchange (AT+CMGL)", ERR_DEVICEREADERROR);
		if (p->dbg)
			fprintf(p->dbg, "[%s] own AT: %s rc %d final %d, %u stored outgoing so far\n", w->cfg.name, cmd,
				rc, r.final, l.n);
	}
	sm_end(w, m1);
	if (!l.n)
		return;
	ev = mdm_ev_new(w, MDM_EV_SIM_OUT);
	ev->u.sim_out.index = malloc(l.n * sizeof(int));
	if (!ev->u.sim_out.index) {
		mdm_event_free(ev);
		return;
	}
	memcpy(ev->u.sim_out.index, l.index, l.n * sizeof(int));
	ev->u.sim_out.n = l.n;
	mdm_pool_emit(w->pool, ev);
}

enum store_rc {
	PART_STORED,
	PART_REFUSED, /* the modem does not store (or not in SM): store-and-send is off for it now */
	PART_FULL,    /* no room on the SIM (+CMS ERROR: 322, +CME ERROR: 20) */
	PART_FAILED,  /* o says why */
};

/* AT+CMGW of one part (27.005 3.5.3): *index is its SIM index. */
static enum store_rc store_part(struct mdm_worker *w, const char *hex, unsigned tpdu_len, int i, struct part_out *o,
				int *index)
{
	struct mdm_wpriv *p = w->p;
	struct mdm_cmgs_opts opts = {
		.prompt_delay_ms = w->cfg.prompt_delay_ms,
		.final_timeout_ms = 10000,
	};
	struct mdm_at_result r;
	char m1[8], m2[8];
	int rc;

	if (!p->store_checked) {
		/* the copy is read back (AT+CMGR) and deleted (libgammu, as a SIM location) in "SM":
		 * it must be written and sent there too */
		if (cpms_mems(w, m1, m2, sizeof(m1)) < 0 || strcmp(m2, "SM")) {
			store_refused(w, "write memory (AT+CPMS mem2) is not SM");
			return PART_REFUSED;
		}
		p->store_checked = true;
	}
	rc = mdm_at_cmgw(&p->at, tpdu_len, hex, &opts, &r);
	if (p->dbg)
		fprintf(p->dbg, "[%s] own AT: AT+CMGW=%u (part %d) rc %d final %d code %d index %d\n", w->cfg.name,
			tpdu_len, i + 1, rc, r.final, r.code, r.mr);
	if (rc == 0 && r.final == MDM_AT_OK && r.mr > 0) {
		*index = r.mr;
		return PART_STORED;
	}
	if (rc == 0 && (r.final == MDM_AT_ERROR || (r.final == MDM_AT_CMS && (r.code == 302 || r.code == 303)) ||
			(r.final == MDM_AT_CME && (r.code == 3 || r.code == 4)))) {
		store_refused(w, "AT+CMGW");
		return PART_REFUSED;
	}
	if (rc == 0 && r.final == MDM_AT_OK) {
		store_refused(w, "no +CMGW index");
		return PART_REFUSED;
	}
	if (rc == 0 && ((r.final == MDM_AT_CMS && r.code == 322) || (r.final == MDM_AT_CME && r.code == 20)))
		return PART_FULL;
	/* not stored (a fault): as an AT+CMGS that failed the same way */
	map_result(w, rc, &r, i, "+CMGW", o);
	if (o->cls == MDM_OK) {
		o->cls = MDM_ERR_MODEM;
		snprintf(o->reason, sizeof(o->reason), "part %d: AT+CMGW without an index", i + 1);
	}
	return PART_FAILED;
}

static void add_ref(char *refs, size_t n, int mr)
{
	size_t l = strlen(refs);

	snprintf(refs + l, n - l, "%s%d", l ? "," : "", mr);
}

/* Pacing before part i goes out: false when stop, reset or loss ended the wait (o says so). */
static bool pace(struct mdm_worker *w, int i, struct part_out *o)
{
	struct mdm_wpriv *p = w->p;

	if (w->cfg.pace_ms && !idle_until(w, p->last_send_start + w->cfg.pace_ms)) {
		o->cls = MDM_ERR_MODEM;
		snprintf(o->reason, sizeof(o->reason), "%.100s (part %d)",
			 p->lost ? p->lost_reason : "modem reset or stopping", i + 1);
		return false;
	}
	p->last_send_start = mdm_now_ms();
	return true;
}

/* Send the stored copies cp of a message from the SIM, part by part (AT+CMSS), skipping the parts
 * done[k] says went out already; into o and refs. *went: how many parts went out now. */
static void cmss_parts(struct mdm_worker *w, const struct mdm_copies *cp, const bool *done, struct part_out *o,
		       char *refs, size_t refs_len, unsigned *went)
{
	for (unsigned k = 0; k < cp->n; k++) {
		if (done && done[k])
			continue;
		memset(o, 0, sizeof(*o));
		o->mr = -1;
		if (!pace(w, (int)k, o)) {
			o->unknown = true; /* read back: the parts sent so far are not sent again */
			return;
		}
		cmss(w, cp->index[k], (int)k, o);
		if (o->cls != MDM_OK)
			return;
		add_ref(refs, refs_len, o->mr);
		(*went)++;
	}
}

/* Part i of message c (p->split: n parts, concatenation reference ref8) into p->out. */
static void build_part(struct mdm_worker *w, const struct mdm_cmd *c, int i, int n, unsigned ref8)
{
	struct mdm_wpriv *p = w->p;
	const struct sms_split_part *part = &p->split.part[i];
	GSM_SMSMessage *m = &p->out;
	int units;

	GSM_SetDefaultSMSData(m);
	m->PDU = w->cfg.reports ? SMS_Status_Report : SMS_Submit; /* gammu's way to set TP-SRR */
	m->Class = -1;
	m->Coding = p->split.coding == SMS_CODING_GSM7 ? SMS_Coding_Default_No_Compression
						       : SMS_Coding_Unicode_No_Compression;
	utf8_to_gu(c->text + part->off, part->len, m->Text, sizeof(m->Text), &units);
	m->Length = units;
	EncodeUnicode(m->Number, c->dest, strlen(c->dest));
	if (n > 1) {
		m->UDH.Type = UDH_ConcatenatedMessages;
		m->UDH.ID8bit = (int)ref8;
		m->UDH.ID16bit = -1;
		m->UDH.PartNumber = i + 1;
		m->UDH.AllParts = n;
		GSM_EncodeUDHHeader(GSM_GetGlobalDebug(), &m->UDH);
	} else {
		m->UDH.Type = UDH_NoUDH;
	}
	if (p->have_smsc) {
		m->SMSC = p->smsc;
		m->SMSC.Location = 0;
	} else {
		m->SMSC.Location = 1; /* let gammu ask the phone */
	}
}

/* p->out encoded for AT+CMGS / AT+CMGW; false with o saying why. */
static bool encode_part(struct mdm_worker *w, int i, char *hex, size_t hexmax, unsigned *tpdu_len, struct part_out *o)
{
	GSM_Error e;

	mdm_call_begin(w, 15, "encode");
	e = encode_submit(w->p, &w->p->out, hex, hexmax, tpdu_len);
	mdm_call_end(w);
	if (e == ERR_NONE)
		return true;
	o->cls = mdm_is_modem_error(e) ? MDM_ERR_MODEM : MDM_ERR_TRANSIENT;
	snprintf(o->reason, sizeof(o->reason), "part %d: %s", i + 1, GSM_ErrorName(e));
	mdm_check_lost(w, e, "encoding (SMSC)");
	return false;
}

/* Before an own exchange: what came meanwhile goes to libgammu, and the connection is checked
 * (own_ready). 1 ready, 0 not this way (GSM_SendSMS instead), -1 the modem is lost (o says so). */
static int own_begin(struct mdm_worker *w, struct part_out *o)
{
	struct mdm_wpriv *p = w->p;

	drain_into_gammu(w);
	if (!p->lost && own_ready(w))
		return 1;
	if (!p->lost)
		return 0;
	o->cls = MDM_ERR_MODEM;
	snprintf(o->reason, sizeof(o->reason), "%s", p->lost_reason);
	return -1;
}

/* Store-and-send of a message of n parts (27.005 3.5.3, 3.5.2): every part is written to the SIM
 * (AT+CMGW), their indexes committed (MDM_EV_STORED, mdm_stored_committed), then each is sent from
 * there (AT+CMSS); the copies are deleted once the outcome is committed. A crash anywhere leaves
 * either no committed copy (queued again: nothing went out) or copies read back part by part
 * (send_stored_again), so no part goes out twice. A part refused after others went out keeps the
 * message stored (read back later, the rest sent then) unless the refusal is permanent. false: not
 * sent this way, nothing went out and no copy is left (the modem refused AT+CMGW, or AT+CMSS for
 * the first part, or the SIM has no room for every part): the caller sends with AT+CMGS. */
static bool send_stored_parts(struct mdm_worker *w, struct mdm_cmd *c, int n, unsigned ref8)
{
	struct mdm_wpriv *p = w->p;
	struct mdm_copies cp = {.n = 0};
	struct part_out o = {.cls = MDM_OK, .mr = -1};
	char refs[96] = "";
	unsigned went = 0;
	struct mdm_event *ev;
	int rc;

	for (int i = 0; i < n; i++) {
		char hex[2 * 400 + 1];
		unsigned tpdu_len = 0;
		enum store_rc src;

		build_part(w, c, i, n, ref8);
		if (!encode_part(w, i, hex, sizeof(hex), &tpdu_len, &o))
			goto failed;
		rc = own_begin(w, &o);
		if (rc == 0) {
			cmgd_all(w, &cp);
			return false;
		}
		if (rc < 0)
			goto failed;
		if (!p->copies_listed)
			list_copies(w);
		src = store_part(w, hex, tpdu_len, i, &o, &cp.index[cp.n]);
		if (src == PART_STORED) {
			cp.n++;
			continue;
		}
		if (src != PART_FAILED)
			cmgd_all(w, &cp);
		if (src == PART_FULL && p->dbg)
			fprintf(p->dbg, "[%s] own AT: no room on the SIM for %d part(s): AT+CMGS\n", w->cfg.name, n);
		if (src != PART_FAILED)
			return false;
		goto failed;
	}

	ev = mdm_ev_new(w, MDM_EV_STORED);
	ev->u.send.job = c->job;
	ev->u.send.stored = cp;
	mdm_pool_emit(w->pool, ev);
	if (!wait_stored(w, c->job)) {
		/* never sent: the copies go (or are found unreferenced at the next connect), the message
		 * is the main thread's to queue again */
		o.cls = MDM_ERR_MODEM;
		snprintf(o.reason, sizeof(o.reason), "stored, but the SIM indexes were not committed: not sent");
		goto failed;
	}
	cmss_parts(w, &cp, NULL, &o, refs, sizeof(refs), &went);
	if (!went && o.cls == MDM_ERR_PERMANENT && (o.code == 302 || o.code == 303)) {
		/* stores but will not send from storage: this one goes with AT+CMGS, the copies go */
		cmgd_all(w, &cp);
		store_refused(w, "AT+CMSS");
		return false;
	}
	mdm_answer_send_stored(w, c->job, o.cls, o.code, o.cls == MDM_OK ? "" : o.reason, refs, went, &cp,
			       o.cls != MDM_OK && (o.unknown || (went && o.cls != MDM_ERR_PERMANENT)));
	return true;
failed:
	cmgd_all(w, &cp);
	mdm_answer_send(w, c->job, o.cls, o.code, o.reason, "", 0);
	return true;
}

/* One part through linli's own AT+CMGS on libgammu's descriptor. false: not sent this way (the
 * caller sends it with GSM_SendSMS). */
static bool send_part_own(struct mdm_worker *w, int i, struct part_out *o)
{
	struct mdm_wpriv *p = w->p;
	struct mdm_cmgs_opts opts = {
		.prompt_delay_ms = w->cfg.prompt_delay_ms,
		.final_timeout_ms = w->cfg.send_timeout_s * 1000,
	};
	struct mdm_at_result r;
	char hex[2 * 400 + 1];
	unsigned tpdu_len = 0;
	int rc;

	if (!encode_part(w, i, hex, sizeof(hex), &tpdu_len, o))
		return true;
	rc = own_begin(w, o);
	if (rc <= 0)
		return rc < 0;
	if (p->dbg)
		fprintf(p->dbg, "[%s] own AT: AT+CMGS=%u %s\n", w->cfg.name, tpdu_len, hex);
	rc = mdm_at_cmgs(&p->at, tpdu_len, hex, &opts, &r);
	if (p->dbg)
		fprintf(p->dbg, "[%s] own AT: rc %d final %d code %d mr %d prompt %d written %d line_ok %d\n",
			w->cfg.name, rc, r.final, r.code, r.mr, r.prompt, r.pdu_written, r.line_ok);
	map_result(w, rc, &r, i, "+CMGS", o);
	return true;
}

/* After a crash: the parts of message c->job were stored at the SIM indexes c->copies before linlid
 * stopped. AT+CMGR tells what became of each (27.005 <stat>): 2 "STO UNSENT" goes out now, 3 "STO
 * SENT" went out (its reference is not known); anything else (an empty index, a received message
 * there) means the message was not all stored: queued again, only the copies that are ours go. */
static void send_stored_again(struct mdm_worker *w, struct mdm_cmd *c)
{
	struct mdm_wpriv *p = w->p;
	const struct mdm_copies *cp = &c->copies;
	struct mdm_copies ours = {.n = 0};
	struct part_out o = {.cls = MDM_OK, .mr = -1};
	struct mdm_at_result r;
	bool done[MDM_STORE_PARTS];
	char refs[96] = "", m1[8], m2[8];
	unsigned unsent = 0, went = 0, k;
	int stat[MDM_STORE_PARTS], rc = 0, missing = 0;

	if (!p->own) {
		mdm_answer_send_stored(w, c->job, MDM_ERR_MODEM, 0,
				       "stored message: no own AT exchange to read it back", "", 0, cp, true);
		return;
	}
	drain_into_gammu(w);
	if (!p->copies_listed)
		list_copies(w);
	if (p->lost || sm_begin(w, m1, m2, sizeof(m1)) < 0) {
		mdm_answer_send_stored(w, c->job, MDM_ERR_MODEM, 0, "stored message: no answer to AT+CPMS?", "", 0, cp,
				       true);
		return;
	}
	for (k = 0; k < cp->n && rc >= 0; k++) {
		char cmd[32];

		snprintf(cmd, sizeof(cmd), "AT+CMGR=%d", cp->index[k]);
		rc = mdm_at_command(&p->at, cmd, 5000, &r);
		if (rc == -EIO)
			mdm_go_lost(w, "own AT exchange (AT+CMGR)", ERR_DEVICEREADERROR);
		stat[k] = rc == 0 && r.final == MDM_AT_OK ? mdm_at_info_int(r.info, "+CMGR:") : -1;
		if (p->dbg)
			fprintf(p->dbg, "[%s] own AT: %s rc %d final %d code %d stat %d\n", w->cfg.name, cmd, rc,
				r.final, r.code, stat[k]);
	}
	sm_end(w, m1);
	if (rc < 0) {
		mdm_answer_send_stored(w, c->job, MDM_ERR_MODEM, 0, "stored message: no answer to AT+CMGR", "", 0, cp,
				       true);
		return;
	}
	for (k = 0; k < cp->n; k++) {
		done[k] = stat[k] == 3;
		if (stat[k] == 2 || stat[k] == 3)
			ours.index[ours.n++] = cp->index[k];
		unsent += stat[k] == 2;
		if (stat[k] != 2 && stat[k] != 3 && !missing)
			missing = (int)k + 1;
	}
	if (missing) {
		snprintf(o.reason, sizeof(o.reason), "stored message: SIM index %d (part %d) holds no copy of it (%s)",
			 cp->index[missing - 1], missing, stat[missing - 1] < 0 ? "empty" : "another message");
		mdm_answer_send_stored(w, c->job, MDM_ERR_MODEM, 0, o.reason, "", 0, &ours, false);
		return;
	}
	if (!unsent) {
		mdm_answer_send_stored(w, c->job, MDM_OK, 0, "", "", cp->n, &ours, false);
		return;
	}
	if (strcmp(m2, "SM")) {
		/* AT+CMSS would send from another memory: not sent, the copies go, queued again */
		mdm_answer_send_stored(w, c->job, MDM_ERR_MODEM, 0,
				       "stored message unsent, but the send memory is not SM", "", 0, &ours, false);
		return;
	}
	cmss_parts(w, cp, done, &o, refs, sizeof(refs), &went);
	if (o.cls == MDM_OK) {
		mdm_answer_send_stored(w, c->job, MDM_OK, 0, "", refs, cp->n, &ours, false);
		return;
	}
	mdm_answer_send_stored(w, c->job, o.cls, o.code, o.reason, refs, cp->n - unsent + went, &ours,
			       o.unknown || (unsent < cp->n && o.cls != MDM_ERR_PERMANENT) ||
				       (went && o.cls != MDM_ERR_PERMANENT));
}

void mdm_do_send(struct mdm_worker *w, struct mdm_cmd *c)
{
	struct mdm_wpriv *p = w->p;
	GSM_SMSMessage *m = &p->out;
	char refs[96] = "", reason[128] = "";
	enum mdm_err_class cls = MDM_OK;
	unsigned parts_sent = 0, ref8;
	int code = 0, n;
	size_t len = strlen(c->text);

	if (c->copies.n) {
		send_stored_again(w, c);
		return;
	}
	n = sms_split(c->text, len, &p->split);
	if (n < 0) {
		mdm_answer_send(w, c->job, MDM_ERR_PERMANENT, 0,
				n == -EMSGSIZE ? "text too long (more than 255 parts)" : "text is not valid UTF-8", "",
				0);
		return;
	}
	ref8 = (p->concat_ref++) & 0xff;
	if (p->own && w->cfg.store_send && !p->store_refused && n <= MDM_STORE_PARTS &&
	    send_stored_parts(w, c, n, ref8))
		return;

	for (int i = 0; i < n && cls == MDM_OK; i++) {
		struct part_out o = {.cls = MDM_OK, .mr = -1};

		if (!pace(w, i, &o)) {
			cls = o.cls;
			snprintf(reason, sizeof(reason), "%s", o.reason);
			break;
		}
		build_part(w, c, i, n, ref8);
		if (!p->own || !send_part_own(w, i, &o))
			send_part_gammu(w, m, i, &o);
		if (o.cls == MDM_OK) {
			add_ref(refs, sizeof(refs), o.mr);
			parts_sent++;
			continue;
		}
		cls = o.cls;
		code = o.code;
		snprintf(reason, sizeof(reason), "%s", o.reason);
	}
	mdm_answer_send(w, c->job, cls, code, cls == MDM_OK ? "" : reason, refs, parts_sent);
}

/* After a connect: linli's own AT+CMGS on libgammu's descriptor when there is one to be had. */
void mdm_choose_path(struct mdm_worker *w)
{
	struct mdm_wpriv *p = w->p;
	int fd;

	p->fd = -1;
	p->own = false;
	p->own_checked = false;
	p->store_checked = false;
	p->copies_listed = false;
	p->cmms_on = false;
	if (w->cfg.send_gammu) {
		snprintf(p->path, sizeof(p->path), "GSM_SendSMS (send-path gammu)");
		return;
	}
	if (!strcmp(w->cfg.connection, "proxyat") || w->cfg.device[0] != '/') {
		snprintf(p->path, sizeof(p->path), "GSM_SendSMS (%s)", w->cfg.connection);
		return;
	}
	fd = mdm_find_tty_fd(w->cfg.device);
	if (fd < 0) {
		snprintf(p->path, sizeof(p->path), "GSM_SendSMS (no descriptor of %.40s: %s)", w->cfg.device,
			 strerror(-fd));
		return;
	}
	p->fd = fd;
	p->own = true;
	mdm_at_init(&p->at, fd, mdm_on_urc, at_leave, w);
	snprintf(p->path, sizeof(p->path), "own AT+CMGS on fd %d%s", fd,
		 w->cfg.store_send && !p->store_refused ? ", store-and-send" : "");
}
