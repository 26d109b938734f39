/* The group call's VTY: the config commands on the gateway node, their `write` lines, `show calls`. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <osmocom/core/fsm.h>
#include <osmocom/core/linuxlist.h>
#include <osmocom/core/talloc.h>
#include <osmocom/vty/command.h>
#include <osmocom/vty/vty.h>

#include "db/db_call.h"
#include "gateway/call/call.h"
#include "gateway/call/call_priv.h"
#include "gateway/core/gw.h"

/* The settings live as long as the process (g_call_cfg); no gateway context needed, so that
 * programs without linlid's main (tests, benchmarks) link this file too. */
static void replace(char **field, const char *val)
{
	osmo_talloc_replace_string(NULL, field, val);
}

DEFUN(cfg_sip_bind, cfg_sip_bind_cmd, "sip-bind A.B.C.D <1-65535>",
      "The group call's SIP user agent (Kamailio routes the short code here)\nIPv4 address\nUDP port\n")
{
	replace(&g_call_cfg.sip_addr, argv[0]);
	g_call_cfg.sip_port = atoi(argv[1]);
	return CMD_SUCCESS;
}

DEFUN(cfg_sip_proxy, cfg_sip_proxy_cmd, "sip-proxy A.B.C.D <1-65535>",
      "Where the neighbours' INVITEs go (Kamailio)\nIPv4 address\nUDP port\n")
{
	replace(&g_call_cfg.proxy_addr, argv[0]);
	g_call_cfg.proxy_port = atoi(argv[1]);
	return CMD_SUCCESS;
}

DEFUN(cfg_short_code, cfg_short_code_cmd, "short-code NUMBER", "The group call's short code\nDigits (6995)\n")
{
	replace(&g_call_cfg.short_code, argv[0]);
	return CMD_SUCCESS;
}

DEFUN(cfg_call_ring, cfg_call_ring_cmd, "call-ring-timeout <1-600>",
      "Cancel a neighbour's leg that has not answered after this\nSeconds\n")
{
	g_call_cfg.ring_s = atoi(argv[0]);
	return CMD_SUCCESS;
}

DEFUN(cfg_call_join, cfg_call_join_cmd, "call-join-timeout <1-600>",
      "Release an answered leg that has not pressed 1 this long after its prompt (voicemail)\nSeconds\n")
{
	g_call_cfg.join_s = atoi(argv[0]);
	return CMD_SUCCESS;
}

DEFUN(cfg_rtp_bind, cfg_rtp_bind_cmd, "rtp-bind A.B.C.D", "Address of the group call's RTP legs\nIPv4 address\n")
{
	replace(&g_call_cfg.rtp_addr, argv[0]);
	return CMD_SUCCESS;
}

DEFUN(cfg_rtp_ports, cfg_rtp_ports_cmd, "rtp-ports <1024-65534> <1025-65535>",
      "UDP ports of the group call's RTP legs\nFirst port\nLast port\n")
{
	int lo = atoi(argv[0]), hi = atoi(argv[1]);

	if (hi <= lo) {
		vty_out(vty, "%% rtp-ports: the last port (%d) must be above the first (%d)%s", hi, lo, VTY_NEWLINE);
		return CMD_WARNING;
	}
	g_call_cfg.rtp_min = lo;
	g_call_cfg.rtp_max = hi;
	return CMD_SUCCESS;
}

DEFUN(cfg_prompts_dir, cfg_prompts_dir_cmd, "prompts-dir PATH",
      "Folder of the group call's prompts (NAME.ul, 8 kHz mu-law)\nPath\n")
{
	replace(&g_call_cfg.prompts_dir, argv[0]);
	return CMD_SUCCESS;
}

DEFUN(show_calls, show_calls_cmd, "show calls [<1-1000>]", SHOW_STR "Group calls, newest first\nHow many\n")
{
	struct call *c;

	if (!g_call.ctx) {
		vty_out(vty, "%% the group call is off (no sip-bind configured)%s", VTY_NEWLINE);
		return CMD_WARNING;
	}
	llist_for_each_entry (c, &g_call.calls, list)
		vty_out(vty, "active: call %" PRId64 " from %s, %s, %u leg(s) up, %u joined%s", c->rec.id,
			c->rec.caller, osmo_fsm_inst_state_name(c->fi), c->n_legs, c->n_joined, VTY_NEWLINE);
	db_call_list(g_call.gw->db, argc ? atoi(argv[0]) : 20, gw_vty_line, vty);
	return CMD_SUCCESS;
}

DEFUN(cfg_missed_call, cfg_missed_call_cmd, "missed-call (group-call|reject)",
      "What a household's call to a modem does (every call is rejected: free for the caller)\n"
      "Start the 6995 group call by calling the household back (needs sip-bind)\nOnly reject it\n")
{
	g_call_cfg.missed_call_group = !strcmp(argv[0], "group-call");
	return CMD_SUCCESS;
}

DEFUN(cfg_sos_wearer, cfg_sos_wearer_cmd, "sos-call-wearer (on|off)",
      "After a contact's 1 in an SOS alert call, call the watch and bridge the contact to the wearer\n"
      "Call the watch through the SIP proxy (the default)\nEnd the call after the acknowledgement\n")
{
	g_call_cfg.sos_wearer_off = !strcmp(argv[0], "off");
	return CMD_SUCCESS;
}

DEFUN(cfg_rtp_timeout, cfg_rtp_timeout_cmd, "rtp-timeout <0-3600>",
      "End a party's leg when no RTP came from it this long (its BYE may never arrive: a phone that "
      "died, a proxy that restarted)\nSeconds (120; 0: never)\n")
{
	g_call_cfg.rtp_timeout_s = atoi(argv[0]);
	return CMD_SUCCESS;
}

DEFUN(cfg_voice_code, cfg_voice_code_cmd, "voice-code NUMBER",
      "The voice line's short code: requests by voice (off when unset)\nDigits (e.g. 6996)\n")
{
	replace(&g_call_cfg.voice_code, argv[0]);
	return CMD_SUCCESS;
}

DEFUN(cfg_no_voice_code, cfg_no_voice_code_cmd, "no voice-code", NO_STR "Turn the voice line off\n")
{
	replace(&g_call_cfg.voice_code, NULL);
	return CMD_SUCCESS;
}

DEFUN(cfg_voice_max, cfg_voice_max_cmd, "voice-max-seconds <1-600>",
      "The longest recording of the voice line\nSeconds (60)\n")
{
	g_call_cfg.voice_max_s = atoi(argv[0]);
	return CMD_SUCCESS;
}

DEFUN(cfg_recordings_dir, cfg_recordings_dir_cmd, "recordings-dir PATH",
      "Folder of the voice line's recordings (created if missing; relative to the working directory)\n"
      "Path (var/recordings)\n")
{
	replace(&g_call_cfg.recordings_dir, argv[0]);
	return CMD_SUCCESS;
}

void call_vty_init(int gw_node)
{
	install_element(gw_node, &cfg_rtp_timeout_cmd);
	install_element(gw_node, &cfg_voice_code_cmd);
	install_element(gw_node, &cfg_no_voice_code_cmd);
	install_element(gw_node, &cfg_voice_max_cmd);
	install_element(gw_node, &cfg_recordings_dir_cmd);
	install_element(gw_node, &cfg_sos_wearer_cmd);
	install_element(gw_node, &cfg_missed_call_cmd);
	install_element(gw_node, &cfg_sip_bind_cmd);
	install_element(gw_node, &cfg_sip_proxy_cmd);
	install_element(gw_node, &cfg_short_code_cmd);
	install_element(gw_node, &cfg_call_ring_cmd);
	install_element(gw_node, &cfg_call_join_cmd);
	install_element(gw_node, &cfg_rtp_bind_cmd);
	install_element(gw_node, &cfg_rtp_ports_cmd);
	install_element(gw_node, &cfg_prompts_dir_cmd);
	install_element_ve(&show_calls_cmd);
}

void call_vty_write(struct vty *vty)
{
	vty_out(vty, " missed-call %s%s", g_call_cfg.missed_call_group ? "group-call" : "reject", VTY_NEWLINE);
	vty_out(vty, " sos-call-wearer %s%s", g_call_cfg.sos_wearer_off ? "off" : "on", VTY_NEWLINE);
	vty_out(vty, " rtp-timeout %u%s", g_call_cfg.rtp_timeout_s, VTY_NEWLINE);
	if (g_call_cfg.sip_addr)
		vty_out(vty, " sip-bind %s %u%s", g_call_cfg.sip_addr, g_call_cfg.sip_port, VTY_NEWLINE);
	if (g_call_cfg.proxy_addr)
		vty_out(vty, " sip-proxy %s %u%s", g_call_cfg.proxy_addr, g_call_cfg.proxy_port, VTY_NEWLINE);
	if (g_call_cfg.short_code)
		vty_out(vty, " short-code %s%s", g_call_cfg.short_code, VTY_NEWLINE);
	vty_out(vty, " call-ring-timeout %u%s", g_call_cfg.ring_s, VTY_NEWLINE);
	vty_out(vty, " call-join-timeout %u%s", g_call_cfg.join_s, VTY_NEWLINE);
	if (g_call_cfg.rtp_addr)
		vty_out(vty, " rtp-bind %s%s", g_call_cfg.rtp_addr, VTY_NEWLINE);
	vty_out(vty, " rtp-ports %u %u%s", g_call_cfg.rtp_min, g_call_cfg.rtp_max, VTY_NEWLINE);
	if (g_call_cfg.prompts_dir)
		vty_out(vty, " prompts-dir %s%s", g_call_cfg.prompts_dir, VTY_NEWLINE);
	if (g_call_cfg.voice_code)
		vty_out(vty, " voice-code %s%s", g_call_cfg.voice_code, VTY_NEWLINE);
	vty_out(vty, " voice-max-seconds %u%s", g_call_cfg.voice_max_s, VTY_NEWLINE);
	if (g_call_cfg.recordings_dir)
		vty_out(vty, " recordings-dir %s%s", g_call_cfg.recordings_dir, VTY_NEWLINE);
}
