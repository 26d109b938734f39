/* gateway/call/media.h: the media side of the group call, on the osmocom loop (main thread).
 *
 * A leg is one RTP/UDP endpoint (RFC 3550) carrying G.711 (PCMU pt 0 or PCMA pt 8) at 8 kHz in
 * 20 ms packets, with RFC 4733 telephone-event for digits (in-band DTMF detection through spandsp
 * as the fallback when the peer offered no telephone-event). A conference is the mixer: every
 * 20 ms it sends each joined leg the sum of all the other joined legs (never its own audio).
 * Prompts are 8 kHz mu-law files rendered at build time with espeak-ng (cmn); a leg can play a
 * sequence of them (e.g. "building", "3", "unit", "2") and is told when it ends.
 *
 * Contract between the mixer (gateway/call/media.c) and the call control (gateway/call/call.c).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct media_leg;
struct media_conf;

#define MEDIA_PT_PCMU 0
#define MEDIA_PT_PCMA 8

/* Load every prompt (NAME.ul, 8 kHz mu-law) of a folder; returns how many, or -errno. */
int media_prompts_load(const char *dir);
/* Whether a prompt of that name was loaded. */
bool media_prompt_exists(const char *name);

/* A new leg bound to local_ip on a free even UDP port of [port_min, port_max]; NULL and errno set
 * when none is free. The leg sends nothing until media_leg_set_remote(). */
struct media_leg *media_leg_alloc(void *ctx, const char *local_ip, uint16_t port_min, uint16_t port_max);
uint16_t media_leg_local_port(const struct media_leg *leg);
/* The peer's address from its SDP; pt is MEDIA_PT_PCMU or MEDIA_PT_PCMA; te_pt the dynamic
 * payload type of telephone-event, or -1 when the peer offered none (then in-band DTMF is used). */
int media_leg_set_remote(struct media_leg *leg, const char *ip, uint16_t port, int pt, int te_pt);
/* Call cb once when no RTP has come from the remote for `seconds` while it has one (not on hold,
 * c=0.0.0.0); 0 turns it off. That is a peer gone without a BYE: its phone died, or its BYE was
 * refused because the proxy restarted and forgot the dialog. cb may free the leg. */
void media_leg_on_silence(struct media_leg *leg, unsigned seconds, void (*cb)(struct media_leg *leg, void *data),
			  void *data);
/* Digits from either source, once per key press. */
void media_leg_on_dtmf(struct media_leg *leg, void (*cb)(struct media_leg *leg, char digit, void *data), void *data);
/* The peer's audio as it arrives (a voice recording): each G.711 packet of the leg, decoded to
 * linear samples, after the duplicate and late ones are dropped; cb NULL stops it. cb must not
 * free the leg nor start or stop prompts (it runs inside the receive path). */
void media_leg_on_audio(struct media_leg *leg,
			void (*cb)(struct media_leg *leg, const int16_t *s, size_t n, void *data), void *data);
/* Play prompts one after the other (replacing what plays now); done is called once at the end
 * (not when stopped or freed). While a leg plays it hears the prompt, not the conference. */
int media_leg_play(struct media_leg *leg, const char *const *names, size_t n,
		   void (*done)(struct media_leg *leg, void *data), void *data);
void media_leg_stop(struct media_leg *leg);
/* Leaves its conference, closes the socket. */
void media_leg_free(struct media_leg *leg);

struct media_conf *media_conf_alloc(void *ctx);
int media_conf_join(struct media_conf *conf, struct media_leg *leg);
void media_conf_leave(struct media_conf *conf, struct media_leg *leg);
unsigned media_conf_size(const struct media_conf *conf);
void media_conf_free(struct media_conf *conf);
