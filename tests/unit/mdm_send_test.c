/* Unit test of modem/mdm_send.c, linli's own AT+CMGS exchange: a scripted modem on the other end of
 * a socketpair answers with echo on or off, puts unsolicited lines before the prompt, between the
 * prompt and the PDU, during the air time and right after OK, writes byte by byte (partial reads),
 * answers errors, or says nothing (prompt timeout: ESC, then AT). Exits 0 when every check passed. */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "tests/unit/testlib.h"

#include "modem/mdm_send.h"

/* ---- the scripted modem ---- */

enum op {
	OP_END = 0,
	OP_EXPECT,    /* read until s arrives (after what was expected before) */
	OP_SEND,      /* write s at once */
	OP_SEND_SLOW, /* write s one byte at a time, 1 ms apart */
	OP_HOLD,      /* read and keep whatever comes for ms, answer nothing */
	OP_MARK,      /* remember how many bytes had arrived */
	OP_SLOW_READ, /* read until s arrives, 256 bytes per ms (the TE's writes are cut) */
};

struct step {
	enum op op;
	const char *s;
	int ms;
};

struct modem {
	int fd;
	const struct step *script;
	char *rx;
	size_t rx_len, rx_cap, cursor;
	size_t mark;
	bool failed;
	char why[128];
};

static void msleep(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

static void rx_more(struct modem *m, size_t chunk)
{
	char buf[4096];
	ssize_t n;

	if (chunk > sizeof(buf))
		chunk = sizeof(buf);
	n = read(m->fd, buf, chunk);
	if (n <= 0)
		return;
	if (m->rx_len + (size_t)n + 1 > m->rx_cap) {
		m->rx_cap = (m->rx_len + (size_t)n + 1) * 2;
		m->rx = realloc(m->rx, m->rx_cap);
	}
	memcpy(m->rx + m->rx_len, buf, (size_t)n);
	m->rx_len += (size_t)n;
	m->rx[m->rx_len] = '\0';
}

static bool expect(struct modem *m, const char *s, bool slow)
{
	size_t n = strlen(s);

	for (int t = 0; t < 5000; t++) {
		if (m->rx_len >= m->cursor + n) {
			char *hit = memmem(m->rx + m->cursor, m->rx_len - m->cursor, s, n);

			if (hit) {
				m->cursor = (size_t)(hit - m->rx) + n;
				return true;
			}
		}
		rx_more(m, slow ? 256 : 4096);
		msleep(1);
	}
	snprintf(m->why, sizeof(m->why), "never got %.40s", s);
	return false;
}

static void *modem_main(void *arg)
{
	struct modem *m = arg;

	fcntl(m->fd, F_SETFL, O_NONBLOCK);
	for (const struct step *st = m->script; st->op != OP_END && !m->failed; st++) {
		switch (st->op) {
		case OP_EXPECT:
		case OP_SLOW_READ:
			m->failed = !expect(m, st->s, st->op == OP_SLOW_READ);
			break;
		case OP_SEND:
			if (write(m->fd, st->s, strlen(st->s)) != (ssize_t)strlen(st->s))
				m->failed = true;
			break;
		case OP_SEND_SLOW:
			for (const char *p = st->s; *p; p++) {
				if (write(m->fd, p, 1) != 1)
					m->failed = true;
				msleep(1);
			}
			break;
		case OP_HOLD:
			for (int t = 0; t < st->ms; t++) {
				rx_more(m, 4096);
				msleep(1);
			}
			break;
		case OP_MARK:
			rx_more(m, 4096);
			m->mark = m->rx_len;
			break;
		case OP_END:
			break;
		}
	}
	return NULL;
}

/* ---- what the exchange handed on ---- */

struct seen {
	unsigned n;
	struct mdm_urc u[16];
	char pdu[16][128];
	char line[16][128];
};

static void on_urc(const struct mdm_urc *u, void *data)
{
	struct seen *s = data;

	if (s->n >= 16)
		return;
	s->u[s->n] = *u;
	snprintf(s->pdu[s->n], sizeof(s->pdu[0]), "%s", u->pdu ? u->pdu : "");
	snprintf(s->line[s->n], sizeof(s->line[0]), "%s", u->line ? u->line : "");
	s->n++;
}

static char *prev_rx;

struct run {
	int fds[2];
	pthread_t th;
	struct modem m;
	struct mdm_at at;
	struct seen seen;
};

static void run_start(struct run *r, const struct step *script)
{
	memset(r, 0, sizeof(*r));
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, r->fds) < 0) {
		perror("socketpair");
		exit(1);
	}
	fcntl(r->fds[0], F_SETFL, O_NONBLOCK); /* as libgammu opens a tty */
	r->m.fd = r->fds[1];
	r->m.script = script;
	mdm_at_init(&r->at, r->fds[0], on_urc, NULL, &r->seen);
	pthread_create(&r->th, NULL, modem_main, &r->m);
}

static void run_end(struct run *r)
{
	pthread_join(r->th, NULL);
	CHECK(!r->m.failed, "  the modem's script ran to its end %s", r->m.why);
	close(r->fds[1]);
	/* what the modem got stays readable until the next run */
	free(prev_rx);
	prev_rx = r->m.rx;
}

/* the TE side after the modem is gone */
static void run_close(struct run *r)
{
	close(r->fds[0]);
}

#define PDU	 "0011000B916831090000F10000FF05E8329BFD06"
#define TPDU_LEN 19
#define CDS_PDU	 "0891683108100005F006010B916831090000F1622011000000006220110000000000"

static const struct mdm_cmgs_opts opts = {.prompt_timeout_ms = 1500, .final_timeout_ms = 1500};

static void test_plain(void)
{
	static const struct step script[] = {
		{OP_EXPECT, "AT+CMGS=19\r", 0},
		{OP_MARK, NULL, 0},
		{OP_SEND, "\r\n> ", 0},
		{OP_EXPECT, PDU "\x1a", 0},
		{OP_SEND, "\r\n+CMGS: 7\r\n\r\nOK\r\n", 0},
		{OP_END, NULL, 0},
	};
	struct mdm_at_result res;
	struct run r;
	int rc;

	printf("echo off, nothing unsolicited\n");
	run_start(&r, script);
	rc = mdm_at_cmgs(&r.at, TPDU_LEN, PDU, &opts, &res);
	run_end(&r);
	run_close(&r);
	CHECK(rc == 0 && res.final == MDM_AT_OK && res.mr == 7, "  +CMGS: 7 then OK is mr 7 (rc %d final %d mr %d)", rc,
	      res.final, res.mr);
	CHECK(res.prompt && res.pdu_written, "  prompt seen, PDU written");
	CHECK(r.m.mark == strlen("AT+CMGS=19\r"), "  nothing but the command was written before the prompt");
	CHECK(r.m.rx_len == strlen("AT+CMGS=19\r" PDU "\x1a") && !strcmp(r.m.rx, "AT+CMGS=19\r" PDU "\x1a"),
	      "  the modem got exactly AT+CMGS=19<CR>, the PDU and Ctrl-Z");
	CHECK(r.seen.n == 0, "  nothing handed on as unsolicited (%u)", r.seen.n);
}

/* echo on, unsolicited lines at every point of the send */
static const struct step busy_script[] = {
	{OP_EXPECT, "AT+CMGS=19\r", 0},
	{OP_SEND, "AT+CMGS=19\r\r\n+CMTI: \"SM\",3\r\n", 0},
	{OP_MARK, NULL, 0},
	{OP_SEND, "\r\n> \r\n^BOOT:12345678,0,0,0,75\r\n", 0},
	{OP_EXPECT, PDU "\x1a", 0},
	{OP_SEND, PDU "\r\n\r\nRING\r\n\r\n+CLIP: \"+8613900000001\",145,,,,0\r\n\r\n+CDS: 25\r\n" CDS_PDU "\r\n", 0},
	{OP_SEND, "\r\n+CMGS: 9\r\n\r\nOK\r\n\r\n+CDSI: \"SR\",4\r\n", 0},
	{OP_END, NULL, 0},
};

static const struct step busy_script_slow[] = {
	{OP_EXPECT, "AT+CMGS=19\r", 0},
	{OP_SEND_SLOW, "AT+CMGS=19\r\r\n+CMTI: \"SM\",3\r\n", 0},
	{OP_MARK, NULL, 0},
	{OP_SEND_SLOW, "\r\n> \r\n^BOOT:12345678,0,0,0,75\r\n", 0},
	{OP_EXPECT, PDU "\x1a", 0},
	{OP_SEND_SLOW, PDU "\r\n\r\nRING\r\n\r\n+CLIP: \"+8613900000001\",145,,,,0\r\n\r\n+CDS: 25\r\n" CDS_PDU "\r\n",
	 0},
	{OP_SEND_SLOW, "\r\n+CMGS: 9\r\n\r\nOK\r\n\r\n+CDSI: \"SR\",4\r\n", 0},
	{OP_END, NULL, 0},
};

static void test_busy(const char *what, const struct step *script)
{
	struct mdm_at_result res;
	struct run r;
	int rc;

	printf("%s\n", what);
	run_start(&r, script);
	rc = mdm_at_cmgs(&r.at, TPDU_LEN, PDU, &opts, &res);
	run_end(&r);
	/* a line still on its way when the exchange ended is for the next reader, not lost: poll
	 * until it is in (a loaded machine may take a while), at most 2 s */
	mdm_at_poll_urcs(&r.at);
	for (int i = 0; i < 200 && r.seen.n < 6; i++) {
		msleep(10);
		mdm_at_poll_urcs(&r.at);
	}
	run_close(&r);
	CHECK(rc == 0 && res.final == MDM_AT_OK && res.mr == 9, "  the answer is +CMGS: 9 OK (rc %d final %d mr %d)",
	      rc, res.final, res.mr);
	CHECK(r.m.mark == strlen("AT+CMGS=19\r"), "  the PDU was not written before the prompt");
	CHECK(r.seen.n == 6, "  six unsolicited results handed on (%u)", r.seen.n);
	if (r.seen.n != 6)
		return;
	CHECK(r.seen.u[0].kind == MDM_URC_NEW_SMS && !strcmp(r.seen.u[0].mem, "SM") && r.seen.u[0].index == 3,
	      "  +CMTI before the prompt: SM 3");
	CHECK(r.seen.u[1].kind == MDM_URC_OTHER && !strncmp(r.seen.line[1], "^BOOT", 5),
	      "  vendor noise between prompt and PDU: other (%s)", r.seen.line[1]);
	CHECK(r.seen.u[2].kind == MDM_URC_RING, "  RING during the air time");
	CHECK(r.seen.u[3].kind == MDM_URC_CLIP && !strcmp(r.seen.u[3].number, "+8613900000001"),
	      "  +CLIP with the caller (%s)", r.seen.u[3].number);
	CHECK(r.seen.u[4].kind == MDM_URC_REPORT_PDU && !strcmp(r.seen.pdu[4], CDS_PDU) &&
		      !strcmp(r.seen.line[4], "+CDS: 25"),
	      "  +CDS with its PDU line");
	CHECK(r.seen.u[5].kind == MDM_URC_NEW_REPORT && !strcmp(r.seen.u[5].mem, "SR") && r.seen.u[5].index == 4,
	      "  +CDSI right after OK: SR 4");
}

static void test_errors(void)
{
	static const struct step before[] = {
		{OP_EXPECT, "AT+CMGS=19\r", 0},
		{OP_SEND, "\r\n+CMS ERROR: 304\r\n", 0},
		{OP_END, NULL, 0},
	};
	static const struct step after[] = {
		{OP_EXPECT, "AT+CMGS=19\r", 0},
		{OP_SEND, "\r\n> ", 0},
		{OP_EXPECT, "\x1a", 0},
		{OP_SEND, "\r\n+CMTI: \"SM\",1\r\n\r\n+CMS ERROR: 500\r\n", 0},
		{OP_END, NULL, 0},
	};
	static const struct step cme[] = {
		{OP_EXPECT, "AT+CMGS=19\r", 0},		{OP_SEND, "\r\n> ", 0}, {OP_EXPECT, "\x1a", 0},
		{OP_SEND, "\r\n+CME ERROR: 14\r\n", 0}, {OP_END, NULL, 0},
	};
	static const struct step plain[] = {
		{OP_EXPECT, "AT+CMGS=19\r", 0}, {OP_SEND, "\r\n> ", 0}, {OP_EXPECT, "\x1a", 0},
		{OP_SEND, "\r\nERROR\r\n", 0},	{OP_END, NULL, 0},
	};
	struct mdm_at_result res;
	struct run r;
	int rc;

	printf("error answers\n");
	run_start(&r, before);
	rc = mdm_at_cmgs(&r.at, TPDU_LEN, PDU, &opts, &res);
	run_end(&r);
	run_close(&r);
	CHECK(rc == 0 && res.final == MDM_AT_CMS && res.code == 304 && !res.prompt && !res.pdu_written,
	      "  +CMS ERROR: 304 instead of the prompt: no PDU written");
	CHECK(!strstr(r.m.rx, PDU), "  the modem never got the PDU");

	run_start(&r, after);
	rc = mdm_at_cmgs(&r.at, TPDU_LEN, PDU, &opts, &res);
	run_end(&r);
	run_close(&r);
	CHECK(rc == 0 && res.final == MDM_AT_CMS && res.code == 500 && res.pdu_written && res.mr < 0,
	      "  +CMS ERROR: 500 after the PDU");
	CHECK(r.seen.n == 1 && r.seen.u[0].kind == MDM_URC_NEW_SMS, "  the +CMTI before it is not the answer");

	run_start(&r, cme);
	rc = mdm_at_cmgs(&r.at, TPDU_LEN, PDU, &opts, &res);
	run_end(&r);
	run_close(&r);
	CHECK(rc == 0 && res.final == MDM_AT_CME && res.code == 14, "  +CME ERROR: 14");

	run_start(&r, plain);
	rc = mdm_at_cmgs(&r.at, TPDU_LEN, PDU, &opts, &res);
	run_end(&r);
	run_close(&r);
	CHECK(rc == 0 && res.final == MDM_AT_ERROR && res.code < 0, "  ERROR without a code");
}

static void test_timeouts(void)
{
	static const struct step noprompt[] = {
		{OP_EXPECT, "AT+CMGS=19\r", 0}, {OP_EXPECT, "\x1b", 0},	    {OP_SEND, "\r\nOK\r\n", 0},
		{OP_EXPECT, "AT\r", 0},		{OP_SEND, "\r\nOK\r\n", 0}, {OP_EXPECT, "AT+CMMS=2\r", 0},
		{OP_SEND, "\r\nOK\r\n", 0},	{OP_END, NULL, 0},
	};
	static const struct step dead[] = {
		{OP_EXPECT, "AT+CMGS=19\r", 0},
		{OP_HOLD, NULL, 5000},
		{OP_END, NULL, 0},
	};
	static const struct step nofinal[] = {
		{OP_EXPECT, "AT+CMGS=19\r", 0},
		{OP_SEND, "\r\n> ", 0},
		{OP_EXPECT, "\x1a", 0},
		{OP_EXPECT, "\x1b", 0},
		{OP_EXPECT, "AT\r", 0},
		{OP_SEND, "AT\r\r\nOK\r\n", 0},
		{OP_END, NULL, 0},
	};
	struct mdm_at_result res;
	struct run r;
	int rc;

	printf("timeouts\n");
	run_start(&r, noprompt);
	rc = mdm_at_cmgs(&r.at, TPDU_LEN, PDU, &opts, &res);
	CHECK(rc == -ETIMEDOUT && !res.prompt && !res.pdu_written && res.line_ok,
	      "  no prompt: -ETIMEDOUT, nothing written, ESC and AT answered (rc %d line_ok %d)", rc, res.line_ok);
	rc = mdm_at_command(&r.at, "AT+CMMS=2", 1500, &res);
	CHECK(rc == 0 && res.final == MDM_AT_OK, "  the modem is usable afterwards (AT+CMMS=2 OK, rc %d)", rc);
	run_end(&r);
	run_close(&r);
	CHECK(!strstr(r.m.rx, PDU), "  the PDU was never written without a prompt");

	run_start(&r, dead);
	rc = mdm_at_cmgs(&r.at, TPDU_LEN, PDU, &opts, &res);
	run_end(&r);
	run_close(&r);
	CHECK(rc == -ETIMEDOUT && !res.line_ok, "  a dead modem: -ETIMEDOUT and the line is not ok");
	CHECK(strstr(r.m.rx, "\x1b"
			     "AT\r") != NULL,
	      "  ESC then AT were tried");

	run_start(&r, nofinal);
	rc = mdm_at_cmgs(&r.at, TPDU_LEN, PDU, &opts, &res);
	run_end(&r);
	run_close(&r);
	CHECK(rc == -ETIMEDOUT && res.pdu_written && res.line_ok,
	      "  no final result after the PDU: -ETIMEDOUT, line ok");
}

static void test_command(void)
{
	static const struct step script[] = {
		{OP_EXPECT, "AT+CMGF?\r", 0},
		{OP_SEND_SLOW, "AT+CMGF?\r\r\n+CMTI: \"ME\",12\r\n\r\n+CMGF: 0\r\n\r\nOK\r\n", 0},
		{OP_EXPECT, "AT+CMMS=2\r", 0},
		{OP_SEND, "\r\n+CMS ERROR: 303\r\n", 0},
		{OP_END, NULL, 0},
	};
	struct mdm_at_result res;
	struct run r;
	int rc;

	printf("plain commands\n");
	run_start(&r, script);
	rc = mdm_at_command(&r.at, "AT+CMGF?", 1500, &res);
	CHECK(rc == 0 && res.final == MDM_AT_OK && !strcmp(res.info, "+CMGF: 0"), "  AT+CMGF? answers +CMGF: 0 (%s)",
	      res.info);
	CHECK(r.seen.n == 1 && r.seen.u[0].kind == MDM_URC_NEW_SMS && r.seen.u[0].index == 12,
	      "  the +CMTI in its answer is handed on");
	rc = mdm_at_command(&r.at, "AT+CMMS=2", 1500, &res);
	CHECK(rc == 0 && res.final == MDM_AT_CMS && res.code == 303, "  a refused AT+CMMS is +CMS ERROR: 303");
	run_end(&r);
	run_close(&r);
}

/* store-and-send: AT+CMGW (prompt, PDU, +CMGW: <index>), AT+CMSS, AT+CMGR with its PDU line */
static void test_store(void)
{
	static const struct step script[] = {
		{OP_EXPECT, "AT+CMGW=19\r", 0},
		{OP_SEND, "\r\n> ", 0},
		{OP_EXPECT, PDU "\x1a", 0},
		{OP_SEND, "\r\n+CMGW: 17\r\n\r\nOK\r\n", 0},
		{OP_EXPECT, "AT+CMSS=17\r", 0},
		{OP_SEND, "\r\n^BOOT:1,0,0,0,75\r\n\r\n+CMSS: 200\r\n\r\nOK\r\n", 0},
		{OP_EXPECT, "AT+CMGR=17\r", 0},
		{OP_SEND, "\r\n+CMGR: 3,,19\r\n" PDU "\r\n\r\nOK\r\n", 0},
		{OP_EXPECT, "AT+CMGW=19\r", 0},
		{OP_SEND, "\r\n+CMS ERROR: 303\r\n", 0},
		{OP_END, NULL, 0},
	};
	struct mdm_at_result res;
	struct run r;
	int rc;

	printf("store and send\n");
	run_start(&r, script);
	rc = mdm_at_cmgw(&r.at, TPDU_LEN, PDU, &opts, &res);
	CHECK(rc == 0 && res.final == MDM_AT_OK && res.mr == 17 && res.prompt,
	      "  AT+CMGW: prompt, PDU, +CMGW: 17 (rc %d final %d index %d)", rc, res.final, res.mr);
	rc = mdm_at_command(&r.at, "AT+CMSS=17", 1500, &res);
	CHECK(rc == 0 && res.final == MDM_AT_OK && mdm_at_info_int(res.info, "+CMSS:") == 200,
	      "  AT+CMSS=17: +CMSS: 200 (%s)", res.info);
	CHECK(r.seen.n == 1 && r.seen.u[0].kind == MDM_URC_OTHER, "  the vendor line in its air time is handed on");
	rc = mdm_at_command(&r.at, "AT+CMGR=17", 1500, &res);
	CHECK(rc == 0 && res.final == MDM_AT_OK && mdm_at_info_int(res.info, "+CMGR:") == 3,
	      "  AT+CMGR=17: stat 3 (%s)", res.info);
	CHECK(r.seen.n == 1, "  its PDU line is not taken for something unsolicited (%u)", r.seen.n);
	rc = mdm_at_cmgw(&r.at, TPDU_LEN, PDU, &opts, &res);
	CHECK(rc == 0 && res.final == MDM_AT_CMS && res.code == 303 && !res.prompt && res.mr == -1,
	      "  a modem without AT+CMGW: +CMS ERROR: 303 before any prompt");
	run_end(&r);
	run_close(&r);

	CHECK(mdm_at_info_int("+CMGR: 2,,19", "+CMGR:") == 2, "  +CMGR: 2,,19 is stat 2");
	CHECK(mdm_at_info_int("+CMGR:0,\"x\",19", "+CMGR:") == 0, "  +CMGR:0 without a blank is stat 0");
	CHECK(mdm_at_info_int("+CMSS: 12", "+CMSS:") == 12, "  +CMSS: 12");
	CHECK(mdm_at_info_int("+CMSS: ", "+CMSS:") == -1, "  +CMSS: without a number is none");
	CHECK(mdm_at_info_int("+CMSS: 12x", "+CMSS:") == -1, "  +CMSS: 12x is none");
	CHECK(mdm_at_info_int("+CMGS: 12", "+CMSS:") == -1, "  another command's line is none");
	CHECK(mdm_at_info_int("", "+CMGR:") == -1 && mdm_at_info_int(NULL, "+CMGR:") == -1, "  empty is none");
}

static void test_big_write(void)
{
	static char hex[40001], want[40002];
	static struct step script[] = {
		{OP_EXPECT, "AT+CMGS=20000\r", 0},	    {OP_SEND, "\r\n> ", 0}, {OP_SLOW_READ, "\x1a", 0},
		{OP_SEND, "\r\n+CMGS: 1\r\n\r\nOK\r\n", 0}, {OP_END, NULL, 0},
	};
	struct mdm_at_result res;
	struct run r;
	int rc, sz = 4096;

	printf("a PDU larger than the socket buffer (partial writes, EAGAIN)\n");
	for (size_t i = 0; i < sizeof(hex) - 1; i++)
		hex[i] = "0123456789ABCDEF"[i % 16];
	snprintf(want, sizeof(want), "%s\x1a", hex);
	run_start(&r, script);
	setsockopt(r.fds[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	rc = mdm_at_cmgs(&r.at, 20000, hex, &opts, &res);
	run_end(&r);
	run_close(&r);
	CHECK(rc == 0 && res.mr == 1, "  sent (rc %d)", rc);
	CHECK(r.m.rx_len == strlen("AT+CMGS=20000\r") + strlen(want) && strstr(r.m.rx, want) != NULL,
	      "  the modem got all of it, in order");
}

static bool leave_now(void *data)
{
	return ++*(int *)data > 4;
}

static void test_leave(void)
{
	static const struct step script[] = {
		{OP_EXPECT, "AT+CMGS=19\r", 0},
		{OP_SEND, "\r\n> ", 0},
		{OP_HOLD, NULL, 600},
		{OP_END, NULL, 0},
	};
	struct mdm_cmgs_opts slow = {.prompt_timeout_ms = 1500, .prompt_delay_ms = 1000, .final_timeout_ms = 1500};
	struct mdm_at_result res;
	struct run r;
	int calls = 0, rc;

	printf("stop or reset during the prompt delay\n");
	run_start(&r, script);
	r.at.leave = leave_now;
	r.at.urc = NULL;
	r.at.data = &calls;
	rc = mdm_at_cmgs(&r.at, TPDU_LEN, PDU, &slow, &res);
	run_end(&r);
	run_close(&r);
	CHECK(rc == -ECANCELED && res.prompt && !res.pdu_written, "  -ECANCELED, PDU not written (rc %d)", rc);
	CHECK(strchr(r.m.rx, 0x1b) != NULL && !strstr(r.m.rx, PDU), "  ESC left the PDU entry");
}

int main(void)
{
	test_plain();
	test_busy("echo on, unsolicited lines before the prompt, between prompt and PDU, in the air time, after OK",
		  busy_script);
	test_busy("the same, one byte per read", busy_script_slow);
	test_errors();
	test_timeouts();
	test_command();
	test_store();
	test_big_write();
	test_leave();
	free(prev_rx);
	printf("%s\n", failures ? "FAILED" : "all passed");
	return failures ? 1 : 0;
}
