/* linlid's CTRL interface (for scripts and monitoring): queue counts, modem states, sending. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <osmocom/core/logging.h>
#include <osmocom/core/talloc.h>
#include <osmocom/ctrl/control_cmd.h>
#include <osmocom/ctrl/control_if.h>

#include "db/db.h"
#include "gateway/core/gw.h"
#include "gateway/core/outbox.h"

CTRL_CMD_DEFINE_RO(queue, "queue");
static int get_queue(struct ctrl_cmd *cmd, void *data)
{
	struct gw *gw = data;
	int64_t n[_NUM_DB_OUT];

	if (db_sms_out_counts(gw->db, n) < 0) {
		cmd->reply = "database error";
		return CTRL_CMD_ERROR;
	}
	cmd->reply = talloc_asprintf(cmd, "queued=%" PRId64 ",sending=%" PRId64 ",sent=%" PRId64 ",failed=%" PRId64,
				     n[DB_OUT_QUEUED], n[DB_OUT_SENDING], n[DB_OUT_SENT], n[DB_OUT_FAILED]);
	return CTRL_CMD_REPLY;
}

CTRL_CMD_DEFINE_RO(modems, "modems");
static int get_modems(struct ctrl_cmd *cmd, void *data)
{
	struct gw *gw = data;

	cmd->reply = talloc_strdup(cmd, "");
	for (unsigned i = 0; i < gw->nmodems; i++) {
		const struct gw_modem *m = &gw->modem[i];

		cmd->reply = talloc_asprintf_append(cmd->reply, "%s%s=%s", i ? "," : "", m->cfg.name,
						    mdm_state_name(m->state));
	}
	return CTRL_CMD_REPLY;
}

CTRL_CMD_DEFINE_WO(sms_send, "sms-send");
static int verify_sms_send(struct ctrl_cmd *cmd, const char *value, void *data)
{
	struct gw *gw = data;

	/* CTRL has no login: any local process may connect, so sending is off unless configured */
	if (!gw->cfg.ctrl_send) {
		cmd->reply = "sms-send needs ctrl-send on in the config";
		return 1;
	}
	if (!value || !strchr(value, ' ')) {
		cmd->reply = "expected: NUMBER TEXT";
		return 1;
	}
	return 0;
}

static int set_sms_send(struct ctrl_cmd *cmd, void *data)
{
	struct gw *gw = data;
	char *num = talloc_strdup(cmd, cmd->value);
	char *text = strchr(num, ' ');
	int64_t id;
	int rc;

	*text++ = '\0';
	rc = gw_sms_queue(gw, num, text, DB_PRIO_REPLY, &id);
	if (rc < 0) {
		cmd->reply = talloc_asprintf(cmd, "cannot queue: %s", strerror(-rc));
		return CTRL_CMD_ERROR;
	}
	cmd->reply = talloc_asprintf(cmd, "%" PRId64, id);
	return CTRL_CMD_REPLY;
}

/* The faked clock of the end-to-end tests: gw_now() = real time + offset. Refused unless the
 * config says test-clock on, so a production gateway's clock cannot be moved from outside. */

CTRL_CMD_DEFINE(clock_offset, "clock-offset");
static int get_clock_offset(struct ctrl_cmd *cmd, void *data)
{
	(void)data;
	cmd->reply = talloc_asprintf(cmd, "%ld", gw_clock_offset());
	return CTRL_CMD_REPLY;
}

static int verify_clock_offset(struct ctrl_cmd *cmd, const char *value, void *data)
{
	struct gw *gw = data;
	char *end;

	if (!gw->cfg.test_clock) {
		cmd->reply = "clock-offset needs test-clock on in the config";
		return 1;
	}
	if (!value || !*value || (strtol(value, &end, 10), *end)) {
		cmd->reply = "expected: seconds";
		return 1;
	}
	return 0;
}

static int set_clock_offset(struct ctrl_cmd *cmd, void *data)
{
	(void)data;
	gw_clock_set_offset(strtol(cmd->value, NULL, 10));
	LOGP(DGW, LOGL_NOTICE, "test clock: offset now %lds\n", gw_clock_offset());
	cmd->reply = talloc_asprintf(cmd, "%ld", gw_clock_offset());
	return CTRL_CMD_REPLY;
}

/* Open the CTRL port (ctrl-bind in the gateway node) with linlid's commands. */
int gw_ctrl_init(struct gw *gw)
{
	struct ctrl_handle *ch;

	ch = ctrl_interface_setup_dynip2(gw, gw->cfg.ctrl_bind, gw->cfg.ctrl_port, NULL, 0);
	if (!ch) {
		LOGP(DGW, LOGL_FATAL, "cannot open the CTRL interface on %s:%u\n", gw->cfg.ctrl_bind,
		     gw->cfg.ctrl_port);
		return -EADDRINUSE;
	}
	ctrl_cmd_install(CTRL_NODE_ROOT, &cmd_queue);
	ctrl_cmd_install(CTRL_NODE_ROOT, &cmd_modems);
	ctrl_cmd_install(CTRL_NODE_ROOT, &cmd_sms_send);
	ctrl_cmd_install(CTRL_NODE_ROOT, &cmd_clock_offset);
	return 0;
}
