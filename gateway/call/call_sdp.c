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

/* RFC 4566's token-char. */
static bool sdp_token_char(unsigned char ch)
{
	return ch > 0x20 && ch < 0x7f && !strchr("\"(),/:;<=>?@[\\]", ch);
}

/* Skip a run of what ok() accepts at s[*i..e); its length. */
static size_t sdp_span(const char *s, size_t *i, size_t e, bool (*ok)(unsigned char))
{
	size_t start = *i;

	while (*i < e && ok(s[*i]))
		(*i)++;
	return *i - start;
}

static bool sdp_digit(unsigned char ch)
{
	return ch >= '0' && ch <= '9';
}

static bool sdp_space(unsigned char ch)
{
	return ch == ' ';
}

/* Whether s[i..e), the rest of an m= line after "m=", is what RFC 4566 allows:
 * media SP port ["/" count] SP proto *("/" token) *(SP fmt), all tokens. */
static bool sdp_media_line_ok(const char *s, size_t i, size_t e)
{
	if (!sdp_span(s, &i, e, sdp_token_char) || !sdp_span(s, &i, e, sdp_space) || !sdp_span(s, &i, e, sdp_digit))
		return false;
	if (i < e && s[i] == '/' && (i++, !sdp_span(s, &i, e, sdp_digit)))
		return false;
	if (!sdp_span(s, &i, e, sdp_space) || !sdp_span(s, &i, e, sdp_token_char))
		return false;
	while (i < e && s[i] == '/')
		if (i++, !sdp_span(s, &i, e, sdp_token_char))
			return false;
	while (i < e)
		if (!sdp_span(s, &i, e, sdp_space) || (i < e && !sdp_span(s, &i, e, sdp_token_char)))
			return false;
	return true;
}

/* The body rewritten for sofia-sip (under home, *outlen set), or NULL when it must not reach it.
 * sofia-sip 1.12's sdp_parse never returns (it loops, allocating, until memory runs out) on some
 * malformed m= lines, e.g. "m=o 5 2 ;", "m=o 0X /", "m=audio 5 RTP/AVP \x01" or a UTF-8 letter
 * among the formats, also after a lone CR or leading spaces (found by make fuzz,
 * tests/fuzz/regressions/call_sdp/): one INVITE would hang linlid. So every line (ended by CR,
 * LF or both) is trimmed of spaces and tabs and joined with CRLF, a control byte refuses the
 * body, and so does an m= line that is not well-formed (sdp_media_line_ok): the parser sees only
 * lines this has checked. */
static char *sdp_clean(su_home_t *home, const char *body, size_t len, size_t *outlen)
{
	char *out = su_alloc(home, 2 * len + 3);
	size_t n = 0;

	if (!out)
		return NULL;
	for (size_t i = 0, e; i < len; i = e + 1) {
		size_t b = i, z;

		for (e = i; e < len && body[e] != '\r' && body[e] != '\n'; e++)
			if ((unsigned char)body[e] < 0x20 && body[e] != '\t')
				return NULL;
		z = e;
		while (b < z && (body[b] == ' ' || body[b] == '\t'))
			b++;
		while (z > b && (body[z - 1] == ' ' || body[z - 1] == '\t'))
			z--;
		if (b == z)
			continue;
		if (z - b >= 2 && body[b] == 'm' && body[b + 1] == '=' && !sdp_media_line_ok(body, b + 2, z))
			return NULL;
		memcpy(out + n, body + b, z - b);
		n += z - b;
		out[n++] = '\r';
		out[n++] = '\n';
	}
	out[n] = '\0';
	*outlen = n;
	return out;
}

int call_sdp_parse(const char *body, size_t len, struct call_sdp *out, char *err, size_t errlen)
{
	su_home_t home[1] = {SU_HOME_INIT(home)};
	sdp_parser_t *parser;
	sdp_session_t *sess;
	size_t clen = 0;
	char *clean;
	int rc = -EINVAL;

	out->ip[0] = 0;
	out->port = 0;
	out->pt = -1;
	out->te_pt = -1;
	if (!body || !len) {
		snprintf(err, errlen, "no SDP body");
		return -EINVAL;
	}
	clean = sdp_clean(home, body, len, &clen);
	if (!clean) {
		snprintf(err, errlen, "SDP does not parse: a control byte, or a malformed media line");
		su_home_deinit(home);
		return -EINVAL;
	}
	parser = sdp_parse(home, clean, clen, 0);
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
