/* SOS: bindings by SMS, 绑定/BD (bind), 解绑/JB (unbind), 确认/QR (confirm with a code): a
 * contact asks to get a watch's alarms, the household's primary phone (or staff) approves. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <osmocom/core/logging.h>
#include <osmocom/core/tdef.h>

#include "db/db.h"
#include "gateway/core/clock.h"
#include "gateway/core/gw.h"
#include "gateway/core/limit.h"
#include "gateway/sos/sos.h"
#include "gateway/sos/sos_priv.h"

/* What anyone asking for a binding is told, whatever the number is: neither whether it is a watch
 * nor whose; the household's primary phone decides. */
#define BIND_GENERIC "已收到您的绑定申请：如%s是已登记的手表，户主（或社区）确认后生效，届时短信通知您。"

/* What the contact is told once a binding is approved or removed (by SMS or by staff). */
#define BOUND_TEXT   "绑定成功：%s的手表报警将发送给您。"
#define UNBOUND_TEXT "已解除与%s的手表的绑定。"

/* The binding limits (sos_cfg bind_per_sender, bind_per_watch, code_failures per SOS_T_BIND_WINDOW):
 * a number cannot probe watches or flood a household's primary phone with codes, nor guess a code. */
static struct gw_limit *limit_sender, *limit_watch, *limit_failures;

static struct gw_limit *limit(struct gw *gw, struct gw_limit **l, unsigned max)
{
	if (!*l)
		*l = gw_limit_alloc(gw, 1024, max, 0);
	gw_limit_set(*l, max, osmo_tdef_get(sos_tdefs, SOS_T_BIND_WINDOW, OSMO_TDEF_S, -1));
	return *l;
}

static time_t code_since(void)
{
	return gw_now() - (time_t)osmo_tdef_get(sos_tdefs, SOS_T_CODE, OSMO_TDEF_S, -1);
}

static void random_code(char *buf, size_t len)
{
	uint32_t r;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (uint32_t)rand() ^ (uint32_t)time(NULL);
	snprintf(buf, len, "%06u", (unsigned)(r % 1000000));
}

static int cmd_bind(struct gw *gw, const char *sender, const char *arg, const char **note)
{
	struct db_device dev;
	struct db_binding b;
	char num[32], code[12], text[300], by[128];
	int rc;

	if (!gw_limit_take(limit(gw, &limit_sender, sos_cfg.bind_per_sender), sender, gw_now())) {
		*note = "bind: over the limit of requests per number: not answered";
		return 0;
	}
	snprintf(text, sizeof(text), BIND_GENERIC, arg);
	if (db_number_norm(arg, num, sizeof(num)) < 0 || db_device_get(gw->db, num, 0, &dev) < 0) {
		*note = "bind: no such watch (the generic answer)";
		return sos_reply(gw, sender, text, DB_PRIO_REPLY);
	}
	if (db_binding_get(gw->db, dev.id, sender, &b) == 0 && !strcmp(b.state, "approved")) {
		*note = "bind: already approved";
		snprintf(text, sizeof(text), "您已绑定%s的手表。", person_of(&dev));
		return sos_reply(gw, sender, text, DB_PRIO_REPLY);
	}
	if (!strcmp(sender, dev.number)) {
		*note = "bind: the watch itself";
		return 0;
	}
	if (dev.primary_number[0] && !strcmp(dev.primary_number, sender)) {
		/* the household's primary phone is the authority that would confirm it */
		rc = db_binding_put(gw->db, dev.id, sender, 1, true, NULL, sender, gw_now(), NULL);
		if (rc < 0)
			return rc;
		*note = "bind: approved (primary phone)";
		snprintf(text, sizeof(text), BOUND_TEXT, person_of(&dev));
		return sos_reply(gw, sender, text, DB_PRIO_REPLY);
	}
	if (dev.primary_number[0] &&
	    !gw_limit_take(limit(gw, &limit_watch, sos_cfg.bind_per_watch), dev.number, gw_now())) {
		/* the household's primary phone got enough codes for now */
		*note = "bind: over the limit of codes per watch: the primary phone not texted";
		LOGP(DRT, LOGL_NOTICE, "binding of %s to watch %s: too many requests for this watch, not passed on\n",
		     sender, dev.number);
		return sos_reply(gw, sender, text, DB_PRIO_REPLY);
	}
	random_code(code, sizeof(code));
	rc = db_binding_put(gw->db, dev.id, sender, 1, false, code, NULL, gw_now(), NULL);
	if (rc < 0)
		return rc;
	if (dev.primary_number[0]) {
		char ask[300];

		sos_who(gw, sender, by, sizeof(by));
		snprintf(ask, sizeof(ask), "%s申请绑定%s的手表(将收到报警和位置)。同意请在%ld分钟内回复：确认 %s", by,
			 person_of(&dev), (long)osmo_tdef_get(sos_tdefs, SOS_T_CODE, OSMO_TDEF_M, -1), code);
		rc = sos_reply(gw, dev.primary_number, ask, DB_PRIO_REPLY);
		if (rc < 0)
			return rc;
	}
	*note = "bind: pending";
	LOGP(DRT, LOGL_NOTICE, "binding of %s to watch %s pending\n", sender, dev.number);
	return sos_reply(gw, sender, text, DB_PRIO_REPLY);
}

static int cmd_unbind(struct gw *gw, const char *sender, const char *arg, const char **note)
{
	struct db_device dev;
	struct db_binding b;
	char num[32], code[12], text[300], by[128];
	int rc;

	if (!gw_limit_take(limit(gw, &limit_sender, sos_cfg.bind_per_sender), sender, gw_now())) {
		*note = "unbind: over the limit of requests per number: not answered";
		return 0;
	}
	if (db_number_norm(arg, num, sizeof(num)) < 0 || db_device_get(gw->db, num, 0, &dev) < 0 ||
	    db_binding_get(gw->db, dev.id, sender, &b) < 0 || !strcmp(b.state, "removed")) {
		*note = "unbind: not bound";
		snprintf(text, sizeof(text), "您没有绑定手表%s。", arg);
		return sos_reply(gw, sender, text, DB_PRIO_REPLY);
	}
	if (!strcmp(b.state, "pending") || (dev.primary_number[0] && !strcmp(dev.primary_number, sender))) {
		rc = db_binding_remove(gw->db, b.id, sender, gw_now());
		if (rc < 0)
			return rc;
		*note = "unbind: removed";
		snprintf(text, sizeof(text), UNBOUND_TEXT, person_of(&dev));
		return sos_reply(gw, sender, text, DB_PRIO_REPLY);
	}
	if (!dev.primary_number[0]) {
		*note = "unbind: no primary phone, staff must remove it";
		return sos_reply(gw, sender, "解绑需社区工作人员办理，请联系社区。", DB_PRIO_REPLY);
	}
	random_code(code, sizeof(code));
	rc = db_binding_set_unbind(gw->db, b.id, code, sender, gw_now());
	if (rc < 0)
		return rc;
	sos_who(gw, sender, by, sizeof(by));
	snprintf(text, sizeof(text), "%s申请解除绑定%s的手表。同意请在%ld分钟内回复：确认 %s", by, person_of(&dev),
		 (long)osmo_tdef_get(sos_tdefs, SOS_T_CODE, OSMO_TDEF_M, -1), code);
	rc = sos_reply(gw, dev.primary_number, text, DB_PRIO_REPLY);
	if (rc < 0)
		return rc;
	*note = "unbind: pending";
	return sos_reply(gw, sender, "已提交解绑申请，等待户主确认。", DB_PRIO_REPLY);
}

static int cmd_confirm(struct gw *gw, const char *sender, const char *code, const char **note)
{
	struct db_binding b;
	struct db_device dev;
	char text[300];
	int rc;

	struct gw_limit *fl = limit(gw, &limit_failures, sos_cfg.code_failures);

	if (!gw_limit_left(fl, sender, gw_now())) {
		/* locked: not even the right code counts until the window has passed */
		*note = "confirm: locked after too many wrong codes";
		LOGP(DRT, LOGL_NOTICE, "confirmation from %s refused: locked after %u wrong codes\n", sender,
		     sos_cfg.code_failures);
		return sos_reply(gw, sender, "确认码错误次数过多，请稍后再试或联系社区。", DB_PRIO_REPLY);
	}
	rc = db_binding_by_code(gw->db, sender, code, code_since(), &b);
	if (rc == -ENOENT) {
		gw_limit_take(fl, sender, gw_now());
		*note = "confirm: unknown or expired code";
		return sos_reply(gw, sender, "确认码无效、已过期或已使用。", DB_PRIO_REPLY);
	}
	if (rc < 0)
		return rc;
	rc = db_device_get(gw->db, NULL, b.device_id, &dev);
	if (rc < 0)
		return rc;
	if (!strcmp(b.unbind_code, code)) {
		rc = db_binding_remove(gw->db, b.id, sender, gw_now());
		if (rc < 0)
			return rc;
		*note = "confirm: unbinding done";
		snprintf(text, sizeof(text), UNBOUND_TEXT, person_of(&dev));
	} else {
		rc = db_binding_approve(gw->db, b.id, sender, gw_now());
		if (rc < 0)
			return rc;
		*note = "confirm: binding approved";
		snprintf(text, sizeof(text), BOUND_TEXT, person_of(&dev));
	}
	LOGP(DRT, LOGL_NOTICE, "%s confirmed by %s for %s (watch %s)\n", *note, sender, b.number, dev.number);
	rc = sos_reply(gw, b.number, text, DB_PRIO_REPLY);
	if (rc < 0)
		return rc;
	return sos_reply(gw, sender, "已确认。", DB_PRIO_REPLY);
}

int sos_bind_cmd(struct gw *gw, const struct db_sms_in *m, const char **note)
{
	char arg[40];
	int rc;

	switch (sos_parse_cmd(m->text, arg, sizeof(arg))) {
	case SOS_CMD_BIND:
		rc = cmd_bind(gw, m->sender, arg, note);
		break;
	case SOS_CMD_UNBIND:
		rc = cmd_unbind(gw, m->sender, arg, note);
		break;
	case SOS_CMD_CONFIRM:
		rc = cmd_confirm(gw, m->sender, arg, note);
		break;
	case SOS_CMD_LOCATE:
		rc = sos_locate(gw, m->sender, arg, note);
		break;
	default:
		return 0;
	}
	return rc < 0 ? rc : 1;
}

/* ---- staff (the console) ---- */

/* Tell the contact of binding b what became of it (fmt: BOUND_TEXT or UNBOUND_TEXT). */
static int tell_contact(struct gw *gw, const struct db_binding *b, const char *fmt)
{
	struct db_device dev;
	char text[300];
	int rc = db_device_get(gw->db, NULL, b->device_id, &dev);

	if (rc < 0)
		return rc;
	snprintf(text, sizeof(text), fmt, person_of(&dev));
	return sos_reply(gw, b->number, text, DB_PRIO_REPLY);
}

/* Approve or remove one binding as staff member by: the change, the log line, the contact told. */
static int binding_act(struct gw *gw, int64_t binding_id, const char *by, bool approve)
{
	struct db_binding_row r;
	int rc = db_binding_by_id(gw->db, binding_id, &r);

	if (rc < 0)
		return rc;
	if (!strcmp(r.b.state, "removed"))
		return -ENOENT;
	if (approve && !strcmp(r.b.state, "approved"))
		return -EALREADY;
	rc = approve ? db_binding_approve(gw->db, binding_id, by, gw_now())
		     : db_binding_remove(gw->db, binding_id, by, gw_now());
	if (rc < 0)
		return rc;
	LOGP(DRT, LOGL_NOTICE, "binding #%" PRId64 " of %s to watch %s %s by %s\n", binding_id, r.b.number,
	     r.b.device_number, approve ? "approved" : "removed", by);
	return tell_contact(gw, &r.b, approve ? BOUND_TEXT : UNBOUND_TEXT);
}

int sos_binding_approve(struct gw *gw, int64_t binding_id, const char *by)
{
	return binding_act(gw, binding_id, by, true);
}

int sos_binding_remove(struct gw *gw, int64_t binding_id, const char *by)
{
	return binding_act(gw, binding_id, by, false);
}
