/* gateway/sos/sos_text.c: reply normalisation and the acknowledgement rule, binding
 * commands, the map link, the alert text and its length in SMS parts, watch programming
 * templates and stop words. */

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/sos/sos.h"
#include "modem/sms_codec.h"
#include "tests/unit/testlib.h"

static void test_norm(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"  OK  ", "ok"},
		{"ＯＫ！", "ok"},
		{"１", "1"},
		{"收到。", "收到"},
		{"收到!!", "收到"},
		{"\u3000收到\u3000", "收到"},
		{"BD  139 1234 5678", "bd 139 1234 5678"},
		{"绑定　13912345678", "绑定 13912345678"},
		{"", ""},
	};

	printf("-- sos_norm\n");
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[64];

		sos_norm(cases[i].in, out, sizeof(out));
		CHECK(!strcmp(out, cases[i].out), "\"%s\" -> \"%s\"", cases[i].in, out);
	}
}

static void test_ack(void)
{
	static const char *const yes[] = {"1", " 1 ", "１", "收到", "收到。", "ok", "OK", "Ok!", "ＯＫ", "ok 收到"};
	static const char *const no[] = {"11", "12", "收", "好的", "okay", "0", "1 2", "报事 1", "", "不收到"};

	printf("-- sos_is_ack\n");
	for (unsigned i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		CHECK(sos_is_ack(yes[i]), "\"%s\" acknowledges", yes[i]);
	for (unsigned i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		CHECK(!sos_is_ack(no[i]), "\"%s\" does not", no[i]);
}

static void test_cmd(void)
{
	static const struct {
		const char *in;
		enum sos_cmd cmd;
		const char *arg;
	} cases[] = {
		{"绑定 13912345678", SOS_CMD_BIND, "13912345678"},
		{"绑定13912345678", SOS_CMD_BIND, "13912345678"},
		{"BD 139-1234-5678", SOS_CMD_BIND, "13912345678"},
		{"bd13912345678", SOS_CMD_BIND, "13912345678"},
		{"ＢＤ　＋8613912345678", SOS_CMD_BIND, "+8613912345678"},
		{"解绑 13912345678", SOS_CMD_UNBIND, "13912345678"},
		{"JB 13912345678", SOS_CMD_UNBIND, "13912345678"},
		{"确认 123456", SOS_CMD_CONFIRM, "123456"},
		{"QR 123456", SOS_CMD_CONFIRM, "123456"},
		{"qr123456。", SOS_CMD_CONFIRM, "123456"},
		{"绑定", SOS_CMD_NONE, ""},
		{"bdx 123", SOS_CMD_NONE, ""},
		{"绑定 我妈的手表", SOS_CMD_NONE, ""},
		{"报事 3幢电梯坏了", SOS_CMD_NONE, ""},
		{"qrcode", SOS_CMD_NONE, ""},
	};

	printf("-- sos_parse_cmd\n");
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char arg[40];
		enum sos_cmd c = sos_parse_cmd(cases[i].in, arg, sizeof(arg));

		CHECK(c == cases[i].cmd && (c == SOS_CMD_NONE || !strcmp(arg, cases[i].arg)), "\"%s\" -> %d \"%s\"",
		      cases[i].in, c, c == SOS_CMD_NONE ? "" : arg);
	}
}

static void test_link(void)
{
	char buf[160];
	int n;

	printf("-- sos_map_link\n");
	n = sos_map_link(22.566923, 114.051331, buf, sizeof(buf));
	CHECK(n > 0 && !strcmp(buf, "https://uri.amap.com/marker?position=114.051331,22.566923&coordinate=wgs84"),
	      "longitude first, 6 decimals: %s", buf);
	sos_map_link(39.90923, 116.397428, buf, sizeof(buf));
	CHECK(!strcmp(buf, "https://uri.amap.com/marker?position=116.397428,39.90923&coordinate=wgs84"),
	      "trailing zeros dropped: %s", buf);
	sos_map_link(-33.8688197, 151.2092956, buf, sizeof(buf));
	CHECK(!strcmp(buf, "https://uri.amap.com/marker?position=151.209296,-33.86882&coordinate=wgs84"),
	      "rounded to 6 decimals, south negative: %s", buf);
	CHECK(sos_map_link(1, 2, buf, 20) == -ENOSPC, "too small a buffer: -ENOSPC");
}

static void test_distance(void)
{
	double d = sos_distance_m(22.566923, 114.051331, 22.567823, 114.051331);

	printf("-- sos_distance_m\n");
	CHECK(fabs(d - 100.1) < 1.0, "0.0009 degrees of latitude is about 100 m (%.1f)", d);
	CHECK(sos_distance_m(22.5, 114.0, 22.5, 114.0) == 0, "same point: 0");
}

static void test_alert(void)
{
	struct sos_alert_text a = {
		.kind = "sos",
		.person = "邹丽",
		.watch = "+8613912345678",
		.address = "1幢1单元101",
		.at = 1763893920, /* 2025-11-23 10:32 UTC */
		.battery = "74%",
		.has_pos = true,
		.lat = 22.566923,
		.lon = 114.051331,
		.with_location = true,
	};
	char buf[600];
	int parts;

	printf("-- sos_alert_build\n");
	parts = sos_alert_build(&a, buf, sizeof(buf));
	printf("   %s\n", buf);
	CHECK(!strcmp(buf,
		      "【SOS求救】邹丽 1幢1单元101 10:32 电量74% 位置:https://uri.amap.com/marker?position=114.051331,"
		      "22.566923&coordinate=wgs84 回复1或收到确认"),
	      "who, where, when, battery, link, how to acknowledge");
	CHECK(parts == 2, "two SMS parts with the link (%d)", parts);

	a.with_location = false;
	parts = sos_alert_build(&a, buf, sizeof(buf));
	printf("   %s\n", buf);
	CHECK(!strstr(buf, "http") && strstr(buf, "1幢1单元101"), "no location rights: address, no link");
	CHECK(parts == 1, "one part without the link (%d)", parts);

	a.with_location = true;
	a.has_pos = false;
	sos_alert_build(&a, buf, sizeof(buf));
	printf("   %s\n", buf);
	CHECK(strstr(buf, "无定位") && !strstr(buf, "http"), "no position: says so");

	a.raw = SOS_CALL_TEXT;
	sos_alert_build(&a, buf, sizeof(buf));
	printf("   %s\n", buf);
	CHECK(strstr(buf, "【SOS求救】") && strstr(buf, "手表来电") && !strstr(buf, "原文"),
	      "the watch called: an SOS that says so");
	a.raw = NULL;

	a.has_pos = true;
	a.lbs = true;
	sos_alert_build(&a, buf, sizeof(buf));
	CHECK(strstr(buf, "基站定位") != NULL, "a cell-ID fix is flagged as rough");

	a.lbs = false;
	a.kind = "unknown";
	a.battery = "";
	a.raw = "Alarm! zone 3 tamper\nbattery ok blah blah blah blah blah";
	parts = sos_alert_build(&a, buf, sizeof(buf));
	printf("   %s\n", buf);
	CHECK(strstr(buf, "手表报警") && strstr(buf, "原文:Alarm! zone 3 tamper battery") && strstr(buf, "…"),
	      "unknown kind: the watch's words forwarded, shortened");
	CHECK(parts <= 3, "still short (%d parts)", parts);

	a.kind = "power_cut";
	a.update = true;
	sos_alert_build(&a, buf, sizeof(buf));
	CHECK(strstr(buf, "【断电报警·位置更新】") && strstr(buf, "position=114.051331,22.566923"), "an update: %s",
	      buf);

	a.update = false;
	a.person = "";
	a.address = "";
	sos_alert_build(&a, buf, sizeof(buf));
	CHECK(strstr(buf, "】+8613912345678 10:32") != NULL, "no person, no household: the watch's number");
	CHECK(sos_alert_build(&a, buf, 40) == -ENOSPC, "too small a buffer: -ENOSPC");
}

static void test_dialects(void)
{
	char cmds[4][64];
	int n;

	printf("-- watch programming and stop words\n");
	n = sos_program_cmds("setracker", "+8610657000", cmds, 4);
	CHECK(n == 2 && !strcmp(cmds[0], "pw,123456,sos1,+8610657000#") &&
		      !strcmp(cmds[1], "pw,123456,center,+8610657000#"),
	      "setracker: sos1 and center");
	n = sos_program_cmds("tk", "+8610657000", cmds, 4);
	CHECK(n == 1 && !strcmp(cmds[0], "W000000,003,1,1,+8610657000"), "tk: W000000,003,1,1,<number>");
	CHECK(sos_program_cmds("generic", "+8610657000", cmds, 4) == 0, "generic: no template");
	CHECK(sos_program_cmds("nokia", "+8610657000", cmds, 4) == -EINVAL, "unknown dialect: -EINVAL");
	CHECK(sos_interval_cmd("setracker", 30, cmds[0], sizeof(cmds[0])) == 0 &&
		      !strcmp(cmds[0], "pw,123456,upload,1800#"),
	      "setracker: report every 30 min is upload,1800");
	CHECK(sos_interval_cmd("tk", 30, cmds[0], sizeof(cmds[0])) == 0 && !strcmp(cmds[0], "t030m***n123456"),
	      "tk: report every 30 min, without end");
	CHECK(sos_interval_cmd("tk", 600, cmds[0], sizeof(cmds[0])) == -EINVAL, "tk: at most 255 minutes");
	CHECK(sos_interval_cmd("generic", 30, cmds[0], sizeof(cmds[0])) == -ENOTSUP, "generic: no command");
	CHECK(sos_interval_cmd("setracker", 0, cmds[0], sizeof(cmds[0])) == -EINVAL, "0 minutes: -EINVAL");
	CHECK(sos_stop_word("tk") && !strcmp(sos_stop_word("tk"), "help me!"), "tk stops on help me!");
	CHECK(!sos_stop_word("setracker") && !sos_stop_word("generic") && !sos_stop_word(NULL), "others: none");
}

static void test_closed(void)
{
	char buf[200];

	printf("-- sos_closed_text\n");
	CHECK(sos_closed_text("邹丽", false, buf, sizeof(buf)) > 0 && strstr(buf, "【已处理】邹丽") &&
		      strstr(buf, "无需前往"),
	      "resolved: %s", buf);
	CHECK(sos_closed_text("邹丽", true, buf, sizeof(buf)) > 0 && strstr(buf, "【误报】邹丽") &&
		      strstr(buf, "已解除"),
	      "false alarm: %s", buf);
	CHECK(sos_closed_text("邹丽", true, buf, 10) == -ENOSPC, "too small: -ENOSPC");
}

int main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	test_norm();
	test_ack();
	test_cmd();
	test_link();
	test_distance();
	test_alert();
	test_dialects();
	test_closed();
	printf("%d failure(s)\n", failures);
	return failures ? 1 : 0;
}
