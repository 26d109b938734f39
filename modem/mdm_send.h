/* linli's own AT+CMGS exchange (3GPP TS 27.005 3.5.1, PDU mode) on the descriptor libgammu holds
 * for a modem, and the line reader under it: final result codes, the "> " prompt, and the
 * unsolicited result codes that may come at any moment of a send (+CMTI, +CDSI, +CMT/+CDS with
 * their PDU line, RING/+CRING, +CLIP, vendor lines such as ^BOOT), with echo on or off.
 *
 * Pure C, no libgammu: the worker (mdm_send_job.c) encodes the PDU with libgammu and hands the
 * unsolicited lines on as its usual events; the unit test drives this on a socketpair.
 * Every wait is cut in slices of at most MDM_AT_SLICE_MS so that leave() (stop, reset) is seen.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define MDM_AT_SLICE_MS		 50
#define MDM_AT_PROMPT_TIMEOUT_MS 10000 /* a modem that does not give "> " within this is stuck */
#define MDM_AT_LINE_MAX		 1024

enum mdm_urc_kind {
	MDM_URC_NEW_SMS,    /* +CMTI: <mem>,<index> */
	MDM_URC_NEW_REPORT, /* +CDSI: <mem>,<index> */
	MDM_URC_SMS_PDU,    /* +CMT: [<alpha>],<length> and its PDU line */
	MDM_URC_REPORT_PDU, /* +CDS: <length> and its PDU line */
	MDM_URC_RING,	    /* RING, +CRING: <type> */
	MDM_URC_CLIP,	    /* +CLIP: <number>,<type>...: number set */
	MDM_URC_OTHER,	    /* anything else that is not the answer: ^BOOT, +CREG, ... */
};

struct mdm_urc {
	enum mdm_urc_kind kind;
	char mem[8];	  /* NEW_SMS / NEW_REPORT: the storage ("SM", "ME", "SR", ...) */
	int index;	  /* NEW_SMS / NEW_REPORT */
	char number[32];  /* CLIP */
	const char *pdu;  /* SMS_PDU / REPORT_PDU: the hex line (SCA + TPDU) */
	const char *line; /* the line as received (the header line for the PDU kinds) */
};

typedef void (*mdm_urc_cb)(const struct mdm_urc *u, void *data);
/* true when the exchange must give up now (stop, reset) */
typedef bool (*mdm_leave_cb)(void *data);

/* The reader's state on one descriptor; the caller owns the memory (no allocation inside). */
struct mdm_at {
	int fd;
	mdm_urc_cb urc;
	mdm_leave_cb leave;
	void *data;
	char in[MDM_AT_LINE_MAX]; /* read, not yet parsed: at most a partial line between calls */
	size_t in_len;
	bool overflow; /* a line longer than in[]: dropped up to its end */
	bool want_pdu; /* a +CMT/+CDS header came: the next line is its PDU */
	enum mdm_urc_kind pdu_kind;
	char pdu_hdr[64];
	unsigned urcs; /* unsolicited lines handed on (any kind), for logs and tests */
};

enum mdm_at_final {
	MDM_AT_NONE = 0, /* no final result code (see the return value) */
	MDM_AT_OK,
	MDM_AT_ERROR, /* ERROR without a code (also COMMAND NOT SUPPORT and the like) */
	MDM_AT_CMS,   /* +CMS ERROR: <code> */
	MDM_AT_CME,   /* +CME ERROR: <code> */
};

struct mdm_at_result {
	enum mdm_at_final final;
	int code;	  /* CMS / CME code, -1 none */
	int mr;		  /* +CMGS: <mr>, -1 none */
	bool prompt;	  /* the "> " prompt came */
	bool pdu_written; /* PDU and Ctrl-Z were written: the message may have gone out */
	bool line_ok;	  /* after a timeout: ESC + AT was answered OK, the modem is usable */
	char info[128];	  /* mdm_at_command: the first information line of the answer */
};

struct mdm_cmgs_opts {
	unsigned prompt_timeout_ms; /* 0: MDM_AT_PROMPT_TIMEOUT_MS */
	unsigned prompt_delay_ms;   /* pause between the prompt and the PDU (default 0) */
	unsigned final_timeout_ms;  /* from Ctrl-Z to the final result code */
};

/* Set up a reader on fd (non-blocking or not: every read and write waits in poll() first). urc gets
 * every unsolicited line, leave is asked between slices; both may be NULL. */
void mdm_at_init(struct mdm_at *at, int fd, mdm_urc_cb urc, mdm_leave_cb leave, void *data);

/* Send one SMS: AT+CMGS=<tpdu_len>, wait for "> " (never writes the PDU before it), then hex and
 * Ctrl-Z in one write, then read to the final result code. Returns 0 when a final result code came
 * (r->final says which; OK with r->mr >= 0 is success), -ETIMEDOUT when the prompt or the final
 * result code did not come (ESC and an AT check were done: r->line_ok), -EIO when the device failed
 * or hung up, -ECANCELED when leave() said so (ESC written if the modem was in PDU entry),
 * -EINVAL for a bad argument. Unsolicited lines met on the way go to urc, never taken for the answer. */
int mdm_at_cmgs(struct mdm_at *at, unsigned tpdu_len, const char *hex, const struct mdm_cmgs_opts *o,
		struct mdm_at_result *r);

/* Store one SMS on the modem (27.005 3.5.3, AT+CMGW=<tpdu_len>, the same prompt and PDU entry as
 * AT+CMGS): r->mr is the <index> of +CMGW: <index> (-1 none); returns as mdm_at_cmgs. */
int mdm_at_cmgw(struct mdm_at *at, unsigned tpdu_len, const char *hex, const struct mdm_cmgs_opts *o,
		struct mdm_at_result *r);

/* The first number of an information line that starts with prefix ("+CMSS:" for "+CMSS: 12",
 * "+CMGR:" for the <stat> of "+CMGR: 2,,19"): 0..100000, -1 when the line is not that. */
int mdm_at_info_int(const char *info, const char *prefix);

/* One plain command (without "\r"), e.g. "AT+CMMS=2" or "AT+CMGF?": 0 when a final result code came
 * within timeout_ms (r->final, r->info: the first line that starts with the command's "+NAME:"),
 * -ETIMEDOUT, -EIO, -ECANCELED as above. */
int mdm_at_command(struct mdm_at *at, const char *cmd, unsigned timeout_ms, struct mdm_at_result *r);

/* The same, and each gets every information line of the answer that starts with the command's
 * "+NAME:" (AT+CMGL=2: each "+CMGL: <index>,<stat>,..."; the PDU lines under them are not given). */
int mdm_at_list(struct mdm_at *at, const char *cmd, unsigned timeout_ms, void (*each)(const char *line, void *data),
		void *data, struct mdm_at_result *r);

/* Get a modem out of whatever it was doing: ESC (leaves PDU entry), then AT, to see it answers.
 * 0 when AT was answered OK within timeout_ms, -ETIMEDOUT, -EIO, -ECANCELED. */
int mdm_at_recover(struct mdm_at *at, unsigned timeout_ms);

/* Hand on what the modem sent meanwhile, without waiting: complete lines go to urc. 0 or -EIO. */
int mdm_at_poll_urcs(struct mdm_at *at);

/* The descriptor of this process that has the character device `device` (a path or a symlink to
 * it) open for reading and writing: libgammu's, found through /proc/self/fd and st_rdev. fd >= 0,
 * -ENOENT when none, -EEXIST when more than one (ambiguous), -errno when device cannot be stat'ed
 * or is not a character device (-ENOTTY). */
int mdm_find_tty_fd(const char *device);
