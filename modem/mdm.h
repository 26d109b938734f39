/* The modem pool: one worker thread per GSM modem, each owning a libgammu state machine.
 *
 * Only modem/ includes <gammu.h>. Workers never touch the database or talloc: they receive
 * commands through their own locked queue and hand every result to the main loop through one
 * osmo_it_q, whose callback runs on the main thread. Nothing read from a SIM is deleted until
 * the main loop has committed it and calls mdm_delete().
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <osmocom/core/linuxlist.h>

struct mdm_pool;

/* Store-and-send takes messages of up to this many parts (a SIM holds 20 to 50 messages); longer
 * ones go with AT+CMGS. */
#define MDM_STORE_PARTS 8

/* Store-and-send: the SIM indexes of one message's copies, in part order (index[k]: part k + 1). */
struct mdm_copies {
	unsigned n;
	int index[MDM_STORE_PARTS];
};

struct mdm_cfg {
	char name[32];
	char device[256];	  /* /dev/ttyUSB0, /dev/pts/N, or the command for connection "proxyat" */
	char connection[32];	  /* any gammu connection: "at", "at115200", "proxyat", ... */
	unsigned pace_ms;	  /* at least this long from one send's start to the next (0 = none) */
	unsigned poll_s;	  /* safety-net listing of SIM storage (default 30) */
	unsigned health_s;	  /* signal, registration and SIM poll (default 30) */
	bool reports;		  /* request delivery reports (status report) */
	unsigned send_timeout_s;  /* wait for a part's +CMGS reference (default 40) */
	bool send_gammu;	  /* send through GSM_SendSMS even where linli's own AT+CMGS could run */
	unsigned prompt_delay_ms; /* own AT+CMGS: pause between the "> " prompt and the PDU (default 0) */
	bool cmms_off;		  /* own AT+CMGS: never send AT+CMMS=2 (keep the relay link open) */
	bool store_send;	  /* own path: AT+CMGW, MDM_EV_STORED, AT+CMSS (up to MDM_STORE_PARTS parts) */
	unsigned watchdog_s;	  /* a send unanswered this long resets the modem (MDM_EV_SEND_RESET); twice
				   * as long, MDM_EV_SEND_STUCK. 0: no send watchdog */
};

enum mdm_state {
	MDM_ST_CONNECTING, /* opening the device, initialising */
	MDM_ST_READY,	   /* connected and answering */
	MDM_ST_LOST,	   /* stopped answering or device gone: retrying with back-off */
	MDM_ST_STOPPED,	   /* worker finished (pool stopping) */
};

enum mdm_ev_type {
	MDM_EV_STATE,	    /* u.state */
	MDM_EV_SMS_IN,	    /* u.sms: one message (or one part) read from storage */
	MDM_EV_SEND_RESULT, /* u.send: the outcome of mdm_send() */
	MDM_EV_DELETED,	    /* u.del: the outcome of mdm_delete() */
	MDM_EV_REPORT,	    /* u.report: a status report (delivery) */
	MDM_EV_HEALTH,	    /* u.health */
	MDM_EV_RING,	    /* u.ring: incoming call */
	MDM_EV_SEND_RESET,  /* u.watchdog: the send has not been answered for watchdog_s; the pool
			     * reset the modem (mdm_reset) right after this event */
	MDM_EV_STORED,	    /* u.send (job, stored): store-and-send wrote every part of the message
			     * on the SIM (stored: their indexes); the worker sends them only after
			     * mdm_stored_committed() */
	MDM_EV_SEND_STUCK,  /* u.watchdog: still no answer after twice watchdog_s, even after the reset.
			     * The job is the caller's again (e.g. to queue it for another modem); the
			     * modem stays busy until its MDM_EV_SEND_RESULT, which may still come: if
			     * that says MDM_OK, the message may have gone out twice */
	MDM_EV_SIM_OUT,	    /* u.sim_out: store-and-send, once a connection: the SIM indexes of the
			     * outgoing messages stored there (27.005 <stat> 2 "STO UNSENT", 3 "STO
			     * SENT"); those no message refers to are the caller's to delete */
};

enum mdm_err_class {
	MDM_OK = 0,
	MDM_ERR_TRANSIENT, /* network/SIM busy, CMS 500...: retry later, any modem */
	MDM_ERR_PERMANENT, /* the message or number is wrong: fail it with the reason */
	MDM_ERR_MODEM,	   /* the modem failed (timeout, device gone): retry at once on another modem */
};

struct mdm_event {
	struct llist_head list; /* osmo_it_q linkage */
	enum mdm_ev_type type;
	unsigned modem; /* index in the pool */
	bool examined;	/* the main loop's mark (false from the worker): seen by gateway/core/emergency.c */
	union {
		struct {
			enum mdm_state state;
			char reason[128];
			char imei[32];
			char model[64];
		} state;
		struct {
			int folder, location; /* pass back to mdm_delete(); location 0: not stored (+CMT),
					       * mdm_delete() on it is answered rc 0 at once */
			char sender[32];
			char *text;	 /* UTF-8, malloc'd */
			char *raw;	 /* hex of what the modem gave (PDU), malloc'd, may be NULL */
			int64_t smsc_ts; /* unix seconds, 0 if unknown */
			bool bad_text;	 /* text could not be decoded cleanly */
			bool is_part;	 /* part of a concatenated message: ref/total/seq valid */
			unsigned ref, total, seq;
		} sms;
		struct {
			int64_t job;
			enum mdm_err_class cls;
			int code; /* CMS/CME error number, or 0 */
			char reason[128];
			char refs[96];		  /* message references of the parts, "12,13" */
			unsigned parts_sent;	  /* parts accepted before an error */
			struct mdm_copies stored; /* store-and-send: the SIM indexes of its parts (n 0:
						   * none); delete them (mdm_delete(idx, 0, index))
						   * once the outcome is committed */
			bool keep;		  /* store-and-send: outcome unknown (the modem went away before it
						   * could tell): keep the row stored and read it back later */
		} send;
		struct {
			int folder, location;
			int rc; /* 0 or -errno */
		} del;
		struct {
			unsigned mr;
			unsigned status; /* TP-ST: < 0x20 delivered, 0x20.. pending, >= 0x40 failed */
			char recipient[32];
			int64_t ts;
			int folder, location; /* delete it after recording, as for SMS_IN (0 if none) */
		} report;
		struct {
			int signal_pct; /* -1 unknown */
			int rssi_dbm;	/* 0 unknown */
			bool registered;
			bool no_service; /* the modem said it is not registered (searching, none, denied) */
			char network[64];
			char sim[32]; /* "ready", "pin", "absent", ... */
			unsigned sim_used, sim_size;
		} health;
		struct {
			char caller[32];
		} ring;
		struct {
			int64_t job;
			unsigned waited_s; /* since mdm_send() handed it over */
		} watchdog;
		struct {
			unsigned n;
			int *index; /* malloc'd, n of them */
		} sim_out;
	} u;
};

typedef void (*mdm_event_cb)(struct mdm_pool *pool, struct mdm_event *ev, void *data);

/* Start one worker per cfg[i]; each connects on its own and reports MDM_EV_STATE.
 * cb runs on the main thread (the osmo_select loop) for every event (the workers' through the queue,
 * the send watchdog's from the pool's timer) and must call mdm_event_free(ev) when done with it. */
struct mdm_pool *mdm_pool_start(void *ctx, const struct mdm_cfg *cfg, unsigned n, mdm_event_cb cb, void *data);

/* Ask every worker to finish the command under way, stop, and join them. Events still queued
 * are delivered before it returns. */
void mdm_pool_stop(struct mdm_pool *pool);

unsigned mdm_pool_size(const struct mdm_pool *pool);
const char *mdm_name(const struct mdm_pool *pool, unsigned idx);

/* Hand a message to modem idx: the worker splits the UTF-8 text (sms_split), sends the parts
 * and answers with one MDM_EV_SEND_RESULT for job. -EBUSY if that modem has a send outstanding,
 * -ENODEV if it is not READY. */
int mdm_send(struct mdm_pool *pool, unsigned idx, int64_t job, const char *dest, const char *text);

/* Store-and-send after a crash: the parts of message job were stored at the SIM indexes c on modem
 * idx before linlid stopped. The worker reads each back (AT+CMGR): a part "STO UNSENT" is sent now
 * (AT+CMSS), one "STO SENT" went out (its reference is not known: refs has only those sent now).
 * When a part is not there (an empty index, a received message there) the message was not all
 * stored: MDM_ERR_MODEM (queue it again), stored then holds only the copies that are ours.
 * Otherwise as mdm_send(). */
int mdm_send_stored(struct mdm_pool *pool, unsigned idx, int64_t job, const struct mdm_copies *c);

/* The main thread committed the SIM indexes of MDM_EV_STORED for job (ok) or could not (then the
 * worker deletes the stored copies and answers the send MDM_ERR_MODEM without sending it). */
void mdm_stored_committed(struct mdm_pool *pool, unsigned idx, int64_t job, bool ok);

/* Delete a stored message after it was committed; answered by MDM_EV_DELETED. */
int mdm_delete(struct mdm_pool *pool, unsigned idx, int folder, int location);

/* Drop the connection and reconnect. An outstanding send is answered MDM_ERR_MODEM (unless the worker
 * is stuck in a call that does not return: then the send watchdog goes on to MDM_EV_SEND_STUCK). */
int mdm_reset(struct mdm_pool *pool, unsigned idx);

/* The send watchdog of every modem (mdm_cfg.watchdog_s), from now on; the sends under way are
 * measured against the new value at the next check. 0 turns it off. */
void mdm_set_watchdog(struct mdm_pool *pool, unsigned watchdog_s);

/* Reject (or end) the call ringing on modem idx: AT+CHUP. No answer event. */
int mdm_hangup(struct mdm_pool *pool, unsigned idx);

/* Take back a send handed to modem idx that its worker has not started yet (an SOS needs the
 * slot): 0 and no MDM_EV_SEND_RESULT will come for job; -EBUSY when it is already under way. */
int mdm_withdraw(struct mdm_pool *pool, unsigned idx, int64_t job);

/* The main thread committed what the workers handed over. A worker that has just handed over a
 * received message starts no new command until this (or MDM_INBOX_HOLD_MS): the message may be
 * an SOS whose alert must take the next send slot, not the bulk message already queued. */
void mdm_inbox_committed(struct mdm_pool *pool);
#define MDM_INBOX_HOLD_MS 500

/* Whether modem idx has a send outstanding (main-thread view). */
bool mdm_is_busy(const struct mdm_pool *pool, unsigned idx);

void mdm_event_free(struct mdm_event *ev);

const char *mdm_state_name(enum mdm_state st);
