/* db/db_sos.c on the sample community: watches, bindings (pending never counts), the escalation
 * rungs in order, who may acknowledge, approval codes, due incidents, the notice rate limit. */

#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <talloc.h>
#include <osmocom/core/application.h>
#include <osmocom/core/logging.h>

#include "db/db.h"
#include "db/import.h"
#include "tests/unit/testlib.h"

struct seen {
	int n, located;
	char first[32];
};

static void count_contact(void *data, const struct db_sos_contact *c)
{
	struct seen *s = data;

	if (!s->n)
		snprintf(s->first, sizeof(s->first), "%s", c->number);
	s->n++;
	s->located += c->located;
}

static struct seen contacts(struct db_context *dbc, int64_t dev, int rung)
{
	struct seen s = {0};

	db_sos_contacts(dbc, dev, rung, count_contact, &s);
	return s;
}

int main(void)
{
	void *ctx = talloc_named_const(NULL, 0, "sos_db_test");
	char path[64];
	struct db_context *dbc;
	struct db_device dev;
	struct db_binding b;
	struct db_sos_incident inc, got;
	struct seen s;
	int64_t id, *ids;
	int rc, n;

	test_logging(ctx);
	rc = test_sample_db(ctx, "sos-db-test", path, sizeof(path), &dbc);
	CHECK(rc == 0, "a new database with the sample community");
	if (rc)
		return 1;

	printf("-- watches\n");
	rc = db_device_add(dbc, "+8613912340001", "359587011016261", "1-1-101", "邹丽", "tk", &id);
	CHECK(rc == 0 && id > 0, "add a watch");
	CHECK(db_device_add(dbc, "+8613912340001", NULL, NULL, "", "tk", NULL) == -EEXIST, "its number again: -EEXIST");
	CHECK(db_device_add(dbc, "+8613912340002", NULL, "9-9-999", "", "tk", NULL) == -ENOENT,
	      "an unknown household: -ENOENT");
	rc = db_device_get(dbc, "+8613912340001", 0, &dev);
	CHECK(rc == 0 && !strcmp(dev.address, "1幢1单元101") && !strcmp(dev.primary_number, "+8613800138001") &&
		      !strcmp(dev.dialect, "tk") && !strcmp(dev.imei, "359587011016261"),
	      "read back with address %s and primary phone %s", dev.address, dev.primary_number);
	CHECK(db_device_get(dbc, "+8613900000000", 0, &dev) == -ENOENT, "an unknown number: -ENOENT");
	db_device_get(dbc, "+8613912340001", 0, &dev);

	printf("-- rungs: only approved bindings count\n");
	rc = db_binding_put(dbc, dev.id, "+8613700000001", 1, false, "123456", NULL, 1000, &id);
	CHECK(rc == 0, "a pending binding (a number the database did not know)");
	CHECK(db_sos_next_rung(dbc, dev.id, 0) == DB_SOS_RUNG_GRID, "pending only: the first rung is the grid worker");
	rc = db_binding_by_code(dbc, "+8613800138001", "123456", 1000, &b);
	CHECK(rc == 0 && b.id == id && !strcmp(b.number, "+8613700000001"), "found by the primary phone and its code");
	CHECK(db_binding_by_code(dbc, "+8613800138002", "123456", 1000, &b) == -ENOENT,
	      "not by another household's phone");
	CHECK(db_binding_by_code(dbc, "+8613800138001", "654321", 1000, &b) == -ENOENT, "not with a wrong code");
	CHECK(db_binding_by_code(dbc, "+8613800138001", "123456", 1001, &b) == -ENOENT,
	      "not when it was texted before the window (expired)");
	CHECK(db_binding_approve(dbc, id, "+8613800138001", 1001) == 0, "approve it");
	CHECK(db_binding_by_code(dbc, "+8613800138001", "123456", 1000, &b) == -ENOENT, "the code is used up");
	db_binding_put(dbc, dev.id, "+8613700000003", 3, true, NULL, "staff", 1002, NULL);
	CHECK(db_sos_next_rung(dbc, dev.id, 0) == 1, "approved step 1 first");
	CHECK(db_sos_next_rung(dbc, dev.id, 1) == 3, "then step 3 (no step 2)");
	CHECK(db_sos_next_rung(dbc, dev.id, 3) == DB_SOS_RUNG_GRID, "then the grid worker");
	CHECK(db_sos_next_rung(dbc, dev.id, DB_SOS_RUNG_GRID) == DB_SOS_RUNG_STAFF, "then staff");
	CHECK(db_sos_next_rung(dbc, dev.id, DB_SOS_RUNG_STAFF) == DB_SOS_RUNG_NEIGHBOURS, "then the neighbours");
	CHECK(db_sos_next_rung(dbc, dev.id, DB_SOS_RUNG_NEIGHBOURS) == -ENOENT, "then nobody");
	s = contacts(dbc, dev.id, 1);
	CHECK(s.n == 1 && s.located == 1, "step 1: one contact, with location rights");
	s = contacts(dbc, dev.id, DB_SOS_RUNG_GRID);
	CHECK(s.n == 1 && !s.located && !strcmp(s.first, "+8613900139001"), "grid worker %s, no location", s.first);
	s = contacts(dbc, dev.id, DB_SOS_RUNG_STAFF);
	CHECK(s.n == 3 && !s.located, "three staff, no location");
	s = contacts(dbc, dev.id, DB_SOS_RUNG_NEIGHBOURS);
	CHECK(s.n == 8 && !s.located, "eight neighbouring households, no location (%d)", s.n);
	db_binding_get(dbc, dev.id, "+8613700000003", &b);
	CHECK(db_binding_remove(dbc, b.id, "staff", 1003) == 0, "remove the step-3 binding");
	CHECK(db_sos_next_rung(dbc, dev.id, 1) == DB_SOS_RUNG_GRID, "a removed binding is no rung");

	printf("-- incidents and who may acknowledge\n");
	memset(&inc, 0, sizeof(inc));
	inc.device_id = dev.id;
	snprintf(inc.state, sizeof(inc.state), "notifying");
	inc.step = 1;
	inc.round = 1;
	inc.created = 2000;
	inc.next_at = 2120;
	inc.has_pos = true;
	inc.lat = 22.5;
	inc.lon = 114.0;
	snprintf(inc.kind, sizeof(inc.kind), "sos");
	inc.raw = "SOS";
	CHECK(db_sos_incident_add(dbc, &inc) == 0 && inc.id > 0, "an incident");
	CHECK(db_sos_incident_open(dbc, ctx, dev.id, 0, &got) == 0 && got.id == inc.id && got.has_pos &&
		      got.lat == 22.5,
	      "it is the watch's open incident");
	CHECK(db_sos_incident_due(dbc, ctx, 2119, &ids) == 0, "not due before next_at");
	CHECK(db_sos_incident_due(dbc, ctx, 2120, &ids) == 1 && ids[0] == inc.id, "due at next_at");
	CHECK(db_sos_ack_candidates(dbc, ctx, "+8613700000001", 0, &ids) == 1, "the approved binding may acknowledge");
	CHECK(db_sos_ack_candidates(dbc, ctx, "+8613800138002", 0, &ids) == 0, "a neighbour not alerted may not");
	db_sos_attempt_add(dbc, inc.id, 0, "+8613800138002", DB_SOS_RUNG_NEIGHBOURS, "alert", false, 0, 2200);
	CHECK(db_sos_ack_candidates(dbc, ctx, "+8613800138002", 0, &ids) == 1, "once alerted, the neighbour may");
	CHECK(db_sos_open_count(dbc) == 1, "one open incident");
	snprintf(inc.state, sizeof(inc.state), "acknowledged");
	inc.acked_at = 2300;
	snprintf(inc.acked_by, sizeof(inc.acked_by), "+8613700000001");
	inc.next_at = 0;
	CHECK(db_sos_incident_update(dbc, &inc) == 0, "acknowledge it");
	CHECK(db_sos_open_count(dbc) == 0 && db_sos_incident_due(dbc, ctx, 99999, &ids) == 0,
	      "nothing open, nothing due");
	CHECK(db_sos_ack_candidates(dbc, ctx, "+8613700000001", 2300, &ids) == 1,
	      "a late reply finds the acknowledged one");
	CHECK(db_sos_ack_candidates(dbc, ctx, "+8613700000001", 2301, &ids) == 0, "not after the window");
	CHECK(db_sos_incident_open(dbc, ctx, dev.id, 2300, &got) == 0, "repeats still attach just after the ack");
	CHECK(db_sos_incident_open(dbc, ctx, dev.id, 2301, &got) == -ENOENT, "not once the window is past");
	n = db_sos_incident_get(dbc, ctx, inc.id, &got);
	CHECK(n == 0 && !strcmp(got.acked_by, "+8613700000001") && got.acked_at == 2300 && got.next_at == 0,
	      "read back acknowledged");

	printf("-- notices: one per watch and kind per interval\n");
	CHECK(db_sos_notice_allowed(dbc, dev.id, "low_battery", 5000, 1800), "the first");
	CHECK(!db_sos_notice_allowed(dbc, dev.id, "low_battery", 6799, 1800), "not within the interval");
	CHECK(db_sos_notice_allowed(dbc, dev.id, "position", 6799, 1800), "another kind is separate");
	CHECK(db_sos_notice_allowed(dbc, dev.id, "low_battery", 6800, 1800), "again after the interval");

	printf("-- settings\n");
	char buf[32];
	CHECK(db_setting_get(dbc, "community-number", buf, sizeof(buf)) == -ENOENT, "unset: -ENOENT");
	db_setting_set(dbc, "community-number", "+8610657000");
	db_setting_set(dbc, "community-number", "+8610657001");
	CHECK(db_setting_get(dbc, "community-number", buf, sizeof(buf)) == 0 && !strcmp(buf, "+8610657001"),
	      "set twice");

	db_close(dbc);
	test_db_remove(path);
	log_fini();
	talloc_free(ctx);
	printf("%d failure(s)\n", failures);
	return failures ? 1 : 0;
}
