/* Alert texts from SOS watches and GPS trackers: classification, position, battery, fix, IMEI.
 * See alert.h for the contract. Everything works on bytes: keywords are matched ASCII
 * case-insensitively (Chinese ones byte for byte), so invalid UTF-8 still gets parsed. */

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gateway/sos/alert.h"
#include "util/utf8.h"

struct text {
	const unsigned char *s;
	size_t n;
};

enum { AX_NONE, AX_LAT, AX_LON };

/* Bytes past the end read as 0, which is neither a letter, a digit nor a separator. */
static unsigned char at(const struct text *t, size_t i)
{
	return i < t->n ? t->s[i] : 0;
}

static bool is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static size_t skip_spaces(const struct text *t, size_t i)
{
	while (at(t, i) == ' ' || at(t, i) == '\t')
		i++;
	return i;
}

/* Exact bytes (ASCII letters case-insensitive) at t[i]; returns the end offset or 0. */
static size_t lit_at(const struct text *t, size_t i, const char *lit)
{
	for (const unsigned char *p = (const unsigned char *)lit; *p; p++, i++)
		if (i >= t->n || lower(t->s[i]) != lower(*p))
			return 0;
	return i;
}

/* What a space in a keyword pattern stands for: zero or more of these. */
static bool is_kw_sep(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '-' || c == '_';
}

/* Keyword pattern at t[pos]; returns the end offset or 0. ASCII letters match case-insensitively,
 * a space matches zero or more separators ("help me" = "helpme" = "help-me"), an ASCII letter at
 * either end must sit on a word boundary unless the pattern starts or ends with '*'. */
static size_t kw_at(const struct text *t, size_t pos, const char *pat)
{
	const unsigned char *p = (const unsigned char *)pat;
	size_t plen, i = pos;
	bool open_start = false, open_end = false;

	if (p[0] == '*') {
		open_start = true;
		p++;
	}
	/* most positions fail on the first byte: decide that before measuring the pattern */
	if (pos >= t->n || lower(t->s[pos]) != lower(p[0]))
		return 0;
	plen = strlen((const char *)p);
	if (plen && p[plen - 1] == '*') {
		open_end = true;
		plen--;
	}
	if (!plen)
		return 0;
	if (!open_start && is_alpha(p[0]) && pos > 0 && is_alpha(t->s[pos - 1]))
		return 0;
	for (size_t k = 0; k < plen; k++) {
		if (p[k] == ' ') {
			while (i < t->n && is_kw_sep(t->s[i]))
				i++;
			continue;
		}
		if (i >= t->n || lower(t->s[i]) != lower(p[k]))
			return 0;
		i++;
	}
	if (!open_end && is_alpha(p[plen - 1]) && is_alpha(at(t, i)))
		return 0;
	return i;
}

static bool kw_any(const struct text *t, const char *pat)
{
	for (size_t i = 0; i < t->n; i++)
		if (kw_at(t, i, pat))
			return true;
	return false;
}

/* ---- classification ---- */

enum kw_class { KW_SOS, KW_POWER, KW_SENSOR, KW_LOWBAT, KW_ALARM, KW_GPS, KW_LBS, KW_NOGPS, KW__COUNT };

static const struct {
	const char *pat;
	enum kw_class cls;
} keywords[] = {
	/* a person asking for help, or likely hurt: fall detection and crashes count as SOS */
	{"sos", KW_SOS},
	{"help", KW_SOS},
	{"help me", KW_SOS},
	{"heip me", KW_SOS},
	{"panic", KW_SOS},
	{"emergency", KW_SOS},
	{"fall", KW_SOS},
	{"falling", KW_SOS},
	{"fell", KW_SOS},
	{"fallen", KW_SOS},
	{"collision", KW_SOS},
	{"crash", KW_SOS},
	{"求救", KW_SOS},
	{"紧急", KW_SOS},
	{"救命", KW_SOS},
	{"求助", KW_SOS},
	{"呼救", KW_SOS},
	{"跌倒", KW_SOS},
	{"摔倒", KW_SOS},
	{"碰撞", KW_SOS},
	/* external power cut or device powered off */
	{"cut power", KW_POWER},
	{"power cut", KW_POWER},
	{"power off", KW_POWER},
	{"power fail*", KW_POWER},
	{"power lost", KW_POWER},
	{"lost power", KW_POWER},
	{"power disconnect*", KW_POWER},
	{"power down", KW_POWER},
	{"power removed", KW_POWER},
	{"断电", KW_POWER},
	{"外电断", KW_POWER},
	{"外电已断", KW_POWER},
	{"电源断开", KW_POWER},
	{"断开电源", KW_POWER},
	{"切断电源", KW_POWER},
	/* sensors: vibration, geo-fence, speed, movement, tamper, health */
	{"vibrat*", KW_SENSOR},
	{"shock", KW_SENSOR},
	{"*fence", KW_SENSOR},
	{"over speed", KW_SENSOR},
	{"speeding", KW_SENSOR},
	{"movement", KW_SENSOR},
	{"moving alarm", KW_SENSOR},
	{"displacement", KW_SENSOR},
	{"tamper*", KW_SENSOR},
	{"heart rate", KW_SENSOR},
	{"震动", KW_SENSOR},
	{"振动", KW_SENSOR},
	{"围栏", KW_SENSOR},
	{"超速", KW_SENSOR},
	{"位移", KW_SENSOR},
	{"防拆", KW_SENSOR},
	{"心率", KW_SENSOR},
	{"脱落", KW_SENSOR},
	{"摘下", KW_SENSOR},
	/* low battery ("battery ... low" is found by battery_then_low()) */
	{"low bat*", KW_LOWBAT},
	{"low power", KW_LOWBAT},
	{"power low", KW_LOWBAT},
	{"low volt*", KW_LOWBAT},
	{"please charge", KW_LOWBAT},
	{"低电", KW_LOWBAT},
	{"电量低", KW_LOWBAT},
	{"电量不足", KW_LOWBAT},
	{"电量过低", KW_LOWBAT},
	{"电池低", KW_LOWBAT},
	{"欠压", KW_LOWBAT},
	{"请充电", KW_LOWBAT},
	/* an alarm of no named kind: SOS by the fail-safe rule */
	{"alarm", KW_ALARM},
	{"alert", KW_ALARM},
	{"warning", KW_ALARM},
	{"warn", KW_ALARM},
	{"报警", KW_ALARM},
	{"告警", KW_ALARM},
	{"警报", KW_ALARM},
	{"警告", KW_ALARM},
	/* fix */
	{"gps", KW_GPS},
	{"beidou", KW_GPS},
	{"satellite", KW_GPS},
	{"北斗", KW_GPS},
	{"卫星", KW_GPS},
	{"lbs", KW_LBS},
	{"cell id", KW_LBS},
	{"cell loc*", KW_LBS},
	{"cell tower", KW_LBS},
	{"基站", KW_LBS},
	{"no gps", KW_NOGPS},
	{"without gps", KW_NOGPS},
	{"gps invalid", KW_NOGPS},
	{"gps not", KW_NOGPS},
	{"gps no", KW_NOGPS},
	{"gps lost", KW_NOGPS},
	{"gps fail*", KW_NOGPS},
	{"无gps", KW_NOGPS},
	{"gps无效", KW_NOGPS},
	{"gps未定位", KW_NOGPS},
};

/* "Battery is low", "battery too low", "BAT LOW": a battery word, then the word "low" a few
 * bytes later in the same sentence. */
static bool battery_then_low(const struct text *t)
{
	for (size_t i = 0; i < t->n; i++) {
		size_t e = kw_at(t, i, "bat*");

		if (!e)
			continue;
		while (is_alpha(at(t, e)))
			e++;
		for (size_t j = e; j < t->n && j < e + 16; j++) {
			unsigned char c = t->s[j];

			if (c == '\n' || c == '!' || c == ';')
				break;
			if (kw_at(t, j, "low"))
				return true;
		}
	}
	return false;
}

/* An explicit statement about the fix: +1 GPS fix, -1 no GPS fix, 0 none.
 * Queclink "F1"/"F0" as a word of its own; "Fix: A" / "Fix: V" (NMEA validity letters). */
static int explicit_fix(const struct text *t)
{
	for (size_t i = 0; i < t->n; i++) {
		unsigned char c = t->s[i], p = i ? t->s[i - 1] : ' ';
		unsigned char d = at(t, i + 1), f = at(t, i + 2);

		if (c == 'F' && (p == ' ' || p == '\n' || p == '\t' || p == '\r') && (d == '0' || d == '1') &&
		    (f == 0 || f == ' ' || f == '\n' || f == '\r' || f == ','))
			return d == '1' ? 1 : -1;
		size_t e = kw_at(t, i, "fix");
		if (e) {
			e = skip_spaces(t, e);
			if (at(t, e) != ':' && at(t, e) != '=')
				continue;
			e = skip_spaces(t, e + 1);
			if (is_alpha(at(t, e + 1)))
				continue;
			if (at(t, e) == 'A')
				return 1;
			if (at(t, e) == 'V')
				return -1;
		}
	}
	return 0;
}

/* ---- numbers and coordinates ---- */

struct num {
	size_t end;
	unsigned ip_digits, fp_digits;
	uint64_t ip; /* meaningless beyond 12 digits; callers reject such numbers */
	double frac;
	bool neg;
};

/* [+-]digits[.digits] at t[pos]; a '.' not followed by a digit (end of a sentence) is not taken. */
static bool parse_num(const struct text *t, size_t pos, struct num *nm)
{
	size_t i = pos;

	memset(nm, 0, sizeof(*nm));
	if (at(t, i) == '+' || at(t, i) == '-') {
		nm->neg = at(t, i) == '-';
		i++;
	}
	while (is_digit(at(t, i))) {
		if (nm->ip_digits < 12)
			nm->ip = nm->ip * 10 + (at(t, i) - '0');
		nm->ip_digits++;
		i++;
	}
	if (!nm->ip_digits)
		return false;
	if (at(t, i) == '.' && is_digit(at(t, i + 1))) {
		uint64_t fm = 0, scale = 1;

		for (i++; is_digit(at(t, i)); i++) {
			if (nm->fp_digits < 15) {
				fm = fm * 10 + (at(t, i) - '0');
				scale *= 10;
			}
			nm->fp_digits++;
		}
		nm->frac = (double)fm / (double)scale;
	}
	/* an exponent ("1e308", "1.14E2"): no watch writes one; taking the digits before it would
	 * make a wrong position, so it is no number at all */
	if ((at(t, i) == 'e' || at(t, i) == 'E') &&
	    (is_digit(at(t, i + 1)) || ((at(t, i + 1) == '+' || at(t, i + 1) == '-') && is_digit(at(t, i + 2)))))
		return false;
	nm->end = i;
	return true;
}

static int hemi_axis(unsigned char c)
{
	if (c == 'N' || c == 'S')
		return AX_LAT;
	if (c == 'E' || c == 'W')
		return AX_LON;
	return AX_NONE;
}

enum mark { MARK_DEG, MARK_MIN, MARK_SEC };

/* A degree, minute or second mark at t[i]: ASCII, Unicode or Chinese; returns its end or 0. */
static size_t mark_at(const struct text *t, size_t i, enum mark m)
{
	static const char *const marks[][4] = {
		[MARK_DEG] = {"\xc2\xb0", "\xc2\xba", "度", NULL},
		[MARK_MIN] = {"'", "\xe2\x80\xb2", "分", NULL},
		[MARK_SEC] = {"\"", "''", "\xe2\x80\xb3", "秒"},
	};

	for (unsigned k = 0; k < 4 && marks[m][k]; k++) {
		size_t e = lit_at(t, i, marks[m][k]);

		if (e)
			return e;
	}
	return 0;
}

struct coord {
	double v;
	int axis; /* from a hemisphere letter, else AX_NONE */
	size_t start, end;
	unsigned fp_digits;
	bool nmea, dms;
};

/* Degrees, optionally minutes and seconds, after a degree mark at t[i]; *v holds the degrees. */
static size_t parse_dms_rest(const struct text *t, size_t i, const struct num *deg, double *v)
{
	struct num mn, sn;
	size_t j = skip_spaces(t, i), e;

	if (deg->fp_digits || !is_digit(at(t, j)) || !parse_num(t, j, &mn) || mn.ip_digits > 2 ||
	    !(e = mark_at(t, mn.end, MARK_MIN)))
		return i;
	if (mn.ip + mn.frac >= 60)
		return 0;
	*v += (mn.ip + mn.frac) / 60.0;
	i = e;
	j = skip_spaces(t, i);
	if (mn.fp_digits || !is_digit(at(t, j)) || !parse_num(t, j, &sn) || sn.ip_digits > 2 ||
	    !(e = mark_at(t, sn.end, MARK_SEC)))
		return i;
	if (sn.ip + sn.frac >= 60)
		return 0;
	*v += (sn.ip + sn.frac) / 3600.0;
	return e;
}

/* One coordinate at t[pos]: an optional hemisphere letter (N22.5, "N 22.5"), a signed decimal,
 * ddmm.mmmm / dddmm.mmmm (NMEA: four or more integer digits can only be that), or degrees with
 * minute/second marks; then a hemisphere letter after it unless one came before
 * ("22.5N", "22.5 N", NMEA's "2234.0156,N"). S and W make it negative. */
static bool parse_coord(const struct text *t, size_t pos, struct coord *c)
{
	size_t i = pos, e;
	unsigned char h = 0;
	struct num nm;
	double v;

	memset(c, 0, sizeof(*c));
	c->start = pos;
	if (hemi_axis(at(t, i)) && !(i > 0 && is_alpha(t->s[i - 1]))) {
		size_t j = i + 1;

		if (at(t, j) == ' ')
			j++;
		if (!is_digit(at(t, j)) && !((at(t, j) == '+' || at(t, j) == '-') && is_digit(at(t, j + 1))))
			return false;
		h = at(t, i);
		i = j;
	}
	if (!parse_num(t, i, &nm) || nm.ip_digits > 5)
		return false;
	i = nm.end;
	if ((e = mark_at(t, i, MARK_DEG))) {
		if (nm.ip_digits > 3)
			return false;
		v = nm.ip + nm.frac;
		i = parse_dms_rest(t, e, &nm, &v);
		if (!i)
			return false;
		c->dms = true;
	} else if (nm.ip_digits >= 4) {
		double minutes = (double)(nm.ip % 100) + nm.frac;

		if (minutes >= 60)
			return false;
		v = (double)(nm.ip / 100) + minutes / 60.0;
		c->nmea = true;
	} else {
		v = nm.ip + nm.frac;
	}
	if (!h) {
		size_t j = i;
		unsigned char n1;

		if (at(t, j) == ' ' || at(t, j) == ',')
			j++;
		n1 = at(t, j + 1);
		if (hemi_axis(at(t, j)) && !is_alpha(n1) && !is_digit(n1) && n1 != '.' && n1 != '+' && n1 != '-' &&
		    n1 != ':' && n1 != '=') {
			h = at(t, j);
			i = j + 1;
		}
	}
	if (h) {
		if (nm.neg)
			return false; /* "N-22.5": contradicts itself */
		c->axis = hemi_axis(h);
		if (h == 'S' || h == 'W')
			v = -v;
	} else if (nm.neg) {
		v = -v;
	}
	c->v = v;
	c->end = i;
	c->fp_digits = nm.fp_digits;
	return true;
}

static bool pos_valid(double lat, double lon)
{
	/* (0, 0) is what many devices send when they have no fix at all */
	return fabs(lat) <= 90 && fabs(lon) <= 180 && !(lat == 0 && lon == 0);
}

/* Which of two coordinates is the latitude. Hemisphere letters decide when present. Otherwise
 * the source's convention (lon_first for AMap position=); when only the other order is in range
 * and the source is ambiguous (may_swap), the other order. Never an out-of-range result. */
static bool resolve(const struct coord *a, const struct coord *b, bool lon_first, bool may_swap, double *lat,
		    double *lon)
{
	const struct coord *la, *lo;

	if (a->axis || b->axis) {
		if (a->axis == b->axis)
			return false;
		if (a->axis == AX_LAT || b->axis == AX_LON) {
			la = a;
			lo = b;
		} else {
			la = b;
			lo = a;
		}
	} else {
		la = lon_first ? b : a;
		lo = lon_first ? a : b;
		if (!pos_valid(la->v, lo->v) && may_swap && pos_valid(lo->v, la->v)) {
			const struct coord *x = la;

			la = lo;
			lo = x;
		}
	}
	if (!pos_valid(la->v, lo->v))
		return false;
	*lat = la->v;
	*lon = lo->v;
	return true;
}

/* The separator between the two numbers of a pair; returns the start of the second or 0.
 * Links: ',' or "%2C". Bare pairs also ';', ':', '/' or plain spaces. */
static size_t pair_sep(const struct text *t, size_t i, bool bare)
{
	size_t j = skip_spaces(t, i), e;

	if (at(t, j) == ',')
		e = j + 1;
	else if ((e = lit_at(t, j, "%2C")) || (e = lit_at(t, j, "，")))
		;
	else if (bare && (at(t, j) == ';' || at(t, j) == ':' || at(t, j) == '/'))
		e = j + 1;
	else if (bare && j > i)
		e = j;
	else
		return 0;
	return skip_spaces(t, e);
}

/* ---- the position finders, most explicit first ---- */

struct found {
	double lat, lon;
	size_t where; /* offset of the pair, to look at the link around it */
};

static const char *const lat_labels[] = {"latitude", "lat", "纬度", NULL};
static const char *const lon_labels[] = {"longitude", "long", "lng", "lon", "经度", NULL};

/* One of labels at t[i], then an optional separator (: = ：) and spaces: where the value starts,
 * or 0 when no label is there. From the k-th label on (*k is where to go on from). */
static size_t label_value_at(const struct text *t, size_t i, const char *const *labels, unsigned *k)
{
	for (; labels[*k]; (*k)++) {
		size_t e = kw_at(t, i, labels[*k]), f;

		if (!e)
			continue;
		e = skip_spaces(t, e);
		if (at(t, e) == ':' || at(t, e) == '=')
			e++;
		else if ((f = lit_at(t, e, "：")))
			e = f;
		(*k)++;
		return skip_spaces(t, e);
	}
	return 0;
}

/* label [:=：] coordinate at t[i], the coordinate's letter (if any) agreeing with the label. */
static bool labelled_at(const struct text *t, size_t i, const char *const *labels, int axis, struct coord *c)
{
	unsigned k = 0;
	size_t e;

	while ((e = label_value_at(t, i, labels, &k)))
		if (parse_coord(t, e, c) && (!c->axis || c->axis == axis))
			return true;
	return false;
}

/* "lat: 22.566923 long: 114.051331", "Lat:N22.571285,Lon:E113.877115", "lat=..&lng=..", 纬度/经度.
 * The labels are explicit, so a pair out of range is dropped, never swapped. */
static bool find_labelled(const struct text *t, struct found *f)
{
	struct coord la, lo;
	bool have_lat = false, have_lon = false;

	for (size_t i = 0; i < t->n && !(have_lat && have_lon); i++) {
		if (!have_lat && labelled_at(t, i, lat_labels, AX_LAT, &la))
			have_lat = true;
		else if (!have_lon && labelled_at(t, i, lon_labels, AX_LON, &lo))
			have_lon = true;
	}
	if (!have_lat || !have_lon || !pos_valid(la.v, lo.v))
		return false;
	f->lat = la.v;
	f->lon = lo.v;
	f->where = la.start < lo.start ? la.start : lo.start;
	return true;
}

/* Could a number start at t[i] (not in the middle of one)? */
static bool num_start(const struct text *t, size_t i)
{
	unsigned char c = t->s[i], p = i ? t->s[i - 1] : ' ';

	if (is_digit(p) || p == '.')
		return false;
	return is_digit(c) || hemi_axis(c) || ((c == '+' || c == '-') && is_digit(at(t, i + 1)));
}

/* Two coordinates with hemisphere letters of different axes, close together with no other
 * number in between: "(N22.57139,E113.87710)", "2234.0156N,11403.0810E", "22.5 N 114.0 E". */
static bool find_lettered(const struct text *t, struct found *f)
{
	struct coord prev, cur;
	bool have = false;

	for (size_t i = 0; i < t->n;) {
		if (!num_start(t, i) || !parse_coord(t, i, &cur)) {
			i++;
			continue;
		}
		if (cur.axis) {
			if (have && prev.axis != cur.axis && cur.start - prev.end <= 24) {
				bool digits = false;

				for (size_t j = prev.end; j < cur.start; j++)
					digits |= is_digit(t->s[j]);
				if (!digits) {
					const struct coord *la = prev.axis == AX_LAT ? &prev : &cur;
					const struct coord *lo = prev.axis == AX_LAT ? &cur : &prev;

					if (pos_valid(la->v, lo->v)) {
						f->lat = la->v;
						f->lon = lo->v;
						f->where = prev.start;
						return true;
					}
				}
			}
			prev = cur;
			have = true;
		}
		i = cur.end > i ? cur.end : i + 1;
	}
	return false;
}

static bool url_char(unsigned char c)
{
	return c > ' ' && c < 0x7f;
}

/* The URL-like token around t[i]: [*b, *e). */
static void url_bounds(const struct text *t, size_t i, size_t *b, size_t *e)
{
	size_t s = i < t->n ? i : t->n;

	while (s > 0 && url_char(t->s[s - 1]))
		s--;
	*b = s;
	for (s = i; s < t->n && url_char(t->s[s]);)
		s++;
	*e = s;
}

/* Where needle occurs (case-insensitively) in t[b, e), or SIZE_MAX. */
static size_t find_in(const struct text *t, size_t b, size_t e, const char *needle)
{
	size_t nl = strlen(needle);

	for (size_t i = b; i + nl <= e; i++)
		if (lit_at(t, i, needle))
			return i;
	return SIZE_MAX;
}

/* Only an explicit declaration in the link changes the assumed WGS-84. */
static enum alert_datum url_datum(const struct text *t, size_t where)
{
	static const char *const params[] = {"coordinate=", "coord_type=", "coordtype=", NULL};
	size_t b, e;

	url_bounds(t, where, &b, &e);
	for (unsigned k = 0; params[k]; k++) {
		size_t p = find_in(t, b, e, params[k]);

		if (p == SIZE_MAX)
			continue;
		p += strlen(params[k]);
		if (lit_at(t, p, "gaode") || lit_at(t, p, "gcj"))
			return ALERT_DATUM_GCJ02;
		if (lit_at(t, p, "bd09") || lit_at(t, p, "baidu"))
			return ALERT_DATUM_BD09;
	}
	return ALERT_DATUM_WGS84;
}

/* Map-link parameters holding "lat,lon" (AMap's position= holds "lon,lat"). */
static const char *const link_keys[] = {"q",	    "query",  "ll",    "sll",	      "location",
					"position", "center", "daddr", "destination", NULL};

/* Map links: Google maps?q= / query= / ll= / /@lat,lon, AMap uri.amap.com/marker?position=LON,LAT
 * and amap.com/?q=LAT,LON, Baidu marker?location=LAT,LNG, Tencent coord:LAT,LNG, geo:LAT,LON.
 * Values may carry signs, N/S/E/W letters, a "loc:" prefix; ',' may be %2C. The numbers are
 * unlabelled, so a pair that fits only the other way round is taken the other way round. */
static bool find_link(const struct text *t, struct found *f)
{
	for (size_t i = 0; i < t->n; i++) {
		unsigned char c = t->s[i];
		size_t v = 0, s, e, b, ue;
		bool position = false;
		struct coord x, y;

		if (c == '?' || c == '&' || c == ';') {
			size_t j = skip_spaces(t, i + 1);

			for (unsigned k = 0; link_keys[k]; k++) {
				e = kw_at(t, j, link_keys[k]);
				if (!e)
					continue;
				e = skip_spaces(t, e);
				if (at(t, e) != '=')
					continue;
				v = skip_spaces(t, e + 1);
				position = !strcmp(link_keys[k], "position");
				break;
			}
		} else if ((e = kw_at(t, i, "geo:")) || (e = kw_at(t, i, "coord:"))) {
			v = e;
		} else if (c == '/' && at(t, i + 1) == '@') {
			v = i + 2;
		}
		if (!v)
			continue;
		if ((e = lit_at(t, v, "loc:")))
			v = e;
		if (!parse_coord(t, v, &x) || !(s = pair_sep(t, x.end, false)) || !parse_coord(t, s, &y))
			continue;
		url_bounds(t, i, &b, &ue);
		if (!resolve(&x, &y, position && find_in(t, b, ue, "amap") != SIZE_MAX, true, &f->lat, &f->lon))
			continue;
		f->where = i;
		return true;
	}
	return false;
}

/* Last resort: two plain decimals with at least 4 decimal places each, "31.222073,121.354335",
 * "23.00173:113.39463", "(22.5 114.1)". Taken as lat,lon, or the other way if only that fits. */
static bool find_bare(const struct text *t, struct found *f)
{
	for (size_t i = 0; i < t->n; i++) {
		unsigned char c = t->s[i], p = i ? t->s[i - 1] : ' ', n;
		struct coord x, y;
		size_t s;

		if (!(is_digit(c) || ((c == '+' || c == '-') && is_digit(at(t, i + 1)))))
			continue;
		if (is_alpha(p) || is_digit(p) || p == '.')
			continue;
		if (!parse_coord(t, i, &x))
			continue;
		if (x.axis || x.nmea || x.dms || x.fp_digits < 4 || !(s = pair_sep(t, x.end, true)) ||
		    !parse_coord(t, s, &y) || y.axis || y.nmea || y.dms || y.fp_digits < 4) {
			i = x.end - 1;
			continue;
		}
		n = at(t, y.end);
		if (is_alpha(n) || n == '%' || n == '.' || !resolve(&x, &y, false, true, &f->lat, &f->lon)) {
			i = x.end - 1;
			continue;
		}
		f->where = i;
		return true;
	}
	return false;
}

/* ---- battery and IMEI ---- */

/* A battery value at t[i]: number, optional space, V / mV / % (as allowed); copied as given
 * without the space. */
static bool battery_value(const struct text *t, size_t i, bool volts, bool percent, char *dst, size_t dstlen)
{
	struct num nm;
	size_t u, ue, nlen;
	double v;

	if (!is_digit(at(t, i)) || !parse_num(t, i, &nm) || nm.ip_digits > 5)
		return false;
	v = nm.ip + nm.frac;
	u = nm.end;
	if (at(t, u) == ' ')
		u++;
	if (percent && at(t, u) == '%') {
		ue = u + 1;
		if (v > 100)
			return false;
	} else if (volts && lower(at(t, u)) == 'm' && lower(at(t, u + 1)) == 'v') {
		ue = u + 2;
		if (v > 100000)
			return false;
	} else if (volts && lower(at(t, u)) == 'v') {
		ue = u + 1;
		if (v > 100)
			return false;
	} else {
		return false;
	}
	if (is_alpha(at(t, ue)))
		return false;
	nlen = nm.end - i;
	if (nlen + (ue - u) >= dstlen)
		return false;
	memcpy(dst, t->s + i, nlen);
	memcpy(dst + nlen, t->s + u, ue - u);
	dst[nlen + (ue - u)] = '\0';
	return true;
}

static const char *const battery_labels[] = {"battery level", "battery", "batt", "bat", "电量", "电池", NULL};

/* "Battery:3.9V", "bat:80%", "电量:35%" first; then the TK family's "F:4.32V" (normal) /
 * "L:3.68V" (low), then Queclink's "B74%". */
static void find_battery(const struct text *t, struct alert_info *out)
{
	for (size_t i = 0; i < t->n; i++) {
		unsigned k = 0;
		size_t e;

		while ((e = label_value_at(t, i, battery_labels, &k)))
			if (battery_value(t, e, true, true, out->battery, sizeof(out->battery)))
				return;
	}
	for (size_t i = 0; i < t->n; i++) {
		unsigned char c = t->s[i], p = i ? t->s[i - 1] : ' ';

		if ((c == 'F' || c == 'L') && !is_alpha(p) && !is_digit(p) && at(t, i + 1) == ':' &&
		    battery_value(t, i + 2, true, false, out->battery, sizeof(out->battery))) {
			out->battery_low = c == 'L';
			return;
		}
	}
	for (size_t i = 0; i < t->n; i++) {
		unsigned char c = t->s[i], p = i ? t->s[i - 1] : ' ';

		if (c == 'B' && !is_alpha(p) && !is_digit(p) &&
		    battery_value(t, i + 1, false, true, out->battery, sizeof(out->battery)))
			return;
	}
}

/* "imei:359587011016261", "IMEI: ...", TK-205's "ID: ...": exactly 15 digits. */
static void find_imei(const struct text *t, struct alert_info *out)
{
	static const char *const labels[] = {"imei", "id", NULL};

	for (size_t i = 0; i < t->n; i++) {
		unsigned k = 0;
		size_t e, d;

		while ((e = label_value_at(t, i, labels, &k))) {
			for (d = e; is_digit(at(t, d)); d++)
				;
			if (d - e != 15)
				continue;
			memcpy(out->imei, t->s + e, 15);
			out->imei[15] = '\0';
			return;
		}
	}
}

int alert_parse(const char *utf8, size_t len, struct alert_info *out)
{
	struct text t = {(const unsigned char *)utf8, len};
	bool cls[KW__COUNT] = {false};
	struct found f;
	int fix;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->kind = ALERT_UNKNOWN;
	out->fix = ALERT_FIX_NONE;
	out->datum = ALERT_DATUM_WGS84;
	if (!utf8)
		return len ? -EINVAL : 0;

	find_battery(&t, out);
	find_imei(&t, out);
	if (find_labelled(&t, &f) || find_lettered(&t, &f) || find_link(&t, &f) || find_bare(&t, &f)) {
		out->has_pos = true;
		out->lat = f.lat;
		out->lon = f.lon;
		out->datum = url_datum(&t, f.where);
	}

	for (size_t k = 0; k < sizeof(keywords) / sizeof(keywords[0]); k++)
		if (!cls[keywords[k].cls] && kw_any(&t, keywords[k].pat))
			cls[keywords[k].cls] = true;
	if (out->battery_low || battery_then_low(&t))
		cls[KW_LOWBAT] = true;

	/* sos beats everything, then power_cut, sensor, low_battery; a bare "alarm" is an SOS by
	 * the fail-safe rule; a position only when nothing else was said */
	if (cls[KW_SOS])
		out->kind = ALERT_SOS;
	else if (cls[KW_POWER])
		out->kind = ALERT_POWER_CUT;
	else if (cls[KW_SENSOR])
		out->kind = ALERT_SENSOR;
	else if (cls[KW_LOWBAT])
		out->kind = ALERT_LOW_BATTERY;
	else if (cls[KW_ALARM])
		out->kind = ALERT_SOS;
	else if (out->has_pos)
		out->kind = ALERT_POSITION;

	/* When in doubt, claim the coarser fix: trusting a cell-ID fix as GPS sends people to the
	 * wrong street. */
	if (out->has_pos) {
		fix = explicit_fix(&t);
		if (fix > 0)
			out->fix = ALERT_FIX_GPS;
		else if (cls[KW_LBS])
			out->fix = ALERT_FIX_LBS;
		else if (fix == 0 && cls[KW_GPS] && !cls[KW_NOGPS])
			out->fix = ALERT_FIX_GPS;
	}

	return utf8_validate((const char *)t.s, t.n, NULL) == 0 ? 0 : -EINVAL;
}

const char *alert_kind_name(enum alert_kind kind)
{
	switch (kind) {
	case ALERT_SOS:
		return "sos";
	case ALERT_LOW_BATTERY:
		return "low_battery";
	case ALERT_POWER_CUT:
		return "power_cut";
	case ALERT_SENSOR:
		return "sensor";
	case ALERT_POSITION:
		return "position";
	case ALERT_UNKNOWN:
		break;
	}
	return "unknown";
}

bool alert_is_alarm(const struct alert_info *a)
{
	if (!a)
		return true;
	return a->kind != ALERT_LOW_BATTERY && a->kind != ALERT_POSITION;
}

/* Appends to buf[*len..size); keeps *len <= size so an overflow is seen once at the end. */
static void json_add(char *buf, size_t size, size_t *len, const char *s, size_t n)
{
	if (*len + n < size)
		memcpy(buf + *len, s, n);
	*len += n;
}

static void json_str(char *buf, size_t size, size_t *len, const char *key, const char *val, size_t max)
{
	char esc[8];

	json_add(buf, size, len, ",\"", 2);
	json_add(buf, size, len, key, strlen(key));
	json_add(buf, size, len, "\":\"", 3);
	for (size_t i = 0; i < max && val[i]; i++) {
		unsigned char c = (unsigned char)val[i];

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			json_add(buf, size, len, esc, 2);
		} else if (c < 0x20 || c >= 0x7f) {
			/* the parser only stores ASCII; a caller-filled struct gets escaped */
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			json_add(buf, size, len, esc, 6);
		} else {
			json_add(buf, size, len, (const char *)&c, 1);
		}
	}
	json_add(buf, size, len, "\"", 1);
}

static void json_deg(char *buf, size_t size, size_t *len, const char *key, double v)
{
	char num[32];
	int n = snprintf(num, sizeof(num), "%.6f", v);

	if (!strcmp(num, "-0.000000"))
		n = snprintf(num, sizeof(num), "0.000000");
	json_add(buf, size, len, ",\"", 2);
	json_add(buf, size, len, key, strlen(key));
	json_add(buf, size, len, "\":", 2);
	json_add(buf, size, len, num, (size_t)n);
}

int alert_to_json(const struct alert_info *a, char *out, size_t outlen)
{
	const char *kind;
	size_t len = 0;

	if (!a || !out)
		return -EINVAL;
	kind = alert_kind_name(a->kind);
	json_add(out, outlen, &len, "{\"kind\":\"", 9);
	json_add(out, outlen, &len, kind, strlen(kind));
	json_add(out, outlen, &len, "\"", 1);
	if (a->has_pos && pos_valid(a->lat, a->lon)) {
		json_deg(out, outlen, &len, "lat", a->lat);
		json_deg(out, outlen, &len, "lon", a->lon);
		if (a->datum == ALERT_DATUM_GCJ02)
			json_str(out, outlen, &len, "datum", "gcj02", 5);
		else if (a->datum == ALERT_DATUM_BD09)
			json_str(out, outlen, &len, "datum", "bd09", 4);
	}
	if (a->battery[0])
		json_str(out, outlen, &len, "battery", a->battery, sizeof(a->battery));
	if (a->fix == ALERT_FIX_GPS)
		json_str(out, outlen, &len, "fix", "gps", 3);
	else if (a->fix == ALERT_FIX_LBS)
		json_str(out, outlen, &len, "fix", "lbs", 3);
	if (a->imei[0])
		json_str(out, outlen, &len, "imei", a->imei, sizeof(a->imei));
	json_add(out, outlen, &len, "}", 1);
	if (len >= outlen) {
		if (outlen)
			out[0] = '\0';
		return -ENOSPC;
	}
	out[len] = '\0';
	return (int)len;
}
