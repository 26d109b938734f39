/* SMS TPDUs as a GSM modem sees them (3GPP TS 23.040 9.2, 27.005 PDU mode): SMS-DELIVER and
 * SMS-STATUS-REPORT to build, SMS-SUBMIT to read, addresses (numeric and alphanumeric),
 * service-centre time stamps and the hex form that travels over AT.
 *
 * Text coding (GSM 7-bit, UCS-2, septet packing, concat UDH) comes from modem/sms_codec.h.
 * Return convention: >= 0 a length, -errno on error (-EINVAL malformed, -ENOSPC too long).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "modem/sms_codec.h"

#define PDU_MAX	     180  /* octets: SCA (12) + the longest TPDU (164) */
#define PDU_UD_MAX   140  /* octets of TP-UD */
#define PDU_ADDR_MAX 24	  /* characters of a decoded address, NUL included */
#define PDU_TEXT_MAX 1024 /* bytes of one part's decoded text, NUL included */

/* One SMS-DELIVER part to encode. ud/udl are the user data after the UDH: septet values for
 * GSM7 (udl septets), octets otherwise. */
struct pdu_deliver {
	const char *oa; /* "+861380...", "10086", or alphanumeric "Bank" */
	enum sms_coding coding;
	time_t scts;
	bool has_concat;
	struct sms_concat concat;
	const uint8_t *ud;
	size_t udl;
};

/* A decoded SMS-SUBMIT. */
struct pdu_submit {
	unsigned mr; /* TP-MR as sent by the TE */
	bool srr;    /* TP-SRR: a status report was requested */
	char da[PDU_ADDR_MAX];
	enum sms_coding coding;
	unsigned dcs;
	bool has_concat;
	struct sms_concat concat;
	char text[PDU_TEXT_MAX]; /* UTF-8 for GSM7/UCS2, raw octets for 8-bit */
	size_t text_len;
};

/* A decoded SMS-DELIVER (for listings of what is stored). */
struct pdu_deliver_info {
	char oa[PDU_ADDR_MAX];
	enum sms_coding coding;
	bool has_concat;
	struct sms_concat concat;
	char text[PDU_TEXT_MAX];
	size_t text_len;
};

/* Hex string (either case) -> octets. Returns octets written, -EINVAL on an odd length or a
 * non-hex character, -ENOSPC when more than max octets. */
int pdu_from_hex(const char *hex, size_t len, uint8_t *out, size_t max);

/* Octets -> upper-case hex, NUL-terminated; out must hold 2 * n + 1 bytes. */
void pdu_to_hex(const uint8_t *in, size_t n, char *out);

/* Encode an SMSC address as in front of a TPDU (length in octets, TOA, BCD).
 * Returns octets written (1 for an empty number) or -EINVAL. out must hold 12 octets. */
int pdu_sca_encode(const char *number, uint8_t *out);

/* Encode a TP-OA/TP-DA/TP-RA address (length in semi-octets, TOA, value); digits with an
 * optional leading '+' (also '*', '#') are BCD, anything else is alphanumeric (TOA 0xD0).
 * Returns octets written or -EINVAL. out must hold 12 octets. */
int pdu_addr_encode(const char *number, uint8_t *out);

/* Decode a TP address at in[0..len). Returns octets consumed or -EINVAL. */
int pdu_addr_decode(const uint8_t *in, size_t len, char *out, size_t outmax);

/* 7-octet TP-SCTS for t in the local time zone. */
void pdu_scts_encode(time_t t, uint8_t *out);

/* Build an SMS-DELIVER TPDU (no SCA). Returns its length or -errno. */
int pdu_deliver_encode(const struct pdu_deliver *d, uint8_t *out, size_t max);

/* Decode an SMS-DELIVER TPDU (no SCA). Returns 0 or -EINVAL. */
int pdu_deliver_decode(const uint8_t *in, size_t len, struct pdu_deliver_info *d);

/* Build an SMS-STATUS-REPORT TPDU (no SCA). Returns its length or -errno. */
int pdu_status_report_encode(unsigned mr, const char *ra, time_t scts, time_t dt, unsigned st, uint8_t *out,
			     size_t max);

/* Decode an SMS-SUBMIT TPDU (no SCA) of exactly len octets. Returns 0 or -EINVAL. */
int pdu_submit_decode(const uint8_t *in, size_t len, struct pdu_submit *s);

/* Length of the SCA in front of a TPDU in in[0..len) (its length octet included), or -EINVAL. */
int pdu_sca_len(const uint8_t *in, size_t len);
