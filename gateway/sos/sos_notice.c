/* SOS: the low-battery and position notices of a watch to its first contacts. */
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include <osmocom/core/tdef.h>
#include <osmocom/core/utils.h>

#include "db/db.h"
#include "gateway/core/clock.h"
#include "gateway/core/gw.h"
#include "gateway/core/outbox.h"
#include "gateway/sos/sos.h"
#include "gateway/sos/sos_priv.h"

#define SOS_NOTICE_INTERVAL_S ((time_t)osmo_tdef_get(sos_tdefs, SOS_T_NOTICE, OSMO_TDEF_S, -1))

struct notice {
	struct gw *gw;
	const char *text_loc, *text_noloc;
	int sent, rc;
};

static void notice_one(void *data, const struct db_sos_contact *c)
{
	struct notice *n = data;
	int64_t id;
	int rc;

	if (n->rc < 0)
		return;
	rc = gw_sms_queue(n->gw, c->number, c->located ? n->text_loc : n->text_noloc, DB_PRIO_REPLY, &id);
	if (rc == 0)
		n->sent++;
	else if (rc != -EINVAL && rc != -EILSEQ)
		n->rc = rc;
}

/* Low battery / position: to the approved step-1 contacts, rate-limited per watch and kind. */
int sos_notice(struct gw *gw, const struct db_device *dev, const struct alert_info *a, const char **note)
{
	const char *kind = alert_kind_name(a->kind);
	struct notice n = {.gw = gw};
	time_t now = gw_now();
	char loc[600], noloc[300];
	struct tm tm;
	int rc;

	if (!db_sos_notice_allowed(gw->db, dev->id, kind, now, SOS_NOTICE_INTERVAL_S)) {
		*note = sos_note_printf("%s from watch: not repeated within %lds", kind, (long)SOS_NOTICE_INTERVAL_S);
		return 0;
	}
	localtime_r(&now, &tm);
	if (a->kind == ALERT_LOW_BATTERY) {
		snprintf(noloc, sizeof(noloc), "【低电量】%s的手表电量%s，请及时充电", person_of(dev),
			 a->battery[0] ? a->battery : "低");
		OSMO_STRLCPY_ARRAY(loc, noloc);
	} else {
		char link[128] = "";

		if (a->has_pos && a->datum == ALERT_DATUM_WGS84)
			sos_map_link(a->lat, a->lon, link, sizeof(link));
		snprintf(loc, sizeof(loc), "【位置】%s %02d:%02d %s", person_of(dev), tm.tm_hour, tm.tm_min,
			 link[0] ? link : "无定位");
		snprintf(noloc, sizeof(noloc), "【位置】%s %02d:%02d", person_of(dev), tm.tm_hour, tm.tm_min);
	}
	n.text_loc = loc;
	n.text_noloc = noloc;
	rc = db_sos_contacts(gw->db, dev->id, 1, notice_one, &n);
	if (rc < 0)
		return rc;
	if (n.rc < 0)
		return n.rc;
	*note = sos_note_printf("%s from watch: notice to %d contact(s)", kind, n.sent);
	return 0;
}
