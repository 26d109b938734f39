/* The SOS part of the community database: watches, bindings, incidents and their attempts, and
 * the state machine of an incident (sos_incident.state, CHECK-constrained by
 * db/upgrade/007_states.sql; every change goes through db_sos_transition_ok). */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <talloc.h>
#include <osmocom/core/logging.h>
#include <osmocom/core/utils.h>

#include "db/db_priv.h"

#define DEVICE_COLS                                                                                                    \
	"d.id, d.number, coalesce(d.imei, ''), d.person, coalesce(d.dialect, 'generic'),"                              \
	" coalesce(d.household_id, 0), coalesce(h.code, ''),"                                                          \
	" coalesce(h.building || h.unit || h.room, ''), coalesce(p.number, ''), coalesce(d.programmed_at, 0)"
#define DEVICE_FROM                                                                                                    \
	" FROM device d LEFT JOIN household h ON h.id = d.household_id"                                                \
	" LEFT JOIN phone p ON p.id = h.primary_phone_id "

#define BINDING_SELECT                                                                                                 \
	"SELECT b.id, b.device_id, b.phone_id, p.number, b.step, b.state, coalesce(b.code, ''),"                       \
	" coalesce(b.unbind_code, ''), d.number FROM binding b JOIN phone p ON p.id = b.phone_id"                      \
	" JOIN device d ON d.id = b.device_id "

/* BINDING_SELECT's columns, then the contact's name and the binding's times */
#define BINDING_SELECT_ROW                                                                                             \
	"SELECT b.id, b.device_id, b.phone_id, p.number, b.step, b.state, coalesce(b.code, ''),"                       \
	" coalesce(b.unbind_code, ''), d.number, p.name, b.created, coalesce(b.approved_at, 0),"                       \
	" coalesce(b.approved_by, '') FROM binding b JOIN phone p ON p.id = b.phone_id"                                \
	" JOIN device d ON d.id = b.device_id "

#define INC_COLS                                                                                                       \
	"i.id, i.device_id, i.state, i.step, i.round, i.created, coalesce(i.next_at, 0),"                              \
	" coalesce(i.first_alert_at, 0), coalesce(i.first_sent_at, 0), coalesce(i.acked_at, 0),"                       \
	" coalesce(i.resolved_at, 0), coalesce(i.last_alarm_at, 0), coalesce(i.acked_by, ''),"                         \
	" i.lat IS NOT NULL AND i.lon IS NOT NULL, coalesce(i.lat, 0), coalesce(i.lon, 0), i.kind, i.battery, i.fix,"  \
	" i.alarms, i.raw"

/* INC_COLS, then the watch, its wearer, household and address, and the alerts a modem took */
#define INC_ROW_SELECT                                                                                                 \
	"SELECT " INC_COLS ", d.number, d.person, coalesce(h.code, ''),"                                               \
	" coalesce(h.building || h.unit || h.room, ''), (SELECT count(*) FROM sos_attempt a JOIN sms_out o"            \
	" ON o.id = a.sms_out_id WHERE a.incident_id = i.id AND a.kind IN ('alert', 'resend')"                         \
	" AND o.sent_at IS NOT NULL) FROM sos_incident i JOIN device d ON d.id = i.device_id"                          \
	" LEFT JOIN household h ON h.id = d.household_id "
#define INC_NOT_CLOSED_SQL "i.state IN ('raised', 'notifying', 'acknowledged')"

/* the cumulative bucket counts of a duration d for db_sos_hist_le */
#define HIST_COLS                                                                                                      \
	"count(*), coalesce(sum(d), 0), coalesce(sum(d <= 1), 0), coalesce(sum(d <= 2), 0), coalesce(sum(d <= 5), 0)," \
	" coalesce(sum(d <= 10), 0), coalesce(sum(d <= 30), 0), coalesce(sum(d <= 60), 0),"                            \
	" coalesce(sum(d <= 120), 0), coalesce(sum(d <= 300), 0), coalesce(sum(d <= 600), 0),"                         \
	" coalesce(sum(d <= 1800), 0)"

#define INC_LINE_COLS                                                                                                  \
	"SELECT i.id, datetime(i.created, 'unixepoch', 'localtime'), d.number, d.person,"                              \
	" i.state, i.step, i.round, i.kind, i.alarms, i.first_sent_at - i.created,"                                    \
	" i.acked_at - i.created, coalesce(i.acked_by, '')"                                                            \
	" FROM sos_incident i JOIN device d ON d.id = i.device_id "

#define INC_OPEN_SQL "state IN ('raised', 'notifying')"

static const struct db_stmt_def stmts[] = {
	DB_SQL(DEVICE_ADD, "INSERT INTO device (number, imei, household_id, person, dialect, created)"
			   " VALUES (:number, :imei, :hh, :person, :dialect, strftime('%s', 'now'))"),
	DB_SQL(DEVICE_BY_NUMBER, "SELECT " DEVICE_COLS DEVICE_FROM "WHERE d.number = :number"),
	DB_SQL(DEVICE_BY_ID, "SELECT " DEVICE_COLS DEVICE_FROM "WHERE d.id = :id"),
	DB_SQL(DEVICE_LIST, "SELECT " DEVICE_COLS ","
			    " (SELECT count(*) FROM binding b WHERE b.device_id = d.id AND b.state = 'approved'),"
			    " (SELECT count(*) FROM binding b WHERE b.device_id = d.id AND b.state = 'pending'),"
			    " replace(coalesce(d.program_reply, ''), char(10), ' ')" DEVICE_FROM "ORDER BY d.id"),
	DB_SQL(DEVICE_PROGRAMMED, "UPDATE device SET programmed_at = :at, program_reply = NULL WHERE id = :id"),
	DB_SQL(DEVICE_PROGRAM_REPLY, "UPDATE device SET program_reply = :reply WHERE id = :id"),
	DB_SQL(PHONE_ID, "SELECT id FROM phone WHERE number = :number"),
	DB_SQL(PHONE_ADD_BARE, "INSERT INTO phone (number, created) VALUES (:number, strftime('%s', 'now'))"),
	DB_SQL(BINDING_PUT,
	       "INSERT INTO binding (device_id, phone_id, step, state, code, code_at, created, approved_at,"
	       " approved_by) VALUES (:dev, :phone, :step, :state, :code, CASE WHEN :code IS NULL THEN NULL"
	       " ELSE CAST(:now AS INTEGER) END, :now, :approved_at, :by)"
	       " ON CONFLICT (device_id, phone_id) DO UPDATE SET step = excluded.step, state = excluded.state,"
	       " code = excluded.code, code_at = excluded.code_at, approved_at = excluded.approved_at,"
	       " approved_by = excluded.approved_by, unbind_code = NULL, unbind_code_at = NULL, unbind_by = NULL"
	       " RETURNING id"),
	DB_SQL(BINDING_GET, BINDING_SELECT "WHERE b.device_id = :dev AND p.number = :number"),
	DB_SQL(BINDING_BY_CODE,
	       BINDING_SELECT "JOIN household h ON h.id = d.household_id JOIN phone pp ON pp.id = h.primary_phone_id"
			      " WHERE pp.number = :primary AND b.state != 'removed'"
			      " AND ((b.state = 'pending' AND b.code = :code AND b.code_at >= :since)"
			      " OR (b.unbind_code = :code AND b.unbind_code_at >= :since))"
			      " ORDER BY b.id DESC LIMIT 1"),
	DB_SQL(BINDING_APPROVE, "UPDATE binding SET state = 'approved', code = NULL, approved_at = :now,"
				" approved_by = :by WHERE id = :id AND state != 'removed'"),
	DB_SQL(BINDING_REMOVE, "UPDATE binding SET state = 'removed', code = NULL, unbind_code = NULL,"
			       " unbind_by = :by, approved_at = coalesce(approved_at, :now) WHERE id = :id"),
	DB_SQL(BINDING_SET_UNBIND, "UPDATE binding SET unbind_code = :code, unbind_code_at = :now, unbind_by = :by"
				   " WHERE id = :id"),
	DB_SQL(BINDING_LIST, "SELECT b.id, b.device_id, b.phone_id, p.number, b.step, b.state,"
			     " coalesce(b.code, ''), coalesce(b.unbind_code, ''), d.number, p.name,"
			     " b.approved_by, datetime(b.approved_at, 'unixepoch', 'localtime')"
			     " FROM binding b JOIN phone p ON p.id = b.phone_id JOIN device d ON d.id = b.device_id"
			     " WHERE :dev IS NULL OR d.number = :dev ORDER BY d.id, b.step, b.id"),
	/* the rungs: contacts as (phone id, number, name, located) */
	DB_SQL(CONTACTS_BINDING, "SELECT p.id, p.number, p.name, 1 FROM binding b JOIN phone p ON p.id = b.phone_id"
				 " JOIN device d ON d.id = b.device_id WHERE b.device_id = :dev"
				 " AND b.state = 'approved' AND b.step = :step AND p.number != d.number ORDER BY b.id"),
	DB_SQL(CONTACTS_GRID, "SELECT p.id, p.number, p.name, 0 FROM device d JOIN household h ON h.id = d.household_id"
			      " JOIN grp g ON g.id = h.grp_id JOIN grid r ON r.id = g.grid_id"
			      " JOIN phone p ON p.id = r.worker_phone_id"
			      " WHERE d.id = :dev AND p.state = 'active' AND p.number != d.number"),
	DB_SQL(CONTACTS_STAFF, "SELECT p.id, p.number, p.name, 0 FROM phone p, device d WHERE d.id = :dev"
			       " AND p.role = 'staff' AND p.state = 'active' AND p.number != d.number ORDER BY p.id"),
	DB_SQL(CONTACTS_NEIGHBOURS,
	       "SELECT p.id, p.number, p.name, 0 FROM device d JOIN household h ON h.id = d.household_id"
	       " JOIN household o ON o.grp_id = h.grp_id AND o.id != h.id JOIN phone p ON p.id = o.primary_phone_id"
	       " WHERE d.id = :dev AND p.state = 'active' AND p.number != d.number ORDER BY o.id"),
	DB_SQL(NEXT_BINDING_STEP, "SELECT min(step) FROM binding WHERE device_id = :dev AND state = 'approved'"
				  " AND step > :after AND step < :grid"),
	DB_SQL(INC_ADD, "INSERT INTO sos_incident (device_id, state, step, round, created, next_at,"
			" first_alert_at, last_alarm_at, lat, lon, kind, battery, fix, alarms, raw)"
			" VALUES (:dev, :state, :step, :round, :created, :next_at, :first_alert_at,"
			" :last_alarm_at, :lat, :lon, :kind, :battery, :fix, :alarms, :raw)"),
	DB_SQL(INC_UPDATE, "UPDATE sos_incident SET state = :state, step = :step, round = :round,"
			   " next_at = :next_at, first_alert_at = :first_alert_at, acked_at = :acked_at,"
			   " acked_by = :acked_by, resolved_at = :resolved_at, lat = :lat, lon = :lon,"
			   " alarms = :alarms, last_alarm_at = :last_alarm_at, battery = :battery WHERE id = :id"),
	DB_SQL(INC_STATE, "SELECT state FROM sos_incident WHERE id = :id"),
	DB_SQL(INC_GET, "SELECT " INC_COLS " FROM sos_incident i WHERE i.id = :id"),
	DB_SQL(INC_OPEN, "SELECT " INC_COLS " FROM sos_incident i WHERE device_id = :dev"
			 " AND (" INC_OPEN_SQL " OR (state = 'acknowledged' AND acked_at >= :since))"
			 " ORDER BY id DESC LIMIT 1"),
	DB_SQL(INC_DUE, "SELECT id FROM sos_incident WHERE next_at IS NOT NULL AND next_at <= :now"
			" AND " INC_OPEN_SQL " ORDER BY next_at, id"),
	DB_SQL(ACK_CANDIDATES,
	       "SELECT i.id FROM sos_incident i WHERE (i.state IN ('raised', 'notifying') OR"
	       " (i.state = 'acknowledged' AND i.acked_at >= :since)) AND ("
	       " EXISTS (SELECT 1 FROM binding b JOIN phone p ON p.id = b.phone_id"
	       "  WHERE b.device_id = i.device_id AND b.state = 'approved' AND p.number = :number)"
	       " OR EXISTS (SELECT 1 FROM sos_attempt a WHERE a.incident_id = i.id AND a.number = :number"
	       "  AND a.kind IN ('alert', 'resend'))) ORDER BY i.id"),
	DB_SQL(INC_OPEN_COUNT, "SELECT count(*) FROM sos_incident WHERE " INC_OPEN_SQL),
	DB_SQL(INC_FILL_FIRST_SENT, "UPDATE sos_incident SET first_sent_at = (SELECT min(o.sent_at) FROM sos_attempt a"
				    " JOIN sms_out o ON o.id = a.sms_out_id WHERE a.incident_id = sos_incident.id"
				    " AND a.kind IN ('alert', 'resend') AND o.sent_at IS NOT NULL)"
				    " WHERE first_sent_at IS NULL AND first_alert_at IS NOT NULL AND EXISTS (SELECT 1"
				    " FROM sos_attempt a JOIN sms_out o ON o.id = a.sms_out_id WHERE a.incident_id ="
				    " sos_incident.id AND a.kind IN ('alert', 'resend') AND o.sent_at IS NOT NULL)"),
	DB_SQL(INC_LIST, INC_LINE_COLS "ORDER BY i.id DESC LIMIT :limit"),
	DB_SQL(INC_SHOW, INC_LINE_COLS "WHERE i.id = :id"),
	DB_SQL(INC_SHOW_DETAIL,
	       "SELECT 1, printf('position %s, battery %s, fix %s, next step %s', coalesce(printf('%.6f,%.6f', lat,"
	       " lon), 'none'), coalesce(nullif(battery, ''), '-'), coalesce(nullif(fix, ''), '-'),"
	       " coalesce(datetime(next_at, 'unixepoch', 'localtime'), '-')) FROM sos_incident WHERE id = :id"
	       " UNION ALL SELECT 2, 'raw: ' || coalesce(raw, '') FROM sos_incident WHERE id = :id ORDER BY 1"),
	DB_SQL(ATTEMPT_LIST,
	       "SELECT a.id, datetime(a.at, 'unixepoch', 'localtime'), a.step, a.kind, a.number,"
	       " coalesce(a.sms_out_id, 0), coalesce(o.state, '-'), coalesce(o.delivery, '-'), a.location,"
	       " coalesce(a.result, '') FROM sos_attempt a LEFT JOIN sms_out o ON o.id = a.sms_out_id"
	       " WHERE a.incident_id = :id ORDER BY a.id"),
	DB_SQL(ATTEMPT_ADD, "INSERT INTO sos_attempt (incident_id, phone_id, number, step, channel, sms_out_id,"
			    " at, kind, location) VALUES (:inc, :phone, :number, :step, :channel, :out, :at, :kind,"
			    " :loc)"),
	DB_SQL(CALLS_PENDING, "SELECT a.id, a.incident_id, coalesce(a.phone_id, 0), a.number, d.number,"
			      " coalesce(h.building, ''), coalesce(h.unit, ''), i.state IN ('raised', 'notifying')"
			      " FROM sos_attempt a JOIN sos_incident i ON i.id = a.incident_id"
			      " JOIN device d ON d.id = i.device_id LEFT JOIN household h ON h.id = d.household_id"
			      " WHERE a.channel = 'call' AND a.result IS NULL ORDER BY a.id LIMIT 16"),
	DB_SQL(CALLS_LOST, "UPDATE sos_attempt SET result = 'call lost: linlid restarted during it'"
			   " WHERE channel = 'call' AND result = 'calling'"),
	DB_SQL(ALERTED, "SELECT coalesce(max(a.phone_id), 0), a.number, coalesce(max(p.name), ''),"
			" max(a.location) FROM sos_attempt a LEFT JOIN phone p ON p.id = a.phone_id"
			" WHERE a.incident_id = :inc AND a.kind IN ('alert', 'resend')"
			" GROUP BY a.number ORDER BY min(a.id)"),
	DB_SQL(FAILED_ALERTS, "SELECT a.id, a.incident_id, coalesce(a.phone_id, 0), a.sms_out_id, a.number, a.step,"
			      " a.location, o.text, coalesce(o.modem, o.last_modem, '')"
			      " FROM sos_attempt a JOIN sms_out o ON o.id = a.sms_out_id"
			      " JOIN sos_incident i ON i.id = a.incident_id"
			      " WHERE i.state IN ('raised', 'notifying') AND a.kind IN ('alert', 'resend', 'update')"
			      " AND a.result IS NULL AND (o.state = 'failed' OR o.delivery = 'failed')"
			      " AND (SELECT count(*) FROM sos_attempt r WHERE r.incident_id = a.incident_id"
			      "  AND r.number = a.number AND r.kind = 'resend') < :max"
			      " ORDER BY a.id LIMIT 16"),
	DB_SQL(ATTEMPT_RESULT, "UPDATE sos_attempt SET result = :result WHERE id = :id"),
	DB_SQL(NOTICE_ALLOWED, "INSERT INTO device_notice (device_id, kind, last_at) VALUES (:dev, :kind, :now)"
			       " ON CONFLICT (device_id, kind) DO UPDATE SET last_at = excluded.last_at"
			       " WHERE device_notice.last_at <= :now - :interval OR device_notice.last_at > :now"),
	/* the staff console */
	DB_SQL(INC_ROWS_OPEN,
	       INC_ROW_SELECT "WHERE " INC_NOT_CLOSED_SQL " ORDER BY i.id DESC LIMIT :limit OFFSET :offset"),
	DB_SQL(INC_ROWS_ALL,
	       INC_ROW_SELECT "ORDER BY " INC_NOT_CLOSED_SQL " DESC, i.id DESC LIMIT :limit OFFSET :offset"),
	DB_SQL(INC_ROWS_COUNT, "SELECT count(*) FROM sos_incident i WHERE :open = 0 OR " INC_NOT_CLOSED_SQL),
	DB_SQL(INC_ROW, INC_ROW_SELECT "WHERE i.id = :id"),
	DB_SQL(ATTEMPT_ROWS,
	       "SELECT a.id, a.step, a.kind, a.channel, a.number, coalesce(p.name, ''),"
	       " CASE WHEN a.channel != 'sms' THEN coalesce(a.result, 'pending') WHEN o.id IS NULL THEN 'failed'"
	       " WHEN o.delivery = 'delivered' THEN 'delivered' WHEN o.delivery = 'failed' THEN 'failed'"
	       " ELSE o.state END, a.location, coalesce(o.created, a.at), coalesce(o.sent_at, 0),"
	       " coalesce(o.delivered_at, 0), CASE WHEN a.channel != 'sms' THEN '' WHEN o.id IS NULL"
	       " THEN 'not queued' WHEN o.delivery = 'failed' THEN 'delivery failed (status '"
	       " || coalesce(CAST(o.report_status AS TEXT), '-') || ')' ELSE coalesce(o.error, '') END"
	       " FROM sos_attempt a LEFT JOIN sms_out o ON o.id = a.sms_out_id LEFT JOIN phone p ON p.id = a.phone_id"
	       " WHERE a.incident_id = :id ORDER BY a.id"),
	DB_SQL(EVENT_ADD, "INSERT INTO sos_event (incident_id, at, actor, from_state, to_state, note)"
			  " VALUES (:inc, :at, :actor, :from, :to, :note)"),
	DB_SQL(EVENT_ROWS, "SELECT at, actor, coalesce(from_state, ''), to_state, coalesce(note, '') FROM sos_event"
			   " WHERE incident_id = :id ORDER BY id"),
	DB_SQL(ALARM_ROWS, "SELECT m.recv_ts, m.channel, m.text FROM sos_incident i JOIN device d ON d.id = i.device_id"
			   " JOIN sms_in m ON m.sender = d.number AND m.recv_ts >= i.created"
			   " AND m.recv_ts <= coalesce(i.resolved_at, m.recv_ts) WHERE i.id = :id"
			   " ORDER BY m.recv_ts, m.id LIMIT 100"),
	DB_SQL(DEVICE_ROWS, "SELECT " DEVICE_COLS ", coalesce((SELECT max(m.recv_ts) FROM sms_in m"
			    " WHERE m.sender = d.number), 0), coalesce((SELECT i.battery FROM sos_incident i"
			    " WHERE i.device_id = d.id AND i.battery != '' ORDER BY i.id DESC LIMIT 1), '')" DEVICE_FROM
			    "ORDER BY d.id"),
	DB_SQL(BINDING_ROWS,
	       BINDING_SELECT_ROW "WHERE b.state != 'removed' AND (:dev IS NULL OR b.device_id = :dev)"
				  " AND (:pending = 0 OR b.state = 'pending') ORDER BY d.id, b.step, b.id"),
	DB_SQL(BINDING_BY_ID, BINDING_SELECT_ROW "WHERE b.id = :id"),
	DB_SQL(INC_STATE_COUNTS, "SELECT state, count(*) FROM sos_incident GROUP BY state ORDER BY state"),
	DB_SQL(HIST_FIRST_ALERT, "SELECT " HIST_COLS " FROM (SELECT first_sent_at - created AS d FROM sos_incident"
				 " WHERE created >= :since AND first_sent_at IS NOT NULL)"),
	DB_SQL(HIST_ACK, "SELECT " HIST_COLS " FROM (SELECT acked_at - created AS d FROM sos_incident"
			 " WHERE created >= :since AND acked_at IS NOT NULL)"),
};
DB_STMT_TABLE(db_stmts_sos, stmts);

const int db_sos_hist_le[DB_SOS_HIST_NB] = {1, 2, 5, 10, 30, 60, 120, 300, 600, 1800};

/* ---- the incident's state machine ---- */

/* Every change of sos_incident.state the gateway makes (gateway/sos.c: escalation and
 * acknowledgement; linlictl incident resolve / false-alarm). resolved and false_alarm are final. */
static const struct {
	const char *from, *to;
} sos_transitions[] = {
	/* escalation: the first rung alerted */
	{"raised", "notifying"},
	/* acknowledged: a contact replied, pressed 1 or answered (also before any alert went out) */
	{"raised", "acknowledged"},
	{"notifying", "acknowledged"},
	/* staff closed it (linlictl incident resolve / false-alarm) */
	{"raised", "resolved"},
	{"notifying", "resolved"},
	{"acknowledged", "resolved"},
	{"raised", "false_alarm"},
	{"notifying", "false_alarm"},
	{"acknowledged", "false_alarm"},
};

bool db_sos_transition_ok(const char *from, const char *to)
{
	if (!strcmp(from, to))
		return true;
	for (unsigned i = 0; i < ARRAY_SIZE(sos_transitions); i++)
		if (!strcmp(from, sos_transitions[i].from) && !strcmp(to, sos_transitions[i].to))
			return true;
	return false;
}

/* ---- watches ---- */

int db_device_add(struct db_context *dbc, const char *number, const char *imei, const char *household_code,
		  const char *person, const char *dialect, int64_t *id_out)
{
	struct db_q *q;
	int64_t hh = 0;
	int rc;

	if (household_code && *household_code) {
		q = db_q(dbc, DB_STMT_HOUSEHOLD_GET);
		db_bind_text(q, ":code", household_code);
		rc = db_int64(q, &hh);
		if (rc < 0)
			return rc;
	}
	q = db_q(dbc, DB_STMT_DEVICE_ADD);
	db_bind_text(q, ":number", number);
	db_bind_text(q, ":imei", imei && *imei ? imei : NULL);
	db_bind_id(q, ":hh", hh);
	db_bind_text(q, ":person", person ? person : "");
	db_bind_text(q, ":dialect", dialect ? dialect : "generic");
	rc = db_exec(q);
	if (rc == 0 && id_out)
		*id_out = db_last_id(dbc);
	return rc;
}

static void device_row(void *data, struct db_row *st)
{
	struct db_device *out = data;

	memset(out, 0, sizeof(*out));
	out->id = db_col_int64(st, 0);
	db_col_copy(st, 1, out->number, sizeof(out->number));
	db_col_copy(st, 2, out->imei, sizeof(out->imei));
	db_col_copy(st, 3, out->person, sizeof(out->person));
	db_col_copy(st, 4, out->dialect, sizeof(out->dialect));
	out->household_id = db_col_int64(st, 5);
	db_col_copy(st, 6, out->household, sizeof(out->household));
	db_col_copy(st, 7, out->address, sizeof(out->address));
	db_col_copy(st, 8, out->primary_number, sizeof(out->primary_number));
	out->programmed_at = db_col_int64(st, 9);
}

int db_device_get(struct db_context *dbc, const char *number, int64_t id, struct db_device *out)
{
	struct db_q *q;

	if (number) {
		q = db_q(dbc, DB_STMT_DEVICE_BY_NUMBER);
		db_bind_text(q, ":number", number);
	} else {
		q = db_q(dbc, DB_STMT_DEVICE_BY_ID);
		db_bind_int(q, ":id", id);
	}
	return db_row(q, device_row, out);
}

static char *fmt_device(void *ctx, struct db_row *st)
{
	struct db_device d;

	device_row(&d, st);
	/* #3 +8613912345678 setracker 邹丽 1-1-101 1幢1单元101 imei=... bindings=2/3 */
	return talloc_asprintf(ctx, "#%" PRId64 " %s %s %s %s %s%s%s approved=%d pending=%d%s%s%s%s", d.id, d.number,
			       d.dialect, d.person[0] ? d.person : "-", d.household[0] ? d.household : "-",
			       d.address[0] ? d.address : "-", d.imei[0] ? " imei=" : "", d.imei, db_col_int(st, 10),
			       db_col_int(st, 11), d.programmed_at ? " programmed" : "",
			       *db_col_text(st, 12) ? " (watch answered: " : "", db_col_text(st, 12),
			       *db_col_text(st, 12) ? ")" : "");
}

int db_device_list(struct db_context *dbc, void (*cb)(void *data, const char *line), void *data)
{
	return db_lines(db_q(dbc, DB_STMT_DEVICE_LIST), fmt_device, cb, data);
}

int db_device_programmed(struct db_context *dbc, int64_t device_id, int64_t at, const char *reply)
{
	struct db_q *q;

	if (reply) {
		q = db_q(dbc, DB_STMT_DEVICE_PROGRAM_REPLY);
		db_bind_text(q, ":reply", reply);
	} else {
		q = db_q(dbc, DB_STMT_DEVICE_PROGRAMMED);
		db_bind_int(q, ":at", at);
	}
	db_bind_int(q, ":id", device_id);
	return db_exec_one(q);
}

/* ---- bindings ---- */

/* The phone id of number, adding a bare phone row for a number the database does not know
 * (a relative living elsewhere). */
static int phone_id_make(struct db_context *dbc, const char *number, int64_t *id)
{
	struct db_q *q = db_q(dbc, DB_STMT_PHONE_ID);
	int rc;

	db_bind_text(q, ":number", number);
	rc = db_int64(q, id);
	if (rc != -ENOENT)
		return rc;
	q = db_q(dbc, DB_STMT_PHONE_ADD_BARE);
	db_bind_text(q, ":number", number);
	rc = db_exec(q);
	if (rc == 0)
		*id = db_last_id(dbc);
	return rc;
}

int db_binding_put(struct db_context *dbc, int64_t device_id, const char *number, int step, bool approve,
		   const char *code, const char *by, int64_t now, int64_t *id_out)
{
	struct db_q *q;
	int64_t phone = 0, id = 0;
	int rc;

	rc = db_sp_begin(dbc);
	if (rc < 0)
		return rc;
	rc = phone_id_make(dbc, number, &phone);
	if (rc < 0)
		goto out;
	q = db_q(dbc, DB_STMT_BINDING_PUT);
	db_bind_int(q, ":dev", device_id);
	db_bind_int(q, ":phone", phone);
	db_bind_int(q, ":step", step < 1 ? 1 : step);
	db_bind_text(q, ":state", approve ? "approved" : "pending");
	db_bind_text(q, ":code", approve ? NULL : code);
	db_bind_int(q, ":now", now);
	db_bind_id(q, ":approved_at", approve ? now : 0);
	db_bind_text(q, ":by", approve ? by : NULL);
	rc = db_int64(q, &id);
	if (rc == 0 && id_out)
		*id_out = id;
out:
	return db_sp_end(dbc, rc);
}

static void binding_row(void *data, struct db_row *st)
{
	struct db_binding *out = data;

	memset(out, 0, sizeof(*out));
	out->id = db_col_int64(st, 0);
	out->device_id = db_col_int64(st, 1);
	out->phone_id = db_col_int64(st, 2);
	db_col_copy(st, 3, out->number, sizeof(out->number));
	out->step = db_col_int(st, 4);
	db_col_copy(st, 5, out->state, sizeof(out->state));
	db_col_copy(st, 6, out->code, sizeof(out->code));
	db_col_copy(st, 7, out->unbind_code, sizeof(out->unbind_code));
	db_col_copy(st, 8, out->device_number, sizeof(out->device_number));
}

int db_binding_get(struct db_context *dbc, int64_t device_id, const char *number, struct db_binding *out)
{
	struct db_q *q = db_q(dbc, DB_STMT_BINDING_GET);

	db_bind_int(q, ":dev", device_id);
	db_bind_text(q, ":number", number);
	return db_row(q, binding_row, out);
}

int db_binding_by_code(struct db_context *dbc, const char *primary_number, const char *code, int64_t since,
		       struct db_binding *out)
{
	struct db_q *q = db_q(dbc, DB_STMT_BINDING_BY_CODE);

	db_bind_text(q, ":primary", primary_number);
	db_bind_text(q, ":code", code);
	db_bind_int(q, ":since", since);
	return db_row(q, binding_row, out);
}

int db_binding_approve(struct db_context *dbc, int64_t binding_id, const char *by, int64_t now)
{
	struct db_q *q = db_q(dbc, DB_STMT_BINDING_APPROVE);

	db_bind_int(q, ":id", binding_id);
	db_bind_int(q, ":now", now);
	db_bind_text(q, ":by", by);
	return db_exec_one(q);
}

int db_binding_remove(struct db_context *dbc, int64_t binding_id, const char *by, int64_t now)
{
	struct db_q *q = db_q(dbc, DB_STMT_BINDING_REMOVE);

	db_bind_int(q, ":id", binding_id);
	db_bind_int(q, ":now", now);
	db_bind_text(q, ":by", by);
	return db_exec_one(q);
}

int db_binding_set_unbind(struct db_context *dbc, int64_t binding_id, const char *code, const char *by, int64_t now)
{
	struct db_q *q = db_q(dbc, DB_STMT_BINDING_SET_UNBIND);

	db_bind_int(q, ":now", now);
	db_bind_int(q, ":id", binding_id);
	db_bind_text(q, ":code", code);
	db_bind_text(q, ":by", by);
	return db_exec_one(q);
}

static char *fmt_binding(void *ctx, struct db_row *st)
{
	struct db_binding b;

	binding_row(&b, st);
	/* #4 watch +86139... -> +86138... step 1 approved (by +86138..., 2026-11-23 10:00) */
	return talloc_asprintf(ctx, "#%" PRId64 " watch %s -> %s %s step %d %s%s%s%s%s%s", b.id, b.device_number,
			       b.number, db_col_text(st, 9), b.step, b.state,
			       b.unbind_code[0] ? " (unbinding asked)" : "", !db_col_null(st, 10) ? " by " : "",
			       db_col_text(st, 10), !db_col_null(st, 11) ? " at " : "", db_col_text(st, 11));
}

int db_binding_list(struct db_context *dbc, const char *device_number, void (*cb)(void *data, const char *line),
		    void *data)
{
	struct db_q *q = db_q(dbc, DB_STMT_BINDING_LIST);

	db_bind_text(q, ":dev", device_number);
	return db_lines(q, fmt_binding, cb, data);
}

/* ---- contacts and rungs ---- */

static void contact_fill(void *elem, void *ctx, struct db_row *st)
{
	struct db_sos_contact *c = elem;

	(void)ctx;
	c->phone_id = db_col_int64(st, 0);
	db_col_copy(st, 1, c->number, sizeof(c->number));
	db_col_copy(st, 2, c->name, sizeof(c->name));
	c->located = db_col_int(st, 3);
}

/* Rows (phone id, number, name, located) as contacts: all read first, then cb for each (cb may
 * run other statements). The count or -errno. */
static int contacts(struct db_context *dbc, struct db_q *q, void (*cb)(void *data, const struct db_sos_contact *c),
		    void *data)
{
	void *tmp = talloc_new(dbc);
	struct db_sos_contact *v;
	int n = db_collect(q, tmp, sizeof(*v), contact_fill, (void **)&v);

	for (int i = 0; cb && i < n; i++)
		cb(data, &v[i]);
	talloc_free(tmp);
	return n;
}

int db_sos_contacts(struct db_context *dbc, int64_t device_id, int rung,
		    void (*cb)(void *data, const struct db_sos_contact *c), void *data)
{
	struct db_q *q;

	switch (rung) {
	case DB_SOS_RUNG_GRID:
		q = db_q(dbc, DB_STMT_CONTACTS_GRID);
		break;
	case DB_SOS_RUNG_STAFF:
		q = db_q(dbc, DB_STMT_CONTACTS_STAFF);
		break;
	case DB_SOS_RUNG_NEIGHBOURS:
		q = db_q(dbc, DB_STMT_CONTACTS_NEIGHBOURS);
		break;
	default:
		q = db_q(dbc, DB_STMT_CONTACTS_BINDING);
		db_bind_int(q, ":step", rung);
		break;
	}
	db_bind_int(q, ":dev", device_id);
	return contacts(dbc, q, cb, data);
}

static void min_step_row(void *data, struct db_row *st)
{
	*(int *)data = db_col_null(st, 0) ? 0 : db_col_int(st, 0);
}

int db_sos_next_rung(struct db_context *dbc, int64_t device_id, int after)
{
	static const int fixed[] = {DB_SOS_RUNG_GRID, DB_SOS_RUNG_STAFF, DB_SOS_RUNG_NEIGHBOURS};
	struct db_q *q;
	int rc;

	if (after < DB_SOS_RUNG_GRID - 1) {
		int step = 0;

		q = db_q(dbc, DB_STMT_NEXT_BINDING_STEP);
		db_bind_int(q, ":dev", device_id);
		db_bind_int(q, ":after", after);
		db_bind_int(q, ":grid", DB_SOS_RUNG_GRID);
		rc = db_row(q, min_step_row, &step);
		if (rc < 0)
			return rc;
		if (step > 0) {
			/* an approved binding whose phone is the watch itself would be skipped: check */
			rc = db_sos_contacts(dbc, device_id, step, NULL, NULL);
			if (rc < 0)
				return rc;
			return rc > 0 ? step : db_sos_next_rung(dbc, device_id, step);
		}
	}
	for (unsigned i = 0; i < ARRAY_SIZE(fixed); i++) {
		if (fixed[i] <= after)
			continue;
		rc = db_sos_contacts(dbc, device_id, fixed[i], NULL, NULL);
		if (rc < 0)
			return rc;
		if (rc > 0)
			return fixed[i];
	}
	return -ENOENT;
}

/* ---- incidents ---- */

struct inc_row {
	void *ctx;
	struct db_sos_incident *out;
};

static void inc_row(void *data, struct db_row *st)
{
	struct inc_row *r = data;
	struct db_sos_incident *o = r->out;

	memset(o, 0, sizeof(*o));
	o->id = db_col_int64(st, 0);
	o->device_id = db_col_int64(st, 1);
	db_col_copy(st, 2, o->state, sizeof(o->state));
	o->step = db_col_int(st, 3);
	o->round = db_col_int(st, 4);
	o->created = db_col_int64(st, 5);
	o->next_at = db_col_int64(st, 6);
	o->first_alert_at = db_col_int64(st, 7);
	o->first_sent_at = db_col_int64(st, 8);
	o->acked_at = db_col_int64(st, 9);
	o->resolved_at = db_col_int64(st, 10);
	o->last_alarm_at = db_col_int64(st, 11);
	db_col_copy(st, 12, o->acked_by, sizeof(o->acked_by));
	o->has_pos = db_col_int(st, 13);
	o->lat = db_col_double(st, 14);
	o->lon = db_col_double(st, 15);
	db_col_copy(st, 16, o->kind, sizeof(o->kind));
	db_col_copy(st, 17, o->battery, sizeof(o->battery));
	db_col_copy(st, 18, o->fix, sizeof(o->fix));
	o->alarms = db_col_int(st, 19);
	o->raw = db_col_dup(r->ctx, st, 20);
}

/* The fields both INC_ADD and INC_UPDATE write; times 0 are stored as NULL. */
static void inc_bind_common(struct db_q *q, const struct db_sos_incident *inc)
{
	db_bind_text(q, ":state", inc->state);
	db_bind_int(q, ":step", inc->step);
	db_bind_int(q, ":round", inc->round);
	db_bind_id(q, ":next_at", inc->next_at);
	db_bind_id(q, ":first_alert_at", inc->first_alert_at);
	db_bind_id(q, ":last_alarm_at", inc->last_alarm_at);
	if (inc->has_pos) {
		db_bind_double(q, ":lat", inc->lat);
		db_bind_double(q, ":lon", inc->lon);
	} else {
		db_bind_null(q, ":lat");
		db_bind_null(q, ":lon");
	}
	db_bind_text(q, ":battery", inc->battery);
	db_bind_int(q, ":alarms", inc->alarms ? inc->alarms : 1);
}

int db_sos_incident_add(struct db_context *dbc, struct db_sos_incident *inc)
{
	struct db_q *q = db_q(dbc, DB_STMT_INC_ADD);
	int rc;

	/* a new incident may start in any state the schema knows: the machine governs changes */
	inc_bind_common(q, inc);
	db_bind_int(q, ":dev", inc->device_id);
	db_bind_int(q, ":created", inc->created);
	db_bind_text(q, ":kind", inc->kind[0] ? inc->kind : "sos");
	db_bind_text(q, ":fix", inc->fix);
	db_bind_text(q, ":raw", inc->raw);
	rc = db_exec(q);
	if (rc == 0)
		inc->id = db_last_id(dbc);
	return rc;
}

struct state_buf {
	char s[16];
};

static void state_row(void *data, struct db_row *st)
{
	struct state_buf *b = data;

	db_col_copy(st, 0, b->s, sizeof(b->s));
}

int db_sos_incident_update(struct db_context *dbc, const struct db_sos_incident *inc)
{
	struct state_buf from;
	struct db_q *q = db_q(dbc, DB_STMT_INC_STATE);
	int rc;

	db_bind_int(q, ":id", inc->id);
	rc = db_row(q, state_row, &from);
	if (rc < 0)
		return rc;
	if (!db_sos_transition_ok(from.s, inc->state)) {
		LOGDB(LOGL_ERROR, "db: SOS incident %" PRId64 ": %s -> %s is no transition of the incident\n", inc->id,
		      from.s, inc->state);
		return -EPERM;
	}
	q = db_q(dbc, DB_STMT_INC_UPDATE);
	inc_bind_common(q, inc);
	db_bind_int(q, ":id", inc->id);
	db_bind_id(q, ":acked_at", inc->acked_at);
	db_bind_text(q, ":acked_by", inc->acked_by[0] ? inc->acked_by : NULL);
	db_bind_id(q, ":resolved_at", inc->resolved_at);
	return db_exec_one(q);
}

int db_sos_incident_get(struct db_context *dbc, void *ctx, int64_t id, struct db_sos_incident *out)
{
	struct db_q *q = db_q(dbc, DB_STMT_INC_GET);
	struct inc_row r = {ctx, out};

	db_bind_int(q, ":id", id);
	return db_row(q, inc_row, &r);
}

int db_sos_incident_open(struct db_context *dbc, void *ctx, int64_t device_id, int64_t acked_since,
			 struct db_sos_incident *out)
{
	struct db_q *q = db_q(dbc, DB_STMT_INC_OPEN);
	struct inc_row r = {ctx, out};

	db_bind_int(q, ":dev", device_id);
	db_bind_int(q, ":since", acked_since);
	return db_row(q, inc_row, &r);
}

int db_sos_incident_due(struct db_context *dbc, void *ctx, int64_t now, int64_t **ids)
{
	struct db_q *q = db_q(dbc, DB_STMT_INC_DUE);

	db_bind_int(q, ":now", now);
	return db_collect_ids(q, ctx, ids);
}

int db_sos_ack_candidates(struct db_context *dbc, void *ctx, const char *number, int64_t acked_since, int64_t **ids)
{
	struct db_q *q = db_q(dbc, DB_STMT_ACK_CANDIDATES);

	db_bind_text(q, ":number", number);
	db_bind_int(q, ":since", acked_since);
	return db_collect_ids(q, ctx, ids);
}

int db_sos_open_count(struct db_context *dbc)
{
	int64_t n;
	int rc = db_int64(db_q(dbc, DB_STMT_INC_OPEN_COUNT), &n);

	return rc < 0 ? rc : (int)n;
}

int db_sos_fill_first_sent(struct db_context *dbc)
{
	int rc = db_exec(db_q(dbc, DB_STMT_INC_FILL_FIRST_SENT));

	return rc < 0 ? rc : db_changes(dbc);
}

static char *fmt_incident(void *ctx, struct db_row *st)
{
	/* #5 2026-11-23 10:32:00 watch +86139... 邹丽 notifying step 1 round 1 sos alarms=2 first-alert=3s ack=- */
	char ttfa[24] = "-", tta[24] = "-";

	if (!db_col_null(st, 9))
		snprintf(ttfa, sizeof(ttfa), "%llds", (long long)db_col_int64(st, 9));
	if (!db_col_null(st, 10))
		snprintf(tta, sizeof(tta), "%llds", (long long)db_col_int64(st, 10));
	return talloc_asprintf(ctx,
			       "#%" PRId64 " %s watch %s %s %s step %d round %d %s alarms=%d first-alert=%s ack=%s%s%s",
			       (int64_t)db_col_int64(st, 0), db_col_text(st, 1), db_col_text(st, 2),
			       *db_col_text(st, 3) ? db_col_text(st, 3) : "-", db_col_text(st, 4), db_col_int(st, 5),
			       db_col_int(st, 6), db_col_text(st, 7), db_col_int(st, 8), ttfa, tta,
			       *db_col_text(st, 11) ? " by " : "", db_col_text(st, 11));
}

int db_sos_incident_list(struct db_context *dbc, int limit, void (*cb)(void *data, const char *line), void *data)
{
	struct db_q *q = db_q(dbc, DB_STMT_INC_LIST);

	db_bind_int(q, ":limit", limit);
	return db_lines(q, fmt_incident, cb, data);
}

static char *fmt_detail(void *ctx, struct db_row *st)
{
	return talloc_strdup(ctx, db_col_text(st, 1));
}

static char *fmt_attempt(void *ctx, struct db_row *st)
{
	/*   attempt #9 10:32:01 step 1 alert +86138... sms #12 sent delivery=delivered [location] (result) */
	return talloc_asprintf(ctx, "  attempt #%" PRId64 " %s step %d %s %s sms #%" PRId64 " %s delivery=%s%s%s%s%s",
			       (int64_t)db_col_int64(st, 0), db_col_text(st, 1), db_col_int(st, 2), db_col_text(st, 3),
			       db_col_text(st, 4), (int64_t)db_col_int64(st, 5), db_col_text(st, 6), db_col_text(st, 7),
			       db_col_int(st, 8) ? " [location]" : "", *db_col_text(st, 9) ? " (" : "",
			       db_col_text(st, 9), *db_col_text(st, 9) ? ")" : "");
}

int db_sos_incident_show(struct db_context *dbc, int64_t id, void (*cb)(void *data, const char *line), void *data)
{
	void *tmp = talloc_new(dbc);
	char **lines = NULL;
	unsigned n = 0;
	struct db_q *q;
	int rc, found, attempts;

	q = db_q(dbc, DB_STMT_INC_SHOW);
	db_bind_int(q, ":id", id);
	rc = found = db_lines_add(q, fmt_incident, tmp, &lines, &n);
	if (rc == 0)
		rc = -ENOENT;
	if (rc < 0)
		goto out;
	q = db_q(dbc, DB_STMT_INC_SHOW_DETAIL);
	db_bind_int(q, ":id", id);
	rc = db_lines_add(q, fmt_detail, tmp, &lines, &n);
	if (rc < 0)
		goto out;
	q = db_q(dbc, DB_STMT_ATTEMPT_LIST);
	db_bind_int(q, ":id", id);
	rc = attempts = db_lines_add(q, fmt_attempt, tmp, &lines, &n);
	if (rc < 0)
		goto out;
	for (unsigned i = 0; i < n; i++)
		cb(data, lines[i]);
	/* the incident line and one per attempt */
	rc = found + attempts;
out:
	talloc_free(tmp);
	return rc;
}

/* ---- attempts ---- */

/* One attempt row; phone_id and sms_out_id 0 mean none. */
static int attempt_insert(struct db_context *dbc, int64_t incident_id, int64_t phone_id, const char *number, int step,
			  const char *channel, const char *kind, bool location, int64_t sms_out_id, int64_t at)
{
	struct db_q *q = db_q(dbc, DB_STMT_ATTEMPT_ADD);

	db_bind_int(q, ":inc", incident_id);
	db_bind_id(q, ":phone", phone_id);
	db_bind_text(q, ":number", number);
	db_bind_int(q, ":step", step);
	db_bind_text(q, ":channel", channel);
	db_bind_id(q, ":out", sms_out_id);
	db_bind_int(q, ":at", at);
	db_bind_text(q, ":kind", kind);
	db_bind_int(q, ":loc", location);
	return db_exec(q);
}

int db_sos_attempt_add(struct db_context *dbc, int64_t incident_id, int64_t phone_id, const char *number, int step,
		       const char *kind, bool location, int64_t sms_out_id, int64_t at)
{
	return attempt_insert(dbc, incident_id, phone_id, number, step, "sms", kind, location, sms_out_id, at);
}

int db_sos_call_attempt_add(struct db_context *dbc, int64_t incident_id, int64_t phone_id, const char *number, int step,
			    int64_t at)
{
	return attempt_insert(dbc, incident_id, phone_id, number, step, "call", "call", false, 0, at);
}

static void call_fill(void *elem, void *ctx, struct db_row *st)
{
	struct db_sos_call *c = elem;

	(void)ctx;
	c->attempt_id = db_col_int64(st, 0);
	c->incident_id = db_col_int64(st, 1);
	c->phone_id = db_col_int64(st, 2);
	db_col_copy(st, 3, c->number, sizeof(c->number));
	db_col_copy(st, 4, c->watch, sizeof(c->watch));
	db_col_copy(st, 5, c->building, sizeof(c->building));
	db_col_copy(st, 6, c->unit, sizeof(c->unit));
	c->open = db_col_int(st, 7);
}

int db_sos_calls_pending(struct db_context *dbc, void *ctx, struct db_sos_call **out)
{
	return db_collect(db_q(dbc, DB_STMT_CALLS_PENDING), ctx, sizeof(**out), call_fill, (void **)out);
}

int db_sos_calls_lost(struct db_context *dbc)
{
	return db_exec(db_q(dbc, DB_STMT_CALLS_LOST));
}

int db_sos_alerted(struct db_context *dbc, int64_t incident_id, void (*cb)(void *data, const struct db_sos_contact *c),
		   void *data)
{
	struct db_q *q = db_q(dbc, DB_STMT_ALERTED);

	db_bind_int(q, ":inc", incident_id);
	return contacts(dbc, q, cb, data);
}

static void failed_fill(void *elem, void *ctx, struct db_row *st)
{
	struct db_sos_failed *f = elem;

	f->attempt_id = db_col_int64(st, 0);
	f->incident_id = db_col_int64(st, 1);
	f->phone_id = db_col_int64(st, 2);
	f->sms_out_id = db_col_int64(st, 3);
	db_col_copy(st, 4, f->number, sizeof(f->number));
	f->step = db_col_int(st, 5);
	f->location = db_col_int(st, 6);
	f->text = db_col_dup(ctx, st, 7);
	db_col_copy(st, 8, f->modem, sizeof(f->modem));
}

int db_sos_failed_alerts(struct db_context *dbc, void *ctx, int max_resends, struct db_sos_failed **out)
{
	struct db_q *q = db_q(dbc, DB_STMT_FAILED_ALERTS);

	db_bind_int(q, ":max", max_resends);
	return db_collect(q, ctx, sizeof(**out), failed_fill, (void **)out);
}

int db_sos_attempt_result(struct db_context *dbc, int64_t attempt_id, const char *result)
{
	struct db_q *q = db_q(dbc, DB_STMT_ATTEMPT_RESULT);

	db_bind_int(q, ":id", attempt_id);
	db_bind_text(q, ":result", result);
	return db_exec_one(q);
}

bool db_sos_notice_allowed(struct db_context *dbc, int64_t device_id, const char *kind, int64_t now, int64_t interval)
{
	struct db_q *q = db_q(dbc, DB_STMT_NOTICE_ALLOWED);

	db_bind_int(q, ":dev", device_id);
	db_bind_text(q, ":kind", kind);
	db_bind_int(q, ":now", now);
	db_bind_int(q, ":interval", interval);
	return db_exec_one(q) == 0;
}

/* ---- the staff console ---- */

static void inc_row_fill(void *elem, void *ctx, struct db_row *st)
{
	struct db_sos_incident_row *o = elem;
	struct inc_row r = {ctx, &o->inc};

	inc_row(&r, st);
	db_col_copy(st, 21, o->watch, sizeof(o->watch));
	db_col_copy(st, 22, o->wearer, sizeof(o->wearer));
	db_col_copy(st, 23, o->household, sizeof(o->household));
	db_col_copy(st, 24, o->address, sizeof(o->address));
	o->alerts_sent = db_col_int(st, 25);
}

int db_sos_incident_rows(struct db_context *dbc, void *ctx, bool open_only, int limit, int offset,
			 struct db_sos_incident_row **out)
{
	struct db_q *q = db_q(dbc, open_only ? DB_STMT_INC_ROWS_OPEN : DB_STMT_INC_ROWS_ALL);

	db_bind_int(q, ":limit", limit);
	db_bind_int(q, ":offset", offset);
	return db_collect(q, ctx, sizeof(**out), inc_row_fill, (void **)out);
}

int64_t db_sos_incident_count(struct db_context *dbc, bool open_only)
{
	struct db_q *q = db_q(dbc, DB_STMT_INC_ROWS_COUNT);
	int64_t n;
	int rc;

	db_bind_int(q, ":open", open_only);
	rc = db_int64(q, &n);
	return rc < 0 ? rc : n;
}

int db_sos_incident_row(struct db_context *dbc, void *ctx, int64_t id, struct db_sos_incident_row *out)
{
	struct db_q *q = db_q(dbc, DB_STMT_INC_ROW);
	struct db_sos_incident_row *v;
	int n;

	db_bind_int(q, ":id", id);
	n = db_collect(q, ctx, sizeof(*v), inc_row_fill, (void **)&v);
	if (n > 0) {
		*out = v[0];
		/* the raw text stays, under ctx, with the array */
	}
	return n < 0 ? n : n == 0 ? -ENOENT : 0;
}

static void attempt_fill(void *elem, void *ctx, struct db_row *st)
{
	struct db_sos_attempt_row *a = elem;

	(void)ctx;
	a->id = db_col_int64(st, 0);
	a->step = db_col_int(st, 1);
	db_col_copy(st, 2, a->kind, sizeof(a->kind));
	db_col_copy(st, 3, a->channel, sizeof(a->channel));
	db_col_copy(st, 4, a->number, sizeof(a->number));
	db_col_copy(st, 5, a->name, sizeof(a->name));
	db_col_copy(st, 6, a->state, sizeof(a->state));
	a->location = db_col_int(st, 7);
	a->queued_at = db_col_int64(st, 8);
	a->sent_at = db_col_int64(st, 9);
	a->delivered_at = db_col_int64(st, 10);
	db_col_copy(st, 11, a->error, sizeof(a->error));
}

int db_sos_attempt_rows(struct db_context *dbc, void *ctx, int64_t incident_id, struct db_sos_attempt_row **out)
{
	struct db_q *q = db_q(dbc, DB_STMT_ATTEMPT_ROWS);

	db_bind_int(q, ":id", incident_id);
	return db_collect(q, ctx, sizeof(**out), attempt_fill, (void **)out);
}

int db_sos_event_add(struct db_context *dbc, int64_t incident_id, int64_t at, const char *actor, const char *from,
		     const char *to, const char *note)
{
	struct db_q *q = db_q(dbc, DB_STMT_EVENT_ADD);

	db_bind_int(q, ":inc", incident_id);
	db_bind_int(q, ":at", at);
	db_bind_text(q, ":actor", actor);
	db_bind_text(q, ":from", from && *from ? from : NULL);
	db_bind_text(q, ":to", to);
	db_bind_text(q, ":note", note && *note ? note : NULL);
	return db_exec(q);
}

static void event_fill(void *elem, void *ctx, struct db_row *st)
{
	struct db_sos_event *e = elem;

	(void)ctx;
	e->at = db_col_int64(st, 0);
	db_col_copy(st, 1, e->actor, sizeof(e->actor));
	db_col_copy(st, 2, e->from, sizeof(e->from));
	db_col_copy(st, 3, e->to, sizeof(e->to));
	db_col_copy(st, 4, e->note, sizeof(e->note));
}

int db_sos_event_rows(struct db_context *dbc, void *ctx, int64_t incident_id, struct db_sos_event **out)
{
	struct db_q *q = db_q(dbc, DB_STMT_EVENT_ROWS);

	db_bind_int(q, ":id", incident_id);
	return db_collect(q, ctx, sizeof(**out), event_fill, (void **)out);
}

static void alarm_fill(void *elem, void *ctx, struct db_row *st)
{
	struct db_sos_alarm *a = elem;

	a->at = db_col_int64(st, 0);
	db_col_copy(st, 1, a->channel, sizeof(a->channel));
	a->text = db_col_dup(ctx, st, 2);
}

int db_sos_alarm_rows(struct db_context *dbc, void *ctx, int64_t incident_id, struct db_sos_alarm **out)
{
	struct db_q *q = db_q(dbc, DB_STMT_ALARM_ROWS);

	db_bind_int(q, ":id", incident_id);
	return db_collect(q, ctx, sizeof(**out), alarm_fill, (void **)out);
}

static void device_row_fill(void *elem, void *ctx, struct db_row *st)
{
	struct db_device_row *d = elem;

	(void)ctx;
	device_row(&d->dev, st);
	d->last_seen_at = db_col_int64(st, 10);
	db_col_copy(st, 11, d->battery, sizeof(d->battery));
}

int db_device_rows(struct db_context *dbc, void *ctx, struct db_device_row **out)
{
	return db_collect(db_q(dbc, DB_STMT_DEVICE_ROWS), ctx, sizeof(**out), device_row_fill, (void **)out);
}

static void binding_row_fill(void *elem, void *ctx, struct db_row *st)
{
	struct db_binding_row *r = elem;

	(void)ctx;
	binding_row(&r->b, st);
	db_col_copy(st, 9, r->name, sizeof(r->name));
	r->created = db_col_int64(st, 10);
	r->approved_at = db_col_int64(st, 11);
	db_col_copy(st, 12, r->approved_by, sizeof(r->approved_by));
}

static void binding_row_one(void *data, struct db_row *st)
{
	binding_row_fill(data, NULL, st);
}

int db_binding_rows(struct db_context *dbc, void *ctx, int64_t device_id, bool pending_only,
		    struct db_binding_row **out)
{
	struct db_q *q = db_q(dbc, DB_STMT_BINDING_ROWS);

	db_bind_id(q, ":dev", device_id);
	db_bind_int(q, ":pending", pending_only);
	return db_collect(q, ctx, sizeof(**out), binding_row_fill, (void **)out);
}

int db_binding_by_id(struct db_context *dbc, int64_t id, struct db_binding_row *out)
{
	struct db_q *q = db_q(dbc, DB_STMT_BINDING_BY_ID);

	memset(out, 0, sizeof(*out));
	db_bind_int(q, ":id", id);
	return db_row(q, binding_row_one, out);
}

struct state_counts {
	void (*cb)(void *data, const char *state, int64_t n);
	void *data;
};

static void state_count_row(void *data, struct db_row *st)
{
	struct state_counts *c = data;

	c->cb(c->data, db_col_text(st, 0), db_col_int64(st, 1));
}

int db_sos_state_counts(struct db_context *dbc, void (*cb)(void *data, const char *state, int64_t n), void *data)
{
	struct state_counts c = {cb, data};

	return db_rows(db_q(dbc, DB_STMT_INC_STATE_COUNTS), state_count_row, &c);
}

static void hist_row(void *data, struct db_row *st)
{
	struct db_sos_hist *h = data;

	h->count = db_col_int64(st, 0);
	h->sum = db_col_double(st, 1);
	for (int i = 0; i < DB_SOS_HIST_NB; i++)
		h->le[i] = db_col_int64(st, 2 + i);
}

int db_sos_hist(struct db_context *dbc, enum db_sos_hist_kind kind, int64_t since, struct db_sos_hist *out)
{
	struct db_q *q = db_q(dbc, kind == DB_SOS_HIST_ACK ? DB_STMT_HIST_ACK : DB_STMT_HIST_FIRST_ALERT);

	memset(out, 0, sizeof(*out));
	db_bind_int(q, ":since", since);
	return db_row(q, hist_row, out);
}
