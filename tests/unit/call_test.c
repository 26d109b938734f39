/* The group call's pure parts: SDP read and written (gateway/call/call_sdp.c), and its database side
 * (db/db_call.c) on the sample community: who is calling, whom to ring (one number per other
 * household of the group), the escalation rungs, the call and leg records, list and show. */

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <talloc.h>
#include <osmocom/core/application.h>
#include <osmocom/core/logging.h>

#include "db/db.h"
#include "db/db_call.h"
#include "db/import.h"
#include "gateway/call/call_sdp.h"
#include "gateway/call/media.h"
#include "tests/unit/testlib.h"

static int parse(const char *body, struct call_sdp *s, char *err, size_t errlen)
{
	err[0] = 0;
	return call_sdp_parse(body, strlen(body), s, err, errlen);
}

static void test_sdp(void *ctx)
{
	struct call_sdp s;
	char err[128], *mine;
	int rc;

	printf("-- SDP\n");
	rc = parse("v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\n"
		   "m=audio 4000 RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n"
		   "a=rtpmap:101 telephone-event/8000\r\n",
		   &s, err, sizeof(err));
	CHECK(rc == 0 && !strcmp(s.ip, "127.0.0.2") && s.port == 4000 && s.pt == MEDIA_PT_PCMA && s.te_pt == 101,
	      "PCMA first, telephone-event 101, session c= (%s:%u pt %d te %d)", s.ip, s.port, s.pt, s.te_pt);
	rc = parse("v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 5000 RTP/AVP 96\r\nc=IN IP4 127.0.0.9\r\n"
		   "m=audio 4002 RTP/AVP 0\r\nc=IN IP4 127.0.0.3\r\n",
		   &s, err, sizeof(err));
	CHECK(rc == 0 && !strcmp(s.ip, "127.0.0.3") && s.port == 4002 && s.pt == MEDIA_PT_PCMU && s.te_pt < 0,
	      "static PCMU without rtpmap, media c=, video skipped, no telephone-event (pt %d te %d) %s", s.pt, s.te_pt,
	      err);
	rc = parse("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		   "m=audio 4000 RTP/AVP 18 96\r\na=rtpmap:96 opus/48000/2\r\n",
		   &s, err, sizeof(err));
	CHECK(rc == -EINVAL && strstr(err, "neither PCMU nor PCMA"), "G.729 and opus only: refused (%s)", err);
	rc = parse("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n", &s,
		   err, sizeof(err));
	CHECK(rc == -EINVAL && strstr(err, "no audio"), "a rejected (port 0) stream is no audio (%s)", err);
	rc = parse("v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ::1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n", &s, err,
		   sizeof(err));
	CHECK(rc == -EINVAL && strstr(err, "IPv4"), "IPv6 only: refused (%s)", err);
	rc = parse("this is not SDP", &s, err, sizeof(err));
	CHECK(rc == -EINVAL && err[0], "garbage: refused with a reason (%s)", err);
	CHECK(call_sdp_parse("", 0, &s, err, sizeof(err)) == -EINVAL && strstr(err, "no SDP"), "no body (%s)", err);
	/* make fuzz: sofia-sip's parser never returns on these (tests/fuzz/regressions/call_sdp/) */
	rc = parse("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 "
		   "\x01x\r\n",
		   &s, err, sizeof(err));
	CHECK(rc == -EINVAL && strstr(err, "media line"), "a control byte in the format list: refused (%s)", err);
	rc = parse(
		"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 é\r\n",
		&s, err, sizeof(err));
	CHECK(rc == -EINVAL && strstr(err, "media line"), "a UTF-8 letter in the format list: refused (%s)", err);
	rc = parse("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=o 5 2 ;\r\n", &s, err,
		   sizeof(err));
	CHECK(rc == -EINVAL && strstr(err, "media line"), "a ';' in the format list: refused (%s)", err);
	rc = parse("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=o 0X /\r\n", &s, err,
		   sizeof(err));
	CHECK(rc == -EINVAL && strstr(err, "media line"), "a '/' in the format list: refused (%s)", err);
	rc = parse("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		   "m=video 4000/2 UDP/TLS/RTP/SAVP 96\r\nm=audio 4002 RTP/AVP 0 8 101\r\n",
		   &s, err, sizeof(err));
	CHECK(rc == 0 && s.port == 4002, "a port count and a protocol with '/' are fine (%s)", rc ? err : "");

	mine = call_sdp_make(ctx, "127.0.0.1", 7, 20000, -1, -1);
	rc = parse(mine, &s, err, sizeof(err));
	CHECK(rc == 0 && s.port == 20000 && s.pt == MEDIA_PT_PCMU && s.te_pt == CALL_SDP_TE_PT &&
		      strstr(mine, "m=audio 20000 RTP/AVP 0 8 101\r\n") && strstr(mine, "a=rtpmap:8 PCMA/8000"),
	      "our offer: PCMU, PCMA, telephone-event 101, and it parses back");
	mine = call_sdp_make(ctx, "127.0.0.1", 8, 20002, MEDIA_PT_PCMA, 96);
	rc = parse(mine, &s, err, sizeof(err));
	CHECK(rc == 0 && s.pt == MEDIA_PT_PCMA && s.te_pt == 96 && strstr(mine, "m=audio 20002 RTP/AVP 8 96\r\n") &&
		      !strstr(mine, "PCMU"),
	      "our answer: the chosen codec only, the peer's telephone-event type");
	mine = call_sdp_make(ctx, "127.0.0.1", 9, 20004, MEDIA_PT_PCMU, -1);
	CHECK(!strstr(mine, "telephone-event") && strstr(mine, "m=audio 20004 RTP/AVP 0\r\n"),
	      "no telephone-event in the answer when the peer offered none");
}

static void count_line(void *data, const char *line)
{
	int *n = data;

	printf("     | %s\n", line);
	(*n)++;
}

static void test_db(struct db_context *dbc)
{
	struct db_call_target t[16], e;
	struct db_call_caller who;
	struct db_call c = {0};
	struct db_call_leg l = {0};
	bool excluded = true;
	int n, rc;

	printf("-- who calls, whom to ring\n");
	rc = db_call_caller_get(dbc, "+8613800138001", &who);
	CHECK(rc == 0 && who.household_id > 0 && who.grp_id > 0 && !strcmp(who.building, "1幢") &&
		      !strcmp(who.unit, "1单元") && !strcmp(who.room, "101"),
	      "a resident: household, group, %s%s%s", who.building, who.unit, who.room);
	CHECK(db_call_caller_get(dbc, "+8613912345678", &who) == -ENOENT, "an unknown number: -ENOENT");
	rc = db_call_caller_get(dbc, "+8613900139101", &who);
	CHECK(rc == 0 && who.household_id == 0 && who.grp_id == 0, "a staff phone: known, no household, no group");

	db_call_caller_get(dbc, "+8613800138001", &who);
	n = db_call_targets(dbc, who.grp_id, who.household_id, t, 16);
	for (int i = 0; i < n; i++)
		if (t[i].household_id == who.household_id || !strcmp(t[i].number, "+8613800138201"))
			excluded = false;
	CHECK(n == 8 && excluded, "the other 8 households of W1-1, the caller's household (both its phones) left out");
	CHECK(n > 0 && !strcmp(t[0].number, "+8613800138002"), "one number per household: the primary (%s)",
	      n > 0 ? t[0].number : "");
	CHECK(db_call_targets(dbc, who.grp_id, who.household_id, t, 3) == 3, "at most max");

	rc = db_call_escalation(dbc, who.grp_id, 0, &e);
	CHECK(rc == 0 && !strcmp(e.number, "+8613900139001"), "rung 0: the grid worker (%s)", rc ? "" : e.number);
	rc = db_call_escalation(dbc, who.grp_id, 1, &e);
	CHECK(rc == 0 && !strcmp(e.number, "+8613900139101"), "rung 1: the first staff phone (%s)", rc ? "" : e.number);
	CHECK(db_call_escalation(dbc, who.grp_id, 2, &e) == -ENOENT, "no rung 2");

	printf("-- records\n");
	snprintf(c.caller, sizeof(c.caller), "13800138001");
	c.caller_phone_id = who.phone_id;
	c.household_id = who.household_id;
	c.grp_id = who.grp_id;
	snprintf(c.state, sizeof(c.state), "ringing");
	c.started = 1700000000;
	c.started_ms = 1700000000123;
	rc = db_call_add(dbc, &c);
	CHECK(rc == 0 && c.id > 0, "a call recorded");
	l.call_id = c.id;
	snprintf(l.kind, sizeof(l.kind), "neighbour");
	snprintf(l.number, sizeof(l.number), "%s", t[0].number);
	l.phone_id = t[0].phone_id;
	l.household_id = t[0].household_id;
	l.invited_at = c.started;
	rc = db_call_leg_add(dbc, &l);
	CHECK(rc == 0 && l.id > 0, "a leg recorded");
	l.answered_at = c.started + 2;
	l.joined_at = c.started + 5;
	l.ended_at = c.started + 60;
	l.sip_status = 200;
	snprintf(l.result, sizeof(l.result), "released");
	CHECK(db_call_leg_update(dbc, &l) == 0, "the leg updated");
	snprintf(l.kind, sizeof(l.kind), "mayor");
	CHECK(db_call_leg_add(dbc, &l) < 0, "a leg of an unknown kind is refused");
	snprintf(c.state, sizeof(c.state), "released");
	c.dialed_ms = c.started_ms + 4;
	c.first_join_at = c.started + 5;
	c.ended_at = c.started + 60;
	snprintf(c.end_reason, sizeof(c.end_reason), "caller_hangup");
	CHECK(db_call_update(dbc, &c) == 0, "the call updated");
	snprintf(c.state, sizeof(c.state), "dancing");
	CHECK(db_call_update(dbc, &c) < 0, "an unknown state is refused");

	n = 0;
	rc = db_call_list(dbc, 10, count_line, &n);
	CHECK(rc == 1 && n == 1, "call list: one line");
	n = 0;
	rc = db_call_show(dbc, c.id, count_line, &n);
	CHECK(rc == 0 && n == 2, "call show: the call and its leg");
	CHECK(db_call_show(dbc, c.id + 100, count_line, &n) == -ENOENT, "show an unknown call: -ENOENT");
}

int main(void)
{
	void *ctx = talloc_named_const(NULL, 0, "call_test");
	char path[64];
	struct db_context *dbc;
	int rc;

	test_logging(ctx);
	test_sdp(ctx);

	rc = test_sample_db(ctx, "call-test", path, sizeof(path), &dbc);
	CHECK(rc == 0, "a new database with the sample community");
	if (rc)
		return 1;
	test_db(dbc);

	db_close(dbc);
	test_db_remove(path);
	talloc_free(ctx);
	printf("%s\n", failures ? "FAILED" : "all passed");
	return failures ? 1 : 0;
}
