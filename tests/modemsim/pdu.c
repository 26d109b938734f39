/* SMS TPDUs for the modem emulator: see pdu.h; 3GPP TS 23.040 9.2 for the layouts. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tests/modemsim/pdu.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int pdu_from_hex(const char *hex, size_t len, uint8_t *out, size_t max)
{
	size_t i;

	if (len % 2)
		return -EINVAL;
	if (len / 2 > max)
		return -ENOSPC;
	for (i = 0; i < len; i += 2) {
		int hi = hexval(hex[i]), lo = hexval(hex[i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return (int)(len / 2);
}

void pdu_to_hex(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = 0;
}

static int bcd_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c == '*')
		return 10;
	if (c == '#')
		return 11;
	return -1;
}

/* Digits of number (after an optional '+') as swapped BCD; returns the digit count or -EINVAL. */
static int bcd_encode(const char *digits, uint8_t *out, size_t maxdigits)
{
	size_t n = strlen(digits), i;

	if (n > maxdigits)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		int d = bcd_digit(digits[i]);

		if (d < 0)
			return -EINVAL;
		if (i % 2 == 0)
			out[i / 2] = (uint8_t)(0xf0 | d);
		else
			out[i / 2] = (uint8_t)((out[i / 2] & 0x0f) | d << 4);
	}
	return (int)n;
}

static bool is_numeric(const char *number)
{
	const char *p = number[0] == '+' ? number + 1 : number;

	if (!*p)
		return false;
	for (; *p; p++)
		if (bcd_digit(*p) < 0)
			return false;
	return true;
}

int pdu_sca_encode(const char *number, uint8_t *out)
{
	bool intl = number[0] == '+';
	int n;

	if (!*number) {
		out[0] = 0;
		return 1;
	}
	n = bcd_encode(number + intl, out + 2, 20);
	if (n < 0)
		return n;
	out[0] = (uint8_t)(1 + (n + 1) / 2);
	out[1] = intl ? 0x91 : 0x81;
	return out[0] + 1;
}

int pdu_addr_encode(const char *number, uint8_t *out)
{
	bool intl = number[0] == '+';
	uint8_t sept[22];
	int n;

	if (is_numeric(number)) {
		n = bcd_encode(number + intl, out + 2, 20);
		if (n < 0)
			return n;
		out[0] = (uint8_t)n;
		out[1] = intl ? 0x91 : 0x81;
		return 2 + (n + 1) / 2;
	}
	/* alphanumeric (23.040 9.1.2.5): GSM 7-bit packed, at most 11 characters (10 octets) */
	n = sms_utf8_to_gsm7(number, strlen(number), sept, sizeof(sept));
	if (n <= 0 || n > 11)
		return -EINVAL;
	sms_gsm7_pack(sept, (size_t)n, 0, out + 2);
	out[0] = (uint8_t)((n * 7 + 3) / 4);
	out[1] = 0xd0;
	return 2 + (n * 7 + 7) / 8;
}

int pdu_addr_decode(const uint8_t *in, size_t len, char *out, size_t outmax)
{
	static const char digits[] = "0123456789*#abc";
	size_t n, octets, i, o = 0;
	uint8_t toa;

	if (len < 2)
		return -EINVAL;
	n = in[0];
	toa = in[1];
	octets = (n + 1) / 2;
	if (n > 20 || 2 + octets > len)
		return -EINVAL;
	if ((toa & 0x70) == 0x50) {
		uint8_t sept[24];
		size_t ns = n * 4 / 7;

		ns = sms_gsm7_unpack(in + 2, octets, ns, 0, sept);
		if (sms_gsm7_to_utf8(sept, ns, out, outmax) < 0)
			return -EINVAL;
		return (int)(2 + octets);
	}
	if (outmax < n + 2)
		return -EINVAL;
	if ((toa & 0x70) == 0x10)
		out[o++] = '+';
	for (i = 0; i < n; i++) {
		unsigned d = i % 2 ? in[2 + i / 2] >> 4 : in[2 + i / 2] & 15;

		if (d == 15)
			break;
		out[o++] = digits[d];
	}
	out[o] = 0;
	return (int)(2 + octets);
}

static uint8_t swapped_bcd(unsigned v)
{
	return (uint8_t)((v % 10) << 4 | (v / 10 % 10));
}

void pdu_scts_encode(time_t t, uint8_t *out)
{
	struct tm tm;
	long off;
	unsigned q;

	localtime_r(&t, &tm);
	off = tm.tm_gmtoff;
	q = (unsigned)(labs(off) / 900);
	out[0] = swapped_bcd((unsigned)tm.tm_year % 100);
	out[1] = swapped_bcd((unsigned)tm.tm_mon + 1);
	out[2] = swapped_bcd((unsigned)tm.tm_mday);
	out[3] = swapped_bcd((unsigned)tm.tm_hour);
	out[4] = swapped_bcd((unsigned)tm.tm_min);
	out[5] = swapped_bcd((unsigned)tm.tm_sec);
	out[6] = (uint8_t)(swapped_bcd(q) | (off < 0 ? 0x08 : 0));
}

static uint8_t coding_dcs(enum sms_coding c)
{
	return c == SMS_CODING_UCS2 ? 0x08 : c == SMS_CODING_8BIT ? 0x04 : 0x00;
}

int pdu_deliver_encode(const struct pdu_deliver *d, uint8_t *out, size_t max)
{
	uint8_t buf[PDU_MAX];
	size_t i = 0, udh_len = 0, ud_octets;
	int n;

	buf[i++] = (uint8_t)(0x04 | (d->has_concat ? 0x40 : 0)); /* SMS-DELIVER, TP-MMS: no more */
	n = pdu_addr_encode(d->oa, buf + i);
	if (n < 0)
		return n;
	i += (size_t)n;
	buf[i++] = 0x00; /* TP-PID */
	buf[i++] = coding_dcs(d->coding);
	pdu_scts_encode(d->scts, buf + i);
	i += 7;
	if (d->has_concat)
		udh_len = sms_udh_build_concat(&d->concat, buf + i + 1);
	if (d->coding == SMS_CODING_GSM7) {
		unsigned fill = udh_len ? (unsigned)(7 - (udh_len * 8) % 7) % 7 : 0;
		size_t udh_sept = (udh_len * 8 + fill) / 7;

		ud_octets = udh_len + (d->udl * 7 + fill + 7) / 8;
		if (udh_sept + d->udl > 160 || ud_octets > PDU_UD_MAX)
			return -ENOSPC;
		buf[i++] = (uint8_t)(udh_sept + d->udl);
		sms_gsm7_pack(d->ud, d->udl, fill, buf + i + udh_len);
	} else {
		ud_octets = udh_len + d->udl;
		if (ud_octets > PDU_UD_MAX)
			return -ENOSPC;
		buf[i++] = (uint8_t)ud_octets;
		memcpy(buf + i + udh_len, d->ud, d->udl);
	}
	i += ud_octets;
	if (i > max)
		return -ENOSPC;
	memcpy(out, buf, i);
	return (int)i;
}

int pdu_status_report_encode(unsigned mr, const char *ra, time_t scts, time_t dt, unsigned st, uint8_t *out, size_t max)
{
	uint8_t buf[PDU_MAX];
	size_t i = 0;
	int n;

	buf[i++] = 0x06; /* SMS-STATUS-REPORT, TP-MMS: no more */
	buf[i++] = (uint8_t)mr;
	n = pdu_addr_encode(ra, buf + i);
	if (n < 0)
		return n;
	i += (size_t)n;
	pdu_scts_encode(scts, buf + i);
	i += 7;
	pdu_scts_encode(dt, buf + i);
	i += 7;
	buf[i++] = (uint8_t)st;
	if (i > max)
		return -ENOSPC;
	memcpy(out, buf, i);
	return (int)i;
}

static enum sms_coding dcs_coding(unsigned dcs)
{
	switch (dcs >> 4) {
	case 0x0:
	case 0x1:
	case 0x2:
	case 0x3: /* general data coding */
	case 0x4:
	case 0x5:
	case 0x6:
	case 0x7: /* ... marked for automatic deletion */
		switch ((dcs >> 2) & 3) {
		case 1:
			return SMS_CODING_8BIT;
		case 2:
			return SMS_CODING_UCS2;
		default:
			return SMS_CODING_GSM7;
		}
	case 0xe:
		return SMS_CODING_UCS2;
	case 0xf:
		return dcs & 0x04 ? SMS_CODING_8BIT : SMS_CODING_GSM7;
	default:
		return SMS_CODING_GSM7;
	}
}

/* Decode TP-UDL + TP-UD at in[0..len), which must be used up exactly. */
static int ud_decode(const uint8_t *in, size_t len, enum sms_coding coding, bool udhi, bool *has_concat,
		     struct sms_concat *concat, char *text, size_t textmax, size_t *text_len)
{
	size_t udl, octets, hdr = 0;
	const uint8_t *ud = in + 1;
	int n;

	if (len < 1)
		return -EINVAL;
	udl = in[0];
	octets = coding == SMS_CODING_GSM7 ? (udl * 7 + 7) / 8 : udl;
	if (octets != len - 1 || octets > PDU_UD_MAX)
		return -EINVAL;
	*has_concat = false;
	if (udhi) {
		if (octets < 1 || (size_t)ud[0] + 1 > octets)
			return -EINVAL;
		hdr = (size_t)ud[0] + 1;
		*has_concat = sms_udh_parse_concat(ud, hdr, concat) == 0;
	}
	if (coding == SMS_CODING_GSM7) {
		unsigned fill = hdr ? (unsigned)(7 - (hdr * 8) % 7) % 7 : 0;
		size_t skip = (hdr * 8 + fill) / 7, ns;
		uint8_t sept[160];

		if (skip > udl)
			return -EINVAL;
		ns = sms_gsm7_unpack(ud + hdr, octets - hdr, udl - skip, fill, sept);
		n = sms_gsm7_to_utf8(sept, ns, text, textmax);
		if (n < 0)
			return -EINVAL;
		*text_len = (size_t)n;
	} else if (coding == SMS_CODING_UCS2) {
		uint16_t u[PDU_UD_MAX / 2];
		size_t nu = (octets - hdr) / 2, k;

		if ((octets - hdr) % 2)
			return -EINVAL;
		for (k = 0; k < nu; k++)
			u[k] = (uint16_t)(ud[hdr + 2 * k] << 8 | ud[hdr + 2 * k + 1]);
		n = sms_utf16_to_utf8(u, nu, text, textmax);
		if (n < 0)
			return -EINVAL;
		*text_len = (size_t)n;
	} else {
		if (octets - hdr >= textmax)
			return -EINVAL;
		memcpy(text, ud + hdr, octets - hdr);
		text[octets - hdr] = 0;
		*text_len = octets - hdr;
	}
	return 0;
}

int pdu_submit_decode(const uint8_t *in, size_t len, struct pdu_submit *s)
{
	size_t i = 0;
	unsigned fo, vpf;
	int n;

	memset(s, 0, sizeof(*s));
	if (len < 7)
		return -EINVAL;
	fo = in[i++];
	if ((fo & 3) != 1)
		return -EINVAL;
	vpf = (fo >> 3) & 3;
	s->srr = fo & 0x20;
	s->mr = in[i++];
	n = pdu_addr_decode(in + i, len - i, s->da, sizeof(s->da));
	if (n < 0 || !s->da[0])
		return -EINVAL;
	i += (size_t)n;
	if (i + 2 > len)
		return -EINVAL;
	i++; /* TP-PID */
	s->dcs = in[i++];
	s->coding = dcs_coding(s->dcs);
	i += vpf == 2 ? 1 : vpf ? 7 : 0;
	if (i >= len)
		return -EINVAL;
	return ud_decode(in + i, len - i, s->coding, fo & 0x40, &s->has_concat, &s->concat, s->text, sizeof(s->text),
			 &s->text_len);
}

int pdu_deliver_decode(const uint8_t *in, size_t len, struct pdu_deliver_info *d)
{
	size_t i = 0;
	unsigned fo;
	int n;

	memset(d, 0, sizeof(*d));
	if (len < 1)
		return -EINVAL;
	fo = in[i++];
	if ((fo & 3) != 0)
		return -EINVAL;
	n = pdu_addr_decode(in + i, len - i, d->oa, sizeof(d->oa));
	if (n < 0)
		return -EINVAL;
	i += (size_t)n;
	if (i + 2 + 7 >= len)
		return -EINVAL;
	i++; /* TP-PID */
	d->coding = dcs_coding(in[i++]);
	i += 7; /* TP-SCTS */
	return ud_decode(in + i, len - i, d->coding, fo & 0x40, &d->has_concat, &d->concat, d->text, sizeof(d->text),
			 &d->text_len);
}

int pdu_sca_len(const uint8_t *in, size_t len)
{
	if (len < 1 || (size_t)in[0] + 1 > len || in[0] > 11)
		return -EINVAL;
	return in[0] + 1;
}
