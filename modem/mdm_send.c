/* linli's own AT+CMGS exchange and the line reader under it (see mdm_send.h).
 *
 * The reader keeps what it read in at->in and parses it line by line: a line ends at CR or LF,
 * empty lines are skipped, and the prompt "> " (which has no line end) is recognised only at the
 * start of a line and only while a prompt is awaited. A line is, in this order: the PDU line of a
 * +CMT/+CDS just seen; the echo of a command ("AT...") or of the PDU (nothing but hex digits); a
 * final result code (only while an answer is awaited); the information line of the command; an
 * unsolicited result code. Nothing that is not the answer is ever taken for it.
 */

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "modem/mdm_errors.h"
#include "modem/mdm_send.h"

#define RECOVER_SETTLE_MS 200 /* after ESC: let the modem answer it (OK, ERROR or nothing) */
#define QUIET_MS	  100 /* after the AT check's OK: a late answer to ESC is read, not left */
#define TAIL_MS		  300 /* after a final result: finish a partial unsolicited line */
#define WRITE_TIMEOUT_MS  5000

enum ev {
	EV_NONE = 0,
	EV_PROMPT,
	EV_FINAL,
};

struct wait {
	bool want_prompt;
	bool finals;				    /* false: an answer is not awaited, a stray final code is dropped */
	char info_prefix[24];			    /* "+CMGS:": the command's information line */
	struct mdm_at_result *r;		    /* may be NULL when finals is false */
	void (*each)(const char *line, void *data); /* mdm_at_list: every information line */
	void *each_data;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void mdm_at_init(struct mdm_at *at, int fd, mdm_urc_cb urc, mdm_leave_cb leave, void *data)
{
	memset(at, 0, sizeof(*at));
	at->fd = fd;
	at->urc = urc;
	at->leave = leave;
	at->data = data;
}

/* bounded copy that always terminates (and truncates silently, as intended) */
static void scpy(char *d, size_t n, const char *s)
{
	size_t l = strnlen(s, n - 1);

	memcpy(d, s, l);
	d[l] = '\0';
}

static void consume(struct mdm_at *at, size_t n)
{
	if (n >= at->in_len) {
		at->in_len = 0;
		return;
	}
	memmove(at->in, at->in + n, at->in_len - n);
	at->in_len -= n;
}

static bool all_hex(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s))
			return false;
	return true;
}

static void hand_on(struct mdm_at *at, struct mdm_urc *u)
{
	at->urcs++;
	if (at->urc)
		at->urc(u, at->data);
}

/* +CMTI: "SM",3  /  +CDSI: SM,3 */
static bool parse_mem_index(const char *p, struct mdm_urc *u)
{
	size_t k = 0;
	char *end;
	long v;

	while (*p == ' ')
		p++;
	if (*p == '"')
		p++;
	while (*p && *p != '"' && *p != ',' && k + 1 < sizeof(u->mem))
		u->mem[k++] = *p++;
	u->mem[k] = '\0';
	if (*p == '"')
		p++;
	while (*p == ' ')
		p++;
	if (*p != ',')
		return false;
	p++;
	while (*p == ' ')
		p++;
	if (!isdigit((unsigned char)*p))
		return false;
	v = strtol(p, &end, 10);
	if (v < 0 || v > 100000)
		return false;
	u->index = (int)v;
	return true;
}

/* +CLIP: "+8613800138000",145,,,,0 */
static void parse_clip(const char *p, struct mdm_urc *u)
{
	size_t k = 0;

	while (*p == ' ')
		p++;
	if (*p == '"')
		p++;
	while (*p && *p != '"' && *p != ',' && k + 1 < sizeof(u->number))
		u->number[k++] = *p++;
	u->number[k] = '\0';
}

static void unsolicited(struct mdm_at *at, const char *line)
{
	struct mdm_urc u;

	memset(&u, 0, sizeof(u));
	u.line = line;
	u.index = -1;
	if (!strncmp(line, "+CMTI:", 6) || !strncmp(line, "+CDSI:", 6)) {
		u.kind = line[2] == 'M' ? MDM_URC_NEW_SMS : MDM_URC_NEW_REPORT;
		if (!parse_mem_index(line + 6, &u))
			u.kind = MDM_URC_OTHER;
	} else if (!strncmp(line, "+CMT:", 5) || !strncmp(line, "+CDS:", 5)) {
		/* the PDU comes on the next line */
		at->want_pdu = true;
		at->pdu_kind = line[2] == 'M' ? MDM_URC_SMS_PDU : MDM_URC_REPORT_PDU;
		scpy(at->pdu_hdr, sizeof(at->pdu_hdr), line);
		return;
	} else if (!strcmp(line, "RING") || !strncmp(line, "+CRING:", 7)) {
		u.kind = MDM_URC_RING;
	} else if (!strncmp(line, "+CLIP:", 6)) {
		u.kind = MDM_URC_CLIP;
		parse_clip(line + 6, &u);
	} else {
		u.kind = MDM_URC_OTHER;
	}
	hand_on(at, &u);
}

/* V.250 / 27.007 final result codes of the commands sent here; true when line is one. */
static bool final_code(const char *line, struct mdm_at_result *r)
{
	bool cms;
	int code;

	if (!strcmp(line, "OK")) {
		r->final = MDM_AT_OK;
		return true;
	}
	if (!strcmp(line, "ERROR") || !strcmp(line, "COMMAND NOT SUPPORT") || !strcmp(line, "TOO MANY PARAMETERS")) {
		r->final = MDM_AT_ERROR;
		return true;
	}
	if (!strncmp(line, "+CMS ERROR:", 11) || !strncmp(line, "+CME ERROR:", 11)) {
		code = mdm_parse_cm_error(line, &cms);
		if (code < 0) {
			/* verbose (AT+CMEE=2) text: an error all the same */
			r->final = MDM_AT_ERROR;
			scpy(r->info, sizeof(r->info), line);
			return true;
		}
		r->final = cms ? MDM_AT_CMS : MDM_AT_CME;
		r->code = code;
		return true;
	}
	return false;
}

/* One complete line; true when it is the final result code awaited. */
static bool take_line(struct mdm_at *at, struct wait *w, char *line)
{
	size_t n = strlen(line);

	/* trailing blanks and control characters (an echoed Ctrl-Z or ESC) are not part of it */
	while (n && ((unsigned char)line[n - 1] <= ' ' || line[n - 1] == 0x7f))
		line[--n] = '\0';
	while (*line == ' ' || *line == 0x1a || *line == 0x1b)
		line++;
	if (!*line)
		return false;
	if (at->want_pdu) {
		at->want_pdu = false;
		if (all_hex(line)) {
			struct mdm_urc u;

			memset(&u, 0, sizeof(u));
			u.kind = at->pdu_kind;
			u.index = -1;
			u.pdu = line;
			u.line = at->pdu_hdr;
			hand_on(at, &u);
			return false;
		}
		/* not a PDU after all: take the line for what it is */
	}
	if ((line[0] == 'A' || line[0] == 'a') && (line[1] == 'T' || line[1] == 't'))
		return false; /* echo of a command */
	if (all_hex(line))
		return false; /* echo of the PDU (possibly cut by an unsolicited line) */
	if (w->finals && w->r && final_code(line, w->r))
		return true;
	if (w->finals && w->r && w->info_prefix[0] && !strncmp(line, w->info_prefix, strlen(w->info_prefix))) {
		if (!w->r->info[0])
			scpy(w->r->info, sizeof(w->r->info), line);
		if (w->each)
			w->each(line, w->each_data);
		return false;
	}
	if (!w->finals) {
		struct mdm_at_result dummy;

		memset(&dummy, 0, sizeof(dummy));
		if (final_code(line, &dummy))
			return false; /* a late answer nobody waits for */
	}
	unsolicited(at, line);
	return false;
}

static enum ev parse(struct mdm_at *at, struct wait *w)
{
	char line[MDM_AT_LINE_MAX + 1];

	for (;;) {
		size_t i = 0, e;

		if (at->overflow) {
			for (e = 0; e < at->in_len && at->in[e] != '\r' && at->in[e] != '\n'; e++)
				;
			if (e == at->in_len) {
				at->in_len = 0;
				return EV_NONE;
			}
			consume(at, e);
			at->overflow = false;
		}
		while (i < at->in_len && (at->in[i] == '\r' || at->in[i] == '\n'))
			i++;
		consume(at, i);
		if (!at->in_len)
			return EV_NONE;
		if (w->want_prompt && at->in[0] == '>') {
			if (at->in_len < 2)
				return EV_NONE;
			if (at->in[1] == ' ') {
				consume(at, 2);
				return EV_PROMPT;
			}
		}
		for (e = 0; e < at->in_len && at->in[e] != '\r' && at->in[e] != '\n'; e++)
			;
		if (e == at->in_len) {
			if (at->in_len == sizeof(at->in)) {
				at->overflow = true;
				at->in_len = 0;
			}
			return EV_NONE;
		}
		memcpy(line, at->in, e);
		line[e] = '\0';
		consume(at, e + 1);
		if (take_line(at, w, line))
			return EV_FINAL;
	}
}

/* Wait for input until deadline, at most one slice; read what there is. Returns bytes read (0 when
 * the slice passed without any), -ETIMEDOUT at the deadline, -ECANCELED, -EIO. */
static int fill(struct mdm_at *at, int64_t deadline, int64_t slice_ms)
{
	struct pollfd pfd = {.fd = at->fd, .events = POLLIN};
	int64_t left = deadline - now_ms();
	ssize_t k;
	int n;

	if (at->leave && at->leave(at->data))
		return -ECANCELED;
	if (left <= 0)
		return -ETIMEDOUT;
	n = poll(&pfd, 1, (int)(left < slice_ms ? left : slice_ms));
	if (n < 0)
		return errno == EINTR ? 0 : -EIO;
	if (n == 0)
		return 0;
	if (pfd.revents & POLLNVAL)
		return -EIO;
	k = read(at->fd, at->in + at->in_len, sizeof(at->in) - at->in_len);
	if (k > 0) {
		at->in_len += (size_t)k;
		return (int)k;
	}
	if (k == 0)
		return -EIO; /* the other end hung up */
	if (errno == EAGAIN || errno == EINTR)
		return 0;
	return -EIO;
}

/* EV_PROMPT, EV_FINAL, or -ETIMEDOUT / -ECANCELED / -EIO */
static int wait_for(struct mdm_at *at, struct wait *w, int64_t deadline)
{
	for (;;) {
		enum ev ev = parse(at, w);
		int rc;

		if (ev != EV_NONE)
			return ev;
		rc = fill(at, deadline, MDM_AT_SLICE_MS);
		if (rc < 0)
			return rc;
	}
}

/* Read and hand on unsolicited lines until deadline; finals are dropped. -EIO, -ECANCELED or 0. */
static int idle_read(struct mdm_at *at, int64_t deadline)
{
	struct wait w = {.finals = false};
	int rc;

	for (;;) {
		parse(at, &w);
		rc = fill(at, deadline, MDM_AT_SLICE_MS);
		if (rc == -ETIMEDOUT)
			return 0;
		if (rc < 0)
			return rc;
	}
}

/* After a final result: a partial unsolicited line (or the PDU line of a +CDS) read together with
 * it is finished here rather than left half-read for libgammu. */
static int tail(struct mdm_at *at)
{
	struct wait w = {.finals = false};
	int64_t deadline = now_ms() + TAIL_MS;
	int rc;

	for (;;) {
		parse(at, &w);
		if (!at->in_len && !at->want_pdu)
			return 0;
		rc = fill(at, deadline, MDM_AT_SLICE_MS);
		if (rc == -ETIMEDOUT)
			return 0;
		if (rc < 0)
			return rc;
	}
}

static int write_all(struct mdm_at *at, const char *b, size_t n)
{
	int64_t deadline = now_ms() + WRITE_TIMEOUT_MS;

	while (n) {
		struct pollfd pfd = {.fd = at->fd, .events = POLLOUT};
		ssize_t k = write(at->fd, b, n);

		if (k > 0) {
			b += k;
			n -= (size_t)k;
			continue;
		}
		if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return -EIO;
		if (now_ms() > deadline)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, MDM_AT_SLICE_MS) < 0 && errno != EINTR)
			return -EIO;
		if (pfd.revents & (POLLERR | POLLNVAL))
			return -EIO;
	}
	return 0;
}

int mdm_at_poll_urcs(struct mdm_at *at)
{
	struct wait w = {.finals = false};
	int rc;

	for (;;) {
		parse(at, &w);
		rc = fill(at, now_ms() + 1, 0);
		if (rc == -EIO)
			return rc;
		if (rc <= 0)
			return 0;
	}
}

/* Before a command: hand on what came meanwhile; a partial line left is dropped, so that nothing
 * read before the command (a stray "> ") can be taken for its answer. */
static int before_command(struct mdm_at *at)
{
	int rc = mdm_at_poll_urcs(at);

	at->in_len = 0;
	at->overflow = false;
	at->want_pdu = false;
	return rc;
}

static void result_init(struct mdm_at_result *r)
{
	memset(r, 0, sizeof(*r));
	r->code = -1;
	r->mr = -1;
}

int mdm_at_recover(struct mdm_at *at, unsigned timeout_ms)
{
	struct mdm_at_result r;
	struct wait w = {.finals = true};
	int rc;

	result_init(&r);
	w.r = &r;
	rc = write_all(at, "\x1b", 1);
	if (rc == 0)
		rc = idle_read(at, now_ms() + RECOVER_SETTLE_MS);
	if (rc < 0)
		return rc;
	at->in_len = 0;
	at->want_pdu = false;
	rc = write_all(at, "AT\r", 3);
	if (rc < 0)
		return rc;
	rc = wait_for(at, &w, now_ms() + timeout_ms);
	if (rc < 0)
		return rc;
	/* ERROR is an answer too: the line works */
	return idle_read(at, now_ms() + QUIET_MS);
}

int mdm_at_command(struct mdm_at *at, const char *cmd, unsigned timeout_ms, struct mdm_at_result *r)
{
	return mdm_at_list(at, cmd, timeout_ms, NULL, NULL, r);
}

int mdm_at_list(struct mdm_at *at, const char *cmd, unsigned timeout_ms, void (*each)(const char *line, void *data),
		void *data, struct mdm_at_result *r)
{
	char buf[128];
	struct wait w = {.finals = true, .r = r, .each = each, .each_data = data};
	size_t k = 0;
	const char *p;
	int rc;

	result_init(r);
	if (!cmd || strlen(cmd) + 2 > sizeof(buf) || strncasecmp(cmd, "AT", 2))
		return -EINVAL;
	/* "+NAME:" of AT+NAME=..., AT+NAME?, AT+NAME */
	for (p = cmd + 2; *p && *p != '=' && *p != '?' && k + 2 < sizeof(w.info_prefix); p++)
		w.info_prefix[k++] = (char)toupper((unsigned char)*p);
	if (k && w.info_prefix[0] == '+')
		w.info_prefix[k++] = ':';
	else
		k = 0;
	w.info_prefix[k] = '\0';
	rc = before_command(at);
	if (rc < 0)
		return rc;
	snprintf(buf, sizeof(buf), "%s\r", cmd);
	rc = write_all(at, buf, strlen(buf));
	if (rc < 0)
		return rc;
	rc = wait_for(at, &w, now_ms() + timeout_ms);
	if (rc < 0)
		return rc;
	return tail(at);
}

int mdm_at_info_int(const char *info, const char *prefix)
{
	size_t n = prefix ? strlen(prefix) : 0;
	const char *p;
	char *end;
	long v;

	if (!info || !n || strncmp(info, prefix, n))
		return -1;
	p = info + n;
	while (*p == ' ')
		p++;
	if (!isdigit((unsigned char)*p))
		return -1;
	v = strtol(p, &end, 10);
	if (v < 0 || v > 100000 || (*end && *end != ',' && *end != ' '))
		return -1;
	return (int)v;
}

/* AT+CMGS / AT+CMGW: the same exchange, name "CMGS" or "CMGW" */
static int pdu_cmd(struct mdm_at *at, const char *name, unsigned tpdu_len, const char *hex,
		   const struct mdm_cmgs_opts *o, struct mdm_at_result *r)
{
	struct wait w = {.finals = true, .want_prompt = true, .r = r};
	unsigned prompt_ms = o && o->prompt_timeout_ms ? o->prompt_timeout_ms : MDM_AT_PROMPT_TIMEOUT_MS;
	char cmd[32], *msg;
	size_t hl;
	int rc;

	result_init(r);
	hl = hex ? strlen(hex) : 0;
	if (!hl || hl % 2 || !all_hex(hex) || !tpdu_len || tpdu_len * 2 > hl || !o || !o->final_timeout_ms)
		return -EINVAL;
	snprintf(w.info_prefix, sizeof(w.info_prefix), "+%s:", name);
	rc = before_command(at);
	if (rc < 0)
		return rc;
	snprintf(cmd, sizeof(cmd), "AT+%s=%u\r", name, tpdu_len);
	rc = write_all(at, cmd, strlen(cmd));
	if (rc < 0)
		return rc;

	rc = wait_for(at, &w, now_ms() + prompt_ms);
	if (rc == EV_FINAL)
		return tail(at); /* refused before the prompt: +CMS ERROR: 304 and the like */
	if (rc == -ETIMEDOUT) {
		r->line_ok = mdm_at_recover(at, 2000) == 0;
		return -ETIMEDOUT;
	}
	if (rc == -ECANCELED)
		write_all(at, "\x1b", 1);
	if (rc < 0)
		return rc;
	r->prompt = true;

	if (o->prompt_delay_ms) {
		rc = idle_read(at, now_ms() + o->prompt_delay_ms);
		if (rc == -ECANCELED)
			write_all(at, "\x1b", 1);
		if (rc < 0)
			return rc;
	}
	/* PDU and Ctrl-Z in one write */
	msg = malloc(hl + 2);
	if (!msg) {
		write_all(at, "\x1b", 1);
		return -ENOMEM;
	}
	memcpy(msg, hex, hl);
	msg[hl] = 0x1a;
	msg[hl + 1] = '\0';
	rc = write_all(at, msg, hl + 1);
	free(msg);
	if (rc < 0)
		return rc == -ETIMEDOUT ? -EIO : rc;
	r->pdu_written = true;

	w.want_prompt = false;
	rc = wait_for(at, &w, now_ms() + o->final_timeout_ms);
	if (rc == -ETIMEDOUT) {
		r->line_ok = mdm_at_recover(at, 2000) == 0;
		return -ETIMEDOUT;
	}
	if (rc < 0)
		return rc;
	if (r->info[0]) {
		int v = mdm_at_info_int(r->info, w.info_prefix);

		if (v >= 0 && (v <= 255 || name[3] == 'W'))
			r->mr = v;
	}
	return tail(at);
}

int mdm_at_cmgs(struct mdm_at *at, unsigned tpdu_len, const char *hex, const struct mdm_cmgs_opts *o,
		struct mdm_at_result *r)
{
	return pdu_cmd(at, "CMGS", tpdu_len, hex, o, r);
}

int mdm_at_cmgw(struct mdm_at *at, unsigned tpdu_len, const char *hex, const struct mdm_cmgs_opts *o,
		struct mdm_at_result *r)
{
	return pdu_cmd(at, "CMGW", tpdu_len, hex, o, r);
}

int mdm_find_tty_fd(const char *device)
{
	struct stat want, st;
	struct dirent *de;
	int found = -ENOENT;
	DIR *d;

	if (stat(device, &want) < 0)
		return -errno;
	if (!S_ISCHR(want.st_mode))
		return -ENOTTY;
	d = opendir("/proc/self/fd");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char *end;
		long fd = strtol(de->d_name, &end, 10);
		int fl;

		if (end == de->d_name || *end || fd < 0 || fd == dirfd(d))
			continue;
		if (fstat((int)fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != want.st_rdev)
			continue;
		fl = fcntl((int)fd, F_GETFL);
		if (fl < 0 || (fl & O_ACCMODE) != O_RDWR)
			continue;
		if (found >= 0) {
			found = -EEXIST;
			break;
		}
		found = (int)fd;
	}
	closedir(d);
	return found;
}
