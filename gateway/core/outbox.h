/* The outbox: every message linlid sends is a row of sms_out with a priority (SOS > staff >
 * reply > bulk) and a channel. Channels register at start-up: the GSM modems (gsm.c, the
 * default) and SMS over SIP (gateway/sip). A message to a number goes by the first channel that
 * serves the number, a reply to the message being routed by the channel it came in on. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct gw;

struct gw_channel {
	const char *name;				   /* sms_out.channel: "gsm", "sip" */
	bool (*serves)(struct gw *gw, const char *number); /* NULL: replies only */
	void (*kick)(struct gw *gw);			   /* look at the queue after the current event */
	bool (*idle)(struct gw *gw);			   /* nothing handed out without its answer */
	void (*stop)(struct gw *gw);			   /* give back what is in flight, close */
};

/* Register a channel (static storage). The first one registered is the default. 0, -ENOSPC. */
int gw_channel_add(struct gw *gw, const struct gw_channel *ch);

/* Queue a message to dest (normalised here) and have its channel look at it after the current
 * event. -EINVAL for a bad number, -EILSEQ for text that is not UTF-8. */
int gw_sms_queue(struct gw *gw, const char *dest, const char *text, int prio, int64_t *id);

/* Ask every channel to look at its queue after the current event. */
void gw_outbox_kick(struct gw *gw);

/* The back-off before attempt attempts+1 of a message that failed for a passing reason:
 * retry-backoff base * 2^(attempts-1), at most its max. */
time_t gw_outbox_backoff(struct gw *gw, unsigned attempts);

/* Every channel idle; stop every channel. */
bool gw_outbox_idle(struct gw *gw);
void gw_outbox_stop(struct gw *gw);
