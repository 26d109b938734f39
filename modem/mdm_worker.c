/* One worker thread per modem: owns its GSM_StateMachine, connects with back-off, reads what
 * arrives (+CMTI/+CMT/RING through libgammu's callbacks, plus a safety-net listing), sends one
 * message at a time, polls health, and hands every result to the main loop as an mdm_event.
 *
 * libgammu blocks, so nothing here touches talloc or the main loop's data: events are calloc'd
 * and queued with mdm_pool_emit(). Between gammu calls the worker never waits longer than one
 * GSM_ReadDevice(sm, FALSE) (a 50 ms select on the device) before looking at its commands.
 *
 * Sending: where the modem is a tty, the worker finds libgammu's descriptor for it after each
 * connect and runs linli's own AT+CMGS exchange on it (mdm_send.c): the PDU is encoded by libgammu
 * (PHONE_EncodeSMSFrame, as GSM_SendSMS does), only the transport differs, without libgammu's
 * 0.7 s of fixed sleeps per part. Unsolicited lines met during the exchange become the same
 * notes the gammu callbacks make. Otherwise (proxyat, no descriptor, text mode, `send-path
 * gammu`) GSM_SendSMS sends, as before.
 *
 * Two things libgammu does not expose are taken from its debug output (level "text", which the
 * AT driver writes through our log function): the numeric +CMS/+CME error of the last command
 * (needed only by the GSM_SendSMS path), and the hex PDU lines of +CMGR/+CMGL/+CMT answers, so
 * SMS_IN can carry the raw PDU.
 */

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gammu.h>

#include "modem/mdm.h"
#include "modem/mdm_errors.h"
#include "modem/mdm_send.h"
#include "modem/mdm_worker.h"
#include "modem/sms_codec.h"

#define PDU_RING 128		/* hex PDU lines remembered from the debug output */
#define LOC_MAX 256		/* +CMTI notices waiting to be read */
#define HANDED_MAX 2048		/* stored messages handed over, waiting for mdm_delete */
#define HANDED_TTL_MS (60LL * 60 * 1000)
#define READ_ERRORS_LOST 5	/* consecutive failed device reads that mean the device is gone */
#define READ_EOFS_LOST 20	/* consecutive instant empty reads: the tty was hung up */
#define BACKOFF_MAX_MS 30000
#define RING_SAME_CALL_MS 8000	/* RINGs closer than this belong to one call */
#define RING_CLIP_WAIT_MS 1500	/* wait this long for +CLIP after a bare RING */

struct handed {
	int location;
	int64_t since;
};

struct full_msg {
	struct llist_head list;
	GSM_SMSMessage sms;
	char *raw;
};

struct mdm_wpriv {
	GSM_StateMachine *sm;
	FILE *dbg;
	char line[4096];
	size_t line_len;
	bool line_over;

	/* from the debug output */
	char *pdu[PDU_RING];
	unsigned pdu_next;
	int last_err;		/* last +CMS/+CME code seen, -1 none */
	bool last_err_cms;

	/* filled by gammu callbacks, consumed by the loop */
	int loc_folder[LOC_MAX], loc_location[LOC_MAX];
	unsigned nloc;
	struct llist_head full;
	bool send_waiting, send_done;
	int send_status, send_mr;
	bool ring_active, ring_emitted;
	int64_t ring_first, ring_last;
	char ring_caller[32];

	struct handed handed[HANDED_MAX];
	unsigned nhanded;

	enum mdm_state state;
	bool lost;
	char lost_reason[128];
	int read_errors;
	int read_eofs;
	GSM_SMSC smsc;
	bool have_smsc;
	unsigned concat_ref;
	int64_t last_send_start;
	char imei[GSM_MAX_IMEI_LENGTH + 1];

	/* the send path of this connection */
	int fd;			/* libgammu's descriptor of the tty, -1 none */
	bool own;		/* linli's own AT+CMGS on fd */
	bool own_checked;	/* AT+CMGF? said PDU mode on this connection */
	bool cmms_on;		/* AT+CMMS=2 accepted on this connection */
	bool cmms_refused;	/* the modem answered an error to AT+CMMS: never again (worker lifetime) */
	char path[96];		/* how this connection sends, for the state reason */
	struct mdm_at at;
	char model[GSM_MAX_MODEL_LENGTH + GSM_MAX_MANUFACTURER_LENGTH + 2];

	/* big scratch structures, kept off the stack */
	GSM_MultiSMSMessage multi;
	GSM_SMSMessage out;
	GSM_SMSMessage scratch;
	struct sms_split split;
};

/* ---- small helpers ---- */

/* bounded copy that always terminates (and truncates silently, as intended) */
static void scpy(char *d, size_t n, const char *s)
{
	size_t l = strnlen(s, n - 1);
	memcpy(d, s, l);
	d[l] = '\0';
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

/* gammu "Unicode" strings are UTF-16BE code units ending in 00 00 */
static size_t gu_units(const unsigned char *g, size_t maxbytes, uint16_t *out, size_t outmax)
{
	size_t n = 0;
	for (size_t i = 0; i + 1 < maxbytes && n < outmax; i += 2) {
		uint16_t u = (uint16_t)(g[i] << 8 | g[i + 1]);
		if (!u)
			break;
		out[n++] = u;
	}
	return n;
}

static void gu_to_utf8(const unsigned char *g, size_t maxbytes, char *out, size_t outmax)
{
	uint16_t u[GSM_MAX_SMS_LENGTH + 1];
	size_t n = gu_units(g, maxbytes, u, sizeof(u) / sizeof(u[0]));
	if (sms_utf16_to_utf8(u, n, out, outmax) < 0 && outmax)
		out[0] = '\0';
}

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

static int64_t dt_to_unix(const GSM_DateTime *dt)
{
	struct tm tm = { 0 };

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

static void hex_encode(const unsigned char *b, size_t n, char *out)
{
	static const char hx[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[b[i] >> 4];
		out[2 * i + 1] = hx[b[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = toupper(c);
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static struct mdm_event *ev_new(struct mdm_worker *w, enum mdm_ev_type type)
{
	struct mdm_event *ev;

	while (!(ev = calloc(1, sizeof(*ev))))
		sleep_ms(10);
	ev->type = type;
	ev->modem = w->idx;
	return ev;
}

static bool flag_stop(struct mdm_worker *w)
{
	bool r;
	pthread_mutex_lock(&w->lock);
	r = w->stop;
	pthread_mutex_unlock(&w->lock);
	return r;
}

/* stop or reset requested */
static bool flag_leave(struct mdm_worker *w)
{
	bool r;
	pthread_mutex_lock(&w->lock);
	r = w->stop || w->reset;
	pthread_mutex_unlock(&w->lock);
	return r;
}

/* Bracket a gammu call that may block: the pool's watchdog aborts it after limit_s. */
static void call_begin(struct mdm_worker *w, unsigned limit_s, const char *what)
{
	pthread_mutex_lock(&w->lock);
	w->call_deadline = now_ms() + (int64_t)limit_s * 1000;
	snprintf(w->call_what, sizeof(w->call_what), "%s", what);
	pthread_mutex_unlock(&w->lock);
}

static void call_end(struct mdm_worker *w)
{
	pthread_mutex_lock(&w->lock);
	w->call_deadline = 0;
	pthread_mutex_unlock(&w->lock);
}

void mdm_pool_watchdog(struct mdm_pool *pool)
{
	int64_t t = now_ms();

	for (unsigned i = 0; i < pool->n; i++) {
		struct mdm_worker *w = &pool->w[i];
		pthread_mutex_lock(&w->lock);
		/* over time, or the device node went away (unplugged) while gammu waits on it */
		if (w->call_deadline &&
		    (t > w->call_deadline || (w->cfg.device[0] == '/' && strcmp(w->cfg.connection, "proxyat") &&
					      access(w->cfg.device, F_OK) != 0))) {
			w->call_deadline = 0;
			mdm_worker_abort_locked(w);
		}
		pthread_mutex_unlock(&w->lock);
	}
}

void mdm_worker_abort_locked(struct mdm_worker *w)
{
	/* Sets the state machine's abort flag: the AT driver's wait loops return ERR_ABORTED. The
	 * worker never reuses an aborted state machine (it reconnects with a fresh one). */
	if (w->sm)
		GSM_AbortOperation(w->sm);
}

static void set_state(struct mdm_worker *w, enum mdm_state st, const char *reason)
{
	struct mdm_wpriv *p = w->p;
	struct mdm_event *ev;

	p->state = st;
	ev = ev_new(w, MDM_EV_STATE);
	ev->u.state.state = st;
	snprintf(ev->u.state.reason, sizeof(ev->u.state.reason), "%s", reason ? reason : "");
	if (st == MDM_ST_READY) {
		scpy(ev->u.state.imei, sizeof(ev->u.state.imei), p->imei);
		scpy(ev->u.state.model, sizeof(ev->u.state.model), p->model);
	}
	mdm_pool_emit(w->pool, ev);
}

/* ---- the debug output: +CMS/+CME codes and raw PDUs ---- */

static void take_line(struct mdm_worker *w, const char *line)
{
	struct mdm_wpriv *p = w->p;
	const char *s = line;
	size_t len;
	bool cms;
	int code;

	if (p->dbg)
		fprintf(p->dbg, "[%s] %s\n", w->cfg.name, line);
	/* ATGEN logs every line of an answer as: <n> "<text>" */
	if (!isdigit((unsigned char)*s))
		return;
	while (isdigit((unsigned char)*s))
		s++;
	if (s[0] != ' ' || s[1] != '"')
		return;
	s += 2;
	len = strlen(s);
	if (len < 1 || s[len - 1] != '"')
		return;
	len--;
	if (len > 11 && s[0] == '+' && s[1] == 'C' && s[2] == 'M' && !p->own) {
		char tmp[64];
		snprintf(tmp, sizeof(tmp), "%.*s", (int)(len < 63 ? len : 63), s);
		code = mdm_parse_cm_error(tmp, &cms);
		if (code >= 0) {
			p->last_err = code;
			p->last_err_cms = cms;
		}
		return;
	}
	if (len >= 24 && len % 2 == 0 && len < 1024) {
		for (size_t i = 0; i < len; i++)
			if (!isxdigit((unsigned char)s[i]))
				return;
		free(p->pdu[p->pdu_next]);
		p->pdu[p->pdu_next] = strndup(s, len);
		p->pdu_next = (p->pdu_next + 1) % PDU_RING;
	}
}

static void gammu_log(const char *text, void *data)
{
	struct mdm_worker *w = data;
	struct mdm_wpriv *p = w->p;

	for (; *text; text++) {
		if (*text == '\n') {
			p->line[p->line_len] = '\0';
			if (!p->line_over)
				take_line(w, p->line);
			p->line_len = 0;
			p->line_over = false;
		} else if (p->line_len < sizeof(p->line) - 1) {
			p->line[p->line_len++] = *text;
		} else {
			p->line_over = true;
		}
	}
}

static bool same_message(const GSM_SMSMessage *a, const GSM_SMSMessage *b)
{
	size_t tl;

	if (a->PDU != b->PDU)
		return false;
	if (a->PDU == SMS_Status_Report)
		return a->MessageReference == b->MessageReference && a->DeliveryStatus == b->DeliveryStatus;
	if (a->Coding != b->Coding || a->Length != b->Length || a->UDH.Length != b->UDH.Length)
		return false;
	if (memcmp(a->Number, b->Number, 2 * (UnicodeLength(a->Number) + 1)) != 0)
		return false;
	if (a->UDH.Length > 0 && memcmp(a->UDH.Text, b->UDH.Text, (size_t)a->UDH.Length) != 0)
		return false;
	tl = a->Coding == SMS_Coding_8bit ? (size_t)a->Length : 2 * (size_t)a->Length;
	if (tl > sizeof(a->Text))
		tl = sizeof(a->Text);
	if (memcmp(a->Text, b->Text, tl) != 0)
		return false;
	return a->DateTime.Year == b->DateTime.Year && a->DateTime.Minute == b->DateTime.Minute &&
	       a->DateTime.Second == b->DateTime.Second;
}

/* The hex PDU the modem gave for m, found among the recent answer lines, or NULL. */
static char *find_raw(struct mdm_worker *w, const GSM_SMSMessage *m)
{
	struct mdm_wpriv *p = w->p;
	unsigned char bin[512];

	for (unsigned k = 1; k <= PDU_RING; k++) {
		unsigned i = (p->pdu_next + PDU_RING - k) % PDU_RING;
		const char *h = p->pdu[i];
		size_t n, pos = 0;
		if (!h)
			break;
		n = strlen(h) / 2;
		if (n > sizeof(bin))
			continue;
		for (size_t j = 0; j < n; j++)
			bin[j] = (unsigned char)(hexval(h[2 * j]) << 4 | hexval(h[2 * j + 1]));
		memset(&p->scratch, 0, sizeof(p->scratch));
		/* a silent debug target: the decode must not feed our own log parser */
		if (GSM_DecodePDUFrame(GSM_GetGlobalDebug(), &p->scratch, bin, n, &pos, TRUE) != ERR_NONE)
			continue;
		if (same_message(&p->scratch, m))
			return strdup(h);
	}
	return NULL;
}

/* When the PDU is not to be had: what gammu decoded, compactly. */
static char *compact_dump(const GSM_SMSMessage *m)
{
	char udh[2 * GSM_MAX_UDH_LENGTH + 1];
	char *s = NULL;

	hex_encode(m->UDH.Text, (size_t)(m->UDH.Length > 0 && m->UDH.Length <= GSM_MAX_UDH_LENGTH ? m->UDH.Length : 0),
		   udh);
	if (asprintf(&s, "gammu pdu=%d coding=%d class=%d len=%d udh=%s", (int)m->PDU, (int)m->Coding,
		     (int)m->Class, m->Length, udh) < 0)
		return NULL;
	return s;
}

/* ---- gammu callbacks (run inside gammu calls: no AT commands here, only notes) ---- */

/* A RING or +CLIP (num "" when not known): one call until RINGs stop for RING_SAME_CALL_MS. */
static void note_ring(struct mdm_worker *w, const char *num)
{
	struct mdm_wpriv *p = w->p;
	int64_t t = now_ms();

	if (p->ring_active && t - p->ring_last < RING_SAME_CALL_MS &&
	    (!num[0] || !p->ring_caller[0] || !strcmp(num, p->ring_caller))) {
		p->ring_last = t;
		if (!p->ring_caller[0] && num[0] && !p->ring_emitted)
			snprintf(p->ring_caller, sizeof(p->ring_caller), "%s", num);
		return;
	}
	p->ring_active = true;
	p->ring_emitted = false;
	p->ring_first = p->ring_last = t;
	snprintf(p->ring_caller, sizeof(p->ring_caller), "%s", num);
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

static void on_sms(GSM_StateMachine *sm, GSM_SMSMessage *sms, void *data)
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
		f->raw = find_raw(w, sms);
		llist_add_tail(&f->list, &p->full);
		return;
	}
	/* +CMTI/+CDSI: where it was stored */
	note_stored(p, sms->Folder, sms->Location);
}

/* An unsolicited line met by linli's own AT exchange: the same notes as the gammu callbacks. */
static void on_urc(const struct mdm_urc *u, void *data)
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
			bin[j] = (unsigned char)(hexval(u->pdu[2 * j]) << 4 | hexval(u->pdu[2 * j + 1]));
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
		note_ring(w, "");
		break;
	case MDM_URC_CLIP:
		note_ring(w, u->number);
		break;
	case MDM_URC_OTHER:
		break; /* vendor noise (^BOOT, ^RSSI), +CREG...: not ours to act on */
	}
}

static bool at_leave(void *data)
{
	return flag_leave(data);
}

static void on_send_status(GSM_StateMachine *sm, int status, int mr, void *data)
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

static void on_call(GSM_StateMachine *sm, GSM_Call *call, void *data)
{
	struct mdm_worker *w = data;
	struct mdm_wpriv *p = w->p;
	char num[32];

	(void)sm;
	switch (call->Status) {
	case GSM_CALL_IncomingCall:
		gu_to_utf8(call->PhoneNumber, sizeof(call->PhoneNumber), num, sizeof(num));
		note_ring(w, num);
		break;
	case GSM_CALL_CallEnd:
	case GSM_CALL_CallRemoteEnd:
	case GSM_CALL_CallLocalEnd:
		p->ring_active = false;
		break;
	default:
		break;
	}
}

/* ---- failure handling ---- */

static bool is_modem_error(GSM_Error e)
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

static void go_lost(struct mdm_worker *w, const char *what, GSM_Error e)
{
	struct mdm_wpriv *p = w->p;

	if (p->lost)
		return;
	p->lost = true;
	snprintf(p->lost_reason, sizeof(p->lost_reason), "%s: %s", what, GSM_ErrorName(e));
}

/* After a failed gammu call: true when the modem is to be treated as gone. A timeout is
 * confirmed with one AT+CSQ first, so a single slow answer does not drop the connection. */
static bool check_lost(struct mdm_worker *w, GSM_Error e, const char *what)
{
	struct mdm_wpriv *p = w->p;
	GSM_SignalQuality sig;
	GSM_Error e2;

	if (p->lost)
		return true;
	if (!is_modem_error(e))
		return false;
	if (e == ERR_TIMEOUT && !flag_leave(w)) {
		call_begin(w, 15, "probe");
		e2 = GSM_GetSignalQuality(p->sm, &sig);
		call_end(w);
		if (!is_modem_error(e2))
			return false;
	}
	go_lost(w, what, e);
	return true;
}

/* ---- receiving ---- */

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
	p->handed[p->nhanded].since = now_ms();
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

static void handed_expire(struct mdm_wpriv *p)
{
	int64_t t = now_ms();
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
		n = gu_units(m->Text, sizeof(m->Text), u, sizeof(u) / sizeof(u[0]));
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
			hex_encode(m->Text, n, t);
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
	struct mdm_event *ev = ev_new(w, MDM_EV_REPORT);

	ev->u.report.mr = m->MessageReference;
	ev->u.report.status = m->DeliveryStatus;
	gu_to_utf8(m->Number, sizeof(m->Number), ev->u.report.recipient, sizeof(ev->u.report.recipient));
	ev->u.report.ts = dt_to_unix(&m->SMSCTime);
	if (!ev->u.report.ts)
		ev->u.report.ts = dt_to_unix(&m->DateTime);
	ev->u.report.folder = 0;
	ev->u.report.location = location;
	mdm_pool_emit(w->pool, ev);
}

/* Hand one message over. location: gammu's flat location (folder 0), 0 when not stored.
 * raw: malloc'd hex PDU or NULL; taken over. */
static void emit_message(struct mdm_worker *w, const GSM_SMSMessage *m, int location, char *raw)
{
	struct mdm_event *ev;
	struct sms_concat c;

	if (m->PDU == SMS_Status_Report) {
		free(raw);
		emit_report(w, m, location);
		handed_add(w->p, location);
		return;
	}
	ev = ev_new(w, MDM_EV_SMS_IN);
	ev->u.sms.folder = 0;
	ev->u.sms.location = location;
	gu_to_utf8(m->Number, sizeof(m->Number), ev->u.sms.sender, sizeof(ev->u.sms.sender));
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
	w->hold_until = now_ms() + MDM_INBOX_HOLD_MS;
	pthread_mutex_unlock(&w->lock);
	mdm_pool_emit(w->pool, ev);
	handed_add(w->p, location);
}

static void flush_full(struct mdm_worker *w)
{
	struct mdm_wpriv *p = w->p;
	struct full_msg *f, *tmp;

	llist_for_each_entry_safe(f, tmp, &p->full, list) {
		llist_del(&f->list);
		emit_message(w, &f->sms, 0, f->raw);
		free(f);
	}
}

/* Read the messages +CMTI told us about. */
static void read_notified(struct mdm_worker *w)
{
	struct mdm_wpriv *p = w->p;

	while (p->nloc && !p->lost && !flag_leave(w)) {
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
		call_begin(w, 15, "read");
		e = GSM_GetSMS(p->sm, &p->multi);
		call_end(w);
		if (e == ERR_EMPTY || e == ERR_INVALIDLOCATION || e == ERR_CORRUPTED)
			continue;
		if (e != ERR_NONE) {
			if (check_lost(w, e, "reading a notified SMS"))
				return;
			continue; /* the poll will find it */
		}
		for (int i = 0; i < p->multi.Number; i++) {
			GSM_SMSMessage *m = &p->multi.SMS[i];
			if (m->PDU == SMS_Submit || handed_has(p, m->Location))
				continue;
			emit_message(w, m, m->Location, find_raw(w, m));
		}
	}
}

/* Safety net: list all folders and hand over what was not handed over yet. */
static void poll_storage(struct mdm_worker *w)
{
	struct mdm_wpriv *p = w->p;
	bool start = true;
	GSM_Error e;

	memset(&p->multi, 0, sizeof(p->multi));
	for (int guard = 0; guard < 10000 && !p->lost && !flag_leave(w); guard++) {
		p->multi.SMS[0].Folder = 0;
		call_begin(w, 25, "list");
		e = GSM_GetNextSMS(p->sm, &p->multi, start);
		call_end(w);
		start = false;
		if (e == ERR_EMPTY || e == ERR_NOTSUPPORTED || e == ERR_NOTIMPLEMENTED)
			return;
		if (e != ERR_NONE) {
			check_lost(w, e, "listing stored SMS");
			return;
		}
		for (int i = 0; i < p->multi.Number; i++) {
			GSM_SMSMessage *m = &p->multi.SMS[i];
			if (m->PDU == SMS_Submit || m->Location <= 0 || handed_has(p, m->Location))
				continue;
			emit_message(w, m, m->Location, find_raw(w, m));
		}
	}
}

/* ---- commands ---- */

static void answer_send(struct mdm_worker *w, int64_t job, enum mdm_err_class cls, int code, const char *reason,
			const char *refs, unsigned parts_sent)
{
	struct mdm_event *ev = ev_new(w, MDM_EV_SEND_RESULT);

	ev->u.send.job = job;
	ev->u.send.cls = cls;
	ev->u.send.code = code;
	snprintf(ev->u.send.reason, sizeof(ev->u.send.reason), "%s", reason ? reason : "");
	snprintf(ev->u.send.refs, sizeof(ev->u.send.refs), "%s", refs ? refs : "");
	ev->u.send.parts_sent = parts_sent;
	mdm_pool_emit(w->pool, ev);
}

static void answer_delete(struct mdm_worker *w, int folder, int location, int rc)
{
	struct mdm_event *ev = ev_new(w, MDM_EV_DELETED);

	ev->u.del.folder = folder;
	ev->u.del.location = location;
	ev->u.del.rc = rc;
	mdm_pool_emit(w->pool, ev);
}

/* One GSM_ReadDevice(sm, FALSE): lets unsolicited codes reach the callbacks. A failing read,
 * or a read that returns nothing at once again and again (a hung-up tty reads as EOF), means
 * the device is gone. */
static void service_device(struct mdm_worker *w)
{
	struct mdm_wpriv *p = w->p;
	int64_t t0;
	int r;

	if (p->fd >= 0 && w->wake_fd >= 0) {
		/* the tty and the command queue at once: a command need not wait out the 50 ms */
		struct pollfd pfd[2] = {{.fd = p->fd, .events = POLLIN}, {.fd = w->wake_fd, .events = POLLIN}};
		uint64_t cnt;

		if (poll(pfd, 2, 50) <= 0 && !pfd[0].revents)
			return;
		if (pfd[1].revents & POLLIN && read(w->wake_fd, &cnt, sizeof(cnt)) < 0)
			cnt = 0;
		if (!pfd[0].revents)
			return;
	}
	t0 = now_ms();
	r = GSM_ReadDevice(p->sm, FALSE);

	if (r < 0) {
		if (++p->read_errors >= READ_ERRORS_LOST)
			go_lost(w, "device read", ERR_DEVICEREADERROR);
		else
			sleep_ms(10);
	} else if (r == 0 && now_ms() - t0 < 5) {
		if (++p->read_eofs >= READ_EOFS_LOST)
			go_lost(w, "device hung up", ERR_DEVICEREADERROR);
		else
			sleep_ms(2);
	} else {
		p->read_errors = 0;
		p->read_eofs = 0;
	}
}

/* Service the device while waiting; false when stop/reset/loss ended the wait. */
static bool idle_until(struct mdm_worker *w, int64_t deadline)
{
	struct mdm_wpriv *p = w->p;

	while (now_ms() < deadline) {
		if (flag_leave(w) || p->lost)
			return false;
		service_device(w);
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
	call_begin(w, 15, "send");
	e = GSM_SendSMS(p->sm, m);
	call_end(w);
	deadline = now_ms() + (int64_t)w->cfg.send_timeout_s * 1000;
	while (e == ERR_NONE && !p->send_done && now_ms() < deadline && !flag_leave(w) && !p->lost)
		service_device(w);
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
		o->cls = is_modem_error(e) ? MDM_ERR_MODEM : MDM_ERR_TRANSIENT;
		snprintf(o->reason, sizeof(o->reason), "part %d: %s", i + 1, GSM_ErrorName(e));
		check_lost(w, e, "sending");
	} else if (flag_leave(w)) {
		o->cls = MDM_ERR_MODEM;
		snprintf(o->reason, sizeof(o->reason), "reset or stop while waiting for +CMGS of part %d", i + 1);
	} else {
		o->cls = MDM_ERR_MODEM;
		snprintf(o->reason, sizeof(o->reason), "no +CMGS for part %d within %u s", i + 1, w->cfg.send_timeout_s);
		check_lost(w, ERR_TIMEOUT, "waiting for +CMGS");
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
	hex_encode(pdu, n, hex);
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
	set_state(w, MDM_ST_READY, reason);
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
		service_device(w);
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
			go_lost(w, "own AT exchange (AT+CMGF?)", ERR_DEVICEREADERROR);
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
			go_lost(w, "own AT exchange (AT+CMMS=2)", ERR_DEVICEREADERROR);
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

/* One part through linli's own AT+CMGS on libgammu's descriptor. false: not sent this way (the
 * caller sends it with GSM_SendSMS). */
static bool send_part_own(struct mdm_worker *w, GSM_SMSMessage *m, int i, struct part_out *o)
{
	struct mdm_wpriv *p = w->p;
	struct mdm_cmgs_opts opts = {
		.prompt_delay_ms = w->cfg.prompt_delay_ms,
		.final_timeout_ms = w->cfg.send_timeout_s * 1000,
	};
	struct mdm_at_result r;
	char hex[2 * 400 + 1];
	unsigned tpdu_len = 0;
	GSM_Error e;
	int rc;

	call_begin(w, 15, "encode");
	e = encode_submit(p, m, hex, sizeof(hex), &tpdu_len);
	call_end(w);
	if (e != ERR_NONE) {
		o->cls = is_modem_error(e) ? MDM_ERR_MODEM : MDM_ERR_TRANSIENT;
		snprintf(o->reason, sizeof(o->reason), "part %d: %s", i + 1, GSM_ErrorName(e));
		check_lost(w, e, "encoding (SMSC)");
		return true;
	}
	drain_into_gammu(w);
	if (p->lost) {
		o->cls = MDM_ERR_MODEM;
		snprintf(o->reason, sizeof(o->reason), "%s", p->lost_reason);
		return true;
	}
	if (!own_ready(w)) {
		if (!p->lost)
			return false;
		o->cls = MDM_ERR_MODEM;
		snprintf(o->reason, sizeof(o->reason), "%s", p->lost_reason);
		return true;
	}
	if (p->dbg)
		fprintf(p->dbg, "[%s] own AT: AT+CMGS=%u %s\n", w->cfg.name, tpdu_len, hex);
	rc = mdm_at_cmgs(&p->at, tpdu_len, hex, &opts, &r);
	if (p->dbg)
		fprintf(p->dbg, "[%s] own AT: rc %d final %d code %d mr %d prompt %d written %d line_ok %d\n",
			w->cfg.name, rc, r.final, r.code, r.mr, r.prompt, r.pdu_written, r.line_ok);
	if (rc == 0 && r.final == MDM_AT_OK && r.mr >= 0) {
		o->mr = r.mr;
		return true;
	}
	if (rc == 0 && r.final == MDM_AT_OK) {
		o->cls = MDM_ERR_MODEM;
		snprintf(o->reason, sizeof(o->reason), "part %d accepted without a +CMGS reference", i + 1);
	} else if (rc == 0 && (r.final == MDM_AT_CMS || r.final == MDM_AT_CME)) {
		char name[96];

		o->code = r.code;
		o->cls = r.final == MDM_AT_CMS ? mdm_classify_cms(r.code, name, sizeof(name))
					       : mdm_classify_cme(r.code, name, sizeof(name));
		snprintf(o->reason, sizeof(o->reason), "+%s ERROR: %d (%s)", r.final == MDM_AT_CMS ? "CMS" : "CME",
			 r.code, name);
	} else if (rc == 0) {
		o->cls = MDM_ERR_TRANSIENT;
		snprintf(o->reason, sizeof(o->reason), "ERROR without a code on part %d", i + 1);
	} else if (rc == -ETIMEDOUT) {
		o->cls = MDM_ERR_MODEM;
		if (r.pdu_written)
			snprintf(o->reason, sizeof(o->reason), "no +CMGS for part %d within %u s", i + 1,
				 w->cfg.send_timeout_s);
		else
			snprintf(o->reason, sizeof(o->reason), "no \"> \" prompt for part %d", i + 1);
		if (!r.line_ok)
			go_lost(w, r.pdu_written ? "waiting for +CMGS, then AT unanswered" : "no prompt, then AT unanswered",
				ERR_TIMEOUT);
	} else if (rc == -ECANCELED) {
		o->cls = MDM_ERR_MODEM;
		snprintf(o->reason, sizeof(o->reason), "reset or stop while sending part %d", i + 1);
	} else {
		o->cls = MDM_ERR_MODEM;
		snprintf(o->reason, sizeof(o->reason), "part %d: device %s", i + 1, strerror(-rc));
		if (rc == -EIO)
			go_lost(w, "own AT exchange", ERR_DEVICEREADERROR);
	}
	return true;
}

static void do_send(struct mdm_worker *w, struct mdm_cmd *c)
{
	struct mdm_wpriv *p = w->p;
	GSM_SMSMessage *m = &p->out;
	char refs[96] = "", reason[128] = "";
	enum mdm_err_class cls = MDM_OK;
	unsigned parts_sent = 0, ref8;
	int code = 0, n;
	size_t len = strlen(c->text);

	n = sms_split(c->text, len, &p->split);
	if (n < 0) {
		answer_send(w, c->job, MDM_ERR_PERMANENT, 0,
			    n == -EMSGSIZE ? "text too long (more than 255 parts)" : "text is not valid UTF-8", "", 0);
		return;
	}
	ref8 = (p->concat_ref++) & 0xff;

	for (int i = 0; i < n && cls == MDM_OK; i++) {
		const struct sms_split_part *part = &p->split.part[i];
		struct part_out o = {.cls = MDM_OK, .mr = -1};
		int units;

		if (w->cfg.pace_ms && !idle_until(w, p->last_send_start + w->cfg.pace_ms)) {
			cls = MDM_ERR_MODEM;
			snprintf(reason, sizeof(reason), "%s", p->lost ? p->lost_reason : "modem reset or stopping");
			break;
		}
		p->last_send_start = now_ms();

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

		if (!p->own || !send_part_own(w, m, i, &o))
			send_part_gammu(w, m, i, &o);
		if (o.cls == MDM_OK) {
			size_t l = strlen(refs);

			snprintf(refs + l, sizeof(refs) - l, "%s%d", l ? "," : "", o.mr);
			parts_sent++;
			continue;
		}
		cls = o.cls;
		code = o.code;
		snprintf(reason, sizeof(reason), "%s", o.reason);
	}
	answer_send(w, c->job, cls, code, cls == MDM_OK ? "" : reason, refs, parts_sent);
}

/* Reject the call ringing now (or end it): AT+CHUP, libgammu falls back on ATH. */
static void do_hangup(struct mdm_worker *w)
{
	struct mdm_wpriv *p = w->p;
	GSM_Error e;

	call_begin(w, 10, "hangup");
	e = GSM_CancelCall(p->sm, 0, TRUE);
	call_end(w);
	/* a modem that does not know AT+CHUP/ATH keeps ringing until the caller gives up; the RING
	 * was reported already, so there is nothing more to tell */
	if (e != ERR_NONE)
		check_lost(w, e, "hanging up");
	p->ring_active = false;
}

/* Returns false when the command must be kept for after a reconnect. */
static bool do_delete(struct mdm_worker *w, struct mdm_cmd *c)
{
	struct mdm_wpriv *p = w->p;
	GSM_Error e;

	if (c->location == 0) {
		answer_delete(w, c->folder, c->location, 0);
		return true;
	}
	memset(&p->out, 0, sizeof(p->out));
	p->out.Folder = 0; /* flat location, as handed over */
	p->out.Location = c->location;
	call_begin(w, 15, "delete");
	e = GSM_DeleteSMS(p->sm, &p->out);
	call_end(w);
	if (e == ERR_NONE || e == ERR_EMPTY) {
		handed_del(p, c->location);
		answer_delete(w, c->folder, c->location, 0);
		return true;
	}
	if (check_lost(w, e, "deleting SMS"))
		return false;
	answer_delete(w, c->folder, c->location, e == ERR_INVALIDLOCATION ? -ENOENT : -EIO);
	return true;
}

/* The next command; NULL when there is none or while a received message is not committed yet
 * (MDM_INBOX_HOLD_MS at most). */
static struct mdm_cmd *pop_cmd_held(struct mdm_worker *w, bool hold)
{
	struct mdm_cmd *c = NULL;

	pthread_mutex_lock(&w->lock);
	if (w->hold_until && now_ms() >= w->hold_until)
		w->hold_until = 0;
	if (!(hold && w->hold_until) && !llist_empty(&w->cmds)) {
		c = llist_first_entry(&w->cmds, struct mdm_cmd, list);
		llist_del(&c->list);
	}
	pthread_mutex_unlock(&w->lock);
	return c;
}

static bool holding(struct mdm_worker *w)
{
	bool h;

	pthread_mutex_lock(&w->lock);
	h = w->hold_until && now_ms() < w->hold_until;
	pthread_mutex_unlock(&w->lock);
	return h;
}

static struct mdm_cmd *pop_cmd(struct mdm_worker *w)
{
	return pop_cmd_held(w, true);
}

static void push_front(struct mdm_worker *w, struct mdm_cmd *c)
{
	pthread_mutex_lock(&w->lock);
	llist_add(&c->list, &w->cmds);
	pthread_mutex_unlock(&w->lock);
}

static void free_cmd(struct mdm_cmd *c)
{
	free(c->text);
	free(c);
}

/* Not connected: sends fail at once (another modem can take them), deletes wait for the
 * connection to come back, unless the pool is stopping. */
static void answer_offline(struct mdm_worker *w, bool stopping, const char *why)
{
	struct llist_head keep;
	struct mdm_cmd *c;

	INIT_LLIST_HEAD(&keep);
	while ((c = pop_cmd_held(w, false))) {
		if (c->type == MDM_CMD_SEND) {
			answer_send(w, c->job, MDM_ERR_MODEM, 0, why, "", 0);
			free_cmd(c);
		} else if (c->type == MDM_CMD_HANGUP) {
			free_cmd(c); /* no connection, no call */
		} else if (stopping) {
			answer_delete(w, c->folder, c->location, -ENODEV);
			free_cmd(c);
		} else {
			llist_add_tail(&c->list, &keep);
		}
	}
	if (!llist_empty(&keep)) {
		pthread_mutex_lock(&w->lock);
		llist_splice(&keep, &w->cmds); /* in front of anything that came meanwhile */
		pthread_mutex_unlock(&w->lock);
	}
}

/* ---- health and calls ---- */

static void health(struct mdm_worker *w)
{
	struct mdm_wpriv *p = w->p;
	struct mdm_event *ev;
	GSM_SignalQuality sig;
	GSM_NetworkInfo ni;
	GSM_SecurityCodeType sec;
	GSM_SMSMemoryStatus st;
	GSM_Error e;

	memset(&sig, 0, sizeof(sig));
	call_begin(w, 12, "csq");
	e = GSM_GetSignalQuality(p->sm, &sig);
	call_end(w);
	if (e == ERR_TIMEOUT && !flag_leave(w)) {
		call_begin(w, 12, "csq");
		e = GSM_GetSignalQuality(p->sm, &sig); /* one more chance before calling it lost */
		call_end(w);
	}
	if (is_modem_error(e)) {
		go_lost(w, "health (AT+CSQ)", e);
		return;
	}
	ev = ev_new(w, MDM_EV_HEALTH);
	ev->u.health.signal_pct = e == ERR_NONE ? sig.SignalPercent : -1;
	ev->u.health.rssi_dbm = e == ERR_NONE && sig.SignalStrength < -1 ? sig.SignalStrength : 0;

	memset(&ni, 0, sizeof(ni));
	call_begin(w, 12, "network");
	e = GSM_GetNetworkInfo(p->sm, &ni);
	call_end(w);
	if (e == ERR_NONE) {
		ev->u.health.registered = ni.State == GSM_HomeNetwork || ni.State == GSM_RoamingNetwork;
		gu_to_utf8(ni.NetworkName, sizeof(ni.NetworkName), ev->u.health.network,
			   sizeof(ev->u.health.network));
		if (!ev->u.health.network[0])
			snprintf(ev->u.health.network, sizeof(ev->u.health.network), "%s", ni.NetworkCode);
	} else if (check_lost(w, e, "health (network)")) {
		free(ev);
		return;
	}

	call_begin(w, 12, "sim");
	e = GSM_GetSecurityStatus(p->sm, &sec);
	call_end(w);
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
	} else if (check_lost(w, e, "health (SIM)")) {
		free(ev);
		return;
	}
	snprintf(ev->u.health.sim, sizeof(ev->u.health.sim), "%s", simst);

	memset(&st, 0, sizeof(st));
	call_begin(w, 12, "smsmem");
	e = GSM_GetSMSStatus(p->sm, &st);
	call_end(w);
	if (e == ERR_NONE) {
		ev->u.health.sim_used = (unsigned)(st.SIMUsed > 0 ? st.SIMUsed : 0) +
					(unsigned)(st.PhoneUsed > 0 ? st.PhoneUsed : 0);
		ev->u.health.sim_size = (unsigned)(st.SIMSize > 0 ? st.SIMSize : 0) +
					(unsigned)(st.PhoneSize > 0 ? st.PhoneSize : 0);
	} else if (check_lost(w, e, "health (SMS memory)")) {
		free(ev);
		return;
	}
	mdm_pool_emit(w->pool, ev);
}

static void ring_check(struct mdm_worker *w)
{
	struct mdm_wpriv *p = w->p;
	struct mdm_event *ev;
	int64_t t = now_ms();

	if (p->ring_active && t - p->ring_last > RING_SAME_CALL_MS)
		p->ring_active = false; /* the call ended without a notice */
	if (!p->ring_active || p->ring_emitted)
		return;
	if (!p->ring_caller[0] && t - p->ring_first < RING_CLIP_WAIT_MS)
		return;
	p->ring_emitted = true;
	ev = ev_new(w, MDM_EV_RING);
	snprintf(ev->u.ring.caller, sizeof(ev->u.ring.caller), "%s", p->ring_caller);
	mdm_pool_emit(w->pool, ev);
}

/* ---- connection ---- */

static void teardown(struct mdm_worker *w)
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
	llist_for_each_entry_safe(f, tmp, &p->full, list) {
		/* whole messages that came just before the connection dropped: still hand them over */
		llist_del(&f->list);
		emit_message(w, &f->sms, 0, f->raw);
		free(f);
	}
}

static GSM_Error setup_modem(struct mdm_worker *w, GSM_StateMachine *sm);

/* After a connect: linli's own AT+CMGS on libgammu's descriptor when there is one to be had. */
static void choose_path(struct mdm_worker *w)
{
	struct mdm_wpriv *p = w->p;
	int fd;

	p->fd = -1;
	p->own = false;
	p->own_checked = false;
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
	mdm_at_init(&p->at, fd, on_urc, at_leave, w);
	snprintf(p->path, sizeof(p->path), "own AT+CMGS on fd %d", fd);
}

static GSM_Error connect_modem(struct mdm_worker *w)
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

	call_begin(w, 60, "connect");
	e = GSM_InitConnection_Log(sm, 1, gammu_log, w);
	if (e == ERR_NONE)
		e = setup_modem(w, sm);
	call_end(w);
	return e;
}

static GSM_Error setup_modem(struct mdm_worker *w, GSM_StateMachine *sm)
{
	struct mdm_wpriv *p = w->p;
	GSM_Error e;
	char manuf[GSM_MAX_MANUFACTURER_LENGTH + 1] = "", model[GSM_MAX_MODEL_LENGTH + 1] = "";

	/* InitConnection cleared the callbacks */
	GSM_SetIncomingSMSCallback(sm, on_sms, w);
	GSM_SetSendSMSStatusCallback(sm, on_send_status, w);
	GSM_SetIncomingCallCallback(sm, on_call, w);

	e = GSM_SetIncomingSMS(sm, TRUE);
	if (is_modem_error(e))
		return e;
	e = GSM_SetIncomingCall(sm, TRUE);
	if (is_modem_error(e))
		return e;

	p->imei[0] = '\0';
	e = GSM_GetIMEI(sm, p->imei);
	if (is_modem_error(e))
		return e;
	GSM_GetManufacturer(sm, manuf);
	e = GSM_GetModel(sm, model);
	if (is_modem_error(e))
		return e;
	snprintf(p->model, sizeof(p->model), "%s%s%s", manuf, manuf[0] && model[0] ? " " : "", model);

	memset(&p->smsc, 0, sizeof(p->smsc));
	p->smsc.Location = 1;
	e = GSM_GetSMSC(sm, &p->smsc);
	p->have_smsc = e == ERR_NONE && UnicodeLength(p->smsc.Number) > 0;
	if (is_modem_error(e))
		return e;
	return ERR_NONE;
}

static void run_connected(struct mdm_worker *w)
{
	struct mdm_wpriv *p = w->p;
	int64_t next_poll = 0, next_health = 0, next_devcheck = 0;
	struct mdm_cmd *c;

	p->read_errors = 0;
	p->read_eofs = 0;
	while (!p->lost && !flag_leave(w)) {
		int64_t t;

		flush_full(w);
		ring_check(w);
		if (p->nloc) {
			read_notified(w);
			continue;
		}
		if ((c = pop_cmd(w))) {
			if (c->type == MDM_CMD_SEND) {
				do_send(w, c);
				free_cmd(c);
			} else if (c->type == MDM_CMD_HANGUP) {
				do_hangup(w);
				free_cmd(c);
			} else if (do_delete(w, c)) {
				free_cmd(c);
			} else {
				push_front(w, c);
			}
			continue;
		}
		if (holding(w)) {
			/* a message just handed over may be an SOS: no poll or health check now */
			service_device(w);
			continue;
		}
		t = now_ms();
		if (t >= next_poll) {
			poll_storage(w);
			handed_expire(p);
			next_poll = now_ms() + (int64_t)w->cfg.poll_s * 1000;
			continue;
		}
		if (t >= next_health) {
			health(w);
			next_health = now_ms() + (int64_t)w->cfg.health_s * 1000;
			continue;
		}
		/* a USB modem unplugged: its device node goes away */
		if (t >= next_devcheck) {
			next_devcheck = t + 1000;
			if (w->cfg.device[0] == '/' && strcmp(w->cfg.connection, "proxyat") &&
			    access(w->cfg.device, F_OK) != 0) {
				go_lost(w, "device node gone", ERR_DEVICENOTEXIST);
				continue;
			}
		}
		/* nothing to do: let unsolicited codes in (at most a 50 ms select on the device) */
		service_device(w);
	}
}

/* Wait up to ms for stop/reset/commands; answers sends that come meanwhile. */
static void offline_wait(struct mdm_worker *w, unsigned ms, const char *why)
{
	int64_t deadline = now_ms() + ms;

	for (;;) {
		struct timespec ts;
		int64_t left;
		bool has_send = false;
		struct mdm_cmd *c;

		answer_offline(w, false, why);
		left = deadline - now_ms();
		if (left <= 0)
			return;
		pthread_mutex_lock(&w->lock);
		if (w->stop || w->reset) {
			pthread_mutex_unlock(&w->lock);
			return;
		}
		llist_for_each_entry(c, &w->cmds, list)
			if (c->type == MDM_CMD_SEND)
				has_send = true;
		if (!has_send) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += left / 1000;
			ts.tv_nsec += (long)(left % 1000) * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&w->cond, &w->lock, &ts);
		}
		pthread_mutex_unlock(&w->lock);
	}
}

void *mdm_worker_main(void *arg)
{
	struct mdm_worker *w = arg;
	struct mdm_wpriv *p;
	unsigned backoff = 1000;
	const char *dbgpath;
	char reason[160];

	while (!(p = calloc(1, sizeof(*p))))
		sleep_ms(100);
	w->p = p;
	INIT_LLIST_HEAD(&p->full);
	p->last_err = -1;
	p->fd = -1;
	p->concat_ref = (unsigned)time(NULL) * 7u + w->idx * 61u;
	dbgpath = getenv("LINLI_GAMMU_DEBUG");
	if (dbgpath && dbgpath[0]) {
		p->dbg = fopen(dbgpath, "a");
		if (p->dbg)
			setvbuf(p->dbg, NULL, _IOLBF, 0);
	}

	set_state(w, MDM_ST_CONNECTING, "starting");
	while (!flag_stop(w)) {
		GSM_Error e;

		pthread_mutex_lock(&w->lock);
		w->reset = false;
		pthread_mutex_unlock(&w->lock);
		p->lost = false;
		p->lost_reason[0] = '\0';

		e = connect_modem(w);
		if (e != ERR_NONE) {
			teardown(w);
			if (flag_stop(w))
				break;
			snprintf(reason, sizeof(reason), "connect %.100s: %s", w->cfg.device, GSM_ErrorName(e));
			if (p->state != MDM_ST_LOST)
				set_state(w, MDM_ST_LOST, reason);
			offline_wait(w, backoff, "modem not connected");
			backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
			continue;
		}
		backoff = 1000;
		choose_path(w);
		snprintf(reason, sizeof(reason), "connected, sending with %s", p->path);
		set_state(w, MDM_ST_READY, reason);
		run_connected(w);
		if (flag_stop(w))
			break;
		pthread_mutex_lock(&w->lock);
		bool was_reset = w->reset;
		pthread_mutex_unlock(&w->lock);
		if (p->lost && !was_reset) {
			snprintf(reason, sizeof(reason), "%s", p->lost_reason);
			teardown(w);
			set_state(w, MDM_ST_LOST, reason);
			offline_wait(w, backoff, "modem lost");
			backoff *= 2;
		} else {
			teardown(w);
			set_state(w, MDM_ST_CONNECTING, "reset");
			answer_offline(w, false, "modem reset");
		}
	}

	teardown(w);
	answer_offline(w, true, "modem pool stopping");
	set_state(w, MDM_ST_STOPPED, "stopped");
	for (unsigned i = 0; i < PDU_RING; i++)
		free(p->pdu[i]);
	if (p->dbg)
		fclose(p->dbg);
	w->p = NULL;
	free(p);
	return NULL;
}
