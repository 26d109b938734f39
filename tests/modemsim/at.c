/* The AT interpreter of modemsim: 3GPP TS 27.007 (general, network, calls) and 27.005 (SMS in
 * PDU mode), as much as libgammu's AT driver, gammu-smsd, smstools and Kannel use.
 *
 * Input is handled as a real modem does: characters are echoed as they arrive (ATE1), a command
 * line ends at CR, AT+CMGS switches to PDU entry after the "> " prompt until Ctrl-Z (send) or
 * ESC (cancel). Unsolicited result codes wait while a command is being typed or answered.
 */

#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tests/modemsim/modemsim.h"

#define LINE_MAX_AT 2048
#define PDU_HEX_MAX (2 * PDU_MAX + 16)
#define HELD_MAX    (1u << 20)

enum at_mode {
	AT_CMD,	 /* reading a command line */
	AT_PDU,	 /* after "> ": reading a PDU in hex */
	AT_BUSY, /* a command is in progress (air time): input waits */
};

/* Result of one command. */
enum res {
	R_OK,
	R_ERROR, /* plain ERROR, or +CME ERROR: <cme> */
	R_CMS,	 /* +CMS ERROR: <cms> */
	R_NONE,	 /* nothing now: the command answers later (prompt, air time) */
};

static struct {
	enum at_mode mode;
	char line[LINE_MAX_AT];
	size_t linelen;
	bool overflow;
	bool prev_cr;
	bool executing; /* inside execute(): URCs must wait for the final result code */

	bool echo;
	unsigned cmee;
	unsigned cmgf;
	unsigned cnmi[5];
	unsigned creg_n, cgreg_n, cops_format;
	unsigned csms;
	unsigned cfun;
	bool clip, crc;
	char cscs[8]; /* GSM, IRA or UCS2 */
	unsigned mr;

	/* AT+CMGS, AT+CMGW (cmgw: the PDU entry stores, does not send), AT+CMSS (cmss: the SIM index sent) */
	bool cmgw;
	unsigned cmss;
	size_t cmgs_len;
	char pdu_hex[PDU_HEX_MAX];
	size_t pdu_hexlen;
	bool pdu_overflow;
	uint8_t busy_pdu[PDU_MAX];
	size_t busy_tpdu_off, busy_tpdu_len;
	unsigned busy_fail;
	bool busy_cme; /* busy_fail is a +CME code (storm.c) */
	unsigned busy_gen;

	struct ms_buf urc;  /* framed URCs waiting for an idle moment */
	unsigned nurc;	    /* how many are in urc */
	unsigned cmms;	    /* AT+CMMS: 0 link closed after each send, 1, 2 kept open */
	bool noprompt;	    /* this AT+CMGS gave no prompt: PDU input is a TE error */
	struct ms_buf held; /* input that arrived while busy */

	/* incoming call */
	char ring_number[32];
	unsigned ring_left;
	bool ring_forever, ringing, in_call;
	unsigned ring_gen;

	int cme, cms;	    /* the error of the failing command */
	struct ms_buf resp; /* response being built */
	struct ms_buf tx;   /* everything for the TE, written in one go by tx_send() */
} at;

/* Write what the interpreter produced; every entry point ends with this, so that echo, responses
 * and URCs reach the terminal in order and with few writes. */
static void tx_send(void)
{
	if (at.tx.len > at.tx.off)
		ms_pty_write(at.tx.d + at.tx.off, at.tx.len - at.tx.off);
	ms_buf_reset(&at.tx);
}

/* One information line of a response: CR LF text CR LF. */
static void info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void info(const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	ms_buf_printf(&at.resp, "\r\n%s\r\n", tmp);
}

static void resp_flush(void)
{
	if (at.resp.len > at.resp.off)
		ms_buf_add(&at.tx, at.resp.d + at.resp.off, at.resp.len - at.resp.off);
	ms_buf_reset(&at.resp);
}

static void final(enum res r)
{
	char tmp[64];

	switch (r) {
	case R_OK:
		ms_buf_printf(&at.resp, "\r\nOK\r\n");
		break;
	case R_ERROR:
		if (at.cmee && at.cme >= 0)
			snprintf(tmp, sizeof(tmp), "\r\n+CME ERROR: %d\r\n", at.cme);
		else
			snprintf(tmp, sizeof(tmp), "\r\nERROR\r\n");
		ms_buf_printf(&at.resp, "%s", tmp);
		break;
	case R_CMS:
		if (at.cmee)
			ms_buf_printf(&at.resp, "\r\n+CMS ERROR: %d\r\n", at.cms);
		else
			ms_buf_printf(&at.resp, "\r\nERROR\r\n");
		break;
	case R_NONE:
		break;
	}
	resp_flush();
}

static enum res cme(int code)
{
	at.cme = code;
	return R_ERROR;
}

static enum res cms(int code)
{
	at.cms = code;
	return R_CMS;
}

static bool idle(void)
{
	return at.mode == AT_CMD && at.linelen == 0 && !at.executing && !ms.hang && !ms.urc_hold;
}

static void urc_move(struct ms_buf *to)
{
	if (at.urc.len > at.urc.off)
		ms_buf_add(to, at.urc.d + at.urc.off, at.urc.len - at.urc.off);
	ms_buf_reset(&at.urc);
	at.nurc = 0;
}

static void urc_flush(void)
{
	if (!idle() || at.urc.len == at.urc.off)
		return;
	urc_move(&at.tx);
}

/* ---- injection at points of a send ---- */

struct inject {
	struct inject *next;
	enum ms_point pt;
	enum ms_inject_what what;
	char *text;
};

static struct inject *injects;

void ms_at_inject(enum ms_point pt, enum ms_inject_what what, const char *text)
{
	struct inject *in = calloc(1, sizeof(*in)), **pp;

	if (!in || !(in->text = strdup(text ? text : ""))) {
		perror("modemsim: inject");
		exit(1);
	}
	in->pt = pt;
	in->what = what;
	for (pp = &injects; *pp; pp = &(*pp)->next)
		;
	*pp = in;
}

void ms_at_inject_clear(void)
{
	while (injects) {
		struct inject *in = injects;

		injects = in->next;
		free(in->text);
		free(in);
	}
}

/* Point pt of a send is reached: what was queued for it goes into b, now, whatever the state. */
static void inject_fire(enum ms_point pt, struct ms_buf *b)
{
	static const char *const names[] = {"prompt", "airtime", "ok", "cmss"};
	struct inject **pp = &injects;

	while (*pp) {
		struct inject *in = *pp;

		if (in->pt != pt) {
			pp = &in->next;
			continue;
		}
		*pp = in->next;
		switch (in->what) {
		case MS_INJ_LINE:
			ms_log("inject at %s: %s", names[pt], in->text);
			ms_buf_printf(b, "\r\n%s\r\n", in->text);
			ms.st.injected++;
			break;
		case MS_INJ_RELEASE:
			ms_log("inject at %s: %u held URC(s)", names[pt], at.nurc);
			ms.st.injected += at.nurc;
			urc_move(b);
			break;
		case MS_INJ_HANG:
			ms_log("inject at %s: hang", names[pt]);
			ms.hang = true;
			break;
		}
		free(in->text);
		free(in);
	}
}

unsigned ms_at_cmms(void)
{
	return at.cmms;
}

void ms_at_kick(void)
{
	urc_flush();
	tx_send();
}

void ms_at_urc(const char *text)
{
	ms_log("urc %s", text);
	ms_buf_printf(&at.urc, "\r\n%s\r\n", text);
	at.nurc++;
	urc_flush();
	tx_send();
}

unsigned ms_at_cnmi_mt(void)
{
	return at.cnmi[1];
}

unsigned ms_at_cnmi_ds(void)
{
	return at.cnmi[3];
}

bool ms_at_cnmi_on(void)
{
	return at.cnmi[0] != 0;
}

void ms_at_init(void)
{
	at.mode = AT_CMD;
	at.echo = true;
	at.cmee = 0;
	at.cmgf = 0;
	at.cnmi[0] = 2;
	at.cnmi[1] = 1;
	at.cnmi[2] = 0;
	at.cnmi[3] = 0;
	at.cnmi[4] = 0;
	at.cfun = 1;
	at.csms = 0;
	snprintf(at.cscs, sizeof(at.cscs), "GSM");
}

/* ATZ / AT&F: the settings a TE may have changed, back to the profile. CNMI is kept, so that a
 * TE that resets does not lose the indications it asked for. */
static void at_reset(void)
{
	at.echo = true;
	at.cmee = 0;
	at.cmgf = 0;
	at.creg_n = at.cgreg_n = 0;
	at.cops_format = 0;
	at.clip = at.crc = false;
	snprintf(at.cscs, sizeof(at.cscs), "GSM");
}

/* ---- argument parsing ---- */

/* Parse a comma-separated parameter list: integers or quoted strings, possibly empty. */
#define MAX_ARGS 8
struct args {
	int n;
	bool present[MAX_ARGS];
	bool quoted[MAX_ARGS];
	long num[MAX_ARGS];
	char str[MAX_ARGS][64];
};

static int parse_args(const char *p, struct args *a)
{
	memset(a, 0, sizeof(*a));
	while (a->n < MAX_ARGS) {
		int i = a->n++;
		size_t k = 0;

		while (*p == ' ')
			p++;
		if (*p == '"') {
			p++;
			while (*p && *p != '"') {
				if (k + 1 < sizeof(a->str[i]))
					a->str[i][k++] = *p;
				p++;
			}
			if (*p != '"')
				return -EINVAL;
			p++;
			a->present[i] = a->quoted[i] = true;
		} else {
			while (*p && *p != ',' && *p != ' ') {
				if (k + 1 < sizeof(a->str[i]))
					a->str[i][k++] = *p;
				p++;
			}
			if (k) {
				char *end;

				a->str[i][k] = 0;
				a->num[i] = strtol(a->str[i], &end, 10);
				if (*end)
					return -EINVAL;
				a->present[i] = true;
			}
		}
		a->str[i][k] = 0;
		while (*p == ' ')
			p++;
		if (!*p)
			return 0;
		if (*p != ',')
			return -EINVAL;
		p++;
	}
	return -EINVAL;
}

/* ---- SMS commands ---- */

static void show_slot(const char *prefix, unsigned idx, bool with_index)
{
	struct ms_slot *s = &ms.sim[idx];
	char hex[2 * PDU_MAX + 1];

	pdu_to_hex(s->pdu, s->len, hex);
	if (with_index)
		ms_buf_printf(&at.resp, "\r\n%s: %u,%u,,%zu\r\n%s\r\n", prefix, idx, s->stat, s->len - s->sca_len, hex);
	else
		ms_buf_printf(&at.resp, "\r\n%s: %u,,%zu\r\n%s\r\n", prefix, s->stat, s->len - s->sca_len, hex);
}

static enum res cmd_cmgr(const struct args *a)
{
	unsigned idx;

	if (at.cmgf)
		return cms(302);
	if (!a->present[0] || a->num[0] < 1 || a->num[0] > (long)ms.sim_size)
		return cms(321);
	idx = (unsigned)a->num[0];
	if (!ms.sim[idx].used)
		return cms(321);
	show_slot("+CMGR", idx, false);
	if (ms.sim[idx].stat == 0)
		ms.sim[idx].stat = 1;
	return R_OK;
}

static enum res cmd_cmgl(const struct args *a)
{
	long want = a->present[0] ? a->num[0] : 0;
	unsigned i;

	if (at.cmgf)
		return cms(302);
	if (a->quoted[0] || want < 0 || want > 4)
		return cms(304);
	for (i = 1; i <= ms.sim_size; i++)
		if (ms.sim[i].used && (want == 4 || ms.sim[i].stat == (unsigned)want))
			show_slot("+CMGL", i, true);
	for (i = 1; i <= ms.sim_size; i++)
		if (ms.sim[i].used && ms.sim[i].stat == 0 && (want == 4 || want == 0))
			ms.sim[i].stat = 1;
	return R_OK;
}

static void slot_delete(unsigned i)
{
	if (!ms.sim[i].used)
		return;
	ms.sim[i].used = false;
	ms.st.deleted++;
}

static enum res cmd_cmgd(const struct args *a)
{
	long flag = a->present[1] ? a->num[1] : 0;
	unsigned i;

	if (flag < 0 || flag > 4)
		return cms(304);
	if (flag == 0) {
		if (!a->present[0] || a->num[0] < 1 || a->num[0] > (long)ms.sim_size)
			return cms(321);
		slot_delete((unsigned)a->num[0]);
	} else {
		for (i = 1; i <= ms.sim_size; i++) {
			unsigned st = ms.sim[i].stat;

			if (!ms.sim[i].used)
				continue;
			if (flag == 4 || st == 1 || (flag >= 2 && st == 3) || (flag >= 3 && st == 2))
				slot_delete(i);
		}
	}
	ms_sms_drain_pending();
	return R_OK;
}

static enum res cmd_cpms(const struct args *a, bool set)
{
	unsigned used = ms_sim_used(), total = ms.sim_size;
	int i;

	if (!set) {
		info("+CPMS: \"SM\",%u,%u,\"SM\",%u,%u,\"SM\",%u,%u", used, total, used, total, used, total);
		return R_OK;
	}
	for (i = 0; i < a->n; i++)
		if (a->present[i] && strcasecmp(a->str[i], "SM") != 0)
			return cms(302);
	if (a->n >= 3)
		info("+CPMS: %u,%u,%u,%u,%u,%u", used, total, used, total, used, total);
	else if (a->n == 2)
		info("+CPMS: %u,%u,%u,%u", used, total, used, total);
	else
		info("+CPMS: %u,%u", used, total);
	return R_OK;
}

static void busy_done(void *data);

static void cmgs_finish_now(void)
{
	/* the answer for the PDU in at.busy_pdu: error fault, or message reference */
	if (at.busy_fail) {
		ms.st.cmgs_failed++;
		final(at.busy_cme ? cme((int)at.busy_fail) : cms((int)at.busy_fail));
	} else {
		unsigned mr = at.mr;

		at.mr = (at.mr + 1) & 255;
		if (ms_sms_submitted(at.busy_pdu + at.busy_tpdu_off, at.busy_tpdu_len, mr) < 0) {
			ms.st.cmgs_failed++;
			final(cms(304));
		} else if (at.cmss) {
			ms.st.cmss++;
			if (ms.sim[at.cmss].used)
				ms.sim[at.cmss].stat = 3;
			ms_sms_wire((unsigned)at.busy_tpdu_len, at.busy_pdu, at.busy_tpdu_off + at.busy_tpdu_len);
			ms_log("CMSS %u sent", at.cmss);
			info("+CMSS: %u", mr);
			final(R_OK);
		} else {
			ms.st.cmgs++;
			ms_sms_wire((unsigned)at.cmgs_len, at.busy_pdu, at.busy_tpdu_off + at.busy_tpdu_len);
			info("+CMGS: %u", mr);
			final(R_OK);
		}
	}
	inject_fire(MS_PT_OK, &at.tx);
}

static void cmgs_start_air(size_t tpdu_off, size_t tpdu_len);

/* The PDU after AT+CMGS / AT+CMGW is complete (Ctrl-Z). */
static void cmgs_submit(void)
{
	struct pdu_submit sub;
	int n, sca;

	at.mode = AT_CMD;
	n = pdu_from_hex(at.pdu_hex, at.pdu_hexlen, at.busy_pdu, sizeof(at.busy_pdu));
	sca = n > 0 ? pdu_sca_len(at.busy_pdu, (size_t)n) : -EINVAL;
	if (at.pdu_overflow || n <= 0 || sca < 0 || (size_t)n != (size_t)sca + at.cmgs_len ||
	    pdu_submit_decode(at.busy_pdu + sca, at.cmgs_len, &sub) < 0) {
		ms_log("CMGS: malformed PDU");
		ms.st.cmgs_failed++;
		final(cms(304));
		return;
	}
	if (at.cmgw) {
		unsigned idx = ms_sim_free_index();
		struct ms_slot *sl;

		if (!idx) {
			final(cms(322)); /* memory full */
			return;
		}
		sl = &ms.sim[idx];
		memset(sl, 0, sizeof(*sl));
		sl->used = true;
		sl->stat = 2; /* STO UNSENT */
		memcpy(sl->pdu, at.busy_pdu, (size_t)n);
		sl->sca_len = (size_t)sca;
		sl->len = (size_t)n;
		ms.st.cmgw++;
		ms_log("CMGW stored at %u", idx);
		info("+CMGW: %u", idx);
		final(R_OK);
		return;
	}
	at.cmss = 0;
	cmgs_start_air((size_t)sca, at.cmgs_len);
}

/* A send of the PDU in at.busy_pdu (its TPDU at tpdu_off, tpdu_len bytes) begins: fault, air time. */
static void cmgs_start_air(size_t tpdu_off, size_t tpdu_len)
{
	at.busy_tpdu_off = tpdu_off;
	at.busy_tpdu_len = tpdu_len;
	at.busy_fail = 0;
	if (ms.fail_count) {
		ms.fail_count--;
		at.busy_fail = ms.fail_code;
	}
	at.busy_cme = false;
	if (!at.busy_fail)
		ms_storm_send_fault(&at.busy_fail, &at.busy_cme);
	inject_fire(MS_PT_AIRTIME, &at.tx);
	if (ms.hang)
		return; /* a hang injected here: the answer never comes */
	if (ms.airtime_ms) {
		at.mode = AT_BUSY;
		ms_timer_add(ms.airtime_ms, busy_done, (void *)(uintptr_t)++at.busy_gen);
		return;
	}
	cmgs_finish_now();
}

static void process_held(void);

static void busy_done(void *data)
{
	if ((uintptr_t)data != at.busy_gen || at.mode != AT_BUSY)
		return;
	at.mode = AT_CMD;
	if (ms.hang) {
		ms_log("CMGS answer swallowed (hang)");
		return;
	}
	cmgs_finish_now();
	process_held();
	urc_flush();
	tx_send();
}

/* AT+CMSS=<index>[,<da>[,<toda>]]: send a stored message (27.005 3.5.2); a <da> given replaces the
 * stored destination only in what a real modem sends, which the emulator does not model: refused. */
static enum res cmd_cmss(const struct args *a)
{
	struct ms_slot *sl;
	struct pdu_submit sub;

	if (ms.store_refuse)
		return cms(303);
	inject_fire(MS_PT_CMSS, &at.resp);
	if (ms.hang) {
		ms_log("CMSS swallowed (hang)");
		return R_NONE;
	}
	if (at.cmgf)
		return cms(302);
	if (!a->present[0] || a->num[0] < 1 || a->num[0] > (long)ms.sim_size)
		return cms(321);
	if (a->present[1])
		return cms(303);
	sl = &ms.sim[a->num[0]];
	if (!sl->used)
		return cms(321);
	if (sl->report || pdu_submit_decode(sl->pdu + sl->sca_len, sl->len - sl->sca_len, &sub) < 0)
		return cms(304); /* not an SMS-SUBMIT */
	memcpy(at.busy_pdu, sl->pdu, sl->len);
	at.cmss = (unsigned)a->num[0];
	at.cmgs_len = sl->len - sl->sca_len;
	cmgs_start_air(sl->sca_len, sl->len - sl->sca_len);
	return R_NONE;
}

static enum res cmd_cmgs(const struct args *a, bool cmgw)
{
	if (cmgw && ms.store_refuse)
		return cms(303);
	if (at.cmgf)
		return cms(302);
	if (!a->present[0] || a->num[0] < 7 || a->num[0] > 164)
		return cms(304);
	at.cmgw = cmgw;
	at.cmgs_len = (size_t)a->num[0];
	at.pdu_hexlen = 0;
	at.pdu_overflow = false;
	at.mode = AT_PDU;
	if (ms.noprompt) {
		/* a modem that takes the command and then says nothing */
		ms.noprompt--;
		at.noprompt = true;
		ms_log("CMGS: no prompt (fault)");
		return R_NONE;
	}
	at.noprompt = false;
	ms_buf_printf(&at.resp, "\r\n> ");
	inject_fire(MS_PT_PROMPT, &at.resp);
	return R_NONE;
}

/* ---- calls ---- */

static void ring_stop(void)
{
	at.ringing = false;
	at.ring_gen++;
}

static void ring_tick(void *data)
{
	char tmp[96];

	if ((uintptr_t)data != at.ring_gen || !at.ringing)
		return;
	ms_at_urc(at.crc ? "+CRING: VOICE" : "RING");
	if (at.clip) {
		snprintf(tmp, sizeof(tmp), "+CLIP: \"%s\",%d", at.ring_number, at.ring_number[0] == '+' ? 145 : 129);
		ms_at_urc(tmp);
	}
	if (!at.ring_forever && --at.ring_left == 0) {
		ring_stop();
		return;
	}
	ms_timer_add(3000, ring_tick, (void *)(uintptr_t)at.ring_gen);
}

void ms_at_ring(const char *number, unsigned count)
{
	ring_stop();
	snprintf(at.ring_number, sizeof(at.ring_number), "%s", number);
	at.ring_forever = count == 0;
	at.ring_left = count;
	at.ringing = true;
	at.in_call = false;
	ring_tick((void *)(uintptr_t)at.ring_gen);
}

/* ---- the command table ---- */

enum kind { K_EXEC, K_SET, K_READ, K_TEST };

static enum res ext_cmd(const char *name, enum kind k, const char *argstr)
{
	struct args a;

	if (parse_args(k == K_SET ? argstr : "", &a) < 0)
		return cme(50);

#define IS(n) (strcasecmp(name, n) == 0)
	if (IS("+CGMI") || IS("+GMI")) {
		info("LINLI");
	} else if (IS("+CGMM") || IS("+GMM")) {
		info("MODEMSIM");
	} else if (IS("+CGMR") || IS("+GMR")) {
		info("1.0 (%s)", ms.name);
	} else if (IS("+CGSN") || IS("+GSN")) {
		info("%s", ms.imei);
	} else if (IS("+CIMI")) {
		info("46000%.10s", ms.imei + 5);
	} else if (IS("+GCAP")) {
		info("+GCAP: +CGSM");
	} else if (IS("+CPIN")) {
		if (k == K_READ)
			info("+CPIN: READY");
		else if (k != K_TEST)
			return cme(3);
	} else if (IS("+CSQ")) {
		if (k == K_TEST)
			info("+CSQ: (0-31,99),(0-7,99)");
		else
			info("+CSQ: %d,99", at.cfun ? 20 : 99);
	} else if (IS("+CREG") || IS("+CGREG")) {
		bool g = name[2] == 'G' || name[2] == 'g';
		unsigned *n = g ? &at.cgreg_n : &at.creg_n;

		if (k == K_TEST) {
			info("%s: (0-2)", g ? "+CGREG" : "+CREG");
		} else if (k == K_SET) {
			if (!a.present[0] || a.num[0] < 0 || a.num[0] > 2)
				return cme(50);
			*n = (unsigned)a.num[0];
		} else if (k == K_READ) {
			if (*n == 2)
				info("%s: 2,%u,\"1A2B\",\"3C4D\"", g ? "+CGREG" : "+CREG", ms_storm_creg(at.cfun));
			else
				info("%s: %u,%u", g ? "+CGREG" : "+CREG", *n, ms_storm_creg(at.cfun));
		}
	} else if (IS("+COPS")) {
		if (k == K_TEST) {
			info("+COPS: (2,\"CHINA MOBILE\",\"CMCC\",\"46000\"),,(0-4),(0-2)");
		} else if (k == K_SET) {
			if (a.present[1]) {
				if (a.num[1] < 0 || a.num[1] > 2)
					return cme(50);
				at.cops_format = (unsigned)a.num[1];
			}
		} else if (k == K_READ) {
			if (at.cops_format == 2)
				info("+COPS: 0,2,\"46000\"");
			else if (at.cops_format == 1)
				info("+COPS: 0,1,\"CMCC\"");
			else
				info("+COPS: 0,0,\"CHINA MOBILE\"");
		}
	} else if (IS("+CMEE")) {
		if (k == K_TEST)
			info("+CMEE: (0-2)");
		else if (k == K_READ)
			info("+CMEE: %u", at.cmee);
		else if (k == K_SET)
			at.cmee = a.present[0] && a.num[0] > 0 ? (unsigned)a.num[0] : 0;
	} else if (IS("+CMGF")) {
		if (k == K_TEST) {
			info("+CMGF: (0,1)");
		} else if (k == K_READ) {
			info("+CMGF: %u", at.cmgf);
		} else if (k == K_SET) {
			if (a.present[0] && (a.num[0] < 0 || a.num[0] > 1))
				return cme(50);
			at.cmgf = a.present[0] ? (unsigned)a.num[0] : 0;
		}
	} else if (IS("+CSCS")) {
		if (k == K_TEST) {
			info("+CSCS: (\"GSM\",\"IRA\",\"UCS2\")");
		} else if (k == K_READ) {
			info("+CSCS: \"%s\"", at.cscs);
		} else if (k == K_SET) {
			if (strcasecmp(a.str[0], "GSM") && strcasecmp(a.str[0], "IRA") && strcasecmp(a.str[0], "UCS2"))
				return cme(4);
			memcpy(at.cscs, a.str[0], strlen(a.str[0]) + 1); /* one of the three names above */
		}
	} else if (IS("+CSMS")) {
		if (k == K_TEST) {
			info("+CSMS: (0,1)");
		} else if (k == K_READ) {
			info("+CSMS: %u,1,1,1", at.csms);
		} else if (k == K_SET) {
			if (!a.present[0] || a.num[0] < 0 || a.num[0] > 1)
				return cms(303);
			at.csms = (unsigned)a.num[0];
			info("+CSMS: 1,1,1");
		}
	} else if (IS("+CPMS")) {
		if (k == K_TEST)
			info("+CPMS: (\"SM\"),(\"SM\"),(\"SM\")");
		else if (k == K_READ || k == K_SET)
			return cmd_cpms(&a, k == K_SET);
		else
			return cme(4);
	} else if (IS("+CNMI")) {
		if (k == K_TEST) {
			info("+CNMI: (0-2),(0-3),(0,2),(0-2),(0,1)");
		} else if (k == K_READ) {
			info("+CNMI: %u,%u,%u,%u,%u", at.cnmi[0], at.cnmi[1], at.cnmi[2], at.cnmi[3], at.cnmi[4]);
		} else if (k == K_SET) {
			static const unsigned max[5] = {3, 3, 3, 2, 1};
			unsigned v[5];
			int i;

			memcpy(v, at.cnmi, sizeof(v));
			for (i = 0; i < a.n && i < 5; i++) {
				if (!a.present[i])
					continue;
				if (a.num[i] < 0 || (unsigned long)a.num[i] > max[i])
					return cms(303);
				v[i] = (unsigned)a.num[i];
			}
			if (a.n > 5)
				return cms(303);
			memcpy(at.cnmi, v, sizeof(v));
		}
	} else if (IS("+CSCA")) {
		if (k == K_TEST) {
			/* nothing */
		} else if (k == K_READ) {
			info("+CSCA: \"%s\",%d", ms.smsc, ms.smsc[0] == '+' ? 145 : 129);
		} else if (k == K_SET) {
			if (!a.present[0] || strlen(a.str[0]) >= sizeof(ms.smsc))
				return cms(304);
			memcpy(ms.smsc, a.str[0], strlen(a.str[0]) + 1);
		}
	} else if (IS("+CSMP")) {
		if (k == K_READ)
			info("+CSMP: 17,167,0,0");
	} else if (IS("+CMMS")) {
		/* 27.005 3.5.6: keep the relay link open between sends */
		if (ms.cmms_refuse)
			return cms(303);
		if (k == K_TEST) {
			info("+CMMS: (0-2)");
		} else if (k == K_READ) {
			info("+CMMS: %u", at.cmms);
		} else if (k == K_SET) {
			if (a.present[0] && (a.num[0] < 0 || a.num[0] > 2))
				return cms(304);
			at.cmms = a.present[0] ? (unsigned)a.num[0] : 0;
			ms.st.cmms_sets++;
		}
	} else if (IS("+CSDH") || IS("+CSCB") || IS("+CNMA") || IS("+CGATT") || IS("+CSAS") || IS("+CRES") ||
		   IS("+CLIR") || IS("+CCWA") || IS("+CSSN")) {
		if (k == K_READ && IS("+CGATT"))
			info("+CGATT: 1");
	} else if (IS("+CMGS")) {
		if (k == K_TEST)
			return R_OK;
		if (k != K_SET)
			return cms(304);
		return cmd_cmgs(&a, false);
	} else if (IS("+CMGW")) {
		if (k == K_TEST)
			return ms.store_refuse ? cms(303) : R_OK;
		if (k != K_SET)
			return cms(304);
		return cmd_cmgs(&a, true);
	} else if (IS("+CMSS")) {
		if (k == K_TEST)
			return ms.store_refuse ? cms(303) : R_OK;
		if (k != K_SET)
			return cms(304);
		return cmd_cmss(&a);
	} else if (IS("+CMGR")) {
		if (k != K_SET)
			return k == K_TEST ? R_OK : cms(321);
		return cmd_cmgr(&a);
	} else if (IS("+CMGL")) {
		if (k == K_TEST) {
			info(at.cmgf ? "+CMGL: (\"REC UNREAD\",\"REC READ\",\"STO UNSENT\",\"STO SENT\",\"ALL\")"
				     : "+CMGL: (0-4)");
			return R_OK;
		}
		return cmd_cmgl(&a);
	} else if (IS("+CMGD")) {
		if (k == K_TEST) {
			info("+CMGD: (1-%u),(0-4)", ms.sim_size);
			return R_OK;
		}
		if (k != K_SET)
			return cms(321);
		return cmd_cmgd(&a);
	} else if (IS("+CLIP") || IS("+CRC")) {
		bool *flag = IS("+CLIP") ? &at.clip : &at.crc;

		if (k == K_TEST)
			info("%s: (0,1)", name);
		else if (k == K_READ && IS("+CLIP"))
			info("+CLIP: %d,1", *flag);
		else if (k == K_READ)
			info("+CRC: %d", *flag);
		else if (k == K_SET)
			*flag = a.present[0] && a.num[0] == 1;
	} else if (IS("+CHUP")) {
		ring_stop();
		at.in_call = false;
	} else if (IS("+CBC")) {
		if (k == K_TEST)
			info("+CBC: (0-3),(0-100)");
		else
			info("+CBC: 0,100");
	} else if (IS("+CFUN")) {
		if (k == K_TEST)
			info("+CFUN: (0,1,4),(0,1)");
		else if (k == K_READ)
			info("+CFUN: %u", at.cfun);
		else if (k == K_SET)
			at.cfun = a.present[0] && a.num[0] != 0 ? 1 : 0;
	} else if (IS("+CPAS")) {
		info("+CPAS: %d", at.ringing ? 3 : at.in_call ? 4 : 0);
	} else if (IS("+CNUM")) {
		/* no own number on the SIM */
	} else if (IS("+CPBS")) {
		if (k == K_TEST)
			info("+CPBS: (\"SM\")");
		else if (k == K_READ)
			info("+CPBS: \"SM\",0,100");
		else if (k == K_SET && strcasecmp(a.str[0], "SM") != 0)
			return cme(4);
	} else if (IS("+CPBR")) {
		if (k == K_TEST)
			info("+CPBR: (1-100),40,14");
		else if (k != K_SET)
			return cme(4);
		else if (!a.present[0] || a.num[0] < 1 || a.num[0] > 100)
			return cme(21);
		/* every entry is empty */
	} else if (IS("+CCLK")) {
		if (k == K_READ) {
			time_t t = time(NULL);
			struct tm tm;
			char buf[32];

			localtime_r(&t, &tm);
			strftime(buf, sizeof(buf), "%y/%m/%d,%H:%M:%S", &tm);
			info("+CCLK: \"%s%+03ld\"", buf, tm.tm_gmtoff / 900);
		}
	} else {
		return cme(4);
	}
#undef IS
	return R_OK;
}

/* Basic (V.250) commands: letter or &letter, optional number. */
static enum res basic_cmd(char c, bool amp, long n)
{
	if (amp) {
		if (c == 'F')
			at_reset();
		return R_OK; /* &C, &D, &K, &W, &V... */
	}
	switch (c) {
	case 'E':
		at.echo = n != 0;
		return R_OK;
	case 'Z':
		at_reset();
		return R_OK;
	case 'I':
		info("LINLI MODEMSIM %s", ms.name);
		return R_OK;
	case 'A':
		if (!at.ringing) {
			ms_buf_printf(&at.resp, "\r\nNO CARRIER\r\n");
			return R_NONE;
		}
		ring_stop();
		at.in_call = true;
		return R_OK;
	case 'H':
		ring_stop();
		at.in_call = false;
		return R_OK;
	case 'V':
	case 'Q':
	case 'X':
	case 'L':
	case 'M':
		return R_OK;
	default:
		return cme(4);
	}
}

/* Execute one command line (without the leading "AT"). */
static void execute(char *p)
{
	enum res r = R_OK;

	at.cme = -1;
	at.cms = 500;
	while (*p && r == R_OK) {
		if (*p == ';' || *p == ' ') {
			p++;
			continue;
		}
		if (*p == '+' || *p == '*' || *p == '^' || *p == '$' || *p == '%' || *p == '#') {
			char name[32], *args = NULL, save;
			size_t k = 0;
			enum kind kind = K_EXEC;
			char *q = p + 1;
			bool inq = false;

			while (isalnum((unsigned char)*q))
				q++;
			k = (size_t)(q - p);
			if (k >= sizeof(name))
				k = sizeof(name) - 1;
			memcpy(name, p, k);
			name[k] = 0;
			if (*q == '=' && q[1] == '?') {
				kind = K_TEST;
				q += 2;
			} else if (*q == '?') {
				kind = K_READ;
				q++;
			} else if (*q == '=') {
				kind = K_SET;
				args = ++q;
			}
			while (*q && (inq || *q != ';')) {
				if (*q == '"')
					inq = !inq;
				q++;
			}
			save = *q;
			*q = 0;
			r = ext_cmd(name, kind, args ? args : "");
			*q = save;
			p = q;
			if (r == R_NONE) /* AT+CMGS: the rest of the line is not executed */
				break;
		} else if (*p == 'D' || *p == 'd') {
			/* dial: no voice calls out of this modem */
			ms_buf_printf(&at.resp, "\r\nNO CARRIER\r\n");
			r = R_NONE;
			break;
		} else if (*p == 'S' || *p == 's') {
			/* S-registers: Sn=v, Sn? */
			p++;
			while (isdigit((unsigned char)*p))
				p++;
			if (*p == '?') {
				info("000");
				p++;
			} else if (*p == '=') {
				p++;
				while (isdigit((unsigned char)*p))
					p++;
			}
		} else if (isalpha((unsigned char)*p) || *p == '&') {
			bool amp = *p == '&';
			char c;
			long n = 0;

			if (amp)
				p++;
			c = (char)toupper((unsigned char)*p++);
			if (isdigit((unsigned char)*p))
				n = strtol(p, &p, 10);
			r = basic_cmd(c, amp, n);
			if (r == R_NONE)
				break;
		} else {
			r = cme(4);
		}
	}
	final(r);
}

static void line_done(void)
{
	char *p = at.line;

	at.line[at.linelen] = 0;
	at.linelen = 0;
	if (at.overflow) {
		at.overflow = false;
		at.cme = -1;
		final(R_ERROR);
		return;
	}
	while (*p == ' ')
		p++;
	if (!((p[0] == 'A' || p[0] == 'a') && (p[1] == 'T' || p[1] == 't')))
		return; /* not a command: a modem ignores it */
	ms.st.at_cmds++;
	ms_log("cmd %s", p);
	if (ms_storm_line(&at.tx))
		return;
	at.executing = true;
	execute(p + 2);
	at.executing = false;
}

static void input_byte(uint8_t c)
{
	switch (at.mode) {
	case AT_BUSY:
		if (at.held.len - at.held.off < HELD_MAX)
			ms_buf_add(&at.held, &c, 1);
		return;
	case AT_PDU:
		if (at.noprompt && c != 0x1b) {
			/* the TE writes the PDU although no prompt came: count it, never send it */
			if (isxdigit(c) || c == 0x1a)
				ms.st.early_pdu++;
			if (c == 0x1a) {
				at.mode = AT_CMD;
				final(cms(304));
			}
			return;
		}
		if (c == 0x1a) {
			cmgs_submit();
		} else if (c == 0x1b) {
			at.mode = AT_CMD;
			final(R_OK);
		} else if (isxdigit(c)) {
			if (at.echo)
				ms_buf_add(&at.tx, &c, 1);
			if (at.pdu_hexlen < sizeof(at.pdu_hex))
				at.pdu_hex[at.pdu_hexlen++] = (char)c;
			else
				at.pdu_overflow = true;
		}
		return;
	case AT_CMD:
		break;
	}
	if (c == '\n' && at.prev_cr) {
		at.prev_cr = false;
		return;
	}
	at.prev_cr = c == '\r';
	if (c == 0 || c == 0x1a || c == 0x1b) {
		at.linelen = 0; /* a TE escaping from PDU entry that we never entered */
		return;
	}
	if (at.echo)
		ms_buf_add(&at.tx, &c, 1);
	if (c == '\r' || c == '\n') {
		if (at.linelen || at.overflow)
			line_done();
		return;
	}
	if (c == 8 || c == 127) {
		if (at.linelen)
			at.linelen--;
		return;
	}
	if (at.linelen + 1 < sizeof(at.line))
		at.line[at.linelen++] = (char)c;
	else
		at.overflow = true;
}

/* Input that came while a command was busy, now that it is done. */
static void process_held(void)
{
	while (at.mode != AT_BUSY && at.held.len > at.held.off) {
		uint8_t c = (uint8_t)at.held.d[at.held.off];

		ms_buf_consume(&at.held, 1);
		input_byte(c);
	}
}

void ms_at_input(const uint8_t *p, size_t n)
{
	size_t i;

	if (ms.hang)
		return;
	for (i = 0; i < n; i++)
		input_byte(p[i]);
	urc_flush();
	tx_send();
}

void ms_at_flush(void)
{
	at.linelen = 0;
	at.overflow = false;
	at.prev_cr = false;
	ms_buf_reset(&at.held);
	if (at.mode == AT_PDU)
		at.mode = AT_CMD;
	urc_flush();
	tx_send();
}
