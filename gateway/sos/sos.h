/* SOS from elderly watches: incidents, fan-out to bound contacts, acknowledgement, escalation,
 * bindings by SMS, low-battery and position notices (issue 4; ../shared/DOMAIN.md "SOS watches
 * and trackers", "Alarm handling practice").
 *
 * Everything an alarm causes is written inside the inbox transaction that stores the alarm
 * (gw_route), so after a crash either the SMS is still on the SIM or the incident and its queued
 * alerts are in the database. Escalation is driven by due times stored in sos_incident.next_at,
 * checked from the 1-second tick against gw_now(), so it survives a restart and follows the
 * test clock.
 *
 * Location privacy: the map link goes only to APPROVED bindings of the watch. The grid worker,
 * staff and neighbours who are alerted on the later rungs get who, where (the household's
 * address) and when, but no map link unless they are bound themselves.
 *
 * The first half of this header is pure text handling (gateway/sos/sos_text.c, unit tested in
 * tests/unit/sos_msg_test.c); the second half is the gateway side (sos.c, sos_bind.c,
 * sos_notice.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <osmocom/core/tdef.h>

#include "gateway/sos/alert.h"

/* ---- text ---- */

/* The text a watch's call is stored with (gateway/core/ring.c): an SOS, and the alert says it called. */
#define SOS_CALL_TEXT "SOS 手表来电"

/* Normalise a reply for matching: full-width ASCII (U+FF01..U+FF5E) and the ideographic space
 * become ASCII, ASCII letters lower case, runs of white space one space, leading and trailing
 * spaces and trailing punctuation (。！!.,，~) dropped. out always terminated. */
void sos_norm(const char *in, char *out, size_t outlen);

/* A reply that acknowledges an alarm: "1", "收到", "ok" (after sos_norm, so "ＯＫ！", " 1 ",
 * "收到。" count too). */
bool sos_is_ack(const char *text);

enum sos_cmd {
	SOS_CMD_NONE,
	SOS_CMD_BIND,	 /* 绑定 / BD <watch number> */
	SOS_CMD_UNBIND,	 /* 解绑 / JB <watch number> */
	SOS_CMD_CONFIRM, /* 确认 / QR <code> */
	SOS_CMD_LOCATE,	 /* 定位 / DW [<watch number>] (the argument may be empty) */
};
/* Recognise a binding command (keyword in Chinese or its pinyin initials, any case, full-width
 * allowed, a space or nothing between the Chinese keyword and the argument); the argument
 * (digits, '+', '-', spaces dropped) goes to arg. SOS_CMD_NONE when not a command or no argument. */
enum sos_cmd sos_parse_cmd(const char *text, char *arg, size_t arglen);

/* https://uri.amap.com/marker?position=<lon>,<lat>&coordinate=wgs84 with at most 6 decimals
 * (trailing zeros dropped). Returns the length, or -ENOSPC. */
int sos_map_link(double lat, double lon, char *buf, size_t len);
/* The SMS that makes a watch of dialect answer with its position (SeTracker "pw,123456,url#",
 * TK "smslink123456"); -ENOTSUP when the dialect has none we know. */
int sos_locate_cmd(const char *dialect, char *buf, size_t len);

/* Great-circle distance in metres. */
double sos_distance_m(double lat1, double lon1, double lat2, double lon2);

/* What an alert says. */
struct sos_alert_text {
	const char *kind;    /* alert_kind_name(): "sos", "power_cut", "sensor", "unknown", ... */
	const char *person;  /* who wears the watch ("" -> the watch's number) */
	const char *watch;   /* the watch's number */
	const char *address; /* "1幢1单元101", "" when unknown */
	time_t at;	     /* when the alarm arrived (local HH:MM is shown) */
	const char *battery; /* "" when not given */
	bool has_pos;
	double lat, lon;
	bool lbs;	    /* a cell-ID fix: hundreds of metres off */
	bool with_location; /* the recipient may get the map link (an approved binding) */
	const char *raw;    /* for kind "unknown": the watch's own words are forwarded (shortened) */
	bool update;	    /* a new position of an alarm already sent */
};
/* Build the alert into buf (UTF-8), kept to as few SMS parts as the content allows:
 *   【SOS求救】邹丽 1幢1单元101 10:32 电量74% 位置:https://uri.amap.com/marker?position=...&coordinate=wgs84
 * 回复1或收到确认 Without a position it says 无定位; for a recipient without location rights, no link. Returns the
 * number of SMS parts it takes, or -ENOSPC. */
int sos_alert_build(const struct sos_alert_text *a, char *buf, size_t len);

/* The short label of an alarm kind: "SOS求救", "断电报警", "设备报警", "手表报警", ... */
const char *sos_kind_label(const char *kind);

/* The SMS commands that make number the watch's SOS / centre number, for a dialect
 * ("setracker": pw,123456,sos1,<n># and pw,123456,center,<n>#; "tk": W000000,003,1,1,<n>).
 * Writes up to max commands of up to 64 bytes; returns how many, 0 for a dialect without
 * templates ("generic"), -EINVAL for an unknown dialect. */
int sos_program_cmds(const char *dialect, const char *number, char cmds[][64], int max);
/* The SMS command that makes the watch report its position every `minutes` (1..1440), so that
 * supervision hears from it (watch-silent-hours): "setracker" pw,123456,upload,<seconds>#, "tk"
 * t<NNN>m***n123456 (every NNN minutes, without end; 1..255). 0, -ENOTSUP for a dialect without
 * one ("generic"), -EINVAL for an unknown dialect or an interval out of range. */
int sos_interval_cmd(const char *dialect, unsigned minutes, char *buf, size_t len);

/* The text that stops a watch repeating its alarm once a contact acknowledged it ("help me!"
 * for the TK family, which stops when its authorised number, the gateway, replies that), or
 * NULL when the dialect has none. */
const char *sos_stop_word(const char *dialect);

/* true for "setracker", "tk" and "generic". */
bool sos_dialect_valid(const char *dialect);

/* What the contacts alerted for an incident nobody acknowledged are told when staff close it:
 *   【已处理】邹丽的报警已由社区处理，您无需前往。  (resolved)
 *   【误报】邹丽的报警经社区核实为误报，已解除。    (false_alarm)
 * Returns the length, or -ENOSPC (buf then holds as much as fits). */
int sos_closed_text(const char *person, bool false_alarm, char *buf, size_t len);

/* ---- the gateway ---- */

struct gw;
struct db_sms_in;

/* Handle a committed message if it is SOS business: a message from a registered watch, an
 * acknowledgement while an incident is open, a binding command. Inside the caller's transaction.
 * Returns 1 handled (*note says what was done), 0 not SOS business, -errno on a database error. */
int gw_sos_route(struct gw *gw, const struct db_sms_in *m, const char **note);

/* Last in routing, after every other handler declined the message: an acknowledgement ("1",
 * "收到", "OK") while an incident is open, from a number that may not acknowledge it, gets a
 * clear refusal (and is logged). Returns 1 handled, 0 not, -errno. (Last, because "1" is also
 * a rating of a closed request.) */
int gw_sos_refuse_ack(struct gw *gw, const struct db_sms_in *m, const char **note);

/* Settings (gateway node: sos-rounds, sos-call; sos-step-delay and the other times are the
 * osmo_tdef group "sos", `timer sos ...`). */
struct sos_cfg {
	unsigned rounds;	  /* run the escalation ladder this many times (2) */
	bool call_off;		  /* no alert calls beside the SOS alert SMS (sos-call off) */
	unsigned max_resends;	  /* failed alerts sent again per contact and incident (2) */
	unsigned bind_per_sender; /* 绑定/解绑 asked per number per SOS_T_BIND_WINDOW (3) */
	unsigned bind_per_watch;  /* codes texted to a watch's household per SOS_T_BIND_WINDOW (3) */
	unsigned code_failures;	  /* wrong codes from a number before it is locked out for the window (5) */
	unsigned silent_hours;	  /* a bound watch silent this long: its contacts are told (24, 0 off) */
};
extern struct sos_cfg sos_cfg;

enum sos_timer {
	SOS_T_STEP = -1,	/* escalate when nobody acknowledged within this (120 s) */
	SOS_T_ACK_WINDOW = -2,	/* repeats within this of an acknowledgement attach to it (1800 s) */
	SOS_T_NOTICE = -3,	/* low battery / position notices: one per watch and kind (1800 s) */
	SOS_T_PROGRAM = -4,	/* a watch's answer to its programming, not an alarm (600 s) */
	SOS_T_CODE = -5,	/* a binding's confirmation code is good this long (600 s) */
	SOS_T_BIND_WINDOW = -6, /* the window of the binding limits (3600 s) */
	SOS_T_LOCATE = -7,	/* a watch's position within this of a 定位 goes to those who asked (600 s) */
};
extern struct osmo_tdef sos_tdefs[];

/* The alarm's second path, a call to each alerted contact, provided by whoever places calls
 * (gateway/linlid.c wires the group call's user agent). The contact hears who needs help and
 * presses 1 to acknowledge (gw_sos_ack_by_call). */
struct sos_call_req {
	int64_t incident_id, attempt_id, phone_id;
	const char *number;	     /* the contact */
	const char *watch;	     /* shown as the caller */
	const char *building, *unit; /* of the watch's household, said in the prompt */
};
struct sos_call_ops {
	bool (*available)(void);				   /* calls can be placed now */
	int (*alert)(struct gw *gw, const struct sos_call_req *r); /* 0, or -errno */
};
/* Set the call path (static storage; NULL: SMS only). */
void sos_set_call_ops(const struct sos_call_ops *ops);

/* Register the router's handlers ("sos", "sos-refuse"), the due work ("sos": escalation,
 * resends, alert calls) and the ring hook ("watch-call": a watch's call is an alarm). */
int sos_init(struct gw *gw);
/* Start-up work: close the calls of the previous run, store the community number for linlictl. */
int sos_start(struct gw *gw);
/* The VTY settings in the gateway node node, `show sos incidents`. */
void sos_vty_init(struct gw *gw, int node);

/* A contact pressed 1 in an SOS alert call (the call path's callback): stored as a message "1" from that
 * number (channel sip, raw says which call) and routed like the SMS reply, in one transaction. */
int gw_sos_ack_by_call(struct gw *gw, const char *number, int64_t incident_id, int64_t leg_id);
/* What the call path did about an incident (calling the watch, talking to the wearer, why it could
 * not): a row of the incident's history, actor "call", its state unchanged. 0 or -errno. */
int gw_sos_call_note(struct gw *gw, int64_t incident_id, const char *note);

/* ---- the staff console (gateway/sos/sos_http.c), inside the caller's transaction ---- */

/* Staff acknowledge incident id, for themselves (on_behalf_of NULL: acked_by is staff_number) or
 * on behalf of a contact who may acknowledge it (a bound phone or one alerted; they get the thanks
 * as if they had replied). The same path as an SMS "1": the others are told, escalation stops,
 * the watch gets its stop word; the event row names actor and note. 0, -ENOENT (no incident),
 * -EALREADY (not raised/notifying), -EPERM (on_behalf_of may not acknowledge it), -errno. */
int sos_ack_staff(struct gw *gw, int64_t id, const char *staff_number, const char *on_behalf_of, const char *actor,
		  const char *note);
/* Staff close incident id as resolved or false_alarm (from any open state). Those alerted for an
 * incident nobody acknowledged are told (sos_closed_text) and the watch gets its stop word. 0,
 * -ENOENT, -EALREADY (closed already), -errno. */
int sos_close(struct gw *gw, int64_t id, bool false_alarm, const char *actor, const char *note);
/* Staff approve a pending binding (the contact is told, as when the household confirms by SMS):
 * 0, -ENOENT (no such binding, or removed), -EALREADY (approved already), -errno. */
int sos_binding_approve(struct gw *gw, int64_t binding_id, const char *by);
/* Staff remove a binding (the contact is told): 0, -ENOENT (none, or removed already), -errno. */
int sos_binding_remove(struct gw *gw, int64_t binding_id, const char *by);
/* The console's routes and metrics (gateway/core/http.h); call before gw_http_start. */
int sos_http_init(struct gw *gw);
