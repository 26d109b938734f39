/* db_open and the numbered upgrade steps: a version-1 file written from schema.sql alone (as a
 * first release would have left it) is upgraded to db_latest_version() with its data kept; a
 * step that fails leaves the file as it was; a file newer than this build is refused.
 *
 * The old file is written with SQLite directly, as the old release did: this test is the one
 * place outside db/ that includes <sqlite3.h>. */

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>
#include <talloc.h>
#include <osmocom/core/application.h>
#include <osmocom/core/logging.h>

#include "db/db.h"
#include "db/db_sql.h"
#include "tests/unit/testlib.h"

static void remove_db(const char *path)
{
	char p[256];

	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

/* Run SQL with SQLite directly; false (and a message) on error. */
static bool raw_exec(const char *path, const char *sql)
{
	sqlite3 *db;
	char *err = NULL;
	int rc;

	if (sqlite3_open(path, &db) != SQLITE_OK) {
		printf("     cannot open %s\n", path);
		return false;
	}
	rc = sqlite3_exec(db, sql, NULL, NULL, &err);
	if (rc != SQLITE_OK)
		printf("     sqlite: %s\n", err ? err : sqlite3_errstr(rc));
	sqlite3_free(err);
	sqlite3_close(db);
	return rc == SQLITE_OK;
}

static int64_t raw_int(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *stmt;
	int64_t v = -1;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK) {
		if (sqlite3_step(stmt) == SQLITE_ROW)
			v = sqlite3_column_int64(stmt, 0);
		sqlite3_finalize(stmt);
	} else {
		printf("     sqlite: %s\n", sqlite3_errmsg(db));
	}
	sqlite3_close(db);
	return v;
}

static const char *v1_data =
	"INSERT INTO community (id, name) VALUES (1, '幸福里社区');"
	"INSERT INTO grid (id, community_id, code, name) VALUES (1, 1, 'W1', '第一网格');"
	"INSERT INTO grp (id, grid_id, code, name) VALUES (1, 1, 'W1-1', '1幢联户组');"
	"INSERT INTO household (id, grp_id, code, building, unit, room)"
	" VALUES (1, 1, '1-1-101', '1幢', '1单元', '101');"
	"INSERT INTO phone (id, number, name, household_id) VALUES (1, '+8613800138001', '张伟', 1);"
	"INSERT INTO phone (id, number, name, role) VALUES (2, '+8613900139101', '王敏', 'staff');"
	"UPDATE household SET primary_phone_id = 1 WHERE id = 1;"
	"INSERT INTO sms_in (sender, text, recv_ts, dedup) VALUES ('+8613800138001', '报事 漏水', 1, 'd1');"
	"INSERT INTO sms_out (dest, text, prio, created) VALUES ('+8613800138001', '已受理', 2, 1);";

static void count_cb(void *data, int64_t id)
{
	(void)id;
	(*(int *)data)++;
}

static void test_upgrade(void *ctx)
{
	struct db_context *dbc = NULL;
	struct db_phone ph;
	struct db_sms_out o;
	char path[64];
	int rc, n = 0;

	printf("-- a version-1 file is upgraded to version %d, data kept\n", db_latest_version());
	test_tmp_path(path, sizeof(path), "dbupgrade");
	CHECK(raw_exec(path, db_sql_files[0].sql), "write %s from %s alone", path, db_sql_files[0].name);
	CHECK(raw_exec(path, v1_data), "with a community, a household, two phones, an inbound and a queued SMS");
	CHECK(raw_int(path, "PRAGMA user_version") == 1, "its user_version is 1");

	rc = db_open(ctx, path, &dbc);
	CHECK(rc == 0 && dbc, "db_open: %d", rc);
	if (!dbc)
		goto out;
	CHECK(db_version(dbc) == db_latest_version(), "version now %d", db_version(dbc));
	CHECK(db_phone_get(dbc, "+8613800138001", &ph) == 0 && ph.household_id == 1 && !strcmp(ph.name, "张伟") &&
		      !strcmp(ph.role, "resident") && !strcmp(ph.lang, "zh-CN"),
	      "the resident is still there: %s %s %s", ph.name, ph.role, ph.lang);
	CHECK(db_sms_in_foreach_new(dbc, count_cb, &n) == 1 && n == 1, "the inbound message is still new");
	rc = db_sms_out_claim(dbc, ctx, "m1", 10, &o);
	CHECK(rc == 0 && !strcmp(o.text, "已受理"), "the queued message can be claimed");
	db_close(dbc);
	dbc = NULL;

	CHECK(raw_int(path, "SELECT count(*) FROM linli_group_members WHERE group_code = 'W1-1'"
			    " AND number = '+8613800138001' AND is_primary") == 1,
	      "step 2: linli_group_members lists the household's number");
	CHECK(raw_int(path, "SELECT table_version FROM version WHERE table_name = 'subscriber'") == 7,
	      "step 2: Kamailio's version table says subscriber 7");

	rc = db_open(ctx, path, &dbc);
	CHECK(rc == 0 && db_version(dbc) == db_latest_version(), "opening the current file again changes nothing");
	db_close(dbc);
	dbc = NULL;

	printf("-- a file newer than this build is refused\n");
	CHECK(raw_exec(path, "PRAGMA user_version = 99"), "set user_version 99");
	rc = db_open(ctx, path, &dbc);
	CHECK(rc == -EPROTO && !dbc, "db_open: -EPROTO (%d)", rc);
	CHECK(raw_int(path, "PRAGMA user_version") == 99, "and the file is left alone");
out:
	remove_db(path);
}

static void test_failed_step(void *ctx)
{
	struct db_context *dbc = NULL;
	char path[64];
	int rc;

	if (db_latest_version() < 2)
		return;
	printf("-- a step that fails leaves the file at its version\n");
	test_tmp_path(path, sizeof(path), "dbupgrade");
	CHECK(raw_exec(path, db_sql_files[0].sql) && raw_exec(path, v1_data), "a version-1 file with data");
	/* step 2 creates Kamailio's version and subscriber tables: make the second one collide */
	CHECK(raw_exec(path, "CREATE TABLE subscriber (x)"), "plus a table that step 2 will collide with");
	rc = db_open(ctx, path, &dbc);
	CHECK(rc < 0 && !dbc, "db_open fails: %d", rc);
	CHECK(raw_int(path, "PRAGMA user_version") == 1, "user_version still 1");
	CHECK(raw_int(path, "SELECT count(*) FROM sqlite_master WHERE name = 'version'") == 0,
	      "nothing of step 2 is left (rolled back)");
	CHECK(raw_int(path, "SELECT count(*) FROM phone") == 2, "the data is intact");
	remove_db(path);
}

/* A file at the version before 007_states.sql (the last step without CHECKs on the states). */
static int states_step(void)
{
	for (unsigned i = 0; i < db_sql_nfiles; i++)
		if (!strcmp(db_sql_files[i].name, "007_states.sql"))
			return (int)i + 1;
	return -1;
}

static bool write_version(const char *path, int v)
{
	char pragma[48];
	bool ok = true;

	for (int i = 0; ok && i < v; i++)
		ok = raw_exec(path, db_sql_files[i].sql);
	snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", v);
	return ok && raw_exec(path, pragma);
}

static const char *v6_data =
	"INSERT INTO device (id, number, household_id, person, dialect) VALUES (1, '+8613912340001', 1, '邹丽', 'tk');"
	"INSERT INTO request (id, ref, reporter_phone_id, reporter, household_id, text, state, flags, deadline,"
	" assignee_phone_id, created, updated) VALUES (1, '100001', 1, '+8613800138001', 1, '漏水', 'dispatched', 1,"
	" 5000, 2, 1000, 1100);"
	"INSERT INTO request (id, ref, kind, reporter, text, state, rating, created, updated)"
	" VALUES (2, '100002', 'errand', '+8613800138001', '取快递', 'visited', '确认', 1000, 1200);"
	"INSERT INTO request (id, ref, reporter, text, state, merged_into, created, updated)"
	" VALUES (3, '100003', '+8613800138001', '漏水', 'merged', 1, 1001, 1001);"
	"INSERT INTO request_event (request_id, actor, at, from_state, to_state) VALUES"
	" (1, '+8613800138001', 1000, NULL, 'received'), (1, 'system', 1000, 'received', 'dispatched'),"
	" (2, 'system', 1000, NULL, 'received'), (3, '+8613800138001', 1001, NULL, 'merged');"
	"INSERT INTO points (phone_id, delta, reason, request_id, at) VALUES (1, 10, '跑腿100002', 2, 1200);"
	"INSERT INTO sos_incident (id, device_id, state, step, created, first_alert_at, lat, lon, raw, next_at, round,"
	" kind, battery, alarms, first_sent_at) VALUES (1, 1, 'notifying', 1, 2000, 2001, 22.5, 114.0, 'SOS', 2120, 1,"
	" 'sos', '80%', 2, 2003);"
	"INSERT INTO sos_incident (id, device_id, state, created, acked_at, acked_by, resolved_at)"
	" VALUES (2, 1, 'resolved', 1500, 1510, '+8613800138001', 1600);"
	"INSERT INTO sms_out (id, dest, text, prio, state, created) VALUES (7, '+8613900139101', '紧急', 0, 'sent', "
	"2001);"
	"INSERT INTO sos_attempt (incident_id, phone_id, number, step, channel, sms_out_id, at, kind, location) VALUES"
	" (1, 2, '+8613900139101', 1, 'sms', 7, 2001, 'alert', 1), (2, 1, '+8613800138001', 1, 'sms', NULL, 1500,"
	" 'alert', 0);";

static void test_states_upgrade(void *ctx)
{
	struct db_context *dbc = NULL;
	struct db_request r;
	struct db_sos_incident inc;
	int step = states_step(), rc;
	char path[64];

	if (step < 2)
		return;
	printf("-- step %d (007_states.sql): CHECK on the states, a version-%d file with data kept\n", step, step - 1);
	test_tmp_path(path, sizeof(path), "dbupgrade");
	CHECK(write_version(path, step - 1) && raw_exec(path, v1_data) && raw_exec(path, v6_data),
	      "a version-%d file with requests, events, points, incidents and attempts", step - 1);
	CHECK(raw_exec(path, "UPDATE request SET state = 'bogus' WHERE id = 2") &&
		      raw_exec(path, "UPDATE request SET state = 'visited' WHERE id = 2"),
	      "before the step any state can be written");
	rc = db_open(ctx, path, &dbc);
	CHECK(rc == 0 && dbc && db_version(dbc) >= step, "db_open upgrades it: %d", rc);
	if (!dbc)
		goto out;
	CHECK(db_request_get(dbc, ctx, "100001", 0, &r) == 0 && !strcmp(r.state, "dispatched") && r.flags == 1 &&
		      r.deadline == 5000 && r.assignee_phone_id == 2 && r.household_id == 1 && !strcmp(r.text, "漏水"),
	      "request 100001 kept: %s flags %u deadline %lld", r.state, r.flags, (long long)r.deadline);
	CHECK(db_request_get(dbc, ctx, "100003", 0, &r) == 0 && !strcmp(r.state, "merged") && r.merged_into == 1,
	      "the merged one still points at its original");
	CHECK(db_sos_incident_get(dbc, ctx, 1, &inc) == 0 && !strcmp(inc.state, "notifying") && inc.next_at == 2120 &&
		      inc.alarms == 2 && inc.has_pos && inc.lat == 22.5 && !strcmp(inc.battery, "80%") &&
		      inc.first_sent_at == 2003 && !strcmp(inc.raw, "SOS"),
	      "incident 1 kept with its escalation fields (%s, next %lld)", inc.state, (long long)inc.next_at);
	db_close(dbc);
	dbc = NULL;

	CHECK(raw_int(path, "SELECT count(*) FROM request") == 3 &&
		      raw_int(path, "SELECT count(*) FROM sos_incident") == 2,
	      "every request and incident copied");
	CHECK(raw_int(path, "SELECT count(*) FROM request_event") == 4,
	      "the events did not cascade away with the old table");
	CHECK(raw_int(path, "SELECT count(*) FROM points WHERE request_id = 2") == 1,
	      "the points entry still names its errand");
	CHECK(raw_int(path, "SELECT count(*) FROM sos_attempt") == 2, "the attempts did not cascade away");
	CHECK(raw_int(path, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN ('request_state',"
			    " 'request_reporter', 'request_assignee', 'request_reporter_number', 'sos_incident_device',"
			    " 'sos_incident_state', 'sos_incident_due')") == 7,
	      "the seven indexes are there again");
	CHECK(raw_int(path, "SELECT count(*) FROM sqlite_master WHERE name LIKE '%_new'") == 0, "no table left behind");
	CHECK(raw_int(path, "SELECT count(*) FROM pragma_foreign_key_check") == 0, "every reference valid");
	CHECK(!raw_exec(path, "UPDATE request SET state = 'bogus' WHERE id = 2"),
	      "a request state outside the list is refused");
	CHECK(!raw_exec(path, "INSERT INTO sos_incident (device_id, state, created) VALUES (1, 'lost', 1)"),
	      "an incident state outside the list is refused");
	CHECK(raw_exec(path, "PRAGMA foreign_keys = ON; DELETE FROM request WHERE id = 3") &&
		      raw_int(path, "SELECT count(*) FROM request_event WHERE request_id = 3") == 0,
	      "the events refer to the new table (deleting a request still takes its events)");
	remove_db(path);

	printf("-- a state outside the list stops the step, and the file stays at version %d\n", step - 1);
	test_tmp_path(path, sizeof(path), "dbupgrade");
	CHECK(write_version(path, step - 1) && raw_exec(path, v1_data) && raw_exec(path, v6_data) &&
		      raw_exec(path, "UPDATE sos_incident SET state = 'lost' WHERE id = 2"),
	      "a version-%d file with an incident in state 'lost'", step - 1);
	rc = db_open(ctx, path, &dbc);
	CHECK(rc < 0 && !dbc, "db_open fails: %d", rc);
	CHECK(raw_int(path, "PRAGMA user_version") == step - 1, "user_version still %d", step - 1);
	CHECK(raw_int(path, "SELECT count(*) FROM request") == 3 &&
		      raw_int(path, "SELECT count(*) FROM request_event") == 4 &&
		      raw_int(path, "SELECT count(*) FROM sos_attempt") == 2 &&
		      raw_int(path, "SELECT count(*) FROM sqlite_master WHERE name LIKE '%_new'") == 0,
	      "and its data is as it was");
out:
	remove_db(path);
}

static void test_fresh(void *ctx)
{
	struct db_context *dbc = NULL;
	char path[64];
	int rc;

	printf("-- a new (empty) file gets schema.sql and every step\n");
	test_tmp_path(path, sizeof(path), "dbupgrade");
	rc = db_open(ctx, path, &dbc);
	CHECK(rc == 0 && db_version(dbc) == db_latest_version(), "version %d", dbc ? db_version(dbc) : rc);
	db_close(dbc);
	{
		sqlite3 *db;
		sqlite3_stmt *stmt;
		bool wal = false;

		if (sqlite3_open(path, &db) == SQLITE_OK &&
		    sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, NULL) == SQLITE_OK) {
			if (sqlite3_step(stmt) == SQLITE_ROW)
				wal = !strcmp((const char *)sqlite3_column_text(stmt, 0), "wal");
			sqlite3_finalize(stmt);
		}
		sqlite3_close(db);
		CHECK(wal, "the file is in WAL mode");
	}
	remove_db(path);

	rc = db_open(ctx, "/nonexistent-dir/linli.db", &dbc);
	CHECK(rc < 0 && !dbc, "a path that cannot be created: %d", rc);
}

int main(void)
{
	void *root = talloc_named_const(NULL, 0, "dbupgrade_test");

	test_logging(root);
	log_set_print_category_hex(osmo_stderr_target, 0);

	CHECK(db_latest_version() == (int)db_sql_nfiles && db_latest_version() >= 2,
	      "latest version %d (schema.sql + %u step(s))", db_latest_version(), db_sql_nfiles - 1);
	test_upgrade(root);
	test_failed_step(root);
	test_states_upgrade(root);
	test_fresh(root);

	log_fini();
	talloc_free(root);
	printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
	return failures ? 1 : 0;
}
