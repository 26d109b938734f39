/* Unit test of gateway/sos/alert.c: every row of the alert corpus (argv[1], default
 * tests/unit/alert_corpus.tsv, relative to the repository root where tests run), then one case
 * per coordinate / keyword / battery / fix form, the edge cases (invalid UTF-8, empty, 10 KB),
 * the fail-safe rule and the JSON output.
 * Every text is handed over in a buffer of exactly its length (no NUL), so ASan sees over-reads.
 * Prints one line per check; exits 0 only when every check passed. */

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/sos/alert.h"

static unsigned checks, fails;

static void report(bool ok, const char *name, const char *detail)
{
	checks++;
	if (!ok)
		fails++;
	printf("%s %s%s%s\n", ok ? "ok  " : "FAIL", name, detail[0] ? ": " : "", detail);
}

static int parse_exact(const char *s, size_t len, struct alert_info *a)
{
	char *buf = malloc(len ? len : 1);
	int rc;

	if (!buf) {
		perror("malloc");
		exit(2);
	}
	memcpy(buf, s, len);
	rc = alert_parse(buf, len, a);
	free(buf);
	return rc;
}

static bool near(double got, double want)
{
	return fabs(got - want) <= 1e-6 + 1e-9;
}

struct expect {
	enum alert_kind kind;
	bool pos;
	double lat, lon;
	const char *battery; /* NULL: none */
	enum alert_fix fix;
	const char *imei; /* NULL: none */
	bool check_fix;	  /* corpus rows say nothing about fix and IMEI */
};

static const char *fix_name(enum alert_fix f)
{
	return f == ALERT_FIX_GPS ? "gps" : f == ALERT_FIX_LBS ? "lbs" : "none";
}

/* Compare and print one line: what came out, and on a failure what was expected. */
static void check_alert(const char *name, const struct alert_info *a, const struct expect *e)
{
	char got[256], want[256], line[600];
	bool ok = a->kind == e->kind && a->has_pos == e->pos;

	if (ok && e->pos)
		ok = near(a->lat, e->lat) && near(a->lon, e->lon);
	ok = ok && !strcmp(a->battery, e->battery ? e->battery : "");
	if (e->check_fix)
		ok = ok && a->fix == e->fix && !strcmp(a->imei, e->imei ? e->imei : "");
	/* whatever the text, never an out-of-range position */
	if (a->has_pos && !(fabs(a->lat) <= 90 && fabs(a->lon) <= 180))
		ok = false;

	snprintf(got, sizeof(got), "%s pos=%s%.6f,%.6f bat=%s fix=%s imei=%s", alert_kind_name(a->kind),
		 a->has_pos ? "" : "none/", a->lat, a->lon, a->battery, fix_name(a->fix), a->imei);
	if (ok) {
		report(true, name, got);
		return;
	}
	snprintf(want, sizeof(want), "%s pos=%s%.6f,%.6f bat=%s fix=%s imei=%s", alert_kind_name(e->kind),
		 e->pos ? "" : "none/", e->lat, e->lon, e->battery ? e->battery : "",
		 e->check_fix ? fix_name(e->fix) : "*", e->check_fix ? (e->imei ? e->imei : "") : "*");
	snprintf(line, sizeof(line), "got %s, want %s", got, want);
	report(false, name, line);
}

/* ---- the corpus ---- */

static enum alert_kind kind_from_name(const char *s)
{
	for (int k = ALERT_UNKNOWN; k <= ALERT_POSITION; k++)
		if (!strcmp(alert_kind_name((enum alert_kind)k), s))
			return (enum alert_kind)k;
	return (enum alert_kind) - 1;
}

/* The corpus writes a newline as \n (and a tab as \t, a backslash as \\). In place. */
static size_t unescape(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && (r[1] == 'n' || r[1] == 't' || r[1] == '\\')) {
			*w++ = r[1] == 'n' ? '\n' : r[1] == 't' ? '\t' : '\\';
			r++;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

static void run_corpus(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL, name[64];
	size_t cap = 0;
	unsigned rows = 0;

	if (!fp) {
		char detail[300];

		snprintf(detail, sizeof(detail), "%s: %s", path, strerror(errno));
		report(false, "corpus open", detail);
		return;
	}
	while (getline(&line, &cap, fp) > 0) {
		char *field[7], *p = line;
		unsigned nf = 0;
		struct alert_info a;
		struct expect e = {0};
		size_t len;

		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0' || !strncmp(line, "id\t", 3))
			continue;
		/* strsep, not strtok: empty fields (no position, no battery) must stay fields */
		while (nf < 7 && (field[nf] = strsep(&p, "\t")))
			nf++;
		snprintf(name, sizeof(name), "corpus %s", field[0]);
		if (nf < 6) {
			report(false, name, "malformed row");
			continue;
		}
		rows++;
		e.kind = kind_from_name(field[2]);
		e.pos = field[3][0] != '\0';
		e.lat = e.pos ? strtod(field[3], NULL) : 0;
		e.lon = e.pos ? strtod(field[4], NULL) : 0;
		e.battery = field[5];
		len = unescape(field[1]);
		parse_exact(field[1], len, &a);
		check_alert(name, &a, &e);
	}
	free(line);
	fclose(fp);
	report(rows >= 15, "corpus rows read", rows >= 15 ? "" : "fewer than 15 rows");
}

/* ---- the forms, one case each ---- */

#define NMEA(d, m)   ((d) + (m) / 60.0)
#define DMS(d, m, s) ((d) + (m) / 60.0 + (s) / 3600.0)

static const struct {
	const char *name, *text;
	struct expect e;
} cases[] = {
	/* coordinates */
	{"NMEA with hemispheres",
	 "GPRMC 2234.0156N,11403.0810E",
	 {ALERT_POSITION, true, NMEA(22, 34.0156), NMEA(114, 3.0810), NULL, ALERT_FIX_NONE, NULL, true}},
	{"NMEA S and W, letters as separate fields",
	 "$GPRMC,081219.00,A,3351.1234,S,15112.5678,W,0.05,,160720",
	 {ALERT_POSITION, true, -NMEA(33, 51.1234), -NMEA(151, 12.5678), NULL, ALERT_FIX_NONE, NULL, true}},
	{"NMEA in labels",
	 "lat:2234.0156N lon:11403.0810E",
	 {ALERT_POSITION, true, NMEA(22, 34.0156), NMEA(114, 3.0810), NULL, ALERT_FIX_NONE, NULL, true}},
	{"signed decimals, bare pair",
	 "Location: -33.868820, 151.209290",
	 {ALERT_POSITION, true, -33.868820, 151.209290, NULL, ALERT_FIX_NONE, NULL, true}},
	{"letters after the number",
	 "SOS 22.5431N 114.0579E",
	 {ALERT_SOS, true, 22.5431, 114.0579, NULL, ALERT_FIX_NONE, NULL, true}},
	{"letters before, S and W negative",
	 "Lat:S33.8688,Lon:W70.6693",
	 {ALERT_POSITION, true, -33.8688, -70.6693, NULL, ALERT_FIX_NONE, NULL, true}},
	{"signed labels",
	 "lat: -12.046374 lon: -77.042793",
	 {ALERT_POSITION, true, -12.046374, -77.042793, NULL, ALERT_FIX_NONE, NULL, true}},
	{"degrees minutes seconds",
	 "SOS 22\xc2\xb0"
	 "34'0.92\"N 114\xc2\xb0"
	 "3'4.79\"E",
	 {ALERT_SOS, true, DMS(22, 34, 0.92), DMS(114, 3, 4.79), NULL, ALERT_FIX_NONE, NULL, true}},
	{"google.com/maps?q= with a negative lon",
	 "https://www.google.com/maps?q=40.712776,-74.005974",
	 {ALERT_POSITION, true, 40.712776, -74.005974, NULL, ALERT_FIX_NONE, NULL, true}},
	{"google link, S/E letters, trailing period",
	 "Help! http://maps.google.com/maps?q=S33.856159,E151.215256.",
	 {ALERT_SOS, true, -33.856159, 151.215256, NULL, ALERT_FIX_NONE, NULL, true}},
	{"google link, trailing period, plain",
	 "Alarm: http://maps.google.com/maps?q=22.577169,113.916790.",
	 {ALERT_SOS, true, 22.577169, 113.916790, NULL, ALERT_FIX_NONE, NULL, true}},
	{"google link with spaces and a capital Q",
	 "http://maps.google.com/maps? Q = 23.00153, 113.39459",
	 {ALERT_POSITION, true, 23.00153, 113.39459, NULL, ALERT_FIX_NONE, NULL, true}},
	{"google link with %2C",
	 "http://maps.google.com/maps?q=22.5431%2C114.0579&z=16",
	 {ALERT_POSITION, true, 22.5431, 114.0579, NULL, ALERT_FIX_NONE, NULL, true}},
	{"AMap position= is longitude first",
	 "位置: https://uri.amap.com/marker?position=121.473701,31.230416&coordinate=wgs84",
	 {ALERT_POSITION, true, 31.230416, 121.473701, NULL, ALERT_FIX_NONE, NULL, true}},
	{"AMap position= order kept when both orders fit",
	 "https://uri.amap.com/marker?position=30.500000,60.600000",
	 {ALERT_POSITION, true, 60.6, 30.5, NULL, ALERT_FIX_NONE, NULL, true}},
	{"AMap q= is latitude first",
	 "https://m.amap.com/?q=31.230416,121.473701",
	 {ALERT_POSITION, true, 31.230416, 121.473701, NULL, ALERT_FIX_NONE, NULL, true}},
	{"Baidu location= is latitude first",
	 "报警 http://api.map.baidu.com/marker?location=39.915119,116.403963&title=x&coord_type=wgs84&output=html",
	 {ALERT_SOS, true, 39.915119, 116.403963, NULL, ALERT_FIX_NONE, NULL, true}},
	{"Baidu order kept when both orders fit",
	 "http://api.map.baidu.com/marker?location=30.500000,60.600000",
	 {ALERT_POSITION, true, 30.5, 60.6, NULL, ALERT_FIX_NONE, NULL, true}},
	{"Tencent coord:",
	 "https://apis.map.qq.com/uri/v1/marker?marker=coord:39.892326,116.342763;title:x",
	 {ALERT_POSITION, true, 39.892326, 116.342763, NULL, ALERT_FIX_NONE, NULL, true}},
	{"geo: URI",
	 "geo:37.786971,-122.399677",
	 {ALERT_POSITION, true, 37.786971, -122.399677, NULL, ALERT_FIX_NONE, NULL, true}},
	{"unlabelled link pair that only fits swapped",
	 "http://maps.google.com/maps?q=114.051331,22.566923",
	 {ALERT_POSITION, true, 22.566923, 114.051331, NULL, ALERT_FIX_NONE, NULL, true}},
	{"bare pair in parentheses",
	 "Position (22.571390,113.877100)",
	 {ALERT_POSITION, true, 22.57139, 113.8771, NULL, ALERT_FIX_NONE, NULL, true}},
	{"bare pair with a colon",
	 "Longitude Latitude: 23.00173:113.39463, Course: 0, speed: 0.05 Km/h",
	 {ALERT_POSITION, true, 23.00173, 113.39463, NULL, ALERT_FIX_NONE, NULL, true}},
	{"TK-205 labels, Fix: A, ID",
	 "Lat: +22.50500\nLong: +114.01000\nSpeed: 0.00KM/H\nFix: A\nID: 353686009002030",
	 {ALERT_POSITION, true, 22.505, 114.01, NULL, ALERT_FIX_GPS, "353686009002030", true}},
	/* out of range, never output */
	{"labelled lat out of range",
	 "lat: 95.123456 long: 114.051331",
	 {ALERT_UNKNOWN, false, 0, 0, NULL, ALERT_FIX_NONE, NULL, true}},
	{"labelled lon out of range (no swap)",
	 "lat: 22.566923 long: 190.051331",
	 {ALERT_UNKNOWN, false, 0, 0, NULL, ALERT_FIX_NONE, NULL, true}},
	{"link out of range both ways",
	 "http://maps.google.com/maps?q=95.500000,200.500000",
	 {ALERT_UNKNOWN, false, 0, 0, NULL, ALERT_FIX_NONE, NULL, true}},
	{"lettered out of range", "N95.1234,E114.1234", {ALERT_UNKNOWN, false, 0, 0, NULL, ALERT_FIX_NONE, NULL, true}},
	{"NMEA minutes >= 60",
	 "2275.0156N,11403.0810E",
	 {ALERT_UNKNOWN, false, 0, 0, NULL, ALERT_FIX_NONE, NULL, true}},
	{"0,0 means no fix",
	 "http://maps.google.com/maps?q=0.000000,0.000000",
	 {ALERT_UNKNOWN, false, 0, 0, NULL, ALERT_FIX_NONE, NULL, true}},
	{"no coordinates in times and speeds",
	 "Course:42.20,Speed:0.0740,DateTime:10-11-23 22:28:51",
	 {ALERT_UNKNOWN, false, 0, 0, NULL, ALERT_FIX_NONE, NULL, true}},
	{"Queclink S38.6 is no latitude",
	 "F1 D2020/10/31T17:20:45 B100% S38.6",
	 {ALERT_UNKNOWN, false, 0, 0, "100%", ALERT_FIX_NONE, NULL, true}},
	/* keywords */
	{"help me", "help me!", {ALERT_SOS, false, 0, 0, NULL, ALERT_FIX_NONE, NULL, true}},
	{"heip me (TK typo) beats F: voltage",
	 "lat: 22.566923 long: 114.051331 speed:0.00 F:4.10V,0, Signal:F\nheip me imei:359587011016261",
	 {ALERT_SOS, true, 22.566923, 114.051331, "4.10V", ALERT_FIX_NONE, "359587011016261", true}},
	{"help me beats L: voltage",
	 "help me! lat: 22.566923 long: 114.051331 L:3.61V",
	 {ALERT_SOS, true, 22.566923, 114.051331, "3.61V", ALERT_FIX_NONE, NULL, true}},
	{"TK F: voltage, no help: a position",
	 "lat: 22.566923 long: 114.051331 speed:0.00 28/10/09 03:33 F:4.32V,1",
	 {ALERT_POSITION, true, 22.566923, 114.051331, "4.32V", ALERT_FIX_NONE, NULL, true}},
	{"救命", "救命！", {ALERT_SOS, false, 0, 0, NULL, ALERT_FIX_NONE, NULL, true}},
	{"紧急", "紧急呼叫", {ALERT_SOS, false, 0, 0, NULL, ALERT_FIX_NONE, NULL, true}},
	{"报警 alone is an SOS", "报警", {ALERT_SOS, false, 0, 0, NULL, ALERT_FIX_NONE, NULL, true}},
	{"ALARM with a position is an SOS",
	 "ALARM! http://maps.google.com/maps?q=22.5431,114.0579",
	 {ALERT_SOS, true, 22.5431, 114.0579, NULL, ALERT_FIX_NONE, NULL, true}},
	{"跌倒 (fall) is an SOS", "老人跌倒报警", {ALERT_SOS, false, 0, 0, NULL, ALERT_FIX_NONE, NULL, true}},
	{"摔倒 (fall) is an SOS", "检测到摔倒", {ALERT_SOS, false, 0, 0, NULL, ALERT_FIX_NONE, NULL, true}},
	{"fall down alert is an SOS", "Fall down alert!", {ALERT_SOS, false, 0, 0, NULL, ALERT_FIX_NONE, NULL, true}},
	{"低电报警 with 电量",
	 "低电报警 电量:15%",
	 {ALERT_LOW_BATTERY, false, 0, 0, "15%", ALERT_FIX_NONE, NULL, true}},
	{"电量低 with a full-width colon",
	 "电量低，请充电 电量：8%",
	 {ALERT_LOW_BATTERY, false, 0, 0, "8%", ALERT_FIX_NONE, NULL, true}},
	{"Low battery alarm", "Low battery alarm", {ALERT_LOW_BATTERY, false, 0, 0, NULL, ALERT_FIX_NONE, NULL, true}},
	{"L: voltage alone is low battery",
	 "L:3.55V,0",
	 {ALERT_LOW_BATTERY, false, 0, 0, "3.55V", ALERT_FIX_NONE, NULL, true}},
	{"外电断开", "外电断开报警", {ALERT_POWER_CUT, false, 0, 0, NULL, ALERT_FIX_NONE, NULL, true}},
	{"断电", "断电报警", {ALERT_POWER_CUT, false, 0, 0, NULL, ALERT_FIX_NONE, NULL, true}},
	{"power off", "Power off alarm", {ALERT_POWER_CUT, false, 0, 0, NULL, ALERT_FIX_NONE, NULL, true}},
	{"power cut beats low battery",
	 "Cut Power! battery low",
	 {ALERT_POWER_CUT, false, 0, 0, NULL, ALERT_FIX_NONE, NULL, true}},
	{"震动", "震动报警", {ALERT_SENSOR, false, 0, 0, NULL, ALERT_FIX_NONE, NULL, true}},
	{"geo-fence", "Geo-fence alarm!", {ALERT_SENSOR, false, 0, 0, NULL, ALERT_FIX_NONE, NULL, true}},
	{"overspeed", "Overspeed alarm 120km/h", {ALERT_SENSOR, false, 0, 0, NULL, ALERT_FIX_NONE, NULL, true}},
	{"shock", "Shock Alarm", {ALERT_SENSOR, false, 0, 0, NULL, ALERT_FIX_NONE, NULL, true}},
	{"sensor beats low battery",
	 "Vibration alarm, battery is low",
	 {ALERT_SENSOR, false, 0, 0, NULL, ALERT_FIX_NONE, NULL, true}},
	{"SOS beats everything",
	 "SOS! Cut Power vibration low battery",
	 {ALERT_SOS, false, 0, 0, NULL, ALERT_FIX_NONE, NULL, true}},
	{"no keyword, no position: unknown",
	 "Please call me back",
	 {ALERT_UNKNOWN, false, 0, 0, NULL, ALERT_FIX_NONE, NULL, true}},
	{"words inside words do not count",
	 "Follow the shelter rules, lowest floor",
	 {ALERT_UNKNOWN, false, 0, 0, NULL, ALERT_FIX_NONE, NULL, true}},
	/* battery forms */
	{"bat:80%", "bat:80%", {ALERT_UNKNOWN, false, 0, 0, "80%", ALERT_FIX_NONE, NULL, true}},
	{"Battery:3.9V", "Battery:3.9V", {ALERT_UNKNOWN, false, 0, 0, "3.9V", ALERT_FIX_NONE, NULL, true}},
	{"Battery: 3.9 V keeps the value, drops the space",
	 "Battery: 3.9 V",
	 {ALERT_UNKNOWN, false, 0, 0, "3.9V", ALERT_FIX_NONE, NULL, true}},
	{"millivolts", "BAT=3900mV", {ALERT_UNKNOWN, false, 0, 0, "3900mV", ALERT_FIX_NONE, NULL, true}},
	{"percent over 100 ignored", "Battery: 180%", {ALERT_UNKNOWN, false, 0, 0, NULL, ALERT_FIX_NONE, NULL, true}},
	/* fix */
	{"Accurate location (GPS)",
	 "Accurate location (GPS): Some Road (N22.57139,E113.87710)",
	 {ALERT_POSITION, true, 22.57139, 113.8771, NULL, ALERT_FIX_GPS, NULL, true}},
	{"No GPS, Cell ID: lbs",
	 "No GPS signal, Just Cell ID Location:\nhttp://maps.google.com/maps?q=+22.6775,+114.1518",
	 {ALERT_POSITION, true, 22.6775, 114.1518, NULL, ALERT_FIX_LBS, NULL, true}},
	{"基站 is lbs",
	 "基站定位 http://maps.google.com/maps?q=22.5431,114.0579",
	 {ALERT_POSITION, true, 22.5431, 114.0579, NULL, ALERT_FIX_LBS, NULL, true}},
	{"F1 beats an LBS: field",
	 "LBS:123456789012345\n"
	 "http://maps.google.com/maps?q=22.538503,114.017054\nF1 D2020/10/31T17:20:45 B100%",
	 {ALERT_POSITION, true, 22.538503, 114.017054, "100%", ALERT_FIX_GPS, NULL, true}},
	{"GPS and LBS both said: the coarser",
	 "GPS/LBS location 22.543100,114.057900",
	 {ALERT_POSITION, true, 22.5431, 114.0579, NULL, ALERT_FIX_LBS, NULL, true}},
	{"no position, no fix", "GPS SOS", {ALERT_SOS, false, 0, 0, NULL, ALERT_FIX_NONE, NULL, true}},
	/* IMEI */
	{"IMEI 16 digits is no IMEI",
	 "IMEI: 3595870110162610",
	 {ALERT_UNKNOWN, false, 0, 0, NULL, ALERT_FIX_NONE, NULL, true}},
	{"IMEI 14 digits is no IMEI",
	 "IMEI: 35958701101626",
	 {ALERT_UNKNOWN, false, 0, 0, NULL, ALERT_FIX_NONE, NULL, true}},
	{"IMEI with a space",
	 "IMEI: 359587011016261",
	 {ALERT_UNKNOWN, false, 0, 0, NULL, ALERT_FIX_NONE, "359587011016261", true}},
};

static void run_cases(void)
{
	char name[160];
	struct alert_info a;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = parse_exact(cases[i].text, strlen(cases[i].text), &a);

		snprintf(name, sizeof(name), "case %s", cases[i].name);
		if (rc) {
			report(false, name, "alert_parse did not return 0");
			continue;
		}
		check_alert(name, &a, &cases[i].e);
	}
}

/* ---- edge cases ---- */

static void run_edges(void)
{
	static char big[12 * 1024];
	struct alert_info a;
	char detail[200];
	size_t n;
	int rc;

	rc = parse_exact("SOS \xff\xfe http://maps.google.com/maps?q=22.5431,114.0579", 51, &a);
	snprintf(detail, sizeof(detail), "rc=%d kind=%s pos=%d", rc, alert_kind_name(a.kind), a.has_pos);
	report(rc == -EINVAL && a.kind == ALERT_SOS && a.has_pos, "invalid UTF-8: -EINVAL, still an SOS with position",
	       detail);

	rc = parse_exact("\xe6\xb1\x82", 2, &a); /* 求 cut short */
	snprintf(detail, sizeof(detail), "rc=%d kind=%s", rc, alert_kind_name(a.kind));
	report(rc == -EINVAL && a.kind == ALERT_UNKNOWN, "truncated UTF-8 sequence: -EINVAL, unknown", detail);

	rc = parse_exact("\xed\xa0\x80 \xc0\xaf help", 11, &a); /* a surrogate, an overlong '/' */
	snprintf(detail, sizeof(detail), "rc=%d kind=%s", rc, alert_kind_name(a.kind));
	report(rc == -EINVAL && a.kind == ALERT_SOS, "surrogate and overlong: -EINVAL, help still read", detail);

	rc = parse_exact("", 0, &a);
	snprintf(detail, sizeof(detail), "rc=%d kind=%s pos=%d bat='%s'", rc, alert_kind_name(a.kind), a.has_pos,
		 a.battery);
	report(rc == 0 && a.kind == ALERT_UNKNOWN && !a.has_pos && !a.battery[0] && !a.imei[0] && alert_is_alarm(&a),
	       "empty text: unknown, an alarm", detail);

	rc = alert_parse(NULL, 0, &a);
	report(rc == 0 && a.kind == ALERT_UNKNOWN, "NULL text of length 0: unknown", "");
	rc = alert_parse(NULL, 5, &a);
	report(rc == -EINVAL && a.kind == ALERT_UNKNOWN, "NULL text of length 5: -EINVAL", "");
	report(alert_parse("SOS", 3, NULL) == -EINVAL, "NULL out: -EINVAL", "");

	rc = parse_exact("SOS\0 lat: 22.5 long: 114.0", 26, &a);
	snprintf(detail, sizeof(detail), "rc=%d kind=%s pos=%d", rc, alert_kind_name(a.kind), a.has_pos);
	report(rc == 0 && a.kind == ALERT_SOS && a.has_pos && a.lat == 22.5, "embedded NUL: len is authoritative",
	       detail);

	/* 10 KB: filler, then the alarm and the link at the far end */
	n = 0;
	while (n < 10 * 1024) {
		memcpy(big + n, "lorem ipsum 12.5 ", 17);
		n += 17;
	}
	n += (size_t)sprintf(big + n, "heip me http://maps.google.com/maps?q=N22.577169,E113.916790.");
	rc = parse_exact(big, n, &a);
	snprintf(detail, sizeof(detail), "rc=%d len=%zu kind=%s pos=%.6f,%.6f", rc, n, alert_kind_name(a.kind), a.lat,
		 a.lon);
	report(rc == 0 && a.kind == ALERT_SOS && a.has_pos && near(a.lat, 22.577169) && near(a.lon, 113.916790),
	       "10 KB text, alarm and link at the end", detail);

	/* 10 KB of near-coordinates, separators and half keywords */
	n = 0;
	while (n < 10 * 1024) {
		static const char junk[] = "N9999.9999,E,-.,?q=,1.1111:2.22, help- lat:";
		memcpy(big + n, junk, sizeof(junk) - 1);
		n += sizeof(junk) - 1;
	}
	rc = parse_exact(big, n, &a);
	snprintf(detail, sizeof(detail), "rc=%d kind=%s pos=%d", rc, alert_kind_name(a.kind), a.has_pos);
	report(rc == 0 && a.kind == ALERT_SOS && !a.has_pos, "10 KB of near-misses", detail);

	/* 10 KB of one digit run and of spaces after a keyword */
	memset(big, '7', 10 * 1024);
	rc = parse_exact(big, 10 * 1024, &a);
	report(rc == 0 && a.kind == ALERT_UNKNOWN && !a.has_pos, "10 KB of digits", "");
	memcpy(big, "help", 4);
	memset(big + 4, ' ', 10 * 1024 - 4);
	rc = parse_exact(big, 10 * 1024, &a);
	report(rc == 0 && a.kind == ALERT_SOS, "help and 10 KB of spaces", "");
}

/* ---- the fail-safe rule and names ---- */

static void run_rule(void)
{
	static const struct {
		enum alert_kind kind;
		const char *name;
		bool alarm;
	} rule[] = {
		{ALERT_UNKNOWN, "unknown", true},
		{ALERT_SOS, "sos", true},
		{ALERT_LOW_BATTERY, "low_battery", false},
		{ALERT_POWER_CUT, "power_cut", true},
		{ALERT_SENSOR, "sensor", true},
		{ALERT_POSITION, "position", false},
	};
	char name[80];

	for (size_t i = 0; i < sizeof(rule) / sizeof(rule[0]); i++) {
		struct alert_info a = {.kind = rule[i].kind};

		snprintf(name, sizeof(name), "kind %s: name and alarm=%d", rule[i].name, rule[i].alarm);
		report(!strcmp(alert_kind_name(rule[i].kind), rule[i].name) && alert_is_alarm(&a) == rule[i].alarm,
		       name, "");
	}
	report(!strcmp(alert_kind_name((enum alert_kind)42), "unknown"), "kind out of range: \"unknown\"", "");
	report(alert_is_alarm(NULL), "alert_is_alarm(NULL) is an alarm", "");
}

/* ---- JSON ---- */

static void check_json(const char *text, const char *want)
{
	struct alert_info a;
	char out[512], name[200], detail[700];
	int rc;

	parse_exact(text, strlen(text), &a);
	rc = alert_to_json(&a, out, sizeof(out));
	snprintf(name, sizeof(name), "json of \"%.40s\"", text);
	for (char *p = name; *p; p++)
		if (*p == '\n')
			*p = ' ';
	snprintf(detail, sizeof(detail), "%s", out);
	if (rc != (int)strlen(want) || strcmp(out, want))
		snprintf(detail, sizeof(detail), "got %s (rc=%d), want %s", out, rc, want);
	report(rc == (int)strlen(want) && !strcmp(out, want), name, detail);
}

static void run_json(void)
{
	struct alert_info a;
	char out[256], small[8];
	int rc, full;

	check_json("lat: 22.566923 long: 114.051331 speed:85.60 28/10/09 03:33 F:4.32V,0, Signal:F\nheip me "
		   "imei:359587011016261 05 41.9",
		   "{\"kind\":\"sos\",\"lat\":22.566923,\"lon\":114.051331,\"battery\":\"4.32V\","
		   "\"imei\":\"359587011016261\"}");
	check_json("", "{\"kind\":\"unknown\"}");
	check_json("SOS ALARM", "{\"kind\":\"sos\"}");
	check_json("GPRMC 2234.0156N,11403.0810E", "{\"kind\":\"position\",\"lat\":22.566927,\"lon\":114.051350}");
	check_json("Lat:S33.8688,Lon:W70.6693", "{\"kind\":\"position\",\"lat\":-33.868800,\"lon\":-70.669300}");
	check_json("No GPS signal, Just Cell ID Location:\nhttp://maps.google.com/maps?q=+22.6775,+114.1518",
		   "{\"kind\":\"position\",\"lat\":22.677500,\"lon\":114.151800,\"fix\":\"lbs\"}");
	check_json("http://maps.google.com/maps?q=31.222073,121.354335\nF1 D2009/01/01T00:00:00 B74%",
		   "{\"kind\":\"position\",\"lat\":31.222073,\"lon\":121.354335,\"battery\":\"74%\",\"fix\":\"gps\"}");
	check_json("低电报警 电量:15%", "{\"kind\":\"low_battery\",\"battery\":\"15%\"}");
	check_json("SOS https://uri.amap.com/marker?position=116.397428,39.90923&coordinate=gaode",
		   "{\"kind\":\"sos\",\"lat\":39.909230,\"lon\":116.397428,\"datum\":\"gcj02\"}");
	check_json("http://api.map.baidu.com/marker?location=39.915119,116.403963&coord_type=bd09ll",
		   "{\"kind\":\"position\",\"lat\":39.915119,\"lon\":116.403963,\"datum\":\"bd09\"}");
	check_json("Equator lat: -0.0000001 lon: 100.0", "{\"kind\":\"position\",\"lat\":0.000000,\"lon\":100.000000}");

	parse_exact("SOS ALARM", 9, &a);
	full = alert_to_json(&a, out, sizeof(out));
	rc = alert_to_json(&a, out, (size_t)full + 1);
	report(rc == full && out[full] == '\0', "json fits in exactly len+1 bytes", "");
	rc = alert_to_json(&a, out, (size_t)full);
	report(rc == -ENOSPC && out[0] == '\0', "json one byte short: -ENOSPC and \"\"", "");
	rc = alert_to_json(&a, small, 0);
	report(rc == -ENOSPC, "json into 0 bytes: -ENOSPC", "");
	report(alert_to_json(NULL, out, sizeof(out)) == -EINVAL, "json of NULL: -EINVAL", "");

	/* a caller-filled struct: out-of-range position left out, odd bytes escaped */
	memset(&a, 0, sizeof(a));
	a.kind = ALERT_SENSOR;
	a.has_pos = true;
	a.lat = 91;
	a.lon = NAN;
	memcpy(a.battery, "4\"V\\\n", 6);
	rc = alert_to_json(&a, out, sizeof(out));
	report(rc > 0 && !strcmp(out, "{\"kind\":\"sensor\",\"battery\":\"4\\\"V\\\\\\u000a\"}"),
	       "json of a hand-filled struct: no bad position, escaped strings", out);
}

int main(int argc, char **argv)
{
	run_corpus(argc > 1 ? argv[1] : "tests/unit/alert_corpus.tsv");
	run_cases();
	run_edges();
	run_rule();
	run_json();
	printf("alert_test: %u checks, %u failed\n", checks, fails);
	return fails ? 1 : 0;
}
