/* The SOS rules on the fake core (tests/unit/fake_core.h), in milliseconds: an alarm alerts the
 * approved step-1 contacts with the map link and nobody else; a repeat attaches to the incident;
 * nobody acknowledges within the step delay: step 2 is alerted; a stranger's "1" is refused; a
 * contact's "1" acknowledges it, the others are told, the TK watch gets its stop word, and the
 * escalation stops; a low-battery text is a notice, not an alarm; the pending binding never gets
 * a location. The same rules tests/e2e/test_sos*.py check through libgammu and modemsim. */
#include <errno.h>
#include <string.h>

#include <osmocom/core/talloc.h>

#include "db/db.h"
#include "gateway/sos/sos.h"
#include "tests/unit/fake_core.h"
#include "tests/unit/testlib.h"

#define WATCH	    "+8613912340001"
#define F1	    "+8613700000001" /* step 1, approved */
#define F2	    "+8613700000002" /* step 1, approved */
#define F3	    "+8613700000003" /* step 2, approved */
#define PENDING	    "+8613700000004" /* step 1, never approved */
#define STRANGER    "+8613700000099"
#define GRID_WORKER "+8613900139001"
#define PRIMARY	    "+8613800138001" /* household 1-1-101's primary phone */
#define LINK	    "position=114.051331,22.566923&coordinate=wgs84"
#define SOS_TEXT                                                                                                       \
	"lat: 22.566923 long: 114.051331 speed:0.00 28/10/09 03:33 F:4.32V,0, Signal:F\n"                              \
	"help me! imei:359587011016261 05 41.9"

static int64_t watch_id;

/* The watch's incident (any state, acknowledged at most a day ago): its id, state and step. */
static bool incident(struct db_context *dbc, void *ctx, const char *state, int step, int64_t *id)
{
	struct db_sos_incident inc;

	if (db_sos_incident_open(dbc, ctx, watch_id, fake_now - 86400, &inc) < 0)
		return false;
	if (id)
		*id = inc.id;
	return !strcmp(inc.state, state) && (step < 0 || inc.step == step);
}

static void bind(struct db_context *dbc, int64_t dev, const char *number, int step, bool approve)
{
	int64_t id;

	OSMO_ASSERT(db_binding_put(dbc, dev, number, step, approve, NULL, "test", fake_now, &id) == 0);
}

int main(void)
{
	void *ctx = talloc_named_const(NULL, 0, "sos_rules_test");
	struct db_context *dbc;
	const struct fake_sms *s;
	char path[128];
	struct gw *gw;
	int64_t dev, first = 0, id = 0;

	test_logging(ctx);
	OSMO_ASSERT(test_sample_db(ctx, "sos-rules", path, sizeof(path), &dbc) == 0);
	OSMO_ASSERT(db_device_add(dbc, WATCH, NULL, "1-1-101", "邹丽", "tk", &dev) == 0);
	watch_id = dev;
	bind(dbc, dev, F1, 1, true);
	bind(dbc, dev, F2, 1, true);
	bind(dbc, dev, F3, 2, true);
	bind(dbc, dev, PENDING, 1, false);
	gw = fake_gw(ctx, dbc);
	CHECK(sos_init(gw) == 0, "sos registers its handlers, due work and ring hook");
	CHECK(osmo_tdef_get(sos_tdefs, SOS_T_ACK_WINDOW, OSMO_TDEF_S, -1) == 1800, "the SOS times have their defaults");
	OSMO_ASSERT(osmo_tdef_set(sos_tdefs, SOS_T_STEP, 60, OSMO_TDEF_S) == 0);

	/* the alarm */
	CHECK(fake_deliver(gw, WATCH, SOS_TEXT) == 0, "the watch's alarm is stored and routed");
	CHECK(incident(dbc, ctx, "notifying", 1, &first) && db_sos_open_count(dbc) == 1,
	      "one incident, notifying step 1");
	for (const char *const *n = (const char *const[]){F1, F2, NULL}; *n; n++) {
		s = fake_take(*n, "SOS求救", "邹丽", "1幢1单元101", "电量4.32V", "回复1或收到确认", NULL);
		CHECK(s && strstr(s->text, LINK) && s->prio == DB_PRIO_SOS,
		      "%s: the alert with the map link, at SOS priority", *n);
	}
	CHECK(fake_count(PENDING) == 0, "the pending binding gets nothing");
	CHECK(fake_count(F3) == 0 && fake_count(GRID_WORKER) == 0, "step 2 and the grid worker not yet");

	/* a repeat within the window attaches */
	CHECK(fake_deliver(gw, WATCH, SOS_TEXT) == 0 && incident(dbc, ctx, "notifying", 1, &id) && id == first &&
		      db_sos_open_count(dbc) == 1,
	      "a repeat of the alarm attaches to the open incident");

	/* nobody acknowledges: the step delay passes, step 2 is alerted */
	fake_now += 30;
	fake_due(gw);
	CHECK(fake_count(F3) == 0, "before the step delay: no escalation");
	fake_now += 31;
	fake_due(gw);
	s = fake_take(F3, "SOS求救", NULL);
	CHECK(s && strstr(s->text, LINK), "after the step delay: step 2 gets the alert with the link");
	CHECK(incident(dbc, ctx, "notifying", 2, NULL), "the incident is at step 2");

	/* a stranger's 1 is refused */
	CHECK(fake_deliver(gw, STRANGER, "1") == 0, "a stranger's 1 is handled");
	CHECK(fake_take(STRANGER, "不是该报警手表的绑定联系人", NULL) != NULL, "and refused with a clear reply");
	CHECK(incident(dbc, ctx, "notifying", 2, NULL), "the incident stays open");

	/* F1 acknowledges (full-width, with punctuation) */
	CHECK(fake_deliver(gw, F1, "ｏｋ！") == 0, "F1's acknowledgement is routed");
	CHECK(incident(dbc, ctx, "acknowledged", -1, &id) && id == first, "acknowledged");
	CHECK(fake_take(F1, "已确认", NULL) != NULL, "F1 is thanked");
	s = fake_take(F2, "已响应", NULL);
	CHECK(s && strstr(s->text, F1), "F2 is told who responded");
	CHECK(fake_take(WATCH, "help me!", NULL) != NULL, "the TK watch gets its stop word");

	/* the escalation stops */
	{
		unsigned before = fake_count(NULL);

		fake_now += 3600;
		fake_due(gw);
		CHECK(fake_count(NULL) == before && fake_count(GRID_WORKER) == 0,
		      "acknowledged: no further alerts an hour later");
	}

	/* low battery: a notice to the approved step-1 contacts, no incident */
	CHECK(fake_deliver(gw, WATCH, "Attention!!!battery too low, please charge.") == 0, "low battery routed");
	CHECK(fake_take(F1, "低电量", NULL) && fake_take(F2, "低电量", NULL), "the step-1 contacts get the notice");
	CHECK(incident(dbc, ctx, "acknowledged", -1, &id) && id == first && db_sos_open_count(dbc) == 0,
	      "no new incident for a low battery");

	/* battery supervision (issue 12): the grid worker is told once too; not again while it stays
	 * low, however long; a report with a good battery ends it and they are told */
	CHECK(fake_take(GRID_WORKER, "手表电量低", NULL) != NULL, "the grid worker is told the battery is low");
	CHECK(fake_take(F1, "手表电量低", NULL) == NULL, "the contacts are not told twice (they got 低电量)");
	CHECK(db_watch_is_open(dbc, dev, "battery") == 1, "a battery supervision is open");
	fake_now += 6 * 3600;
	CHECK(fake_deliver(gw, WATCH, "低电报警 电量:12%") == 0, "a second low battery, hours later");
	CHECK(fake_take(F1, "电量", NULL) == NULL && fake_take(GRID_WORKER, "电量", NULL) == NULL,
	      "not told again while the battery stays low");
	CHECK(fake_deliver(gw, WATCH,
			   "http://maps.google.com/maps?q=31.222073,121.354335\nF1 D2026/12/02T08:00:00 B80%") == 0,
	      "a position report with the battery at 80%%");
	CHECK(fake_take(F1, "电量恢复", NULL) && fake_take(F2, "电量恢复", NULL) &&
		      fake_take(GRID_WORKER, "电量恢复", NULL),
	      "the contacts and the grid worker are told the battery is good again");
	CHECK(db_watch_is_open(dbc, dev, "battery") == 0, "the supervision is closed");
	CHECK(fake_deliver(gw, WATCH,
			   "http://maps.google.com/maps?q=31.222073,121.354335\nF1 D2026/12/02T09:00:00 B9%") == 0,
	      "a position report with the battery at 9%%");
	CHECK(fake_take(F1, "手表电量低", NULL) && fake_take(GRID_WORKER, "手表电量低", NULL),
	      "a low value in a position report: the contacts and the grid worker are told");
	while (fake_take(NULL, NULL))
		;

	CHECK(fake_take(PENDING, NULL) == NULL, "the pending binding got nothing at all");

	/* binding by SMS (issue 13, hole 7): the same answer for a watch and for any other number,
	 * never the wearer's name; codes expire; a number that guesses codes is locked out */
	{
		const struct fake_sms *a, *b, *code_sms;
		const char *c;
		char code[8] = "", wrong[32];

		OSMO_ASSERT(fake_deliver(gw, STRANGER, "绑定 13812345678") == 0);
		a = fake_take(STRANGER, "已收到您的绑定申请", NULL);
		OSMO_ASSERT(fake_deliver(gw, STRANGER, "BD " WATCH) == 0);
		b = fake_take(STRANGER, "已收到您的绑定申请", NULL);
		CHECK(a && b && !strstr(b->text, "邹丽"),
		      "BD of a watch and of another number: the same generic answer, "
		      "no name");
		code_sms = fake_take(PRIMARY, "申请绑定", "确认", NULL);
		c = code_sms ? strstr(code_sms->text, "确认 ") : NULL;
		if (c)
			memcpy(code, c + strlen("确认 "), 6);
		CHECK(code[0], "the household's primary phone gets a code (%s)", code);
		OSMO_ASSERT(fake_deliver(gw, STRANGER, "BD " WATCH) == 0);
		OSMO_ASSERT(fake_deliver(gw, STRANGER, "BD " WATCH) == 0);
		CHECK(fake_count(STRANGER) == 4 && !fake_take(STRANGER, "x", NULL),
		      "a 4th BD within the hour: not answered");
		CHECK(fake_take(PRIMARY, "申请绑定", NULL) && !fake_take(PRIMARY, "申请绑定", NULL),
		      "the primary phone got 2 more codes, then no more (the limit per requester)");

		/* a wrong code 5 times: locked, the right one no longer counts */
		for (int i = 0; i < 5; i++) {
			snprintf(wrong, sizeof(wrong), "确认 %06d", 100000 + i);
			OSMO_ASSERT(fake_deliver(gw, PRIMARY, wrong) == 0);
		}
		snprintf(wrong, sizeof(wrong), "确认 %s", code);
		OSMO_ASSERT(fake_deliver(gw, PRIMARY, wrong) == 0);
		CHECK(fake_take(PRIMARY, "错误次数过多", NULL) != NULL, "after 5 wrong codes the number is locked out");
		fake_now += 3601;
		OSMO_ASSERT(fake_deliver(gw, PRIMARY, wrong) == 0);
		CHECK(fake_take(PRIMARY, "无效、已过期", NULL) != NULL,
		      "an hour later the code has expired (10 minutes)");
		CHECK(fake_take(STRANGER, "绑定成功", NULL) == NULL, "and the stranger is not bound");

		/* a fresh code within its 10 minutes binds */
		OSMO_ASSERT(fake_deliver(gw, "+8613700000005", "BD " WATCH) == 0);
		code_sms = fake_take(PRIMARY, "申请绑定", NULL);
		c = code_sms ? strstr(code_sms->text, "确认 ") : NULL;
		code[0] = '\0';
		if (c)
			memcpy(code, c + strlen("确认 "), 6);
		fake_now += 300;
		snprintf(wrong, sizeof(wrong), "QR %s", code);
		OSMO_ASSERT(fake_deliver(gw, PRIMARY, wrong) == 0);
		CHECK(fake_take("+8613700000005", "绑定成功", "邹丽", NULL) != NULL,
		      "a code confirmed within its 10 minutes binds (and now the contact may know whose watch)");
	}

	/* a removed binding gets no location any more (nor anything else) */
	{
		struct db_binding bf2;

		OSMO_ASSERT(db_binding_get(dbc, dev, F2, &bf2) == 0 &&
			    db_binding_remove(dbc, bf2.id, "test", fake_now) == 0);
		fake_now += 7200;
		unsigned before_f2 = fake_count(F2);

		CHECK(fake_deliver(gw, WATCH, SOS_TEXT) == 0 && fake_take(F1, "SOS求救", LINK, NULL) != NULL,
		      "a new alarm: F1 alerted with the link");
		CHECK(fake_count(F2) == before_f2, "F2, whose binding was removed, gets nothing");
	}

	/* staff in the console (sos_http.c): acknowledge on behalf of a contact, resolve, false alarm,
	 * approve and remove a binding: the same paths as the SMS, inside a transaction */
	{
		const char *actor = "web:王敏 (+8613900139101)";
		struct db_sos_event *ev;
		struct db_binding bp;
		unsigned before;
		int64_t inc2;

		CHECK(incident(dbc, ctx, "notifying", 1, &id), "the new alarm's incident is notifying");
		before = fake_count(NULL);
		OSMO_ASSERT(db_begin(dbc) == 0);
		CHECK(sos_ack_staff(gw, id, "+8613900139101", STRANGER, actor, NULL) == -EPERM,
		      "staff cannot acknowledge on behalf of a number that is no contact");
		CHECK(sos_ack_staff(gw, 999999, "+8613900139101", NULL, actor, NULL) == -ENOENT, "an unknown incident");
		CHECK(sos_close(gw, 999999, false, actor, NULL) == -ENOENT, "nor close it");
		OSMO_ASSERT(db_commit(dbc) == 0);
		CHECK(fake_count(NULL) == before && incident(dbc, ctx, "notifying", 1, NULL),
		      "refused: nothing sent, the incident unchanged");

		OSMO_ASSERT(db_begin(dbc) == 0);
		CHECK(sos_ack_staff(gw, id, "+8613900139101", F1, actor, "打电话确认") == 0,
		      "staff acknowledge on behalf of F1");
		OSMO_ASSERT(db_commit(dbc) == 0);
		{
			struct db_sos_incident inc;

			CHECK(db_sos_incident_get(dbc, ctx, id, &inc) == 0 && !strcmp(inc.state, "acknowledged") &&
				      !strcmp(inc.acked_by, F1) && inc.next_at == 0,
			      "acknowledged by F1, escalation stopped");
		}
		CHECK(fake_take(F1, "已确认", NULL) != NULL, "F1 is thanked as if F1 had replied");
		CHECK(fake_take(WATCH, "help me!", NULL) != NULL, "the watch gets its stop word");
		OSMO_ASSERT(db_begin(dbc) == 0);
		CHECK(sos_ack_staff(gw, id, "+8613900139101", NULL, actor, NULL) == -EALREADY,
		      "acknowledging again: -EALREADY");
		CHECK(sos_close(gw, id, false, actor, "已送医") == 0, "staff resolve it");
		CHECK(sos_close(gw, id, true, actor, NULL) == -EALREADY, "closing again: -EALREADY");
		OSMO_ASSERT(db_commit(dbc) == 0);
		CHECK(fake_take(F1, "已处理", NULL) == NULL, "acknowledged before: nobody is told again");
		CHECK(db_sos_event_rows(dbc, ctx, id, &ev) == 3 && !strcmp(ev[0].to, "raised") &&
			      !strcmp(ev[1].to, "acknowledged") && !strcmp(ev[1].actor, actor) &&
			      strstr(ev[1].note, "on behalf of " F1) && strstr(ev[1].note, "打电话确认") &&
			      !strcmp(ev[2].from, "acknowledged") && !strcmp(ev[2].to, "resolved") &&
			      !strcmp(ev[2].note, "已送医"),
		      "the history: raised, acknowledged by staff for F1, resolved, with the notes");

		/* a false alarm nobody acknowledged: those alerted are told, the watch is stopped */
		fake_now += 7200;
		OSMO_ASSERT(fake_deliver(gw, WATCH, SOS_TEXT) == 0);
		CHECK(incident(dbc, ctx, "notifying", 1, &inc2) && inc2 != id, "another alarm, another incident");
		OSMO_ASSERT(db_begin(dbc) == 0);
		CHECK(sos_close(gw, inc2, true, actor, "误按") == 0, "staff call it a false alarm");
		OSMO_ASSERT(db_commit(dbc) == 0);
		CHECK(fake_take(F1, "误报", "邹丽", NULL) != NULL, "F1, alerted, is told it was a false alarm");
		CHECK(fake_take(WATCH, "help me!", NULL) != NULL, "and the watch gets its stop word");
		CHECK(db_sos_open_count(dbc) == 0, "nothing open");

		/* the pending binding approved by staff, then removed */
		OSMO_ASSERT(db_binding_get(dbc, dev, PENDING, &bp) == 0);
		OSMO_ASSERT(db_begin(dbc) == 0);
		CHECK(sos_binding_approve(gw, bp.id, actor) == 0, "staff approve the pending binding");
		CHECK(sos_binding_approve(gw, bp.id, actor) == -EALREADY, "again: -EALREADY");
		CHECK(sos_binding_approve(gw, 999999, actor) == -ENOENT, "an unknown binding: -ENOENT");
		OSMO_ASSERT(db_commit(dbc) == 0);
		CHECK(fake_take(PENDING, "绑定成功", "邹丽", NULL) != NULL, "the contact is told");
		OSMO_ASSERT(db_begin(dbc) == 0);
		CHECK(sos_binding_remove(gw, bp.id, actor) == 0, "staff remove it");
		CHECK(sos_binding_remove(gw, bp.id, actor) == -ENOENT, "removed already: -ENOENT");
		OSMO_ASSERT(db_commit(dbc) == 0);
		CHECK(fake_take(PENDING, "已解除", NULL) != NULL, "the contact is told");
	}

	db_close(dbc);
	test_db_remove(path);
	talloc_free(ctx);
	return failures ? 1 : 0;
}
