/* The SOS part of the community database: watches, bindings, incidents and their attempts.
 *
 * Each statement is prepared on its first use and kept (db_stmt_cached), rather than taking a
 * slot in db.c's table of statements prepared at open. Same conventions otherwise: named
 * parameters, SQLite codes mapped once, -errno. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <talloc.h>
#include <osmocom/core/logging.h>
#include <osmocom/core/utils.h>

#include "db/db_priv.h"

static sqlite3_stmt *prep(struct db_context *dbc, const char *sql)
{
	return db_stmt_cached(dbc, sql);
}

/* Bind the parameter if the statement has it (a statement may not use every field). */
static void bt(sqlite3_stmt *st, const char *p, const char *v)
{
	if (sqlite3_bind_parameter_index(st, p) > 0)
		db_bind_text(st, p, v);
}

static void bi(sqlite3_stmt *st, const char *p, int64_t v)
{
	if (sqlite3_bind_parameter_index(st, p) > 0)
		db_bind_int64(st, p, v);
}

/* Collect the first column of every row as int64 into a talloc array. */
static int collect(struct db_context *dbc, sqlite3_stmt *st, void *ctx, int64_t **ids)
{
	size_t n = 0;
	int rc;

	*ids = talloc_array(ctx, int64_t, 0);
	if (!st)
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*ids = talloc_realloc(ctx, *ids, int64_t, n + 1);
		(*ids)[n++] = sqlite3_column_int64(st, 0);
	}
	rc = rc == SQLITE_DONE ? (int)n : db_map_rc(dbc, rc, sqlite3_sql(st));
	db_stmt_release(dbc, st);
	return rc;
}

/* Format every row with fmt and hand the lines to cb once the statement is finished (so cb may
 * use the database). */
static int lines(struct db_context *dbc, sqlite3_stmt *st, char *(*fmt)(void *ctx, sqlite3_stmt *st),
		 void (*cb)(void *data, const char *line), void *data)
{
	void *tmp = talloc_new(dbc);
	char **v = talloc_array(tmp, char *, 0);
	size_t n = 0;
	int rc;

	if (!st) {
		talloc_free(tmp);
		return -EIO;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = talloc_realloc(tmp, v, char *, n + 1);
		v[n++] = fmt(v, st);
	}
	rc = rc == SQLITE_DONE ? (int)n : db_map_rc(dbc, rc, sqlite3_sql(st));
	db_stmt_release(dbc, st);
	if (rc >= 0)
		for (size_t i = 0; i < n; i++)
			cb(data, v[i]);
	talloc_free(tmp);
	return rc;
}

/* ---- watches ---- */

int db_device_add(struct db_context *dbc, const char *number, const char *imei, const char *household_code,
		  const char *person, const char *dialect, int64_t *id_out)
{
	int64_t hh = 0;
	sqlite3_stmt *st;
	int rc;

	if (household_code && *household_code) {
		st = prep(dbc, "SELECT id FROM household WHERE code = $code");
		if (st)
			bt(st, "$code", household_code);
		rc = db_cached_row(dbc, st);
		if (rc == 0)
			hh = sqlite3_column_int64(st, 0);
		db_stmt_release(dbc, st);
		if (rc < 0)
			return rc;
	}
	st = prep(dbc, "INSERT INTO device (number, imei, household_id, person, dialect, created)"
		       " VALUES ($number, $imei, $hh, $person, $dialect, strftime('%s', 'now'))");
	if (!st)
		return -EIO;
	bt(st, "$number", number);
	bt(st, "$imei", imei && *imei ? imei : NULL);
	if (hh)
		bi(st, "$hh", hh);
	bt(st, "$person", person ? person : "");
	bt(st, "$dialect", dialect ? dialect : "generic");
	rc = db_cached_exec(dbc, st, false);
	if (rc == 0 && id_out)
		*id_out = sqlite3_last_insert_rowid(dbc->db);
	return rc;
}

#define DEVICE_SELECT                                                                                                  \
	"SELECT d.id, d.number, coalesce(d.imei, ''), d.person, coalesce(d.dialect, 'generic'),"                       \
	" coalesce(d.household_id, 0), coalesce(h.code, ''),"                                                          \
	" coalesce(h.building || h.unit || h.room, ''), coalesce(p.number, ''), coalesce(d.programmed_at, 0)"          \
	" FROM device d LEFT JOIN household h ON h.id = d.household_id"                                                \
	" LEFT JOIN phone p ON p.id = h.primary_phone_id "

static void device_row(sqlite3_stmt *st, struct db_device *out)
{
	memset(out, 0, sizeof(*out));
	out->id = sqlite3_column_int64(st, 0);
	db_col_copy(st, 1, out->number, sizeof(out->number));
	db_col_copy(st, 2, out->imei, sizeof(out->imei));
	db_col_copy(st, 3, out->person, sizeof(out->person));
	db_col_copy(st, 4, out->dialect, sizeof(out->dialect));
	out->household_id = sqlite3_column_int64(st, 5);
	db_col_copy(st, 6, out->household, sizeof(out->household));
	db_col_copy(st, 7, out->address, sizeof(out->address));
	db_col_copy(st, 8, out->primary_number, sizeof(out->primary_number));
	out->programmed_at = sqlite3_column_int64(st, 9);
}

int db_device_get(struct db_context *dbc, const char *number, int64_t id, struct db_device *out)
{
	sqlite3_stmt *st =
		prep(dbc, number ? DEVICE_SELECT "WHERE d.number = $number" : DEVICE_SELECT "WHERE d.id = $id");
	int rc;

	if (st) {
		bt(st, "$number", number);
		bi(st, "$id", id);
	}
	rc = db_cached_row(dbc, st);
	if (rc == 0)
		device_row(st, out);
	db_stmt_release(dbc, st);
	return rc;
}

static char *fmt_device(void *ctx, sqlite3_stmt *st)
{
	struct db_device d;

	device_row(st, &d);
	/* #3 +8613912345678 setracker 邹丽 1-1-101 1幢1单元101 imei=... bindings=2/3 */
	return talloc_asprintf(ctx, "#%" PRId64 " %s %s %s %s %s%s%s approved=%d pending=%d%s%s%s%s", d.id, d.number,
			       d.dialect, d.person[0] ? d.person : "-", d.household[0] ? d.household : "-",
			       d.address[0] ? d.address : "-", d.imei[0] ? " imei=" : "", d.imei,
			       sqlite3_column_int(st, 10), sqlite3_column_int(st, 11),
			       d.programmed_at ? " programmed" : "", *db_col_text(st, 12) ? " (watch answered: " : "",
			       db_col_text(st, 12), *db_col_text(st, 12) ? ")" : "");
}

int db_device_list(struct db_context *dbc, void (*cb)(void *data, const char *line), void *data)
{
	sqlite3_stmt *st =
		prep(dbc, "SELECT d.id, d.number, coalesce(d.imei, ''), d.person,"
			  " coalesce(d.dialect, 'generic'), coalesce(d.household_id, 0), coalesce(h.code, ''),"
			  " coalesce(h.building || h.unit || h.room, ''), coalesce(p.number, ''),"
			  " coalesce(d.programmed_at, 0),"
			  " (SELECT count(*) FROM binding b WHERE b.device_id = d.id AND b.state = 'approved'),"
			  " (SELECT count(*) FROM binding b WHERE b.device_id = d.id AND b.state = 'pending'),"
			  " replace(coalesce(d.program_reply, ''), char(10), ' ')"
			  " FROM device d LEFT JOIN household h ON h.id = d.household_id"
			  " LEFT JOIN phone p ON p.id = h.primary_phone_id ORDER BY d.id");

	return lines(dbc, st, fmt_device, cb, data);
}

int db_device_programmed(struct db_context *dbc, int64_t device_id, int64_t at, const char *reply)
{
	sqlite3_stmt *st =
		prep(dbc, reply ? "UPDATE device SET program_reply = $reply WHERE id = $id"
				: "UPDATE device SET programmed_at = $at, program_reply = NULL WHERE id = $id");

	if (st) {
		bi(st, "$id", device_id);
		bi(st, "$at", at);
		bt(st, "$reply", reply);
	}
	return db_cached_exec(dbc, st, true);
}

/* ---- bindings ---- */

/* The phone id of number, adding a bare phone row for a number the database does not know
 * (a relative living elsewhere). */
static int phone_id_make(struct db_context *dbc, const char *number, int64_t *id)
{
	sqlite3_stmt *st = prep(dbc, "SELECT id FROM phone WHERE number = $number");
	int rc;

	if (st)
		bt(st, "$number", number);
	rc = db_cached_row(dbc, st);
	if (rc == 0)
		*id = sqlite3_column_int64(st, 0);
	db_stmt_release(dbc, st);
	if (rc != -ENOENT)
		return rc;
	st = prep(dbc, "INSERT INTO phone (number, created) VALUES ($number, strftime('%s', 'now'))");
	if (st)
		bt(st, "$number", number);
	rc = db_cached_exec(dbc, st, false);
	if (rc == 0)
		*id = sqlite3_last_insert_rowid(dbc->db);
	return rc;
}

int db_binding_put(struct db_context *dbc, int64_t device_id, const char *number, int step, bool approve,
		   const char *code, const char *by, int64_t now, int64_t *id_out)
{
	sqlite3_stmt *st;
	int64_t phone = 0;
	int rc;

	rc = db_sp_begin(dbc);
	if (rc < 0)
		return rc;
	rc = phone_id_make(dbc, number, &phone);
	if (rc < 0)
		goto out;
	st = prep(dbc, "INSERT INTO binding (device_id, phone_id, step, state, code, created, approved_at, approved_by)"
		       " VALUES ($dev, $phone, $step, $state, $code, $now, $approved_at, $by)"
		       " ON CONFLICT (device_id, phone_id) DO UPDATE SET step = excluded.step, state = excluded.state,"
		       " code = excluded.code, approved_at = excluded.approved_at, approved_by = excluded.approved_by,"
		       " unbind_code = NULL, unbind_by = NULL"
		       " RETURNING id");
	if (st) {
		bi(st, "$dev", device_id);
		bi(st, "$phone", phone);
		bi(st, "$step", step < 1 ? 1 : step);
		bt(st, "$state", approve ? "approved" : "pending");
		bt(st, "$code", approve ? NULL : code);
		bi(st, "$now", now);
		if (approve) {
			bi(st, "$approved_at", now);
			bt(st, "$by", by);
		}
	}
	rc = db_cached_row(dbc, st);
	if (rc == 0 && id_out)
		*id_out = sqlite3_column_int64(st, 0);
	if (rc == 0)
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
	db_stmt_release(dbc, st);
out:
	return db_sp_end(dbc, rc);
}

#define BINDING_SELECT                                                                                                 \
	"SELECT b.id, b.device_id, b.phone_id, p.number, b.step, b.state, coalesce(b.code, ''),"                       \
	" coalesce(b.unbind_code, ''), d.number FROM binding b JOIN phone p ON p.id = b.phone_id"                      \
	" JOIN device d ON d.id = b.device_id "

static void binding_row(sqlite3_stmt *st, struct db_binding *out)
{
	memset(out, 0, sizeof(*out));
	out->id = sqlite3_column_int64(st, 0);
	out->device_id = sqlite3_column_int64(st, 1);
	out->phone_id = sqlite3_column_int64(st, 2);
	db_col_copy(st, 3, out->number, sizeof(out->number));
	out->step = sqlite3_column_int(st, 4);
	db_col_copy(st, 5, out->state, sizeof(out->state));
	db_col_copy(st, 6, out->code, sizeof(out->code));
	db_col_copy(st, 7, out->unbind_code, sizeof(out->unbind_code));
	db_col_copy(st, 8, out->device_number, sizeof(out->device_number));
}

int db_binding_get(struct db_context *dbc, int64_t device_id, const char *number, struct db_binding *out)
{
	sqlite3_stmt *st = prep(dbc, BINDING_SELECT "WHERE b.device_id = $dev AND p.number = $number");
	int rc;

	if (st) {
		bi(st, "$dev", device_id);
		bt(st, "$number", number);
	}
	rc = db_cached_row(dbc, st);
	if (rc == 0)
		binding_row(st, out);
	db_stmt_release(dbc, st);
	return rc;
}

int db_binding_by_code(struct db_context *dbc, const char *primary_number, const char *code, struct db_binding *out)
{
	sqlite3_stmt *st = prep(dbc, BINDING_SELECT
				"JOIN household h ON h.id = d.household_id JOIN phone pp ON pp.id = h.primary_phone_id"
				" WHERE pp.number = $primary AND b.state != 'removed'"
				" AND ((b.state = 'pending' AND b.code = $code) OR b.unbind_code = $code)"
				" ORDER BY b.id DESC LIMIT 1");
	int rc;

	if (st) {
		bt(st, "$primary", primary_number);
		bt(st, "$code", code);
	}
	rc = db_cached_row(dbc, st);
	if (rc == 0)
		binding_row(st, out);
	db_stmt_release(dbc, st);
	return rc;
}

int db_binding_approve(struct db_context *dbc, int64_t binding_id, const char *by, int64_t now)
{
	sqlite3_stmt *st = prep(dbc, "UPDATE binding SET state = 'approved', code = NULL, approved_at = $now,"
				     " approved_by = $by WHERE id = $id AND state != 'removed'");

	if (st) {
		bi(st, "$id", binding_id);
		bi(st, "$now", now);
		bt(st, "$by", by);
	}
	return db_cached_exec(dbc, st, true);
}

int db_binding_remove(struct db_context *dbc, int64_t binding_id, const char *by, int64_t now)
{
	sqlite3_stmt *st = prep(dbc, "UPDATE binding SET state = 'removed', code = NULL, unbind_code = NULL,"
				     " unbind_by = $by, approved_at = coalesce(approved_at, $now) WHERE id = $id");

	if (st) {
		bi(st, "$id", binding_id);
		bi(st, "$now", now);
		bt(st, "$by", by);
	}
	return db_cached_exec(dbc, st, true);
}

int db_binding_set_unbind(struct db_context *dbc, int64_t binding_id, const char *code, const char *by)
{
	sqlite3_stmt *st = prep(dbc, "UPDATE binding SET unbind_code = $code, unbind_by = $by WHERE id = $id");

	if (st) {
		bi(st, "$id", binding_id);
		bt(st, "$code", code);
		bt(st, "$by", by);
	}
	return db_cached_exec(dbc, st, true);
}

static char *fmt_binding(void *ctx, sqlite3_stmt *st)
{
	struct db_binding b;

	binding_row(st, &b);
	/* #4 watch +86139... -> +86138... step 1 approved (by +86138..., 2026-11-23 10:00) */
	return talloc_asprintf(ctx, "#%" PRId64 " watch %s -> %s %s step %d %s%s%s%s%s%s", b.id, b.device_number,
			       b.number, db_col_text(st, 9), b.step, b.state, b.unbind_code[0] ? " (unbinding asked)" : "",
			       sqlite3_column_type(st, 10) != SQLITE_NULL ? " by " : "", db_col_text(st, 10),
			       sqlite3_column_type(st, 11) != SQLITE_NULL ? " at " : "", db_col_text(st, 11));
}

int db_binding_list(struct db_context *dbc, const char *device_number, void (*cb)(void *data, const char *line),
		    void *data)
{
	sqlite3_stmt *st =
		prep(dbc, "SELECT b.id, b.device_id, b.phone_id, p.number, b.step, b.state,"
			  " coalesce(b.code, ''), coalesce(b.unbind_code, ''), d.number, p.name,"
			  " b.approved_by, datetime(b.approved_at, 'unixepoch', 'localtime')"
			  " FROM binding b JOIN phone p ON p.id = b.phone_id JOIN device d ON d.id = b.device_id"
			  " WHERE $dev IS NULL OR d.number = $dev ORDER BY d.id, b.step, b.id");

	if (st)
		bt(st, "$dev", device_number);
	return lines(dbc, st, fmt_binding, cb, data);
}

/* ---- contacts and rungs ---- */

static const char *rung_sql(int rung)
{
	switch (rung) {
	case DB_SOS_RUNG_GRID:
		return "SELECT p.id, p.number, p.name, 0 FROM device d JOIN household h ON h.id = d.household_id"
		       " JOIN grp g ON g.id = h.grp_id JOIN grid r ON r.id = g.grid_id JOIN phone p ON p.id = "
		       "r.worker_phone_id"
		       " WHERE d.id = $dev AND p.state = 'active' AND p.number != d.number";
	case DB_SOS_RUNG_STAFF:
		return "SELECT p.id, p.number, p.name, 0 FROM phone p, device d WHERE d.id = $dev AND p.role = 'staff'"
		       " AND p.state = 'active' AND p.number != d.number ORDER BY p.id";
	case DB_SOS_RUNG_NEIGHBOURS:
		return "SELECT p.id, p.number, p.name, 0 FROM device d JOIN household h ON h.id = d.household_id"
		       " JOIN household o ON o.grp_id = h.grp_id AND o.id != h.id JOIN phone p ON p.id = "
		       "o.primary_phone_id"
		       " WHERE d.id = $dev AND p.state = 'active' AND p.number != d.number ORDER BY o.id";
	default:
		return "SELECT p.id, p.number, p.name, 1 FROM binding b JOIN phone p ON p.id = b.phone_id"
		       " JOIN device d ON d.id = b.device_id WHERE b.device_id = $dev AND b.state = 'approved'"
		       " AND b.step = $step AND p.number != d.number ORDER BY b.id";
	}
}

/* Rows (phone id, number, name, located) of a prepared statement as contacts: all read first and
 * the statement released, then cb for each (cb may run other statements). The count or -errno. */
static int collect_contacts(struct db_context *dbc, sqlite3_stmt *st, const char *what,
			    void (*cb)(void *data, const struct db_sos_contact *c), void *data)
{
	struct db_sos_contact *v;
	void *tmp = talloc_new(dbc);
	size_t n = 0;
	int rc;

	v = talloc_array(tmp, struct db_sos_contact, 0);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = talloc_realloc(tmp, v, struct db_sos_contact, n + 1);
		memset(&v[n], 0, sizeof(v[n]));
		v[n].phone_id = sqlite3_column_int64(st, 0);
		db_col_copy(st, 1, v[n].number, sizeof(v[n].number));
		db_col_copy(st, 2, v[n].name, sizeof(v[n].name));
		v[n].located = sqlite3_column_int(st, 3);
		n++;
	}
	rc = rc == SQLITE_DONE ? (int)n : db_map_rc(dbc, rc, what);
	db_stmt_release(dbc, st);
	if (rc > 0 && cb)
		for (size_t i = 0; i < n; i++)
			cb(data, &v[i]);
	talloc_free(tmp);
	return rc;
}

int db_sos_contacts(struct db_context *dbc, int64_t device_id, int rung,
		    void (*cb)(void *data, const struct db_sos_contact *c), void *data)
{
	sqlite3_stmt *st = prep(dbc, rung_sql(rung));

	if (!st)
		return -EIO;
	bi(st, "$dev", device_id);
	bi(st, "$step", rung);
	return collect_contacts(dbc, st, "sos contacts", cb, data);
}

int db_sos_next_rung(struct db_context *dbc, int64_t device_id, int after)
{
	static const int fixed[] = {DB_SOS_RUNG_GRID, DB_SOS_RUNG_STAFF, DB_SOS_RUNG_NEIGHBOURS};
	sqlite3_stmt *st;
	int rc;

	if (after < DB_SOS_RUNG_GRID - 1) {
		st = prep(dbc, "SELECT min(step) FROM binding WHERE device_id = $dev AND state = 'approved'"
			       " AND step > $after AND step < $grid");
		if (st) {
			bi(st, "$dev", device_id);
			bi(st, "$after", after);
			bi(st, "$grid", DB_SOS_RUNG_GRID);
		}
		rc = db_cached_row(dbc, st);
		if (rc == 0 && sqlite3_column_type(st, 0) != SQLITE_NULL) {
			/* an approved binding whose phone is the watch itself would be skipped: check */
			int step = sqlite3_column_int(st, 0);

			db_stmt_release(dbc, st);
			rc = db_sos_contacts(dbc, device_id, step, NULL, NULL);
			if (rc < 0)
				return rc;
			return rc > 0 ? step : db_sos_next_rung(dbc, device_id, step);
		}
		db_stmt_release(dbc, st);
		if (rc < 0)
			return rc;
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

#define INC_COLS                                                                                                       \
	"id, device_id, state, step, round, created, coalesce(next_at, 0), coalesce(first_alert_at, 0),"               \
	" coalesce(first_sent_at, 0), coalesce(acked_at, 0), coalesce(resolved_at, 0), coalesce(last_alarm_at, 0),"    \
	" coalesce(acked_by, ''), lat IS NOT NULL AND lon IS NOT NULL, coalesce(lat, 0), coalesce(lon, 0), kind,"      \
	" battery, fix, alarms, raw"

static void inc_row(void *ctx, sqlite3_stmt *st, struct db_sos_incident *o)
{
	memset(o, 0, sizeof(*o));
	o->id = sqlite3_column_int64(st, 0);
	o->device_id = sqlite3_column_int64(st, 1);
	db_col_copy(st, 2, o->state, sizeof(o->state));
	o->step = sqlite3_column_int(st, 3);
	o->round = sqlite3_column_int(st, 4);
	o->created = sqlite3_column_int64(st, 5);
	o->next_at = sqlite3_column_int64(st, 6);
	o->first_alert_at = sqlite3_column_int64(st, 7);
	o->first_sent_at = sqlite3_column_int64(st, 8);
	o->acked_at = sqlite3_column_int64(st, 9);
	o->resolved_at = sqlite3_column_int64(st, 10);
	o->last_alarm_at = sqlite3_column_int64(st, 11);
	db_col_copy(st, 12, o->acked_by, sizeof(o->acked_by));
	o->has_pos = sqlite3_column_int(st, 13);
	o->lat = sqlite3_column_double(st, 14);
	o->lon = sqlite3_column_double(st, 15);
	db_col_copy(st, 16, o->kind, sizeof(o->kind));
	db_col_copy(st, 17, o->battery, sizeof(o->battery));
	db_col_copy(st, 18, o->fix, sizeof(o->fix));
	o->alarms = sqlite3_column_int(st, 19);
	o->raw = db_col_dup(ctx, st, 20);
}

/* Bind the mutable fields of inc to whichever parameters the statement has. */
static void inc_bind(sqlite3_stmt *st, const struct db_sos_incident *inc)
{
	bi(st, "$id", inc->id);
	bi(st, "$dev", inc->device_id);
	bt(st, "$state", inc->state);
	bi(st, "$step", inc->step);
	bi(st, "$round", inc->round);
	bi(st, "$created", inc->created);
#define BI0(p, v)                                                                                                      \
	do {                                                                                                           \
		if (v)                                                                                                 \
			bi(st, p, v);                                                                                  \
	} while (0)
	BI0("$next_at", inc->next_at);
	BI0("$first_alert_at", inc->first_alert_at);
	BI0("$acked_at", inc->acked_at);
	BI0("$resolved_at", inc->resolved_at);
	BI0("$last_alarm_at", inc->last_alarm_at);
#undef BI0
	bt(st, "$acked_by", inc->acked_by[0] ? inc->acked_by : NULL);
	if (inc->has_pos && sqlite3_bind_parameter_index(st, "$lat") > 0) {
		sqlite3_bind_double(st, sqlite3_bind_parameter_index(st, "$lat"), inc->lat);
		sqlite3_bind_double(st, sqlite3_bind_parameter_index(st, "$lon"), inc->lon);
	}
	bt(st, "$kind", inc->kind[0] ? inc->kind : "sos");
	bt(st, "$battery", inc->battery);
	bt(st, "$fix", inc->fix);
	bi(st, "$alarms", inc->alarms ? inc->alarms : 1);
	bt(st, "$raw", inc->raw);
}

int db_sos_incident_add(struct db_context *dbc, struct db_sos_incident *inc)
{
	sqlite3_stmt *st = prep(dbc, "INSERT INTO sos_incident (device_id, state, step, round, created, next_at,"
				     " first_alert_at, last_alarm_at, lat, lon, kind, battery, fix, alarms, raw)"
				     " VALUES ($dev, $state, $step, $round, $created, $next_at, $first_alert_at,"
				     " $last_alarm_at, $lat, $lon, $kind, $battery, $fix, $alarms, $raw)");
	int rc;

	if (st)
		inc_bind(st, inc);
	rc = db_cached_exec(dbc, st, false);
	if (rc == 0)
		inc->id = sqlite3_last_insert_rowid(dbc->db);
	return rc;
}

int db_sos_incident_update(struct db_context *dbc, const struct db_sos_incident *inc)
{
	sqlite3_stmt *st =
		prep(dbc, "UPDATE sos_incident SET state = $state, step = $step, round = $round,"
			  " next_at = $next_at, first_alert_at = $first_alert_at, acked_at = $acked_at,"
			  " acked_by = $acked_by, resolved_at = $resolved_at, lat = $lat, lon = $lon,"
			  " alarms = $alarms, last_alarm_at = $last_alarm_at, battery = $battery WHERE id = $id");

	if (st)
		inc_bind(st, inc);
	return db_cached_exec(dbc, st, true);
}

int db_sos_incident_get(struct db_context *dbc, void *ctx, int64_t id, struct db_sos_incident *out)
{
	sqlite3_stmt *st = prep(dbc, "SELECT " INC_COLS " FROM sos_incident WHERE id = $id");
	int rc;

	if (st)
		bi(st, "$id", id);
	rc = db_cached_row(dbc, st);
	if (rc == 0)
		inc_row(ctx, st, out);
	db_stmt_release(dbc, st);
	return rc;
}

int db_sos_incident_open(struct db_context *dbc, void *ctx, int64_t device_id, int64_t acked_since,
			 struct db_sos_incident *out)
{
	sqlite3_stmt *st =
		prep(dbc, "SELECT " INC_COLS " FROM sos_incident WHERE device_id = $dev"
			  " AND (state IN ('raised', 'notifying') OR (state = 'acknowledged' AND acked_at >= $since))"
			  " ORDER BY id DESC LIMIT 1");
	int rc;

	if (st) {
		bi(st, "$dev", device_id);
		bi(st, "$since", acked_since);
	}
	rc = db_cached_row(dbc, st);
	if (rc == 0)
		inc_row(ctx, st, out);
	db_stmt_release(dbc, st);
	return rc;
}

int db_sos_incident_due(struct db_context *dbc, void *ctx, int64_t now, int64_t **ids)
{
	sqlite3_stmt *st = prep(dbc, "SELECT id FROM sos_incident WHERE next_at IS NOT NULL AND next_at <= $now"
				     " AND state IN ('raised', 'notifying') ORDER BY next_at, id");

	if (st)
		bi(st, "$now", now);
	return collect(dbc, st, ctx, ids);
}

int db_sos_ack_candidates(struct db_context *dbc, void *ctx, const char *number, int64_t acked_since, int64_t **ids)
{
	sqlite3_stmt *st =
		prep(dbc, "SELECT i.id FROM sos_incident i WHERE (i.state IN ('raised', 'notifying') OR"
			  " (i.state = 'acknowledged' AND i.acked_at >= $since)) AND ("
			  " EXISTS (SELECT 1 FROM binding b JOIN phone p ON p.id = b.phone_id"
			  "  WHERE b.device_id = i.device_id AND b.state = 'approved' AND p.number = $number)"
			  " OR EXISTS (SELECT 1 FROM sos_attempt a WHERE a.incident_id = i.id AND a.number = $number"
			  "  AND a.kind IN ('alert', 'resend'))) ORDER BY i.id");

	if (st) {
		bt(st, "$number", number);
		bi(st, "$since", acked_since);
	}
	return collect(dbc, st, ctx, ids);
}

int db_sos_open_count(struct db_context *dbc)
{
	sqlite3_stmt *st = prep(dbc, "SELECT count(*) FROM sos_incident WHERE state IN ('raised', 'notifying')");
	int rc = db_cached_row(dbc, st);

	if (rc == 0)
		rc = sqlite3_column_int(st, 0);
	db_stmt_release(dbc, st);
	return rc;
}

int db_sos_fill_first_sent(struct db_context *dbc)
{
	sqlite3_stmt *st = prep(dbc, "UPDATE sos_incident SET first_sent_at = (SELECT min(o.sent_at) FROM sos_attempt a"
				     " JOIN sms_out o ON o.id = a.sms_out_id WHERE a.incident_id = sos_incident.id"
				     " AND a.kind IN ('alert', 'resend') AND o.sent_at IS NOT NULL)"
				     " WHERE first_sent_at IS NULL AND first_alert_at IS NOT NULL AND EXISTS (SELECT 1"
				     " FROM sos_attempt a JOIN sms_out o ON o.id = a.sms_out_id WHERE a.incident_id ="
				     " sos_incident.id AND a.kind IN ('alert', 'resend') AND o.sent_at IS NOT NULL)");
	int rc = db_cached_exec(dbc, st, false);

	return rc < 0 ? rc : sqlite3_changes(dbc->db);
}

static char *fmt_incident(void *ctx, sqlite3_stmt *st)
{
	/* #5 2026-11-23 10:32:00 watch +86139... 邹丽 notifying step 1 round 1 sos alarms=2 first-alert=3s ack=- */
	char ttfa[24] = "-", tta[24] = "-";

	if (sqlite3_column_type(st, 9) != SQLITE_NULL)
		snprintf(ttfa, sizeof(ttfa), "%llds", (long long)sqlite3_column_int64(st, 9));
	if (sqlite3_column_type(st, 10) != SQLITE_NULL)
		snprintf(tta, sizeof(tta), "%llds", (long long)sqlite3_column_int64(st, 10));
	return talloc_asprintf(
		ctx, "#%" PRId64 " %s watch %s %s %s step %d round %d %s alarms=%d first-alert=%s ack=%s%s%s",
		(int64_t)sqlite3_column_int64(st, 0), db_col_text(st, 1), db_col_text(st, 2), *db_col_text(st, 3) ? db_col_text(st, 3) : "-",
		db_col_text(st, 4), sqlite3_column_int(st, 5), sqlite3_column_int(st, 6), db_col_text(st, 7), sqlite3_column_int(st, 8),
		ttfa, tta, *db_col_text(st, 11) ? " by " : "", db_col_text(st, 11));
}

int db_sos_incident_list(struct db_context *dbc, int limit, void (*cb)(void *data, const char *line), void *data)
{
	sqlite3_stmt *st =
		prep(dbc, "SELECT i.id, datetime(i.created, 'unixepoch', 'localtime'), d.number, d.person,"
			  " i.state, i.step, i.round, i.kind, i.alarms, i.first_sent_at - i.created,"
			  " i.acked_at - i.created, coalesce(i.acked_by, '')"
			  " FROM sos_incident i JOIN device d ON d.id = i.device_id ORDER BY i.id DESC LIMIT $limit");

	if (st)
		bi(st, "$limit", limit);
	return lines(dbc, st, fmt_incident, cb, data);
}

static char *fmt_attempt(void *ctx, sqlite3_stmt *st)
{
	/*   attempt #9 10:32:01 step 1 alert +86138... sms #12 sent delivery=delivered [location] (result) */
	return talloc_asprintf(ctx, "  attempt #%" PRId64 " %s step %d %s %s sms #%" PRId64 " %s delivery=%s%s%s%s%s",
			       (int64_t)sqlite3_column_int64(st, 0), db_col_text(st, 1), sqlite3_column_int(st, 2), db_col_text(st, 3),
			       db_col_text(st, 4), (int64_t)sqlite3_column_int64(st, 5), db_col_text(st, 6), db_col_text(st, 7),
			       sqlite3_column_int(st, 8) ? " [location]" : "", *db_col_text(st, 9) ? " (" : "", db_col_text(st, 9),
			       *db_col_text(st, 9) ? ")" : "");
}

int db_sos_incident_show(struct db_context *dbc, int64_t id, void (*cb)(void *data, const char *line), void *data)
{
	sqlite3_stmt *st = prep(dbc, "SELECT i.id, datetime(i.created, 'unixepoch', 'localtime'), d.number, d.person,"
				     " i.state, i.step, i.round, i.kind, i.alarms, i.first_sent_at - i.created,"
				     " i.acked_at - i.created, coalesce(i.acked_by, '')"
				     " FROM sos_incident i JOIN device d ON d.id = i.device_id WHERE i.id = $id");
	void *tmp;
	int rc, n;

	if (st)
		bi(st, "$id", id);
	rc = lines(dbc, st, fmt_incident, cb, data);
	if (rc <= 0)
		return rc == 0 ? -ENOENT : rc;
	tmp = talloc_new(dbc);
	st = prep(dbc,
		  "SELECT printf('position %s, battery %s, fix %s, next step %s', coalesce(printf('%.6f,%.6f', lat,"
		  " lon), 'none'), coalesce(nullif(battery, ''), '-'), coalesce(nullif(fix, ''), '-'), "
		  "coalesce(datetime(next_at, 'unixepoch',"
		  " 'localtime'), '-')), 'raw: ' || coalesce(raw, '') FROM sos_incident WHERE id = $id");
	if (st) {
		bi(st, "$id", id);
		if (db_cached_row(dbc, st) == 0) {
			cb(data, talloc_strdup(tmp, db_col_text(st, 0)));
			cb(data, talloc_strdup(tmp, db_col_text(st, 1)));
		}
		db_stmt_release(dbc, st);
	}
	talloc_free(tmp);
	st = prep(dbc, "SELECT a.id, datetime(a.at, 'unixepoch', 'localtime'), a.step, a.kind, a.number,"
		       " coalesce(a.sms_out_id, 0), coalesce(o.state, '-'), coalesce(o.delivery, '-'), a.location,"
		       " coalesce(a.result, '') FROM sos_attempt a LEFT JOIN sms_out o ON o.id = a.sms_out_id"
		       " WHERE a.incident_id = $id ORDER BY a.id");
	if (st)
		bi(st, "$id", id);
	n = lines(dbc, st, fmt_attempt, cb, data);
	return n < 0 ? n : rc + n;
}

/* ---- attempts ---- */

/* One attempt row; phone_id and sms_out_id 0 mean none. */
static int attempt_insert(struct db_context *dbc, int64_t incident_id, int64_t phone_id, const char *number, int step,
			  const char *channel, const char *kind, bool location, int64_t sms_out_id, int64_t at)
{
	sqlite3_stmt *st =
		prep(dbc, "INSERT INTO sos_attempt (incident_id, phone_id, number, step, channel, sms_out_id,"
			  " at, kind, location) VALUES ($inc, $phone, $number, $step, $channel, $out, $at, $kind,"
			  " $loc)");

	if (st) {
		bi(st, "$inc", incident_id);
		if (phone_id)
			bi(st, "$phone", phone_id);
		bt(st, "$number", number);
		bi(st, "$step", step);
		bt(st, "$channel", channel);
		if (sms_out_id)
			bi(st, "$out", sms_out_id);
		bi(st, "$at", at);
		bt(st, "$kind", kind);
		bi(st, "$loc", location);
	}
	return db_cached_exec(dbc, st, false);
}

int db_sos_attempt_add(struct db_context *dbc, int64_t incident_id, int64_t phone_id, const char *number, int step,
		       const char *kind, bool location, int64_t sms_out_id, int64_t at)
{
	return attempt_insert(dbc, incident_id, phone_id, number, step, "sms", kind, location, sms_out_id, at);
}

int db_sos_call_attempt_add(struct db_context *dbc, int64_t incident_id, int64_t phone_id, const char *number,
			    int step, int64_t at)
{
	return attempt_insert(dbc, incident_id, phone_id, number, step, "call", "call", false, 0, at);
}

int db_sos_calls_pending(struct db_context *dbc, void *ctx, struct db_sos_call **out)
{
	sqlite3_stmt *st = prep(dbc, "SELECT a.id, a.incident_id, coalesce(a.phone_id, 0), a.number, d.number,"
				     " coalesce(h.building, ''), coalesce(h.unit, ''), i.state IN ('raised', 'notifying')"
				     " FROM sos_attempt a JOIN sos_incident i ON i.id = a.incident_id"
				     " JOIN device d ON d.id = i.device_id LEFT JOIN household h ON h.id = d.household_id"
				     " WHERE a.channel = 'call' AND a.result IS NULL ORDER BY a.id LIMIT 16");
	size_t n = 0;
	int rc;

	*out = talloc_array(ctx, struct db_sos_call, 0);
	if (!st)
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_sos_call *c;

		*out = talloc_realloc(ctx, *out, struct db_sos_call, n + 1);
		c = &(*out)[n++];
		memset(c, 0, sizeof(*c));
		c->attempt_id = sqlite3_column_int64(st, 0);
		c->incident_id = sqlite3_column_int64(st, 1);
		c->phone_id = sqlite3_column_int64(st, 2);
		db_col_copy(st, 3, c->number, sizeof(c->number));
		db_col_copy(st, 4, c->watch, sizeof(c->watch));
		db_col_copy(st, 5, c->building, sizeof(c->building));
		db_col_copy(st, 6, c->unit, sizeof(c->unit));
		c->open = sqlite3_column_int(st, 7);
	}
	rc = rc == SQLITE_DONE ? (int)n : db_map_rc(dbc, rc, "sos calls pending");
	db_stmt_release(dbc, st);
	return rc;
}

int db_sos_calls_lost(struct db_context *dbc)
{
	sqlite3_stmt *st = prep(dbc, "UPDATE sos_attempt SET result = 'call lost: linlid restarted during it'"
				     " WHERE channel = 'call' AND result = 'calling'");

	return db_cached_exec(dbc, st, false);
}

int db_sos_alerted(struct db_context *dbc, int64_t incident_id, void (*cb)(void *data, const struct db_sos_contact *c),
		   void *data)
{
	sqlite3_stmt *st = prep(dbc, "SELECT coalesce(max(a.phone_id), 0), a.number, coalesce(max(p.name), ''),"
				     " max(a.location) FROM sos_attempt a LEFT JOIN phone p ON p.id = a.phone_id"
				     " WHERE a.incident_id = $inc AND a.kind IN ('alert', 'resend')"
				     " GROUP BY a.number ORDER BY min(a.id)");

	if (!st)
		return -EIO;
	bi(st, "$inc", incident_id);
	return collect_contacts(dbc, st, "sos alerted", cb, data);
}

int db_sos_failed_alerts(struct db_context *dbc, void *ctx, int max_resends, struct db_sos_failed **out)
{
	sqlite3_stmt *st =
		prep(dbc, "SELECT a.id, a.incident_id, coalesce(a.phone_id, 0), a.sms_out_id, a.number, a.step,"
			  " a.location, o.text, coalesce(o.modem, o.last_modem, '')"
			  " FROM sos_attempt a JOIN sms_out o ON o.id = a.sms_out_id"
			  " JOIN sos_incident i ON i.id = a.incident_id"
			  " WHERE i.state IN ('raised', 'notifying') AND a.kind IN ('alert', 'resend', 'update')"
			  " AND a.result IS NULL AND (o.state = 'failed' OR o.delivery = 'failed')"
			  " AND (SELECT count(*) FROM sos_attempt r WHERE r.incident_id = a.incident_id"
			  "  AND r.number = a.number AND r.kind = 'resend') < $max"
			  " ORDER BY a.id LIMIT 16");
	size_t n = 0;
	int rc;

	*out = talloc_array(ctx, struct db_sos_failed, 0);
	if (!st)
		return -EIO;
	bi(st, "$max", max_resends);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_sos_failed *f;

		*out = talloc_realloc(ctx, *out, struct db_sos_failed, n + 1);
		f = &(*out)[n++];
		memset(f, 0, sizeof(*f));
		f->attempt_id = sqlite3_column_int64(st, 0);
		f->incident_id = sqlite3_column_int64(st, 1);
		f->phone_id = sqlite3_column_int64(st, 2);
		f->sms_out_id = sqlite3_column_int64(st, 3);
		db_col_copy(st, 4, f->number, sizeof(f->number));
		f->step = sqlite3_column_int(st, 5);
		f->location = sqlite3_column_int(st, 6);
		f->text = db_col_dup(*out, st, 7);
		db_col_copy(st, 8, f->modem, sizeof(f->modem));
	}
	rc = rc == SQLITE_DONE ? (int)n : db_map_rc(dbc, rc, "sos failed alerts");
	db_stmt_release(dbc, st);
	return rc;
}

int db_sos_attempt_result(struct db_context *dbc, int64_t attempt_id, const char *result)
{
	sqlite3_stmt *st = prep(dbc, "UPDATE sos_attempt SET result = $result WHERE id = $id");

	if (st) {
		bi(st, "$id", attempt_id);
		bt(st, "$result", result);
	}
	return db_cached_exec(dbc, st, true);
}

bool db_sos_notice_allowed(struct db_context *dbc, int64_t device_id, const char *kind, int64_t now, int64_t interval)
{
	sqlite3_stmt *st =
		prep(dbc, "INSERT INTO device_notice (device_id, kind, last_at) VALUES ($dev, $kind, $now)"
			  " ON CONFLICT (device_id, kind) DO UPDATE SET last_at = excluded.last_at"
			  " WHERE device_notice.last_at <= $now - $interval OR device_notice.last_at > $now");

	if (!st)
		return false;
	bi(st, "$dev", device_id);
	bt(st, "$kind", kind);
	bi(st, "$now", now);
	bi(st, "$interval", interval);
	return db_cached_exec(dbc, st, true) == 0;
}

/* ---- settings ---- */

int db_setting_set(struct db_context *dbc, const char *name, const char *value)
{
	sqlite3_stmt *st = prep(dbc, "INSERT INTO setting (name, value) VALUES ($name, $value)"
				     " ON CONFLICT (name) DO UPDATE SET value = excluded.value");

	if (st) {
		bt(st, "$name", name);
		bt(st, "$value", value);
	}
	return db_cached_exec(dbc, st, false);
}

int db_setting_get(struct db_context *dbc, const char *name, char *buf, size_t len)
{
	sqlite3_stmt *st = prep(dbc, "SELECT value FROM setting WHERE name = $name");
	int rc;

	if (st)
		bt(st, "$name", name);
	rc = db_cached_row(dbc, st);
	if (rc == 0)
		db_col_copy(st, 0, buf, len);
	db_stmt_release(dbc, st);
	return rc;
}
