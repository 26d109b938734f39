/* SDP of the group call: sofia-sip's parser for what peers send, plain text for ours. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <talloc.h>
#include <osmocom/core/utils.h>

#include <sofia-sip/sdp.h>

#include "gateway/call/call_sdp.h"
#include "gateway/call/media.h"

/* RFC 4566's token-char, the characters of media, port, proto and fmt, and the '/' and ' ' between them. */
static bool sdp_media_char(unsigned char ch)
{
	return ch == ' ' || ch == '/' || (ch > 0x20 && ch < 0x7f && !strchr("\"(),:;<=>?@[\\]", ch));
}

/* Whether every m= line holds only what RFC 4566 allows there. sofia-sip 1.12's sdp_parse never
 * returns (it loops, allocating, until memory runs out) on an m= line whose format list holds
 * anything else, e.g. "m=o 5 2 ;", "m=audio 5 RTP/AVP \x01" or a UTF-8 letter (found by make
 * fuzz, tests/fuzz/regressions/call_sdp/): one INVITE would hang linlid. Such a body is refused
 * before the parser sees it. */
static bool sdp_media_lines_ok(const char *body, size_t len)
{
	bool bol = true, in_m = false;

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = body[i];

		if (ch == '\n' || ch == '\r') {
			bol = true;
			in_m = false;
			continue;
		}
		if (bol && ch == 'm' && i + 1 < len && body[i + 1] == '=') {
			in_m = true;
			i++; /* past "m=" */
		} else if (in_m && !sdp_media_char(ch)) {
			return false;
		}
		bol = false;
	}
	return true;
}

int call_sdp_parse(const char *body, size_t len, struct call_sdp *out, char *err, size_t errlen)
{
	su_home_t home[1] = {SU_HOME_INIT(home)};
	sdp_parser_t *parser;
	sdp_session_t *sess;
	int rc = -EINVAL;

	out->ip[0] = 0;
	out->port = 0;
	out->pt = -1;
	out->te_pt = -1;
	if (!body || !len) {
		snprintf(err, errlen, "no SDP body");
		return -EINVAL;
	}
	if (!sdp_media_lines_ok(body, len)) {
		snprintf(err, errlen,
			 "SDP does not parse: a media line with a character RFC 4566 does not allow there");
		return -EINVAL;
	}
	parser = sdp_parse(home, body, len, 0);
	sess = sdp_session(parser);
	if (!sess) {
		snprintf(err, errlen, "SDP does not parse: %s", sdp_parsing_error(parser));
		goto out;
	}
	for (sdp_media_t *m = sess->sdp_media; m; m = m->m_next) {
		sdp_connection_t *c = m->m_connections ? m->m_connections : sess->sdp_connection;

		if (m->m_type != sdp_media_audio || m->m_port == 0)
			continue;
		if (!c || c->c_addrtype != sdp_addr_ip4 || !c->c_address) {
			snprintf(err, errlen, "audio without an IPv4 c= line");
			goto out;
		}
		for (sdp_rtpmap_t *r = m->m_rtpmaps; r; r = r->rm_next) {
			if (!r->rm_encoding)
				continue;
			if (out->pt < 0 && r->rm_pt == MEDIA_PT_PCMU && !strcasecmp(r->rm_encoding, "PCMU"))
				out->pt = MEDIA_PT_PCMU;
			else if (out->pt < 0 && r->rm_pt == MEDIA_PT_PCMA && !strcasecmp(r->rm_encoding, "PCMA"))
				out->pt = MEDIA_PT_PCMA;
			else if (out->te_pt < 0 && !strcasecmp(r->rm_encoding, "telephone-event"))
				out->te_pt = r->rm_pt;
		}
		if (out->pt < 0) {
			snprintf(err, errlen, "audio offers neither PCMU nor PCMA");
			goto out;
		}
		osmo_strlcpy(out->ip, c->c_address, sizeof(out->ip));
		out->port = m->m_port;
		rc = 0;
		goto out;
	}
	snprintf(err, errlen, "no audio stream in the SDP");
out:
	sdp_parser_free(parser);
	su_home_deinit(home);
	return rc;
}

char *call_sdp_make(void *ctx, const char *ip, unsigned id, uint16_t port, int pt, int te_pt)
{
	char *s = talloc_asprintf(ctx, "v=0\r\no=linlid %u %u IN IP4 %s\r\ns=linli\r\nc=IN IP4 %s\r\nt=0 0\r\n", id, id,
				  ip, ip);

	if (pt < 0) {
		s = talloc_asprintf_append(
			s,
			"m=audio %u RTP/AVP 0 8 %d\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
			"a=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-15\r\n",
			port, CALL_SDP_TE_PT, CALL_SDP_TE_PT, CALL_SDP_TE_PT);
	} else {
		s = talloc_asprintf_append(s, "m=audio %u RTP/AVP %d", port, pt);
		if (te_pt >= 0)
			s = talloc_asprintf_append(s, " %d", te_pt);
		s = talloc_asprintf_append(s, "\r\na=rtpmap:%d %s/8000\r\n", pt, pt == MEDIA_PT_PCMU ? "PCMU" : "PCMA");
		if (te_pt >= 0)
			s = talloc_asprintf_append(s, "a=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-15\r\n", te_pt,
						   te_pt);
	}
	return talloc_asprintf_append(s, "a=ptime:20\r\na=sendrecv\r\n");
}
