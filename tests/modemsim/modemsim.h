/* modemsim: an AT GSM modem (3GPP TS 27.007/27.005, PDU mode) on a pseudo-terminal, driven by
 * the real libgammu, with a control socket to deliver SMS, read what was sent and inject faults.
 *
 * One process emulates one modem; everything runs on one poll() loop (modemsim.c), the AT
 * interpreter is at.c, the control protocol and the SMS stores are ctl.c, PDUs are pdu.c.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "tests/modemsim/pdu.h"

/* A growable byte buffer; data lives in d[off..len). */
struct ms_buf {
	char *d;
	size_t off, len, cap;
};

void ms_buf_add(struct ms_buf *b, const void *p, size_t n);
void ms_buf_printf(struct ms_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ms_buf_consume(struct ms_buf *b, size_t n);
void ms_buf_reset(struct ms_buf *b);
void ms_buf_free(struct ms_buf *b);

/* Milliseconds on the monotonic clock. */
int64_t ms_now(void);

/* Call cb(data) once, after delay_ms. Timers with the same delay fire in the order they were set. */
void ms_timer_add(int64_t delay_ms, void (*cb)(void *), void *data);

/* Watch fd for poll events; cb runs with the revents. Watching an fd again replaces the old watch. */
void ms_fd_watch(int fd, short events, void (*cb)(int fd, short revents, void *data), void *data);
void ms_fd_events(int fd, short events);
void ms_fd_unwatch(int fd);

/* Append a line to the log file (if --log was given). */
void ms_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Bytes for the terminal (the TE side of the pty); dropped while the device has vanished. */
void ms_pty_write(const void *p, size_t n);

/* Close the pty and remove the link ("vanish"), or open a new one and link it ("appear").
 * Return 0 or -errno. */
int ms_pty_vanish(void);
int ms_pty_appear(void);
bool ms_pty_present(void);

/* One stored message in SIM storage, index 1..sim_size. */
struct ms_slot {
	bool used;
	unsigned stat;	      /* 27.005 <stat>: 0 unread, 1 read, 2 unsent, 3 sent */
	bool report;	      /* an SMS-STATUS-REPORT, not an SMS-DELIVER */
	uint8_t pdu[PDU_MAX]; /* SCA + TPDU */
	size_t sca_len, len;
};

/* An incoming SMS on its way to the TE (also one waiting for space). */
struct ms_incoming {
	struct ms_incoming *next;
	bool report;
	uint8_t pdu[PDU_MAX];
	size_t sca_len, len;
};

struct ms_stats {
	unsigned long cmgs, cmgs_failed, delivered, stored, deleted, reports, at_cmds;
	unsigned long injected;	  /* unsolicited lines written at an injection point of a send */
	unsigned long early_pdu;  /* PDU characters the TE wrote before any "> " prompt */
	unsigned long cmms_sets;  /* AT+CMMS=<n> accepted */
	unsigned long cmgw, cmss; /* AT+CMGW stored, AT+CMSS sent */
};

/* Points of an AT+CMGS where the control socket can have something happen ("inject"). */
enum ms_point {
	MS_PT_PROMPT,  /* right after "> ", before the PDU */
	MS_PT_AIRTIME, /* after Ctrl-Z, while the air time runs (before the answer when there is none) */
	MS_PT_OK,      /* right after the final result code */
	MS_PT_CMSS,    /* an AT+CMSS arrived, before it is carried out (with "hang": it never is) */
	_MS_PT_NUM,
};

/* What happens at an injection point. */
enum ms_inject_what {
	MS_INJ_LINE,	/* write one unsolicited line (text may hold "\r\n" for +CDS and its PDU) */
	MS_INJ_RELEASE, /* write the URCs held back by "urc-hold on" */
	MS_INJ_HANG,	/* start the "hang" fault */
};

/* The modem as a whole. */
struct modemsim {
	const char *name, *imei, *link, *ctl_path;
	unsigned sim_size;
	unsigned airtime_ms;
	char smsc[24];
	struct ms_slot *sim; /* [1..sim_size]; [0] unused */
	struct ms_incoming *pending, **pending_tail;
	unsigned npending;

	/* faults and knobs */
	unsigned fail_code, fail_count;
	bool hang, full, reports;
	bool urc_hold;	   /* URCs wait (until "urc-hold off" or an injected "release") */
	bool cmms_refuse;  /* AT+CMMS answers an error ("cmms off") */
	bool store_refuse; /* AT+CMGW / AT+CMSS answer +CMS ERROR: 303 ("store off") */
	unsigned noprompt; /* the next N AT+CMGS give no "> " prompt */
	unsigned report_status;
	unsigned report_delay_ms;

	struct ms_stats st;
};

extern struct modemsim ms;

/* ---- at.c: the AT interpreter ---- */

/* Initialise the AT state (power-on defaults). */
void ms_at_init(void);

/* Bytes the TE wrote to the modem. */
void ms_at_input(const uint8_t *p, size_t n);

/* The TE flushed its queues (it (re)opened the device): forget a half-typed command. */
void ms_at_flush(void);

/* Something changed (hang off, space freed): send queued URCs if the interpreter is idle. */
void ms_at_kick(void);

/* Queue an unsolicited result code (without CR LF framing; may contain "\r\n" for +CMT/+CDS).
 * It is sent at once when the interpreter is idle, otherwise after the current command. */
void ms_at_urc(const char *text);

/* CNMI settings the SMS side needs. */
unsigned ms_at_cnmi_mt(void);
unsigned ms_at_cnmi_ds(void);
bool ms_at_cnmi_on(void);

/* Queue something to happen at point pt of the next AT+CMGS that reaches it (in order). */
void ms_at_inject(enum ms_point pt, enum ms_inject_what what, const char *text);
void ms_at_inject_clear(void);
unsigned ms_at_cmms(void);

/* Ring: start RING/+CLIP every 3 s, count times (0 = until answered or hung up). */
void ms_at_ring(const char *number, unsigned count);

/* ---- ctl.c: SMS stores, the control protocol ---- */

/* Hand an incoming message to the TE per CNMI: +CMT/+CDS directly, or store it and announce it.
 * Returns the SIM index, 0 when sent directly, -ENOSPC when it waits in the pending queue. */
int ms_sms_incoming(const uint8_t *pdu, size_t sca_len, size_t len, bool report);

/* Store pending messages while there is room (after a delete, or "full off"). */
void ms_sms_drain_pending(void);

/* A free SIM index, or 0 when storage is full (or the "full" fault is on). */
unsigned ms_sim_free_index(void);
unsigned ms_sim_used(void);

/* A SMS-SUBMIT TPDU the TE sent, with the message reference the modem gave it. Returns 0, or
 * -EINVAL when the PDU is malformed. */
int ms_sms_submitted(const uint8_t *tpdu, size_t len, unsigned mr);

/* The PDU as the TE wrote it after AT+CMGS=<cmgs_len> (SCA + TPDU), for the "sentpdus" list. */
void ms_sms_wire(unsigned cmgs_len, const uint8_t *pdu, size_t len);

/* Control connections. */
int ms_ctl_listen(const char *path);
void ms_ctl_accept(int lfd);

/* ---- storm.c: registration, +CME errors to sends, garbage, a SIM full of read messages ---- */

/* The +CREG <stat> to report (0 when the radio is off). */
unsigned ms_storm_creg(unsigned cfun);

/* A send begins (no "fail" due): true when it is to fail, with the +CMS (or, is_cme, +CME) code. */
bool ms_storm_send_fault(unsigned *code, bool *is_cme);

/* An AT command line arrived: garbage written to tx if due; true when the command is then dropped. */
bool ms_storm_line(struct ms_buf *tx);

/* Control commands creg, cme, garbage, simfill, storm; false when cmd is none of them. */
bool ms_storm_command(const char *cmd, char *args, struct ms_buf *o);
