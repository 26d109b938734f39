/* Inside the group call only (gateway/call/call.c, call_leg.c, call_sos.c, call_vty.c): the objects
 * of a call and the helpers its files share. Everything runs on the main thread.
 *
 * Objects: a struct call (osmo_fsm call_fsm, call.c) per incoming 6995 INVITE owns the caller's
 * media leg, the conference and one struct call_leg (child osmo_fsm call_leg_fsm, call_leg.c) per
 * household called. Every SIP dialog is a struct sip_hdl (the nua handle magic), which outlives its
 * leg or call while a BYE or CANCEL is answered, so that a late SIP event never reaches freed
 * memory. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <osmocom/core/fsm.h>
#include <osmocom/core/linuxlist.h>
#include <osmocom/core/timer.h>

#include <sofia-sip/nua.h>

#include "db/db_call.h"
#include "gateway/call/media.h"

#define S(x) (1 << (x))

struct gw;

/* The user agent's state (call.c): set by call_start, cleared by call_stop. */
struct call_globals {
	struct gw *gw;
	void *ctx;
	nua_t *nua;
	struct llist_head calls;
	struct llist_head hdls;
	unsigned next_id;
};
extern struct call_globals g_call;

struct call;
struct call_leg;

/* One SIP dialog: the hmagic of its nua handle. */
struct sip_hdl {
	struct llist_head list;
	nua_handle_t *nh;
	struct call *call;	      /* the caller's dialog: its call, NULL once the call is gone */
	struct call_leg *leg;	      /* a called party's dialog: its leg, NULL once the leg is gone */
	bool confirmed;		      /* 200 sent or received: release with BYE, not CANCEL */
	bool ended;		      /* BYE/CANCEL sent or received, or a final error */
	bool terminated;	      /* the stack reported the dialog over */
	char *sdp;		      /* our side of the session, answered again to a re-INVITE */
	struct osmo_timer_list guard; /* destroy the handle if the release is never answered */
};

struct call {
	struct llist_head list;
	struct osmo_fsm_inst *fi;
	struct db_call rec;
	struct db_call_leg caller_rec;
	struct db_call_caller who;
	struct sip_hdl *hdl;
	struct media_leg *media;
	struct media_conf *conf;
	struct llist_head legs;
	unsigned n_legs;   /* legs still alive */
	unsigned n_joined; /* legs that ever pressed 1 */
	int rung;	   /* -1 neighbours, 0 grid worker, 1 staff */
	bool sms_sent;
	bool dialing;  /* legs being started: an early leg end must not escalate yet */
	bool callback; /* started by the missed-call trigger: we called the household */
	/* an SOS alert call (call_sos_alert): no caller, one leg, a 1 acknowledges the incident */
	int64_t sos_incident, sos_attempt;
	/* talk to the wearer (call_sos.c): after the contact's 1, the watch is called and bridged */
	enum call_wearer {
		WEARER_NONE,	    /* not (yet) called */
		WEARER_CALLING,	    /* INVITE to the watch sent */
		WEARER_TALKING,	    /* the watch answered: contact and wearer in one conference */
		WEARER_UNREACHABLE, /* the watch could not be called: the contact hears so, then BYE */
	} wearer;
	struct call_leg *contact_leg, *wearer_leg; /* NULL once ended */
	int64_t talk_started_ms;
	char wearer_why[48];	  /* why the watch's leg ended unanswered */
	struct call_voice *voice; /* a call to the voice line (call_voice.c), NULL otherwise */
};

struct call_leg {
	struct llist_head list;
	struct osmo_fsm_inst *fi;
	struct call *call;
	struct db_call_leg rec;
	struct sip_hdl *hdl;
	struct media_leg *media;
};

enum call_state {
	CALL_ST_RINGING,      /* neighbours (or the escalation) are being called */
	CALL_ST_CONNECTED,    /* someone pressed 1 */
	CALL_ST_ESCALATING,   /* nobody joined: grid worker, then staff */
	CALL_ST_NO_GROUP,     /* playing "no_group", then BYE */
	CALL_ST_CALLBACK,     /* the missed-call trigger: calling the household back */
	CALL_ST_VOICE,	      /* the voice line: the prompt plays, then the caller is recorded */
	CALL_ST_VOICE_THANKS, /* the voice line: the request is filed, "voice_thanks" plays */
};

enum call_event {
	CALL_EV_LEG_JOINED,
	CALL_EV_LEG_ENDED,	 /* a child terminated */
	CALL_EV_CALLER_GONE,	 /* BYE/CANCEL from the caller */
	CALL_EV_PROMPT_DONE,	 /* the caller's prompt ended */
	CALL_EV_CALLER_ANSWERED, /* the household answered the call back; data: struct call_sdp */
};

enum leg_state {
	LEG_ST_INVITING, /* INVITE sent, ring timer running */
	LEG_ST_PROMPT,	 /* answered: the prompt plays */
	LEG_ST_WAIT_KEY, /* prompt over: waiting for the 1 */
	LEG_ST_JOINED,
};

enum leg_event {
	LEG_EV_ANSWERED, /* data: struct call_sdp */
	LEG_EV_FAILED,	 /* data: int *status */
	LEG_EV_REMOTE_BYE,
	LEG_EV_PROMPT_DONE,
	LEG_EV_DIGIT, /* data: char * */
};

/* ---- call.c ---- */

/* Milliseconds of the real-time clock (the call's started_ms and dialed_ms). */
int64_t call_now_ms(void);
/* Where the media legs bind: rtp-bind, else the sip-bind address. */
const char *call_rtp_addr(void);
/* A struct sip_hdl for nh (NULL: none yet), bound as its hmagic and listed in g_call.hdls. */
struct sip_hdl *call_hdl_alloc(nua_handle_t *nh);
/* The owner lets go of the dialog h: BYE when confirmed, CANCEL before, unless it ended already;
 * h is freed once the stack reports the dialog over (or after a guard time). */
void call_hdl_release(struct sip_hdl *h);
/* Our SDP on the RTP address and port with a fresh session id, talloc'd under ctx (pt, te_pt as
 * for call_sdp_make). */
char *call_sdp_local(void *ctx, uint16_t port, int pt, int te_pt);
/* Write c's record back (logged when it fails). */
void call_save(struct call *c);
/* End the call: reason (and note, when not NULL) recorded, the fsm terminated, which frees c. */
void call_end(struct call *c, const char *reason, const char *note);
/* A call from who (from: the number as it came) with the caller's leg recorded, its media leg and
 * the conference; NULL (logged, the call recorded as an error) when no RTP port is free. */
struct call *call_alloc(const struct db_call_caller *who, const char *from, const char *callid);
/* The call object, its fsm and its record (caller: the number as it came, or "SOS"); no media. */
struct call *call_new(const struct db_call_caller *who, const char *caller, const char *callid);

/* ---- call_leg.c ---- */

/* The leg fsm (registered by call_start). */
extern struct osmo_fsm call_leg_fsm;
/* INVITE one number for the call c (kind neighbour, grid_worker, staff or sos_contact): a child
 * leg with its record and media leg. 0 or -errno (the leg ended, recorded as media_error). */
int call_leg_start(struct call *c, const struct db_call_target *t, const char *kind);
/* Play the prompts of names that are loaded (the others logged and skipped), then done(data);
 * false when none is loaded. */
bool call_play(struct media_leg *m, const char **names, size_t n, void (*done)(struct media_leg *, void *), void *data);
/* The media callback that ends a leg's prompt (data: the struct call_leg). */
void call_leg_prompt_done(struct media_leg *m, void *data);
/* Write a leg's record back (logged when it fails). */
void call_leg_save(struct db_call_leg *l);
/* Set l's result unless one is set already: the first reason wins. */
void call_set_result(struct db_call_leg *l, const char *result);

/* ---- call_voice.c ---- */

/* The voice line's caller is answered (c from call_alloc, its media set): the prompt, then the
 * recording. */
void call_voice_begin(struct call *c);
/* The events of the states CALL_ST_VOICE and CALL_ST_VOICE_THANKS, and their timeouts. */
void call_voice_event(struct osmo_fsm_inst *fi, uint32_t event, void *data);
void call_voice_timeout(struct call *c);

/* ---- call_sos.c ---- */

/* The contact of an SOS alert call pressed 1 in leg: the incident acknowledged through the key-1
 * callback (call_set_sos_key1), "acked" said, then the call ends. */
void call_sos_leg_acked(struct call_leg *leg);
/* The prompt of an SOS call's leg is over: true when the leg stays up (the watch is being called
 * and the contact waits in the conference), false to hang it up. */
bool call_sos_prompt_done(struct call_leg *leg);
/* The watch answered its leg: bridge it to the contact. */
void call_sos_wearer_answered(struct call_leg *leg);
/* A leg of an SOS call ended (after its cleanup): end the call or tell the contact. */
void call_sos_leg_ended(struct call *c);
