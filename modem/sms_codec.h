/* SMS text coding: UTF-8 <-> GSM 03.38 7-bit (with the extension table) and UCS-2/UTF-16,
 * the choice between them, splitting into concatenated parts, septet packing and the
 * concatenation UDH (3GPP TS 23.038, 23.040 9.2.3.24.1).
 *
 * Pure C, no libgammu: used by the modem pool (to hand gammu one part at a time), by
 * tests/modemsim (to build and read PDUs) and by the unit tests.
 * Return convention: >= 0 a count, -errno on error (-EILSEQ invalid UTF-8, -EINVAL a
 * character that does not fit the coding, -ENOSPC output too small, -EMSGSIZE too many parts).
 * Invalid UTF-8 anywhere in the input is reported before the other errors.
 */
#pragma once

#include "util/utf8.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sms_coding {
	SMS_CODING_GSM7 = 0,
	SMS_CODING_8BIT = 1,
	SMS_CODING_UCS2 = 2,
};

#define SMS_GSM7_SINGLE 160 /* septets in a lone message */
#define SMS_GSM7_MULTI	153 /* septets per part with an 8-bit-reference concat UDH */
#define SMS_UCS2_SINGLE 70  /* UTF-16 code units in a lone message */
#define SMS_UCS2_MULTI	67  /* UTF-16 code units per part with a concat UDH */
#define SMS_MAX_PARTS	255

/* Number of septets s takes in GSM 7-bit (extension-table characters count 2),
 * or -EINVAL if some character is in neither table, -EILSEQ for invalid UTF-8. */
int sms_gsm7_septets(const char *s, size_t len);

/* true when every character of s fits GSM 7-bit (default alphabet or extension table). */
bool sms_gsm7_fits(const char *s, size_t len);

/* UTF-8 -> GSM 7-bit septet values (0..127; an extension character becomes 0x1B then its code).
 * No lossy mappings (ç is not sent as Ç), so GSM7 round trips exactly; an extension character
 * is never written half. Returns the number of septets written, -EINVAL/-EILSEQ/-ENOSPC. */
int sms_utf8_to_gsm7(const char *s, size_t len, uint8_t *out, size_t outmax);

/* GSM 7-bit septet values -> UTF-8, NUL-terminated. Unknown escapes become the base character
 * (23.038: a receiver shows the default-table character); ESC ESC and a lone trailing ESC become
 * a space; bit 7 of each value is ignored. Returns bytes written (without NUL) or -ENOSPC (out
 * then holds, NUL-terminated, the characters that fitted; outmax 0 writes nothing). */
int sms_gsm7_to_utf8(const uint8_t *septets, size_t n, char *out, size_t outmax);

/* UTF-8 -> UTF-16 code units (characters above U+FFFF as surrogate pairs).
 * Returns units written, -EILSEQ, -ENOSPC. */
int sms_utf8_to_utf16(const char *s, size_t len, uint16_t *out, size_t outmax);

/* UTF-16 code units -> UTF-8, NUL-terminated; a lone surrogate becomes U+FFFD.
 * Returns bytes written (without NUL) or -ENOSPC (with the same partial output as above). */
int sms_utf16_to_utf8(const uint16_t *u, size_t n, char *out, size_t outmax);

/* Pack septets into octets, starting after fill_bits (0..6) zero bits, as a TP-UD that follows
 * a UDH needs. Returns octets written. out must hold (n * 7 + fill_bits + 7) / 8 octets. */
size_t sms_gsm7_pack(const uint8_t *septets, size_t n, unsigned fill_bits, uint8_t *out);

/* Unpack nseptets septets from in[0..octets) skipping fill_bits first. Returns septets read
 * (less than nseptets if the octets run out). */
size_t sms_gsm7_unpack(const uint8_t *in, size_t octets, size_t nseptets, unsigned fill_bits, uint8_t *out);

/* How a text is cut into parts. Parts never split a GSM escape sequence or a surrogate pair. */
struct sms_split_part {
	size_t off, len; /* byte range of this part in the UTF-8 input */
	unsigned units;	 /* septets (GSM7) or UTF-16 code units (UCS2) in this part */
};
struct sms_split {
	enum sms_coding coding; /* GSM7 when every character fits, otherwise UCS2 */
	unsigned nparts;	/* 1 for an empty or short text */
	struct sms_split_part part[SMS_MAX_PARTS];
};

/* Choose the coding and split s. Returns nparts, -EILSEQ (invalid UTF-8) or -EMSGSIZE. */
int sms_split(const char *s, size_t len, struct sms_split *out);

/* Concatenation information element (IEI 0x00 8-bit ref, or 0x08 16-bit ref). */
struct sms_concat {
	unsigned ref;	/* 0..255 or 0..65535 */
	unsigned total; /* 1..255 */
	unsigned seq;	/* 1..total */
	bool ref16;
};

/* Find the concat IE in a UDH (udh[0] is the UDHL octet; len may go past the UDH, the rest is
 * ignored). Other IEs are skipped; a repeated concat IE counts by its last occurrence (23.040).
 * Returns 0 when found, -ENOENT when the UDH has none, -EINVAL when the UDH is malformed (UDHL
 * past len, an IE past UDHL, a concat IE of the wrong length) or out of range (total 0, seq 0,
 * seq > total). */
int sms_udh_parse_concat(const uint8_t *udh, size_t len, struct sms_concat *c);

/* Write a UDH (with its UDHL octet) holding just the concat IE. Returns its length (6 or 7). */
size_t sms_udh_build_concat(const struct sms_concat *c, uint8_t *out);
