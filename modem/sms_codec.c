/* SMS text coding: UTF-8 <-> GSM 03.38 7-bit / UTF-16, splitting, septet packing and the
 * concatenation UDH. See sms_codec.h for the contract; 3GPP TS 23.038 and 23.040 for the rules. */

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "modem/sms_codec.h"

#define GSM7_ESC 0x1b
#define NO_CHAR	 0xffff /* marks the escape slot of the default table: no character maps to it */

/* 23.038 6.2.1: the default alphabet, indexed by septet value. */
static const uint16_t gsm7_default[128] = {
	0x0040, 0x00a3, 0x0024, 0x00a5,	 0x00e8, 0x00e9, 0x00f9, 0x00ec, /* @ £ $ ¥ è é ù ì */
	0x00f2, 0x00c7, 0x000a, 0x00d8,	 0x00f8, 0x000d, 0x00c5, 0x00e5, /* ò Ç LF Ø ø CR Å å */
	0x0394, 0x005f, 0x03a6, 0x0393,	 0x039b, 0x03a9, 0x03a0, 0x03a8, /* Δ _ Φ Γ Λ Ω Π Ψ */
	0x03a3, 0x0398, 0x039e, NO_CHAR, 0x00c6, 0x00e6, 0x00df, 0x00c9, /* Σ Θ Ξ ESC Æ æ ß É */
	0x0020, 0x0021, 0x0022, 0x0023,	 0x00a4, 0x0025, 0x0026, 0x0027, /* space ! " # ¤ % & ' */
	0x0028, 0x0029, 0x002a, 0x002b,	 0x002c, 0x002d, 0x002e, 0x002f, 0x0030, 0x0031, 0x0032, 0x0033, 0x0034,
	0x0035, 0x0036, 0x0037, 0x0038,	 0x0039, 0x003a, 0x003b, 0x003c, 0x003d, 0x003e, 0x003f, 0x00a1, 0x0041,
	0x0042, 0x0043, 0x0044, 0x0045,	 0x0046, 0x0047, /* ¡ A..G */
	0x0048, 0x0049, 0x004a, 0x004b,	 0x004c, 0x004d, 0x004e, 0x004f, 0x0050, 0x0051, 0x0052, 0x0053, 0x0054,
	0x0055, 0x0056, 0x0057, 0x0058,	 0x0059, 0x005a, 0x00c4, 0x00d6, 0x00d1, 0x00dc, 0x00a7, /* X Y Z Ä Ö Ñ Ü § */
	0x00bf, 0x0061, 0x0062, 0x0063,	 0x0064, 0x0065, 0x0066, 0x0067,			 /* ¿ a..g */
	0x0068, 0x0069, 0x006a, 0x006b,	 0x006c, 0x006d, 0x006e, 0x006f, 0x0070, 0x0071, 0x0072, 0x0073, 0x0074,
	0x0075, 0x0076, 0x0077, 0x0078,	 0x0079, 0x007a, 0x00e4, 0x00f6, 0x00f1, 0x00fc, 0x00e0, /* x y z ä ö ñ ü à */
};

/* 23.038 6.2.1.1: the extension table, reached by ESC followed by code. */
static const struct {
	uint8_t code;
	uint16_t cp;
} gsm7_ext[] = {
	{0x0a, 0x000c}, /* form feed (page break) */
	{0x14, 0x005e}, /* ^ */
	{0x28, 0x007b}, /* { */
	{0x29, 0x007d}, /* } */
	{0x2f, 0x005c}, /* \ */
	{0x3c, 0x005b}, /* [ */
	{0x3d, 0x007e}, /* ~ */
	{0x3e, 0x005d}, /* ] */
	{0x40, 0x007c}, /* | */
	{0x65, 0x20ac}, /* € */
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Septet(s) for code point cp: returns 1 (*code set) for the default table, 2 (*code set to the
 * extension code, to be preceded by ESC) for the extension table, 0 when cp fits neither. */
static int gsm7_lookup(uint32_t cp, uint8_t *code)
{
	unsigned k;

	for (k = 0; k < ARRAY_SIZE(gsm7_default); k++) {
		if (gsm7_default[k] == cp) {
			*code = k;
			return 1;
		}
	}
	for (k = 0; k < ARRAY_SIZE(gsm7_ext); k++) {
		if (gsm7_ext[k].cp == cp) {
			*code = gsm7_ext[k].code;
			return 2;
		}
	}
	return 0;
}

static unsigned utf16_units(uint32_t cp)
{
	return cp > 0xffff ? 2 : 1;
}

int sms_gsm7_septets(const char *s, size_t len)
{
	const uint8_t *u = (const uint8_t *)s;
	size_t i = 0, n = 0;
	uint32_t cp;
	uint8_t code;
	int w;

	if (utf8_validate(s, len, NULL) < 0)
		return -EILSEQ; /* before -EINVAL, wherever each occurs */
	while (i < len) {
		utf8_next(u, len, &i, &cp);
		w = gsm7_lookup(cp, &code);
		if (!w)
			return -EINVAL;
		n += w;
		if (n > INT_MAX)
			return -EMSGSIZE;
	}
	return n;
}

bool sms_gsm7_fits(const char *s, size_t len)
{
	return sms_gsm7_septets(s, len) >= 0;
}

int sms_utf8_to_gsm7(const char *s, size_t len, uint8_t *out, size_t outmax)
{
	const uint8_t *u = (const uint8_t *)s;
	size_t i = 0, n = 0;
	uint32_t cp;
	uint8_t code;
	int w;

	if (utf8_validate(s, len, NULL) < 0)
		return -EILSEQ;
	while (i < len) {
		utf8_next(u, len, &i, &cp);
		w = gsm7_lookup(cp, &code);
		if (!w)
			return -EINVAL;
		if (outmax - n < (size_t)w || n + w > INT_MAX)
			return -ENOSPC;
		if (w == 2)
			out[n++] = GSM7_ESC;
		out[n++] = code;
	}
	return n;
}

/* 23.038 6.2.1.1: ESC followed by a code the extension table lacks shows the default-table
 * character for that code; ESC ESC (reserved for a further table) and a lone trailing ESC show
 * as a space, as the note on 0x1B in 6.2.1 asks of a receiver that cannot use the escape. */
int sms_gsm7_to_utf8(const uint8_t *septets, size_t n, char *out, size_t outmax)
{
	size_t i, w = 0;
	uint32_t cp;
	int rc = 0;

	if (!outmax)
		return -ENOSPC;
	for (i = 0; i < n; i++) {
		uint8_t c = septets[i] & 0x7f;

		if (c != GSM7_ESC) {
			cp = gsm7_default[c];
		} else if (i + 1 >= n || (septets[i + 1] & 0x7f) == GSM7_ESC) {
			cp = ' ';
			i++; /* ESC ESC is one character; past the end this is harmless */
		} else {
			uint8_t e = septets[++i] & 0x7f;
			unsigned k;

			cp = gsm7_default[e];
			for (k = 0; k < ARRAY_SIZE(gsm7_ext); k++) {
				if (gsm7_ext[k].code == e) {
					cp = gsm7_ext[k].cp;
					break;
				}
			}
		}
		rc = utf8_put(cp, out, outmax, &w);
		if (rc < 0)
			break;
	}
	out[w] = '\0';
	return rc < 0 ? rc : (int)w;
}

int sms_utf8_to_utf16(const char *s, size_t len, uint16_t *out, size_t outmax)
{
	const uint8_t *u = (const uint8_t *)s;
	size_t i = 0, n = 0;
	uint32_t cp;

	if (utf8_validate(s, len, NULL) < 0)
		return -EILSEQ;
	while (i < len) {
		utf8_next(u, len, &i, &cp);
		if (outmax - n < utf16_units(cp) || n + 2 > INT_MAX)
			return -ENOSPC;
		if (cp > 0xffff) {
			cp -= 0x10000;
			out[n++] = 0xd800 | (cp >> 10);
			out[n++] = 0xdc00 | (cp & 0x3ff);
		} else {
			out[n++] = cp;
		}
	}
	return n;
}

int sms_utf16_to_utf8(const uint16_t *u, size_t n, char *out, size_t outmax)
{
	size_t i, w = 0;
	uint32_t cp;
	int rc = 0;

	if (!outmax)
		return -ENOSPC;
	for (i = 0; i < n; i++) {
		cp = u[i];
		if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < n && u[i + 1] >= 0xdc00 && u[i + 1] <= 0xdfff) {
			cp = 0x10000 + ((cp - 0xd800) << 10) + (u[i + 1] - 0xdc00);
			i++;
		} else if (cp >= 0xd800 && cp <= 0xdfff) {
			cp = 0xfffd;
		}
		rc = utf8_put(cp, out, outmax, &w);
		if (rc < 0)
			break;
	}
	out[w] = '\0';
	return rc < 0 ? rc : (int)w;
}

size_t sms_gsm7_pack(const uint8_t *septets, size_t n, unsigned fill_bits, uint8_t *out)
{
	size_t octets = (n * 7 + fill_bits + 7) / 8;
	size_t i;

	memset(out, 0, octets);
	for (i = 0; i < n; i++) {
		size_t bit = fill_bits + i * 7;
		unsigned shift = bit % 8;
		unsigned v = septets[i] & 0x7f;

		out[bit / 8] |= (uint8_t)(v << shift);
		if (shift > 1)
			out[bit / 8 + 1] |= (uint8_t)(v >> (8 - shift));
	}
	return octets;
}

size_t sms_gsm7_unpack(const uint8_t *in, size_t octets, size_t nseptets, unsigned fill_bits, uint8_t *out)
{
	size_t i;

	for (i = 0; i < nseptets; i++) {
		size_t bit = fill_bits + i * 7;
		unsigned shift = bit % 8;
		unsigned v;

		if (bit + 7 > octets * 8)
			break;
		v = in[bit / 8] >> shift;
		if (shift > 1)
			v |= in[bit / 8 + 1] << (8 - shift);
		out[i] = v & 0x7f;
	}
	return i;
}

/* Cutting is greedy: each character (an escape pair or a surrogate pair counting as one) goes
 * whole into the current part or starts the next. */
int sms_split(const char *s, size_t len, struct sms_split *out)
{
	const uint8_t *u = (const uint8_t *)s;
	size_t i, start, total = 0;
	unsigned limit, used = 0, np = 0;
	uint32_t cp;
	uint8_t code;
	bool gsm7;

	if (utf8_validate(s, len, NULL) < 0)
		return -EILSEQ;
	gsm7 = sms_gsm7_fits(s, len);
	out->coding = gsm7 ? SMS_CODING_GSM7 : SMS_CODING_UCS2;

	for (i = 0; i < len;) {
		utf8_next(u, len, &i, &cp);
		total += gsm7 ? (unsigned)gsm7_lookup(cp, &code) : utf16_units(cp);
	}
	if (total <= (gsm7 ? SMS_GSM7_SINGLE : SMS_UCS2_SINGLE)) {
		out->nparts = 1;
		out->part[0].off = 0;
		out->part[0].len = len;
		out->part[0].units = total;
		return 1;
	}

	limit = gsm7 ? SMS_GSM7_MULTI : SMS_UCS2_MULTI;
	for (i = 0, start = 0; i < len;) {
		size_t at = i;
		unsigned w;

		utf8_next(u, len, &i, &cp);
		w = gsm7 ? (unsigned)gsm7_lookup(cp, &code) : utf16_units(cp);
		if (used + w > limit) {
			if (np == SMS_MAX_PARTS - 1)
				return -EMSGSIZE;
			out->part[np].off = start;
			out->part[np].len = at - start;
			out->part[np].units = used;
			np++;
			start = at;
			used = 0;
		}
		used += w;
	}
	out->part[np].off = start;
	out->part[np].len = len - start;
	out->part[np].units = used;
	out->nparts = ++np;
	return np;
}

/* 23.040 9.2.3.24: a repeated concat IE is resolved by its last occurrence; the whole UDH is
 * walked either way, so a malformed tail is reported even after a good IE. */
int sms_udh_parse_concat(const uint8_t *udh, size_t len, struct sms_concat *c)
{
	size_t udhl, p;
	bool found = false;
	struct sms_concat tmp = {0};

	if (len < 1)
		return -EINVAL;
	udhl = udh[0];
	if (udhl + 1 > len)
		return -EINVAL;

	for (p = 1; p < udhl + 1;) {
		uint8_t iei, iedl;
		const uint8_t *d;

		if (udhl + 1 - p < 2)
			return -EINVAL;
		iei = udh[p];
		iedl = udh[p + 1];
		d = udh + p + 2;
		if (udhl + 1 - (p + 2) < iedl)
			return -EINVAL;
		if (iei == 0x00) {
			if (iedl != 3)
				return -EINVAL;
			tmp.ref = d[0];
			tmp.total = d[1];
			tmp.seq = d[2];
			tmp.ref16 = false;
			found = true;
		} else if (iei == 0x08) {
			if (iedl != 4)
				return -EINVAL;
			tmp.ref = (d[0] << 8) | d[1];
			tmp.total = d[2];
			tmp.seq = d[3];
			tmp.ref16 = true;
			found = true;
		}
		p += 2 + iedl;
	}
	if (!found)
		return -ENOENT;
	if (tmp.total == 0 || tmp.seq == 0 || tmp.seq > tmp.total)
		return -EINVAL;
	*c = tmp;
	return 0;
}

size_t sms_udh_build_concat(const struct sms_concat *c, uint8_t *out)
{
	if (c->ref16) {
		out[0] = 6;
		out[1] = 0x08;
		out[2] = 4;
		out[3] = (c->ref >> 8) & 0xff;
		out[4] = c->ref & 0xff;
		out[5] = c->total;
		out[6] = c->seq;
		return 7;
	}
	out[0] = 5;
	out[1] = 0x00;
	out[2] = 3;
	out[3] = c->ref & 0xff;
	out[4] = c->total;
	out[5] = c->seq;
	return 6;
}
