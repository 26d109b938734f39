/* SDP for the group call (gateway/call/call_sdp.c): read what a peer offers or answers, write ours.
 * Audio is G.711 only (PCMU pt 0, PCMA pt 8) with RFC 4733 telephone-event. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define CALL_SDP_TE_PT 101 /* our telephone-event payload type in offers */

/* What an SDP body offers or answers: the first audio stream with a port. */
struct call_sdp {
	char ip[64];
	uint16_t port;
	int pt;	   /* MEDIA_PT_PCMU or MEDIA_PT_PCMA, the first of them in the peer's order; -1 none */
	int te_pt; /* telephone-event payload type, -1 none */
};

/* Parse body[0..len) (sofia-sip's SDP parser). 0, or -EINVAL with a reason in err: it does not
 * parse, has no audio stream, no IPv4 address for it, or neither PCMU nor PCMA. */
int call_sdp_parse(const char *body, size_t len, struct call_sdp *out, char *err, size_t errlen);

/* Our SDP on ip:port with session id id, talloc'd under ctx: an offer (pt < 0: PCMU, PCMA and
 * telephone-event CALL_SDP_TE_PT) or an answer with codec pt and the peer's telephone-event type
 * te_pt (none when te_pt < 0). */
char *call_sdp_make(void *ctx, const char *ip, unsigned id, uint16_t port, int pt, int te_pt);
