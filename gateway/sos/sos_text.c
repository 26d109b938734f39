/* SOS texts: normalising and recognising replies, binding commands, map links, the alert
 * text, the watches' programming commands (see the first half of sos.h). Pure: no database,
 * no clock, no gateway (unit tested in tests/unit/sos_msg_test.c). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <osmocom/core/utils.h>

#include "gateway/sos/sos.h"
#include "gateway/sos/sos_priv.h"
#include "modem/sms_codec.h"
#include "util/utf8.h"

/* The character at s (NUL-terminated) and its length *n: an ill-formed byte counts as itself. */
static unsigned char_at(const unsigned char *s, size_t *n)
{
	size_t len = strnlen((const char *)s, 4), i = 0;
	uint32_t cp;

	if (utf8_next(s, len, &i, &cp) < 0) {
		*n = 1;
		return s[0];
	}
	*n = i;
	return cp;
}

void sos_norm(const char *in, char *out, size_t outlen)
{
	const unsigned char *s = (const unsigned char *)(in ? in : "");
	size_t o = 0;
	bool space = false;

	if (!outlen)
		return;
	while (*s) {
		size_t n;
		unsigned c = char_at(s, &n);

		if (c >= 0xff01 && c <= 0xff5e)
			c -= 0xfee0;
		else if (c == 0x3000)
			c = ' ';
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			space = o > 0;
			s += n;
			continue;
		}
		if (space) {
			if (o + 1 >= outlen)
				break;
			out[o++] = ' ';
			space = false;
		}
		if (c < 0x80) {
			if (o + 1 >= outlen)
				break;
			out[o++] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : (char)c;
		} else {
			/* copy the original bytes (a converted full-width character is ASCII already) */
			if (o + n >= outlen)
				break;
			memcpy(out + o, s, n);
			o += n;
		}
		s += n;
	}
	out[o] = '\0';
	/* trailing punctuation: 。！!.,，~ */
	for (;;) {
		static const char *const punct[] = {"。", "！", "!", ".", ",", "，", "~", "～", " "};
		bool cut = false;

		for (unsigned i = 0; i < ARRAY_SIZE(punct); i++) {
			size_t l = strlen(punct[i]);

			if (o >= l && !memcmp(out + o - l, punct[i], l)) {
				o -= l;
				out[o] = '\0';
				cut = true;
				break;
			}
		}
		if (!cut)
			break;
	}
}

bool sos_is_ack(const char *text)
{
	char n[32];

	sos_norm(text, n, sizeof(n));
	return !strcmp(n, "1") || !strcmp(n, "收到") || !strcmp(n, "ok") || !strcmp(n, "ok 收到") ||
	       !strcmp(n, "1 收到") || !strcmp(n, "收到 1");
}

enum sos_cmd sos_parse_cmd(const char *text, char *arg, size_t arglen)
{
	static const struct {
		const char *kw;
		bool ascii;
		enum sos_cmd cmd;
	} kws[] = {
		{"绑定", false, SOS_CMD_BIND},	     {"bd", true, SOS_CMD_BIND},      {"解绑", false, SOS_CMD_UNBIND},
		{"解除绑定", false, SOS_CMD_UNBIND}, {"jb", true, SOS_CMD_UNBIND},    {"确认", false, SOS_CMD_CONFIRM},
		{"qr", true, SOS_CMD_CONFIRM},	     {"定位", false, SOS_CMD_LOCATE}, {"dw", true, SOS_CMD_LOCATE},
	};
	char n[160];
	size_t o = 0;

	if (!arglen)
		return SOS_CMD_NONE;
	arg[0] = '\0';
	sos_norm(text, n, sizeof(n));
	for (unsigned i = 0; i < ARRAY_SIZE(kws); i++) {
		size_t l = strlen(kws[i].kw);
		const char *p = n + l;

		if (strncmp(n, kws[i].kw, l))
			continue;
		/* an ASCII keyword must stand alone or be followed by the digits ("bd139..."); a
		 * Chinese one may be glued to its argument */
		if (*p == ' ' || *p == ':' || *p == '#')
			p++;
		else if (kws[i].ascii && !(*p >= '0' && *p <= '9') && *p != '+' &&
			 !(*p == '\0' && kws[i].cmd == SOS_CMD_LOCATE))
			continue;
		for (; *p; p++) {
			if ((*p >= '0' && *p <= '9') || (*p == '+' && o == 0)) {
				if (o + 1 >= arglen)
					return SOS_CMD_NONE;
				arg[o++] = *p;
			} else if (*p != ' ' && *p != '-') {
				arg[0] = '\0';
				return SOS_CMD_NONE;
			}
		}
		arg[o] = '\0';
		return o || kws[i].cmd == SOS_CMD_LOCATE ? kws[i].cmd : SOS_CMD_NONE;
	}
	return SOS_CMD_NONE;
}

/* A coordinate with at most 6 decimals and no trailing zeros. */
static void coord(double v, char *buf, size_t len)
{
	char *p;

	snprintf(buf, len, "%.6f", v);
	p = buf + strlen(buf);
	while (p > buf && p[-1] == '0')
		*--p = '\0';
	if (p > buf && p[-1] == '.')
		*--p = '\0';
	if (!strcmp(buf, "-0"))
		strcpy(buf, "0");
}

int sos_map_link(double lat, double lon, char *buf, size_t len)
{
	char la[32], lo[32];
	int n;

	coord(lat, la, sizeof(la));
	coord(lon, lo, sizeof(lo));
	n = snprintf(buf, len, "https://uri.amap.com/marker?position=%s,%s&coordinate=wgs84", lo, la);
	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

double sos_distance_m(double lat1, double lon1, double lat2, double lon2)
{
	const double r = 6371000.0, d2r = M_PI / 180.0;
	double dlat = (lat2 - lat1) * d2r, dlon = (lon2 - lon1) * d2r;
	double a = sin(dlat / 2) * sin(dlat / 2) + cos(lat1 * d2r) * cos(lat2 * d2r) * sin(dlon / 2) * sin(dlon / 2);

	return 2 * r * atan2(sqrt(a), sqrt(1 - a));
}

const char *sos_kind_label(const char *kind)
{
	if (!kind || !strcmp(kind, "sos"))
		return "SOS求救";
	if (!strcmp(kind, "power_cut"))
		return "断电报警";
	if (!strcmp(kind, "sensor"))
		return "设备报警";
	if (!strcmp(kind, "low_battery"))
		return "低电量";
	if (!strcmp(kind, "position"))
		return "位置";
	return "手表报警";
}

/* Append printf output to buf at *o; false when it did not fit. */
static bool app(char *buf, size_t len, size_t *o, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static bool app(char *buf, size_t len, size_t *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*o >= len)
		return false;
	va_start(ap, fmt);
	n = vsnprintf(buf + *o, len - *o, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len - *o)
		return false;
	*o += n;
	return true;
}

/* Copy at most max characters of s (UTF-8), control characters as spaces, "…" when cut. */
static void shorten(const char *s, unsigned max, char *out, size_t outlen)
{
	size_t o = 0;
	unsigned chars = 0;

	while (*s && chars < max) {
		size_t n;

		char_at((const unsigned char *)s, &n);
		if (o + n + 4 >= outlen)
			break;
		if ((unsigned char)*s < 0x20)
			out[o++] = ' ';
		else
			memcpy(out + o, s, n), o += n;
		s += n;
		chars++;
	}
	if (*s && o + 4 < outlen) {
		memcpy(out + o, "…", 3);
		o += 3;
	}
	out[o] = '\0';
}

int sos_alert_build(const struct sos_alert_text *a, char *buf, size_t len)
{
	struct sms_split sp;
	struct tm tm;
	size_t o = 0;
	bool ok;

	localtime_r(&a->at, &tm);
	ok = app(buf, len, &o, "【%s%s】%s", sos_kind_label(a->kind), a->update ? "·位置更新" : "",
		 a->person && *a->person ? a->person : a->watch);
	if (ok && a->address && *a->address)
		ok = app(buf, len, &o, " %s", a->address);
	if (ok)
		ok = app(buf, len, &o, " %02d:%02d", tm.tm_hour, tm.tm_min);
	if (ok && a->battery && *a->battery && !a->update)
		ok = app(buf, len, &o, " 电量%s", a->battery);
	if (ok && a->raw && !strcmp(a->raw, SOS_CALL_TEXT) && !a->update)
		ok = app(buf, len, &o, " 手表来电");
	if (ok && a->raw && *a->raw && a->kind && !strcmp(a->kind, "unknown") && !a->update) {
		char raw[160];

		shorten(a->raw, 30, raw, sizeof(raw));
		ok = app(buf, len, &o, " 原文:%s", raw);
	}
	if (ok) {
		if (!a->has_pos) {
			ok = app(buf, len, &o, " 无定位");
		} else if (a->with_location) {
			char link[128];

			ok = sos_map_link(a->lat, a->lon, link, sizeof(link)) > 0 &&
			     app(buf, len, &o, " %s%s", a->lbs ? "基站定位(误差大):" : "位置:", link);
		}
	}
	if (ok)
		ok = app(buf, len, &o, " " SOS_ACK_HINT);
	if (!ok)
		return -ENOSPC;
	return sms_split(buf, o, &sp);
}

int sos_program_cmds(const char *dialect, const char *number, char cmds[][64], int max)
{
	int n = 0;

	if (!dialect || !sos_dialect_valid(dialect))
		return -EINVAL;
	if (!strcmp(dialect, "setracker")) {
		if (max >= 2) {
			snprintf(cmds[n++], 64, "pw,123456,sos1,%s#", number);
			snprintf(cmds[n++], 64, "pw,123456,center,%s#", number);
		}
	} else if (!strcmp(dialect, "tk")) {
		if (max >= 1)
			snprintf(cmds[n++], 64, "W000000,003,1,1,%s", number);
	}
	return n;
}

int sos_interval_cmd(const char *dialect, unsigned minutes, char *buf, size_t len)
{
	if (!dialect || !sos_dialect_valid(dialect) || minutes < 1 || minutes > 1440)
		return -EINVAL;
	if (!strcmp(dialect, "setracker"))
		snprintf(buf, len, "pw,123456,upload,%u#", minutes * 60);
	else if (!strcmp(dialect, "tk") && minutes <= 255)
		snprintf(buf, len, "t%03um***n123456", minutes);
	else if (!strcmp(dialect, "tk"))
		return -EINVAL;
	else
		return -ENOTSUP;
	return 0;
}

int sos_locate_cmd(const char *dialect, char *buf, size_t len)
{
	if (dialect && !strcmp(dialect, "setracker"))
		snprintf(buf, len, "pw,123456,url#");
	else if (dialect && !strcmp(dialect, "tk"))
		snprintf(buf, len, "smslink123456");
	else
		return -ENOTSUP;
	return 0;
}

const char *sos_stop_word(const char *dialect)
{
	return dialect && !strcmp(dialect, "tk") ? "help me!" : NULL;
}

bool sos_dialect_valid(const char *dialect)
{
	return dialect && (!strcmp(dialect, "setracker") || !strcmp(dialect, "tk") || !strcmp(dialect, "generic"));
}

int sos_closed_text(const char *person, bool false_alarm, char *buf, size_t len)
{
	int n = snprintf(buf, len,
			 false_alarm ? "【误报】%s的报警经社区核实为误报，已解除。"
				     : "【已处理】%s的报警已由社区处理，您无需前往。",
			 person);

	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}
