/* Alert texts from SOS watches and GPS trackers: what kind of alert, where, battery, fix, IMEI.
 *
 * There is no common format (shared corpus: tests/unit/alert_corpus.tsv), so the parser looks
 * for keywords (English and Chinese) and for coordinates in every form the makers use: labelled
 * ("lat: 22.5 long: 114.0", "Lat:N22.57,Lon:E113.87", 纬度/经度), hemisphere letters before or
 * after the number, NMEA ddmm.mmmm / dddmm.mmmm with a hemisphere, degrees-minutes-seconds,
 * map links (Google q= / query= / ll= / @, AMap position= which is LONGITUDE first, AMap q=,
 * Baidu location=, Tencent coord:, geo: URIs) and bare "lat,lon" pairs.
 *
 * Pure C: no allocation, no locale-dependent parsing, nothing beyond the caller's struct.
 * The text need not be NUL-terminated; len is authoritative.
 *
 * Fail-safe rule (alert_is_alarm): a text from a registered watch is an alarm unless it was
 * clearly classified as something else. Only low_battery and position are not alarms.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

enum alert_kind {
	ALERT_UNKNOWN,
	ALERT_SOS, /* SOS key, help me, 求救, fall detected, collision: a person may need help */
	ALERT_LOW_BATTERY,
	ALERT_POWER_CUT, /* external power cut / device power off */
	ALERT_SENSOR,	 /* vibration, shock, geo-fence, overspeed, movement, tamper */
	ALERT_POSITION,	 /* a position report and nothing else */
};

enum alert_fix {
	ALERT_FIX_NONE, /* not said, or no position */
	ALERT_FIX_GPS,	/* satellite fix (GPS, BeiDou) */
	ALERT_FIX_LBS,	/* cell-ID location: hundreds of metres to kilometres off */
};

/* The datum of lat/lon. GPS receivers give WGS-84 and devices send their raw fix even inside
 * AMap/Baidu links, so that is assumed unless a link says otherwise explicitly
 * (AMap coordinate=gaode, Baidu coord_type=gcj02|bd09ll). The numbers are never converted. */
enum alert_datum {
	ALERT_DATUM_WGS84,
	ALERT_DATUM_GCJ02,
	ALERT_DATUM_BD09,
};

struct alert_info {
	enum alert_kind kind;
	bool has_pos;	 /* lat/lon valid: |lat| <= 90, |lon| <= 180, not (0, 0) */
	double lat, lon; /* decimal degrees, south and west negative */
	enum alert_datum datum;
	char battery[16];   /* as given, e.g. "3.68V", "74%"; "" when not given */
	bool battery_low;   /* the device flagged its battery as low (TK family "L:3.68V") */
	enum alert_fix fix; /* ALERT_FIX_NONE whenever !has_pos */
	char imei[20];	    /* 15 digits, or "" */
};

/* Parse one alert text (UTF-8, len bytes, no NUL needed) into *out, which is always fully
 * (re)initialised. Returns 0, or -EINVAL when the text is not valid UTF-8 (or utf8 is NULL
 * with len > 0, or out is NULL); in the UTF-8 case *out still holds all that could be read,
 * so a garbled SOS is still an SOS. */
int alert_parse(const char *utf8, size_t len, struct alert_info *out);

/* "sos", "low_battery", "power_cut", "sensor", "position" or "unknown" (also for values out
 * of range). Never NULL. */
const char *alert_kind_name(enum alert_kind kind);

/* Write one JSON object, e.g.
 *   {"kind":"sos","lat":22.566923,"lon":114.051331,"battery":"4.32V","fix":"gps","imei":"359587011016261"}
 * kind is always present ("unknown" included); lat/lon (6 decimals, WGS-84 unless a "datum" key
 * says "gcj02" or "bd09"), battery, fix and imei are absent when unknown. No spaces, no newline.
 * Returns the length written (without the NUL), -ENOSPC when outlen is too small (out is then
 * "" if outlen > 0), -EINVAL for NULL arguments. */
int alert_to_json(const struct alert_info *a, char *out, size_t outlen);

/* The fail-safe rule: true for sos, unknown, sensor and power_cut (and for NULL); false only
 * for texts clearly classified as low_battery or position.
 * power_cut is an alarm: on trackers "Cut Power"/断电 is the tamper alarm (a thief cuts the
 * wire before anything else), at least as strong a sign as vibration, which is an alarm too;
 * and a watch that goes dark no longer protects its wearer. A guard looking at it costs little;
 * staying silent can cost a life.
 * A position is not an alarm by itself: the caller must still treat an unsolicited bare
 * position from a device whose SOS text is only a link as an alarm (the parser cannot know). */
bool alert_is_alarm(const struct alert_info *a);
