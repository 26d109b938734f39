/* modemsim: SIM storage, incoming and sent SMS, status reports, and the control protocol on a
 * unix stream socket (one text line per command; see README.md). */

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tests/modemsim/modemsim.h"

#define CTL_LINE_MAX (64 * 1024)

/* ---- escaping of texts in commands and listings ---- */

static void escape(struct ms_buf *b, const char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n') {
			ms_buf_add(b, "\\n", 2);
		} else if (c == '\t') {
			ms_buf_add(b, "\\t", 2);
		} else if (c == '\\') {
			ms_buf_add(b, "\\\\", 2);
		} else if (c < 0x20 || c == 0x7f) {
			ms_buf_printf(b, "\\x%02x", c);
		} else if (c < 0x80) {
			ms_buf_add(b, &s[i], 1);
		} else {
			size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;

			if (n > 1 && i + n <= len && utf8_validate(s + i, n, NULL) == 0) {
				ms_buf_add(b, s + i, n);
				i += n;
				continue;
			}
			ms_buf_printf(b, "\\x%02x", c);
		}
		i++;
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Undo escape() in place; returns the new length. */
static size_t unescape(char *s)
{
	char *w = s, *r = s;

	while (*r) {
		if (*r != '\\' || !r[1]) {
			*w++ = *r++;
			continue;
		}
		r++;
		switch (*r) {
		case 'n':
			*w++ = '\n';
			r++;
			break;
		case 't':
			*w++ = '\t';
			r++;
			break;
		case 'r':
			*w++ = '\r';
			r++;
			break;
		case 'x':
			if (hexval(r[1]) >= 0 && hexval(r[2]) >= 0) {
				*w++ = (char)(hexval(r[1]) << 4 | hexval(r[2]));
				r += 3;
				break;
			}
			/* fall through */
		default:
			*w++ = *r++;
		}
	}
	*w = 0;
	return (size_t)(w - s);
}

static const char *coding_name(enum sms_coding c)
{
	return c == SMS_CODING_UCS2 ? "ucs2" : c == SMS_CODING_8BIT ? "8bit" : "gsm7";
}

/* ---- SIM storage ---- */

unsigned ms_sim_used(void)
{
	unsigned i, n = 0;

	for (i = 1; i <= ms.sim_size; i++)
		n += ms.sim[i].used;
	return n;
}

unsigned ms_sim_free_index(void)
{
	unsigned i;

	if (ms.full)
		return 0;
	for (i = 1; i <= ms.sim_size; i++)
		if (!ms.sim[i].used)
			return i;
	return 0;
}

static void hex_line(struct ms_buf *b, const uint8_t *p, size_t n)
{
	char hex[2 * PDU_MAX + 1];

	pdu_to_hex(p, n, hex);
	ms_buf_add(b, hex, 2 * n);
}

/* Store in slot idx and announce per CNMI. */
static void store(unsigned idx, const uint8_t *pdu, size_t sca_len, size_t len, bool report)
{
	struct ms_slot *s = &ms.sim[idx];
	char urc[64];

	s->used = true;
	s->stat = 0;
	s->report = report;
	memcpy(s->pdu, pdu, len);
	s->sca_len = sca_len;
	s->len = len;
	ms.st.stored++;
	if (!ms_at_cnmi_on())
		return;
	if (report && ms_at_cnmi_ds() == 2) {
		snprintf(urc, sizeof(urc), "+CDSI: \"SM\",%u", idx);
		ms_at_urc(urc);
	} else if (!report && (ms_at_cnmi_mt() == 1 || ms_at_cnmi_mt() == 3)) {
		snprintf(urc, sizeof(urc), "+CMTI: \"SM\",%u", idx);
		ms_at_urc(urc);
	}
}

int ms_sms_incoming(const uint8_t *pdu, size_t sca_len, size_t len, bool report)
{
	struct ms_incoming *in;
	unsigned idx;

	if (ms_at_cnmi_on() && ((report && ms_at_cnmi_ds() == 1) || (!report && ms_at_cnmi_mt() == 2))) {
		struct ms_buf b = {0};

		ms_buf_printf(&b, report ? "+CDS: %zu\r\n" : "+CMT: ,%zu\r\n", len - sca_len);
		hex_line(&b, pdu, len);
		ms_at_urc(b.d);
		ms_buf_free(&b);
		return 0;
	}
	idx = ms.pending ? 0 : ms_sim_free_index();
	if (idx) {
		store(idx, pdu, sca_len, len, report);
		return (int)idx;
	}
	in = calloc(1, sizeof(*in));
	if (!in)
		return -ENOMEM;
	in->report = report;
	memcpy(in->pdu, pdu, len);
	in->sca_len = sca_len;
	in->len = len;
	*ms.pending_tail = in;
	ms.pending_tail = &in->next;
	ms.npending++;
	return -ENOSPC;
}

void ms_sms_drain_pending(void)
{
	unsigned idx;

	while (ms.pending && (idx = ms_sim_free_index())) {
		struct ms_incoming *in = ms.pending;

		ms.pending = in->next;
		if (!ms.pending)
			ms.pending_tail = &ms.pending;
		ms.npending--;
		store(idx, in->pdu, in->sca_len, in->len, in->report);
		free(in);
	}
}

/* ---- sent messages ---- */

struct sent_part {
	char dest[PDU_ADDR_MAX];
	unsigned mr;
	bool concat;
	struct sms_concat c;
	enum sms_coding coding;
	char *text;
	size_t text_len;
};

struct sent_msg {
	char dest[PDU_ADDR_MAX];
	bool concat;
	struct sms_concat c; /* ref, total, ref16 */
	unsigned have;
	size_t *part; /* index into parts, per seq - 1; SIZE_MAX when missing */
};

static struct sent_part *parts;
static size_t nparts, capparts;
static struct sent_msg *msgs;
static size_t nmsgs, capmsgs;

static void *grow(void *p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return p;
	*cap = *cap ? *cap * 2 : 64;
	p = realloc(p, *cap * size);
	if (!p) {
		perror("modemsim: realloc");
		exit(1);
	}
	return p;
}

/* ---- the PDUs on the wire ---- */

static struct ms_buf wire; /* "<n>\t<cmgs len>\t<HEX>\n" per accepted AT+CMGS */
static size_t nwire;

void ms_sms_wire(unsigned cmgs_len, const uint8_t *pdu, size_t len)
{
	ms_buf_printf(&wire, "%zu\t%u\t", ++nwire, cmgs_len);
	hex_line(&wire, pdu, len);
	ms_buf_add(&wire, "\n", 1);
}

static void sent_clear(void)
{
	size_t i;

	ms_buf_reset(&wire);
	nwire = 0;
	for (i = 0; i < nparts; i++)
		free(parts[i].text);
	for (i = 0; i < nmsgs; i++)
		free(msgs[i].part);
	nparts = nmsgs = 0;
}

static void sent_add(const struct pdu_submit *sub, unsigned mr)
{
	struct sent_part *p;
	struct sent_msg *m = NULL;
	size_t i, pi = nparts, lim;

	parts = grow(parts, &capparts, nparts, sizeof(*parts));
	p = &parts[nparts++];
	memset(p, 0, sizeof(*p));
	snprintf(p->dest, sizeof(p->dest), "%s", sub->da);
	p->mr = mr;
	p->concat = sub->has_concat;
	p->c = sub->concat;
	p->coding = sub->coding;
	p->text = malloc(sub->text_len + 1);
	if (!p->text) {
		perror("modemsim: malloc");
		exit(1);
	}
	memcpy(p->text, sub->text, sub->text_len + 1);
	p->text_len = sub->text_len;

	if (p->concat && p->c.total > 1) {
		/* the newest incomplete message with the same key that lacks this part */
		lim = nmsgs > 4096 ? nmsgs - 4096 : 0;
		for (i = nmsgs; i-- > lim;) {
			struct sent_msg *q = &msgs[i];

			if (q->concat && q->c.ref == p->c.ref && q->c.ref16 == p->c.ref16 && q->c.total == p->c.total &&
			    q->have < q->c.total && q->part[p->c.seq - 1] == SIZE_MAX && !strcmp(q->dest, p->dest)) {
				m = q;
				break;
			}
		}
	}
	if (!m) {
		unsigned total = p->concat ? p->c.total : 1, k;

		msgs = grow(msgs, &capmsgs, nmsgs, sizeof(*msgs));
		m = &msgs[nmsgs++];
		memset(m, 0, sizeof(*m));
		snprintf(m->dest, sizeof(m->dest), "%s", p->dest);
		m->concat = p->concat && total > 1;
		m->c = p->c;
		m->c.total = total;
		m->part = malloc(total * sizeof(*m->part));
		if (!m->part) {
			perror("modemsim: malloc");
			exit(1);
		}
		for (k = 0; k < total; k++)
			m->part[k] = SIZE_MAX;
	}
	m->part[m->concat ? p->c.seq - 1 : 0] = pi;
	m->have++;
}

static void list_sent(struct ms_buf *b)
{
	size_t i;
	unsigned k;

	for (i = 0; i < nmsgs; i++) {
		struct sent_msg *m = &msgs[i];
		bool first = true;

		ms_buf_printf(b, "%zu\t%s\t", i + 1, m->dest);
		if (m->have == m->c.total)
			ms_buf_printf(b, "%u\t", m->c.total);
		else
			ms_buf_printf(b, "%u/%u\t", m->have, m->c.total);
		for (k = 0; k < m->c.total; k++) {
			if (m->part[k] == SIZE_MAX)
				continue;
			ms_buf_printf(b, first ? "%u" : ",%u", parts[m->part[k]].mr);
			first = false;
		}
		ms_buf_add(b, "\t", 1);
		for (k = 0; k < m->c.total; k++)
			if (m->part[k] != SIZE_MAX)
				escape(b, parts[m->part[k]].text, parts[m->part[k]].text_len);
		ms_buf_add(b, "\n", 1);
	}
}

static void list_sentparts(struct ms_buf *b)
{
	size_t i;

	for (i = 0; i < nparts; i++) {
		struct sent_part *p = &parts[i];

		ms_buf_printf(b, "%zu\t%s\t%u\t", i + 1, p->dest, p->mr);
		if (p->concat)
			ms_buf_printf(b, "%u/%u/%u", p->c.ref, p->c.seq, p->c.total);
		else
			ms_buf_add(b, "-/1/1", 5);
		ms_buf_printf(b, "\t%s\t", coding_name(p->coding));
		escape(b, p->text, p->text_len);
		ms_buf_add(b, "\n", 1);
	}
}

/* ---- status reports ---- */

struct report {
	unsigned mr;
	char ra[PDU_ADDR_MAX];
	time_t submitted;
};

static void report_fire(void *data)
{
	struct report *r = data;
	uint8_t pdu[PDU_MAX];
	int sca, n;

	sca = pdu_sca_encode(ms.smsc, pdu);
	if (sca < 0)
		sca = pdu_sca_encode("", pdu);
	n = pdu_status_report_encode(r->mr, r->ra, r->submitted, time(NULL), ms.report_status, pdu + sca,
				     sizeof(pdu) - (size_t)sca);
	if (n > 0) {
		ms.st.reports++;
		ms_sms_incoming(pdu, (size_t)sca, (size_t)(sca + n), true);
	}
	free(r);
}

int ms_sms_submitted(const uint8_t *tpdu, size_t len, unsigned mr)
{
	struct pdu_submit sub;

	if (pdu_submit_decode(tpdu, len, &sub) < 0)
		return -EINVAL;
	sent_add(&sub, mr);
	ms_log("sent mr=%u to %s (%s, %zu bytes)", mr, sub.da, coding_name(sub.coding), sub.text_len);
	if (sub.srr && ms.reports) {
		struct report *r = calloc(1, sizeof(*r));

		if (r) {
			r->mr = mr;
			snprintf(r->ra, sizeof(r->ra), "%s", sub.da);
			r->submitted = time(NULL);
			ms_timer_add(ms.report_delay_ms, report_fire, r);
		}
	}
	return 0;
}

/* ---- deliver ---- */

struct dpart {
	enum sms_coding coding;
	uint8_t ud[PDU_UD_MAX * 8 / 7 + 8];
	size_t udl;
};

static struct dpart dparts[SMS_MAX_PARTS];
static unsigned deliver_ref;

/* Cut text into parts; returns the number of parts or -errno with *why set. */
static int deliver_split(const char *text, size_t len, int force, const char **why)
{
	static uint16_t u[SMS_MAX_PARTS * SMS_UCS2_MULTI + 2];
	static struct sms_split sp;
	unsigned i;
	int n;

	if (utf8_validate(text, len, NULL) < 0) {
		/* not UTF-8: the bytes as an 8-bit data message */
		size_t per = len <= PDU_UD_MAX ? PDU_UD_MAX : PDU_UD_MAX - 6, off = 0;

		n = 0;
		do {
			size_t k = len - off < per ? len - off : per;

			if (n == SMS_MAX_PARTS) {
				*why = "too long";
				return -EMSGSIZE;
			}
			dparts[n].coding = SMS_CODING_8BIT;
			memcpy(dparts[n].ud, text + off, k);
			dparts[n].udl = k;
			off += k;
			n++;
		} while (off < len);
		return n;
	}
	if (force == SMS_CODING_UCS2) {
		size_t nu, off = 0;
		int r = sms_utf8_to_utf16(text, len, u, sizeof(u) / sizeof(u[0]));

		if (r < 0) {
			*why = "too long";
			return r;
		}
		nu = (size_t)r;
		n = 0;
		do {
			size_t per = nu <= SMS_UCS2_SINGLE ? SMS_UCS2_SINGLE : SMS_UCS2_MULTI;
			size_t k = nu - off < per ? nu - off : per, j;

			if (off + k < nu && u[off + k - 1] >= 0xd800 && u[off + k - 1] < 0xdc00)
				k--; /* never split a surrogate pair */
			if (n == SMS_MAX_PARTS) {
				*why = "too long";
				return -EMSGSIZE;
			}
			dparts[n].coding = SMS_CODING_UCS2;
			for (j = 0; j < k; j++) {
				dparts[n].ud[2 * j] = (uint8_t)(u[off + j] >> 8);
				dparts[n].ud[2 * j + 1] = (uint8_t)u[off + j];
			}
			dparts[n].udl = 2 * k;
			off += k;
			n++;
		} while (off < nu);
		return n;
	}
	if (force == SMS_CODING_GSM7 && !sms_gsm7_fits(text, len)) {
		*why = "text does not fit GSM 7-bit";
		return -EINVAL;
	}
	n = sms_split(text, len, &sp);
	if (n < 0) {
		*why = "cannot split";
		return n;
	}
	for (i = 0; i < sp.nparts; i++) {
		struct dpart *d = &dparts[i];
		const char *s = text + sp.part[i].off;
		int r;

		d->coding = sp.coding;
		if (sp.coding == SMS_CODING_GSM7) {
			r = sms_utf8_to_gsm7(s, sp.part[i].len, d->ud, sizeof(d->ud));
			if (r < 0) {
				*why = "gsm7 conversion";
				return r;
			}
			d->udl = (size_t)r;
		} else {
			uint16_t pu[SMS_UCS2_SINGLE + 2];
			int j;

			r = sms_utf8_to_utf16(s, sp.part[i].len, pu, SMS_UCS2_SINGLE + 2);
			if (r < 0) {
				*why = "ucs2 conversion";
				return r;
			}
			for (j = 0; j < r; j++) {
				d->ud[2 * j] = (uint8_t)(pu[j] >> 8);
				d->ud[2 * j + 1] = (uint8_t)pu[j];
			}
			d->udl = 2 * (size_t)r;
		}
	}
	return (int)sp.nparts;
}

static bool parse_uint(const char *s, unsigned long max, unsigned long *v)
{
	char *end;

	if (!*s || *s == '-')
		return false;
	errno = 0;
	*v = strtoul(s, &end, 10);
	return !*end && !errno && *v <= max;
}

static void cmd_deliver(char *args, struct ms_buf *o)
{
	unsigned order[SMS_MAX_PARTS * 2];
	unsigned norder = 0, i;
	const char *order_opt = NULL, *why = "bad text";
	char *number = NULL, *text = "", *p = args;
	long ref = -1;
	int force = -1, n;
	time_t ts = time(NULL);
	size_t len;
	int first = 0;
	bool first_set = false;

	while (*p) {
		char *tok = p, *sp = strchr(p, ' ');
		unsigned long v;

		if (sp)
			*sp = 0;
		p = sp ? sp + 1 : p + strlen(p);
		if (!strncmp(tok, "order=", 6)) {
			order_opt = tok + 6;
		} else if (!strncmp(tok, "ref=", 4)) {
			if (!parse_uint(tok + 4, 255, &v)) {
				ms_buf_printf(o, "err bad ref\n");
				return;
			}
			ref = (long)v;
		} else if (!strcmp(tok, "ucs2")) {
			force = SMS_CODING_UCS2;
		} else if (!strcmp(tok, "gsm7")) {
			force = SMS_CODING_GSM7;
		} else if (!strncmp(tok, "smsc-ts=", 8)) {
			if (!parse_uint(tok + 8, (unsigned long)INT32_MAX * 2, &v)) {
				ms_buf_printf(o, "err bad smsc-ts\n");
				return;
			}
			ts = (time_t)v;
		} else if (*tok) {
			number = tok;
			text = p;
			break;
		}
	}
	if (!number) {
		ms_buf_printf(o, "err usage: deliver [order=...] [ref=N] [ucs2|gsm7] [smsc-ts=T] NUMBER TEXT\n");
		return;
	}
	len = unescape(text);
	n = deliver_split(text, len, force, &why);
	if (n < 0) {
		ms_buf_printf(o, "err %s\n", why);
		return;
	}
	if (ref < 0)
		ref = deliver_ref++ & 255;
	if (!order_opt || !strcmp(order_opt, "natural")) {
		for (i = 0; i < (unsigned)n; i++)
			order[norder++] = i;
	} else if (!strcmp(order_opt, "reverse")) {
		for (i = (unsigned)n; i-- > 0;)
			order[norder++] = i;
	} else if (!strcmp(order_opt, "shuffle")) {
		for (i = 0; i < (unsigned)n; i++)
			order[norder++] = i;
		for (i = norder; i > 1; i--) {
			unsigned j = (unsigned)rand() % i, t = order[i - 1];

			order[i - 1] = order[j];
			order[j] = t;
		}
	} else {
		char *q = (char *)order_opt;

		while (*q) {
			unsigned long v;
			char *end;

			v = strtoul(q, &end, 10);
			if (end == q || v < 1 || v > (unsigned long)n || norder == sizeof(order) / sizeof(order[0]) ||
			    (*end && *end != ',')) {
				ms_buf_printf(o, "err bad order (parts are 1..%d)\n", n);
				return;
			}
			order[norder++] = (unsigned)v - 1;
			q = *end ? end + 1 : end;
		}
	}
	for (i = 0; i < norder; i++) {
		struct dpart *d = &dparts[order[i]];
		struct pdu_deliver pd = {
			.oa = number,
			.coding = d->coding,
			.scts = ts,
			.has_concat = n > 1,
			.concat = {.ref = (unsigned)ref, .total = (unsigned)n, .seq = order[i] + 1},
			.ud = d->ud,
			.udl = d->coding == SMS_CODING_GSM7 ? d->udl : d->udl,
		};
		uint8_t pdu[PDU_MAX];
		int sca = pdu_sca_encode(ms.smsc, pdu), t, r;

		if (sca < 0)
			sca = pdu_sca_encode("", pdu);
		t = pdu_deliver_encode(&pd, pdu + sca, sizeof(pdu) - (size_t)sca);
		if (t < 0) {
			ms_buf_printf(o, "err cannot encode (bad number?)\n");
			return;
		}
		ms.st.delivered++;
		r = ms_sms_incoming(pdu, (size_t)sca, (size_t)(sca + t), false);
		if (!first_set) {
			first = r;
			first_set = true;
		}
	}
	if (first > 0)
		ms_buf_printf(o, "ok %d %d\n", n, first);
	else if (first == 0 && norder)
		ms_buf_printf(o, "ok %d direct\n", n);
	else
		ms_buf_printf(o, "ok %d pending\n", n);
}

static void cmd_deliverpdu(char *args, struct ms_buf *o)
{
	uint8_t pdu[PDU_MAX];
	size_t hl = strlen(args);
	int sca, n, r;

	while (hl && args[hl - 1] == ' ')
		hl--;
	sca = pdu_sca_encode(ms.smsc, pdu);
	if (sca < 0)
		sca = pdu_sca_encode("", pdu);
	n = pdu_from_hex(args, hl, pdu + sca, sizeof(pdu) - (size_t)sca);
	if (n <= 0) {
		ms_buf_printf(o, "err bad hex\n");
		return;
	}
	ms.st.delivered++;
	r = ms_sms_incoming(pdu, (size_t)sca, (size_t)(sca + n), false);
	if (r > 0)
		ms_buf_printf(o, "ok %d\n", r);
	else if (r == 0)
		ms_buf_printf(o, "ok direct\n");
	else
		ms_buf_printf(o, "ok pending\n");
}

/* storeout STAT HEX: an outgoing message (an SMS-SUBMIT TPDU) stored with <stat> 2 or 3, as a phone
 * or an earlier AT+CMGW left it. */
static void cmd_storeout(char *args, struct ms_buf *o)
{
	char *hex = strchr(args, ' ');
	struct pdu_submit sub;
	struct ms_slot *sl;
	unsigned idx;
	int n;

	if (!hex || (strncmp(args, "2 ", 2) && strncmp(args, "3 ", 2))) {
		ms_buf_printf(o, "err usage: storeout 2|3 HEX\n");
		return;
	}
	hex++;
	idx = ms_sim_free_index();
	if (!idx) {
		ms_buf_printf(o, "err SIM full\n");
		return;
	}
	sl = &ms.sim[idx];
	memset(sl, 0, sizeof(*sl));
	sl->pdu[0] = 0; /* no SMSC address */
	n = pdu_from_hex(hex, strlen(hex), sl->pdu + 1, sizeof(sl->pdu) - 1);
	if (n <= 0 || pdu_submit_decode(sl->pdu + 1, (size_t)n, &sub) < 0) {
		ms_buf_printf(o, "err not an SMS-SUBMIT TPDU\n");
		return;
	}
	sl->used = true;
	sl->stat = (unsigned)(args[0] - '0');
	sl->sca_len = 1;
	sl->len = (size_t)n + 1;
	ms_buf_printf(o, "ok %u\n", idx);
}

static void list_storage(struct ms_buf *b)
{
	unsigned i;

	for (i = 1; i <= ms.sim_size; i++) {
		struct ms_slot *s = &ms.sim[i];
		const uint8_t *t = s->pdu + s->sca_len;
		size_t tl = s->len - s->sca_len;
		char addr[PDU_ADDR_MAX];

		if (!s->used)
			continue;
		ms_buf_printf(b, "%u\t%u\t", i, s->stat);
		if (s->report) {
			int n = tl > 2 ? pdu_addr_decode(t + 2, tl - 2, addr, sizeof(addr)) : -EINVAL;

			if (n > 0 && (size_t)(2 + n + 14) < tl)
				ms_buf_printf(b, "%s\tstatus-report mr=%u st=%u\n", addr, t[1], t[2 + n + 14]);
			else
				ms_buf_printf(b, "?\tstatus-report\n");
		} else {
			static struct pdu_deliver_info d;

			if (pdu_deliver_decode(t, tl, &d) == 0) {
				ms_buf_printf(b, "%s\t", d.oa);
				escape(b, d.text, d.text_len);
				ms_buf_add(b, "\n", 1);
			} else {
				char hex[2 * PDU_MAX + 1];

				pdu_to_hex(t, tl, hex);
				ms_buf_printf(b, "?\tpdu:%s\n", hex);
			}
		}
	}
}

/* ---- control connections ---- */

struct client {
	int fd;
	struct ms_buf in, out;
	bool closing;
};

static void client_close(struct client *c)
{
	ms_fd_unwatch(c->fd);
	close(c->fd);
	ms_buf_free(&c->in);
	ms_buf_free(&c->out);
	free(c);
}

static bool on_off(const char *s, bool *v)
{
	if (!strcmp(s, "on"))
		*v = true;
	else if (!strcmp(s, "off"))
		*v = false;
	else
		return false;
	return true;
}

static void command(struct client *c, char *line)
{
	struct ms_buf *o = &c->out;
	char *args = strchr(line, ' ');
	unsigned long v, v2;
	bool b;

	if (args)
		*args++ = 0;
	else
		args = line + strlen(line);
	ms_log("ctl %s %s", line, args);

	if (!strcmp(line, "deliver")) {
		cmd_deliver(args, o);
	} else if (!strcmp(line, "deliverpdu")) {
		cmd_deliverpdu(args, o);
	} else if (!strcmp(line, "storeout")) {
		cmd_storeout(args, o);
	} else if (!strcmp(line, "sent")) {
		list_sent(o);
		ms_buf_add(o, ".\n", 2);
	} else if (!strcmp(line, "sentparts")) {
		list_sentparts(o);
		ms_buf_add(o, ".\n", 2);
	} else if (!strcmp(line, "sentpdus")) {
		if (wire.len > wire.off)
			ms_buf_add(o, wire.d + wire.off, wire.len - wire.off);
		ms_buf_add(o, ".\n", 2);
	} else if (!strcmp(line, "inject")) {
		static const char *const pts[] = {"prompt", "airtime", "ok", "cmss"};
		char *pt = args, *what = strchr(args, ' '), *text = NULL;
		int k;

		if (!strcmp(args, "clear")) {
			ms_at_inject_clear();
			ms_buf_printf(o, "ok\n");
			return;
		}
		if (what)
			*what++ = 0;
		if (what && (text = strchr(what, ' ')))
			*text++ = 0;
		for (k = 0; k < _MS_PT_NUM && strcmp(pt, pts[k]); k++)
			;
		if (k == _MS_PT_NUM || !what ||
		    (strcmp(what, "release") && strcmp(what, "hang") && (strcmp(what, "line") || !text || !*text))) {
			ms_buf_printf(
				o, "err usage: inject prompt|airtime|ok|cmss release|hang|line TEXT, inject clear\n");
			return;
		}
		if (text)
			unescape(text);
		ms_at_inject((enum ms_point)k,
			     !strcmp(what, "release") ? MS_INJ_RELEASE
			     : !strcmp(what, "hang")  ? MS_INJ_HANG
						      : MS_INJ_LINE,
			     text);
		ms_buf_printf(o, "ok\n");
	} else if (!strcmp(line, "urc-hold")) {
		if (!on_off(args, &b)) {
			ms_buf_printf(o, "err usage: urc-hold on|off\n");
			return;
		}
		ms.urc_hold = b;
		if (!b)
			ms_at_kick();
		ms_buf_printf(o, "ok\n");
	} else if (!strcmp(line, "cmms")) {
		if (!on_off(args, &b)) {
			ms_buf_printf(o, "err usage: cmms on|off\n");
			return;
		}
		ms.cmms_refuse = !b;
		ms_buf_printf(o, "ok\n");
	} else if (!strcmp(line, "store")) {
		if (!on_off(args, &b)) {
			ms_buf_printf(o, "err usage: store on|off\n");
			return;
		}
		ms.store_refuse = !b;
		ms_buf_printf(o, "ok\n");
	} else if (!strcmp(line, "noprompt")) {
		if (!parse_uint(args, 1000000, &v)) {
			ms_buf_printf(o, "err usage: noprompt N\n");
			return;
		}
		ms.noprompt = (unsigned)v;
		ms_buf_printf(o, "ok\n");
	} else if (!strcmp(line, "storage")) {
		list_storage(o);
		ms_buf_add(o, ".\n", 2);
	} else if (!strcmp(line, "clear")) {
		sent_clear();
		ms_buf_printf(o, "ok\n");
	} else if (!strcmp(line, "ring")) {
		char *num = strtok(args, " "), *cnt = strtok(NULL, " ");

		if (!num || (cnt && !parse_uint(cnt, 100000, &v))) {
			ms_buf_printf(o, "err usage: ring NUMBER [COUNT]\n");
			return;
		}
		ms_at_ring(num, cnt ? (unsigned)v : 0);
		ms_buf_printf(o, "ok\n");
	} else if (!strcmp(line, "airtime")) {
		if (!parse_uint(args, 3600000, &v)) {
			ms_buf_printf(o, "err usage: airtime MS\n");
			return;
		}
		ms.airtime_ms = (unsigned)v;
		ms_buf_printf(o, "ok\n");
	} else if (!strcmp(line, "report-delay")) {
		if (!parse_uint(args, 3600000, &v)) {
			ms_buf_printf(o, "err usage: report-delay MS\n");
			return;
		}
		ms.report_delay_ms = (unsigned)v;
		ms_buf_printf(o, "ok\n");
	} else if (!strcmp(line, "fail")) {
		char *code = strtok(args, " "), *cnt = strtok(NULL, " ");

		if (!code || !cnt || !parse_uint(code, 65535, &v) || !parse_uint(cnt, 1000000000, &v2)) {
			ms_buf_printf(o, "err usage: fail CMS-CODE N\n");
			return;
		}
		ms.fail_code = (unsigned)v;
		ms.fail_count = (unsigned)v2;
		ms_buf_printf(o, "ok\n");
	} else if (!strcmp(line, "hang")) {
		if (!on_off(args, &b)) {
			ms_buf_printf(o, "err usage: hang on|off\n");
			return;
		}
		ms.hang = b;
		if (!b)
			ms_at_kick();
		ms_buf_printf(o, "ok\n");
	} else if (!strcmp(line, "full")) {
		if (!on_off(args, &b)) {
			ms_buf_printf(o, "err usage: full on|off\n");
			return;
		}
		ms.full = b;
		if (!b)
			ms_sms_drain_pending();
		ms_buf_printf(o, "ok\n");
	} else if (!strcmp(line, "reports")) {
		if (!on_off(args, &b)) {
			ms_buf_printf(o, "err usage: reports on|off\n");
			return;
		}
		ms.reports = b;
		ms_buf_printf(o, "ok\n");
	} else if (!strcmp(line, "report-status")) {
		if (!parse_uint(args, 255, &v)) {
			ms_buf_printf(o, "err usage: report-status TP-ST\n");
			return;
		}
		ms.report_status = (unsigned)v;
		ms_buf_printf(o, "ok\n");
	} else if (!strcmp(line, "vanish")) {
		int r = ms_pty_vanish();

		if (r < 0)
			ms_buf_printf(o, "err %s\n", strerror(-r));
		else
			ms_buf_printf(o, "ok\n");
	} else if (!strcmp(line, "appear")) {
		int r = ms_pty_appear();

		if (r < 0)
			ms_buf_printf(o, "err %s\n", strerror(-r));
		else
			ms_buf_printf(o, "ok\n");
	} else if (!strcmp(line, "stats")) {
		ms_buf_printf(o,
			      "ok cmgs=%lu cmgs_failed=%lu delivered=%lu stored=%lu deleted=%lu pending=%u reports=%lu "
			      "at_cmds=%lu injected=%lu early_pdu=%lu cmms=%u cmms_sets=%lu cmgw=%lu cmss=%lu\n",
			      ms.st.cmgs, ms.st.cmgs_failed, ms.st.delivered, ms.st.stored, ms.st.deleted, ms.npending,
			      ms.st.reports, ms.st.at_cmds, ms.st.injected, ms.st.early_pdu, ms_at_cmms(),
			      ms.st.cmms_sets, ms.st.cmgw, ms.st.cmss);
	} else if (!strcmp(line, "quit")) {
		ms_buf_printf(o, "ok bye\n");
		c->closing = true;
	} else if (ms_storm_command(line, args, o)) {
		/* storm.c's */
	} else if (!*line) {
		ms_buf_printf(o, "err empty command\n");
	} else {
		ms_buf_printf(o, "err unknown command %s\n", line);
	}
}

static void client_event(int fd, short revents, void *data)
{
	struct client *c = data;
	char buf[16384];
	ssize_t n;

	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		n = read(fd, buf, sizeof(buf));
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			client_close(c);
			return;
		}
		if (n > 0)
			ms_buf_add(&c->in, buf, (size_t)n);
		while (!c->closing && c->in.len > c->in.off) {
			char *start = c->in.d + c->in.off;
			char *nl = memchr(start, '\n', c->in.len - c->in.off);

			if (!nl) {
				if (c->in.len - c->in.off > CTL_LINE_MAX) {
					ms_buf_printf(&c->out, "err line too long\n");
					c->closing = true;
				}
				break;
			}
			*nl = 0;
			if (nl > start && nl[-1] == '\r')
				nl[-1] = 0;
			command(c, start);
			ms_buf_consume(&c->in, (size_t)(nl - start) + 1);
		}
	}
	while (c->out.len > c->out.off) {
		n = write(fd, c->out.d + c->out.off, c->out.len - c->out.off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				client_close(c);
				return;
			}
			break;
		}
		ms_buf_consume(&c->out, (size_t)n);
	}
	if (c->closing && c->out.len == c->out.off) {
		client_close(c);
		return;
	}
	/* stop reading while a big reply is pending: a client that does not read cannot grow us */
	ms_fd_events(fd, c->out.len > c->out.off ? POLLOUT : POLLIN);
}

void ms_ctl_accept(int lfd)
{
	for (;;) {
		struct client *c;
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			return;
		}
		c->fd = fd;
		ms_fd_watch(fd, POLLIN, client_event, c);
	}
}

static void listen_event(int fd, short revents, void *data)
{
	(void)revents;
	(void)data;
	ms_ctl_accept(fd);
}

int ms_ctl_listen(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path); /* a stale socket from an earlier run */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	ms_fd_watch(fd, POLLIN, listen_event, NULL);
	return fd;
}
