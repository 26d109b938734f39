/* The evapi framing and events of gateway/sip/sip_msg.c: netstrings cut at any byte, bad framing
 * refused, the JSON events Kamailio sends (routes/kamailio.cfg) decoded, bad ones refused with a
 * reason, and what linlid sends parsed back. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <osmocom/core/talloc.h>

#include "gateway/sip/sip_msg.h"
#include "tests/unit/testlib.h"

static int parse(const char *s, size_t len, const char **p, size_t *pl, size_t *used)
{
	return sip_ns_parse(s, len, 1000, p, pl, used);
}

static void test_netstrings(void)
{
	const char *p;
	size_t pl, used;
	const char two[] = "5:hello,3:abc,";
	char *f;

	CHECK(parse(two, strlen(two), &p, &pl, &used) == 1 && pl == 5 && !memcmp(p, "hello", 5) && used == 8,
	      "first of two netstrings");
	CHECK(parse(two + used, strlen(two) - used, &p, &pl, &used) == 1 && pl == 3 && !memcmp(p, "abc", 3),
	      "the second one after it");
	/* every prefix of a complete netstring asks for more */
	for (size_t n = 0; n < 8; n++)
		if (parse(two, n, &p, &pl, &used) != 0)
			CHECK(0, "prefix of %zu bytes wants more", n);
	CHECK(1, "every prefix of \"5:hello,\" wants more bytes");
	CHECK(parse("0:,", 3, &p, &pl, &used) == 1 && pl == 0 && used == 3, "empty payload");
	CHECK(parse("5:hello;", 8, &p, &pl, &used) == -EBADMSG, "no ',' after the payload");
	CHECK(parse(":abc,", 5, &p, &pl, &used) == -EBADMSG, "no length");
	CHECK(parse("x5:hello,", 9, &p, &pl, &used) == -EBADMSG, "a letter before the length");
	CHECK(parse("05:hello,", 9, &p, &pl, &used) == -EBADMSG, "leading zero");
	CHECK(parse("5000:", 5, &p, &pl, &used) == -EBADMSG, "longer than the maximum");
	CHECK(parse("12345678901", 11, &p, &pl, &used) == -EBADMSG, "a length that never ends");

	f = sip_ns_frame(NULL, "报事", strlen("报事"));
	CHECK(f && !strcmp(f, "6:报事,"), "frame counts bytes, not characters: %s", f ? f : "(null)");
	CHECK(f && parse(f, strlen(f), &p, &pl, &used) == 1 && pl == 6 && !memcmp(p, "报事", 6), "a frame parses back");
	talloc_free(f);
}

static void test_events(void)
{
	struct sip_evt ev;
	char err[160];
	const char in[] = "{\"event\":\"message-in\",\"tindex\":123,\"tlabel\":456789012,\"from\":\"+8613800138001\","
			  "\"to\":\"linli\",\"peer\":\"phone\",\"src\":\"127.0.0.4:5062\",\"callid\":\"abc@h\","
			  "\"cseq\":\"2\",\"body\":\"报事 楼道灯坏了 \\\"急\\\"\\n\"}";
	const char res[] = "{\"event\":\"message-result\",\"id\":\"42\",\"code\":202,\"reason\":\"reply\"}";
	char *s;
	int rc;

	rc = sip_evt_parse(in, strlen(in), &ev, err, sizeof(err));
	CHECK(rc == 0 && ev.type == SIP_EVT_MESSAGE_IN, "message-in decoded (%s)", rc ? err : "");
	if (rc == 0) {
		CHECK(ev.tindex == 123 && ev.tlabel == 456789012, "transaction index and label");
		CHECK(!strcmp(ev.from, "+8613800138001") && !strcmp(ev.callid, "abc@h") && !strcmp(ev.cseq, "2"),
		      "sender, Call-ID, CSeq");
		CHECK(!strcmp(ev.body, "报事 楼道灯坏了 \"急\"\n"), "body unescaped: %s", ev.body);
		sip_evt_free(&ev);
	}
	rc = sip_evt_parse(res, strlen(res), &ev, err, sizeof(err));
	CHECK(rc == 0 && ev.type == SIP_EVT_MESSAGE_RESULT && ev.id == 42 && ev.code == 202,
	      "message-result with the id as a string");
	sip_evt_free(&ev);
	s = "{\"event\":\"message-result\",\"id\":7,\"code\":\"408\"}";
	rc = sip_evt_parse(s, strlen(s), &ev, err, sizeof(err));
	CHECK(rc == 0 && ev.id == 7 && ev.code == 408 && !ev.reason, "message-result with numbers either way");
	sip_evt_free(&ev);

	s = "{\"event\":\"message-in\",\"tindex\":1,\"tlabel\":2,\"from\":\"x\",\"callid\":\"c\",\"body_b64\":\"sajKwg="
	    "=\"}";
	rc = sip_evt_parse(s, strlen(s), &ev, err, sizeof(err));
	CHECK(rc == 0 && !ev.body && ev.body_b64 && !strcmp(ev.body_b64, "sajKwg=="),
	      "a body that was not UTF-8 comes as body_b64, body stays NULL");
	sip_evt_free(&ev);
	s = "{\"event\":\"message-in\",\"tindex\":1}";
	CHECK(sip_evt_parse(s, strlen(s), &ev, err, sizeof(err)) == -EINVAL && strstr(err, "tlabel"),
	      "message-in without tlabel refused: %s", err);
	s = "{\"event\":\"message-in\",\"tindex\":1,\"tlabel\":2,\"callid\":\"x\"}";
	CHECK(sip_evt_parse(s, strlen(s), &ev, err, sizeof(err)) == -EINVAL && strstr(err, "from"),
	      "message-in without a sender refused: %s", err);
	s = "{\"event\":\"message-result\",\"id\":\"x1\",\"code\":200}";
	CHECK(sip_evt_parse(s, strlen(s), &ev, err, sizeof(err)) == -EINVAL, "a result for id \"x1\" refused: %s", err);
	s = "{\"event\":\"message-result\",\"id\":1,\"code\":99}";
	CHECK(sip_evt_parse(s, strlen(s), &ev, err, sizeof(err)) == -EINVAL, "a SIP code of 99 refused");
	s = "[1,2]";
	CHECK(sip_evt_parse(s, strlen(s), &ev, err, sizeof(err)) == -EINVAL && strstr(err, "object"),
	      "an array refused: %s", err);
	s = "{\"event\":";
	CHECK(sip_evt_parse(s, strlen(s), &ev, err, sizeof(err)) == -EINVAL && strstr(err, "not JSON"),
	      "truncated JSON refused: %s", err);
	s = "{\"event\":\"ping\"}";
	CHECK(sip_evt_parse(s, strlen(s), &ev, err, sizeof(err)) == 0 && ev.type == SIP_EVT_UNKNOWN,
	      "an unknown event is decoded as unknown (and ignored by linlid)");
	sip_evt_free(&ev);
}

static void test_outgoing(void)
{
	struct sip_evt ev;
	char err[160];
	char *s = sip_json_message_out(77, "+8613800138001", "您的报事已受理，编号 123456。\"ok\"");

	CHECK(s && strstr(s, "\"event\":\"message-out\"") && strstr(s, "\"id\":\"77\"") &&
		      strstr(s, "\"to\":\"+8613800138001\"") && strstr(s, "编号 123456。\\\"ok\\\""),
	      "message-out keeps UTF-8 and escapes quotes: %s", s ? s : "(null)");
	free(s);
	s = sip_json_message_ack(4294967295LL, 12, 202);
	CHECK(s && !strcmp(s, "{\"event\":\"message-ack\",\"tindex\":4294967295,\"tlabel\":12,\"code\":202}"),
	      "message-ack: %s", s ? s : "(null)");
	CHECK(s && sip_evt_parse(s, strlen(s), &ev, err, sizeof(err)) == 0 && ev.type == SIP_EVT_UNKNOWN,
	      "an ack is valid JSON");
	sip_evt_free(&ev);
	free(s);
}

int main(void)
{
	test_netstrings();
	test_events();
	test_outgoing();
	printf(failures ? "%d check(s) failed\n" : "all checks passed\n", failures);
	return failures ? 1 : 0;
}
