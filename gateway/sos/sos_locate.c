/* SOS: locate on demand (定位 / DW [watch], issue 12). An approved contact of a watch asks where
 * its wearer is; the watch is sent its dialect's locate command; the position it answers with
 * within `timer sos X7` goes to the contacts who asked, and only to them (not to every step-1
 * contact as a position report would). Anyone else gets one refusal, the same whether or not the
 * number named is a watch, and never the wearer's name. At most LOCATE_MAX asks per contact and
 * watch per hour: each one is an SMS to the watch. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <talloc.h>
#include <osmocom/core/logging.h>
#include <osmocom/core/tdef.h>
#include <osmocom/core/utils.h>

#include "db/db.h"
#include "gateway/core/clock.h"
#include "gateway/core/gw.h"
#include "gateway/core/limit.h"
#include "gateway/sos/sos.h"
#include "gateway/sos/sos_priv.h"

#define LOCATE_MAX	6
#define LOCATE_WINDOW_S ((time_t)osmo_tdef_get(sos_tdefs, SOS_T_LOCATE, OSMO_TDEF_S, -1))

#define REFUSED_TEXT  "无法定位：只有这块手表已确认的联系人可以定位。"
#define WHICH_TEXT    "您是多块手表的联系人，请发送“定位 手表号码”。"
#define NOT_SUPPORTED "%s的手表不支持短信定位，请直接拨打手表。"
#define LIMITED_TEXT  "定位太频繁，请稍后再试。"
#define SENT_TEXT     "已向%s的手表发送定位指令，收到位置后发给您。"

static struct gw_limit *locate_limit;

/* The watch number asks about: the one it named (if it is an approved contact of it), or its
 * only watch when it named none. 0 with dev, -ENOENT (not a contact), -E2BIG (several, none named). */
static int which_watch(struct gw *gw, const char *number, const char *watch, struct db_device *dev)
{
	void *ctx = talloc_new(gw);
	char num[32];
	struct db_binding b;
	int64_t *ids;
	int n, rc;

	if (watch[0]) {
		rc = db_number_norm(watch, num, sizeof(num));
		if (rc == 0)
			rc = db_device_get(gw->db, num, 0, dev);
		if (rc == 0)
			rc = db_binding_get(gw->db, dev->id, number, &b);
		if (rc == 0 && strcmp(b.state, "approved"))
			rc = -ENOENT;
		if (rc == -EINVAL)
			rc = -ENOENT;
		goto out;
	}
	n = db_locate_watches(gw->db, ctx, number, &ids);
	rc = n < 0 ? n : n == 0 ? -ENOENT : n > 1 ? -E2BIG : db_device_get(gw->db, NULL, ids[0], dev);
out:
	talloc_free(ctx);
	return rc;
}

int sos_locate(struct gw *gw, const char *number, const char *watch, const char **note)
{
	struct db_device dev;
	char cmd[64], text[200], key[80];
	int rc = which_watch(gw, number, watch, &dev);

	if (rc == -ENOENT || rc == -E2BIG) {
		*note = rc == -E2BIG ? "locate: several watches, none named"
				     : "locate refused: not an approved contact";
		LOGP(DRT, LOGL_NOTICE, "%s asked to locate %s: %s\n", number, watch[0] ? watch : "(no watch named)",
		     *note);
		return sos_reply(gw, number, rc == -E2BIG ? WHICH_TEXT : REFUSED_TEXT, DB_PRIO_REPLY);
	}
	if (rc < 0)
		return rc;
	if (sos_locate_cmd(dev.dialect, cmd, sizeof(cmd)) < 0) {
		snprintf(text, sizeof(text), NOT_SUPPORTED, person_of(&dev));
		*note = sos_note_printf("locate %s: the %s dialect has no locate command", dev.number, dev.dialect);
		return sos_reply(gw, number, text, DB_PRIO_REPLY);
	}
	if (!locate_limit)
		locate_limit = gw_limit_alloc(gw, 1024, LOCATE_MAX, 3600);
	snprintf(key, sizeof(key), "%s|%s", number, dev.number);
	if (!gw_limit_take(locate_limit, key, gw_now())) {
		*note = "locate: too often, not sent";
		return sos_reply(gw, number, LIMITED_TEXT, DB_PRIO_REPLY);
	}
	rc = db_locate_add(gw->db, dev.id, number, gw_now());
	if (rc == 0)
		rc = sos_reply(gw, dev.number, cmd, DB_PRIO_STAFF);
	if (rc < 0)
		return rc;
	snprintf(text, sizeof(text), SENT_TEXT, person_of(&dev));
	*note = sos_note_printf("locate: \"%s\" sent to watch %s for %s", cmd, dev.number, number);
	LOGP(DRT, LOGL_NOTICE, "%s\n", *note);
	return sos_reply(gw, number, text, DB_PRIO_REPLY);
}

int sos_locate_answer(struct gw *gw, const struct db_device *dev, const struct alert_info *a, const char **note)
{
	void *ctx;
	char **who, text[300], link[128] = "";
	time_t now = gw_now();
	struct tm tm;
	int n, rc = 0;

	if (!a->has_pos)
		return 0;
	ctx = talloc_new(gw);
	n = db_locate_take(gw->db, ctx, dev->id, now - LOCATE_WINDOW_S, now, &who);
	if (n <= 0) {
		talloc_free(ctx);
		return n;
	}
	localtime_r(&now, &tm);
	if (a->datum == ALERT_DATUM_WGS84)
		sos_map_link(a->lat, a->lon, link, sizeof(link));
	snprintf(text, sizeof(text), "【定位】%s %02d:%02d %s%s", person_of(dev), tm.tm_hour, tm.tm_min,
		 link[0] ? (a->fix == ALERT_FIX_LBS ? "基站定位(误差大):" : "位置:") : "",
		 link[0] ? link : "位置格式无法识别");
	for (int i = 0; rc >= 0 && i < n; i++)
		rc = sos_reply(gw, who[i], text, DB_PRIO_REPLY);
	*note = sos_note_printf("position answered to %d contact(s) who asked (定位)", n);
	talloc_free(ctx);
	return rc < 0 ? rc : 1;
}
