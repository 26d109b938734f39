/* modemsim: the faults of a modem in a storm (tests/e2e/test_modem_storms.py): its registration
 * state (+CREG <stat>, sends refused with +CMS ERROR: 331 while not registered), +CME errors to
 * sends, garbage written to the TE instead of or before an answer, a SIM filled with read messages.
 * Kept apart from at.c and ctl.c, which ask here at a few points. */

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/modemsim/modemsim.h"

#define GARBAGE_ON UINT_MAX

static struct {
	unsigned creg;		      /* 27.007 +CREG <stat>: 1 home, 5 roaming; 0, 2, 3, 4 not registered */
	unsigned cme_code, cme_count; /* the next cme_count sends answer +CME ERROR: cme_code */
	unsigned garbage;	      /* command lines still to get garbage (GARBAGE_ON: until "garbage off") */
	bool garbage_instead;	      /* the garbage replaces the answer (the command is not carried out) */
	unsigned seq;		      /* which garbage comes next */
	uint32_t rnd;		      /* a fixed pseudo-random sequence: the same run writes the same bytes */
	unsigned long garbage_lines, noreg_fails, cme_fails, simfilled;
} st = {.creg = 1, .rnd = 0x2545f491u};

static bool registered(void)
{
	return st.creg == 1 || st.creg == 5;
}

unsigned ms_storm_creg(unsigned cfun)
{
	return cfun ? st.creg : 0;
}

bool ms_storm_send_fault(unsigned *code, bool *is_cme)
{
	if (!registered()) {
		st.noreg_fails++;
		*code = 331; /* no network service */
		*is_cme = false;
		return true;
	}
	if (st.cme_count) {
		st.cme_count--;
		st.cme_fails++;
		*code = st.cme_code;
		*is_cme = true;
		return true;
	}
	return false;
}

static unsigned rnd(unsigned n)
{
	st.rnd ^= st.rnd << 13;
	st.rnd ^= st.rnd >> 17;
	st.rnd ^= st.rnd << 5;
	return st.rnd % n;
}

/* One piece of garbage. It never looks like an answer, an echo or a prompt: no line starts with
 * "OK", "ERROR", "+", "AT", ">" or is nothing but hex digits; what a TE must survive is noise. */
static void garbage(struct ms_buf *tx)
{
	static const char noise[] = "~#%&*()[]{}|;'?/=_qwzxjkvyu!";
	char b[64];
	unsigned n = 8 + rnd(24), i;

	switch (st.seq++ % 4) {
	case 0: /* line noise: printable junk */
		b[0] = 'q';
		for (i = 1; i < n; i++)
			b[i] = noise[rnd(sizeof(noise) - 1)];
		ms_buf_add(tx, "\r\n", 2);
		ms_buf_add(tx, b, n);
		ms_buf_add(tx, "\r\n", 2);
		break;
	case 1: /* binary bytes: NUL, control characters (no CR, LF, Ctrl-Z, ESC), bytes above 127 */
		for (i = 0; i < n; i++) {
			unsigned k = rnd(3);

			b[i] = k == 0 ? 0 : k == 1 ? (char)(1 + rnd(8)) : (char)(0x80 + rnd(0x7f));
		}
		ms_buf_add(tx, "\r\n", 2);
		ms_buf_add(tx, b, n);
		ms_buf_add(tx, "\r\n", 2);
		break;
	case 2: /* a partial line: no line end, whatever comes next finishes it */
		ms_buf_add(tx, "\r\n^RSS", 6);
		ms_buf_add(tx, "\xff\xfe", 2);
		break;
	default: /* a vendor line full of nonsense */
		snprintf(b, sizeof(b), "\r\n^BOOT:%u,0,0,0,%u\r\n", rnd(100000), rnd(100));
		ms_buf_add(tx, b, strlen(b));
		break;
	}
	st.garbage_lines++;
	ms.st.injected++;
}

bool ms_storm_line(struct ms_buf *tx)
{
	if (!st.garbage)
		return false;
	if (st.garbage != GARBAGE_ON)
		st.garbage--;
	garbage(tx);
	if (st.garbage_instead)
		ms_log("garbage instead of an answer");
	return st.garbage_instead;
}

/* simfill N: N read SMS-DELIVERs in free SIM slots, stored silently (a SIM full of old messages). */
static unsigned simfill(unsigned n)
{
	unsigned done = 0;

	while (done < n) {
		unsigned idx = ms_sim_free_index();
		struct pdu_deliver pd = {.oa = "+8613700000000", .coding = SMS_CODING_GSM7, .scts = time(NULL)};
		char text[32];
		uint8_t ud[64];
		int sca, t, udl;
		struct ms_slot *sl;

		if (!idx)
			break;
		snprintf(text, sizeof(text), "simfill %s %04lu", ms.name ? ms.name : "", st.simfilled);
		udl = sms_utf8_to_gsm7(text, strlen(text), ud, sizeof(ud));
		if (udl < 0)
			break;
		pd.ud = ud;
		pd.udl = (size_t)udl;
		sl = &ms.sim[idx];
		sca = pdu_sca_encode(ms.smsc, sl->pdu);
		if (sca < 0)
			sca = pdu_sca_encode("", sl->pdu);
		t = pdu_deliver_encode(&pd, sl->pdu + sca, sizeof(sl->pdu) - (size_t)sca);
		if (t < 0)
			break;
		sl->used = true;
		sl->stat = 1; /* REC READ */
		sl->report = false;
		sl->sca_len = (size_t)sca;
		sl->len = (size_t)(sca + t);
		st.simfilled++;
		done++;
	}
	if (!ms_sim_free_index())
		ms_at_urc("^SMMEMFULL: \"SM\""); /* vendor noise (Huawei): the SMS memory is full */
	return done;
}

static bool parse_num(const char *s, unsigned long max, unsigned long *v)
{
	char *end;

	if (!s || !*s)
		return false;
	*v = strtoul(s, &end, 10);
	return *end == '\0' && *v <= max;
}

bool ms_storm_command(const char *cmd, char *args, struct ms_buf *o)
{
	unsigned long v, v2;

	if (!strcmp(cmd, "creg")) {
		if (!parse_num(args, 5, &v)) {
			ms_buf_printf(o, "err usage: creg STAT (0-5; 1 home, 5 roaming)\n");
			return true;
		}
		st.creg = (unsigned)v;
		ms_buf_printf(o, "ok\n");
	} else if (!strcmp(cmd, "cme")) {
		char *code = strtok(args, " "), *cnt = strtok(NULL, " ");

		if (!parse_num(code, 65535, &v) || !v || !parse_num(cnt, 1000000000, &v2)) {
			ms_buf_printf(o, "err usage: cme CME-CODE N (CODE 1..)\n");
			return true;
		}
		st.cme_code = (unsigned)v;
		st.cme_count = (unsigned)v2;
		ms_buf_printf(o, "ok\n");
	} else if (!strcmp(cmd, "garbage")) {
		char *what = strtok(args, " "), *how = strtok(NULL, " ");

		if (!what || (how && strcmp(how, "instead")) ||
		    (strcmp(what, "on") && strcmp(what, "off") && !parse_num(what, 1000000000, &v))) {
			ms_buf_printf(o, "err usage: garbage on|off|N [instead]\n");
			return true;
		}
		st.garbage = !strcmp(what, "on") ? GARBAGE_ON : !strcmp(what, "off") ? 0 : (unsigned)v;
		st.garbage_instead = how != NULL;
		ms_buf_printf(o, "ok\n");
	} else if (!strcmp(cmd, "simfill")) {
		unsigned n;

		if (!parse_num(args, 100000, &v)) {
			ms_buf_printf(o, "err usage: simfill N\n");
			return true;
		}
		n = simfill((unsigned)v);
		ms_buf_printf(o, "ok %u %u\n", n, ms_sim_used());
	} else if (!strcmp(cmd, "storm")) {
		ms_buf_printf(o,
			      "ok creg=%u cme_left=%u garbage_left=%s%u garbage_lines=%lu noreg_fails=%lu "
			      "cme_fails=%lu simfilled=%lu\n",
			      st.creg, st.cme_count, st.garbage == GARBAGE_ON ? "on:" : "",
			      st.garbage == GARBAGE_ON ? 0 : st.garbage, st.garbage_lines, st.noreg_fails, st.cme_fails,
			      st.simfilled);
	} else {
		return false;
	}
	return true;
}
