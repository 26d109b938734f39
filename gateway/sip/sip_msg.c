/* SMS over SIP through Kamailio's evapi: see gateway/sip/sip_msg.h for the protocol.
 *
 * Everything runs on the main thread (osmo_select): one non-blocking TCP connection to Kamailio,
 * a read buffer cut into netstrings, a write buffer, a window of messages handed to Kamailio and
 * not answered yet, and a 1 s tick for their time-outs and the retries that became due.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include <osmocom/core/base64.h>
#include <osmocom/core/logging.h>
#include <osmocom/core/rate_ctr.h>
#include <osmocom/core/select.h>
#include <osmocom/core/talloc.h>
#include <osmocom/core/tdef.h>
#include <osmocom/core/timer.h>
#include <osmocom/core/utils.h>
#include <osmocom/vty/command.h>
#include <osmocom/vty/vty.h>

#include "db/db.h"
#include "db/db_sip.h"
#include "gateway/core/gw.h"
#include "gateway/core/inbox.h"
#include "gateway/core/outbox.h"
#include "gateway/sip/sip_msg.h"
#include "modem/sms_codec.h"

#define SIP_NS_MAX	   (256 * 1024) /* larger netstrings are a framing error */
#define SIP_WINDOW	   32		/* messages handed to Kamailio and not answered yet */
#define SIP_BACKOFF_MAX_S  30
#define SIP_AUTH_TIMEOUT_S 10 /* for Kamailio's auth-ok after the secret */

struct sip_inflight {
	int64_t id;
	time_t at;
	unsigned attempts;
};

struct osmo_tdef sip_tdefs[] = {
	{.T = SIP_T_RESULT,
	 .default_val = 60,
	 .unit = OSMO_TDEF_S,
	 .desc = "A MESSAGE handed to Kamailio with no final answer this long is tried again (Kamailio's own "
		 "fr_timer is 10 s)"},
	{}};

static struct {
	/* config */
	char addr[64];
	uint16_t port;
	char secret[128]; /* evapi-secret: sent first on every connection */
	/* state */
	struct gw *gw;
	struct osmo_fd ofd;
	bool connected;	     /* TCP is up */
	bool authed;	     /* and Kamailio accepted the secret (auth-ok): only then is it served */
	time_t connected_at; /* gw_mono() */
	unsigned backoff_s;
	unsigned failures; /* connection attempts failed in a row */
	struct osmo_timer_list reconnect, kick, tick;
	char *rbuf;
	size_t rlen;
	char *wbuf;
	size_t wlen;
	struct sip_inflight fl[SIP_WINDOW];
	unsigned nfl;
} S = {.ofd = {.fd = -1}};

/* ---- netstrings ---- */

int sip_ns_parse(const char *buf, size_t len, size_t max, const char **payload, size_t *plen, size_t *consumed)
{
	size_t n = 0, i = 0;

	while (i < len && buf[i] >= '0' && buf[i] <= '9') {
		if (i > 0 && buf[0] == '0')
			return -EBADMSG; /* leading zero */
		n = n * 10 + (size_t)(buf[i] - '0');
		if (n > max)
			return -EBADMSG;
		i++;
	}
	if (i == len)
		return i > 10 ? -EBADMSG : 0;
	if (i == 0 || buf[i] != ':')
		return -EBADMSG;
	i++;
	if (len - i < n + 1)
		return 0;
	if (buf[i + n] != ',')
		return -EBADMSG;
	*payload = buf + i;
	*plen = n;
	*consumed = i + n + 1;
	return 1;
}

char *sip_ns_frame(void *ctx, const char *payload, size_t plen)
{
	char *out = talloc_asprintf(ctx, "%zu:", plen);
	size_t hl;

	if (!out)
		return NULL;
	hl = strlen(out);
	out = talloc_realloc_size(ctx, out, hl + plen + 2);
	if (!out)
		return NULL;
	memcpy(out + hl, payload, plen);
	out[hl + plen] = ',';
	out[hl + plen + 1] = '\0';
	return out;
}

/* ---- JSON events ---- */

static const char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* An integer field, also accepted as a decimal string (Kamailio's variables may be either). */
static int jint(json_t *o, const char *key, int64_t *out)
{
	json_t *v = json_object_get(o, key);
	char *end;

	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if (json_is_string(v) && *json_string_value(v)) {
		long long x = strtoll(json_string_value(v), &end, 10);

		if (*end == '\0') {
			*out = x;
			return 0;
		}
	}
	return -EINVAL;
}

int sip_evt_parse(const char *payload, size_t plen, struct sip_evt *ev, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *o;
	int64_t code = 0;

	memset(ev, 0, sizeof(*ev));
	o = json_loadb(payload, plen, JSON_ALLOW_NUL, &jerr);
	if (!o) {
		snprintf(err, errlen, "not JSON (%s at column %d)", jerr.text, jerr.column);
		return -EINVAL;
	}
	ev->json = o;
	if (!json_is_object(o)) {
		snprintf(err, errlen, "not a JSON object");
		goto bad;
	}
	ev->event = jstr(o, "event");
	if (!ev->event) {
		snprintf(err, errlen, "no \"event\" string");
		goto bad;
	}
	if (!strcmp(ev->event, "message-in")) {
		ev->type = SIP_EVT_MESSAGE_IN;
		if (jint(o, "tindex", &ev->tindex) || jint(o, "tlabel", &ev->tlabel)) {
			snprintf(err, errlen, "message-in without tindex/tlabel");
			goto bad;
		}
		ev->from = jstr(o, "from");
		if (!ev->from || !*ev->from) {
			snprintf(err, errlen, "message-in without \"from\"");
			goto bad;
		}
		ev->to = jstr(o, "to");
		ev->peer = jstr(o, "peer");
		ev->src = jstr(o, "src");
		ev->callid = jstr(o, "callid");
		ev->cseq = jstr(o, "cseq");
		ev->body = jstr(o, "body"); /* NULL: missing or not a valid string */
		ev->body_len = ev->body ? json_string_length(json_object_get(o, "body")) : 0;
		ev->body_b64 = jstr(o, "body_b64");
		if (!ev->callid || !*ev->callid) {
			snprintf(err, errlen, "message-in without \"callid\"");
			goto bad;
		}
	} else if (!strcmp(ev->event, "message-result")) {
		ev->type = SIP_EVT_MESSAGE_RESULT;
		if (jint(o, "id", &ev->id) || jint(o, "code", &code) || code < 100 || code > 699) {
			snprintf(err, errlen, "message-result without a valid id and code");
			goto bad;
		}
		ev->code = (int)code;
		ev->reason = jstr(o, "reason");
	} else if (!strcmp(ev->event, "auth-ok")) {
		ev->type = SIP_EVT_AUTH_OK;
	} else {
		ev->type = SIP_EVT_UNKNOWN;
	}
	return 0;
bad:
	sip_evt_free(ev);
	return -EINVAL;
}

void sip_evt_free(struct sip_evt *ev)
{
	if (ev->json)
		json_decref(ev->json);
	ev->json = NULL;
}

static char *dump(json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return s;
}

char *sip_json_message_out(int64_t id, const char *to, const char *body)
{
	char ids[24];

	snprintf(ids, sizeof(ids), "%" PRId64, id);
	return dump(json_pack("{s:s, s:s, s:s, s:s}", "event", "message-out", "id", ids, "to", to, "body", body));
}

char *sip_json_message_ack(int64_t tindex, int64_t tlabel, int code)
{
	return dump(json_pack("{s:s, s:I, s:I, s:i}", "event", "message-ack", "tindex", (json_int_t)tindex, "tlabel",
			      (json_int_t)tlabel, "code", code));
}

/* ---- the connection ---- */

static void conn_close(const char *why);
static void send_due(struct gw *gw);

static void schedule_reconnect(void)
{
	if (!S.backoff_s)
		S.backoff_s = 1;
	else
		S.backoff_s = S.backoff_s * 2 > SIP_BACKOFF_MAX_S ? SIP_BACKOFF_MAX_S : S.backoff_s * 2;
	osmo_timer_schedule(&S.reconnect, S.backoff_s, 0);
}

/* Queue a JSON text for Kamailio (framed); written as the socket allows. */
static int send_json(char *json)
{
	char *f;
	size_t fl;
	ssize_t n;

	if (!json)
		return -ENOMEM;
	if (!S.connected) {
		free(json);
		return -ENOTCONN;
	}
	f = sip_ns_frame(NULL, json, strlen(json));
	free(json);
	if (!f)
		return -ENOMEM;
	fl = strlen(f);
	S.wbuf = talloc_realloc_size(S.gw, S.wbuf, S.wlen + fl);
	memcpy(S.wbuf + S.wlen, f, fl);
	S.wlen += fl;
	talloc_free(f);
	n = send(S.ofd.fd, S.wbuf, S.wlen, MSG_NOSIGNAL);
	if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
		conn_close(strerror(errno));
		return -EIO;
	}
	if (n > 0) {
		memmove(S.wbuf, S.wbuf + n, S.wlen - (size_t)n);
		S.wlen -= (size_t)n;
	}
	if (S.wlen)
		osmo_fd_write_enable(&S.ofd);
	return 0;
}

static void fl_remove(unsigned i)
{
	S.fl[i] = S.fl[--S.nfl];
}

static int fl_find(int64_t id)
{
	for (unsigned i = 0; i < S.nfl; i++)
		if (S.fl[i].id == id)
			return (int)i;
	return -1;
}

/* A failed attempt of message id: back to the queue with back-off, or failed for good. */
static void out_failed(struct gw *gw, int64_t id, unsigned attempts, bool transient, const char *reason)
{
	time_t now = gw_now();
	int rc;

	if (transient && attempts < gw->cfg.max_attempts) {
		time_t delay = gw_outbox_backoff(gw, attempts);

		rc = gw_out_record(gw, GW_OUT_RETRY, id, reason, now + (time_t)delay, -1, NULL);
		gw_ctr_inc(gw, GW_CTR_OUT_RETRIED);
		LOGP(DSIP, LOGL_NOTICE, "SIP message %" PRId64 " will be retried in %lds: %s\n", id, (long)delay,
		     reason);
	} else {
		char why[300];

		snprintf(why, sizeof(why), "%s (after %u attempt%s)", reason, attempts, attempts == 1 ? "" : "s");
		rc = gw_out_record(gw, GW_OUT_FAIL, id, why, 0, -1, NULL);
		gw_ctr_inc(gw, GW_CTR_OUT_FAILED);
		LOGP(DSIP, LOGL_ERROR, "SIP message %" PRId64 " failed: %s\n", id, why);
	}
	if (rc < 0) {
		gw_ctr_inc(gw, GW_CTR_DB_ERRORS);
		LOGP(DSIP, LOGL_ERROR, "cannot record the outcome of SIP message %" PRId64 ": %s\n", id, strerror(-rc));
	}
}

/* Give every message Kamailio has not answered back to the queue (it may have gone out). */
static void fl_requeue_all(const char *why)
{
	time_t now = gw_now();

	for (unsigned i = 0; i < S.nfl; i++) {
		if (gw_out_record(S.gw, GW_OUT_RETRY, S.fl[i].id, why, now, -1, NULL) >= 0)
			LOGP(DSIP, LOGL_NOTICE,
			     "SIP message %" PRId64 " back in the queue (%s); it may reach its "
			     "recipient twice\n",
			     S.fl[i].id, why);
	}
	S.nfl = 0;
}

static void conn_close(const char *why)
{
	if (S.ofd.fd >= 0) {
		osmo_fd_unregister(&S.ofd);
		close(S.ofd.fd);
		S.ofd.fd = -1;
	}
	if (S.connected && S.authed)
		LOGP(DSIP, LOGL_ERROR,
		     "lost Kamailio's evapi at %s:%u (%s); SIP messages stay queued, "
		     "reconnecting\n",
		     S.addr, S.port, why);
	else if (S.connected)
		LOGP(DSIP, LOGL_ERROR,
		     "Kamailio's evapi at %s:%u did not accept linlid (%s): check that evapi-secret "
		     "matches Kamailio's LINLI_EVAPI_SECRET; SIP messages stay queued, retrying\n",
		     S.addr, S.port, why);
	S.connected = false;
	S.authed = false;
	S.rlen = 0;
	S.wlen = 0;
	if (S.nfl)
		fl_requeue_all("Kamailio connection lost before its answer");
	if (S.gw && !S.gw->quitting)
		schedule_reconnect();
}

static void handle_message_in(struct gw *gw, const struct sip_evt *ev)
{
	char sender[32], dedup[300], *raw = NULL, *b64 = NULL;
	const char *note = "", *bytes = "";
	struct db_sms_in m = {.channel = "sip"};
	int code = 202, rc;

	if (!ev->body && !ev->body_b64) {
		/* not the same as a body that is not text: Kamailio lost it, nothing to store */
		LOGP(DSIP, LOGL_ERROR,
		     "SIP MESSAGE from %s (Call-ID %s) came without its body; not stored, Kamailio "
		     "answers 400\n",
		     ev->from, ev->callid);
		send_json(sip_json_message_ack(ev->tindex, ev->tlabel, 400));
		return;
	}
	if (db_number_norm(ev->from, sender, sizeof(sender)) < 0)
		OSMO_STRLCPY_ARRAY(sender, ev->from);
	snprintf(dedup, sizeof(dedup), "sip|%s|%s", ev->callid, ev->cseq ? ev->cseq : "");
	m.sender = sender;
	m.recv_ts = gw_now();
	m.dedup = dedup;
	if (ev->body && strlen(ev->body) == ev->body_len && utf8_validate(ev->body, ev->body_len, NULL) == 0) {
		m.text = ev->body;
	} else {
		/* not UTF-8 (Kamailio sent it in base64), or a NUL inside: no text, the bytes in raw */
		m.text = "";
		m.flags = DB_SMS_IN_BAD_TEXT;
		if (ev->body) {
			size_t bl = (ev->body_len + 2) / 3 * 4 + 1, ol = 0;

			b64 = talloc_size(gw, bl);
			if (b64 && osmo_base64_encode((unsigned char *)b64, bl, &ol, (const unsigned char *)ev->body,
						      ev->body_len) == 0)
				b64[ol] = '\0';
			else
				TALLOC_FREE(b64);
		}
	}
	if (m.flags) {
		note = ev->body && strlen(ev->body) != ev->body_len ? "; body with a NUL byte, base64: "
								    : "; body not UTF-8, base64: ";
		bytes = b64 ? b64 : ev->body_b64 ? ev->body_b64 : "(missing)";
	}
	raw = talloc_asprintf(gw, "SIP MESSAGE from %s (%s, %s) to %s, Call-ID %s, CSeq %s%s%s", ev->from,
			      ev->peer ? ev->peer : "?", ev->src ? ev->src : "?", ev->to ? ev->to : "?", ev->callid,
			      ev->cseq ? ev->cseq : "?", note, bytes);
	m.raw = raw;

	/* stored and routed in one transaction before Kamailio answers 202 (gateway/core/inbox.h) */
	rc = gw_inbox_add_route(gw, &m);
	if (rc == 1)
		LOGP(DSIP, LOGL_NOTICE, "SIP MESSAGE from %s (Call-ID %s) again: already stored\n", sender, ev->callid);
	else if (rc == 0)
		LOGP(DSIP, LOGL_INFO, "SIP MESSAGE from %s stored and routed\n", sender);
	if (rc < 0) {
		/* a database fault (full, locked) passes: 503 with Retry-After, the sender tries again */
		code = gw_db_fault(gw, rc, "SIP MESSAGE") ? 503 : 500;
		LOGP(DSIP, LOGL_ERROR,
		     "cannot store the SIP MESSAGE from %s: %s; Kamailio answers %d, the sender "
		     "keeps it\n",
		     sender, strerror(-rc), code);
	}
	talloc_free(raw);
	talloc_free(b64);
	send_json(sip_json_message_ack(ev->tindex, ev->tlabel, code));
}

static void handle_result(struct gw *gw, const struct sip_evt *ev)
{
	int i = fl_find(ev->id);
	unsigned attempts;
	char reason[200];
	int rc;

	if (i < 0) {
		LOGP(DSIP, LOGL_NOTICE,
		     "result %d for SIP message %" PRId64 ", which is not waiting for one "
		     "(given up earlier); ignored\n",
		     ev->code, ev->id);
		return;
	}
	attempts = S.fl[i].attempts;
	fl_remove((unsigned)i);
	if (ev->code >= 200 && ev->code < 300) {
		char refs[32];

		snprintf(refs, sizeof(refs), "sip %d", ev->code);
		rc = gw_out_record(gw, GW_OUT_SENT, ev->id, refs, gw_now(), -1, NULL);
		if (rc < 0) {
			gw_ctr_inc(gw, GW_CTR_DB_ERRORS);
			LOGP(DSIP, LOGL_ERROR, "cannot record SIP message %" PRId64 " as sent: %s\n", ev->id,
			     strerror(-rc));
		}
		gw_ctr_inc(gw, GW_CTR_OUT_SENT);
		LOGP(DSIP, LOGL_INFO, "SIP message %" PRId64 " delivered (%d)\n", ev->id, ev->code);
	} else {
		/* no phone, no answer, busy, or a server trouble may pass; anything else will not */
		bool transient = ev->code == 408 || ev->code == 480 || ev->code == 486 || ev->code == 500 ||
				 ev->code == 503 || ev->code == 504;

		snprintf(reason, sizeof(reason), "sip: %d %s", ev->code, ev->reason ? ev->reason : "");
		out_failed(gw, ev->id, attempts, transient, reason);
	}
	sip_msg_kick(gw);
}

static void handle_payload(struct gw *gw, const char *p, size_t n)
{
	struct sip_evt ev;
	char err[160];

	if (sip_evt_parse(p, n, &ev, err, sizeof(err)) < 0) {
		LOGP(DSIP, LOGL_ERROR, "evapi: bad event from Kamailio (%s): %s\n", err,
		     osmo_quote_str(p, n > 200 ? 200 : (int)n));
		return;
	}
	switch (ev.type) {
	case SIP_EVT_MESSAGE_IN:
		handle_message_in(gw, &ev);
		break;
	case SIP_EVT_MESSAGE_RESULT:
		handle_result(gw, &ev);
		break;
	case SIP_EVT_AUTH_OK:
		if (!S.authed) {
			S.authed = true;
			LOGP(DSIP, LOGL_NOTICE, "connected to Kamailio's evapi at %s:%u (secret accepted)\n", S.addr,
			     S.port);
			send_due(gw);
		}
		break;
	default:
		LOGP(DSIP, LOGL_NOTICE, "evapi: event '%s' from Kamailio ignored\n", ev.event);
		break;
	}
	sip_evt_free(&ev);
}

static void on_readable(struct gw *gw)
{
	size_t off = 0;
	ssize_t n;

	S.rbuf = talloc_realloc_size(gw, S.rbuf, S.rlen + 65536);
	n = recv(S.ofd.fd, S.rbuf + S.rlen, 65536, 0);
	if (n == 0) {
		conn_close("closed by Kamailio");
		return;
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			conn_close(strerror(errno));
		return;
	}
	S.rlen += (size_t)n;
	while (S.connected && off < S.rlen) {
		const char *p;
		size_t pl, used;
		int rc = sip_ns_parse(S.rbuf + off, S.rlen - off, SIP_NS_MAX, &p, &pl, &used);

		if (rc == 0)
			break;
		if (rc < 0) {
			LOGP(DSIP, LOGL_ERROR,
			     "evapi: framing error from Kamailio at %s (expected a netstring "
			     "LEN:DATA,); reconnecting\n",
			     osmo_quote_str(S.rbuf + off, S.rlen - off > 40 ? 40 : (int)(S.rlen - off)));
			conn_close("framing error");
			return;
		}
		handle_payload(gw, p, pl);
		off += used;
	}
	if (!S.connected)
		return;
	memmove(S.rbuf, S.rbuf + off, S.rlen - off);
	S.rlen -= off;
}

static void on_connected(void)
{
	int err = 0;
	socklen_t el = sizeof(err);

	if (getsockopt(S.ofd.fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
		err = errno;
	if (err) {
		if (!S.failures++ || S.failures % 10 == 0)
			LOGP(DSIP, LOGL_ERROR,
			     "cannot reach Kamailio's evapi at %s:%u (%s, %u attempt%s); SIP "
			     "messages stay queued, retrying with back-off\n",
			     S.addr, S.port, strerror(err), S.failures, S.failures == 1 ? "" : "s");
		osmo_fd_unregister(&S.ofd);
		close(S.ofd.fd);
		S.ofd.fd = -1;
		schedule_reconnect();
		return;
	}
	S.connected = true;
	S.authed = false;
	S.connected_at = gw_mono();
	S.failures = 0;
	S.backoff_s = 0;
	osmo_fd_write_disable(&S.ofd);
	osmo_fd_read_enable(&S.ofd);
	LOGP(DSIP, LOGL_INFO, "TCP connection to Kamailio's evapi at %s:%u up, sending the secret\n", S.addr, S.port);
	/* the first frame; Kamailio answers auth-ok, or closes the connection */
	send_json(dump(json_pack("{s:s, s:s}", "event", "auth", "secret", S.secret)));
}

static int fd_cb(struct osmo_fd *ofd, unsigned int what)
{
	struct gw *gw = ofd->data;

	if (!S.connected) {
		if (what & (OSMO_FD_WRITE | OSMO_FD_READ))
			on_connected();
		return 0;
	}
	if (what & OSMO_FD_READ) {
		on_readable(gw);
		if (!S.connected)
			return 0;
	}
	if ((what & OSMO_FD_WRITE) && S.wlen) {
		ssize_t n = send(S.ofd.fd, S.wbuf, S.wlen, MSG_NOSIGNAL);

		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			conn_close(strerror(errno));
			return 0;
		}
		if (n > 0) {
			memmove(S.wbuf, S.wbuf + n, S.wlen - (size_t)n);
			S.wlen -= (size_t)n;
		}
	}
	if (!S.wlen)
		osmo_fd_write_disable(&S.ofd);
	return 0;
}

static void reconnect_cb(void *data)
{
	struct gw *gw = data;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(S.port)};
	int fd;

	if (gw->quitting || S.ofd.fd >= 0)
		return;
	if (inet_pton(AF_INET, S.addr, &sa.sin_addr) != 1) {
		LOGP(DSIP, LOGL_ERROR, "evapi address '%s' is not an IPv4 address; SIP is off\n", S.addr);
		return;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		LOGP(DSIP, LOGL_ERROR, "cannot create a socket for evapi: %s\n", strerror(errno));
		schedule_reconnect();
		return;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		int e = errno;

		close(fd);
		if (!S.failures++ || S.failures % 10 == 0)
			LOGP(DSIP, LOGL_ERROR,
			     "cannot reach Kamailio's evapi at %s:%u (%s, %u attempt%s); SIP "
			     "messages stay queued, retrying with back-off\n",
			     S.addr, S.port, strerror(e), S.failures, S.failures == 1 ? "" : "s");
		schedule_reconnect();
		return;
	}
	osmo_fd_setup(&S.ofd, fd, OSMO_FD_WRITE, fd_cb, gw, 0);
	if (osmo_fd_register(&S.ofd) < 0) {
		close(fd);
		S.ofd.fd = -1;
		schedule_reconnect();
	}
}

/* ---- the SIP outbox ---- */

static void send_due(struct gw *gw)
{
	time_t now = gw_now();
	void *tmp;

	/* the database cannot commit: a claim would not hold (its recovery kicks the outbox) */
	if (!S.connected || !S.authed || gw->quitting || gw->db_degraded)
		return;
	tmp = talloc_new(gw);
	while (S.nfl < SIP_WINDOW && S.connected) {
		struct db_sms_out out;
		int rc = db_sms_out_claim_channel(gw->db, tmp, "sip", "sip", now, &out);

		if (rc == -ENOENT)
			break;
		if (rc < 0) {
			gw_ctr_inc(gw, GW_CTR_DB_ERRORS);
			if (!gw_db_fault(gw, rc, "SIP outbox claim"))
				LOGP(DSIP, LOGL_ERROR, "cannot claim from the SIP outbox: %s\n", strerror(-rc));
			break;
		}
		S.fl[S.nfl++] =
			(struct sip_inflight){.id = out.id, .at = gw_mono(), .attempts = (unsigned)out.attempts};
		LOGP(DSIP, LOGL_INFO, "SIP message %" PRId64 " (prio %d, attempt %d) -> %s\n", out.id, out.prio,
		     out.attempts, out.dest);
		if (send_json(sip_json_message_out(out.id, out.dest, out.text)) < 0)
			break; /* conn_close put it back in the queue */
	}
	talloc_free(tmp);
}

static void kick_cb(void *data)
{
	send_due(data);
}

void sip_msg_kick(struct gw *gw)
{
	if (!S.gw || !S.addr[0])
		return;
	if (!osmo_timer_pending(&S.kick)) {
		osmo_timer_setup(&S.kick, kick_cb, gw);
		osmo_timer_schedule(&S.kick, 0, 0);
	}
}

static void tick_cb(void *data)
{
	struct gw *gw = data;
	time_t mono = gw_mono();

	if (S.connected && !S.authed && mono - S.connected_at > SIP_AUTH_TIMEOUT_S)
		conn_close("no answer to the secret");
	for (unsigned i = 0; i < S.nfl;) {
		if (mono - S.fl[i].at > (time_t)osmo_tdef_get(sip_tdefs, SIP_T_RESULT, OSMO_TDEF_S, -1)) {
			struct sip_inflight f = S.fl[i];

			fl_remove(i);
			out_failed(gw, f.id, f.attempts, true, "no result from Kamailio");
			continue;
		}
		i++;
	}
	send_due(gw);
	osmo_timer_schedule(&S.tick, 1, 0);
}

/* ---- life cycle, channel choice ---- */

bool sip_msg_enabled(void)
{
	return S.addr[0] != '\0';
}

bool sip_msg_idle(void)
{
	return !S.connected || S.nfl == 0;
}

/* The channel serves the numbers whose phone says channel 'sip' (linlictl sip channel); replies
 * to a SIP MESSAGE go back by SIP anyway (the outbox answers by the message's channel). */
static bool sip_serves(struct gw *gw, const char *number)
{
	char ch[8];

	return db_phone_channel(gw->db, number, ch, sizeof(ch)) == 0 && !strcmp(ch, "sip");
}

static bool sip_idle(struct gw *gw)
{
	(void)gw;
	return sip_msg_idle();
}

static const struct gw_channel sip_channel = {
	.name = "sip",
	.serves = sip_serves,
	.kick = sip_msg_kick,
	.idle = sip_idle,
	.stop = sip_msg_stop,
};

int sip_msg_start(struct gw *gw)
{
	int rc;

	S.gw = gw;
	if (!sip_msg_enabled()) {
		LOGP(DSIP, LOGL_INFO, "no evapi configured: SMS over SIP is off\n");
		return 0;
	}
	rc = gw_channel_add(gw, &sip_channel);
	if (rc < 0)
		return rc;
	if (!S.secret[0])
		LOGP(DSIP, LOGL_ERROR,
		     "evapi without evapi-secret: Kamailio (routes/kamailio.cfg) will not accept "
		     "linlid, SIP messages stay queued\n");
	osmo_timer_setup(&S.reconnect, reconnect_cb, gw);
	osmo_timer_setup(&S.tick, tick_cb, gw);
	osmo_timer_schedule(&S.tick, 1, 0);
	reconnect_cb(gw);
	return 0;
}

void sip_msg_stop(struct gw *gw)
{
	(void)gw;
	if (!S.gw)
		return;
	osmo_timer_del(&S.reconnect);
	osmo_timer_del(&S.tick);
	osmo_timer_del(&S.kick);
	if (S.nfl)
		fl_requeue_all("linlid stopped before Kamailio's answer");
	if (S.ofd.fd >= 0) {
		osmo_fd_unregister(&S.ofd);
		close(S.ofd.fd);
		S.ofd.fd = -1;
	}
	S.connected = false;
	S.authed = false;
	TALLOC_FREE(S.rbuf);
	TALLOC_FREE(S.wbuf);
	S.rlen = S.wlen = 0;
	S.gw = NULL;
}

/* ---- VTY ---- */

DEFUN(cfg_evapi, cfg_evapi_cmd, "evapi A.B.C.D <1-65535>",
      "Kamailio's evapi socket for SMS over SIP (routes/kamailio.cfg EVAPI_BIND)\nIPv4 address\nTCP port\n")
{
	OSMO_STRLCPY_ARRAY(S.addr, argv[0]);
	S.port = (uint16_t)atoi(argv[1]);
	return CMD_SUCCESS;
}

DEFUN(cfg_no_evapi, cfg_no_evapi_cmd, "no evapi", NO_STR "No SMS over SIP\n")
{
	S.addr[0] = '\0';
	return CMD_SUCCESS;
}

DEFUN(cfg_evapi_secret, cfg_evapi_secret_cmd, "evapi-secret WORD",
      "The secret linlid sends first to Kamailio's evapi (Kamailio's LINLI_EVAPI_SECRET)\n"
      "The secret (no spaces)\n")
{
	if (strlen(argv[0]) >= sizeof(S.secret)) {
		vty_out(vty, "%% the secret is longer than %zu characters%s", sizeof(S.secret) - 1, VTY_NEWLINE);
		return CMD_WARNING;
	}
	OSMO_STRLCPY_ARRAY(S.secret, argv[0]);
	return CMD_SUCCESS;
}

DEFUN(cfg_no_evapi_secret, cfg_no_evapi_secret_cmd, "no evapi-secret", NO_STR "No evapi secret\n")
{
	S.secret[0] = '\0';
	return CMD_SUCCESS;
}

DEFUN(show_sip, show_sip_cmd, "show sip", SHOW_STR "SMS over SIP: the evapi link to Kamailio\n")
{
	if (!sip_msg_enabled()) {
		vty_out(vty, "SMS over SIP is off (no evapi in the gateway node)%s", VTY_NEWLINE);
		return CMD_SUCCESS;
	}
	vty_out(vty, "evapi %s:%u: %s%s", S.addr, S.port,
		S.authed      ? "connected"
		: S.connected ? "authenticating"
		: S.failures  ? "unreachable, retrying"
			      : "connecting",
		VTY_NEWLINE);
	if (!S.secret[0])
		vty_out(vty, "  no evapi-secret: Kamailio will not accept linlid%s", VTY_NEWLINE);
	if (!S.connected && S.failures)
		vty_out(vty, "  %u failed attempt(s), next in up to %us%s", S.failures, S.backoff_s, VTY_NEWLINE);
	vty_out(vty, "  %u message(s) handed to Kamailio, waiting for the final answer%s", S.nfl, VTY_NEWLINE);
	return CMD_SUCCESS;
}

void sip_msg_vty_init(int gw_node)
{
	osmo_tdefs_reset(sip_tdefs); /* the defaults, before the config file sets any */
	install_element(gw_node, &cfg_evapi_cmd);
	install_element(gw_node, &cfg_no_evapi_cmd);
	install_element(gw_node, &cfg_evapi_secret_cmd);
	install_element(gw_node, &cfg_no_evapi_secret_cmd);
	install_element_ve(&show_sip_cmd);
}

void sip_msg_config_write(struct vty *vty)
{
	if (S.addr[0])
		vty_out(vty, " evapi %s %u%s", S.addr, S.port, VTY_NEWLINE);
	if (S.secret[0])
		vty_out(vty, " evapi-secret %s%s", S.secret, VTY_NEWLINE);
}
