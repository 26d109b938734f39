/* db/: numbers, the outbox (claim order, next_try, sent/retry/fail/recover, status
 * reports), the inbox (dedup), concatenated parts (order, duplicates, expiry, ref reuse), SQLite
 * codes as -errno, and the transition tables of requests and SOS incidents. */

#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <talloc.h>
#include <osmocom/core/application.h>
#include <osmocom/core/logging.h>
#include <osmocom/core/utils.h>

#include "db/db.h"
#include "tests/unit/testlib.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- numbers ---- */

static void test_number_norm(void)
{
	static const struct {
		const char *in;
		int rc;
		const char *out;
	} cases[] = {
		{"+86 138-0013-8000", 0, "+8613800138000"},
		{"8613800138000", 0, "+8613800138000"},
		{"13800138000", 0, "+8613800138000"},
		{"  13800138000\t", 0, "+8613800138000"},
		{"008613800138000", 0, "+8613800138000"},
		{"+8613800138000", 0, "+8613800138000"},
		{"+44 20 7946 0958", 0, "+442079460958"},
		{"+86 (0)571 8800 1234", 0, "+8657188001234"},
		{"0571-88001234", 0, "+8657188001234"},
		{"(010) 6552 9988", 0, "+861065529988"},
		{"10086", 0, "10086"},
		{"12345", 0, "12345"},
		{"6995", 0, "6995"},
		{"106575000123456789", 0, "106575000123456789"},
		{"10658888888", 0, "10658888888"}, /* 11 digits, but a service number, not a mobile */
		{"ChinaMobile", 0, "ChinaMobile"},
		{" 95555 Bank ", 0, "95555 Bank"},
		{"中国移动", 0, "中国移动"},
		{"", -EINVAL, ""},
		{"   ", -EINVAL, ""},
		{"+", -EINVAL, ""},
		{"+123", -EINVAL, ""},
		{"+1234567890123456", -EINVAL, ""},
		{"+0123456789", -EINVAL, ""},
		{"138#0013", -EINVAL, ""},
		{"1380013+8000", -EINVAL, ""},
		{"123456789012345678901", -EINVAL, ""},
		{"Chi\x01na", -EINVAL, ""},
		{"bad\xff", -EINVAL, ""},
	};
	char out[32], small[8];

	printf("-- db_number_norm\n");
	for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
		int rc = db_number_norm(cases[i].in, out, sizeof(out));

		CHECK(rc == cases[i].rc && (rc < 0 || !strcmp(out, cases[i].out)), "norm(\"%s\") = %d \"%s\"",
		      cases[i].in, rc, rc == 0 ? out : "");
	}
	CHECK(db_number_norm("13800138000", small, sizeof(small)) == -EINVAL, "norm into a too small buffer: -EINVAL");
	CHECK(db_number_norm(NULL, out, sizeof(out)) == -EINVAL, "norm(NULL): -EINVAL");
}

/* ---- outbox ---- */

static int64_t add_out(struct db_context *dbc, const char *dest, const char *text, int prio)
{
	int64_t id = 0;
	int rc = db_sms_out_add(dbc, dest, text, prio, &id);

	if (rc < 0) {
		printf("FAIL db_sms_out_add: %d\n", rc);
		failures++;
	}
	return id;
}

static void line_cb(void *data, const char *line)
{
	char **lines = data;

	for (int i = 0; i < 16; i++) {
		if (!lines[i]) {
			lines[i] = talloc_strdup(NULL, line);
			return;
		}
	}
}

static void free_lines(char **lines)
{
	for (int i = 0; i < 16; i++) {
		talloc_free(lines[i]);
		lines[i] = NULL;
	}
}

static void plan_cb(void *data, const char *line)
{
	char *plan = data;

	strncat(plan, line, 1023 - strlen(plan));
	strncat(plan, "; ", 1023 - strlen(plan));
}

static void test_outbox(struct db_context *dbc, void *ctx)
{
	struct db_sms_out o;
	int64_t bulk, reply1, sos, reply2, staff, counts[_NUM_DB_OUT];
	int64_t t = 1700000000;
	char *lines[16] = {NULL};
	int n = 0, rc;

	printf("-- outbox\n");
	bulk = add_out(dbc, "+8613800138001", "bulk", DB_PRIO_BULK);
	reply1 = add_out(dbc, "+8613800138002", "reply 1", DB_PRIO_REPLY);
	sos = add_out(dbc, "+8613800138003", "SOS 紧急", DB_PRIO_SOS);
	reply2 = add_out(dbc, "+8613800138004", "reply 2", DB_PRIO_REPLY);
	CHECK(db_sms_out_add(dbc, "", "x", DB_PRIO_REPLY, NULL) == -EINVAL, "empty destination refused");

	rc = db_sms_out_claim(dbc, ctx, "m1", t, &o);
	CHECK(rc == 0 && o.id == sos && o.prio == DB_PRIO_SOS && o.attempts == 1 && !strcmp(o.text, "SOS 紧急") &&
		      !strcmp(o.dest, "+8613800138003") && o.last_modem[0] == '\0' && o.created > 0,
	      "claim 1 takes the SOS first (id %" PRId64 ", attempts %d)", o.id, o.attempts);
	rc = db_sms_out_retry(dbc, sos, t + 100, "CMS ERROR 500");
	CHECK(rc == 0, "retry the SOS at t+100");
	CHECK(db_sms_out_retry(dbc, sos, t + 100, "again") == -ENOENT, "retry of a queued message: -ENOENT");

	rc = db_sms_out_claim(dbc, ctx, "m2", t, &o);
	CHECK(rc == 0 && o.id == reply1, "claim 2 at t: the older reply (the SOS is not due yet)");
	staff = add_out(dbc, "+8613800138005", "staff", DB_PRIO_STAFF);
	rc = db_sms_out_claim(dbc, ctx, "m2", t, &o);
	CHECK(rc == 0 && o.id == staff, "claim 3 at t: the staff message queued later beats the older reply");
	rc = db_sms_out_claim(dbc, ctx, "m2", t, &o);
	CHECK(rc == 0 && o.id == reply2, "claim 4 at t: the second reply");
	rc = db_sms_out_claim(dbc, ctx, "m2", t, &o);
	CHECK(rc == 0 && o.id == bulk, "claim 5 at t: bulk last");
	rc = db_sms_out_claim(dbc, ctx, "m2", t + 99, &o);
	CHECK(rc == -ENOENT, "claim at t+99: nothing due (-ENOENT)");
	rc = db_sms_out_claim_other(dbc, ctx, "m1", t + 100, &o);
	CHECK(rc == -ENOENT, "claim_other on m1 at t+100: the SOS that failed on m1 is left for another modem");
	rc = db_sms_out_claim(dbc, ctx, "m3", t + 100, &o);
	CHECK(rc == 0 && o.id == sos && o.attempts == 2 && !strcmp(o.last_modem, "m1"),
	      "claim at t+100: the SOS again, attempt %d, last modem \"%s\"", o.attempts, o.last_modem);

	CHECK(db_sms_out_sent(dbc, sos, "12,13", t + 101) == 0, "SOS sent on m3 with refs 12,13");
	CHECK(db_sms_out_sent(dbc, sos, "12,13", t + 101) == -ENOENT, "sent twice: -ENOENT");
	CHECK(db_sms_out_sent(dbc, reply1, "7", t + 102) == 0, "reply 1 sent on m2 with ref 7");
	CHECK(db_sms_out_fail(dbc, bulk, "CMS ERROR 21") == 0, "bulk failed for good");
	CHECK(db_sms_out_fail(dbc, sos, "late") == -ENOENT, "fail of a sent message: -ENOENT");
	CHECK(db_sms_out_fail(dbc, 999999, "x") == -ENOENT, "fail of an unknown id: -ENOENT");

	/* status reports */
	CHECK(db_sms_out_report(dbc, "m3", 13, 0x00, t + 110) == 0, "report ref 13 on m3: matched");
	CHECK(db_sms_out_report(dbc, "m3", 3, 0x00, t + 110) == -ENOENT, "report ref 3 on m3 does not match \"12,13\"");
	CHECK(db_sms_out_report(dbc, "m1", 13, 0x00, t + 110) == -ENOENT, "report ref 13 on m1: -ENOENT");
	CHECK(db_sms_out_report(dbc, "m2", 7, 0x20, t + 110) == 0, "report ref 7 on m2 (0x20, still trying)");
	/* ref 7 comes round again on m2: the newest sent message gets the report */
	rc = db_sms_out_claim(dbc, ctx, "m2", t + 200, &o);
	CHECK(rc == -ENOENT, "claim at t+200: nothing queued (staff and reply 2 are still sending)");
	/* staff and reply2 are "sending" from claims 3 and 4; the claim above must have failed */
	CHECK(db_sms_out_sent(dbc, staff, "7", t + 300) == 0, "staff sent on m2 with ref 7 (ref reused)");
	CHECK(db_sms_out_report(dbc, "m2", 7, 0x41, t + 310) == 0, "report ref 7 on m2 (0x41, failed)");
	db_sms_out_list(dbc, 10, line_cb, lines);
	{
		bool staff_failed = false, reply1_pending = false, sos_delivered = false;
		char pfx[32];

		for (int i = 0; i < 16 && lines[i]; i++) {
			snprintf(pfx, sizeof(pfx), "#%" PRId64 " ", staff);
			if (!strncmp(lines[i], pfx, strlen(pfx)))
				staff_failed = strstr(lines[i], "delivery=failed");
			snprintf(pfx, sizeof(pfx), "#%" PRId64 " ", reply1);
			if (!strncmp(lines[i], pfx, strlen(pfx)))
				reply1_pending = strstr(lines[i], "delivery=pending");
			snprintf(pfx, sizeof(pfx), "#%" PRId64 " ", sos);
			if (!strncmp(lines[i], pfx, strlen(pfx)))
				sos_delivered = strstr(lines[i], "delivery=delivered");
		}
		CHECK(staff_failed && reply1_pending && sos_delivered,
		      "reports landed: newest ref 7 failed, older ref 7 pending, SOS delivered");
		for (int i = 0; i < 16 && lines[i]; i++)
			printf("     %s\n", lines[i]);
	}
	free_lines(lines);
	CHECK(db_sms_out_report(dbc, "m3", 12, 0x00, t + 400) == 0 &&
		      db_sms_out_report(dbc, "m3", 12, 0x45, t + 400) == 0,
	      "a failed report after delivered");

	/* crash recovery: reply2 is still "sending" */
	rc = db_sms_out_recover(dbc, &n);
	CHECK(rc == 0 && n == 1, "recover: %d message back to the queue", n);
	CHECK(db_stat_get(dbc, "out_possible_dup") == 1, "stat out_possible_dup = 1");
	rc = db_sms_out_claim(dbc, ctx, "m1", t + 500, &o);
	CHECK(rc == 0 && o.id == reply2 && o.attempts == 2 && !strcmp(o.last_modem, "m2"),
	      "after recover the message is claimed again (attempt %d, last modem %s)", o.attempts, o.last_modem);
	CHECK(db_sms_out_sent(dbc, reply2, "1", t + 501) == 0, "and sent");

	CHECK(db_sms_out_counts(dbc, counts) == 0 && counts[DB_OUT_QUEUED] == 0 && counts[DB_OUT_SENDING] == 0 &&
		      counts[DB_OUT_SENT] == 4 && counts[DB_OUT_FAILED] == 1,
	      "counts: queued %" PRId64 " sending %" PRId64 " sent %" PRId64 " failed %" PRId64, counts[0], counts[1],
	      counts[2], counts[3]);

	/* a SIP reply is never taken by a modem */
	{
		int64_t sip;

		CHECK(db_sms_out_add_channel(dbc, "sip", "+8613800138009", "via sip", DB_PRIO_REPLY, &sip) == 0,
		      "queue a sip message");
		CHECK(db_sms_out_claim(dbc, ctx, "m1", t + 600, &o) == -ENOENT, "modem claim skips it");
		rc = db_sms_out_claim_channel(dbc, ctx, "sip", "sip", t + 600, &o);
		CHECK(rc == 0 && o.id == sip, "sip claim takes it");
		CHECK(db_sms_out_fail(dbc, sip, "test") == 0, "(failed to tidy up)");
	}
}

static void test_claim_scale(struct db_context *dbc, void *ctx)
{
	char plan[1024] = "";
	struct db_sms_out o;
	double t0, t1;
	int64_t first = 0, id;
	int rc;

	printf("-- claim with 10,000 queued\n");
	db_begin(dbc);
	for (int i = 0; i < 10000; i++) {
		db_sms_out_add(dbc, "+8613800138001", "bulk", i % 2 ? DB_PRIO_BULK : DB_PRIO_REPLY, &id);
		if (!first)
			first = id;
	}
	db_commit(dbc);
	CHECK(db_explain(dbc, "sms_out_claim", plan_cb, plan) == 0, "plan: %s", plan);
	/* SQLite's plan; PostgreSQL chooses by its statistics (bench/ measures the claim there) */
	if (!getenv("LINLI_TEST_PG"))
		CHECK(strstr(plan, "INDEX sms_out_queue") && !strstr(plan, "TEMP B-TREE") &&
			      !strstr(plan, "SCAN sms_out "),
		      "the claim walks the sms_out_queue index, no sort");
	/* all not due: each claim must look at the index only */
	t0 = now_s();
	for (int i = 0; i < 100; i++) {
		rc = db_sms_out_claim(dbc, ctx, "m1", 1, &o);
		if (rc != 0)
			break;
		talloc_free(o.text);
		db_sms_out_retry(dbc, o.id, 2000000000, "later");
	}
	t1 = now_s();
	printf("     100 claims + retries among 10,000 queued: %.2f ms each\n", (t1 - t0) * 10);
	rc = db_sms_out_claim(dbc, ctx, "m1", 1000, &o);
	CHECK(rc == 0 && o.prio == DB_PRIO_REPLY && o.id == first + 200,
	      "claim after 100 retried: the next reply in order (id %" PRId64 ")", o.id);
	t0 = now_s();
	for (int i = 0; i < 1000; i++) {
		rc = db_sms_out_claim(dbc, ctx, "m1", 1000, &o);
		talloc_free(o.text);
	}
	t1 = now_s();
	printf("     1000 claims with 100 not due in front, each its own commit: %.3f ms each\n", (t1 - t0));
	CHECK(rc == 0, "claims ok");
	db_begin(dbc);
	t0 = now_s();
	for (int i = 0; i < 1000; i++) {
		rc = db_sms_out_claim(dbc, ctx, "m1", 1000, &o);
		talloc_free(o.text);
	}
	t1 = now_s();
	db_commit(dbc);
	printf("     1000 claims in one transaction: %.3f ms each\n", (t1 - t0));
	CHECK(rc == 0, "claims ok");
}

/* ---- inbox ---- */

static void count_cb(void *data, int64_t id)
{
	int64_t *v = data;

	v[0]++;
	v[1] = id;
}

static void test_inbox(struct db_context *dbc, void *ctx)
{
	struct db_sms_in m = {
		.channel = "gsm",
		.modem = "m1",
		.sender = "+8613800138001",
		.text = "报事 10幢墙皮脱落",
		.raw = "0791...",
		.smsc_ts = 1700000000,
		.recv_ts = 1700000005,
		.dedup = "m1:+8613800138001:1700000000:a",
	};
	struct db_sms_in got;
	int64_t id, id2, seen[2] = {0, 0};
	int rc;

	printf("-- inbox\n");
	CHECK(db_sms_in_add(dbc, &m, &id) == 0 && id > 0, "add a message: id %" PRId64, id);
	CHECK(db_sms_in_add(dbc, &m, &id2) == -EEXIST, "the same dedup again: -EEXIST");
	rc = db_sms_in_get(dbc, ctx, id, &got);
	CHECK(rc == 0 && !strcmp(got.text, m.text) && !strcmp(got.state, "new") && !strcmp(got.modem, "m1") &&
		      got.smsc_ts == m.smsc_ts && !strcmp(got.dedup, m.dedup) && !strcmp(got.channel, "gsm"),
	      "get it back: \"%s\" state %s", got.text, got.state);
	m.channel = "sip";
	m.modem = NULL;
	m.dedup = "sip:call-id-1";
	CHECK(db_sms_in_add(dbc, &m, &id2) == 0, "add a sip message");
	rc = db_sms_in_foreach_new(dbc, count_cb, seen);
	CHECK(rc == 2 && seen[0] == 2 && seen[1] == id2, "foreach_new: 2, oldest first");
	CHECK(db_sms_in_done(dbc, id, "request 123456") == 0, "done");
	CHECK(db_sms_in_done(dbc, 999999, NULL) == -ENOENT, "done of an unknown id: -ENOENT");
	seen[0] = 0;
	rc = db_sms_in_foreach_new(dbc, count_cb, seen);
	CHECK(rc == 1 && seen[1] == id2, "foreach_new: 1 left");
	CHECK(db_sms_in_get(dbc, ctx, 999999, &got) == -ENOENT, "get of an unknown id: -ENOENT");
}

/* ---- parts ---- */

static int64_t add_part(struct db_context *dbc, const char *sender, unsigned ref, unsigned total, unsigned seq,
			const char *text, const char *dedup, int64_t recv_ts, int *rc_out)
{
	struct db_sms_part p = {
		.modem = "m1",
		.sender = sender,
		.ref = ref,
		.total = total,
		.seq = seq,
		.text = text,
		.smsc_ts = recv_ts - 2,
		.recv_ts = recv_ts,
		.dedup = dedup,
	};
	int64_t msg = -1;

	*rc_out = db_sms_part_add(dbc, &p, &msg);
	return msg;
}

static bool text_is(struct db_context *dbc, void *ctx, int64_t id, const char *text, unsigned flags)
{
	struct db_sms_in m;

	if (db_sms_in_get(dbc, ctx, id, &m) < 0)
		return false;
	printf("     message %" PRId64 ": \"%s\" flags %u dedup %s\n", id, m.text, m.flags, m.dedup);
	return !strcmp(m.text, text) && m.flags == flags;
}

static void expire_cb(void *data, int64_t id)
{
	int64_t *v = data;

	v[v[0] + 1] = id;
	v[0]++;
}

static void test_parts(struct db_context *dbc, void *ctx)
{
	const char *a = "+8613800138010";
	int64_t msg, got[8] = {0};
	int rc;

	printf("-- concatenated parts\n");
	msg = add_part(dbc, a, 42, 3, 3, "C", "a-42-3", 100, &rc);
	CHECK(rc == 0 && msg == 0, "part 3/3 first: stored, not complete");
	msg = add_part(dbc, a, 42, 3, 1, "A", "a-42-1", 101, &rc);
	CHECK(rc == 0 && msg == 0, "part 1/3: stored");
	msg = add_part(dbc, a, 42, 3, 1, "A", "a-42-1", 102, &rc);
	CHECK(rc == -EEXIST && msg == 0, "part 1/3 again: -EEXIST");
	msg = add_part(dbc, a, 42, 3, 2, "B", "a-42-2", 103, &rc);
	CHECK(rc == 0 && msg > 0, "part 2/3: complete, message %" PRId64, msg);
	CHECK(text_is(dbc, ctx, msg, "ABC", 0), "assembled in seq order");
	msg = add_part(dbc, a, 42, 3, 2, "B", "a-42-2", 104, &rc);
	CHECK(rc == -EEXIST && msg == 0, "part 2/3 after assembly: -EEXIST");

	/* the same ref reused later for a new message */
	msg = add_part(dbc, a, 42, 3, 2, "y", "a-42-2-later", 500, &rc);
	CHECK(rc == 0 && msg == 0, "ref 42 reused: part 2/3 starts a new group");
	add_part(dbc, a, 42, 3, 1, "x", "a-42-1-later", 501, &rc);
	msg = add_part(dbc, a, 42, 3, 3, "z", "a-42-3-later", 502, &rc);
	CHECK(rc == 0 && msg > 0 && text_is(dbc, ctx, msg, "xyz", 0), "the new message is assembled on its own");

	/* an incomplete group, then the ref reused while it still waits */
	add_part(dbc, a, 7, 3, 1, "p", "a-7-1", 600, &rc);
	add_part(dbc, a, 7, 3, 3, "r", "a-7-3", 601, &rc);
	msg = add_part(dbc, a, 7, 3, 1, "P", "a-7-1-b", 700, &rc);
	CHECK(rc == 0 && msg == 0, "ref 7 again with a seq the waiting group already has: new group");
	add_part(dbc, a, 7, 3, 2, "Q", "a-7-2-b", 701, &rc);
	/* the older group lacks seq 2: the newest group lacking it is the new one */
	msg = add_part(dbc, a, 7, 3, 3, "R", "a-7-3-b", 702, &rc);
	CHECK(rc == 0 && msg > 0 && text_is(dbc, ctx, msg, "PQR", 0), "the second ref 7 message completes");

	/* a different sender with the same ref is a different message */
	add_part(dbc, "+8613800138011", 7, 2, 1, "other", "b-7-1", 650, &rc);
	/* a group with a recent part is not expired */
	add_part(dbc, "+8613800138012", 9, 2, 2, "recent", "c-9-2", 5000, &rc);

	got[0] = 0;
	rc = db_sms_part_expire(dbc, 1000, expire_cb, got);
	CHECK(rc == 2 && got[0] == 2, "expire before 1000: %d messages", rc);
	CHECK(text_is(dbc, ctx, got[1], "p[…]r", DB_SMS_IN_INCOMPLETE), "missing middle part shown as […], INCOMPLETE");
	CHECK(text_is(dbc, ctx, got[2], "other[…]", DB_SMS_IN_INCOMPLETE), "missing last part shown as […]");
	msg = add_part(dbc, a, 7, 3, 2, "q", "a-7-2", 1100, &rc);
	CHECK(rc == 0 && msg == 0, "the late part 2 of the expired group starts a new group (not assembled twice)");
	got[0] = 0;
	rc = db_sms_part_expire(dbc, 1000, expire_cb, got);
	CHECK(rc == 0, "expire again before 1000: nothing");
	CHECK(add_part(dbc, a, 7, 3, 3, "r", "a-7-3", 1101, &rc) == 0 && rc == -EEXIST,
	      "a part of the expired message again: -EEXIST");
	got[0] = 0;
	rc = db_sms_part_expire(dbc, 10000, expire_cb, got);
	CHECK(rc == 2 && text_is(dbc, ctx, got[1], "[…]recent", DB_SMS_IN_INCOMPLETE) &&
		      text_is(dbc, ctx, got[2], "[…]q[…]", DB_SMS_IN_INCOMPLETE),
	      "expire the rest: %d", rc);

	add_part(dbc, a, 1, 3, 4, "bad", "bad-seq", 1, &rc);
	CHECK(rc == -EINVAL, "seq > total: -EINVAL");
	add_part(dbc, a, 1, 0, 0, "bad", "bad-total", 1, &rc);
	CHECK(rc == -EINVAL, "total 0: -EINVAL");
	msg = add_part(dbc, a, 1, 1, 1, "single", "single", 1, &rc);
	CHECK(rc == 0 && msg > 0 && text_is(dbc, ctx, msg, "single", 0), "a 1/1 part is a message at once");
	{
		int64_t n_new, n_done, waiting;

		CHECK(db_sms_in_counts(dbc, &n_new, &n_done, &waiting) == 0 && waiting == 0,
		      "in counts: new %" PRId64 ", done %" PRId64 ", parts waiting %" PRId64, n_new, n_done, waiting);
	}
}

/* ---- SQLite codes as -errno ---- */

static void test_errors(struct db_context *dbc, void *ctx)
{
	struct db_registration reg = {.created = 1000};
	struct db_request r = {.created = 1000};
	struct db_phone ph;
	int64_t phone = 0, other = 0;
	bool replaced;
	char *lines[16] = {NULL};
	int rc;

	(void)ctx;
	printf("-- SQLite codes become -errno once\n");
	rc = db_phone_register(dbc, "+8613800138077", "Chen", 0, true, &phone);
	CHECK(rc == 0 && phone > 0, "register a phone");
	rc = db_phone_register(dbc, "+8613800138077", "Chen again", 0, true, &other);
	CHECK(rc == -EEXIST, "the same number again (UNIQUE): -EEXIST (%d)", rc);
	CHECK(db_phone_get(dbc, "+8613800138077", &ph) == 0 && !strcmp(ph.name, "Chen"), "the first one is kept");

	snprintf(reg.number, sizeof(reg.number), "+8613800138077");
	snprintf(reg.name, sizeof(reg.name), "Chen");
	snprintf(reg.address, sizeof(reg.address), "1-1-101");
	snprintf(reg.state, sizeof(reg.state), "maybe");
	reg.phone_id = phone;
	rc = db_registration_add(dbc, &reg);
	CHECK(rc == -EINVAL, "a registration state the CHECK refuses: -EINVAL (%d)", rc);
	CHECK(db_registration_list(dbc, true, line_cb, lines) == 0, "and nothing was stored");
	free_lines(lines);

	rc = db_holiday_set(dbc, "2026-10-01", "party", "x", &replaced);
	CHECK(rc == -EINVAL, "a holiday kind the CHECK refuses: -EINVAL (%d)", rc);
	rc = db_holiday_set(dbc, "1 Oct", "off", "x", &replaced);
	CHECK(rc == -EINVAL, "a date the CHECK refuses: -EINVAL (%d)", rc);

	snprintf(r.ref, sizeof(r.ref), "12ab56");
	snprintf(r.reporter, sizeof(r.reporter), "+8613800138077");
	snprintf(r.state, sizeof(r.state), "received");
	r.text = "ref not six digits";
	rc = db_request_add(dbc, &r);
	CHECK(rc == -EINVAL, "a request ref the CHECK refuses: -EINVAL (%d)", rc);
	snprintf(r.ref, sizeof(r.ref), "120056");
	r.reporter_phone_id = 999999;
	rc = db_request_add(dbc, &r);
	CHECK(rc == -EINVAL, "a reporter phone that does not exist (FOREIGN KEY): -EINVAL (%d)", rc);
	r.reporter_phone_id = phone;
	CHECK(db_request_add(dbc, &r) == 0, "with a phone that exists: stored");
	CHECK(db_request_add(dbc, &r) == -EEXIST, "the same ref again: -EEXIST");
	CHECK(db_sms_in_done(dbc, 987654321, NULL) == -ENOENT, "an update of no row: -ENOENT");
}

/* ---- the state machines ---- */

static void test_states(struct db_context *dbc, void *ctx)
{
	/* every change gateway/request.c and gateway/errand.c make (issue 9: one table each) */
	static const char *const request_moves[][2] = {
		{"received", "dispatched"},	{"dispatched", "dispatched"},  {"accepted", "dispatched"},
		{"in_progress", "dispatched"},	{"returned", "dispatched"},    {"reopened", "dispatched"},
		{"dispatched", "accepted"},	{"dispatched", "in_progress"}, {"accepted", "in_progress"},
		{"in_progress", "in_progress"}, {"dispatched", "returned"},    {"accepted", "returned"},
		{"in_progress", "returned"},	{"received", "closed"},	       {"dispatched", "closed"},
		{"accepted", "closed"},		{"in_progress", "closed"},     {"returned", "closed"},
		{"reopened", "closed"},		{"closed", "visited"},	       {"closed", "reopened"},
		{"visited", "reopened"},	{"merged", "merged"},	       {"dispatched", "extended"},
		{"accepted", "extended"},	{"in_progress", "extended"},   {"extended", "extended"},
		{"extended", "in_progress"},	{"extended", "closed"},	       {"extended", "dispatched"},
	};
	static const char *const request_refused[][2] = {
		{"received", "visited"}, {"merged", "dispatched"}, {"closed", "dispatched"},
		{"visited", "closed"},	 {"received", "accepted"}, {"reopened", "accepted"},
		{"closed", "extended"},	 {"merged", "extended"},   {"extended", "visited"},
	};
	static const char *const sos_moves[][2] = {
		{"raised", "notifying"},	 {"raised", "acknowledged"},	   {"notifying", "acknowledged"},
		{"notifying", "notifying"},	 {"acknowledged", "acknowledged"}, {"raised", "resolved"},
		{"notifying", "resolved"},	 {"acknowledged", "resolved"},	   {"notifying", "false_alarm"},
		{"acknowledged", "false_alarm"},
	};
	static const char *const sos_refused[][2] = {
		{"resolved", "notifying"},   {"false_alarm", "raised"}, {"acknowledged", "notifying"},
		{"resolved", "false_alarm"}, {"notifying", "raised"},
	};
	struct db_request r = {.created = 1000}, got;
	struct db_sos_incident inc = {.created = 2000}, gi;
	bool ok = true;
	int64_t dev;
	int rc;

	printf("-- state machines: one transition table each\n");
	for (unsigned i = 0; i < ARRAY_SIZE(request_moves); i++)
		if (!db_request_transition_ok(request_moves[i][0], request_moves[i][1])) {
			printf("     refused: %s -> %s\n", request_moves[i][0], request_moves[i][1]);
			ok = false;
		}
	CHECK(ok, "every request transition the gateway makes is in the table (%zu)", ARRAY_SIZE(request_moves));
	ok = true;
	for (unsigned i = 0; i < ARRAY_SIZE(request_refused); i++)
		ok &= !db_request_transition_ok(request_refused[i][0], request_refused[i][1]);
	CHECK(ok, "and %zu others are not", ARRAY_SIZE(request_refused));
	ok = true;
	for (unsigned i = 0; i < ARRAY_SIZE(sos_moves); i++)
		ok &= db_sos_transition_ok(sos_moves[i][0], sos_moves[i][1]);
	CHECK(ok, "every incident transition the gateway makes is in the table (%zu)", ARRAY_SIZE(sos_moves));
	ok = true;
	for (unsigned i = 0; i < ARRAY_SIZE(sos_refused); i++)
		ok &= !db_sos_transition_ok(sos_refused[i][0], sos_refused[i][1]);
	CHECK(ok, "and %zu others are not (resolved and false_alarm are final)", ARRAY_SIZE(sos_refused));

	snprintf(r.ref, sizeof(r.ref), "200001");
	snprintf(r.reporter, sizeof(r.reporter), "+8613800138001");
	snprintf(r.state, sizeof(r.state), "received");
	r.text = "墙皮脱落";
	CHECK(db_request_add(dbc, &r) == 0, "a request, received");
	snprintf(r.state, sizeof(r.state), "visited");
	r.updated = 1100;
	rc = db_request_update(dbc, &r);
	CHECK(rc == -EPERM, "received -> visited refused: -EPERM (%d)", rc);
	CHECK(db_request_get(dbc, ctx, "200001", 0, &got) == 0 && !strcmp(got.state, "received") && got.updated == 1000,
	      "and nothing written (state %s)", got.state);
	snprintf(r.state, sizeof(r.state), "dispatched");
	CHECK(db_request_update(dbc, &r) == 0, "received -> dispatched");
	r.flags |= DB_REQ_OVERDUE;
	CHECK(db_request_update(dbc, &r) == 0, "dispatched -> dispatched with a flag (the overdue check)");
	snprintf(r.state, sizeof(r.state), "nonsense");
	CHECK(db_request_update(dbc, &r) == -EPERM, "a state no machine knows: -EPERM");
	r.id = 987654;
	snprintf(r.state, sizeof(r.state), "closed");
	CHECK(db_request_update(dbc, &r) == -ENOENT, "an unknown request: -ENOENT");

	CHECK(db_device_add(dbc, "+8613912349999", NULL, NULL, "测试", "tk", &dev) == 0, "a watch");
	inc.device_id = dev;
	snprintf(inc.state, sizeof(inc.state), "raised");
	snprintf(inc.kind, sizeof(inc.kind), "sos");
	inc.raw = "SOS";
	CHECK(db_sos_incident_add(dbc, &inc) == 0, "an incident, raised");
	snprintf(inc.state, sizeof(inc.state), "notifying");
	inc.step = 1;
	CHECK(db_sos_incident_update(dbc, &inc) == 0, "raised -> notifying");
	snprintf(inc.state, sizeof(inc.state), "resolved");
	inc.resolved_at = 2100;
	CHECK(db_sos_incident_update(dbc, &inc) == 0, "notifying -> resolved");
	snprintf(inc.state, sizeof(inc.state), "notifying");
	inc.step = 2;
	rc = db_sos_incident_update(dbc, &inc);
	CHECK(rc == -EPERM, "resolved -> notifying refused: -EPERM (%d)", rc);
	CHECK(db_sos_incident_get(dbc, ctx, inc.id, &gi) == 0 && !strcmp(gi.state, "resolved") && gi.step == 1,
	      "and nothing written (state %s, step %d)", gi.state, gi.step);
}

/* ---- people, transactions, counters ---- */

static void test_misc(struct db_context *dbc, void *ctx)
{
	struct db_phone ph;
	int64_t id;
	char *lines[16] = {NULL};

	(void)ctx;
	printf("-- misc\n");
	CHECK(db_phone_get(dbc, "+8613800138001", &ph) == -ENOENT, "unknown phone: -ENOENT");
	CHECK(db_stat_add(dbc, "x", 5) == 0 && db_stat_add(dbc, "x", -2) == 0 && db_stat_get(dbc, "x") == 3,
	      "stat add 5, -2: 3");
	CHECK(db_stat_get(dbc, "nope") == 0, "absent stat: 0");

	CHECK(db_begin(dbc) == 0, "begin");
	add_out(dbc, "+8613800138099", "rolled back", DB_PRIO_BULK);
	CHECK(db_begin(dbc) < 0, "begin inside a transaction fails");
	CHECK(db_rollback(dbc) == 0, "rollback");
	CHECK(db_sms_out_list(dbc, 1, line_cb, lines) == 1 && !strstr(lines[0], "rolled back"),
	      "rolled back message gone: %s", lines[0]);
	free_lines(lines);
	CHECK(db_begin(dbc) == 0, "begin");
	id = add_out(dbc, "+8613800138099", "committed", DB_PRIO_BULK);
	CHECK(db_commit(dbc) == 0, "commit");
	CHECK(db_sms_out_list(dbc, 1, line_cb, lines) == 1 && strstr(lines[0], "committed"),
	      "committed message %" PRId64 " kept", id);
	free_lines(lines);
	CHECK(db_sms_in_list(dbc, 3, line_cb, lines) == 3, "sms_in_list 3 lines");
	for (int i = 0; i < 16 && lines[i]; i++)
		printf("     %s\n", lines[i]);
	free_lines(lines);
	CHECK(db_version(dbc) == db_latest_version(), "version %d = latest %d", db_version(dbc), db_latest_version());
}

int main(void)
{
	void *root = talloc_named_const(NULL, 0, "db_test");
	char path[64];
	struct db_context *dbc;
	int rc;

	test_logging(root);

	test_number_norm();

	if (test_tmp_db(path, sizeof(path), "db-test") < 0) {
		perror("mkstemp");
		return 1;
	}
	rc = db_open(root, path, &dbc);
	CHECK(rc == 0, "open %s", path);
	if (rc == 0) {
		void *ctx = talloc_new(root);

		test_outbox(dbc, ctx);
		test_inbox(dbc, ctx);
		test_parts(dbc, ctx);
		test_misc(dbc, ctx);
		test_errors(dbc, ctx);
		test_states(dbc, ctx);
		test_claim_scale(dbc, ctx);
		talloc_free(ctx);
		db_close(dbc);
	}
	unlink(path);
	{
		char p2[sizeof(path) + 8];

		snprintf(p2, sizeof(p2), "%s-wal", path);
		unlink(p2);
		snprintf(p2, sizeof(p2), "%s-shm", path);
		unlink(p2);
	}
	log_fini();
	talloc_free(root);
	printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
	return failures ? 1 : 0;
}
