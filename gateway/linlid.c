/* linlid: the linli gateway daemon.
 *
 * One talloc root; logging, VTY, config file, database, modem pool, telnet, CTRL, signals;
 * then the osmo_select loop until SIGTERM has let the work in flight finish.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <osmocom/core/application.h>
#include <osmocom/core/logging.h>
#include <osmocom/core/select.h>
#include <osmocom/core/talloc.h>
#include <osmocom/core/timer.h>
#include <osmocom/core/utils.h>
#include <osmocom/ctrl/control_if.h>
#include <osmocom/vty/logging.h>
#include <osmocom/vty/misc.h>
#include <osmocom/vty/stats.h>
#include <osmocom/vty/telnet_interface.h>
#include <osmocom/vty/vty.h>

#include "db/db.h"
#include "gateway/call/call.h"
#include "gateway/core/gw.h"
#include "gateway/core/http.h"
#include "gateway/sip/sip_msg.h"
#include "gateway/sos/sos.h"
#include "gateway/wire.h"

struct gw *g_gw;

static struct vty_app_info vty_info = {
	.name = "linlid",
	.version = "0.1",
	.copyright = "linli community gateway\r\n",
};

static volatile sig_atomic_t quit_signal;
static bool fenced; /* another linlid took the database over: stop, with an error */
static struct osmo_timer_list lease_timer;

/* The owner's lease on PostgreSQL (db_own), renewed at a third of its length */
static void lease_cb(void *data)
{
	struct gw *gw = data;
	unsigned lease = gw->cfg.lease_s ? gw->cfg.lease_s : DB_LEASE_S;
	int rc = db_own_renew(gw->db);

	if (rc == -EPERM) {
		LOGP(DGW, LOGL_FATAL,
		     "another linlid owns database %s now (its standby took over while this one was frozen or cut "
		     "off): stopping\n",
		     db_path_shown(gw, gw->cfg.db_path));
		fenced = true;
		quit_signal++;
		return;
	}
	if (rc < 0)
		LOGP(DGW, LOGL_ERROR, "cannot renew the owner's lease (%u s) on %s: %s\n", lease,
		     db_path_shown(gw, gw->cfg.db_path), strerror(-rc));
	osmo_timer_schedule(&lease_timer, lease / 3, (lease % 3) * 333333);
}

static void signal_handler(int signo)
{
	switch (signo) {
	case SIGINT:
	case SIGTERM:
		quit_signal++;
		break;
	case SIGUSR1:
		talloc_report_full(g_gw->ctx, stderr);
		break;
	default:
		break;
	}
}

static void usage(const char *prog)
{
	printf("Usage: %s [-c linlid.cfg] [-d database] [-V]\n"
	       "  -c FILE   configuration file in VTY syntax (default etc/linlid.cfg)\n"
	       "  -d FILE   database path, overriding the config's 'database'\n"
	       "  -V        print the version and exit\n",
	       prog);
}

int main(int argc, char **argv)
{
	const char *cfg_file = "etc/linlid.cfg";
	const char *db_override = NULL;
	void *root;
	int rc, c, owner_fd = -1;
	time_t deadline;

	while ((c = getopt(argc, argv, "c:d:hV")) != -1) {
		switch (c) {
		case 'c':
			cfg_file = optarg;
			break;
		case 'd':
			db_override = optarg;
			break;
		case 'V':
			printf("linlid %s\n", vty_info.version);
			return 0;
		case 'h':
			usage(argv[0]);
			return 0;
		default:
			usage(argv[0]);
			return 2;
		}
	}

	root = talloc_named_const(NULL, 1, "linlid");
	msgb_talloc_ctx_init(root, 0);
	vty_info.tall_ctx = root;

	g_gw = gw_alloc(root);

	osmo_init_logging2(root, &gw_log_info);
	db_set_log_category(DDB);
	log_enable_multithread();
	log_set_print_category(osmo_stderr_target, 1);
	log_set_print_category_hex(osmo_stderr_target, 0);
	log_set_print_level(osmo_stderr_target, 1);
	log_set_print_filename2(osmo_stderr_target, LOG_FILENAME_NONE);

	vty_init(&vty_info);
	logging_vty_add_cmds();
	osmo_talloc_vty_add_cmds();
	osmo_stats_vty_add_cmds();
	gw_wire_vty(g_gw);
	gw_stats_init(g_gw);
	rc = gw_wire(g_gw);
	if (rc < 0) {
		fprintf(stderr, "linlid: cannot wire the features: %s\n", strerror(-rc));
		goto out_free;
	}

	rc = vty_read_config_file(cfg_file, NULL);
	if (rc < 0) {
		fprintf(stderr, "linlid: cannot read config file '%s': %s\n", cfg_file, strerror(-rc));
		goto out_free;
	}
	if (db_override)
		osmo_talloc_replace_string(g_gw, &g_gw->cfg.db_path, db_override);

	/* one linlid per database: a second one would send the same queue twice */
	rc = db_lock_owner(g_gw, g_gw->cfg.db_path, &owner_fd);
	if (rc < 0) {
		LOGP(DGW, LOGL_FATAL, "database %s is in use by another linlid (or a restore): %s\n",
		     db_path_shown(g_gw, g_gw->cfg.db_path), rc == -EBUSY ? "its lock file is held" : strerror(-rc));
		goto out_free;
	}

	rc = telnet_init_default(root, NULL, GW_VTY_PORT);
	if (rc < 0) {
		fprintf(stderr, "linlid: cannot open the VTY telnet port\n");
		goto out_free;
	}

	rc = db_open_community(g_gw, g_gw->cfg.db_path, g_gw->cfg.community, &g_gw->db);
	if (rc < 0) {
		LOGP(DGW, LOGL_FATAL, "cannot open database %s: %s\n", db_path_shown(g_gw, g_gw->cfg.db_path),
		     strerror(-rc));
		goto out_telnet;
	}
	rc = gw_ctrl_init(g_gw);
	if (rc < 0)
		goto out_db;

	signal(SIGINT, signal_handler);
	signal(SIGTERM, signal_handler);
	signal(SIGUSR1, signal_handler);
	signal(SIGPIPE, SIG_IGN);
	osmo_init_ignore_signals();

	rc = db_own(g_gw->db, (int)g_gw->cfg.lease_s);
	if (rc == -EBUSY && g_gw->cfg.standby) {
		/* active/standby on PostgreSQL: the VTY and CTRL answer meanwhile; nothing is sent or read
		 * from the modems until the owner's session ends (it stopped, died, or lost the server) */
		LOGP(DGW, LOGL_NOTICE, "standby: database %s is owned by another linlid; taking over when it stops\n",
		     db_path_shown(g_gw, g_gw->cfg.db_path));
		for (unsigned k = 1; !quit_signal && rc == -EBUSY; k++) {
			osmo_select_main_ctx(1);
			usleep(50 * 1000);
			if (k % 10 == 0)
				rc = db_own(g_gw->db, (int)g_gw->cfg.lease_s);
		}
		if (quit_signal) {
			LOGP(DGW, LOGL_NOTICE, "stopped while standing by\n");
			rc = 0;
			goto out_db;
		}
		if (rc == 0)
			LOGP(DGW, LOGL_NOTICE, "standby: the owner stopped; taking over\n");
	}
	if (rc < 0) {
		LOGP(DGW, LOGL_FATAL, "database %s is in use by another linlid: %s\n",
		     db_path_shown(g_gw, g_gw->cfg.db_path), strerror(-rc));
		goto out_db;
	}

	osmo_timer_setup(&lease_timer, lease_cb, g_gw);
	lease_cb(g_gw);

	sos_start(g_gw);
	rc = gw_sms_start(g_gw);
	if (rc < 0)
		goto out_db;
	rc = sip_msg_start(g_gw); /* SMS over SIP, when `evapi` is configured */
	if (rc < 0) {
		gw_sms_stop(g_gw);
		goto out_db;
	}
	rc = call_start(g_gw); /* the 6995 group call's SIP user agent, when sip-bind is set */
	if (rc < 0) {
		LOGP(DGW, LOGL_FATAL, "cannot start the group call's SIP user agent: %s\n", strerror(-rc));
		gw_sms_stop(g_gw);
		goto out_db;
	}
	rc = gw_http_start(g_gw); /* the staff console, when http-bind is set */
	if (rc < 0) {
		call_stop(g_gw);
		gw_sms_stop(g_gw);
		goto out_db;
	}
	/* From here on the loop must not stall on another process's lock: a statement waits at most
	 * GW_DB_BUSY_MS, then fails with -EBUSY, and the degraded-database state takes over. */
	db_set_busy_timeout(g_gw->db, GW_DB_BUSY_MS);
	LOGP(DGW, LOGL_NOTICE, "linlid running: database %s%s%s, %u modem(s)\n", db_path_shown(g_gw, g_gw->cfg.db_path),
	     g_gw->cfg.community ? ", community " : "", g_gw->cfg.community ? g_gw->cfg.community : "", g_gw->nmodems);

	while (!quit_signal)
		osmo_select_main_ctx(0);

	/* SIGTERM: take no new work, let the sends under way answer and the inbox commit. */
	LOGP(DGW, LOGL_NOTICE, "stopping: finishing what is in flight\n");
	g_gw->quitting = true;
	gw_http_stop();
	call_stop(g_gw); /* BYE/CANCEL every call leg, record it, stop the user agent */
	deadline = gw_now() + g_gw->cfg.send_timeout_s + 5;
	/* fenced: nothing of it could be recorded; the new owner sends those again (counted) */
	while (!fenced && !gw_sms_idle(g_gw) && gw_now() < deadline && quit_signal < 3)
		osmo_select_main_ctx(0);
	gw_sms_stop(g_gw);
	rc = fenced ? -EPERM : 0;
	if (!fenced)
		LOGP(DGW, LOGL_NOTICE, "stopped cleanly\n");
out_db:
	osmo_timer_del(&lease_timer);
	db_close(g_gw->db);
out_telnet:
	telnet_exit();
out_free:
	if (owner_fd >= 0)
		close(owner_fd);
	log_fini();
	talloc_free(root);
	talloc_free(tall_vty_ctx);
	return rc < 0 ? 1 : 0;
}
