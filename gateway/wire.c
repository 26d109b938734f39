/* The wiring of linlid: the one place where the core and the features meet. Each feature registers
 * with the core (handlers, due work, ring hooks, channels); features reach each other only through
 * the callbacks set here (the SOS alarm's call path, the 1 pressed in an alert call), as osmo-hlr's
 * hlr.c wires its parts. linlid.c, the benchmarks and the tests all wire through it. */
#include <osmocom/core/tdef.h>
#include <osmocom/vty/tdef_vty.h>

#include "gateway/call/call.h"
#include "gateway/core/gsm.h"
#include "gateway/core/gw.h"
#include "gateway/core/http.h"
#include "gateway/notice/notice.h"
#include "gateway/request/request.h"
#include "gateway/sip/sip_msg.h"
#include "gateway/sos/sos.h"
#include "gateway/wire.h"

/* The SOS alarm's second path is the group call's user agent. */
static bool sos_calls_available(void)
{
	return call_running();
}

static int sos_alert_call(struct gw *gw, const struct sos_call_req *r)
{
	struct call_sos_alert a = {
		.incident_id = r->incident_id,
		.attempt_id = r->attempt_id,
		.phone_id = r->phone_id,
		.number = r->number,
		.watch = r->watch,
		.building = r->building,
		.unit = r->unit,
	};

	return call_sos_alert(gw, &a);
}

static const struct sos_call_ops sos_calls = {
	.available = sos_calls_available,
	.alert = sos_alert_call,
};

static struct osmo_tdef_group timer_groups[] = {
	{.name = "sos", .desc = "SOS incidents: escalation and repeat windows", .tdefs = sos_tdefs},
	{.name = "request", .desc = "Requests: escalation, duplicates, error replies", .tdefs = rq_tdefs},
	{.name = "sip", .desc = "SMS over SIP: answers from Kamailio", .tdefs = sip_tdefs},
	{.name = "notice", .desc = "Broadcast notices: the confirmation window", .tdefs = nt_tdefs},
	{}};

static void timers_write(struct vty *vty)
{
	osmo_tdef_vty_groups_write(vty, " ");
}

int gw_wire(struct gw *gw)
{
	int rc;

	if ((rc = gw_gsm_init(gw)) < 0 || (rc = sos_init(gw)) < 0 || (rc = rq_init(gw)) < 0 ||
	    (rc = call_init(gw)) < 0 || (rc = rq_http_init(gw)) < 0 || (rc = nt_init(gw)) < 0)
		return rc;
	/* the staff console's routes and metrics of each feature (served once http-bind is set) */
	if ((rc = sos_http_init(gw)) < 0 || (rc = call_http_init(gw)) < 0)
		return rc;
	sos_set_call_ops(&sos_calls);
	call_set_sos_key1(gw_sos_ack_by_call);
	call_set_sos_note(gw_sos_call_note);
	/* requests by voice: the call side records, the request side files and serves the recording */
	call_set_voice_report(gw_request_voice);
	rq_http_set_recordings_dir(call_recordings_dir);
	return 0;
}

void gw_wire_vty(struct gw *gw)
{
	int node = gw_vty_node();

	gw_vty_init(gw);
	gw_http_vty_init(node);
	sos_vty_init(gw, node);
	rq_vty_init(node);
	call_vty_init(node);
	gw_vty_add_writer(call_vty_write);
	sip_msg_vty_init(node);
	gw_vty_add_writer(sip_msg_config_write);
	osmo_tdef_vty_groups_init(node, timer_groups);
	gw_vty_add_writer(timers_write);
}
