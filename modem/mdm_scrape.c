/* What libgammu does not expose, taken from its debug output (level "text", which the AT driver
 * writes through our log function, mdm_gammu_log): the numeric +CMS/+CME error of the last
 * command (needed only by the GSM_SendSMS path) and the hex PDU lines of +CMGR/+CMGL/+CMT answers,
 * so that SMS_IN can carry the raw PDU (mdm_find_raw). Worker thread. */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gammu.h>

#include "modem/mdm_errors.h"
#include "modem/mdm_wpriv.h"

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

void mdm_gammu_log(const char *text, void *data)
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
char *mdm_find_raw(struct mdm_worker *w, const GSM_SMSMessage *m)
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
			bin[j] = (unsigned char)(mdm_hexval(h[2 * j]) << 4 | mdm_hexval(h[2 * j + 1]));
		memset(&p->scratch, 0, sizeof(p->scratch));
		/* a silent debug target: the decode must not feed our own log parser */
		if (GSM_DecodePDUFrame(GSM_GetGlobalDebug(), &p->scratch, bin, n, &pos, TRUE) != ERR_NONE)
			continue;
		if (same_message(&p->scratch, m))
			return strdup(h);
	}
	return NULL;
}
