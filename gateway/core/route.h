/* The router: what to do with a committed message.
 *
 * Features register handlers at start-up (gateway/linlid.c); gw_route() offers the message to
 * each in turn, inside the caller's transaction, until one takes it. The order is the rules
 * file's `handlers` line (routes/sms.rules) when it has one, else the order of registration;
 * a registered handler the line leaves out runs after the listed ones (an SOS handler cannot be
 * switched off by an edit). Nobody took it: a known number gets the help text (at most once per
 * help-interval), an unknown one is only stored. */
#pragma once

#include <stdint.h>

struct gw;
struct db_sms_in;

/* Handle m if it is this feature's business: 1 handled (*note says what was done, for the
 * sms_in row), 0 not ours, -errno on a database error (the transaction is rolled back). */
typedef int (*gw_route_fn)(struct gw *gw, const struct db_sms_in *m, const char **note);

/* Register handler fn under name ("sos", "request", ...); a name registered again gets the new
 * fn. 0, -ENOSPC. */
int gw_route_add(struct gw *gw, const char *name, gw_route_fn fn);

/* Route committed message msg_id inside the caller's transaction; marks it done with a note. */
int gw_route(struct gw *gw, int64_t msg_id);

/* The names of the handlers in the order they run, for `show routes`; -ENOENT past the last. */
int gw_route_get(struct gw *gw, unsigned i, const char **name);
