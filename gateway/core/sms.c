/* The SMS pipeline's life cycle: resume from the database, start the channels and the due
 * timer; on SIGTERM wait for what is in flight, then stop. */
#include <errno.h>
#include <string.h>

#include <osmocom/core/logging.h>
#include <osmocom/core/talloc.h>
#include <osmocom/core/timer.h>

#include "db/db.h"
#include "gateway/core/due.h"
#include "gateway/core/gsm.h"
#include "gateway/core/gw.h"
#include "gateway/core/inbox.h"
#include "gateway/core/outbox.h"
#include "gateway/core/rules.h"

struct gw *gw_alloc(void *ctx)
{
	struct gw *gw = talloc_zero(ctx, struct gw);

	if (!gw)
		return NULL;
	gw->ctx = ctx;
	INIT_LLIST_HEAD(&gw->inbox);
	gw_db_init(gw);
	gw->cfg.db_path = talloc_strdup(gw, "var/linli.db");
	gw->cfg.part_timeout_s = 120;
	gw->cfg.send_timeout_s = 60;
	gw->cfg.max_attempts = 6;
	gw->cfg.retry_base_s = 5;
	gw->cfg.retry_max_s = 600;
	gw->cfg.help_interval_s = 600;
	gw->cfg.flood_max = 30;
	gw->cfg.flood_window_s = 600;
	gw->cfg.ctrl_bind = talloc_strdup(gw, "127.0.0.1");
	gw->cfg.ctrl_port = GW_CTRL_PORT;
	return gw;
}

int gw_sms_start(struct gw *gw)
{
	char err[256];
	int n = 0, rc;

	if (!gw->rules)
		gw_rules_reload(gw, err, sizeof(err)); /* logged; no keywords until `rules reload` works */
	rc = db_sms_out_recover(gw->db, &n);
	if (rc < 0) {
		LOGP(DSMS, LOGL_FATAL, "cannot recover the outbox: %s\n", strerror(-rc));
		return rc;
	}
	if (n)
		LOGP(DSMS, LOGL_NOTICE,
		     "%d message(s) were being sent when linlid stopped: queued again "
		     "(each may reach its recipient twice; counted in out_possible_dup)\n",
		     n);
	rc = gw_inbox_start(gw);
	if (rc < 0)
		return rc;
	rc = gw_gsm_start(gw);
	if (rc < 0)
		return rc;
	gw_due_start(gw);
	gw_outbox_kick(gw);
	return 0;
}

bool gw_sms_idle(struct gw *gw)
{
	return llist_empty(&gw->inbox) && gw_outbox_idle(gw);
}

void gw_sms_stop(struct gw *gw)
{
	gw->quitting = true;
	gw_due_stop();
	gw_db_stop(gw);	    /* the outcomes still waiting, while the pool can delete their SIM copies */
	gw_outbox_stop(gw); /* the channels, the modem pool last (registered first) */
	osmo_timer_del(&gw->flush);
	while (!llist_empty(&gw->inbox)) {
		struct mdm_event *ev = llist_first_entry(&gw->inbox, struct mdm_event, list);

		llist_del(&ev->list);
		mdm_event_free(ev);
	}
}
