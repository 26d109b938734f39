/* A fake of gateway/core for unit tests of the features (link-time fake: tests/unit/fake_core.c
 * defines the core functions the features call, so a feature's library links without the real
 * core's inbox, outbox, modems and timers). The clock is set by the test; the outbox records what
 * was queued (and queues it in the database too, so ids and joins are real); the router runs the
 * handlers registered, in order, inside one transaction per message; due hooks run on demand. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "gateway/core/gw.h"

struct fake_sms {
	char dest[32];
	char text[1024];
	int prio;
	int64_t id;
	bool seen; /* taken by fake_take() */
};

/* The time gw_now() returns (and gw_mono(), the same). */
extern time_t fake_now;

/* A gateway on database db: what the features get as struct gw. */
struct gw *fake_gw(void *ctx, struct db_context *db);

/* Deliver text from sender as a received GSM message: stored, routed by the registered handlers
 * (then help as the real router would not: "unhandled" is noted), committed. 0 or -errno. */
int fake_deliver(struct gw *gw, const char *sender, const char *text);

/* Run every registered due hook at fake_now. */
void fake_due(struct gw *gw);

/* The first message queued to dest whose text holds every word (NULL-terminated list) and that no
 * earlier fake_take() returned; marks it taken. NULL when there is none. */
const struct fake_sms *fake_take(const char *dest, ...) __attribute__((sentinel));
/* How many messages were queued to dest (taken or not); to NULL: in all. */
unsigned fake_count(const char *dest);
/* Forget every queued message. */
void fake_clear(void);
