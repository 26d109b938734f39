/* The request settings in the gateway node: deadline-days, errand-points, daily-digest. */
#include <stdio.h>
#include <stdlib.h>

#include <osmocom/vty/command.h>
#include <osmocom/vty/vty.h>

#include "gateway/core/gw.h"
#include "gateway/request/request.h"

DEFUN(cfg_deadline_days, cfg_deadline_days_cmd, "deadline-days <1-60>",
      "Working days a request has until its deadline (default 3)\nWorking days\n")
{
	rq_cfg.deadline_days = atoi(argv[0]);
	return CMD_SUCCESS;
}

DEFUN(cfg_errand_points, cfg_errand_points_cmd, "errand-points <1-10000>",
      "Points a runner earns for an errand the resident confirmed (default 10)\nPoints\n")
{
	rq_cfg.errand_points = atoi(argv[0]);
	return CMD_SUCCESS;
}

DEFUN(cfg_daily_digest, cfg_daily_digest_cmd, "daily-digest HH:MM",
      "Send the staff one SMS a day with the open and overdue requests\nLocal time, e.g. 08:30\n")
{
	unsigned h, m;
	char end;

	if (sscanf(argv[0], "%u:%u%c", &h, &m, &end) != 2 || h > 23 || m > 59) {
		vty_out(vty, "%% daily-digest wants a local time HH:MM (00:00-23:59), not \"%s\"%s", argv[0],
			VTY_NEWLINE);
		return CMD_WARNING;
	}
	rq_cfg.digest = true;
	rq_cfg.digest_min = h * 60 + m;
	return CMD_SUCCESS;
}

DEFUN(cfg_no_daily_digest, cfg_no_daily_digest_cmd, "no daily-digest", NO_STR "Send no daily digest\n")
{
	rq_cfg.digest = false;
	return CMD_SUCCESS;
}

static void rq_vty_write(struct vty *vty)
{
	vty_out(vty, " deadline-days %u%s", rq_cfg.deadline_days, VTY_NEWLINE);
	vty_out(vty, " errand-points %u%s", rq_cfg.errand_points, VTY_NEWLINE);
	if (rq_cfg.digest)
		vty_out(vty, " daily-digest %02u:%02u%s", rq_cfg.digest_min / 60, rq_cfg.digest_min % 60, VTY_NEWLINE);
}

void rq_vty_init(int node)
{
	install_element(node, &cfg_deadline_days_cmd);
	install_element(node, &cfg_errand_points_cmd);
	install_element(node, &cfg_daily_digest_cmd);
	install_element(node, &cfg_no_daily_digest_cmd);
	gw_vty_add_writer(rq_vty_write);
}
