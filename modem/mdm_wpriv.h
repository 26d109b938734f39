/* Internal to one worker thread (mdm_worker.c and the files split from it by concern:
 * mdm_connect.c, mdm_receive.c, mdm_ring.c, mdm_send_job.c, mdm_scrape.c): the thread's private
 * state and the functions these files call in each other. Everything here runs on the worker
 * thread unless it says otherwise; the pool (main thread) sees only mdm_worker.h. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <gammu.h>

#include <osmocom/core/linuxlist.h>

#include "modem/mdm.h"
#include "modem/mdm_send.h"
#include "modem/mdm_worker.h"
#include "modem/sms_codec.h"

#define PDU_RING   128	/* hex PDU lines remembered from the debug output */
#define LOC_MAX	   256	/* +CMTI notices waiting to be read */
#define HANDED_MAX 2048 /* stored messages handed over, waiting for mdm_delete */

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
	int last_err; /* last +CMS/+CME code seen, -1 none */
	bool last_err_cms;

	/* filled by gammu callbacks, consumed by the loop */
	int loc_folder[LOC_MAX], loc_location[LOC_MAX];
	unsigned nloc;
	struct llist_head full;
	bool send_waiting, send_done;
	int send_status, send_mr;
	bool ring_active, ring_emitted;
	bool hanging_up;   /* inside mdm_do_hangup: its own call-end notice is not the new call's */
	unsigned ring_gen; /* counts calls: a call that starts during a hang-up survives it */
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
	int fd;		    /* libgammu's descriptor of the tty, -1 none */
	bool own;	    /* linli's own AT+CMGS on fd */
	bool own_checked;   /* AT+CMGF? said PDU mode on this connection */
	bool cmms_on;	    /* AT+CMMS=2 accepted on this connection */
	bool cmms_refused;  /* the modem answered an error to AT+CMMS: never again (worker lifetime) */
	bool store_refused; /* the modem refused AT+CMGW/AT+CMSS: AT+CMGS from now on (worker lifetime) */
	bool store_checked; /* AT+CPMS? said this connection writes and sends from "SM" */
	bool copies_listed; /* the SIM's stored outgoing messages were listed (MDM_EV_SIM_OUT) */
	char path[96];	    /* how this connection sends, for the state reason */
	struct mdm_at at;
	char model[GSM_MAX_MODEL_LENGTH + GSM_MAX_MANUFACTURER_LENGTH + 2];

	/* big scratch structures, kept off the stack */
	GSM_MultiSMSMessage multi;
	GSM_SMSMessage out;
	GSM_SMSMessage scratch;
	struct sms_split split;
};

/* ---- mdm_worker.c: the thread's plumbing ---- */

/* CLOCK_MONOTONIC in milliseconds: the clock of every deadline in the worker (and of
 * w->call_deadline, which the pool's watchdog compares with it). */
int64_t mdm_now_ms(void);
void mdm_sleep_ms(unsigned ms);

/* A gammu "Unicode" string (UTF-16BE code units ending in 00 00, at most maxbytes) as code units
 * in out (at most outmax); returns how many. */
size_t mdm_gu_units(const unsigned char *g, size_t maxbytes, uint16_t *out, size_t outmax);
/* The same as UTF-8 in out (always terminated; empty when it cannot be converted). */
void mdm_gu_to_utf8(const unsigned char *g, size_t maxbytes, char *out, size_t outmax);
/* n bytes as 2n upper-case hex digits and a terminating NUL in out (2n + 1 bytes). */
void mdm_hex_encode(const unsigned char *b, size_t n, char *out);
/* The value of one hex digit, -1 when c is none. */
int mdm_hexval(int c);

/* A zeroed event of type for this worker's modem, for mdm_pool_emit(); waits for memory rather
 * than fail. */
struct mdm_event *mdm_ev_new(struct mdm_worker *w, enum mdm_ev_type type);
/* Whether stop or reset was asked for: every wait and loop of the worker gives up on it. */
bool mdm_flag_leave(struct mdm_worker *w);
/* Bracket a gammu call that may block: the pool's watchdog aborts it after limit_s (what names it
 * in w->call_what). Every call_begin has its call_end. */
void mdm_call_begin(struct mdm_worker *w, unsigned limit_s, const char *what);
void mdm_call_end(struct mdm_worker *w);
/* Record state st and tell the main thread (MDM_EV_STATE with reason; IMEI and model when READY). */
void mdm_set_state(struct mdm_worker *w, enum mdm_state st, const char *reason);
/* Let what the modem sent reach libgammu's callbacks: one GSM_ReadDevice(sm, FALSE), at most a
 * 50 ms wait, woken early by a command. Repeated read errors or instant EOFs mark the modem lost. */
void mdm_service_device(struct mdm_worker *w);

/* ---- mdm_connect.c: connection, identity, failure handling, health polls ---- */

/* Whether e means the modem or its device failed (as opposed to the request). */
bool mdm_is_modem_error(GSM_Error e);
/* Mark the connection lost (the first reason is kept): the loop tears it down and reconnects. */
void mdm_go_lost(struct mdm_worker *w, const char *what, GSM_Error e);
/* After a failed gammu call: true when the modem is to be treated as gone (then marked lost). A
 * timeout is confirmed with one AT+CSQ first, so a single slow answer does not drop the connection. */
bool mdm_check_lost(struct mdm_worker *w, GSM_Error e, const char *what);
/* Poll signal, registration, SIM and SMS memory; MDM_EV_HEALTH, or the modem marked lost. */
void mdm_health(struct mdm_worker *w);
/* A fresh state machine on the configured device: connect, set the callbacks, IMEI, model, SMSC.
 * Whatever the outcome, mdm_teardown() frees what it left in p->sm. */
GSM_Error mdm_connect_modem(struct mdm_worker *w);
/* Close and free the state machine and forget what belonged to this connection; whole messages
 * that came just before are still handed over. Does nothing without a state machine. */
void mdm_teardown(struct mdm_worker *w);

/* ---- mdm_scrape.c: libgammu's debug output ---- */

/* The log function given to GSM_InitConnection_Log (data: the worker): keeps the last +CMS/+CME
 * code (p->last_err, GSM_SendSMS path only) and recent hex PDU lines (p->pdu). */
void mdm_gammu_log(const char *text, void *data);
/* The hex PDU the modem gave for m, found among the recent answer lines: malloc'd, or NULL. */
char *mdm_find_raw(struct mdm_worker *w, const GSM_SMSMessage *m);

/* ---- mdm_receive.c: reading, +CMTI/+CMT, status reports, deleting ---- */

/* libgammu's incoming-SMS callback (data: the worker): notes a +CMTI/+CDSI location, or keeps a
 * whole +CMT/+CDS message for mdm_flush_full(). No AT commands here (it runs inside gammu calls). */
void mdm_on_sms(GSM_StateMachine *sm, GSM_SMSMessage *sms, void *data);
/* The unsolicited lines linli's own AT exchange met (data: the worker): the same notes as the
 * gammu callbacks (stored message, whole message, RING, +CLIP). */
void mdm_on_urc(const struct mdm_urc *u, void *data);
/* Hand one message (or status report) over to the main thread. location: gammu's flat location
 * (folder 0), 0 when not stored. raw: malloc'd hex PDU or NULL, taken over. */
void mdm_emit_message(struct mdm_worker *w, const GSM_SMSMessage *m, int location, char *raw);
/* Hand over the whole messages (+CMT/+CDS) the callbacks kept. */
void mdm_flush_full(struct mdm_worker *w);
/* Read the messages +CMTI/+CDSI told us about and hand them over. */
void mdm_read_notified(struct mdm_worker *w);
/* Safety net: list all folders and hand over what was not handed over yet. */
void mdm_poll_storage(struct mdm_worker *w);
/* Forget locations handed over longer than an hour ago whose delete never came. */
void mdm_handed_expire(struct mdm_wpriv *p);
/* Answer a delete: MDM_EV_DELETED with rc (0 or -errno). */
void mdm_answer_delete(struct mdm_worker *w, int folder, int location, int rc);
/* Run one MDM_CMD_DELETE and answer it; false when the modem was lost meanwhile and the command
 * must be kept for after a reconnect (nothing answered then). */
bool mdm_do_delete(struct mdm_worker *w, struct mdm_cmd *c);

/* ---- mdm_ring.c: RING and +CLIP ---- */

/* A RING or +CLIP (num "" when not known): one call until RINGs stop for RING_SAME_CALL_MS. */
void mdm_note_ring(struct mdm_worker *w, const char *num);
/* libgammu's incoming-call callback (data: the worker). */
void mdm_on_call(GSM_StateMachine *sm, GSM_Call *call, void *data);
/* MDM_EV_RING once per call, as soon as the caller is known (or +CLIP did not come in time). */
void mdm_ring_check(struct mdm_worker *w);
/* Reject the call ringing now (or end it): AT+CHUP, libgammu falls back on ATH. No answer event. */
void mdm_do_hangup(struct mdm_worker *w);

/* ---- mdm_send_job.c: one send, own AT+CMGS or GSM_SendSMS ---- */

/* libgammu's send-status callback (data: the worker): the +CMGS reference or error of the part
 * GSM_SendSMS is waiting for. */
void mdm_on_send_status(GSM_StateMachine *sm, int status, int mr, void *data);
/* Answer a send: MDM_EV_SEND_RESULT for job (reason and refs may be NULL: empty). */
void mdm_answer_send(struct mdm_worker *w, int64_t job, enum mdm_err_class cls, int code, const char *reason,
		     const char *refs, unsigned parts_sent);
/* The same for a store-and-send job: stored are the SIM copies to delete once committed (NULL
 * none), keep says the outcome is unknown (the row stays stored, read back later). */
void mdm_answer_send_stored(struct mdm_worker *w, int64_t job, enum mdm_err_class cls, int code, const char *reason,
			    const char *refs, unsigned parts_sent, const struct mdm_copies *stored, bool keep);
/* After a connect: choose how this connection sends (p->own, p->fd, p->path): linli's own AT+CMGS
 * on libgammu's descriptor when there is one to be had, GSM_SendSMS otherwise. */
void mdm_choose_path(struct mdm_worker *w);
/* Run one MDM_CMD_SEND: split the text, send the parts, answer with one MDM_EV_SEND_RESULT. */
void mdm_do_send(struct mdm_worker *w, struct mdm_cmd *c);
