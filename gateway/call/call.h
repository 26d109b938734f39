/* The 6995 group call (一户拨打九户帮): linlid's B2BUA on the sofia-sip user agent.
 *
 * A known resident calls the short code through Kamailio; linlid answers ("calling"), INVITEs the
 * primary number of every other household of the caller's group at once (through Kamailio),
 * tells each neighbour who answers who calls ("<building> 幢 <unit> 单元 的邻居在呼救，按1加入通话")
 * and puts those who press 1 into one conference with the caller (gateway/call/media.h). Legs that
 * never answer are cancelled after the ring time; a leg answered without a 1 within the join time
 * (voicemail) gets BYE. Nobody joined: the grid worker, then the duty staff phone are called and
 * the group gets an SMS. The caller hanging up ends the call for all.
 * One osmo_fsm per call, a child per leg; every call and leg recorded (db/db_call.h). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct gw;
struct vty;

struct call_cfg {
	char *sip_addr;		   /* the user agent's address; NULL: no user agent (the default) */
	uint16_t sip_port;	   /* 5070 */
	char *proxy_addr;	   /* Kamailio, where the neighbours' INVITEs go (127.0.0.1) */
	uint16_t proxy_port;	   /* 5060 */
	char *short_code;	   /* 6995 */
	unsigned ring_s;	   /* cancel a leg that has not answered after this (30) */
	unsigned join_s;	   /* release an answered leg with no 1 this long after its prompt (10) */
	char *rtp_addr;		   /* media legs bind here (the sip address when NULL) */
	uint16_t rtp_min, rtp_max; /* 16384..32767 */
	char *prompts_dir;	   /* NAME.ul files (media_prompts_load); NULL: build/prompts */
	bool missed_call_group;	   /* a household's call to a modem starts the group call (missed-call) */
	bool sos_wearer_off;	   /* sos-call-wearer off: after a 1, no call to the watch */
	unsigned rtp_timeout_s;	   /* a party that sent no RTP this long is gone: its leg ended (120; 0 off) */
	char *voice_code;	   /* the voice line's short code (requests by voice); NULL: off */
	unsigned voice_max_s;	   /* the longest recording (60) */
	char *recordings_dir;	   /* where the recordings go; NULL: var/recordings */
};
extern struct call_cfg g_call_cfg;

/* Close the call rows a killed linlid left open (end_reason gateway_restart), then start the
 * user agent when sip-bind is configured (0 when it is not); -errno on failure. */
int call_start(struct gw *gw);
/* End every call (BYE/CANCEL, recorded as 'shutdown') and stop the user agent. */
void call_stop(struct gw *gw);
/* Whether the user agent runs (sip-bind set and started). */
bool call_running(void);

/* Register the ring hook ("missed-call": a household's call to a modem starts the group call by
 * calling it back, with `missed-call group-call`). */
int call_init(struct gw *gw);
/* The console's GET /api/v1/calls and the linli_calls_active gauge (gateway/core/http.h); before
 * gw_http_start. */
int call_http_init(struct gw *gw);

/* The SOS second path (wired to gateway/sos by gateway/linlid.c): call one contact about an incident. The contact hears
 * "紧急求救 <building> 幢 <unit> 单元 的老人按下了求救按钮，收到请按1"; a 1 acknowledges the incident
 * as the SMS reply "1" would (call_set_sos_key1), and the attempt's result is written at the
 * end of the call. 0, or -errno (-ENOTCONN without a user agent). */
struct call_sos_alert {
	int64_t incident_id, attempt_id, phone_id;
	const char *number;	     /* the contact */
	const char *watch;	     /* shown as the caller */
	const char *building, *unit; /* of the watch's household, said in the prompt */
};
int call_sos_alert(struct gw *gw, const struct call_sos_alert *a);
/* Who is told that a contact pressed 1 in an SOS alert call: 0, or -errno (logged). */
typedef int (*call_sos_key1_fn)(struct gw *gw, const char *number, int64_t incident_id, int64_t leg_id);
void call_set_sos_key1(call_sos_key1_fn fn);
/* Talk to the wearer (sos-call-wearer, on by default): after the contact's 1 and "acked", linlid
 * calls the watch's number through the SIP proxy (its registered phone, else the trunk) and
 * bridges the contact to it, as an alarm centre verifies an alarm by talking to the person; the
 * call ends when either hangs up. What happens is written to the incident's history through this
 * hook (note in English for staff): 0, or -errno (logged). The modems carry no voice, so a watch
 * reachable only by GSM is not called; the history says so and the SMS path goes on. */
typedef int (*call_sos_note_fn)(struct gw *gw, int64_t incident_id, const char *note);
void call_set_sos_note(call_sos_note_fn fn);

/* Requests by voice (call_voice.c): a known resident calls the voice line (voice-code, through
 * Kamailio); linlid answers, plays "voice_prompt" and "beep", records what the caller says (G.711
 * mu-law, a PCMA caller converted) until the caller hangs up, presses # or voice-max-seconds
 * pass, writes it as a WAV file (WAVE_FORMAT_MULAW, 8 kHz, mono, with a fact chunk) under
 * recordings-dir, named after the call's record id and the time, and hands it to this hook,
 * which files the request; a caller still on the line then hears "voice_thanks". Under 1 s of
 * speech: no file, no request (logged). The hook returns 0 (ref filled, 8 bytes) or -errno. */
typedef int (*call_voice_report_fn)(struct gw *gw, const char *number, const char *path, unsigned seconds, char ref[8]);
void call_set_voice_report(call_voice_report_fn fn);
/* The folder of the recordings (recordings-dir, default var/recordings), for whoever serves them. */
const char *call_recordings_dir(void);

/* VTY: the config commands on the gateway node, their `write` lines (register call_vty_write with
 * gw_vty_add_writer), `show calls`. */
void call_vty_init(int gw_node);
void call_vty_write(struct vty *vty);
