/* The inbox: what arrives (SMS and delivery reports from the modems, SIP MESSAGEs, a watch's
 * call, a key pressed in a call) is stored and routed in one transaction; only then is it
 * deleted from the SIM or acknowledged to its sender. */
#pragma once

struct gw;
struct db_sms_in;
struct mdm_event;

/* Hand a received event (MDM_EV_SMS_IN or MDM_EV_REPORT) to the inbox; it is committed with
 * whatever else arrives in this loop iteration (group commit). Takes ownership of ev. */
void gw_inbox_push(struct gw *gw, struct mdm_event *ev);
/* Commit the events pushed so far, route the complete messages, then delete them from the SIMs.
 * On a database failure nothing is deleted and the commit is tried again in a second. */
void gw_inbox_flush(struct gw *gw);

/* Store a message that did not come from a modem's storage and route it, in one transaction;
 * what the routing queued is scheduled. 0 stored and routed, 1 stored already (its dedup key),
 * -errno (nothing stored). */
int gw_inbox_add_route(struct gw *gw, const struct db_sms_in *in);

/* Route what was stored but not routed before a restart; register the expiry of incomplete
 * concatenated messages (part-timeout) as due work. */
int gw_inbox_start(struct gw *gw);
