/* linlid's log categories (gw.h: DGW, DMDM, DSMS, DRT, DDB). */
#include <osmocom/core/logging.h>
#include <osmocom/core/utils.h>

#include "gateway/core/gw.h"

static const struct log_info_cat gw_log_cat[] = {
	[DGW] = {.name = "DGW",
		 .description = "Gateway life cycle and configuration",
		 .enabled = 1,
		 .loglevel = LOGL_NOTICE},
	[DMDM] = {.name = "DMDM", .description = "GSM modems", .enabled = 1, .loglevel = LOGL_NOTICE},
	[DSMS] = {.name = "DSMS", .description = "Inbox, outbox and scheduler", .enabled = 1, .loglevel = LOGL_NOTICE},
	[DRT] = {.name = "DRT", .description = "Routing of received messages", .enabled = 1, .loglevel = LOGL_NOTICE},
	[DDB] = {.name = "DDB", .description = "Community database", .enabled = 1, .loglevel = LOGL_NOTICE},
	[DMEDIA] = {.name = "DMEDIA",
		    .description = "RTP media, mixer, prompts and DTMF of the group call",
		    .enabled = 1,
		    .loglevel = LOGL_NOTICE},
	[DCALL] = {.name = "DCALL",
		   .description = "The 6995 group call: SIP user agent and call control",
		   .enabled = 1,
		   .loglevel = LOGL_NOTICE},
	[DSIP] = {.name = "DSIP",
		  .description = "SMS over SIP: the evapi link to Kamailio",
		  .enabled = 1,
		  .loglevel = LOGL_NOTICE},
};

const struct log_info gw_log_info = {
	.cat = gw_log_cat,
	.num_cat = ARRAY_SIZE(gw_log_cat),
};
