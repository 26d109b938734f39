/* linlid's VTY: the `gateway` and `modem NAME` config nodes, and the show commands. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <osmocom/core/logging.h>
#include <osmocom/core/rate_ctr.h>
#include <osmocom/core/talloc.h>
#include <osmocom/core/utils.h>
#include <osmocom/vty/command.h>
#include <osmocom/vty/misc.h>
#include <osmocom/vty/vector.h>
#include <osmocom/vty/vty.h>

#include "db/db.h"
#include "gateway/core/due.h"
#include "gateway/core/gw.h"
#include "gateway/core/outbox.h"
#include "gateway/core/route.h"
#include "gateway/core/rules.h"

enum gw_vty_node {
	GW_NODE = _LAST_OSMOVTY_NODE + 1,
	MODEM_NODE,
};

static struct gw *vgw;

static struct cmd_node gw_node = {
	.node = GW_NODE,
	.prompt = "%s(config-gateway)# ",
	.vtysh = 1,
};

static struct cmd_node modem_node = {
	.node = MODEM_NODE,
	.prompt = "%s(config-modem)# ",
	.vtysh = 1,
};

/* The modem configured under name, or NULL. */
struct gw_modem *gw_modem_find(struct gw *gw, const char *name)
{
	for (unsigned i = 0; i < gw->nmodems; i++)
		if (!strcmp(gw->modem[i].cfg.name, name))
			return &gw->modem[i];
	return NULL;
}

DEFUN(cfg_gateway, cfg_gateway_cmd, "gateway", "Configure the linli gateway\n")
{
	vty->node = GW_NODE;
	return CMD_SUCCESS;
}

DEFUN(cfg_database, cfg_database_cmd, "database PATH", "Community database (SQLite file)\nPath of the file\n")
{
	osmo_talloc_replace_string(vgw, &vgw->cfg.db_path, argv[0]);
	return CMD_SUCCESS;
}

#define UINT_SETTING(fname, field, cmdstr, help)                                                                       \
	DEFUN(cfg_##fname, cfg_##fname##_cmd, cmdstr, help)                                                            \
	{                                                                                                              \
		vgw->cfg.field = atoi(argv[0]);                                                                        \
		return CMD_SUCCESS;                                                                                    \
	}

UINT_SETTING(part_timeout, part_timeout_s, "part-timeout <1-86400>",
	     "Wait this long for the missing parts of a concatenated SMS\nSeconds\n")
DEFUN(cfg_send_timeout, cfg_send_timeout_cmd, "send-timeout <5-3600>",
      "Reset a modem whose send has not answered for this long\nSeconds\n")
{
	vgw->cfg.send_timeout_s = atoi(argv[0]);
	/* the pool's send watchdog, when it runs already (gw_gsm_start passes it on otherwise) */
	mdm_set_watchdog(vgw->pool, vgw->cfg.send_timeout_s);
	return CMD_SUCCESS;
}
UINT_SETTING(max_attempts, max_attempts, "max-attempts <1-100>",
	     "Transient failures before a message fails for good\nAttempts\n")
UINT_SETTING(help_interval, help_interval_s, "help-interval <0-86400>",
	     "At most one automatic help reply per number in this many seconds\nSeconds\n")

DEFUN(cfg_flood_limit, cfg_flood_limit_cmd, "flood-limit <0-10000> <1-1440>",
      "Park a number that sends more than this many messages within the minutes given: its messages are "
      "stored, not routed, for that long (watches, staff and grid workers never)\nMessages (0: no limit)\n"
      "Minutes\n")
{
	vgw->cfg.flood_max = atoi(argv[0]);
	vgw->cfg.flood_window_s = atoi(argv[1]) * 60;
	return CMD_SUCCESS;
}

DEFUN(show_senders_held, show_senders_held_cmd, "show senders held",
      SHOW_STR "Senders\nNumbers whose messages are stored, not routed: blocked by staff or parked after a flood\n")
{
	int rc = db_sender_list(vgw->db, gw_now(), gw_vty_line, vty);

	if (rc < 0) {
		vty_out(vty, "%% database error: %s%s", strerror(-rc), VTY_NEWLINE);
		return CMD_WARNING;
	}
	if (rc == 0)
		vty_out(vty, "no number is held%s", VTY_NEWLINE);
	return CMD_SUCCESS;
}

DEFUN(cfg_retry_base, cfg_retry_base_cmd, "retry-backoff <1-3600> <1-86400>",
      "Back-off after a transient failure: base * 2^(attempt-1), capped\nBase seconds\nCap in seconds\n")
{
	vgw->cfg.retry_base_s = atoi(argv[0]);
	vgw->cfg.retry_max_s = atoi(argv[1]);
	return CMD_SUCCESS;
}

DEFUN(cfg_ctrl_bind, cfg_ctrl_bind_cmd, "ctrl-bind A.B.C.D <0-65535>",
      "Address and port of the CTRL interface\nIPv4 address\nTCP port\n")
{
	osmo_talloc_replace_string(vgw, &vgw->cfg.ctrl_bind, argv[0]);
	vgw->cfg.ctrl_port = atoi(argv[1]);
	return CMD_SUCCESS;
}

DEFUN(cfg_reply_unknown, cfg_reply_unknown_cmd, "reply-unknown (on|off)",
      "Answer numbers the database does not know with the help text\nYes\nNo\n")
{
	vgw->cfg.reply_unknown = !strcmp(argv[0], "on");
	return CMD_SUCCESS;
}

DEFUN(cfg_community_number, cfg_community_number_cmd, "community-number NUMBER",
      "The gateway's own number, programmed into watches as their SOS and centre number\nNumber\n")
{
	osmo_talloc_replace_string(vgw, &vgw->cfg.community_number, argv[0]);
	return CMD_SUCCESS;
}

DEFUN(cfg_ctrl_send, cfg_ctrl_send_cmd, "ctrl-send (on|off)",
      "Let CTRL SET sms-send queue messages (CTRL has no login: any local process may use it)\nYes\n"
      "No (the default)\n")
{
	vgw->cfg.ctrl_send = !strcmp(argv[0], "on");
	return CMD_SUCCESS;
}

DEFUN(cfg_standby, cfg_standby_cmd, "standby (on|off)",
      "On a PostgreSQL database another linlid owns: wait, and take over when it stops (active/standby)\n"
      "Wait and take over\nExit with an error (the default)\n")
{
	vgw->cfg.standby = !strcmp(argv[0], "on");
	return CMD_SUCCESS;
}

DEFUN(cfg_lease, cfg_lease_cmd, "lease <3-3600>",
      "On PostgreSQL: the owner's lease; a standby ends a silent owner's session after it and takes over\n"
      "Seconds (30 by default)\n")
{
	vgw->cfg.lease_s = (unsigned)atoi(argv[0]);
	return CMD_SUCCESS;
}

DEFUN(cfg_community, cfg_community_cmd, "community CODE",
      "On a district's PostgreSQL database: the community this box serves (its own schema, linli_CODE)\n"
      "1 to 32 of a-z, 0-9 and _\n")
{
	if (!db_community_valid(argv[0])) {
		vty_out(vty, "%% community %s: 1 to %d of a-z, 0-9 and _%s", argv[0], DB_COMMUNITY_MAX, VTY_NEWLINE);
		return CMD_WARNING;
	}
	osmo_talloc_replace_string(vgw, &vgw->cfg.community, argv[0]);
	return CMD_SUCCESS;
}

DEFUN(cfg_test_clock, cfg_test_clock_cmd, "test-clock (on|off)",
      "Let CTRL SET clock-offset move linlid's clock (end-to-end tests only)\nYes\nNo\n")
{
	vgw->cfg.test_clock = !strcmp(argv[0], "on");
	return CMD_SUCCESS;
}

DEFUN(cfg_rules_file, cfg_rules_file_cmd, "rules-file PATH",
      "SMS keyword rules and reply templates (default routes/sms.rules, relative to the working folder)\n"
      "Path of the file\n")
{
	osmo_talloc_replace_string(vgw, &vgw->cfg.rules_file, argv[0]);
	return CMD_SUCCESS;
}

DEFUN(rules_reload, rules_reload_cmd, "rules reload", "SMS keyword rules\nRead the rules file again\n")
{
	char err[256];

	if (gw_rules_reload(vgw, err, sizeof(err)) < 0) {
		vty_out(vty, "%% rules not reloaded: %s%s", err, VTY_NEWLINE);
		return CMD_WARNING;
	}
	vty_out(vty, "rules reloaded: %u rules, %u replies%s", vgw->rules->nrules, vgw->rules->ntpl, VTY_NEWLINE);
	return CMD_SUCCESS;
}

DEFUN(cfg_modem, cfg_modem_cmd, "modem NAME", "Configure a GSM modem\nName of the modem (used in logs and the queue)\n")
{
	struct gw_modem *m = gw_modem_find(vgw, argv[0]);

	if (!m) {
		if (vgw->pool) {
			vty_out(vty, "%% modems can only be added at start-up; restart linlid%s", VTY_NEWLINE);
			return CMD_WARNING;
		}
		if (vgw->nmodems >= GW_MAX_MODEMS) {
			vty_out(vty, "%% at most %u modems%s", GW_MAX_MODEMS, VTY_NEWLINE);
			return CMD_WARNING;
		}
		if (strlen(argv[0]) >= sizeof(m->cfg.name)) {
			vty_out(vty, "%% modem name too long%s", VTY_NEWLINE);
			return CMD_WARNING;
		}
		m = &vgw->modem[vgw->nmodems];
		memset(m, 0, sizeof(*m));
		m->idx = vgw->nmodems++;
		OSMO_STRLCPY_ARRAY(m->cfg.name, argv[0]);
		OSMO_STRLCPY_ARRAY(m->cfg.connection, "at");
		m->cfg.poll_s = 30;
		m->cfg.health_s = 30;
		m->cfg.reports = true;
		m->state = MDM_ST_CONNECTING;
		m->job = 0;
	}
	vty->index = m;
	vty->node = MODEM_NODE;
	return CMD_SUCCESS;
}

DEFUN(cfg_modem_device, cfg_modem_device_cmd, "device .PATH",
      "Device of the modem (/dev/ttyUSB0, a pty) or the command for connection proxyat\nPath or command\n")
{
	struct gw_modem *m = vty->index;
	char *s = argv_concat(argv, argc, 0);

	if (strlen(s) >= sizeof(m->cfg.device)) {
		talloc_free(s);
		vty_out(vty, "%% device too long%s", VTY_NEWLINE);
		return CMD_WARNING;
	}
	OSMO_STRLCPY_ARRAY(m->cfg.device, s);
	talloc_free(s);
	return CMD_SUCCESS;
}

DEFUN(cfg_modem_connection, cfg_modem_connection_cmd, "connection NAME",
      "gammu connection type\nat, at115200, proxyat, ...\n")
{
	struct gw_modem *m = vty->index;

	OSMO_STRLCPY_ARRAY(m->cfg.connection, argv[0]);
	return CMD_SUCCESS;
}

DEFUN(cfg_modem_pace, cfg_modem_pace_cmd, "pace-ms <0-600000>",
      "Least time between the starts of two sends on this modem\nMilliseconds\n")
{
	((struct gw_modem *)vty->index)->cfg.pace_ms = atoi(argv[0]);
	return CMD_SUCCESS;
}

DEFUN(cfg_modem_poll, cfg_modem_poll_cmd, "poll-interval <1-3600>",
      "List the SIM storage this often, as a safety net behind +CMTI\nSeconds\n")
{
	((struct gw_modem *)vty->index)->cfg.poll_s = atoi(argv[0]);
	return CMD_SUCCESS;
}

DEFUN(cfg_modem_health, cfg_modem_health_cmd, "health-interval <1-3600>",
      "Poll signal, registration and SIM this often\nSeconds\n")
{
	((struct gw_modem *)vty->index)->cfg.health_s = atoi(argv[0]);
	return CMD_SUCCESS;
}

DEFUN(cfg_modem_reports, cfg_modem_reports_cmd, "delivery-reports (on|off)",
      "Request delivery reports for sent messages\nYes\nNo\n")
{
	((struct gw_modem *)vty->index)->cfg.reports = !strcmp(argv[0], "on");
	return CMD_SUCCESS;
}

DEFUN(cfg_modem_send_path, cfg_modem_send_path_cmd, "send-path (own|gammu)",
      "How a part is sent\nlinli's own AT+CMGS on libgammu's descriptor (GSM_SendSMS where it cannot)\n"
      "Always libgammu's GSM_SendSMS\n")
{
	((struct gw_modem *)vty->index)->cfg.send_gammu = !strcmp(argv[0], "gammu");
	return CMD_SUCCESS;
}

DEFUN(cfg_modem_prompt_delay, cfg_modem_prompt_delay_cmd, "prompt-delay-ms <0-10000>",
      "Own AT+CMGS: pause between the modem's prompt and the PDU, for modems that need one\nMilliseconds\n")
{
	((struct gw_modem *)vty->index)->cfg.prompt_delay_ms = atoi(argv[0]);
	return CMD_SUCCESS;
}

DEFUN(cfg_modem_cmms, cfg_modem_cmms_cmd, "cmms (on|off)",
      "Own AT+CMGS: AT+CMMS=2, keep the relay link open between sends (off for a modem that refuses it)\n"
      "Yes\nNo\n")
{
	((struct gw_modem *)vty->index)->cfg.cmms_off = !strcmp(argv[0], "off");
	return CMD_SUCCESS;
}

DEFUN(cfg_modem_store_send, cfg_modem_store_send_cmd, "store-and-send (on|off)",
      "Own AT path: store each one-part message on the SIM (AT+CMGW), commit its index, then send it from\n"
      "there (AT+CMSS), so that a crash never sends it twice\nYes\nNo (default)\n")
{
	((struct gw_modem *)vty->index)->cfg.store_send = !strcmp(argv[0], "on");
	return CMD_SUCCESS;
}

#define VTY_MAX_WRITERS 8
static void (*writers[VTY_MAX_WRITERS])(struct vty *vty);
static unsigned nwriters;

/* The gateway node's number, where features install their settings. */
int gw_vty_node(void)
{
	return GW_NODE;
}

/* A feature's lines in the gateway node's `write` (after the core's). */
void gw_vty_add_writer(void (*write)(struct vty *vty))
{
	OSMO_ASSERT(nwriters < VTY_MAX_WRITERS);
	writers[nwriters++] = write;
}

static int config_write_gw(struct vty *vty)
{
	vty_out(vty, "gateway%s", VTY_NEWLINE);
	vty_out(vty, " database %s%s", vgw->cfg.db_path, VTY_NEWLINE);
	vty_out(vty, " part-timeout %u%s", vgw->cfg.part_timeout_s, VTY_NEWLINE);
	vty_out(vty, " send-timeout %u%s", vgw->cfg.send_timeout_s, VTY_NEWLINE);
	vty_out(vty, " max-attempts %u%s", vgw->cfg.max_attempts, VTY_NEWLINE);
	vty_out(vty, " retry-backoff %u %u%s", vgw->cfg.retry_base_s, vgw->cfg.retry_max_s, VTY_NEWLINE);
	vty_out(vty, " help-interval %u%s", vgw->cfg.help_interval_s, VTY_NEWLINE);
	vty_out(vty, " flood-limit %u %u%s", vgw->cfg.flood_max, vgw->cfg.flood_window_s / 60, VTY_NEWLINE);
	vty_out(vty, " reply-unknown %s%s", vgw->cfg.reply_unknown ? "on" : "off", VTY_NEWLINE);
	vty_out(vty, " ctrl-bind %s %u%s", vgw->cfg.ctrl_bind, vgw->cfg.ctrl_port, VTY_NEWLINE);
	vty_out(vty, " ctrl-send %s%s", vgw->cfg.ctrl_send ? "on" : "off", VTY_NEWLINE);
	if (vgw->cfg.community_number)
		vty_out(vty, " community-number %s%s", vgw->cfg.community_number, VTY_NEWLINE);
	if (vgw->cfg.community)
		vty_out(vty, " community %s%s", vgw->cfg.community, VTY_NEWLINE);
	if (vgw->cfg.standby)
		vty_out(vty, " standby on%s", VTY_NEWLINE);
	if (vgw->cfg.lease_s)
		vty_out(vty, " lease %u%s", vgw->cfg.lease_s, VTY_NEWLINE);
	if (vgw->cfg.test_clock)
		vty_out(vty, " test-clock on%s", VTY_NEWLINE);
	if (vgw->cfg.rules_file)
		vty_out(vty, " rules-file %s%s", vgw->cfg.rules_file, VTY_NEWLINE);
	for (unsigned i = 0; i < nwriters; i++)
		writers[i](vty);
	return CMD_SUCCESS;
}

static int config_write_modem(struct vty *vty)
{
	for (unsigned i = 0; i < vgw->nmodems; i++) {
		const struct mdm_cfg *c = &vgw->modem[i].cfg;

		vty_out(vty, "modem %s%s", c->name, VTY_NEWLINE);
		vty_out(vty, " device %s%s", c->device, VTY_NEWLINE);
		vty_out(vty, " connection %s%s", c->connection, VTY_NEWLINE);
		vty_out(vty, " pace-ms %u%s", c->pace_ms, VTY_NEWLINE);
		vty_out(vty, " poll-interval %u%s", c->poll_s, VTY_NEWLINE);
		vty_out(vty, " health-interval %u%s", c->health_s, VTY_NEWLINE);
		vty_out(vty, " delivery-reports %s%s", c->reports ? "on" : "off", VTY_NEWLINE);
		vty_out(vty, " send-path %s%s", c->send_gammu ? "gammu" : "own", VTY_NEWLINE);
		vty_out(vty, " prompt-delay-ms %u%s", c->prompt_delay_ms, VTY_NEWLINE);
		vty_out(vty, " cmms %s%s", c->cmms_off ? "off" : "on", VTY_NEWLINE);
		vty_out(vty, " store-and-send %s%s", c->store_send ? "on" : "off", VTY_NEWLINE);
	}
	return CMD_SUCCESS;
}

static uint64_t ctr(const struct gw_modem *m, unsigned i)
{
	return rate_ctr_group_get_ctr(m->ctrs, i)->current;
}

/* the degraded-database state (dbstate.c), under show modems and show queue */
static void show_db_state(struct vty *vty)
{
	if (!vgw->db_degraded) {
		vty_out(vty, "database: ok%s", VTY_NEWLINE);
		return;
	}
	vty_out(vty,
		"database: DEGRADED for %lds (%s): SIM deletions and sends held, %u received and %u outcome(s) "
		"waiting%s",
		(long)(gw_mono() - vgw->db_fault_since), strerror(-vgw->db_fault_err), vgw->inbox_len,
		vgw->db_pending_len, VTY_NEWLINE);
}

DEFUN(show_modems, show_modems_cmd, "show modems", SHOW_STR "GSM modems: state, health, counters\n")
{
	time_t now = gw_now();

	for (unsigned i = 0; i < vgw->nmodems; i++) {
		const struct gw_modem *m = &vgw->modem[i];

		vty_out(vty, "modem %s: %s%s%s%s", m->cfg.name, mdm_state_name(m->state), m->reason[0] ? " (" : "",
			m->reason[0] ? m->reason : "", m->reason[0] ? ")" : "");
		vty_out(vty, "%s  device %s connection %s, pace %u ms%s", VTY_NEWLINE, m->cfg.device, m->cfg.connection,
			m->cfg.pace_ms, VTY_NEWLINE);
		if (m->imei[0] || m->model[0])
			vty_out(vty, "  IMEI %s, model %s%s", m->imei, m->model, VTY_NEWLINE);
		if (m->health.at)
			vty_out(vty, "  signal %d%%, %s%s%s, SIM %s (%u/%u used), %lds ago%s", m->health.signal_pct,
				m->health.registered ? "registered" : "NOT registered",
				m->health.network[0] ? " on " : "", m->health.network, m->health.sim,
				m->health.sim_used, m->health.sim_size, (long)(now - m->health.at), VTY_NEWLINE);
		if (m->job)
			vty_out(vty, "  sending message %" PRId64 " for %lds%s%s", m->job,
				(long)(gw_mono() - m->job_started),
				m->job_abandoned ? " (given back to the queue)" : "", VTY_NEWLINE);
		if (m->last_progress)
			vty_out(vty, "  last progress %lds ago%s", (long)(now - m->last_progress), VTY_NEWLINE);
		vty_out(vty,
			"  received %" PRIu64 ", duplicates %" PRIu64 ", sent %" PRIu64 " (%" PRIu64
			" parts), failed %" PRIu64 ", retried %" PRIu64 ", resets %" PRIu64 ", reports %" PRIu64 "%s",
			ctr(m, GW_MDM_CTR_RECEIVED), ctr(m, GW_MDM_CTR_DUPLICATE), ctr(m, GW_MDM_CTR_SENT),
			ctr(m, GW_MDM_CTR_PARTS), ctr(m, GW_MDM_CTR_FAILED), ctr(m, GW_MDM_CTR_RETRIED),
			ctr(m, GW_MDM_CTR_RESET), ctr(m, GW_MDM_CTR_REPORTS), VTY_NEWLINE);
	}
	if (!vgw->nmodems)
		vty_out(vty, "no modems configured%s", VTY_NEWLINE);
	show_db_state(vty);
	return CMD_SUCCESS;
}

DEFUN(show_queue, show_queue_cmd, "show queue", SHOW_STR "Outgoing queue by state\n")
{
	int64_t n[_NUM_DB_OUT];
	unsigned busy = 0;
	int rc = db_sms_out_counts(vgw->db, n);

	show_db_state(vty);
	if (rc < 0) {
		vty_out(vty, "%% database error: %s%s", strerror(-rc), VTY_NEWLINE);
		return CMD_WARNING;
	}
	for (unsigned i = 0; i < vgw->nmodems; i++)
		busy += vgw->modem[i].job != 0;
	vty_out(vty, "outbox: %" PRId64 " queued, %" PRId64 " sending, %" PRId64 " sent, %" PRId64 " failed%s",
		n[DB_OUT_QUEUED], n[DB_OUT_SENDING], n[DB_OUT_SENT], n[DB_OUT_FAILED], VTY_NEWLINE);
	vty_out(vty, "in flight: %u modem(s) sending; inbox batch waiting: %u%s", busy, vgw->inbox_len, VTY_NEWLINE);
	vty_out(vty, "possible duplicates after a restart: %" PRId64 "%s", db_stat_get(vgw->db, "out_possible_dup"),
		VTY_NEWLINE);
	return CMD_SUCCESS;
}

/* A db/ listing's line callback that prints to the VTY in data. */
void gw_vty_line(void *data, const char *line)
{
	struct vty *vty = data;

	vty_out(vty, "%s%s", line, VTY_NEWLINE);
}

DEFUN(show_sms, show_sms_cmd, "show sms (in|out) [<1-1000>]",
      SHOW_STR "Messages\nReceived (newest first)\nSent and queued (newest first)\nHow many\n")
{
	int limit = argc > 1 ? atoi(argv[1]) : 20;
	int rc;

	if (!strcmp(argv[0], "in"))
		rc = db_sms_in_list(vgw->db, limit, gw_vty_line, vty);
	else
		rc = db_sms_out_list(vgw->db, limit, gw_vty_line, vty);
	if (rc < 0) {
		vty_out(vty, "%% database error: %s%s", strerror(-rc), VTY_NEWLINE);
		return CMD_WARNING;
	}
	return CMD_SUCCESS;
}

DEFUN(show_due, show_due_cmd, "show due", SHOW_STR "Due work: each feature's hook and when it runs next\n")
{
	time_t now = gw_now(), next;
	const char *name;

	for (unsigned i = 0; gw_due_get(i, &name, &next) == 0; i++) {
		if (next)
			vty_out(vty, "%-12s in %lds%s", name, (long)(next - now), VTY_NEWLINE);
		else
			vty_out(vty, "%-12s at the next wake-up%s", name, VTY_NEWLINE);
	}
	return CMD_SUCCESS;
}

DEFUN(show_routes, show_routes_cmd, "show routes",
      SHOW_STR "The handlers a received message is offered to, in order (routes/sms.rules handlers)\n")
{
	const char *name;

	for (unsigned i = 0; gw_route_get(vgw, i, &name) == 0; i++)
		vty_out(vty, "%u %s%s", i + 1, name, VTY_NEWLINE);
	vty_out(vty, "- help (nobody took it)%s", VTY_NEWLINE);
	return CMD_SUCCESS;
}

DEFUN(sms_send, sms_send_cmd, "sms send NUMBER .TEXT",
      "Messages\nQueue a message (priority: reply)\nDestination number\nText (UTF-8)\n")
{
	char *text = argv_concat(argv, argc, 1);
	int64_t id;
	int rc = gw_sms_queue(vgw, argv[0], text, DB_PRIO_REPLY, &id);

	talloc_free(text);
	if (rc < 0) {
		vty_out(vty, "%% cannot queue: %s%s", strerror(-rc), VTY_NEWLINE);
		return CMD_WARNING;
	}
	vty_out(vty, "queued as %" PRId64 "%s", id, VTY_NEWLINE);
	return CMD_SUCCESS;
}

DEFUN(modem_reset, modem_reset_cmd, "modem NAME reset", "GSM modem\nName\nDrop the connection and reconnect\n")
{
	struct gw_modem *m = gw_modem_find(vgw, argv[0]);

	if (!m || !vgw->pool) {
		vty_out(vty, "%% no modem '%s'%s", argv[0], VTY_NEWLINE);
		return CMD_WARNING;
	}
	mdm_reset(vgw->pool, m->idx);
	return CMD_SUCCESS;
}

/* ---- `write file` keeps the file private ---- */

/* libosmovty's table of nodes and their commands, and its host (the config file's name): exported
 * by it, declared in no header. */
extern vector cmdvec;
extern struct host host;

static int (*write_file_lib)(struct cmd_element *self, struct vty *vty, int argc, const char *argv[]);

/* libosmovty's `write file [PATH]` (also `write`, `write memory`), then the file and its .sav made
 * 0600: it chmods what it wrote to 0644 whatever the umask, and the file holds the VTY's passwords
 * (issue 13). Until the chmod here, a few instructions later, the new file is 0644. */
static int write_file_private(struct cmd_element *self, struct vty *vty, int argc, const char *argv[])
{
	int rc = write_file_lib(self, vty, argc, argv);
	const char *path = argc > 0 ? argv[0] : host.config;
	char sav[PATH_MAX];

	if (rc != CMD_SUCCESS || !path) /* nothing written: no file of the operator's is touched */
		return rc;
	snprintf(sav, sizeof(sav), "%s.sav", path);
	if (chmod(path, 0600) < 0 && errno != ENOENT) {
		LOGP(DGW, LOGL_ERROR, "write file: cannot make %s 0600: %s\n", path, strerror(errno));
		vty_out(vty, "%% cannot make %s private (0600): %s%s", path, strerror(errno), VTY_NEWLINE);
		return CMD_WARNING;
	}
	if (chmod(sav, 0600) < 0 && errno != ENOENT)
		LOGP(DGW, LOGL_ERROR, "write file: cannot make %s 0600: %s\n", sav, strerror(errno));
	return rc;
}

/* Every node's write commands share libosmovty's three elements: wrap their function once. */
static void write_file_wrap(void)
{
	struct cmd_node *cn = vector_active(cmdvec) > ENABLE_NODE ? vector_slot(cmdvec, ENABLE_NODE) : NULL;

	for (unsigned i = 0; cn && !write_file_lib && i < vector_active(cn->cmd_vector); i++) {
		struct cmd_element *c = vector_slot(cn->cmd_vector, i);

		if (c && c->string && !strncmp(c->string, "write file", 10))
			write_file_lib = c->func;
	}
	OSMO_ASSERT(write_file_lib); /* libosmovty always has it: vty_init() comes first */
	for (unsigned i = 0; i < vector_active(cn->cmd_vector); i++) {
		struct cmd_element *c = vector_slot(cn->cmd_vector, i);

		if (c && c->func == write_file_lib)
			c->func = write_file_private;
	}
}

/* Install the config nodes and commands; called before the config file is read. */
void gw_vty_init(struct gw *gw)
{
	vgw = gw;

	install_element(CONFIG_NODE, &cfg_gateway_cmd);
	install_node(&gw_node, config_write_gw);
	install_element(GW_NODE, &cfg_database_cmd);
	install_element(GW_NODE, &cfg_part_timeout_cmd);
	install_element(GW_NODE, &cfg_send_timeout_cmd);
	install_element(GW_NODE, &cfg_max_attempts_cmd);
	install_element(GW_NODE, &cfg_retry_base_cmd);
	install_element(GW_NODE, &cfg_help_interval_cmd);
	install_element(GW_NODE, &cfg_flood_limit_cmd);
	install_element_ve(&show_senders_held_cmd);
	install_element(GW_NODE, &cfg_ctrl_bind_cmd);
	install_element(GW_NODE, &cfg_reply_unknown_cmd);
	install_element(GW_NODE, &cfg_community_number_cmd);
	install_element(GW_NODE, &cfg_test_clock_cmd);
	install_element(GW_NODE, &cfg_ctrl_send_cmd);
	install_element(GW_NODE, &cfg_standby_cmd);
	install_element(GW_NODE, &cfg_lease_cmd);
	install_element(GW_NODE, &cfg_community_cmd);
	install_element(GW_NODE, &cfg_rules_file_cmd);

	install_element(CONFIG_NODE, &cfg_modem_cmd);
	install_node(&modem_node, config_write_modem);
	install_element(MODEM_NODE, &cfg_modem_device_cmd);
	install_element(MODEM_NODE, &cfg_modem_connection_cmd);
	install_element(MODEM_NODE, &cfg_modem_pace_cmd);
	install_element(MODEM_NODE, &cfg_modem_poll_cmd);
	install_element(MODEM_NODE, &cfg_modem_health_cmd);
	install_element(MODEM_NODE, &cfg_modem_reports_cmd);
	install_element(MODEM_NODE, &cfg_modem_send_path_cmd);
	install_element(MODEM_NODE, &cfg_modem_prompt_delay_cmd);
	install_element(MODEM_NODE, &cfg_modem_cmms_cmd);
	install_element(MODEM_NODE, &cfg_modem_store_send_cmd);

	install_element_ve(&show_modems_cmd);
	install_element_ve(&show_queue_cmd);
	install_element_ve(&show_due_cmd);
	install_element_ve(&show_routes_cmd);
	install_element_ve(&show_sms_cmd);
	install_element(ENABLE_NODE, &sms_send_cmd);
	install_element(ENABLE_NODE, &modem_reset_cmd);
	install_element(ENABLE_NODE, &rules_reload_cmd);
	write_file_wrap();
}
