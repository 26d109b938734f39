/* The SOS settings in the gateway node and `show sos incidents`. */
#include <stdlib.h>
#include <string.h>

#include <osmocom/core/tdef.h>
#include <osmocom/vty/command.h>
#include <osmocom/vty/vty.h>

#include "db/db.h"
#include "gateway/core/gw.h"
#include "gateway/sos/sos.h"

static struct gw *sgw;

DEFUN(cfg_sos_call, cfg_sos_call_cmd, "sos-call (on|off)",
      "Call every alerted SOS contact too, through the SIP user agent (needs sip-bind); a 1 acknowledges\n"
      "Yes (the default)\nSMS only\n")
{
	sos_cfg.call_off = !strcmp(argv[0], "off");
	return CMD_SUCCESS;
}

DEFUN(cfg_sos_step_delay, cfg_sos_step_delay_cmd, "sos-step-delay <1-86400>",
      "Alert the next escalation step when nobody acknowledged an SOS within this time (timer sos X1)\n"
      "Seconds\n")
{
	OSMO_ASSERT(osmo_tdef_set(sos_tdefs, SOS_T_STEP, atoi(argv[0]), OSMO_TDEF_S) == 0);
	return CMD_SUCCESS;
}

DEFUN(cfg_sos_rounds, cfg_sos_rounds_cmd, "sos-rounds <1-20>",
      "Run the SOS escalation ladder this many times before giving up\nRounds\n")
{
	sos_cfg.rounds = atoi(argv[0]);
	return CMD_SUCCESS;
}

DEFUN(cfg_watch_silent, cfg_watch_silent_cmd, "watch-silent-hours <0-720>",
      "Tell a bound watch's first contacts and grid worker when it has sent nothing this long\n"
      "Hours (24; 0: never)\n")
{
	sos_cfg.silent_hours = atoi(argv[0]);
	return CMD_SUCCESS;
}

DEFUN(show_watches_silent, show_watches_silent_cmd, "show watches silent",
      SHOW_STR "SOS watches\nBound watches that have sent nothing for watch-silent-hours (open supervisions)\n")
{
	int rc = db_watch_list(sgw->db, gw_vty_line, vty);

	if (rc < 0) {
		vty_out(vty, "%% database error: %s%s", strerror(-rc), VTY_NEWLINE);
		return CMD_WARNING;
	}
	if (rc == 0)
		vty_out(vty, "no silent watches%s", VTY_NEWLINE);
	return CMD_SUCCESS;
}

DEFUN(show_sos, show_sos_cmd, "show sos incidents [<1-1000>]",
      SHOW_STR "SOS\nIncidents, newest first: state, step, time to first alert and to acknowledgement\nHow many\n")
{
	int rc = db_sos_incident_list(sgw->db, argc > 0 ? atoi(argv[0]) : 20, gw_vty_line, vty);

	if (rc < 0) {
		vty_out(vty, "%% database error: %s%s", strerror(-rc), VTY_NEWLINE);
		return CMD_WARNING;
	}
	if (rc == 0)
		vty_out(vty, "no incidents%s", VTY_NEWLINE);
	return CMD_SUCCESS;
}

static void sos_vty_write(struct vty *vty)
{
	vty_out(vty, " sos-call %s%s", sos_cfg.call_off ? "off" : "on", VTY_NEWLINE);
	vty_out(vty, " sos-rounds %u%s", sos_cfg.rounds, VTY_NEWLINE);
	vty_out(vty, " watch-silent-hours %u%s", sos_cfg.silent_hours, VTY_NEWLINE);
	/* sos-step-delay is written as `timer sos X1` by the timer group */
}

void sos_vty_init(struct gw *gw, int node)
{
	sgw = gw;
	install_element(node, &cfg_sos_call_cmd);
	install_element(node, &cfg_sos_step_delay_cmd);
	install_element(node, &cfg_sos_rounds_cmd);
	install_element(node, &cfg_watch_silent_cmd);
	install_element_ve(&show_sos_cmd);
	install_element_ve(&show_watches_silent_cmd);
	gw_vty_add_writer(sos_vty_write);
}
