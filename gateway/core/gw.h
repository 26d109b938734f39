/* linlid: the gateway's shared state, owned by the main thread (the osmo_select loop). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <osmocom/core/linuxlist.h>
#include <osmocom/core/timer.h>

#include "modem/mdm.h"

/* Log categories, one per folder of concern. */
enum {
	DGW,	/* daemon life cycle, config */
	DMDM,	/* modem pool events as seen by the main loop */
	DSMS,	/* inbox, outbox, scheduler */
	DRT,	/* routing of received messages */
	DDB,	/* database */
	DMEDIA,	/* RTP legs, the group call mixer, prompts, DTMF (gateway/call/media.c) */
	DCALL,	/* the 6995 group call: SIP user agent and call control (gateway/call/call.c, sip_ua.c) */
	DSIP,	/* SMS over SIP: the evapi link to Kamailio (gateway/sip/sip_msg.c) */
};

#define GW_MAX_MODEMS 16
#define GW_VTY_PORT 4290
#define GW_CTRL_PORT 4291

/* Per-modem rate counters (show modems, CTRL, `show stats`). */
enum {
	GW_MDM_CTR_RECEIVED,	/* messages or parts read from the modem and committed */
	GW_MDM_CTR_DUPLICATE,	/* read again but already stored (deleted again, not stored twice) */
	GW_MDM_CTR_SENT,	/* messages accepted with a reference for every part */
	GW_MDM_CTR_PARTS,	/* parts sent */
	GW_MDM_CTR_FAILED,	/* permanent failures */
	GW_MDM_CTR_RETRIED,	/* transient failures put back in the queue */
	GW_MDM_CTR_RESET,	/* watchdog resets */
	GW_MDM_CTR_REPORTS,	/* delivery reports recorded */
};

struct gw_modem {
	struct mdm_cfg cfg;
	unsigned idx;
	enum mdm_state state;
	char imei[32], model[64], reason[128];
	struct {
		int signal_pct;
		bool registered;
		char network[64];
		char sim[32];
		unsigned sim_used, sim_size;
		time_t at;
	} health;
	/* the send under way, if any */
	int64_t job;
	int job_prio;
	time_t job_started;
	unsigned job_attempts;	/* attempts of that message, including this one */
	bool job_reset;		/* the watchdog already reset the modem for it */
	bool job_abandoned;	/* the watchdog gave it back to the queue; a late result is ignored */
	time_t last_progress;	/* last time the modem did real work (sent, read, answered a health poll) */
	time_t ready_since;
	struct rate_ctr_group *ctrs;
};

struct gw_config {
	char *db_path;
	unsigned part_timeout_s;	/* keep waiting this long for missing parts of a concatenated SMS */
	unsigned send_timeout_s;	/* a send outstanding longer than this resets the modem */
	unsigned max_attempts;		/* transient failures before a message fails for good */
	unsigned retry_base_s;		/* back-off: base * 2^(attempt-1), at most retry_max_s */
	unsigned retry_max_s;
	unsigned help_interval_s;	/* at most one help reply per number per interval */
	char *ctrl_bind;
	unsigned ctrl_port;
	bool reply_unknown;		/* reply to numbers the database does not know */
	/* SOS (gateway/sos/sos.c); 0 means the default */
	unsigned sos_step_delay_s;	/* escalate when nobody acknowledged within this (120) */
	unsigned sos_rounds;		/* run the escalation ladder this many times (2) */
	char *community_number;		/* the number watches are programmed to alert */
	bool test_clock;		/* accept CTRL SET clock-offset (end-to-end tests only) */
	/* requests (gateway/request/request.c); NULL / 0 means the default */
	char *rules_file;		/* keyword rules and reply templates (routes/sms.rules) */
	unsigned deadline_days;		/* working days to resolve a request (3) */
	bool missed_call_group;		/* a household's call to a modem starts the group call (gateway/core/ring.c) */
	bool sos_call_off;		/* no alert calls beside the SOS alert SMS (sos-call off) */
	/* errands and the digest (gateway/request/errand.c) */
	unsigned errand_points;		/* points a runner earns per confirmed errand (10) */
	bool digest;			/* send the daily digest to the staff */
	unsigned digest_min;		/* at this local time, minutes after midnight */
};

struct rt_rules;

struct gw {
	void *ctx;
	struct gw_config cfg;
	struct db_context *db;
	struct mdm_pool *pool;
	struct gw_modem modem[GW_MAX_MODEMS];
	unsigned nmodems;
	struct rate_ctr_group *ctrs;	/* gateway-wide */
	struct osmo_timer_list tick;	/* once a second: scheduler, watchdog, part expiry */
	struct osmo_timer_list flush;	/* zero-delay: commit the inbox batch */
	struct llist_head inbox;	/* received events waiting for the batch commit */
	unsigned inbox_len;
	bool quitting;			/* SIGTERM: no new sends, finish what is in flight */
	void *help_seen;		/* per-number time of the last help reply */
	struct rt_rules *rules;		/* keyword rules in use (gateway/request/request.c loads them) */
	/* the missed-call trigger: call the household back into a group call (gateway/call/call.c sets
	 * it while its SIP user agent runs); 0 or -errno */
	int (*group_call_back)(struct gw *gw, const char *number);
};

/* Gateway-wide counters. */
enum {
	GW_CTR_IN_MESSAGES,	/* complete messages stored in sms_in */
	GW_CTR_IN_DUPLICATES,
	GW_CTR_IN_INCOMPLETE,	/* assembled with parts missing after the timeout */
	GW_CTR_OUT_QUEUED,
	GW_CTR_OUT_SENT,
	GW_CTR_OUT_FAILED,
	GW_CTR_OUT_RETRIED,
	GW_CTR_OUT_LATE_DUP,	/* a send the watchdog had given up on was accepted after all */
	GW_CTR_DB_ERRORS,
};

extern struct gw *g_gw;
extern const struct log_info gw_log_info;

/* Wall-clock seconds, through osmo_clock_gettime so tests can override it, plus
 * gw_clock_offset_s (CTRL clock-offset, only with test-clock on). */
time_t gw_now(void);
extern long gw_clock_offset_s;

/* gateway/core/vty.c */
void gw_vty_init(struct gw *gw);
struct gw_modem *gw_modem_find(struct gw *gw, const char *name);

/* gateway/core/ctrl.c */
int gw_ctrl_init(struct gw *gw);

/* gateway/core/sms.c: the SMS pipeline */
int gw_sms_start(struct gw *gw);
void gw_sms_stop(struct gw *gw);
bool gw_sms_idle(struct gw *gw);
void gw_sched_kick(struct gw *gw);
int gw_sms_queue(struct gw *gw, const char *dest, const char *text, int prio, int64_t *id);
void gw_inbox_push(struct gw *gw, struct mdm_event *ev);
void gw_inbox_flush(struct gw *gw);
/* Store a message that did not come from a modem's storage (a watch's call, a key pressed in a
 * call) and route it, in one transaction; its replies are scheduled. 0 (also when its dedup
 * key is stored already) or -errno. */
struct db_sms_in;
int gw_inbox_add_route(struct gw *gw, const struct db_sms_in *in);

/* gateway/core/route.c: what to do with a committed message (inside the caller's transaction) */
int gw_route(struct gw *gw, int64_t msg_id);
void gw_route_init(struct gw *gw);

/* gateway/core/ring.c: a call ringing modem idx (already merged into one event per call) */
void gw_ring(struct gw *gw, unsigned idx, const char *caller);

/* gateway/core/stats.c: counter groups */
void gw_stats_init(struct gw *gw);
struct rate_ctr_group *gw_modem_ctrs_alloc(struct gw *gw, unsigned idx);
