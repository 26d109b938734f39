/* Counter groups of linlid: one gateway-wide, one per modem. */
#include <osmocom/core/rate_ctr.h>
#include <osmocom/core/stats.h>
#include <osmocom/core/utils.h>

#include "gateway/core/gw.h"

static const struct rate_ctr_desc gw_ctr_desc[] = {
	[GW_CTR_IN_MESSAGES] = {"in:messages", "Complete messages stored in the inbox"},
	[GW_CTR_IN_DUPLICATES] = {"in:duplicates", "Messages read again that were already stored"},
	[GW_CTR_IN_INCOMPLETE] = {"in:incomplete", "Concatenated messages stored with parts missing"},
	[GW_CTR_OUT_QUEUED] = {"out:queued", "Messages queued for sending"},
	[GW_CTR_OUT_SENT] = {"out:sent", "Messages accepted by a modem"},
	[GW_CTR_OUT_FAILED] = {"out:failed", "Messages failed for good"},
	[GW_CTR_OUT_RETRIED] = {"out:retried", "Send attempts put back in the queue"},
	[GW_CTR_OUT_LATE_DUP] = {"out:late_duplicate", "Sends accepted after the watchdog gave them up"},
	[GW_CTR_DB_ERRORS] = {"db:errors", "Database operations that failed"},
};

static const struct rate_ctr_group_desc gw_ctrg_desc = {
	.group_name_prefix = "linlid",
	.group_description = "linli gateway",
	.class_id = OSMO_STATS_CLASS_GLOBAL,
	.num_ctr = ARRAY_SIZE(gw_ctr_desc),
	.ctr_desc = gw_ctr_desc,
};

static const struct rate_ctr_desc mdm_ctr_desc[] = {
	[GW_MDM_CTR_RECEIVED] = {"sms:received", "Messages or parts read and committed"},
	[GW_MDM_CTR_DUPLICATE] = {"sms:duplicate", "Messages read again that were already stored"},
	[GW_MDM_CTR_SENT] = {"sms:sent", "Messages sent (every part has a reference)"},
	[GW_MDM_CTR_PARTS] = {"sms:parts", "Parts sent"},
	[GW_MDM_CTR_FAILED] = {"sms:failed", "Messages failed for good on this modem"},
	[GW_MDM_CTR_RETRIED] = {"sms:retried", "Send attempts that will be retried"},
	[GW_MDM_CTR_RESET] = {"modem:reset", "Watchdog resets"},
	[GW_MDM_CTR_REPORTS] = {"sms:reports", "Delivery reports recorded"},
};

static const struct rate_ctr_group_desc mdm_ctrg_desc = {
	.group_name_prefix = "modem",
	.group_description = "GSM modem",
	.class_id = OSMO_STATS_CLASS_PEER,
	.num_ctr = ARRAY_SIZE(mdm_ctr_desc),
	.ctr_desc = mdm_ctr_desc,
};

void gw_stats_init(struct gw *gw)
{
	gw->ctrs = rate_ctr_group_alloc(gw->ctx, &gw_ctrg_desc, 0);
	OSMO_ASSERT(gw->ctrs);
}

/* The counter group of modem idx, named after the modem. */
struct rate_ctr_group *gw_modem_ctrs_alloc(struct gw *gw, unsigned idx)
{
	struct rate_ctr_group *g = rate_ctr_group_alloc(gw->ctx, &mdm_ctrg_desc, idx);

	OSMO_ASSERT(g);
	rate_ctr_group_set_name(g, gw->modem[idx].cfg.name);
	return g;
}

/* Count one event on gateway-wide counter idx (GW_CTR_*). */
void gw_ctr_inc(struct gw *gw, unsigned idx)
{
	if (gw->ctrs)
		rate_ctr_inc2(gw->ctrs, idx);
}
