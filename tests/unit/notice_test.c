/* Broadcast scopes and the opt-out list on the sample community (db/db_notice.c and
 * gateway/notice/notice.c's scope names): who a scope reaches, that an opted-out number and a
 * pending registration never are, that opting out withdraws what is still queued to it, the
 * confirmation code's window and the life of a notice. */

#include <string.h>

#include <talloc.h>

#include "db/db.h"
#include "gateway/notice/notice.h"
#include "tests/unit/testlib.h"

static int count_cb(void *data, const char *number)
{
	int *n = data;

	(void)number;
	(*n)++;
	return 0;
}

int main(void)
{
	void *ctx = talloc_named_const(NULL, 0, "notice_test");
	struct db_broadcast_scope s;
	struct db_broadcast b = {0}, got;
	struct db_broadcast_progress p;
	char path[64];
	struct db_context *dbc;
	int64_t id, msg, *ids;
	int rc, n, group, all;

	test_logging(ctx);
	rc = test_sample_db(ctx, "notice-test", path, sizeof(path), &dbc);
	CHECK(rc == 0, "a new database with the sample community");
	if (rc)
		return 1;

	printf("-- scopes\n");
	CHECK(nt_scope_parse(dbc, "全部", &s) == 0 && !strcmp(s.kind, "all"), "全部 is everyone");
	CHECK(nt_scope_parse(dbc, "all", &s) == 0 && !strcmp(s.kind, "all"), "ALL in any case");
	CHECK(nt_scope_parse(dbc, "网格员", &s) == 0 && !strcmp(s.kind, "role") && !strcmp(s.code, "grid_worker"),
	      "网格员 is the role grid_worker");
	CHECK(nt_scope_parse(dbc, "w1-1", &s) == 0 && !strcmp(s.kind, "group") && !strcmp(s.code, "W1-1"),
	      "a group by its code, any case: %s %s", s.kind, s.code);
	CHECK(nt_scope_parse(dbc, "第一网格", &s) == 0 && !strcmp(s.kind, "grid") && !strcmp(s.code, "W1"),
	      "a grid by its name: %s %s", s.kind, s.code);
	CHECK(nt_scope_parse(dbc, "W9", &s) == -ENOENT, "an unknown scope");
	CHECK(nt_scope_parse(dbc, "W1' OR 1=1 --", &s) == -ENOENT, "SQL in a scope name is only a name");

	nt_scope_parse(dbc, "W1-1", &s);
	group = db_broadcast_count(dbc, &s);
	nt_scope_parse(dbc, "all", &s);
	all = db_broadcast_count(dbc, &s);
	CHECK(group == 10 && all > group, "group W1-1 reaches %d, everyone %d", group, all);
	n = 0;
	CHECK(db_broadcast_recipients(dbc, &s, count_cb, &n) == all && n == all, "the recipients are the count");

	printf("-- opt-out\n");
	nt_scope_parse(dbc, "W1-1", &s);
	CHECK(db_optout_set(dbc, "+8613800138003", true, "sms", 1000) == 1, "opt out");
	CHECK(db_optout_set(dbc, "+8613800138003", true, "sms", 1001) == 0, "again: no change");
	CHECK(db_optout_is(dbc, "+8613800138003") == 1 && db_optout_is(dbc, "+8613800138002") == 0, "who opted out");
	CHECK(db_broadcast_count(dbc, &s) == group - 1, "the group reaches one fewer");
	CHECK(db_optout_set(dbc, "+8613800138003", false, "sms", 1002) == 1 && db_broadcast_count(dbc, &s) == group,
	      "订阅: back in");

	printf("-- a notice's life\n");
	b.scope = s;
	snprintf(b.sender, sizeof(b.sender), "+8613900139101");
	b.text = "明天停水";
	snprintf(b.code, sizeof(b.code), "4821");
	b.created = b.send_at = 2000;
	CHECK(db_broadcast_add(dbc, &b, &id) == 0 && id > 0, "added, waiting for its code");
	CHECK(db_broadcast_by_code(dbc, ctx, "+8613900139101", "4821", 2001, &got) == -ENOENT,
	      "the code is not valid from before its window");
	CHECK(db_broadcast_by_code(dbc, ctx, "+8613900139102", "4821", 1000, &got) == -ENOENT,
	      "nor from another phone");
	CHECK(db_broadcast_by_code(dbc, ctx, "+8613900139101", "4821", 1000, &got) == 0 && got.id == id &&
		      !strcmp(got.text, "明天停水"),
	      "found by its sender and code");
	CHECK(db_broadcast_due(dbc, ctx, 3000, &got, NULL) == -ENOENT, "not due while it waits for its code");
	CHECK(db_broadcast_move(dbc, id, "confirm", "scheduled", 2100, 0) == 0, "confirmed");
	CHECK(db_broadcast_move(dbc, id, "confirm", "scheduled", 2100, 0) == -ENOENT, "not twice");
	CHECK(db_broadcast_due(dbc, ctx, 3000, &got, NULL) == 0 && got.id == id, "due");
	CHECK(db_sms_out_add(dbc, "+8613800138002", "【社区通知】明天停水", 3, &msg) == 0 &&
		      db_broadcast_tag(dbc, msg, id) == 0,
	      "a text of it queued");
	CHECK(db_broadcast_move(dbc, id, "scheduled", "queued", 2200, 1) == 0, "queued");
	CHECK(db_broadcast_finished(dbc, ctx, 0, &ids) == 0, "not finished while a text is queued");
	CHECK(db_optout_set(dbc, "+8613800138002", true, "sms", 2300) == 1, "its recipient opts out");
	db_broadcast_progress(dbc, id, &p);
	CHECK(p.total == 1 && p.failed == 1 && p.queued == 0, "the queued text is withdrawn (%d failed)", p.failed);
	CHECK(db_broadcast_finished(dbc, ctx, 0, &ids) == 1 && ids[0] == id, "so the notice is finished");
	CHECK(db_broadcast_move(dbc, id, "queued", "done", 2400, 0) == 0, "done");

	b.created = 5000;
	snprintf(b.code, sizeof(b.code), "1111");
	db_broadcast_add(dbc, &b, &id);
	CHECK(db_broadcast_expire(dbc, 5001) == 1 && db_broadcast_get(dbc, ctx, id, &got) == 0 &&
		      !strcmp(got.state, "expired"),
	      "a code not answered in time expires");

	db_close(dbc);
	test_db_remove(path);
	log_fini();
	talloc_free(ctx);
	printf("%d failure(s)\n", failures);
	return failures ? 1 : 0;
}
