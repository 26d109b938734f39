/* Inside the SOS feature only (gateway/sos/sos.c, sos_bind.c, sos_notice.c, sos_text.c): what
 * its files share. Everything runs on the main thread, inside the caller's transaction where
 * sos.h says so. */
#pragma once

#include <stddef.h>

#include "db/db.h"
#include "gateway/sos/alert.h"

struct gw;

/* The end of every alert: how to acknowledge it. */
#define SOS_ACK_HINT "回复1或收到确认"

/* Who wears the watch: the person, or the watch's number when none is recorded. */
static inline const char *person_of(const struct db_device *dev)
{
	return dev->person[0] ? dev->person : dev->number;
}

/* ---- sos.c ---- */

/* The note of what was done with a message (sms_in.note), in one static buffer that the next
 * call overwrites: one message at a time, on the main thread. */
const char *sos_note_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* What to call number in a message to others: "name(number)" when the phone has a name, else
 * the number. */
void sos_who(struct gw *gw, const char *number, char *buf, size_t len);
/* Queue text at prio to number; a number that cannot be texted (-EINVAL, -EILSEQ) is skipped.
 * 0, or -errno on a database error. */
int sos_reply(struct gw *gw, const char *number, const char *text, int prio);

/* ---- sos_notice.c ---- */

/* A low battery or position report of watch dev (not an alarm): a notice to its approved step-1
 * contacts (the map link only to those with location rights), at most one per watch and kind
 * in SOS_T_NOTICE. 0 (*note says what was done), or -errno. */
int sos_notice(struct gw *gw, const struct db_device *dev, const struct alert_info *a, const char **note);

/* ---- sos_bind.c ---- */

/* A binding command (绑定/BD, 解绑/JB, 确认/QR, sos_parse_cmd) from m->sender: answered and the
 * bindings changed. 1 handled (*note says what was done), 0 not a binding command, -errno. */
int sos_bind_cmd(struct gw *gw, const struct db_sms_in *m, const char **note);

/* ---- sos_watch.c ---- */

/* A message (of any kind) from watch dev, inside the caller's transaction: an open supervision
 * of it is closed and those told that it was silent are told it is back. 0 or -errno. */
int sos_watch_seen(struct gw *gw, const struct db_device *dev);
/* The battery a watch's message reports (a): low opens a battery supervision (its grid worker, and
 * unless the message is a low-battery alert that sos_notice tells them, its step-1 contacts told
 * once); good closes it (they are told). 1 when a low-battery alert is not to be told again (note
 * set), 0 otherwise, -errno. Inside the caller's transaction. */
struct alert_info;
int sos_watch_battery(struct gw *gw, const struct db_device *dev, const struct alert_info *a, const char **note);
/* Due work: watches silent for watch-silent-hours become open supervisions (their contacts and
 * grid worker told once). Checks once a minute. */
time_t sos_watch_due(struct gw *gw, time_t now, void *data);

/* ---- sos_locate.c ---- */

/* 定位 / DW [watch] from number: an approved contact of the watch gets its position on demand;
 * anyone else the same refusal whether or not the number is a watch. 0 (*note) or -errno. */
int sos_locate(struct gw *gw, const char *number, const char *watch, const char **note);
/* A report of watch dev with a position while contacts wait for one: it goes to them only.
 * 1 handled (*note), 0 nobody waits, -errno. */
int sos_locate_answer(struct gw *gw, const struct db_device *dev, const struct alert_info *a, const char **note);
