/* What notice.c and memo.c share inside gateway/notice/. */
#pragma once

#include <stdint.h>

struct gw;
struct db_sms_in;

/* A text (template name of notice.c's table, which the rules file may override) to number at
 * prio; a number that cannot be texted is logged, not an error. *id (may be NULL) its message. */
int nt_send(struct gw *gw, const char *number, const char *lang, int prio, const char *name, const char *const *keys,
	    const char *const *vals, unsigned n, int64_t *id);

/* The router's handler for the staff inbox (memo.c): after every other handler. */
int nt_memo_route(struct gw *gw, const struct db_sms_in *m, const char **note);
