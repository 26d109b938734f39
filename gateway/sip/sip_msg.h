/* SMS over SIP: linlid's link to Kamailio's evapi (routes/kamailio.cfg).
 *
 * linlid connects to Kamailio's evapi TCP socket (loopback) as a client. Both directions carry
 * netstrings ("LEN:JSON,") holding one JSON object each:
 *   Kamailio -> linlid  {"event":"message-in","tindex":I,"tlabel":L,"from":"...","to":"...",
 *                        "peer":"phone|trunk|linli","src":"ip:port","callid":"...","cseq":"...",
 *                        "body":"..."}
 *                       {"event":"message-result","id":"N","code":C,"reason":"..."}
 *                       {"event":"auth-ok"}
 *   linlid -> Kamailio  {"event":"auth","secret":"..."}  (first, on every connection)
 *                       {"event":"message-ack","tindex":I,"tlabel":L,"code":202|400|500}
 *                       {"event":"message-out","id":"N","to":"+86...","body":"..."}
 * Kamailio serves a connection only once its first frame carried the shared secret
 * (`evapi-secret`, Kamailio's LINLI_EVAPI_SECRET) and it answered auth-ok; it closes any other.
 * A MESSAGE in is committed to sms_in (channel 'sip') and routed like an SMS before the ack goes
 * back, so Kamailio answers 202 only for what is stored. The outbox rows of channel 'sip' are sent
 * as message-out; a 2xx result marks them sent, anything else retries or fails them like the GSM
 * path. While Kamailio is unreachable they stay queued and linlid reconnects with back-off.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <osmocom/core/tdef.h>

struct gw;
struct vty;

/* The SIP times (osmo_tdef group "sip"). */
enum sip_timer {
	SIP_T_RESULT = -1, /* no final answer from Kamailio this long: the MESSAGE is tried again (60 s) */
};
extern struct osmo_tdef sip_tdefs[];

/* Install `evapi A.B.C.D <1-65535>`, `evapi-secret WORD` (and their `no`) in the gateway config node,
 * and `show sip`. */
void sip_msg_vty_init(int gw_node);
/* Write the SIP settings of the gateway node (called by its config writer). */
void sip_msg_config_write(struct vty *vty);

/* Connect to Kamailio and register the outbox channel "sip" when `evapi` is configured (a no-op
 * otherwise); stop: close, and give the messages Kamailio has not answered back to the queue. */
int sip_msg_start(struct gw *gw);
void sip_msg_stop(struct gw *gw);

/* Whether the SIP channel is configured (`evapi ...`). */
bool sip_msg_enabled(void);
/* true when no message handed to Kamailio waits for its final answer (or Kamailio is not
 * connected): what linlid waits for on SIGTERM, as for the modems' sends. */
bool sip_msg_idle(void);

/* Look at the SIP outbox after the current event (its transaction committed). */
void sip_msg_kick(struct gw *gw);

/* Netstring framing (exposed for tests/unit/sip_msg_test.c).
 * Parse one netstring at the start of buf[0..len): 1 and *payload, *plen and *consumed when complete,
 * 0 when more bytes are needed, -EBADMSG when buf does not start with a valid netstring (a
 * length without digits, with a leading zero, longer than max, or no ',' after the payload). */
int sip_ns_parse(const char *buf, size_t len, size_t max, const char **payload, size_t *plen, size_t *consumed);
/* "LEN:payload," talloc'd under ctx. */
char *sip_ns_frame(void *ctx, const char *payload, size_t plen);

/* One decoded evapi event. Strings point into the JSON object, valid until sip_evt_free(). */
enum sip_evt_type { SIP_EVT_UNKNOWN, SIP_EVT_MESSAGE_IN, SIP_EVT_MESSAGE_RESULT, SIP_EVT_AUTH_OK };
struct sip_evt {
	enum sip_evt_type type;
	const char *event;	/* the "event" field as received */
	int64_t tindex, tlabel; /* message-in: the suspended transaction */
	const char *from, *to, *peer, *src, *callid, *cseq, *body;
	size_t body_len;      /* body's length in bytes (it may hold NUL bytes: \u0000) */
	const char *body_b64; /* the body in base64 when it was not UTF-8 (body is NULL then) */
	int64_t id;	      /* message-result: the sms_out id */
	int code;	      /* message-result: the SIP status (408 on a timeout) */
	const char *reason;
	void *json; /* the parsed object (json_t) */
};
/* Decode payload; 0, or -EINVAL with a reason in err (not JSON, not an object, a field missing
 * or of the wrong type). A message-in with neither body nor body_b64 decodes (both NULL): the
 * caller refuses it. */
int sip_evt_parse(const char *payload, size_t plen, struct sip_evt *ev, char *err, size_t errlen);
void sip_evt_free(struct sip_evt *ev);
/* The JSON of a message-out / message-ack, malloc'd (free()). */
char *sip_json_message_out(int64_t id, const char *to, const char *body);
char *sip_json_message_ack(int64_t tindex, int64_t tlabel, int code);

/* `linlictl sip ...` (gateway/sip/sip_ctl.c): SIP accounts, peers and channels in the database.
 * argv[0] is the first word after "sip". Exit status: 0 done, 1 failed, 2 wrong usage. */
struct db_context;
int sip_ctl_cmd(struct db_context *dbc, int argc, char **argv);
#define SIP_CTL_USAGE                                                                                                  \
	"  sip account NUMBER PASSWORD   a SIP account for a household phone (user name = the number)\n"               \
	"  sip account-del NUMBER\n"                                                                                   \
	"  sip channel NUMBER gsm|sip    how linlid texts the number: SMS through a modem, or SIP MESSAGE\n"           \
	"  sip peer add|del IP[:PORT] trunk|ua   a trunk, or linlid's own user agent, allowed by address\n"            \
	"  sip peer list                 (Kamailio reads accounts at once, peers when it starts)\n"
