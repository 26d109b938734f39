/* linlid's core: the state every feature shares, owned by the main thread (the osmo_select loop).
 *
 * The core is the SMS pipeline and what features plug into: inbox (store + dedup + route in one
 * transaction, inbox.h), outbox (queue, channels, outbox.h), the GSM modem channel (gsm.c), the
 * router (route.h), due work on one timer (due.h), calls ringing a modem (ring.h), the clock
 * (clock.h), the rate limiter (limit.h), VTY, CTRL and counters. Features (gateway/sos,
 * request, call, sip) include only gateway/core/ and db/; gateway/linlid.c wires them. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <osmocom/core/linuxlist.h>
#include <osmocom/core/timer.h>

#include "gateway/core/clock.h"
#include "modem/mdm.h"

/* Log categories, one per concern. */
enum {
	DGW,	/* daemon life cycle, config */
	DMDM,	/* modem pool events as seen by the main loop */
	DSMS,	/* inbox, outbox and scheduler */
	DRT,	/* routing of received messages, and the features' handlers */
	DDB,	/* database (db/ logs here: db_set_log_category) */
	DMEDIA, /* RTP legs, the group call mixer, prompts, DTMF (gateway/call/media.c) */
	DCALL,	/* the 6995 group call: SIP user agent and call control (gateway/call/) */
	DSIP,	/* SMS over SIP: the evapi link to Kamailio (gateway/sip/) */
};

#define GW_MAX_MODEMS 16
#define GW_VTY_PORT   4290
#define GW_CTRL_PORT  4291

/* Per-modem rate counters (show modems, CTRL, `show stats`). */
enum {
	GW_MDM_CTR_RECEIVED,  /* messages or parts read from the modem and committed */
	GW_MDM_CTR_DUPLICATE, /* read again but already stored (deleted again, not stored twice) */
	GW_MDM_CTR_SENT,      /* messages accepted with a reference for every part */
	GW_MDM_CTR_PARTS,     /* parts sent */
	GW_MDM_CTR_FAILED,    /* permanent failures */
	GW_MDM_CTR_RETRIED,   /* transient failures put back in the queue */
	GW_MDM_CTR_RESET,     /* watchdog resets */
	GW_MDM_CTR_REPORTS,   /* delivery reports recorded */
};

struct emergency_msg;
struct gw;
/* emergency.c: a received message's sender and text, shown while the database cannot commit */
typedef void (*gw_emergency_fn)(struct gw *gw, const char *sender, const char *text);

struct gw_modem {
	struct mdm_cfg cfg;
	unsigned idx;
	enum mdm_state state;
	char imei[32], model[64], reason[128];
	struct {
		int signal_pct;
		bool registered;
		bool no_service; /* not registered (its health poll, or a send refused so): given nothing */
		char network[64];
		char sim[32];
		unsigned sim_used, sim_size;
		time_t at;
	} health;
	/* the send under way, if any */
	int64_t job;
	int job_prio;
	time_t job_started;    /* gw_mono(), for show modems (the send watchdog is the pool's) */
	unsigned job_attempts; /* attempts of that message, including this one */
	bool job_abandoned;    /* the pool's watchdog gave it up (MDM_EV_SEND_STUCK) and it went back to
				* the queue; a late result is only counted */
	time_t last_progress;  /* last time the modem did real work (sent, read, answered a health poll) */
	time_t ready_since;
	time_t stored_after;		 /* store-and-send: read back stored messages (after a crash) from then on */
	bool job_resume;		 /* the job is such a read-back */
	struct emergency_msg *emergency; /* emergency.c: the job (< 0) is this message, sent without the database */
	struct rate_ctr_group *ctrs;
};

/* The core's settings (gateway node); the features keep theirs (sos.h, request.h, call.h,
 * sip_msg.h). The defaults are set in one place, gw_cfg_defaults(). */
struct gw_config {
	char *db_path;
	unsigned part_timeout_s; /* keep waiting this long for missing parts of a concatenated SMS */
	unsigned send_timeout_s; /* a send outstanding longer than this resets the modem (watchdog_s) */
	unsigned max_attempts;	 /* transient failures before a message fails for good */
	unsigned retry_base_s;	 /* back-off: base * 2^(attempt-1), at most retry_max_s */
	unsigned retry_max_s;
	unsigned help_interval_s; /* at most one help reply per number per interval */
	unsigned flood_max;	  /* more messages than this from one number within flood_window_s: */
	unsigned flood_window_s;  /* it is parked (stored, not routed) for the window; 0: no limit */
	char *ctrl_bind;
	unsigned ctrl_port;
	bool reply_unknown;	/* reply to numbers the database does not know */
	char *community_number; /* the gateway's own number (watches are programmed to alert it) */
	bool test_clock;	/* accept CTRL SET clock-offset (end-to-end tests only) */
	bool ctrl_send;		/* accept CTRL SET sms-send (CTRL has no login) */
	bool standby;		/* PostgreSQL: wait while another linlid owns the database, then take over */
	unsigned lease_s;	/* PostgreSQL: the owner's lease (db_own); a standby takes over after it */
	char *community;	/* PostgreSQL: this box's community in a district's database (db_open_community) */
	char *rules_file;	/* keyword rules and reply templates (routes/sms.rules) */
};

struct rt_rules;
struct db_sms_in;
struct gw_limit;
struct vty;

/* How long the running loop's statements wait for a lock held by another process, in ms
 * (db_set_busy_timeout; db_open's 5 s would stall every timer and the VTY). */
#define GW_DB_BUSY_MS 1000

/* database faults that make the gateway degraded (dbstate.c) */
enum { GW_DB_FAULT_NOSPC, GW_DB_FAULT_IO, GW_DB_FAULT_BUSY, _GW_DB_FAULTS };

struct gw {
	void *ctx;
	struct gw_config cfg;
	struct db_context *db;
	struct mdm_pool *pool;
	struct gw_modem modem[GW_MAX_MODEMS];
	unsigned nmodems;
	struct rate_ctr_group *ctrs;  /* gateway-wide */
	struct osmo_timer_list flush; /* zero-delay: commit the inbox batch */
	struct llist_head inbox;      /* received events waiting for the batch commit */
	unsigned inbox_len;
	bool quitting;		      /* SIGTERM: no new sends, finish what is in flight */
	struct gw_limit *help_limit;  /* one help reply per number per help-interval */
	struct gw_limit *flood_limit; /* flood-limit: messages per number per window */
	struct rt_rules *rules;	      /* keyword rules in use (gw_rules_reload) */
	/* the message the router is handling right now (gw_route): a reply to its sender goes back
	 * by the channel it came in on (gw_sms_queue) */
	const struct db_sms_in *routing;
	/* the database cannot commit (dbstate.c): no claims, no SIM deletions until a retry works */
	bool db_degraded;
	int db_fault_err;      /* -ENOSPC, -EIO or -EBUSY: the last fault */
	time_t db_fault_since; /* gw_mono() when it started */
	uint64_t db_fault_count[_GW_DB_FAULTS];
	struct osmo_timer_list db_retry;
	/* outgoing messages' outcomes waiting for the database (dbstate.c, gw_out_record) */
	struct llist_head db_pending;
	unsigned db_pending_len;
	/* the emergency path (emergency.c): what waits to go out without the database */
	gw_emergency_fn emergency_fn;
	struct llist_head emergency;
	unsigned emergency_len;
	int64_t emergency_seq; /* its sends' job numbers are -1, -2, ... */
};

/* ---- the degraded-database state (dbstate.c) ---- */
/* Index of a database fault (-ENOSPC, -EIO, -EBUSY), -1 for any other error. */
int gw_db_fault_kind(int err);
/* Metric label of a fault kind: full, ioerr, busy. */
const char *gw_db_fault_name(unsigned kind);
/* A db/ call failed with err: a fault (true) enters the degraded state (logged once, on entry) and
 * starts the periodic retry; any other error changes nothing (false). */
bool gw_db_fault(struct gw *gw, int err, const char *what);
/* A commit worked: leave the degraded state (logged), kick the sends. */
void gw_db_ok(struct gw *gw);
void gw_db_init(struct gw *gw);
void gw_db_stop(struct gw *gw);

/* ---- the emergency path while the database cannot commit (emergency.c) ----
 * A received message that waits for the database is shown once to the feature registered here
 * (the SOS module): an alarm must not wait for a disk to be freed. What it sends goes through
 * gw_emergency_send. */
void gw_emergency_set(struct gw *gw, gw_emergency_fn fn);
/* Show the waiting received messages not yet seen to the emergency function. */
void gw_emergency_examine(struct gw *gw);
/* Send text to number through the first free ready modem, without the database: nothing is
 * recorded, the log says what went out (a failed try is tried twice more). -ENOSPC when
 * GW_EMERGENCY_MAX wait already. */
int gw_emergency_send(struct gw *gw, const char *number, const char *text);
#define GW_EMERGENCY_MAX 200
/* Hand waiting emergency messages to free ready modems (gsm.c's scheduler, even when degraded). */
void gw_emergency_kick(struct gw *gw);
/* The outcome of an emergency send on modem m (job < 0): logged, tried again or given up. */
void gw_emergency_result(struct gw *gw, struct gw_modem *m, const struct mdm_event *ev);
/* The send watchdog gave up modem m's emergency send: to another modem. */
void gw_emergency_stuck(struct gw *gw, struct gw_modem *m);
void gw_emergency_stop(struct gw *gw);

/* The outcome of an outgoing message (any channel), recorded in sms_out. */
enum gw_out_outcome {
	GW_OUT_SENT,  /* text: the part references, at: when */
	GW_OUT_RETRY, /* text: the reason, at: the next try */
	GW_OUT_FAIL,  /* text: the reason */
};
/* Record an outcome. When the database cannot commit, the outcome is kept in memory (in order) and
 * recorded by the degraded state's retry, so a message sent during a fault is not sent again.
 * modem >= 0 and stored (may be NULL): its SIM copies are deleted once the outcome is recorded.
 * 0: recorded; 1: kept for the retry; <0: another error (not kept). */
int gw_out_record(struct gw *gw, enum gw_out_outcome kind, int64_t id, const char *text, int64_t at, int modem,
		  const struct mdm_copies *stored);

/* Gateway-wide counters. */
enum {
	GW_CTR_IN_MESSAGES, /* complete messages stored in sms_in */
	GW_CTR_IN_DUPLICATES,
	GW_CTR_IN_INCOMPLETE, /* assembled with parts missing after the timeout */
	GW_CTR_OUT_QUEUED,
	GW_CTR_OUT_SENT,
	GW_CTR_OUT_FAILED,
	GW_CTR_OUT_RETRIED,
	GW_CTR_OUT_LATE_DUP, /* a send the watchdog had given up on was accepted after all */
	GW_CTR_DB_ERRORS,
};

extern const struct log_info gw_log_info;

/* Allocate the gateway state under ctx with the core's default settings. */
struct gw *gw_alloc(void *ctx);

/* gateway/core/vty.c: the gateway and modem nodes; features add their commands to the
 * gateway node (gw_vty_node()) and their lines to its `write` (gw_vty_add_writer). */
void gw_vty_init(struct gw *gw);
int gw_vty_node(void);
void gw_vty_add_writer(void (*write)(struct vty *vty));
/* A db/ listing's line callback (void *data is the struct vty). */
void gw_vty_line(void *data, const char *line);
struct gw_modem *gw_modem_find(struct gw *gw, const char *name);

/* gateway/core/ctrl.c */
int gw_ctrl_init(struct gw *gw);

/* gateway/core/stats.c: counter groups */
void gw_stats_init(struct gw *gw);
struct rate_ctr_group *gw_modem_ctrs_alloc(struct gw *gw, unsigned idx);
void gw_ctr_inc(struct gw *gw, unsigned idx);

/* Load (again) the rules file (cfg rules-file, default routes/sms.rules). On failure the rules in
 * use stay (none at the first load: no keywords until a reload works) and err says why. */
int gw_rules_reload(struct gw *gw, char *err, size_t errlen);

/* ---- the SMS pipeline (inbox.c, outbox.c, gsm.c) ---- */

/* Resume from the database (sends cut off by a crash back to the queue, received messages not
 * yet routed are routed), start the modem pool and the due timer. */
int gw_sms_start(struct gw *gw);
/* Stop the channels (their last events are delivered), commit what was read, stop the timers. */
void gw_sms_stop(struct gw *gw);
/* Nothing in flight on any channel, nothing waiting for its commit. */
bool gw_sms_idle(struct gw *gw);
